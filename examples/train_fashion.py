"""Train SimpleCNN on FashionMNIST, validate after every epoch, and test once at the end.

Everything a run writes goes to one run directory, ``<output-dir>/<timestamp>-<name>/``:
``config.json``, ``history.json`` and ``history.csv``, ``checkpoints/``, ``tensorboard/``, ``plots/``,
``test_metrics.json``, ``report.html`` and ``train.log``.

Usage:
    python examples/train_fashion.py --epochs 10
    python examples/train_fashion.py --resume runs/20260101-120000-simplecnn --epochs 12
    python examples/train_fashion.py --help
"""

from __future__ import annotations

import argparse
import logging
import logging.handlers
import math
import os
import platform
import shutil
import sys
import time
from pathlib import Path

import ignite
import torch
import torchvision
from ignite.engine import Engine, Events
from ignite.handlers import TensorboardLogger
from torch import nn

from ignite_fashion import (
    CLASS_NAMES,
    LR_SCHEDULES,
    PRECISIONS,
    CheckpointError,
    DataError,
    SimpleCNN,
    attach_checkpoints,
    attach_early_stopping,
    attach_epoch_loss,
    attach_history_plots,
    attach_lr_schedule,
    attach_misclassified_store,
    attach_never_predicted_notice,
    attach_progress,
    attach_tensorboard_loss,
    attach_tensorboard_metrics,
    attach_terminate_on_nan,
    attach_validation,
    attach_validation_plots,
    build_evaluator,
    build_loaders,
    build_metrics,
    build_trainer,
    check_split,
    checkpoint_step,
    copy_best_checkpoints,
    environment_info,
    find_checkpoint,
    fixed_state,
    list_state,
    load_checkpoint,
    load_fashion_mnist,
    metrics_to_python,
    per_class_table,
    resolve_device,
    resolve_precision,
    rng_state,
    save_evaluation_plots,
    write_report,
)
from ignite_fashion.data import MAX_SEED, TRAIN_IMAGES
from ignite_fashion.files import write_csv, write_json
from ignite_fashion.handlers.validation import scalar_columns
from ignite_fashion.metrics import format_metrics

logger = logging.getLogger("train_fashion")

_LOG_FORMAT = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")

MAX_COUNT = 2**31 - 1
"""Largest value of a count flag (epochs, batch sizes, subset, patience and the like)."""


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
    # Larger values overflow the samplers and loaders long after the data is loaded.
    if value > MAX_COUNT:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_COUNT}, got {value}")
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


def _gamma(text: str) -> float:
    value = _parse_number(text, float)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {value}")
    return value


def _fraction(text: str) -> float:
    value = _parse_number(text, float)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1 (exclusive), got {value}")
    return value


def _seed(text: str) -> int:
    value = _parse_number(text, int)
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be between 0 and {MAX_SEED}, got {value}")
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
        choices=LR_SCHEDULES,
        default="cosine",
        help="cosine: anneal the learning rate to 0 over all iterations; step: multiply it by --lr-gamma "
        "every --lr-step-epochs epochs; constant: keep --lr",
    )
    training.add_argument("--lr-step-epochs", type=_positive_int, default=3, help="epochs between steps of the step schedule")
    training.add_argument("--lr-gamma", type=_gamma, default=0.1, help="learning-rate factor of each step of the step schedule")
    training.add_argument("--momentum", type=_momentum, default=0.9, help="SGD momentum")
    training.add_argument("--weight-decay", type=_non_negative_float, default=5e-4, help="SGD weight decay (L2 penalty)")
    training.add_argument("--seed", type=_seed, default=0, help="seed of the split, the shuffling and the initial weights")
    training.add_argument(
        "--patience",
        type=_positive_int,
        default=None,
        help="stop when validation macro F1 has not improved for this many epochs; None never stops early",
    )
    training.add_argument("--device", default="auto", help="cpu, cuda, cuda:N, mps, or auto (CUDA when available)")
    training.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="fp32",
        help="bf16: bfloat16 autocast of the forward pass, about twice as fast on CPUs with AVX512-BF16 or AMX; "
        "falls back to fp32 with a warning elsewhere",
    )
    training.add_argument(
        "--channels-last",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="use the channels_last memory format for the model and batches (faster convolutions on the CPU)",
    )
    training.add_argument(
        "--resume",
        type=Path,
        metavar="PATH",
        default=None,
        help="continue a run from a checkpoint file, or from a run directory's newest checkpoint, in a new "
        "run directory; its settings are reused unless given here, and the training settings (batch size, "
        "learning rate and schedule, momentum, weight decay, seed, split, subset) cannot change",
    )

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
    output.add_argument(
        "--log-every",
        type=_positive_int,
        metavar="N",
        default=10,
        help="write the mean batch loss of every N iterations, and the learning rate, to TensorBoard; "
        "1 logs every iteration, which slows training by several percent on a small CPU",
    )
    output.add_argument(
        "--plot-every",
        type=_positive_int,
        metavar="N",
        default=None,
        help="also draw the validation plots every N epochs; None draws them after the last epoch only",
    )
    output.add_argument(
        "--max-misclassified", type=_positive_int, default=36, help="misclassified images kept per evaluation for the plots"
    )
    output.add_argument("-v", "--verbose", action="store_true", help="show info log lines on the console")
    output.add_argument(
        "-q",
        "--quiet",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="no progress bar or per-epoch lines, only the results; --no-quiet undoes a resumed run's --quiet",
    )
    return parser


