"""Checkpoint handlers: which files are kept, what they contain, and loading them back safely."""

import ast
import errno
import math
import os
from pathlib import Path

import pytest
import torch
from ignite.engine import Engine, Events

from conftest import make_learnable_dataset
from ignite_fashion import (
    CheckpointError,
    build_loaders,
    attach_checkpoints,
    checkpoint_step,
    copy_best_checkpoints,
    find_checkpoint,
    list_state,
    load_checkpoint,
    read_checkpoint,
    rng_state,
)
from ignite_fashion.handlers.checkpoint import BEST_KEY


def scored_run(scores, folder, *, keep_best, keep_last=2):
    """Train a one-weight model whose weight equals the epoch, with validation F1 ``scores[epoch - 1]``."""
    model = torch.nn.Linear(1, 1, bias=False)

    def step(engine, batch):
        with torch.no_grad():
            model.weight.fill_(engine.state.epoch)
        return 0.0

    trainer = Engine(step)
    evaluator = Engine(lambda engine, batch: None)
    evaluator.add_event_handler(
        Events.COMPLETED, lambda engine: engine.state.metrics.update(f1=scores[trainer.state.epoch - 1])
    )
    trainer.add_event_handler(Events.EPOCH_COMPLETED, lambda _: evaluator.run([0]))
    last, best = attach_checkpoints(
        trainer, evaluator, {"model": model, "trainer": trainer}, folder, keep_last=keep_last, keep_best=keep_best
    )
    trainer.run([0], max_epochs=len(scores))
    return model, last, best


def test_best_checkpoints_keep_top_scores(tmp_path):
    model, _, best = scored_run([0.10, 0.50, 0.30, 0.70, 0.20], tmp_path, keep_best=2)

    best_files = sorted(path.name for path in tmp_path.glob("best_*.pt"))
    assert best_files == ["best_checkpoint_2_val_f1=0.5000.pt", "best_checkpoint_4_val_f1=0.7000.pt"]
    assert sorted(path.name for path in tmp_path.glob("checkpoint_*.pt")) == ["checkpoint_4.pt", "checkpoint_5.pt"]
    assert Path(best.last_checkpoint).name == "best_checkpoint_4_val_f1=0.7000.pt"

    load_checkpoint({"model": model}, best.last_checkpoint)
    assert model.weight.item() == 4.0


def test_nan_score_never_best(tmp_path):
    scored_run([0.4, float("nan"), 0.3], tmp_path, keep_best=3)

    assert sorted(checkpoint_step(path) for path in tmp_path.glob("best_*.pt")) == [1, 3]


def test_checkpoint_loads_weights_only(tmp_path):
    scored_run([0.5, 0.6], tmp_path, keep_best=1)

    for path in tmp_path.glob("*.pt"):
        checkpoint = torch.load(path, weights_only=True)
        assert {"model", "trainer"} <= set(checkpoint)
    assert set(torch.load(tmp_path / "checkpoint_2.pt", weights_only=True)["best_checkpoints"]) == {"_saved"}


def test_list_and_rng_states_round_trip(tmp_path):
    history = [{"epoch": 1, "val_f1": 0.5}]
    generator = torch.Generator().manual_seed(3)
    torch.save({"history": list_state(history).state_dict(), "rng": rng_state(generator).state_dict()}, tmp_path / "a.pt")
    expected_permutation = torch.randperm(10, generator=generator)
    expected_draw = torch.rand(3)

    restored = []
    load_checkpoint({"history": list_state(restored), "rng": rng_state(generator)}, tmp_path / "a.pt")

    assert restored == history
    assert torch.equal(torch.randperm(10, generator=generator), expected_permutation)
    assert torch.equal(torch.rand(3), expected_draw)


def test_pickled_code_rejected_and_not_run(tmp_path):
    marker = tmp_path / "code-ran"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "evil.pt"
    torch.save({"model": Payload()}, path)

    with pytest.raises(CheckpointError, match="rejected: it contains objects other than tensors"):
        read_checkpoint(path)
    assert not marker.exists()


def test_truncated_checkpoint_named(tmp_path):
    scored_run([0.5, 0.6], tmp_path, keep_best=1)
    path = tmp_path / "checkpoint_2.pt"
    path.write_bytes(path.read_bytes()[:100])

    with pytest.raises(CheckpointError, match=f"checkpoint {path} cannot be read"):
        read_checkpoint(path)


def test_find_skips_unreadable_newest(tmp_path, caplog):
    scored_run([0.5, 0.6, 0.7], tmp_path / "checkpoints", keep_best=1)
    newest = tmp_path / "checkpoints" / "checkpoint_3.pt"
    newest.write_bytes(b"not a checkpoint")

    path, checkpoint = find_checkpoint(tmp_path)

    assert path.name == "best_checkpoint_3_val_f1=0.7000.pt"
    assert checkpoint["trainer"]["iteration"] == 3
    assert f"Skipping a file that does not load: checkpoint {newest} cannot be read" in caplog.text


