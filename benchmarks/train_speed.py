"""Compare ignite_fashion's training speed with a plain PyTorch loop on FashionMNIST.

Every variant runs in its own subprocess on the same real data and the same SimpleCNN, so each
reports its own peak resident memory. The table gives ratios to ``reference``, the usual
plain-PyTorch version of the job: torchvision's ``FashionMNIST`` with a per-sample ``ToTensor()``,
``random_split``, ``DataLoader(batch_size=36, shuffle=True)``, hand-written loops and fp32.

Usage:
    python benchmarks/train_speed.py --data-dir data              # quick run, about 2-3 minutes
    python benchmarks/train_speed.py --data-dir data --full       # 10 epochs with test accuracy
    python benchmarks/train_speed.py --variants reference,default --repeats 3

docs/benchmark.md describes the variants and the measured results.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

logger = logging.getLogger("train_speed")

# Speed options of each ignite_fashion variant. "plain" switches every option off; the next four
# switch one on; "default" is the library's defaults; "all" adds bf16 to them.
IGNITE_VARIANTS: dict[str, dict[str, Any]] = {
    "plain": {"batch_data": False, "channels_last": False, "eval_batch_size": 36, "precision": "fp32"},
    "batch_data": {"batch_data": True, "channels_last": False, "eval_batch_size": 36, "precision": "fp32"},
    "channels_last": {"batch_data": False, "channels_last": True, "eval_batch_size": 36, "precision": "fp32"},
    "eval_batch": {"batch_data": False, "channels_last": False, "eval_batch_size": 256, "precision": "fp32"},
    "bf16": {"batch_data": False, "channels_last": False, "eval_batch_size": 36, "precision": "bf16"},
    "default": {"batch_data": True, "channels_last": True, "eval_batch_size": 256, "precision": "fp32"},
    "all": {"batch_data": True, "channels_last": True, "eval_batch_size": 256, "precision": "bf16"},
}
VARIANTS = ("reference", *IGNITE_VARIANTS)
FULL_VARIANTS = ("reference", "default", "all")

# The job's hyperparameters, the same for every variant.
BATCH_SIZE = 36
LR = 0.02
MOMENTUM = 0.9
WEIGHT_DECAY = 5e-4
VAL_SIZE = 15_000
SEED = 0

DEFAULT_PEAK_GFLOPS = 300.0
# The main job's default --log-every: TensorBoard points of the training loss and learning rate.
LOG_EVERY = 10


# ---------------------------------------------------------------------------------------------
# Command line


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid float value {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number greater than 0, got {text!r}")
    return value


def _variant_list(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in VARIANTS]
    if not names or unknown:
        raise argparse.ArgumentTypeError(
            f"invalid variant(s) {', '.join(unknown) or repr(text)}: choose from {', '.join(VARIANTS)}"
        )
    if "reference" not in names:
        names.insert(0, "reference")
    return list(dict.fromkeys(names))


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Benchmark ignite_fashion's training speed against a plain PyTorch loop.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )

    parser.add_argument("--data-dir", type=Path, default=Path("data"), help="folder with FashionMNIST/raw/ inside")
    parser.add_argument(
        "--full",
        action="store_true",
        help=f"train full epochs (10 unless --epochs is given), report test accuracy; variants {','.join(FULL_VARIANTS)}"
        " unless --variants is given",
    )
    parser.add_argument("--epochs", type=_positive_int, default=None, help="epochs per variant; None: 1, or 10 with --full")
    parser.add_argument(
        "--train-batches",
        type=_positive_int,
        default=None,
        help="training batches per epoch; None: 400 (14,400 images), or all 1,250 with --full",
    )
    parser.add_argument(
        "--variants",
        type=_variant_list,
        default=None,
        help=f"comma-separated variants out of {','.join(VARIANTS)}; reference is always added",
    )
    parser.add_argument("--repeats", type=_positive_int, default=1, help="runs per variant; the table shows medians")
    parser.add_argument(
        "--overhead-batches",
        type=int,
        default=150,
        help="batches per round of the engine overhead check, 5 rounds; 0 skips the check",
    )
    parser.add_argument("--threads", type=_positive_int, default=None, help="torch threads; None keeps torch's default")
    parser.add_argument(
        "--peak-gflops",
        type=_positive_float,
        default=DEFAULT_PEAK_GFLOPS,
        help="assumed fp32 peak of the machine in GFLOP/s, for the share of the compute bound",
    )
    parser.add_argument("--json", type=Path, default=Path("benchmark-results.json"), help="where to write the results")

    # Internal: the parent process starts each variant as a worker with these two options.
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--worker-config", default=None, help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = get_args_parser()
    args = parser.parse_args(argv)
    if args.worker is not None:
        return _worker_main(args.worker, json.loads(args.worker_config))
    if args.overhead_batches < 0:
        parser.error(f"argument --overhead-batches: must be 0 or more, got {args.overhead_batches}")
    if not args.data_dir.is_dir():
        parser.error(f"argument --data-dir: {args.data_dir} is not a folder")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    epochs = args.epochs or (10 if args.full else 1)
    train_batches = args.train_batches or (None if args.full else 400)
    variants = args.variants or list(FULL_VARIANTS if args.full else VARIANTS)
    config = {
        "data_dir": str(args.data_dir.resolve()),
        "epochs": epochs,
        "train_batches": train_batches,
        "threads": args.threads,
        "test": args.full,
    }

    # Repeats go round all variants in turn, so a busy spell on a shared machine hits them alike.
    runs: dict[str, list[dict[str, Any]]] = {variant: [] for variant in variants}
    for repeat in range(args.repeats):
        for variant in variants:
            runs[variant].append(_run_worker(variant, config, repeat))
    results = {variant: _median_run(variant_runs) for variant, variant_runs in runs.items()}
    overhead = None
    if args.overhead_batches:
        overhead = _run_worker("overhead", {**config, "batches": args.overhead_batches}, 0)

    report = _report(results, overhead, args, epochs=epochs, train_batches=train_batches)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(_format_table(report))
    print(f"\nWrote {args.json}")
    return 0


def _run_worker(variant: str, config: dict[str, Any], repeat: int) -> dict[str, Any]:
    """Run one variant in a fresh interpreter and return its measurements."""
    logger.info("Running %s (run %d)", variant, repeat + 1)
    command = [sys.executable, __file__, "--worker", variant, "--worker-config", json.dumps(config)]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"variant {variant} failed with exit code {completed.returncode}:\n{completed.stderr}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Take the run with the median training throughput, keeping all throughputs for the record."""
    ordered = sorted(runs, key=lambda run: run["train_images_per_s"])
    median = dict(ordered[len(ordered) // 2])
    median["train_images_per_s_all_runs"] = [run["train_images_per_s"] for run in runs]
    median["max_rss_mb"] = max(run["max_rss_mb"] for run in runs)
    return median


# ---------------------------------------------------------------------------------------------
# Worker: one variant in its own process


def _worker_main(variant: str, config: dict[str, Any]) -> int:
    logging.basicConfig(level=logging.WARNING)
    if config["threads"] is not None:
        torch.set_num_threads(config["threads"])
    if variant == "overhead":
        result = _measure_engine_overhead(config)
    elif variant == "reference":
        result = _run_reference(config)
    else:
        result = _run_ignite_fashion(IGNITE_VARIANTS[variant], config)
    result["variant"] = variant
    result["threads"] = torch.get_num_threads()
    # ru_maxrss is in KiB on Linux.
    result["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))
    return 0


class _Timer:
    """Sums the seconds of training and validation and counts their images."""

    def __init__(self) -> None:
        self.train_seconds = 0.0
        self.val_seconds = 0.0
        self.train_images = 0
        self.val_images = 0
        self.epoch_seconds: list[float] = []

    def result(self) -> dict[str, Any]:
        return {
            "train_images": self.train_images,
            "train_seconds": self.train_seconds,
            "train_images_per_s": self.train_images / self.train_seconds,
            "val_images": self.val_images,
            "val_seconds": self.val_seconds,
            "val_images_per_s": self.val_images / self.val_seconds,
            "epoch_seconds": self.epoch_seconds,
        }


def _run_reference(config: dict[str, Any]) -> dict[str, Any]:
    """Train the way a plain PyTorch script usually does, with torchvision's per-sample ToTensor()."""
    from torch.utils.data import DataLoader, random_split
    from torchvision.datasets import FashionMNIST
    from torchvision.transforms import ToTensor

    from ignite_fashion import SimpleCNN

    torch.manual_seed(SEED)
    full_train = FashionMNIST(config["data_dir"], train=True, transform=ToTensor(), download=False)
    test_set = FashionMNIST(config["data_dir"], train=False, transform=ToTensor(), download=False)
    train_set, val_set = random_split(
        full_train, [len(full_train) - VAL_SIZE, VAL_SIZE], generator=torch.Generator().manual_seed(SEED)
    )
    train_loader = DataLoader(train_set, batch_size=BATCH_SIZE, shuffle=True)
    val_loader = DataLoader(val_set, batch_size=BATCH_SIZE)
    test_loader = DataLoader(test_set, batch_size=BATCH_SIZE)

    model = SimpleCNN()
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY)
    batches_per_epoch = min(len(train_loader), config["train_batches"] or len(train_loader))
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config["epochs"] * batches_per_epoch)

    timer = _Timer()
    for _ in range(config["epochs"]):
        started = time.perf_counter()
        model.train()
        running_loss = 0.0
        for batch_index, (images, targets) in enumerate(train_loader):
            if batch_index == batches_per_epoch:
                break
            optimizer.zero_grad()
            loss = loss_fn(model(images), targets)
            loss.backward()
            optimizer.step()
            scheduler.step()
            running_loss += loss.item()
            timer.train_images += len(targets)
        trained = time.perf_counter()
        accuracy, count = _reference_evaluate(model, loss_fn, val_loader)
        validated = time.perf_counter()
        timer.train_seconds += trained - started
        timer.val_seconds += validated - trained
        timer.val_images += count
        timer.epoch_seconds.append(validated - started)
    result = timer.result()
    if config["test"]:
        result["test_accuracy"] = _reference_evaluate(model, loss_fn, test_loader)[0]
    return result


def _reference_evaluate(model: nn.Module, loss_fn: nn.Module, loader) -> tuple[float, int]:
    model.eval()
    correct = 0
    count = 0
    loss_sum = 0.0
    with torch.no_grad():
        for images, targets in loader:
            logits = model(images)
            loss_sum += loss_fn(logits, targets).item() * len(targets)
            correct += (logits.argmax(dim=1) == targets).sum().item()
            count += len(targets)
    return correct / count, count


class _PerSampleDataset(torch.utils.data.Dataset):
    """An ImageDataset seen without ``__getitems__``, so the DataLoader converts one sample at a time."""

    def __init__(self, dataset) -> None:
        self.dataset = dataset
        self.targets = dataset.targets

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int):
        return self.dataset[index]


