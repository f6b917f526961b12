"""One self-contained HTML report of a run: notes, settings, history, plots and test results.

The report embeds every image as a base64 ``data:`` URI and its CSS inline, so the single file can
be mailed or archived and still shows everything. Every text from the run is HTML-escaped.
"""

from __future__ import annotations

import base64
import html
import io
import json
import logging
import math
import os
import platform
from collections.abc import Iterable, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import torch
from matplotlib import image as mpimg

from ignite_fashion.files import write_text
from ignite_fashion.plots import format_prediction

logger = logging.getLogger(__name__)

_PACKAGES = ("torch", "torchvision", "pytorch-ignite", "matplotlib", "scikit-learn")

HISTORY_COLUMNS = (
    ("epoch", "epoch"),
    ("lr", "lr"),
    ("train_loss", "train loss"),
    ("val_loss", "val loss"),
    ("val_accuracy", "accuracy"),
    ("val_precision", "precision"),
    ("val_recall", "recall"),
    ("val_f1", "F1"),
)
"""History keys shown in the report's history table, with their column headings."""

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 72em; padding: 0 1em; color: #222; }
h1, h2 { font-weight: 600; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
figure { display: inline-block; margin: 0.5em; vertical-align: top; }
figure img { max-width: 100%; }
figcaption { font-size: 0.85em; color: #444; white-space: pre-line; }
.gallery figure img { width: 84px; height: 84px; image-rendering: pixelated; }
"""


def environment_info(device: str | torch.device) -> dict[str, Any]:
    """Collect the library versions, the platform, the CPU and thread counts and the device of a run.

    Example:
        >>> info = environment_info("cpu")
        >>> sorted(info)  # doctest: +NORMALIZE_WHITESPACE
        ['cpu_count', 'device', 'matplotlib', 'platform', 'python', 'pytorch-ignite', 'scikit-learn',
         'torch', 'torch_threads', 'torchvision']
    """
    info: dict[str, Any] = {"python": platform.python_version()}
    for package in _PACKAGES:
        try:
            info[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            info[package] = "not installed"
    info.update(
        platform=platform.platform(),
        cpu_count=os.cpu_count(),
        torch_threads=torch.get_num_threads(),
        device=str(device),
    )
    return info


def write_report(
    path: str | os.PathLike,
    *,
    config: Mapping[str, Any],
    environment: Mapping[str, Any],
    history: Sequence[Mapping[str, Any]],
    test_metrics: Mapping[str, Any] | None,
    plot_paths: Mapping[str, str | os.PathLike],
    misclassified: Mapping[str, Any] | None = None,
    class_names: Sequence[str],
    notes: Iterable[str] = (),
) -> Path:
    """Write one self-contained HTML report of a run, atomically.

    The sections are: notes, test metrics (the scalars and the per-class table from
    ``test_metrics["per_class"]``), history, plots, misclassified test images, configuration and
    environment. A plot whose file is missing is left out with a warning.

    Args:
        path: the HTML file to write; its folder is created when missing.
        config: settings of the run, shown as a table; nested values are shown as JSON.
        environment: versions and hardware, for example from :func:`environment_info`.
        history: validation history records, as kept by :func:`ignite_fashion.attach_validation`.
        test_metrics: test metrics, or None when the test set was not evaluated; ``per_class`` is a
            list of records with ``class``, ``precision``, ``recall``, ``f1`` and ``support``.
        plot_paths: caption to PNG path, in display order.
        misclassified: misclassified test images, as in
            :func:`ignite_fashion.handlers.attach_misclassified_store`; None leaves out the gallery.
        class_names: class names in label order, for the gallery captions.
        notes: sentences shown first, for example which checkpoint the test used.

    Returns:
        The path written.

    Example:
        >>> import tempfile
        >>> path = write_report(Path(tempfile.mkdtemp()) / "report.html", config={"epochs": 1},
        ...                     environment={"device": "cpu"}, history=[], test_metrics={},
        ...                     plot_paths={}, class_names=["cat", "dog"])
        >>> path.read_text().startswith("<!DOCTYPE html>")
        True
    """
    path = Path(path)
    sections = [
        _section("Notes", _notes_list(notes)),
        _section("Test metrics", _test_tables(test_metrics)),
        _section("Validation history", _history_table(history)),
        _section("Plots", _plots(plot_paths)),
        _section("Misclassified test images", _gallery(misclassified, class_names)),
        _section("Configuration", _key_value_table(config)),
        _section("Environment", _key_value_table(environment)),
    ]
    title = "Training report"
    document = (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{title}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{title}</h1>\n" + "\n".join(sections) + "\n</body>\n</html>\n"
    )
    write_text(path, document)
    logger.info("Wrote the report %s", path)
    return path


def _section(heading: str, body: str) -> str:
    return f"<section>\n<h2>{html.escape(heading)}</h2>\n{body}\n</section>"


def _notes_list(notes: Iterable[str]) -> str:
    items = [f"<li>{html.escape(str(note))}</li>" for note in notes]
    if not items:
        return "<p>No notes.</p>"
    return "<ul>\n" + "\n".join(items) + "\n</ul>"


def _format_value(value: Any) -> str:
    """Format a cell value: floats with 4 decimals (non-finite ones as nan/inf), others as JSON or text."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        return f"{value:.4f}" if math.isfinite(value) else str(value)
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, default=str)
    return str(value)


def _cell(value: Any, *, heading: bool = False) -> str:
    if heading:
        return f"<th>{html.escape(str(value))}</th>"
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    css_class = ' class="number"' if numeric else ""
    return f"<td{css_class}>{html.escape(_format_value(value))}</td>"


def _table(headings: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = ["<table>", "<tr>" + "".join(_cell(heading, heading=True) for heading in headings) + "</tr>"]
    lines += ["<tr>" + "".join(_cell(value) for value in row) + "</tr>" for row in rows]
    lines.append("</table>")
    return "\n".join(lines)


def _key_value_table(values: Mapping[str, Any]) -> str:
    if not values:
        return "<p>None recorded.</p>"
    return _table(("name", "value"), values.items())


def _history_table(history: Sequence[Mapping[str, Any]]) -> str:
    if not history:
        return "<p>No validation results.</p>"
    rows = [[record.get(key, "–") for key, _ in HISTORY_COLUMNS] for record in history]
    return _table([heading for _, heading in HISTORY_COLUMNS], rows)


def _test_tables(test_metrics: Mapping[str, Any] | None) -> str:
    if test_metrics is None:
        return "<p>The test set was not evaluated; see the notes.</p>"
    scalars = {name: value for name, value in test_metrics.items() if isinstance(value, (int, float))}
    parts = [_table(("metric", "value"), scalars.items())] if scalars else []
    per_class = test_metrics.get("per_class")
    if per_class:
        columns = ("class", "precision", "recall", "f1", "support")
        parts.append(_table(("class", "precision", "recall", "F1", "support"), (
            [record.get(column, "–") for column in columns] for record in per_class
        )))
    return "\n".join(parts) if parts else "<p>No test results.</p>"


def _plots(plot_paths: Mapping[str, str | os.PathLike]) -> str:
    figures = []
    for caption, plot_path in plot_paths.items():
        plot_path = Path(plot_path)
        if not plot_path.is_file():
            logger.warning("Left the plot %r out of the report: %s not found", caption, plot_path)
            continue
        figures.append(_figure(plot_path.read_bytes(), caption))
    return "\n".join(figures) if figures else "<p>No plots.</p>"


def _figure(png: bytes, caption: str) -> str:
    source = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    escaped = html.escape(caption)
    return f'<figure><img src="{source}" alt="{escaped}"><figcaption>{escaped}</figcaption></figure>'


def _gallery(misclassified: Mapping[str, Any] | None, class_names: Sequence[str]) -> str:
    if misclassified is None:
        return "<p>Not collected.</p>"
    images = torch.as_tensor(misclassified["images"]).detach().cpu()
    if len(images) == 0:
        return "<p>No misclassified images.</p>"
    predicted = torch.as_tensor(misclassified["predicted"]).tolist()
    targets = torch.as_tensor(misclassified["targets"]).tolist()
    probabilities = misclassified.get("probabilities")
    probabilities = None if probabilities is None else torch.as_tensor(probabilities).tolist()
    figures = []
    for index, image in enumerate(images):
        probability = None if probabilities is None else probabilities[index]
        caption = format_prediction(predicted[index], targets[index], class_names, probability=probability)
        figures.append(_figure(_image_png(image), caption))
    total = misclassified.get("total", len(images))
    summary = f"<p>{len(images)} of {total} misclassified test images.</p>"
    return summary + '\n<div class="gallery">\n' + "\n".join(figures) + "\n</div>"


def _image_png(image: torch.Tensor) -> bytes:
    """Encode one C x H x W image with values in [0, 1] (C is 1 or 3) as PNG bytes."""
    if image.ndim != 3 or image.shape[0] not in (1, 3):
        raise ValueError(f"each image must have shape C x H x W with C 1 or 3, got {tuple(image.shape)}")
    buffer = io.BytesIO()
    if image.shape[0] == 1:
        mpimg.imsave(buffer, image[0].numpy(), cmap="gray", vmin=0.0, vmax=1.0, format="png")
    else:
        mpimg.imsave(buffer, image.permute(1, 2, 0).clamp(0.0, 1.0).numpy(), format="png")
    return buffer.getvalue()