def test_find_without_checkpoints_names_folder(tmp_path):
    with pytest.raises(CheckpointError, match=f"no checkpoint files .* found in {tmp_path}"):
        find_checkpoint(tmp_path)
    with pytest.raises(CheckpointError, match="not found: give a checkpoint .pt file or a run directory"):
        find_checkpoint(tmp_path / "missing")


def test_mismatched_model_names_shapes(tmp_path):
    torch.save({"model": torch.nn.Linear(3, 5).state_dict()}, tmp_path / "a.pt")

    with pytest.raises(CheckpointError, match=r"does not fit: .*size mismatch for weight"):
        load_checkpoint({"model": torch.nn.Linear(3, 10)}, tmp_path / "a.pt")
    with pytest.raises(CheckpointError, match="has no optimizer; it contains model"):
        load_checkpoint({"model": torch.nn.Linear(3, 5), "optimizer": None}, tmp_path / "a.pt")


def first_targets_per_epoch(loader, *, max_epochs, trainer_state=None):
    """Run an ignite engine over ``loader`` and return the targets of each epoch's first batch."""
    firsts = {}
    engine = Engine(lambda engine, batch: firsts.setdefault(engine.state.epoch, batch[1].tolist()))
    if trainer_state is not None:
        engine.load_state_dict(trainer_state)
    saved = {}
    engine.add_event_handler(
        Events.EPOCH_COMPLETED(once=2),
        lambda engine: saved.update(rng=rng_state(loader.generator).state_dict(), trainer=engine.state_dict()),
    )
    engine.run(loader, max_epochs=max_epochs)
    return firsts, saved


@pytest.mark.parametrize("count", [60, 70])
def test_restored_generator_repeats_batch_order(count):
    # 60 images give 48 training images, 4 full batches of 12: ignite ends each epoch before the
    # sampler has finished. 70 give 56, so the last batch is partial.
    dataset = make_learnable_dataset(count)
    loaders = build_loaders(dataset, dataset, batch_size=12, seed=0, val_fraction=0.2)
    uninterrupted, saved = first_targets_per_epoch(loaders.train, max_epochs=4)

    resumed_loaders = build_loaders(dataset, dataset, batch_size=12, seed=0, val_fraction=0.2)
    rng_state(resumed_loaders.train.generator).load_state_dict(saved["rng"])
    resumed, _ = first_targets_per_epoch(resumed_loaders.train, max_epochs=4, trainer_state=saved["trainer"])

    assert sorted(resumed) == [3, 4]
    assert resumed[3] == uninterrupted[3]
    assert resumed[4] == uninterrupted[4]


@pytest.mark.parametrize("content", [b"hello\n", b"x", b""])
def test_foreign_file_named_not_run(tmp_path, content):
    path = tmp_path / "checkpoint_1.pt"
    path.write_bytes(content)

    with pytest.raises(CheckpointError, match=f"checkpoint {path} cannot be read"):
        read_checkpoint(path)


def test_best_file_contains_its_epoch(tmp_path):
    history = []
    model = torch.nn.Linear(1, 1)
    trainer = Engine(lambda engine, batch: 0.0)
    evaluator = Engine(lambda engine, batch: None)
    evaluator.add_event_handler(Events.COMPLETED, lambda engine: engine.state.metrics.update(f1=0.1 * trainer.state.epoch))
    trainer.add_event_handler(Events.EPOCH_COMPLETED, lambda engine: evaluator.run([0]))
    trainer.add_event_handler(Events.EPOCH_COMPLETED, lambda engine: history.append({"epoch": engine.state.epoch}))
    attach_checkpoints(trainer, evaluator, {"model": model, "history": list_state(history)}, tmp_path)

    trainer.run([0], max_epochs=3)

    best = torch.load(tmp_path / "best_checkpoint_3_val_f1=0.3000.pt", weights_only=True)
    assert [record["epoch"] for record in best["history"]["items"]] == [1, 2, 3]
    assert [name for _, name in best["best_checkpoints"]["_saved"]] == ["best_checkpoint_2_val_f1=0.2000.pt"]


