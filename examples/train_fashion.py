"""Train SimpleCNN on FashionMNIST, validate after every epoch, and test once at the end.

Everything a run writes goes to one run directory, ``<output-dir>/<timestamp>-<name>/``:
``config.json``, ``history.json``, ``test_metrics.json``, ``train.log`` and ``tensorboard/``.

Usage:
    python examples/train_fashion.py --epochs 10
    python examples/train_fashion.py --help
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import platform
import sys
import time
from pathlib import Path

import ignite
import torch
import torchvision
from ignite.engine import Engine, Events
from ignite.handlers import CosineAnnealingScheduler, TensorboardLogger
from torch import nn

from ignite_fashion import (
    CLASS_NAMES,
    DataError,
    SimpleCNN,
    attach_epoch_loss,
    attach_never_predicted_notice,
    attach_tensorboard_loss,
    attach_tensorboard_metrics,
    attach_validation,
    build_evaluator,
    build_loaders,
    build_metrics,
    build_trainer,
    evaluate,
    load_fashion_mnist,
    resolve_device,
)
from ignite_fashion.files import write_json
from ignite_fashion.metrics import format_metrics

logger = logging.getLogger("train_fashion")


def _parse_number(text: str, kind: type) -> float:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid {kind.__name__} value {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    value = _parse_number(text, int)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    value = _parse_number(text, float)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {value}")
    return value


def _non_negative_float(text: str) -> float:
    value = _parse_number(text, float)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _momentum(text: str) -> float:
    value = _parse_number(text, float)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {value}")
    return value


def _fraction(text: str) -> float:
    value = _parse_number(text, float)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1 (exclusive), got {value}")
    return value


def _run_name(text: str) -> str:
    if not text or text in (".", "..") or "/" in text or os.sep in text:
        raise argparse.ArgumentTypeError(f"must be a plain folder name without '/', got {text!r}")
    return text


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Train SimpleCNN on FashionMNIST with pytorch-ignite.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )

    training = parser.add_argument_group("training")
    training.add_argument("--epochs", type=_positive_int, default=10, help="training epochs")
    training.add_argument("--batch-size", type=_positive_int, default=36, help="training batch size")
    training.add_argument("--lr", type=_positive_float, default=0.02, help="initial SGD learning rate")
    training.add_argument(
        "--lr-schedule",
        choices=("cosine", "constant"),
        default="cosine",
        help="cosine: anneal the learning rate to 0 over all iterations; constant: keep --lr",
    )
    training.add_argument("--momentum", type=_momentum, default=0.9, help="SGD momentum")
    training.add_argument("--weight-decay", type=_non_negative_float, default=5e-4, help="SGD weight decay (L2 penalty)")
    training.add_argument("--seed", type=int, default=0, help="seed of the split, the shuffling and the initial weights")
    training.add_argument("--device", default="auto", help="cpu, cuda, cuda:N, mps, or auto (CUDA when available)")

    data = parser.add_argument_group("data")
    data.add_argument("--data-dir", type=Path, default=Path("data"), help="folder with FashionMNIST/raw/ inside")
    data.add_argument("--no-download", action="store_true", help="never try torchvision's download mirrors")
    data.add_argument(
        "--val-fraction",
        type=_fraction,
        default=0.25,
        help="share of the 60,000 training images held out for validation",
    )
    data.add_argument("--eval-batch-size", type=_positive_int, default=256, help="validation and test batch size")
    data.add_argument(
        "--subset",
        type=_positive_int,
        metavar="N",
        default=None,
        help="use only the first N training and first N test images, for quick checks; None uses all",
    )

    output = parser.add_argument_group("output")
    output.add_argument("--output-dir", type=Path, default=Path("runs"), help="folder that receives the run directory")
    output.add_argument("--name", type=_run_name, default="simplecnn", help="suffix of the run directory name")
    output.add_argument("-v", "--verbose", action="store_true", help="show info log lines on the console")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = get_args_parser()
    args = parser.parse_args(argv)
    try:
        device = resolve_device(args.device)
    except ValueError as error:
        parser.error(str(error))

    try:
        run_dir = _make_run_dir(args.output_dir, args.name)
    except OSError as error:
        parser.error(f"cannot create a run directory in --output-dir {args.output_dir}: {error}")
    _configure_logging(run_dir / "train.log", verbose=args.verbose)
    torch.manual_seed(args.seed)
    print(f"Run directory: {run_dir}")
    write_json(run_dir / "config.json", _config(args, device, run_dir))

    # Data: verified FashionMNIST, seeded stratified split, shuffled train loader.
    try:
        train_set, test_set = load_fashion_mnist(args.data_dir, download=not args.no_download)
    except DataError as error:
        logger.error("%s", error)
        return 1
    if args.subset is not None:
        train_set = _first(train_set, args.subset)
        test_set = _first(test_set, args.subset)
    try:
        loaders = build_loaders(
            train_set,
            test_set,
            batch_size=args.batch_size,
            eval_batch_size=args.eval_batch_size,
            val_fraction=args.val_fraction,
            seed=args.seed,
        )
    except ValueError as error:
        parser.error(f"cannot split {len(train_set)} images with --val-fraction {args.val_fraction}: {error}")

    # Model, loss and optimizer.
    model = SimpleCNN(num_classes=len(CLASS_NAMES)).to(device)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(
        model.parameters(), lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay
    )

    # Engines and metrics.
    trainer = build_trainer(model, optimizer, loss_fn, device=device)
    evaluator = _build_checked_evaluator(model, loss_fn, device)
    if args.lr_schedule == "cosine":
        # ignite needs a cycle of at least 2 iterations; a 1-iteration run keeps the initial lr.
        total_iterations = max(2, args.epochs * len(loaders.train))
        scheduler = CosineAnnealingScheduler(
            optimizer, "lr", start_value=args.lr, end_value=0.0, cycle_size=total_iterations
        )
        trainer.add_event_handler(Events.ITERATION_STARTED, scheduler)

    # Handlers: epoch loss, validation history, TensorBoard, a summary line per epoch.
    attach_epoch_loss(trainer)
    _, history = attach_validation(
        trainer, evaluator, loaders.val, history_path=run_dir / "history.json", optimizer=optimizer
    )
    tb_logger = TensorboardLogger(log_dir=run_dir / "tensorboard")
    attach_tensorboard_loss(trainer, tb_logger, optimizer=optimizer)
    attach_tensorboard_metrics(evaluator, tb_logger, trainer, tag="validation")

    @trainer.on(Events.EPOCH_COMPLETED)
    def print_epoch_summary(engine: Engine) -> None:
        record = history[-1]
        print(
            f"epoch {engine.state.epoch:>2}/{args.epochs}  train loss {record['train_loss']:.4f}  "
            f"val loss {record['val_loss']:.4f}  accuracy {record['val_accuracy']:.4f}  "
            f"precision {record['val_precision']:.4f}  recall {record['val_recall']:.4f}  "
            f"f1 {record['val_f1']:.4f}  ({engine.state.times['EPOCH_COMPLETED']:.1f} s training)",
            flush=True,
        )

    # Train, then test once.
    logger.info("Training for %d epochs on %s", args.epochs, device)
    started = time.perf_counter()
    trainer.run(loaders.train, max_epochs=args.epochs)
    logger.info("Training finished in %.1f s", time.perf_counter() - started)

    # A separate evaluator, so the test metrics never reach the validation TensorBoard tags.
    test_evaluator = _build_checked_evaluator(model, loss_fn, device)
    attach_tensorboard_metrics(test_evaluator, tb_logger, trainer, tag="test")
    test_metrics = evaluate(test_evaluator, loaders.test)
    tb_logger.close()
    write_json(run_dir / "test_metrics.json", test_metrics)
    logger.info("Test: %s", format_metrics(test_metrics))
    print(f"test  {format_metrics(test_metrics)}")
    print(f"Wrote {run_dir}")
    return 0


def _build_checked_evaluator(model: nn.Module, loss_fn: nn.Module, device: torch.device) -> Engine:
    """Build an evaluator with the standard metrics and the never-predicted notice."""
    evaluator = build_evaluator(model, build_metrics(loss_fn, num_classes=len(CLASS_NAMES)), device=device)
    attach_never_predicted_notice(evaluator, class_names=CLASS_NAMES)
    return evaluator


def _first(dataset, count: int):
    """Keep the first ``count`` samples of an ImageDataset, as an ImageDataset."""
    return type(dataset)(dataset.images[:count], dataset.targets[:count])


def _make_run_dir(output_dir: Path, name: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    output_dir.mkdir(parents=True, exist_ok=True)
    for attempt in range(100):
        suffix = "" if attempt == 0 else f"-{attempt}"
        run_dir = output_dir / f"{stamp}-{name}{suffix}"
        try:
            run_dir.mkdir()
        except FileExistsError:
            continue
        return run_dir
    raise RuntimeError(f"cannot create a new run directory in {output_dir}: 100 names for {stamp}-{name} taken")


def _configure_logging(log_file: Path, *, verbose: bool) -> None:
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    console = logging.StreamHandler()
    console.setLevel(logging.INFO if verbose else logging.WARNING)
    console.setFormatter(formatter)
    file_handler = logging.FileHandler(log_file)
    file_handler.setFormatter(formatter)
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    for handler in list(root.handlers):
        if getattr(handler, "_train_fashion", False):
            root.removeHandler(handler)
            handler.close()
    for handler in (console, file_handler):
        handler._train_fashion = True
        root.addHandler(handler)


def _config(args: argparse.Namespace, device: torch.device, run_dir: Path) -> dict:
    config = {name: str(value) if isinstance(value, Path) else value for name, value in vars(args).items()}
    config.update(
        run_dir=str(run_dir),
        resolved_device=str(device),
        versions={
            "python": platform.python_version(),
            "torch": torch.__version__,
            "torchvision": torchvision.__version__,
            "pytorch-ignite": ignite.__version__,
        },
        torch_threads=torch.get_num_threads(),
    )
    return config


if __name__ == "__main__":
    sys.exit(main())