# Settings that shape the training trajectory; a resumed run must keep them to continue the same run.
TRAINING_SETTINGS = (
    "batch_size",
    "lr",
    "lr_schedule",
    "lr_step_epochs",
    "lr_gamma",
    "momentum",
    "weight_decay",
    "seed",
    "val_fraction",
    "subset",
)


def main(argv: list[str] | None = None) -> int:
    parser = get_args_parser()
    args = parser.parse_args(argv)
    early_records = _configure_logging(verbose=args.verbose)
    resumed = None
    if args.resume is not None:
        resumed = _resume_settings(parser, args, argv)
        if resumed is None:
            return 0
    try:
        device = resolve_device(args.device)
    except ValueError as error:
        parser.error(str(error))
    precision = resolve_precision(args.precision, device)

    # Checks that need no data: a run directory is made only when they pass.
    if args.data_dir.exists() and not args.data_dir.is_dir():
        parser.error(f"--data-dir {args.data_dir} is not a folder: pass a folder, for example --data-dir data")
    try:
        check_split(min(args.subset or TRAIN_IMAGES, TRAIN_IMAGES), args.val_fraction)
    except ValueError as error:
        parser.error(f"--subset {args.subset} with --val-fraction {args.val_fraction}: {error}")
    try:
        run_dir = _make_run_dir(args.output_dir, args.name)
    except OSError as error:
        parser.error(f"cannot create a run directory in --output-dir {args.output_dir}: {error}")
    _log_to_file(early_records, run_dir / "train.log")
    torch.manual_seed(args.seed)
    print(f"Run directory: {run_dir}")
    config = _config(args, device, run_dir)
    config["resolved_precision"] = precision
    write_json(run_dir / "config.json", config)

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

    # Engines, training control and validation. Handlers of one event run in the order attached:
    # validation and the history come before the checkpoint that saves them.
    speed = {"channels_last": args.channels_last, "precision": precision}
    trainer = build_trainer(model, optimizer, loss_fn, device=device, **speed)
    evaluator = _build_checked_evaluator(model, loss_fn, device, **speed)
    attach_terminate_on_nan(trainer)
    # A resumed run that extends its planned epochs anneals a new cosine cycle over the added ones.
    # A run that has trained all its epochs only needs its test and report.
    test_only = resumed is not None and _trained_epochs(resumed) == args.epochs
    restart_cosine = (
        resumed is not None
        and not test_only
        and args.lr_schedule == "cosine"
        and args.epochs != _planned_epochs(resumed)
    )
    schedule_epochs = args.epochs - _trained_epochs(resumed) if restart_cosine else args.epochs
    scheduler = attach_lr_schedule(
        trainer,
        optimizer,
        schedule=args.lr_schedule,
        total_iterations=schedule_epochs * len(loaders.train),
        step_iterations=args.lr_step_epochs * len(loaders.train),
        gamma=args.lr_gamma,
    )
    attach_epoch_loss(trainer)
    if not args.quiet:
        attach_progress(trainer)
    _, val_store = attach_misclassified_store(evaluator, max_images=args.max_misclassified)
    _, history = attach_validation(
        trainer,
        evaluator,
        loaders.val,
        history_path=run_dir / "history.json",
        csv_path=run_dir / "history.csv",
        optimizer=optimizer,
    )
    early_stopping = None
    if args.patience is not None:
        early_stopping = attach_early_stopping(trainer, evaluator, patience=args.patience)

    # Checkpoints: everything an exact resume needs.
    to_save = {
        "model": model,
        "optimizer": optimizer,
        "trainer": trainer,
        "history": list_state(history),
        "rng": rng_state(loaders.train.generator),
        "config": fixed_state(config),
    }
    if scheduler is not None:
        to_save["lr_scheduler"] = scheduler
    if early_stopping is not None:
        to_save["early_stopping"] = early_stopping
    last, best = attach_checkpoints(trainer, evaluator, to_save, run_dir / "checkpoints")

    # TensorBoard and plots.
    plot_dir = run_dir / "plots"
    tb_logger = TensorboardLogger(log_dir=run_dir / "tensorboard")
    attach_tensorboard_loss(trainer, tb_logger, optimizer=optimizer, every=args.log_every)
    attach_tensorboard_metrics(evaluator, tb_logger, trainer, tag="validation")
    attach_history_plots(trainer, history, plot_dir, every=args.plot_every)
    attach_validation_plots(
        trainer, evaluator, val_store, plot_dir, class_names=CLASS_NAMES, tb_logger=tb_logger, every=args.plot_every
    )
    if not args.quiet:
        trainer.add_event_handler(Events.EPOCH_COMPLETED, _print_epoch_summary, history)

    notes = []
    if resumed is not None:
        skip = {"config", "lr_scheduler"} if restart_cosine else {"config"}
        try:
            notes.append(
                _restore(resumed, to_save, (last, best), trainer, history, run_dir, epochs=args.epochs, skip=skip)
            )
        except CheckpointError as error:
            logger.error("%s", error)
            return 1
        except (OSError, RuntimeError) as error:
            hint = "Resuming stopped: %s. The run resumed from is unchanged: make room or fix the folder, then "
            if not _log_write_error(error, tb_logger, hint + "run the same command again (%s can be deleted)", run_dir):
                raise
            return 1
        if restart_cosine:
            notes.append(
                f"The run was planned for {_planned_epochs(resumed)} epochs; the learning rate follows a new "
                f"cosine cycle from {args.lr} to 0 over epochs {_trained_epochs(resumed) + 1} to {args.epochs}."
            )

    if test_only:
        # The run stopped after its last checkpoint, before its test and report. One validation
        # redraws the validation plots of the last epoch, and COMPLETED draws the history plots.
        logger.info("Training is complete, so validating once for the plots, then testing")
        evaluator.run(loaders.val)
        trainer.fire_event(Events.COMPLETED)
    else:
        logger.info("Training for %d epochs on %s", args.epochs, device)
        started = time.perf_counter()
        try:
            trainer.run(loaders.train, max_epochs=args.epochs)
        except KeyboardInterrupt:
            _close_quietly(tb_logger)
            logger.error("Training interrupted. Continue it with --resume %s", run_dir)
            return 130
        except (OSError, RuntimeError) as error:
            # A full disk or a folder removed mid-run: every file written before is whole (atomic writes).
            hint = "Training stopped: %s. The files saved before are intact: make room or fix the folder, "
            if not any(checkpoint_step(path) is not None for path in (run_dir / "checkpoints").glob("*.pt")):
                hint += "then start the run again: no checkpoint to resume from is left in %s"
            else:
                hint += "then continue with --resume %s"
            if not _log_write_error(error, tb_logger, hint, run_dir):
                raise
            return 1
        logger.info("Training finished in %.1f s", time.perf_counter() - started)
    diverged = getattr(trainer.state, "diverged_iteration", None)

    # Test once, with the best checkpoint's weights.
    if diverged is not None:
        notes.append(f"Training diverged at iteration {diverged}: the loss became NaN or infinite.")
    try:
        if best.last_checkpoint is None:
            if any(math.isfinite(record.get("val_f1", math.nan)) for record in history):
                notes.append("The best checkpoint file is missing, so there is no test.")
            else:
                notes.append("No validation finished with a finite F1, so there is no best checkpoint and no test.")
            test_metrics, test_store = None, None
        else:
            best_path = Path(best.last_checkpoint)
            load_checkpoint({"model": model}, best_path, path=best_path)
            best_score = best.state_dict()["_saved"][-1][0]
            notes.append(
                f"Test set evaluated with the best checkpoint, {best_path.name} "
                f"(epoch {checkpoint_step(best_path)}, validation macro F1 {best_score:.4f})."
            )
            test_evaluator = _build_checked_evaluator(model, loss_fn, device, **speed)
            # Which weights were tested, and whether training diverged after they were saved.
            source = {
                "checkpoint": best_path.name,
                "epoch": checkpoint_step(best_path),
                "validation_f1": best_score,
                "diverged_at_iteration": diverged,
            }
            test_metrics, test_store = _test(test_evaluator, loaders.test, tb_logger, trainer, plot_dir, args, source)
        tb_logger.close()
        for note in notes:
            logger.info("%s", note)

        _write_report(run_dir, config, device, history, test_metrics, test_store, notes)
    except CheckpointError as error:
        _close_quietly(tb_logger)
        logger.error("%s", error)
        return 1
    except (OSError, RuntimeError) as error:
        # The report is written last, so a resume of this run directory tests and reports again.
        hint = "Writing the test results stopped: %s. The checkpoints are intact: make room or fix the folder, "
        if not _log_write_error(error, tb_logger, hint + "then run --resume %s to test and write the report", run_dir):
            raise
        return 1
    print(f"Wrote {run_dir}")
    if diverged is not None:
        print(f"Training diverged at iteration {diverged}; see {run_dir / 'train.log'}", file=sys.stderr)
        return 1
    return 0