def torch_load_calls(path):
    """Yield ``(line, weights_only)`` for each ``torch.load(...)`` call in a Python file."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "torch.load":
            weights_only = next((kw.value for kw in node.keywords if kw.arg == "weights_only"), None)
            yield node.lineno, ast.unparse(weights_only) if weights_only is not None else None


def test_library_loads_only_with_weights_only():
    root = Path(__file__).resolve().parents[1]
    sources = [*root.glob("ignite_fashion/**/*.py"), *root.glob("examples/*.py"), *root.glob("benchmarks/*.py")]

    calls = {f"{path.relative_to(root)}:{line}": value for path in sources for line, value in torch_load_calls(path)}

    assert calls, "no torch.load call found: the scan looks in the wrong place"
    assert {place: value for place, value in calls.items() if value != "True"} == {}


def test_folder_with_earlier_checkpoints_rejected(tmp_path):
    scored_run([0.5, 0.6], tmp_path, keep_best=1)
    before = {path.name: path.read_bytes() for path in tmp_path.iterdir()}

    with pytest.raises(CheckpointError) as raised:
        scored_run([0.7], tmp_path, keep_best=1)

    assert str(raised.value).startswith(
        f"checkpoint folder {tmp_path} already contains checkpoints of an earlier run "
        "(best_checkpoint_2_val_f1=0.6000.pt, checkpoint_1.pt, checkpoint_2.pt)"
    )
    assert "To continue that run, load its checkpoint with find_checkpoint and load_checkpoint" in str(raised.value)
    assert {path.name: path.read_bytes() for path in tmp_path.iterdir()} == before


def test_failed_save_keeps_the_file_it_replaces(tmp_path, monkeypatch):
    real_save = torch.save
    saves = []

    def fail_third_save(obj, file, *args, **kwargs):
        # Saves: best and last of epoch 1, then the best of epoch 2, which replaces epoch 1's best.
        saves.append(file)
        if len(saves) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(obj, file, *args, **kwargs)

    monkeypatch.setattr(torch, "save", fail_third_save)
    with pytest.raises(OSError, match="No space left on device"):
        scored_run([0.5, 0.6], tmp_path, keep_best=1, keep_last=1)

    assert sorted(path.name for path in tmp_path.iterdir()) == ["best_checkpoint_1_val_f1=0.5000.pt", "checkpoint_1.pt"]
    assert torch.load(tmp_path / "best_checkpoint_1_val_f1=0.5000.pt", weights_only=True)["model"]["weight"].item() == 1


@pytest.mark.parametrize(
    "score, filename",
    [
        (0.5, "../../victim.txt"),
        (0.5, "/tmp/victim.txt"),
        (0.5, "checkpoints/best_checkpoint_1_val_f1=0.5000.pt"),
        (0.5, "notes.txt"),
        (0.5, "best_checkpoint_1"),
        (0.5, "bestXcheckpoint_1_val_f1=0.5000.pt"),
        (0.5, "best_checkpoint_1_val_f1=0.5000.pt\x00.txt"),
        (math.nan, "best_checkpoint_1_val_f1=0.5000.pt"),
        (10**400, "best_checkpoint_1_val_f1=0.5000.pt"),
        (True, "best_checkpoint_1_val_f1=0.5000.pt"),
    ],
)
def test_best_list_outside_folder_rejected(tmp_path, score, filename):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    checkpoint = {BEST_KEY: {"_saved": [(score, filename.replace("/tmp/victim.txt", str(victim)))]}}
    source = tmp_path / "a" / "b" / "checkpoints" / "checkpoint_2.pt"
    _, _, best = scored_run([0.1], tmp_path / "new", keep_best=1)

    with pytest.raises(CheckpointError, match="which is not a best checkpoint file name and score"):
        copy_best_checkpoints(best, checkpoint, source, tmp_path / "new")

    assert victim.read_text() == "keep me"
    assert sorted(path.name for path in (tmp_path / "new").iterdir()) == ["best_checkpoint_1_val_f1=0.1000.pt", "checkpoint_1.pt"]


def test_file_as_checkpoint_folder_rejected(tmp_path):
    path = tmp_path / "afile"
    path.write_text("keep me")

    with pytest.raises(CheckpointError, match=f"checkpoint folder {path} is a file: pass a folder"):
        scored_run([0.5], path, keep_best=1)

    assert path.read_text() == "keep me"


def test_best_file_symlink_not_followed(tmp_path, caplog):
    secret = tmp_path / "secret.txt"
    secret.write_text("not a checkpoint")
    source_dir = tmp_path / "old" / "checkpoints"
    source_dir.mkdir(parents=True)
    (source_dir / "best_checkpoint_1_val_f1=0.5000.pt").symlink_to(secret)
    checkpoint = {BEST_KEY: {"_saved": [(0.5, "best_checkpoint_1_val_f1=0.5000.pt")]}}
    _, _, best = scored_run([0.1], tmp_path / "new", keep_best=1)

    copy_best_checkpoints(best, checkpoint, source_dir / "checkpoint_1.pt", tmp_path / "new")

    assert "missing or not a regular file, so it is no longer tracked" in caplog.text
    assert sorted(path.name for path in (tmp_path / "new").iterdir()) == ["best_checkpoint_1_val_f1=0.1000.pt", "checkpoint_1.pt"]
    assert best.state_dict()["_saved"] == []
