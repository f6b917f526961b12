"""Figures of a training run: metric curves, confusion matrices and misclassified images.

Every function builds a ``matplotlib.figure.Figure`` directly, without pyplot, so no global figure
state is kept and nothing needs closing. Figures use the constrained layout, which fits tick labels
and axis titles inside the figure. :func:`save_figure` writes them as PNG through the Agg renderer.
"""

from __future__ import annotations

import io
import logging
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ignite_fashion.files import write_bytes

logger = logging.getLogger(__name__)

PNG_DPI = 150
"""Resolution of every PNG written by :func:`save_figure`, in dots per inch."""


def save_figure(figure: Figure, path: str | os.PathLike) -> Path:
    """Save ``figure`` as a PNG at 150 dpi, atomically, creating the parent folder.

    Readers of ``path`` see the old file or the new one, never a part.

    Example:
        >>> import tempfile
        >>> figure = Figure()
        >>> path = save_figure(figure, Path(tempfile.mkdtemp()) / "plots" / "empty.png")
        >>> path.read_bytes()[:4]
        b'\\x89PNG'
    """
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"path must end in .png, got {str(path)!r}")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=PNG_DPI)
    write_bytes(path, buffer.getvalue())
    logger.debug("Wrote %s", path)
    return path


def normalize_rows(matrix: Any) -> np.ndarray:
    """Divide each row of a confusion matrix by its sum, so the diagonal is the per-class recall.

    An all-zero row (a class absent from the data) stays zeros instead of becoming NaN.

    Args:
        matrix: counts as a tensor, array or nested list; rows are true classes.

    Example:
        >>> normalize_rows([[3, 1], [0, 0]]).tolist()
        [[0.75, 0.25], [0.0, 0.0]]
    """
    counts = _as_matrix(matrix)
    sums = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, sums, out=np.zeros_like(counts), where=sums > 0)


def _as_matrix(matrix: Any) -> np.ndarray:
    if isinstance(matrix, torch.Tensor):
        matrix = matrix.detach().cpu().numpy()
    array = np.asarray(matrix, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(f"matrix must be 2-dimensional, got shape {array.shape}")
    if not np.all(np.isfinite(array)) or np.any(array < 0):
        raise ValueError("matrix must contain finite counts of 0 or more, got negative or non-finite values")
    return array


def plot_confusion_matrix(
    matrix: Any,
    class_names: Sequence[str],
    *,
    normalize: bool = False,
    title: str | None = None,
) -> Figure:
    """Draw a confusion matrix as a heat map with the count or fraction written in each cell.

    Rows are true classes (y-axis "true"), columns predicted classes (x-axis "predicted"). Cell text
    is white on dark cells and black on light ones.

    Args:
        matrix: square matrix of counts as a tensor, array or nested list.
        class_names: one name per row, in label order.
        normalize: show each row divided by its sum (see :func:`normalize_rows`) instead of counts.
        title: figure title; defaults to "Confusion matrix" or "Confusion matrix (row-normalized)".

    Example:
        >>> figure = plot_confusion_matrix([[3, 1], [0, 2]], ["cat", "dog"], normalize=True)
        >>> [text.get_text() for text in figure.axes[0].texts]
        ['0.75', '0.25', '0.00', '1.00']
    """
    counts = _as_matrix(matrix)
    size = counts.shape[0]
    if counts.shape != (size, size):
        raise ValueError(f"matrix must be square, got shape {counts.shape}")
    if len(class_names) != size:
        raise ValueError(f"class_names must have {size} names, one per matrix row, got {len(class_names)}")
    values = normalize_rows(counts) if normalize else counts
    if title is None:
        title = "Confusion matrix (row-normalized)" if normalize else "Confusion matrix"

    side = max(4.0, 0.6 * size + 2.5)
    figure = Figure(figsize=(side + 1.0, side), layout="constrained")
    axes = figure.add_subplot()
    upper = 1.0 if normalize else max(1.0, float(values.max()))
    image = axes.imshow(values, cmap="Blues", vmin=0.0, vmax=upper)
    figure.colorbar(image, ax=axes, label="fraction of the true class" if normalize else "images")

    axes.set_xticks(range(size), labels=list(class_names), rotation=45, ha="right", rotation_mode="anchor")
    axes.set_yticks(range(size), labels=list(class_names))
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title)

    font_size = 8 if size > 6 else 10
    for row in range(size):
        for column in range(size):
            value = values[row, column]
            text = f"{value:.2f}" if normalize else f"{value:.0f}"
            red, green, blue, _ = image.cmap(image.norm(value))
            luminance = 0.299 * red + 0.587 * green + 0.114 * blue
            color = "white" if luminance < 0.5 else "black"
            axes.text(column, row, text, ha="center", va="center", color=color, fontsize=font_size)
    return figure


