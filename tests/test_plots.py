"""Figure functions of ignite_fashion.plots, checked on the rendered figures."""

import math
import os
import struct

import numpy as np
import pytest
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ignite_fashion import (
    CLASS_NAMES,
    normalize_rows,
    plot_accuracy,
    plot_confusion_matrix,
    plot_loss_curves,
    plot_misclassified,
    plot_precision_recall_f1,
    save_figure,
)
from ignite_fashion.plots import PNG_DPI


def png_size(path):
    """Width and height in pixels from the PNG's IHDR chunk."""
    return struct.unpack(">II", path.read_bytes()[16:24])


def render(figure, dpi=PNG_DPI):
    """Draw ``figure`` with Agg at ``dpi`` and return the renderer."""
    figure.set_dpi(dpi)
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return canvas.get_renderer()


def all_texts(axes):
    return axes.get_xticklabels() + axes.get_yticklabels() + [axes.xaxis.label, axes.yaxis.label, axes.title]


def test_normalize_rows_field_case():
    counts = [[3, 1, 0], [0, 2, 0], [0, 1, 1]]

    normalized = normalize_rows(counts)

    assert normalized.tolist() == [[0.75, 0.25, 0.0], [0.0, 1.0, 0.0], [0.0, 0.5, 0.5]]
    assert normalized.sum(axis=1).tolist() == [1.0, 1.0, 1.0]


def test_normalize_rows_zero_row_stays_zero():
    normalized = normalize_rows(torch.tensor([[0, 0], [1, 3]]))

    assert normalized.tolist() == [[0.0, 0.0], [0.25, 0.75]]
    assert not np.isnan(normalized).any()


def test_normalize_rows_rejects_bad_input():
    with pytest.raises(ValueError, match=r"2-dimensional, got shape \(3,\)"):
        normalize_rows([1, 2, 3])
    with pytest.raises(ValueError, match="finite counts of 0 or more"):
        normalize_rows([[1, -1], [0, 1]])


def test_save_figure_png_at_150_dpi(tmp_path):
    figure = Figure(figsize=(2.0, 1.0))
    path = tmp_path / "nested" / "figure.png"

    returned = save_figure(figure, path)

    assert returned == path
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png_size(path) == (300, 150)
    assert sorted(p.name for p in path.parent.iterdir()) == ["figure.png"]


def test_save_figure_respects_umask(tmp_path):
    previous = os.umask(0o027)
    try:
        path = save_figure(Figure(figsize=(1.0, 1.0)), tmp_path / "figure.png")
    finally:
        os.umask(previous)

    assert path.stat().st_mode & 0o777 == 0o640


def test_save_figure_rejects_other_suffix(tmp_path):
    with pytest.raises(ValueError, match=r"must end in \.png, got '.*figure\.pdf'"):
        save_figure(Figure(), tmp_path / "figure.pdf")


def test_confusion_matrix_labels_inside_figure(tmp_path):
    counts = np.full((10, 10), 7)
    np.fill_diagonal(counts, 1500)
    figure = plot_confusion_matrix(counts, CLASS_NAMES)
    save_figure(figure, tmp_path / "confusion_matrix.png")

    renderer = render(figure)
    axes = figure.axes[0]
    names = [label.get_text() for label in axes.get_xticklabels()]
    assert names == list(CLASS_NAMES)
    assert [label.get_text() for label in axes.get_yticklabels()] == list(CLASS_NAMES)
    assert axes.get_xlabel() == "predicted"
    assert axes.get_ylabel() == "true"
    bounds = figure.bbox
    for text in all_texts(axes) + [figure.axes[1].yaxis.label]:
        extent = text.get_window_extent(renderer)
        assert extent.x0 >= bounds.x0, text.get_text()
        assert extent.x1 <= bounds.x1, text.get_text()
        assert extent.y0 >= bounds.y0, text.get_text()
        assert extent.y1 <= bounds.y1, text.get_text()


def test_confusion_matrix_cell_text_and_colour():
    figure = plot_confusion_matrix([[1500, 7], [0, 40]], ["Ankle boot", "Bag"])

    cells = {(text.get_position(), text.get_text()): text.get_color() for text in figure.axes[0].texts}

    assert cells == {
        ((0, 0), "1500"): "white",
        ((1, 0), "7"): "black",
        ((0, 1), "0"): "black",
        ((1, 1), "40"): "black",
    }


def test_confusion_matrix_normalized_fractions():
    figure = plot_confusion_matrix([[3, 1, 0], [0, 2, 0], [0, 1, 1]], ["a", "b", "c"], normalize=True)

    texts = [text.get_text() for text in figure.axes[0].texts]

    assert texts == ["0.75", "0.25", "0.00", "0.00", "1.00", "0.00", "0.00", "0.50", "0.50"]
    assert figure.axes[0].get_title() == "Confusion matrix (row-normalized)"


