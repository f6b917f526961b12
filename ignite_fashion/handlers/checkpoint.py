"""Checkpoints with ignite's ``Checkpoint`` and ``DiskSaver``, and loading them back for a resume.

A checkpoint is one ``.pt`` file holding the ``state_dict`` of every object in ``to_save``. Files
load with ``torch.load(..., weights_only=True)``, so they may contain only tensors and plain Python
containers, numbers and strings; :func:`list_state` and :func:`rng_state` wrap a history list and
the random number generators in that form.
"""

from __future__ import annotations

import logging
import math
import os
import pickle
import re
from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch
from ignite.engine import Engine, Events
from ignite.handlers import Checkpoint, DiskSaver, global_step_from_engine

from ignite_fashion.files import write_bytes

logger = logging.getLogger(__name__)

LAST_PREFIX = ""
BEST_PREFIX = "best"
BEST_KEY = "best_checkpoints"
"""Key of the best-checkpoint list in the per-epoch checkpoint files."""
_STEP_PATTERN = re.compile(r"checkpoint_(\d+)")
_BEST_NAME = re.compile(BEST_PREFIX + r"_checkpoint_\d+_[\w.=-]+\.pt")


class CheckpointError(Exception):
    """A checkpoint file is missing, unreadable, unsafe to load or does not fit the objects to load."""


def attach_checkpoints(
    trainer: Engine,
    evaluator: Engine,
    to_save: Mapping[str, Any],
    checkpoint_dir: str | os.PathLike,
    *,
    keep_last: int = 2,
    keep_best: int = 1,
    metric_name: str = "f1",
) -> tuple[Checkpoint, Checkpoint]:
    """Save ``to_save`` after every epoch, and again as best when validation reaches a top ``metric_name``.

    - ``checkpoint_<epoch>.pt``: written at each ``EPOCH_COMPLETED`` of ``trainer``; the newest
      ``keep_last`` files are kept.
    - ``best_checkpoint_<epoch>_val_<metric_name>=<score>.pt``: written at the ``EPOCH_COMPLETED``
      of an epoch in which ``evaluator`` ran and scored one of the ``keep_best`` highest values so
      far. A non-finite score is never saved as best.

    Both file names carry the trainer's epoch, and both kinds also contain, under ``BEST_KEY``,
    the best files saved before them. Attach this after :func:`ignite_fashion.attach_validation`,
    so that the epoch's validation and history are done when its checkpoints are written. Files
    are written atomically by ``DiskSaver``.

    Returns:
        The two ignite ``Checkpoint`` handlers, last and best. ``best.last_checkpoint`` is the path
        of the best file; ``state_dict()`` of each lists its files and scores.

    Raises:
        CheckpointError: ``checkpoint_dir`` is a file, or already contains checkpoint files of an
            earlier run. Other files in it are fine.

    Example:
        >>> import tempfile
        >>> model = torch.nn.Linear(2, 2)
        >>> trainer = Engine(lambda engine, batch: 0.0)
        >>> evaluator = Engine(lambda engine, batch: None)
        >>> _ = evaluator.add_event_handler(Events.COMPLETED, lambda engine: engine.state.metrics.update(f1=0.5))
        >>> _ = trainer.add_event_handler(Events.EPOCH_COMPLETED, lambda _: evaluator.run([0]))
        >>> folder = tempfile.mkdtemp()
        >>> last, best = attach_checkpoints(trainer, evaluator, {"model": model, "trainer": trainer}, folder)
        >>> _ = trainer.run([0, 1], max_epochs=3)
        >>> sorted(path.name for path in Path(folder).iterdir())
        ['best_checkpoint_1_val_f1=0.5000.pt', 'checkpoint_2.pt', 'checkpoint_3.pt']
    """
    if keep_last < 1 or keep_best < 1:
        raise ValueError(f"keep_last and keep_best must be at least 1, got {keep_last} and {keep_best}")
    if Path(checkpoint_dir).exists() and not Path(checkpoint_dir).is_dir():
        raise CheckpointError(f"checkpoint folder {checkpoint_dir} is a file: pass a folder")
    earlier = sorted(path.name for path in Path(checkpoint_dir).glob("*.pt") if checkpoint_step(path) is not None)
    if earlier:
        raise CheckpointError(
            f"checkpoint folder {checkpoint_dir} already contains checkpoints of an earlier run ({', '.join(earlier)}); "
            "saving here would overwrite them or mix them with this run's. Pass a new folder. To continue that "
            "run, load its checkpoint with find_checkpoint and load_checkpoint and save into a new folder, as "
            "--resume does in examples/train_fashion.py"
        )
    saver = _DiskSaverRemovingAfterSave(checkpoint_dir, create_dir=True, require_empty=False)

    def score(engine: Engine) -> float:
        return float(engine.state.metrics[metric_name])

    # Evaluated when a file is written, so each file lists the best files saved before it.
    best_files = SimpleNamespace(state_dict=lambda: best.state_dict(), load_state_dict=lambda state: None)
    best = Checkpoint(
        {**to_save, BEST_KEY: best_files},
        saver,
        filename_prefix=BEST_PREFIX,
        n_saved=keep_best,
        score_function=score,
        score_name=f"val_{metric_name}",
        global_step_transform=global_step_from_engine(trainer),
    )
    evaluated_epoch = {"epoch": None}

    def mark_evaluated(_: Engine) -> None:
        evaluated_epoch["epoch"] = trainer.state.epoch

    def save_best(_: Engine) -> None:
        if evaluated_epoch["epoch"] != trainer.state.epoch:
            return
        value = score(evaluator)
        if math.isfinite(value):
            best(evaluator)
        else:
            logger.warning("Not saving a best checkpoint: validation %s is %s", metric_name, value)

    evaluator.add_event_handler(Events.COMPLETED, mark_evaluated)
    trainer.add_event_handler(Events.EPOCH_COMPLETED, save_best)

    last = Checkpoint(
        {**to_save, BEST_KEY: best_files},
        saver,
        filename_prefix=LAST_PREFIX,
        n_saved=keep_last,
        global_step_transform=global_step_from_engine(trainer),
    )
    trainer.add_event_handler(Events.EPOCH_COMPLETED, last)
    return last, best