def plot_misclassified(
    examples: Mapping[str, Any] | None,
    class_names: Sequence[str],
    *,
    columns: int = 6,
    title: str = "Misclassified images",
) -> Figure:
    """Draw misclassified images in a grid, each titled with its predicted and true class.

    A title reads "pred: Coat (0.83)" over "true: Shirt", where 0.83 is the predicted class's
    softmax probability. Without examples the figure shows a note instead.

    Args:
        examples: mapping with ``images`` (N x C x H x W, values in [0, 1], C is 1 or 3),
            ``predicted`` and ``targets`` (N class indices) and optionally ``probabilities``
            (N values). The store of :func:`ignite_fashion.handlers.attach_misclassified_store`
            is such a mapping. None counts as no examples.
        class_names: class names in label order.
        columns: images per grid row.
        title: figure title.

    Example:
        >>> examples = {"images": torch.zeros(1, 1, 28, 28), "predicted": torch.tensor([4]),
        ...             "targets": torch.tensor([6]), "probabilities": torch.tensor([0.83])}
        >>> figure = plot_misclassified(examples, ["T-shirt/top", "Trouser", "Pullover", "Dress",
        ...                                        "Coat", "Sandal", "Shirt"])
        >>> figure.axes[0].get_title()
        'pred: Coat (0.83)\\ntrue: Shirt'
    """
    if columns < 1:
        raise ValueError(f"columns must be at least 1, got {columns}")
    count = 0 if examples is None else len(examples["images"])
    if count == 0:
        figure = Figure(figsize=(4.0, 2.0), layout="constrained")
        figure.suptitle(title)
        axes = figure.add_subplot()
        _write_note(axes, "no misclassified images")
        return figure

    images = torch.as_tensor(examples["images"]).detach().cpu()
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"images must have shape N x C x H x W with C 1 or 3, got {tuple(images.shape)}")
    predicted = torch.as_tensor(examples["predicted"]).tolist()
    targets = torch.as_tensor(examples["targets"]).tolist()
    probabilities = examples.get("probabilities")
    probabilities = None if probabilities is None else torch.as_tensor(probabilities).tolist()

    rows = math.ceil(count / columns)
    used_columns = min(columns, count)
    figure = Figure(figsize=(1.7 * used_columns, 1.9 * rows + 0.4), layout="constrained")
    figure.suptitle(title)
    grid = figure.subplots(rows, used_columns, squeeze=False)
    for index, axes in enumerate(grid.flat):
        axes.set_axis_off()
        if index >= count:
            continue
        image = images[index]
        if image.shape[0] == 1:
            axes.imshow(image[0].numpy(), cmap="gray", vmin=0.0, vmax=1.0)
        else:
            axes.imshow(image.permute(1, 2, 0).clamp(0.0, 1.0).numpy())
        probability = None if probabilities is None else probabilities[index]
        axes.set_title(
            format_prediction(predicted[index], targets[index], class_names, probability=probability),
            fontsize=8,
        )
    return figure


def format_prediction(
    predicted: int, target: int, class_names: Sequence[str], *, probability: float | None = None
) -> str:
    """Format a prediction as "pred: X (p)" over "true: Y" on two lines.

    Example:
        >>> format_prediction(1, 0, ["cat", "dog"], probability=0.834)
        'pred: dog (0.83)\\ntrue: cat'
    """
    for name, index in (("predicted", predicted), ("target", target)):
        if not 0 <= index < len(class_names):
            raise ValueError(
                f"{name} class {index} has no name: class_names has {len(class_names)} names; "
                "pass one name per class"
            )
    score = "" if probability is None else f" ({probability:.2f})"
    return f"pred: {class_names[predicted]}{score}\ntrue: {class_names[target]}"


