"""Validation after each epoch, with a metric history kept in memory and written to JSON and CSV."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from typing import Any

import torch
from ignite.engine import Engine, Events
from ignite.engine.events import RemovableEventHandle
from ignite.metrics import Average

from ignite_fashion.files import write_csv, write_json
from ignite_fashion.metrics import format_metrics, metrics_to_python

logger = logging.getLogger(__name__)


def attach_epoch_loss(trainer: Engine, *, name: str = "loss") -> Average:
    """Average the batch losses over each epoch into ``trainer.state.metrics[name]``.

    Each batch counts once, whatever its size.

    Returns:
        The attached ignite ``Average`` metric; ``metric.detach(trainer)`` removes it.

    Example:
        >>> trainer = Engine(lambda engine, batch: float(batch))
        >>> _ = attach_epoch_loss(trainer)
        >>> trainer.run([1.0, 2.0, 6.0], max_epochs=1).metrics["loss"]
        3.0
    """
    average = Average(output_transform=lambda loss: loss)
    average.attach(trainer, name)
    return average


def evaluate(evaluator: Engine, data: Iterable) -> dict[str, Any]:
    """Run ``evaluator`` once over ``data`` and return its metrics as JSON-ready Python values."""
    evaluator.run(data)
    return metrics_to_python(evaluator.state.metrics)


def attach_validation(
    trainer: Engine,
    evaluator: Engine,
    data: Iterable,
    *,
    history: list[dict[str, Any]] | None = None,
    history_path: str | os.PathLike | None = None,
    csv_path: str | os.PathLike | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    every: int = 1,
) -> tuple[RemovableEventHandle, list[dict[str, Any]]]:
    """Run ``evaluator`` on ``data`` every ``every`` epochs and keep a history of the metrics.

    Each history record contains ``epoch``, ``iteration``, ``lr`` of the first parameter group when
    ``optimizer`` is given, ``train_loss`` when ``trainer.state.metrics`` has
    ``loss`` (see :func:`attach_epoch_loss`), and every evaluator metric with a ``val_`` prefix.
    The record is appended to ``history``, which is rewritten to ``history_path`` as JSON and to
    ``csv_path`` as CSV each time, so a killed run still leaves the history of its finished epochs.
    The CSV has one column per scalar value; per-class lists and the confusion matrix are in the
    JSON only. A summary line is logged.

    Args:
        trainer: training engine.
        evaluator: engine built by :func:`ignite_fashion.build_evaluator`.
        data: validation data, iterated once per evaluation.
        history: list to append to; a new list when None.
        history_path: JSON file to write the history to; None writes none.
        csv_path: CSV file to write the scalar history to; None writes none.
        optimizer: optimizer whose current learning rate is recorded.
        every: evaluate every this many epochs.

    Returns:
        The removable handle and the history list.

    Example:
        >>> from ignite.metrics import Accuracy
        >>> import torch
        >>> trainer = Engine(lambda engine, batch: 0.0)
        >>> evaluator = Engine(lambda engine, batch: batch)
        >>> Accuracy().attach(evaluator, "accuracy")
        >>> batch = (torch.tensor([[2.0, 0.0], [0.0, 1.0]]), torch.tensor([0, 0]))
        >>> handle, history = attach_validation(trainer, evaluator, [batch])
        >>> _ = trainer.run([0], max_epochs=2)
        >>> [(record["epoch"], record["val_accuracy"]) for record in history]
        [(1, 0.5), (2, 0.5)]
    """
    if every < 1:
        raise ValueError(f"every must be at least 1, got {every}")
    history = [] if history is None else history

    def validate(engine: Engine) -> None:
        metrics = evaluate(evaluator, data)
        record: dict[str, Any] = {"epoch": engine.state.epoch, "iteration": engine.state.iteration}
        if optimizer is not None:
            record["lr"] = optimizer.param_groups[0]["lr"]
        if "loss" in engine.state.metrics:
            record["train_loss"] = float(engine.state.metrics["loss"])
        record.update({f"val_{name}": value for name, value in metrics.items()})
        history.append(record)
        if history_path is not None:
            write_json(history_path, history)
        if csv_path is not None:
            write_csv(csv_path, history, scalar_columns(history))
        logger.info(
            "Validation after epoch %d: %s", engine.state.epoch, format_metrics(metrics)
        )

    handle = trainer.add_event_handler(Events.EPOCH_COMPLETED(every=every), validate)
    return handle, history


def scalar_columns(records: Iterable[dict[str, Any]]) -> list[str]:
    """Return the keys of ``records`` with number or string values, in order of first appearance.

    Example:
        >>> scalar_columns([{"epoch": 1, "val_f1_per_class": [0.5, 0.7]}, {"epoch": 2, "lr": 0.1}])
        ['epoch', 'lr']
    """
    columns: dict[str, None] = {}
    for record in records:
        for key, value in record.items():
            if isinstance(value, (int, float, str)):
                columns.setdefault(key)
    return list(columns)