def _run_ignite_fashion(options: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """Train with ignite_fashion's loaders, engines and handlers, with the given speed options."""
    from ignite.engine import Events

    from ignite_fashion import build_evaluator, build_metrics

    torch.manual_seed(SEED)
    loaders = _build_ignite_loaders(config["data_dir"], options)
    batches_per_epoch = min(len(loaders.train), config["train_batches"] or len(loaders.train))
    job = IgniteJob(options, total_iterations=batches_per_epoch * config["epochs"])

    timer = _Timer()
    marks: dict[str, float] = {}

    def epoch_started(engine) -> None:
        marks["epoch"] = time.perf_counter()

    def epoch_trained(engine) -> None:
        timer.train_seconds += time.perf_counter() - marks["epoch"]
        timer.train_images += min(batches_per_epoch * BATCH_SIZE, len(loaders.train.dataset))

    def validation_started(engine) -> None:
        marks["validation"] = time.perf_counter()

    def validation_completed(engine) -> None:
        now = time.perf_counter()
        timer.val_seconds += now - marks["validation"]
        timer.val_images += len(loaders.val.dataset)
        timer.epoch_seconds.append(now - marks["epoch"])

    # Registered before the validation handler, so the training clock stops before validation.
    job.trainer.add_event_handler(Events.EPOCH_STARTED, epoch_started)
    job.trainer.add_event_handler(Events.EPOCH_COMPLETED, epoch_trained)
    job.evaluator.add_event_handler(Events.STARTED, validation_started)
    job.evaluator.add_event_handler(Events.COMPLETED, validation_completed)

    with tempfile.TemporaryDirectory(prefix="train-speed-run-") as output_dir:
        tb_logger = attach_default_handlers(job, loaders.val, output_dir=output_dir)
        job.trainer.run(loaders.train, max_epochs=config["epochs"], epoch_length=batches_per_epoch)
        tb_logger.close()

    result = timer.result()
    if config["test"]:
        speed = {"channels_last": options["channels_last"], "precision": options["precision"]}
        test_evaluator = build_evaluator(job.model, build_metrics(job.loss_fn), **speed)
        result["test_accuracy"] = test_evaluator.run(loaders.test).metrics["accuracy"]
    return result


def _build_ignite_loaders(data_dir: str, options: dict[str, Any]):
    from ignite_fashion import build_loaders, load_fashion_mnist

    train_set, test_set = load_fashion_mnist(data_dir, download=False, debian_dir=None)
    if not options["batch_data"]:
        train_set, test_set = _PerSampleDataset(train_set), _PerSampleDataset(test_set)
    return build_loaders(
        train_set,
        test_set,
        batch_size=BATCH_SIZE,
        eval_batch_size=options["eval_batch_size"],
        val_fraction=VAL_SIZE / len(train_set),
        seed=SEED,
    )


class IgniteJob:
    """The model, loss, optimizer and engines of one ignite_fashion run."""

    def __init__(self, options: dict[str, Any], *, total_iterations: int) -> None:
        from ignite_fashion import SimpleCNN, build_evaluator, build_metrics, build_trainer

        self.model = SimpleCNN()
        self.loss_fn = nn.CrossEntropyLoss()
        self.optimizer = torch.optim.SGD(
            self.model.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY
        )
        self.total_iterations = total_iterations
        speed = {"channels_last": options["channels_last"], "precision": options["precision"]}
        self.trainer = build_trainer(self.model, self.optimizer, self.loss_fn, **speed)
        self.evaluator = build_evaluator(self.model, build_metrics(self.loss_fn), **speed)


def attach_default_handlers(
    job: IgniteJob,
    val_data,
    *,
    output_dir: str,
    validate: bool = True,
    tensorboard: bool = True,
):
    """Attach the per-iteration and per-epoch handlers of the main job, examples/train_fashion.py.

    Per iteration: the NaN check, the cosine schedule, the epoch loss, the progress log lines
    (a terminal would get ignite's progress bar instead), and the TensorBoard loss, written with
    the learning rate every ``LOG_EVERY`` iterations. Per epoch, with ``validate``: validation
    with the history files, the validation TensorBoard scalars and the checkpoints. Plots, which
    the main job draws once after training, are left out.

    Returns:
        The TensorBoard logger to close after the run, or None without ``tensorboard``.
    """
    from ignite.handlers import TensorboardLogger

    from ignite_fashion import (
        attach_checkpoints,
        attach_epoch_loss,
        attach_lr_schedule,
        attach_progress,
        attach_tensorboard_loss,
        attach_tensorboard_metrics,
        attach_terminate_on_nan,
        attach_validation,
        list_state,
    )

    output = Path(output_dir)
    attach_terminate_on_nan(job.trainer)
    attach_lr_schedule(job.trainer, job.optimizer, schedule="cosine", total_iterations=job.total_iterations)
    attach_epoch_loss(job.trainer)
    attach_progress(job.trainer, stream=open(os.devnull, "w"))
    if validate:
        _, history = attach_validation(
            job.trainer,
            job.evaluator,
            val_data,
            history_path=output / "history.json",
            csv_path=output / "history.csv",
            optimizer=job.optimizer,
        )
        to_save = {"model": job.model, "optimizer": job.optimizer, "trainer": job.trainer, "history": list_state(history)}
        attach_checkpoints(job.trainer, job.evaluator, to_save, output / "checkpoints")
    tb_logger = None
    if tensorboard:
        tb_logger = TensorboardLogger(log_dir=output / "tensorboard")
        attach_tensorboard_loss(job.trainer, tb_logger, optimizer=job.optimizer, every=LOG_EVERY)
        if validate:
            attach_tensorboard_metrics(job.evaluator, tb_logger, job.trainer, tag="validation")
    return tb_logger


# ---------------------------------------------------------------------------------------------
# Engine overhead: the same batches through a hand-written loop and through the ignite trainer

OVERHEAD_ROUNDS = 5
OVERHEAD_RUNS = ("loop", "ignite", "ignite_without_tensorboard")


def _measure_engine_overhead(config: dict[str, Any]) -> dict[str, Any]:
    """Time the default training setup as a hand-written loop and as the ignite trainer, in turns.

    Each run starts from the same initial weights and iterates a loader rebuilt with the same seed,
    so all runs see the same batches in the same order. The order of the runs rotates from round
    to round, and the result is the median of the per-round time ratios.
    """
    options = IGNITE_VARIANTS["default"]
    batches = config["batches"]
    torch.manual_seed(SEED)
    initial_state = {name: value.clone() for name, value in IgniteJob(options, total_iterations=2).model.state_dict().items()}

    def timed_run(kind: str) -> float:
        loaders = _build_ignite_loaders(config["data_dir"], options)
        job = IgniteJob(options, total_iterations=batches)
        job.model.load_state_dict(initial_state)
        if kind == "loop":
            return _time_hand_loop(job, loaders.train, batches)
        with tempfile.TemporaryDirectory(prefix="train-speed-run-") as output_dir:
            tb_logger = attach_default_handlers(
                job, None, output_dir=output_dir, validate=False, tensorboard=kind == "ignite"
            )
            started = time.perf_counter()
            job.trainer.run(loaders.train, max_epochs=1, epoch_length=batches)
            seconds = time.perf_counter() - started
            if tb_logger is not None:
                tb_logger.close()
        return seconds

    timed_run("ignite")  # warm-up: oneDNN builds its kernels on first use
    seconds: dict[str, list[float]] = {kind: [] for kind in OVERHEAD_RUNS}
    for round_index in range(OVERHEAD_ROUNDS):
        shift = round_index % len(OVERHEAD_RUNS)
        for kind in OVERHEAD_RUNS[shift:] + OVERHEAD_RUNS[:shift]:
            seconds[kind].append(timed_run(kind))

    result: dict[str, Any] = {"batches": batches, "rounds": OVERHEAD_ROUNDS, "seconds": seconds}
    for kind in OVERHEAD_RUNS[1:]:
        ratios = [run / loop for run, loop in zip(seconds[kind], seconds["loop"])]
        result[f"{kind}_time_ratio"] = statistics.median(ratios)
        result[f"{kind}_time_ratio_range"] = [min(ratios), max(ratios)]
    loop_step_seconds = statistics.median(seconds["loop"]) / batches
    handler_seconds = _handler_seconds_per_iteration(options)
    result["loop_step_ms"] = 1e3 * loop_step_seconds
    result["handler_us_per_iteration"] = 1e6 * handler_seconds
    result["handler_share"] = handler_seconds / loop_step_seconds
    return result


def _handler_seconds_per_iteration(options: dict[str, Any], iterations: int = 3000) -> float:
    """Measure what the engine and the default handlers add per iteration, around a no-op step.

    Wall-clock ratios of two training runs vary by several percent from run to run on a shared
    machine. Measured around a no-op step, this cost of a few tens of microseconds is free of the
    model's noise. It
    leaves out the supervised step's own bookkeeping (``model.train()``, the batch preparation),
    which the wall-clock rounds include.
    """
    from ignite.engine import Engine

    job = IgniteJob(options, total_iterations=iterations)
    job.trainer = Engine(lambda engine, batch: 0.5)
    with tempfile.TemporaryDirectory(prefix="train-speed-run-") as output_dir:
        tb_logger = attach_default_handlers(job, None, output_dir=output_dir, validate=False)
        started = time.perf_counter()
        job.trainer.run(range(iterations), max_epochs=1)
        seconds = time.perf_counter() - started
        tb_logger.close()
    return seconds / iterations


def _time_hand_loop(job: IgniteJob, loader, batches: int) -> float:
    """Train ``batches`` batches the way a hand-written loop does, with the same per-iteration work.

    Per iteration: the cosine learning rate, the channels_last copy of the batch, the optimizer
    step, and ``loss.item()`` for the running loss.
    """
    model, optimizer, loss_fn = job.model, job.optimizer, job.loss_fn
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=batches)
    running_loss = 0.0
    started = time.perf_counter()
    model.train()
    for batch_index, (images, targets) in enumerate(loader):
        if batch_index == batches:
            break
        images = images.contiguous(memory_format=torch.channels_last)
        optimizer.zero_grad()
        loss = loss_fn(model(images), targets)
        loss.backward()
        optimizer.step()
        scheduler.step()
        running_loss += loss.item()
    return time.perf_counter() - started