def plot_loss_curves(history: Sequence[Mapping[str, Any]]) -> Figure:
    """Draw the training and validation loss per epoch from a validation history.

    Args:
        history: records with ``epoch``, ``train_loss`` and ``val_loss``, as kept by
            :func:`ignite_fashion.attach_validation`. Missing and non-finite values are left out.

    Example:
        >>> figure = plot_loss_curves([{"epoch": 1, "train_loss": 0.9, "val_loss": 0.7},
        ...                            {"epoch": 2, "train_loss": 0.5, "val_loss": float("nan")}])
        >>> [line.get_xdata().tolist() for line in figure.axes[0].lines]
        [[1, 2], [1]]
    """
    return _plot_history(
        history, {"train_loss": "training", "val_loss": "validation"}, ylabel="loss", title="Loss"
    )


def plot_accuracy(history: Sequence[Mapping[str, Any]]) -> Figure:
    """Draw the validation accuracy per epoch from a validation history (key ``val_accuracy``).

    Example:
        >>> figure = plot_accuracy([{"epoch": 1, "val_accuracy": 0.8}, {"epoch": 2, "val_accuracy": 0.85}])
        >>> figure.axes[0].lines[0].get_ydata().tolist()
        [0.8, 0.85]
    """
    return _plot_history(
        history, {"val_accuracy": "validation"}, ylabel="accuracy", title="Validation accuracy"
    )


def plot_precision_recall_f1(history: Sequence[Mapping[str, Any]]) -> Figure:
    """Draw the macro precision, recall and F1 per epoch (keys ``val_precision``, ``val_recall``, ``val_f1``).

    Example:
        >>> figure = plot_precision_recall_f1([{"epoch": 1, "val_precision": 0.8, "val_recall": 0.7}])
        >>> [line.get_label() for line in figure.axes[0].lines]
        ['precision (macro)', 'recall (macro)']
    """
    return _plot_history(
        history,
        {"val_precision": "precision (macro)", "val_recall": "recall (macro)", "val_f1": "F1 (macro)"},
        ylabel="score",
        title="Validation precision, recall and F1",
    )


def _plot_history(
    history: Sequence[Mapping[str, Any]], labels: Mapping[str, str], *, ylabel: str, title: str
) -> Figure:
    """Draw one line per history key that has at least one finite value, or a note when none has."""
    figure = Figure(figsize=(6.0, 4.0), layout="constrained")
    axes = figure.add_subplot()
    axes.set_title(title)
    axes.set_xlabel("epoch")
    axes.set_ylabel(ylabel)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))

    for key, label in labels.items():
        epochs, values = finite_series(history, key)
        if epochs:
            axes.plot(epochs, values, marker="o", label=label)
    if axes.lines:
        axes.legend()
        axes.grid(alpha=0.3)
    elif history:
        _write_note(axes, f"no finite values of {', '.join(labels)}")
    else:
        _write_note(axes, "no validation results yet")
    return figure


def finite_series(history: Sequence[Mapping[str, Any]], key: str) -> tuple[list[int], list[float]]:
    """Return the epochs and values of ``key`` in ``history``, leaving out missing and non-finite values.

    Example:
        >>> finite_series([{"epoch": 1, "val_loss": 0.5}, {"epoch": 2, "val_loss": float("inf")},
        ...                {"epoch": 3}], "val_loss")
        ([1], [0.5])
    """
    epochs: list[int] = []
    values: list[float] = []
    non_finite = 0
    for record in history:
        epoch = record.get("epoch")
        value = record.get(key)
        if epoch is None or value is None:
            continue
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise ValueError(
                f"history value {key!r} at epoch {epoch} must be a number, got {value!r}"
            ) from None
        if not math.isfinite(value):
            non_finite += 1
            continue
        epochs.append(int(epoch))
        values.append(value)
    if non_finite:
        logger.info("Left %d non-finite value(s) of %s out of the plot", non_finite, key)
    return epochs, values


def _write_note(axes: Axes, note: str) -> None:
    axes.set_axis_off()
    axes.text(0.5, 0.5, note, ha="center", va="center", transform=axes.transAxes, color="0.4")
