"""Figures saved as PNG, and sent to TensorBoard, at the end of training and every few epochs.

The handlers fire at the trainer's ``COMPLETED`` event, which ignite also fires after
``trainer.terminate()``, so early stopping and a run stopped on NaN still leave their plots. A run
that ends with an exception fires no ``COMPLETED`` and writes only the plots of ``every``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ignite.engine import Engine, Events
from ignite.engine.events import RemovableEventHandle
from ignite.handlers import TensorboardLogger
from matplotlib.figure import Figure

from ignite_fashion.handlers.misclassified import MisclassifiedStore
from ignite_fashion.plots import (
    plot_accuracy,
    plot_confusion_matrix,
    plot_loss_curves,
    plot_misclassified,
    plot_precision_recall_f1,
    save_figure,
)

logger = logging.getLogger(__name__)

HISTORY_PLOTS = {
    "loss.png": plot_loss_curves,
    "accuracy.png": plot_accuracy,
    "precision_recall_f1.png": plot_precision_recall_f1,
}
"""File names of the history plots and the functions that draw them."""


def _plot_events(every: int | None):
    """Return ``COMPLETED``, combined with ``EPOCH_COMPLETED(every=every)`` when ``every`` is given."""
    if every is None:
        return Events.COMPLETED
    if every < 1:
        raise ValueError(f"every must be at least 1 or None, got {every}")
    return Events.EPOCH_COMPLETED(every=every) | Events.COMPLETED


def _once_per_iteration(write):
    """Wrap ``write`` to skip a call at the same iteration count as the previous one.

    The last epoch can fire both ``EPOCH_COMPLETED(every=...)`` and ``COMPLETED``, and one write is enough.
    """
    last_iteration = {"iteration": None}

    def write_once(engine: Engine) -> None:
        if last_iteration["iteration"] == engine.state.iteration:
            return
        last_iteration["iteration"] = engine.state.iteration
        write(engine)

    return write_once


def attach_history_plots(
    trainer: Engine,
    history: Sequence[Mapping[str, Any]],
    plot_dir: str | os.PathLike,
    *,
    every: int | None = None,
) -> list[RemovableEventHandle]:
    """Write ``loss.png``, ``accuracy.png`` and ``precision_recall_f1.png`` from a validation history.

    The plots are written into ``plot_dir`` when training completes and, given ``every``, after
    every ``every`` epochs. Attach this after :func:`ignite_fashion.attach_validation`, so the
    history already has the epoch's record when the plots are drawn.

    Args:
        trainer: training engine.
        history: the list returned by :func:`ignite_fashion.attach_validation`, read at each write.
        plot_dir: folder for the PNG files, created when missing.
        every: also write after every this many epochs; None writes only at the end.

    Returns:
        The removable handles.

    Example:
        >>> import tempfile
        >>> trainer = Engine(lambda engine, batch: 0.0)
        >>> history = [{"epoch": 1, "train_loss": 0.5, "val_loss": 0.6, "val_accuracy": 0.8}]
        >>> plot_dir = Path(tempfile.mkdtemp())
        >>> _ = attach_history_plots(trainer, history, plot_dir)
        >>> _ = trainer.run([0], max_epochs=1)
        >>> sorted(path.name for path in plot_dir.iterdir())
        ['accuracy.png', 'loss.png', 'precision_recall_f1.png']
    """
    plot_dir = Path(plot_dir)
    event = _plot_events(every)

    def write_history_plots(engine: Engine) -> None:
        for name, plot in HISTORY_PLOTS.items():
            save_figure(plot(history), plot_dir / name)
        logger.info(
            "Wrote the history plots of %d epoch(s) to %s at epoch %d",
            len(history),
            plot_dir,
            engine.state.epoch,
        )

    return [trainer.add_event_handler(event, _once_per_iteration(write_history_plots))]


def save_evaluation_plots(
    metrics: Mapping[str, Any],
    store: MisclassifiedStore | None,
    plot_dir: str | os.PathLike,
    *,
    class_names: Sequence[str],
    prefix: str,
    tb_logger: TensorboardLogger | None = None,
    step: int | None = None,
) -> list[Path]:
    """Save the confusion matrices and the misclassified images of one evaluation as PNG files.

    Writes ``<prefix>_confusion_matrix.png`` (counts) and ``<prefix>_confusion_matrix_normalized.png``
    (rows divided by their sums) from ``metrics["confusion_matrix"]``, and
    ``<prefix>_misclassified.png`` from ``store``. Given ``tb_logger``, the same figures go to
    TensorBoard as images under ``<prefix>/confusion_matrix``,
    ``<prefix>/confusion_matrix_normalized`` and ``<prefix>/misclassified`` at ``step``.
    Without a confusion matrix in ``metrics`` the matrices are skipped with a warning, and without
    a store the misclassified figure is skipped.

    Args:
        metrics: evaluator metrics; ``confusion_matrix`` may be a tensor or a nested list.
        store: misclassified images of the same run, from
            :func:`ignite_fashion.handlers.attach_misclassified_store`, or None.
        plot_dir: folder for the PNG files, created when missing.
        class_names: class names in label order.
        prefix: start of the file names and TensorBoard tags, for example "val" or "test".
        tb_logger: ignite TensorBoard logger that also receives the figures; None sends nothing.
        step: TensorBoard step of the images, usually the trainer's iteration count.

    Returns:
        The paths written, in the order above.

    Example:
        >>> import tempfile
        >>> metrics = {"confusion_matrix": [[3, 1], [0, 2]]}
        >>> paths = save_evaluation_plots(metrics, None, tempfile.mkdtemp(), class_names=["cat", "dog"],
        ...                               prefix="test")
        >>> [path.name for path in paths]
        ['test_confusion_matrix.png', 'test_confusion_matrix_normalized.png']
    """
    if not prefix:
        raise ValueError("prefix must be a non-empty string such as 'val' or 'test'")
    plot_dir = Path(plot_dir)
    figures: dict[str, Figure] = {}
    matrix = metrics.get("confusion_matrix")
    if matrix is None:
        logger.warning(
            "No confusion_matrix in the %s metrics (names: %s), so no confusion matrix plots; "
            "build the evaluator's metrics with build_metrics()",
            prefix,
            ", ".join(sorted(metrics)) or "none",
        )
    else:
        figures["confusion_matrix"] = plot_confusion_matrix(
            matrix, class_names, title=f"Confusion matrix ({prefix})"
        )
        figures["confusion_matrix_normalized"] = plot_confusion_matrix(
            matrix, class_names, normalize=True, title=f"Confusion matrix, row-normalized ({prefix})"
        )
    if store is not None:
        figures["misclassified"] = plot_misclassified(
            store, class_names, title=_misclassified_title(store, prefix)
        )

    paths = [save_figure(figure, plot_dir / f"{prefix}_{name}.png") for name, figure in figures.items()]
    if tb_logger is not None:
        for name, figure in figures.items():
            tb_logger.writer.add_figure(f"{prefix}/{name}", figure, global_step=step, close=False)
    logger.info(
        "Wrote the %s plots %s in %s%s",
        prefix,
        ", ".join(path.name for path in paths) or "(none)",
        plot_dir,
        "" if tb_logger is None else f", and sent them to TensorBoard at step {step}",
    )
    return paths


def _misclassified_title(store: MisclassifiedStore, prefix: str) -> str:
    shown = len(store["images"])
    total = store.get("total", shown)
    if total > shown:
        return f"Misclassified images ({prefix}): first {shown} of {total}"
    return f"Misclassified images ({prefix}): {total}"


def attach_validation_plots(
    trainer: Engine,
    evaluator: Engine,
    store: MisclassifiedStore | None,
    plot_dir: str | os.PathLike,
    *,
    class_names: Sequence[str],
    tb_logger: TensorboardLogger | None = None,
    every: int | None = None,
) -> list[RemovableEventHandle]:
    """Save the latest validation results with :func:`save_evaluation_plots` under the prefix "val".

    The plots are written when training completes and, given ``every``, after every ``every``
    epochs, from ``evaluator.state.metrics`` and ``store`` as the evaluator's latest run left them.
    The TensorBoard step is the trainer's iteration count.

    NOTE: when validation runs only every few epochs, the evaluator's latest run can be older than
    the epoch at which the plots are written, and the step still is the current iteration.

    When the evaluator has not run yet, the plots are skipped with a log line. Attach this after
    the validation handler, so the epoch's evaluation is done when the plots are drawn.

    Args:
        trainer: training engine.
        evaluator: validation engine.
        store: misclassified images of ``evaluator``, or None for no misclassified figure.
        plot_dir: folder for the PNG files, created when missing.
        class_names: class names in label order.
        tb_logger: ignite TensorBoard logger that also receives the figures; None sends nothing.
        every: also write after every this many epochs; None writes only at the end.

    Returns:
        The removable handles.

    Example:
        >>> import tempfile, torch
        >>> from ignite.metrics import ConfusionMatrix
        >>> trainer = Engine(lambda engine, batch: 0.0)
        >>> evaluator = Engine(lambda engine, batch: (torch.tensor([[2.0, 0.0]]), torch.tensor([1])))
        >>> ConfusionMatrix(2).attach(evaluator, "confusion_matrix")
        >>> _ = trainer.add_event_handler(Events.EPOCH_COMPLETED, lambda engine: evaluator.run([0]))
        >>> plot_dir = Path(tempfile.mkdtemp())
        >>> _ = attach_validation_plots(trainer, evaluator, None, plot_dir, class_names=["cat", "dog"])
        >>> _ = trainer.run([0], max_epochs=1)
        >>> sorted(path.name for path in plot_dir.iterdir())
        ['val_confusion_matrix.png', 'val_confusion_matrix_normalized.png']
    """
    event = _plot_events(every)

    def write_validation_plots(engine: Engine) -> None:
        if evaluator.state.epoch == 0:
            logger.info("Skipped the validation plots at epoch %d: the evaluator has not run yet", engine.state.epoch)
            return
        save_evaluation_plots(
            evaluator.state.metrics,
            store,
            plot_dir,
            class_names=class_names,
            prefix="val",
            tb_logger=tb_logger,
            step=engine.state.iteration,
        )

    return [trainer.add_event_handler(event, _once_per_iteration(write_validation_plots))]