def _os_error(error: BaseException | None) -> OSError | None:
    """Return the OSError that ``error`` is or was raised from, or None."""
    while error is not None and not isinstance(error, OSError):
        error = error.__cause__ or error.__context__
    return error


def _log_write_error(error: BaseException, tb_logger: TensorboardLogger, message: str, run_dir: Path) -> bool:
    """Log ``message`` with the OSError behind ``error`` and ``run_dir``, and close TensorBoard.

    torch.save reports a failed write as a RuntimeError raised while handling the OSError.

    Returns:
        False when no OSError is behind ``error``: it is not a failed write, and nothing was logged.
    """
    os_error = _os_error(error)
    if os_error is None:
        return False
    _close_quietly(tb_logger)
    logger.error(message, os_error, run_dir)
    return True


def _close_quietly(tb_logger: TensorboardLogger) -> None:
    # Closing flushes the event file, which fails again when its folder is gone or the disk is full.
    try:
        tb_logger.close()
    except OSError as error:
        logger.warning("Failed to close the TensorBoard writer: %s", error)


def _restore(resumed, to_save, handlers, trainer, history, run_dir, *, epochs, skip) -> str:
    """Load a resumed run's checkpoint into ``to_save``, except ``skip``, and carry its checkpoints over.

    The new run directory gets the best files and a checkpoint of the restored state with the new
    settings, so it can itself be resumed before it has trained an epoch.
    """
    checkpoint_path, checkpoint = resumed
    last, best = handlers
    logger.info("Resuming from %s", checkpoint_path)
    to_load = {name: value for name, value in to_save.items() if name not in skip and name in checkpoint}
    load_checkpoint(to_load, checkpoint, path=checkpoint_path)
    last_score = history[-1].get("val_f1") if history else None
    copy_best_checkpoints(best, checkpoint, checkpoint_path, run_dir / "checkpoints", score=last_score)
    # ignite treats a finished run as new when max_epochs is not raised first, and would start over.
    trainer.state.max_epochs = epochs
    name = f"checkpoint_{trainer.state.epoch}.pt"
    last.save_handler({key: value.state_dict() for key, value in last.to_save.items()}, name)
    last.load_state_dict({"_saved": [(trainer.state.epoch, name)]})
    write_json(run_dir / "history.json", history)
    write_csv(run_dir / "history.csv", history, scalar_columns(history))
    return f"Resumed from {checkpoint_path} after epoch {trainer.state.epoch}."