class _DiskSaverRemovingAfterSave(DiskSaver):
    """A ``DiskSaver`` that deletes a file dropped by ``Checkpoint`` only once the next file is written.

    ignite's ``Checkpoint`` removes the file that leaves its list before it writes the new one, so a
    process killed in between would keep one file fewer, and no best file at all with ``n_saved=1``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._dropped: list[str] = []

    def __call__(self, checkpoint: Mapping, filename: str, metadata: Mapping | None = None) -> None:
        super().__call__(checkpoint, filename, metadata)
        for dropped in self._dropped:
            if dropped != filename:
                super().remove(dropped)
        self._dropped.clear()

    def remove(self, filename: str) -> None:
        self._dropped.append(filename)


def list_state(items: list) -> SimpleNamespace:
    """Wrap a list so that ignite's ``Checkpoint`` saves its items and loading refills it in place.

    Example:
        >>> history = [{"epoch": 1}]
        >>> state = list_state(history).state_dict()
        >>> restored = []
        >>> list_state(restored).load_state_dict(state)
        >>> restored
        [{'epoch': 1}]
    """

    def load_state_dict(state: Mapping[str, Any]) -> None:
        items[:] = state["items"]

    return SimpleNamespace(state_dict=lambda: {"items": list(items)}, load_state_dict=load_state_dict)


def fixed_state(data: Mapping[str, Any]) -> SimpleNamespace:
    """Wrap a dict of plain values, such as a run's settings, so that ``Checkpoint`` saves it.

    Loading does nothing: read the saved values from the checkpoint itself.

    Example:
        >>> fixed_state({"lr": 0.02}).state_dict()
        {'lr': 0.02}
    """
    frozen = dict(data)
    return SimpleNamespace(state_dict=lambda: dict(frozen), load_state_dict=lambda state: None)


def rng_state(generator: torch.Generator | None = None) -> SimpleNamespace:
    """Wrap torch's global random number generator, and ``generator`` if given, for ``Checkpoint``.

    Saving the data loader's shuffling generator lets a resumed run draw the same batch order as an
    uninterrupted one.

    Example:
        >>> generator = torch.Generator().manual_seed(0)
        >>> state = rng_state(generator).state_dict()
        >>> first = torch.randperm(5, generator=generator)
        >>> rng_state(generator).load_state_dict(state)
        >>> torch.equal(torch.randperm(5, generator=generator), first)
        True
    """

    def state_dict() -> dict[str, torch.Tensor]:
        state = {"torch": torch.get_rng_state()}
        if generator is not None:
            state["generator"] = generator.get_state()
        return state

    def load_state_dict(state: Mapping[str, torch.Tensor]) -> None:
        torch.set_rng_state(state["torch"])
        if generator is not None:
            generator.set_state(state["generator"])

    return SimpleNamespace(state_dict=state_dict, load_state_dict=load_state_dict)


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Load a checkpoint file onto the CPU with ``weights_only=True``, so that no pickled code runs.

    Raises:
        CheckpointError: the file is missing, truncated, not a checkpoint, or contains objects other
            than tensors and plain containers.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} not found: give a .pt file or a run directory")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        # torch names the class or function it blocked on a line containing "unsupported global".
        blocked = [line.strip() for line in str(error).splitlines() if "unsupported global" in line.lower()]
        if not blocked:
            raise CheckpointError(f"checkpoint {path} cannot be read, it is not a checkpoint: {_first_line(error)}") from None
        raise CheckpointError(
            f"checkpoint {path} was rejected: it contains objects other than tensors and plain "
            f"containers, which are not loaded because unpickling them could run code ({blocked[0]})"
        ) from None
    # torch.load reports a damaged or foreign file with many exception types, among them KeyError
    # from the weights-only unpickler on arbitrary bytes.
    except Exception as error:
        raise CheckpointError(
            f"checkpoint {path} cannot be read, it may be truncated or not a checkpoint: {_first_line(error)}"
        ) from None
    if not isinstance(checkpoint, dict):
        raise CheckpointError(f"checkpoint {path} contains a {type(checkpoint).__name__}, not a dict of states")
    return checkpoint


def load_checkpoint(
    to_load: Mapping[str, Any], checkpoint: str | os.PathLike | Mapping[str, Any], *, path: str | os.PathLike = ""
) -> None:
    """Load the states in ``checkpoint`` (a file or what :func:`read_checkpoint` returned) into ``to_load``.

    Every key of ``to_load`` must be in the checkpoint, and the model's parameter names and shapes
    must match exactly.

    Raises:
        CheckpointError: a key is missing or a state does not fit, with the keys or shapes named.

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "model.pt"
        >>> torch.save({"model": torch.nn.Linear(2, 2).state_dict()}, path)
        >>> load_checkpoint({"model": torch.nn.Linear(2, 3)}, path)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ignite_fashion.handlers.checkpoint.CheckpointError: checkpoint ... does not fit: ... size mismatch for weight...
    """
    if not isinstance(checkpoint, Mapping):
        path = checkpoint
        checkpoint = read_checkpoint(checkpoint)
    where = f"checkpoint {path}" if path else "the checkpoint"
    missing = sorted(set(to_load) - set(checkpoint))
    if missing:
        raise CheckpointError(
            f"{where} has no {', '.join(missing)}; it contains {', '.join(sorted(checkpoint))}"
        )
    try:
        Checkpoint.load_objects(to_load, dict(checkpoint))
    except (RuntimeError, KeyError, ValueError, TypeError) as error:
        detail = " ".join(line.strip() for line in str(error).splitlines()).rstrip(".")
        raise CheckpointError(
            f"{where} does not fit: {detail}. Was it written for another model or number of classes?"
        ) from None


def checkpoint_step(path: str | os.PathLike) -> int | None:
    """Return the trainer epoch in a checkpoint file name, or None for other names.

    Example:
        >>> checkpoint_step("runs/a/checkpoints/best_checkpoint_4_val_f1=0.7000.pt")
        4
    """
    match = _STEP_PATTERN.search(Path(path).name)
    return None if match is None else int(match.group(1))


def find_checkpoint(path: str | os.PathLike) -> tuple[Path, dict[str, Any]]:
    """Find the checkpoint to resume from and read it.

    ``path`` is a checkpoint file, or a run directory (or its ``checkpoints/`` folder), which means its
    newest checkpoint that loads: the highest epoch, a per-epoch file before a best file of the same
    epoch. Files that fail to load are skipped with a warning.

    Returns:
        The file and its contents.

    Raises:
        CheckpointError: no checkpoint is found or none loads.

    Example:
        >>> import tempfile
        >>> run_dir = Path(tempfile.mkdtemp())
        >>> for epoch in (3, 4):
        ...     torch.save({"epoch": epoch}, run_dir / f"checkpoint_{epoch}.pt")
        >>> path, checkpoint = find_checkpoint(run_dir)
        >>> path.name, checkpoint["epoch"]
        ('checkpoint_4.pt', 4)
    """
    path = Path(path)
    if path.is_file():
        return path, read_checkpoint(path)
    if not path.is_dir():
        raise CheckpointError(f"checkpoint path {path} not found: give a checkpoint .pt file or a run directory")

    folder = path / "checkpoints" if (path / "checkpoints").is_dir() else path
    candidates = [file for file in folder.glob("*.pt") if checkpoint_step(file) is not None]
    candidates.sort(key=lambda file: (checkpoint_step(file), not file.name.startswith(BEST_PREFIX)), reverse=True)
    if not candidates:
        raise CheckpointError(f"no checkpoint files (checkpoint_<epoch>.pt) found in {folder}")
    for candidate in candidates:
        try:
            return candidate, read_checkpoint(candidate)
        except CheckpointError as error:
            logger.warning("Skipping a file that does not load: %s", error)
    raise CheckpointError(f"none of the {len(candidates)} checkpoint files in {folder} loads; see the warnings above")


def copy_best_checkpoints(
    best: Checkpoint,
    checkpoint: Mapping[str, Any],
    source: str | os.PathLike,
    target_dir: str | os.PathLike,
    *,
    score: float | None = None,
) -> None:
    """Carry the best checkpoints of a resumed run over to its new checkpoint folder.

    ``checkpoint`` is the content of the file ``source`` being resumed. The best files it lists
    under ``BEST_KEY`` are copied from its folder to ``target_dir`` and loaded into ``best``, so the
    run goes on comparing new scores with the old ones. When ``source`` is itself a best file, it is
    added with ``score``, its validation score. A listed file missing from the folder, or a symbolic
    link, is dropped from the list with a warning. Files are copied atomically.
    """
    source, target_dir = Path(source), Path(target_dir)
    saved = _best_list(checkpoint, source)
    target_dir.mkdir(parents=True, exist_ok=True)
    if source.name.startswith(BEST_PREFIX) and score is not None and source.name not in [name for _, name in saved]:
        saved = sorted([*saved, (score, source.name)])
    tracked = []
    for priority, filename in saved:
        file = source.parent / filename
        if file.is_file() and not file.is_symlink():
            if file.resolve() != (target_dir / filename).resolve():
                write_bytes(target_dir / filename, file.read_bytes())
            tracked.append((priority, filename))
        else:
            logger.warning("Best checkpoint %s of the resumed run is missing or not a regular file, so it is no longer tracked", file)
    best.load_state_dict({"_saved": tracked})


def _best_list(checkpoint: Mapping[str, Any], source: Path) -> list[tuple[float, str]]:
    """Return the ``(score, file name)`` pairs listed under ``BEST_KEY``, checking that each is a best file name.

    The names become paths to copy and, later, to delete, so a crafted checkpoint must not be able to
    point them outside the checkpoint folder.
    """
    saved = checkpoint.get(BEST_KEY, {})
    items = saved.get("_saved", []) if isinstance(saved, Mapping) else None
    if not isinstance(items, list) or not all(isinstance(item, (list, tuple)) and len(item) == 2 for item in items):
        raise CheckpointError(f"checkpoint {source} has an invalid {BEST_KEY} entry: {saved!r:.200}")
    for score, filename in items:
        if (
            not isinstance(filename, str)
            or _BEST_NAME.fullmatch(filename) is None
            or not _is_score(score)
        ):
            raise CheckpointError(
                f"checkpoint {source} lists {filename!r} with score {score!r} as a best checkpoint, which is not "
                "a best checkpoint file name and score; the file was not written by attach_checkpoints"
            )
    return [(float(score), filename) for score, filename in items]


def _is_score(value: Any) -> bool:
    """Tell whether ``value`` is a finite int or float (not a bool, which is an int too)."""
    if type(value) not in (int, float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