def test_confusion_matrix_rejects_wrong_name_count():
    with pytest.raises(ValueError, match="class_names must have 2 names, one per matrix row, got 3"):
        plot_confusion_matrix([[1, 0], [0, 1]], ["a", "b", "c"])


HISTORY = [
    {"epoch": 1, "train_loss": 1.2, "val_loss": 0.9, "val_accuracy": 0.70, "val_precision": 0.71,
     "val_recall": 0.70, "val_f1": 0.69},
    {"epoch": 2, "train_loss": 0.8, "val_loss": 0.7, "val_accuracy": 0.75, "val_precision": 0.76,
     "val_recall": 0.75, "val_f1": 0.74},
    {"epoch": 3, "train_loss": math.nan, "val_loss": math.inf, "val_accuracy": 0.10},
]


def line_data(figure):
    return {
        line.get_label(): (line.get_xdata().tolist(), line.get_ydata().tolist()) for line in figure.axes[0].lines
    }


def test_loss_curves_leave_out_non_finite():
    figure = plot_loss_curves(HISTORY)

    assert line_data(figure) == {"training": ([1, 2], [1.2, 0.8]), "validation": ([1, 2], [0.9, 0.7])}
    assert figure.axes[0].get_xlabel() == "epoch"


def test_accuracy_uses_every_finite_epoch():
    figure = plot_accuracy(HISTORY)

    assert line_data(figure) == {"validation": ([1, 2, 3], [0.70, 0.75, 0.10])}


def test_precision_recall_f1_missing_keys():
    figure = plot_precision_recall_f1(HISTORY + [{"epoch": 4, "val_f1": 0.8}])

    assert line_data(figure) == {
        "precision (macro)": ([1, 2], [0.71, 0.76]),
        "recall (macro)": ([1, 2], [0.70, 0.75]),
        "F1 (macro)": ([1, 2, 4], [0.69, 0.74, 0.8]),
    }


def test_history_plot_integer_epoch_ticks():
    history = [{"epoch": epoch, "val_accuracy": 0.5 + epoch / 100} for epoch in (1, 2, 3)]
    figure = plot_accuracy(history)
    render(figure)

    ticks = figure.axes[0].get_xticks()

    assert all(float(tick).is_integer() for tick in ticks)
    assert {1.0, 2.0, 3.0} <= set(ticks.tolist())


@pytest.mark.parametrize(
    ("history", "note"),
    [
        ([], "no validation results yet"),
        ([{"epoch": 1, "train_loss": math.nan}], "no finite values of train_loss, val_loss"),
    ],
)
def test_loss_curves_without_values_show_note(history, note):
    figure = plot_loss_curves(history)

    assert len(figure.axes[0].lines) == 0
    assert [text.get_text() for text in figure.axes[0].texts] == [note]


def test_misclassified_grid_titles_and_pixels():
    images = torch.rand(3, 1, 28, 28)
    examples = {
        "images": images,
        "predicted": torch.tensor([4, 9, 0]),
        "targets": torch.tensor([6, 7, 6]),
        "probabilities": torch.tensor([0.834, 0.5, 0.999]),
    }

    figure = plot_misclassified(examples, CLASS_NAMES, columns=2)

    image_axes = [axes for axes in figure.axes if axes.images]
    assert [axes.get_title() for axes in image_axes] == [
        "pred: Coat (0.83)\ntrue: Shirt",
        "pred: Ankle boot (0.50)\ntrue: Sneaker",
        "pred: T-shirt/top (1.00)\ntrue: Shirt",
    ]
    for axes, image in zip(image_axes, images):
        assert np.array_equal(axes.images[0].get_array(), image[0].numpy())
    assert len(figure.axes) == 4


def test_misclassified_none_shows_note(tmp_path):
    empty = {"images": torch.empty(0), "predicted": torch.empty(0), "targets": torch.empty(0)}

    for examples in (empty, None):
        figure = plot_misclassified(examples, CLASS_NAMES)
        save_figure(figure, tmp_path / "misclassified.png")

        assert [text.get_text() for text in figure.axes[0].texts] == ["no misclassified images"]


def test_misclassified_rejects_unnamed_class():
    examples = {"images": torch.zeros(1, 1, 2, 2), "predicted": torch.tensor([3]), "targets": torch.tensor([0])}

    with pytest.raises(ValueError, match="predicted class 3 has no name: class_names has 2 names"):
        plot_misclassified(examples, ["a", "b"])
