"""The standard validation and test metrics, all computed by ignite.metrics."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from ignite.engine import Engine, Events
from ignite.engine.events import RemovableEventHandle
from ignite.metrics import Accuracy, ConfusionMatrix, Fbeta, Loss, Metric, Precision, Recall
from torch import nn

logger = logging.getLogger(__name__)

SCALAR_METRICS = ("loss", "accuracy", "precision", "recall", "f1")
"""Names of the scalar metrics in :func:`build_metrics`, in display order."""

PER_CLASS_METRICS = ("precision_per_class", "recall_per_class", "f1_per_class")
"""Names of the per-class metrics in :func:`build_metrics`, each a tensor of ``num_classes`` values."""


def build_metrics(
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    *,
    num_classes: int = 10,
    device: str | torch.device = "cpu",
) -> dict[str, Metric]:
    """Build the metric set for an evaluator whose output is ``(logits, targets)``.

    The set contains ``loss`` (mean over samples, not over batches), ``accuracy``, the macro averages
    ``precision``, ``recall`` and ``f1``, their per-class values ``precision_per_class``,
    ``recall_per_class`` and ``f1_per_class``, and ``confusion_matrix`` (rows are true classes,
    columns predicted classes).

    Macro F1 is the mean of the per-class F1 scores, not the F1 of macro precision and macro recall.
    A class that is never predicted has precision 0 and hence F1 0 (no NaN), the same rule as
    scikit-learn's ``zero_division=0``. One shared per-class Precision and Recall feed all of the
    averages, so each batch is counted once.

    Args:
        loss_fn: loss on ``(logits, targets)`` returning the batch mean; defaults to cross-entropy.
        num_classes: number of classes.
        device: device on which the metrics accumulate.

    Example:
        >>> sorted(build_metrics(num_classes=3))  # doctest: +NORMALIZE_WHITESPACE
        ['accuracy', 'confusion_matrix', 'f1', 'f1_per_class', 'loss', 'precision',
         'precision_per_class', 'recall', 'recall_per_class']
    """
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes}")
    loss_fn = nn.CrossEntropyLoss() if loss_fn is None else loss_fn
    precision = Precision(average=False, device=device)
    recall = Recall(average=False, device=device)
    return {
        "loss": Loss(loss_fn, device=device),
        "accuracy": Accuracy(device=device),
        "precision": precision.mean(),
        "recall": recall.mean(),
        "f1": Fbeta(1.0, average=True, precision=precision, recall=recall),
        "precision_per_class": precision,
        "recall_per_class": recall,
        "f1_per_class": Fbeta(1.0, average=False, precision=precision, recall=recall),
        "confusion_matrix": ConfusionMatrix(num_classes, device=device),
    }


def metrics_to_python(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """Convert metric values to JSON-ready Python values, turning tensors into floats or nested lists.

    Example:
        >>> metrics_to_python({"accuracy": 0.5, "confusion_matrix": torch.tensor([[1, 0], [2, 3]])})
        {'accuracy': 0.5, 'confusion_matrix': [[1, 0], [2, 3]]}
    """
    converted = {}
    for name, value in metrics.items():
        if isinstance(value, torch.Tensor):
            value = value.item() if value.ndim == 0 else value.tolist()
        converted[name] = value
    return converted


def per_class_table(metrics: Mapping[str, Any], class_names: Sequence[str]) -> list[dict[str, Any]]:
    """Build one row per class with ``class``, ``precision``, ``recall``, ``f1`` and ``support``.

    ``metrics`` are those of :func:`build_metrics`, as tensors or as :func:`metrics_to_python` gives
    them. The support of a class is its row sum in the confusion matrix: the number of samples whose
    true label it is.

    Example:
        >>> metrics = {
        ...     "precision_per_class": [1.0, 0.5],
        ...     "recall_per_class": [0.5, 1.0],
        ...     "f1_per_class": [2 / 3, 2 / 3],
        ...     "confusion_matrix": [[1, 1], [0, 1]],
        ... }
        >>> [row["support"] for row in per_class_table(metrics, ["cat", "dog"])]
        [2, 1]
    """
    values = metrics_to_python(
        {name: metrics[name] for name in (*PER_CLASS_METRICS, "confusion_matrix")}
    )
    if len(class_names) != len(values["confusion_matrix"]):
        raise ValueError(
            f"got {len(class_names)} class names for {len(values['confusion_matrix'])} classes in the metrics"
        )
    return [
        {
            "class": name,
            "precision": values["precision_per_class"][index],
            "recall": values["recall_per_class"][index],
            "f1": values["f1_per_class"][index],
            "support": int(sum(values["confusion_matrix"][index])),
        }
        for index, name in enumerate(class_names)
    ]


def format_metrics(metrics: Mapping[str, Any], names: Sequence[str] = SCALAR_METRICS) -> str:
    """Format the scalar metrics as one line.

    Example:
        >>> format_metrics({"loss": 0.31234, "accuracy": 0.9, "f1": 0.88}, names=("loss", "accuracy", "f1"))
        'loss 0.3123  accuracy 0.9000  f1 0.8800'
    """
    return "  ".join(f"{name} {float(metrics[name]):.4f}" for name in names if name in metrics)


def attach_never_predicted_notice(
    evaluator: Engine, *, class_names: Sequence[str] | None = None
) -> RemovableEventHandle:
    """Log one line per evaluation that lists the classes never predicted.

    Their precision is 0 by the rule of :func:`build_metrics`, which a reader of the macro averages
    should know. Needs the ``confusion_matrix`` metric on ``evaluator``.

    Returns:
        The removable handle of the handler.
    """

    def notice(engine: Engine) -> None:
        matrix = engine.state.metrics.get("confusion_matrix")
        if matrix is None:
            return
        predicted_counts = matrix.sum(dim=0).tolist()
        never_predicted = [index for index, count in enumerate(predicted_counts) if count == 0]
        if never_predicted:
            names = [class_names[index] if class_names else str(index) for index in never_predicted]
            logger.warning(
                "Never predicted: %s; precision (and F1) counted as 0 for %s",
                ", ".join(names),
                "it" if len(names) == 1 else "them",
            )

    return evaluator.add_event_handler(Events.COMPLETED, notice)