def _trained_epochs(resumed) -> int:
    state = resumed[1]["trainer"]
    return state["iteration"] // state["epoch_length"]


def _planned_epochs(resumed) -> int:
    return resumed[1]["trainer"]["max_epochs"]


# Plot file names and captions, in the order the report shows them.
REPORT_PLOTS = {
    "loss": "Training and validation loss",
    "accuracy": "Validation accuracy",
    "precision_recall_f1": "Validation precision, recall and F1 (macro)",
    "val_confusion_matrix": "Validation confusion matrix, last validated epoch",
    "val_confusion_matrix_normalized": "Validation confusion matrix, row-normalized",
    "val_misclassified": "Misclassified validation images",
    "test_confusion_matrix": "Test confusion matrix, best checkpoint",
    "test_confusion_matrix_normalized": "Test confusion matrix, row-normalized",
    "test_misclassified": "Misclassified test images",
}


def _write_report(run_dir, config, device, history, test_metrics, test_store, notes) -> None:
    plot_dir = run_dir / "plots"
    plot_paths = {
        caption: plot_dir / f"{name}.png" for name, caption in REPORT_PLOTS.items() if (plot_dir / f"{name}.png").exists()
    }
    write_report(
        run_dir / "report.html",
        config=config,
        environment=environment_info(device),
        history=history,
        test_metrics=test_metrics,
        plot_paths=plot_paths,
        misclassified=test_store,
        class_names=CLASS_NAMES,
        notes=notes,
    )