# ---------------------------------------------------------------------------------------------
# Report


def _training_flop_per_image() -> float:
    """Estimate the FLOP of one training image: the forward multiply-adds times 2 FLOP, times 3.

    The backward pass costs about twice the forward pass (gradients of inputs and of weights).
    """
    from ignite_fashion import SimpleCNN

    model = SimpleCNN()
    multiply_adds = 0

    def count(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        nonlocal multiply_adds
        if isinstance(module, nn.Conv2d):
            kernel = module.kernel_size[0] * module.kernel_size[1] * module.in_channels // module.groups
            multiply_adds += output[0].numel() * kernel
        elif isinstance(module, nn.Linear):
            multiply_adds += module.in_features * module.out_features

    handles = [module.register_forward_hook(count) for module in model.modules()]
    with torch.no_grad():
        model(torch.zeros(1, 1, 28, 28))
    for handle in handles:
        handle.remove()
    return 3 * 2 * multiply_adds


def _report(results, overhead, args, *, epochs: int, train_batches: int | None) -> dict[str, Any]:
    import ignite
    import torchvision

    flop_per_image = _training_flop_per_image()
    bound_images_per_s = args.peak_gflops * 1e9 / flop_per_image
    reference = results["reference"]
    reference_epoch = _epoch_seconds(reference)
    rows = []
    for variant, run in results.items():
        epoch = _epoch_seconds(run)
        rows.append(
            {
                "variant": variant,
                **({} if variant == "reference" else IGNITE_VARIANTS[variant]),
                "train_images_per_s": run["train_images_per_s"],
                "train_speedup": run["train_images_per_s"] / reference["train_images_per_s"],
                "val_images_per_s": run["val_images_per_s"],
                "val_speedup": run["val_images_per_s"] / reference["val_images_per_s"],
                "epoch_seconds": epoch,
                "epoch_speedup": reference_epoch / epoch,
                "max_rss_mb": run["max_rss_mb"],
                "share_of_fp32_bound": run["train_images_per_s"] / bound_images_per_s,
                "test_accuracy": run.get("test_accuracy"),
                "raw": run,
            }
        )
    return {
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "epochs": epochs,
        "train_batches_per_epoch": train_batches,
        "machine": {
            "cpu": _cpu_name(),
            "logical_cpus": os.cpu_count(),
            "torch_threads": reference["threads"],
            "python": platform.python_version(),
            "torch": torch.__version__,
            "torchvision": torchvision.__version__,
            "pytorch-ignite": ignite.__version__,
        },
        "training_flop_per_image": flop_per_image,
        "peak_gflops": args.peak_gflops,
        "fp32_bound_images_per_s": bound_images_per_s,
        "variants": rows,
        "engine_overhead": overhead,
    }


def _epoch_seconds(run: dict[str, Any]) -> float:
    """Seconds of one full epoch: 45,000 training and 15,000 validation images at the measured rates.

    With every training batch run, this is the measured mean; with fewer, an estimate.
    """
    return (60_000 - VAL_SIZE) / run["train_images_per_s"] + VAL_SIZE / run["val_images_per_s"]


def _percent_range(ratios: list[float]) -> str:
    return f"{100 * (ratios[0] - 1):+.1f}% to {100 * (ratios[1] - 1):+.1f}%"


def _cpu_name() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _format_table(report: dict[str, Any]) -> str:
    header = (
        f"{'variant':<14} {'train img/s':>11} {'x ref':>6} {'val img/s':>10} {'x ref':>6} "
        f"{'s/epoch':>8} {'x ref':>6} {'peak RSS MB':>11} {'% bound':>7} {'test acc':>8}"
    )
    lines = [header, "-" * len(header)]
    for row in report["variants"]:
        accuracy = "" if row["test_accuracy"] is None else f"{row['test_accuracy']:.4f}"
        lines.append(
            f"{row['variant']:<14} {row['train_images_per_s']:>11,.0f} {row['train_speedup']:>6.2f} "
            f"{row['val_images_per_s']:>10,.0f} {row['val_speedup']:>6.2f} {row['epoch_seconds']:>8.2f} "
            f"{row['epoch_speedup']:>6.2f} {row['max_rss_mb']:>11,.0f} {100 * row['share_of_fp32_bound']:>7.1f} "
            f"{accuracy:>8}"
        )
    machine = report["machine"]
    lines.append("")
    lines.append(
        f"{machine['cpu']}, {machine['logical_cpus']} logical CPUs, {machine['torch_threads']} torch threads; "
        f"torch {machine['torch']}, torchvision {machine['torchvision']}, pytorch-ignite {machine['pytorch-ignite']}"
    )
    lines.append(
        f"s/epoch: 45,000 training and 15,000 validation images at the measured rates. % bound: training "
        f"images/s over {report['fp32_bound_images_per_s']:,.0f} images/s, which is {report['peak_gflops']:g} GFLOP/s "
        f"at an estimated {report['training_flop_per_image'] / 1e6:.1f} MFLOP per training image."
    )
    overhead = report["engine_overhead"]
    if overhead is not None:
        lines.append(
            f"Engine overhead ({overhead['batches']} batches, median of {overhead['rounds']} rounds): ignite trainer "
            f"with the default handlers takes {100 * (overhead['ignite_time_ratio'] - 1):+.1f}% time over the "
            f"hand-written loop (rounds {_percent_range(overhead['ignite_time_ratio_range'])}); without TensorBoard "
            f"logging {100 * (overhead['ignite_without_tensorboard_time_ratio'] - 1):+.1f}% "
            f"({_percent_range(overhead['ignite_without_tensorboard_time_ratio_range'])}).\n"
            f"Engine and handlers around a no-op step: {overhead['handler_us_per_iteration']:.0f} us per iteration, "
            f"{100 * overhead['handler_share']:.2f}% of the loop's {overhead['loop_step_ms']:.2f} ms training step."
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