def _test(test_evaluator, data, tb_logger, trainer, plot_dir, args, source) -> tuple[dict, object]:
    """Evaluate the test set, write test_metrics.json and the test plots, and print a summary.

    ``source`` describes the tested weights and goes into test_metrics.json under ``"source"``.

    ``test_evaluator`` is not the validation evaluator, so the test metrics never reach the
    validation TensorBoard tags or the best-checkpoint handler.
    """
    _, store = attach_misclassified_store(test_evaluator, max_images=args.max_misclassified)
    attach_tensorboard_metrics(test_evaluator, tb_logger, trainer, tag="test")
    test_evaluator.run(data)
    test_metrics = metrics_to_python(test_evaluator.state.metrics)
    test_metrics["per_class"] = per_class_table(test_metrics, CLASS_NAMES)
    test_metrics["source"] = source
    write_json(plot_dir.parent / "test_metrics.json", test_metrics)
    save_evaluation_plots(
        test_evaluator.state.metrics,
        store,
        plot_dir,
        class_names=CLASS_NAMES,
        prefix="test",
        tb_logger=tb_logger,
        step=trainer.state.iteration,
    )
    logger.info("Test: %s", format_metrics(test_metrics))
    print(f"test  {format_metrics(test_metrics)}")
    return test_metrics, store


def _print_epoch_summary(engine: Engine, history: list[dict]) -> None:
    record = history[-1]
    print(
        f"epoch {engine.state.epoch:>2}/{engine.state.max_epochs}  train loss {record['train_loss']:.4f}  "
        f"val loss {record['val_loss']:.4f}  accuracy {record['val_accuracy']:.4f}  "
        f"precision {record['val_precision']:.4f}  recall {record['val_recall']:.4f}  "
        f"f1 {record['val_f1']:.4f}  ({engine.state.times['EPOCH_COMPLETED']:.1f} s training)",
        flush=True,
    )


def _resume_settings(
    parser: argparse.ArgumentParser, args: argparse.Namespace, argv: list[str] | None
) -> tuple[Path, dict] | None:
    """Find the checkpoint to resume and take the settings of its run into ``args``.

    Returns:
        The checkpoint file and contents, or None when the run has already trained ``--epochs`` epochs
        and its run directory has a report. Without the report, the run still needs its test.
    """
    try:
        path, checkpoint = find_checkpoint(args.resume)
    except CheckpointError as error:
        parser.error(str(error))
    saved = checkpoint.get("config")
    trainer_state = checkpoint.get("trainer")
    if not isinstance(saved, dict) or not _is_trainer_state(trainer_state):
        parser.error(f"checkpoint {path} has no run settings or trainer state: it was not written by this script")
    # A model that does not fit is rejected here, before a run directory exists or data is loaded.
    try:
        load_checkpoint({"model": SimpleCNN(num_classes=len(CLASS_NAMES))}, checkpoint, path=path)
    except CheckpointError as error:
        parser.error(str(error))

    explicit = _explicit_flags(argv)
    for name in TRAINING_SETTINGS:
        if name in explicit and explicit[name] != saved.get(name):
            flag = "--" + name.replace("_", "-")
            parser.error(
                f"{flag} {explicit[name]} differs from {saved.get(name)} in checkpoint {path}: a resumed run "
                f"keeps its training settings, so drop {flag} or start a new run without --resume"
            )
    for name, value in saved.items():
        if hasattr(args, name) and name not in explicit and name != "resume":
            default = parser.get_default(name)
            setattr(args, name, type(default)(value) if isinstance(default, Path) else value)

    done = _trained_epochs((path, checkpoint))
    if args.epochs < done:
        parser.error(
            f"--epochs {args.epochs} is less than the {done} epochs checkpoint {path} has trained: "
            f"give --epochs {done + 1} or more to continue the run"
        )
    if args.epochs == done:
        run_dir = path.parent.parent if path.parent.name == "checkpoints" else None
        if run_dir is None or (run_dir / "report.html").exists():
            print(f"Run already complete: checkpoint {path} has trained {done} of {done} epochs, so nothing is trained.")
            print(f"Give --epochs {done + 1} or more to continue it.")
            return None
        message = f"Training of {run_dir} is complete but it has no report: testing and writing the report only."
        print(message)
        logger.info("%s", message)
    return path, checkpoint


def _is_trainer_state(state) -> bool:
    """Tell whether ``state`` looks like the state_dict of an ignite Engine that has trained."""
    if not isinstance(state, dict):
        return False
    counts = [state.get(key) for key in ("epoch_length", "iteration", "max_epochs")]
    return all(type(count) is int for count in counts) and counts[0] >= 1 and counts[1] >= 0 and counts[2] >= 1


def _explicit_flags(argv: list[str] | None) -> dict:
    """Return the settings given on the command line, without the defaults."""
    parser = get_args_parser()
    # argparse fills in a default only where the namespace lacks the attribute.
    unset = object()
    namespace = argparse.Namespace(**dict.fromkeys(vars(parser.parse_args([])), unset))
    parsed = parser.parse_args(argv, namespace=namespace)
    return {name: value for name, value in vars(parsed).items() if value is not unset}


def _build_checked_evaluator(
    model: nn.Module, loss_fn: nn.Module, device: torch.device, *, channels_last: bool, precision: str
) -> Engine:
    """Build an evaluator with the standard metrics and the never-predicted notice."""
    metrics = build_metrics(loss_fn, num_classes=len(CLASS_NAMES))
    evaluator = build_evaluator(model, metrics, device=device, channels_last=channels_last, precision=precision)
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


def _configure_logging(*, verbose: bool) -> logging.handlers.MemoryHandler:
    """Log to the console, and keep the records for train.log until :func:`_log_to_file` names it.

    Returns:
        The handler that keeps the records.
    """
    console = logging.StreamHandler()
    console.setLevel(logging.INFO if verbose else logging.WARNING)
    console.setFormatter(_LOG_FORMAT)
    # Keeps every record, because it flushes only to its target, which _log_to_file sets.
    early_records = logging.handlers.MemoryHandler(capacity=10_000, flushLevel=logging.CRITICAL + 1)
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    for handler in list(root.handlers):
        if getattr(handler, "_train_fashion", False):
            root.removeHandler(handler)
            handler.close()
    for handler in (console, early_records):
        handler._train_fashion = True
        root.addHandler(handler)
    return early_records


def _log_to_file(early_records: logging.handlers.MemoryHandler, log_file: Path) -> None:
    """Write the records kept so far to ``log_file``, and every later record too."""
    file_handler = logging.FileHandler(log_file)
    file_handler.setFormatter(_LOG_FORMAT)
    file_handler._train_fashion = True
    early_records.setTarget(file_handler)
    early_records.flush()
    root = logging.getLogger()
    root.removeHandler(early_records)
    root.addHandler(file_handler)


def _config(args: argparse.Namespace, device: torch.device, run_dir: Path) -> dict:
    config = {name: str(value) if isinstance(value, Path) else value for name, value in vars(args).items()}
    config.update(
        run_dir=str(run_dir),
        resolved_device=str(device),
        versions={
            "python": platform.python_version(),
            "torch": str(torch.__version__),  # a str subclass that weights_only loading rejects
            "torchvision": torchvision.__version__,
            "pytorch-ignite": ignite.__version__,
        },
        torch_threads=torch.get_num_threads(),
    )
    return config


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("Interrupted. A run directory with checkpoints can be continued with --resume.", file=sys.stderr)
        sys.exit(130)
