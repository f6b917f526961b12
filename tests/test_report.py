"""HTML report parsed back with html.parser: embedded images, tables, escaping and environment."""

import base64
import io
import logging
import math
import os
import platform
from html.parser import HTMLParser

import numpy as np
import torch
from matplotlib import image as mpimg
from matplotlib.figure import Figure

from ignite_fashion import CLASS_NAMES, environment_info, save_figure, write_report

PNG_PREFIX = "data:image/png;base64,"


class ReportParser(HTMLParser):
    """Parser that collects image sources, table rows, section headings, list items and captions."""

    def __init__(self):
        super().__init__()
        self.tags = []
        self.images = []
        self.tables = []
        self.headings = []
        self.list_items = []
        self.captions = []
        self.link_attributes = []
        self._cell = None
        self._text_target = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append(tag)
        self.link_attributes += [(tag, name) for name in ("href", "src") if name in attributes]
        if tag == "img":
            self.images.append(attributes["src"])
        elif tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag in ("h2", "li", "figcaption"):
            self._text_target = []

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.tables[-1][-1].append("".join(self._cell))
            self._cell = None
        elif tag in ("h2", "li", "figcaption"):
            target = {"h2": self.headings, "li": self.list_items, "figcaption": self.captions}[tag]
            target.append("".join(self._text_target))
            self._text_target = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._text_target is not None:
            self._text_target.append(data)


def parse(path):
    parser = ReportParser()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    return parser


def decode_png(source):
    assert source.startswith(PNG_PREFIX)
    return base64.b64decode(source[len(PNG_PREFIX):])


PER_CLASS = [
    {"class": name, "precision": 0.9 + index / 1000, "recall": 0.8 + index / 1000, "f1": 0.85 + index / 1000,
     "support": 1000}
    for index, name in enumerate(CLASS_NAMES)
]
HISTORY = [
    {"epoch": 1, "iteration": 10, "lr": 0.02, "train_loss": 0.61, "val_loss": 0.52, "val_accuracy": 0.81,
     "val_precision": 0.8, "val_recall": 0.81, "val_f1": 0.805, "val_confusion_matrix": [[1]]},
    {"epoch": 2, "iteration": 20, "lr": 0.01, "train_loss": math.nan, "val_loss": 0.41, "val_accuracy": 0.9213},
]


def write_sample_report(tmp_path, **overrides):
    plot_path = save_figure(Figure(figsize=(1.0, 1.0)), tmp_path / "plots" / "loss.png")
    images = torch.zeros(2, 1, 28, 28)
    images[0, 0, 0, :] = 1.0
    options = {
        "config": {"epochs": 2, "name": "<script>alert(1)</script>", "versions": {"torch": "2.14.1"}},
        "environment": {"device": "cpu", "torch_threads": 2},
        "history": HISTORY,
        "test_metrics": {"accuracy": 0.9154, "f1": 0.9152, "per_class": PER_CLASS},
        "plot_paths": {"Loss": plot_path, "Accuracy": tmp_path / "plots" / "missing.png"},
        "misclassified": {
            "images": images,
            "predicted": torch.tensor([4, 9]),
            "targets": torch.tensor([6, 7]),
            "probabilities": torch.tensor([0.834, 0.5]),
            "total": 5,
        },
        "class_names": CLASS_NAMES,
        "notes": ["test evaluated with the best checkpoint, epoch 7, validation F1 0.9213"],
    }
    options.update(overrides)
    return write_report(tmp_path / "report" / "report.html", **options)


def test_report_images_are_data_uris(tmp_path):
    parser = parse(write_sample_report(tmp_path))

    assert len(parser.images) == 3
    for source in parser.images:
        assert decode_png(source)[:8] == b"\x89PNG\r\n\x1a\n"
    assert {tag for tag, _ in parser.link_attributes} == {"img"}
    assert "script" not in parser.tags
    assert "link" not in parser.tags


def test_report_skips_missing_plot(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="ignite_fashion")

    parser = parse(write_sample_report(tmp_path))

    assert "Loss" in parser.captions
    assert "Accuracy" not in parser.captions
    assert "Left the plot 'Accuracy' out of the report" in caplog.text


def test_report_per_class_table(tmp_path):
    parser = parse(write_sample_report(tmp_path))

    scalar_table, per_class_table = parser.tables[0], parser.tables[1]
    assert scalar_table == [["metric", "value"], ["accuracy", "0.9154"], ["f1", "0.9152"]]
    assert per_class_table[0] == ["class", "precision", "recall", "F1", "support"]
    assert len(per_class_table) == 11
    assert per_class_table[1] == ["T-shirt/top", "0.9000", "0.8000", "0.8500", "1000"]
    assert per_class_table[10] == ["Ankle boot", "0.9090", "0.8090", "0.8590", "1000"]


def test_report_history_table(tmp_path):
    parser = parse(write_sample_report(tmp_path))

    history_table = parser.tables[2]
    assert history_table == [
        ["epoch", "lr", "train loss", "val loss", "accuracy", "precision", "recall", "F1"],
        ["1", "0.0200", "0.6100", "0.5200", "0.8100", "0.8000", "0.8100", "0.8050"],
        ["2", "0.0100", "nan", "0.4100", "0.9213", "–", "–", "–"],
    ]


def test_report_escapes_config_and_notes(tmp_path):
    parser = parse(write_sample_report(tmp_path))

    config_table = parser.tables[3]
    assert config_table == [
        ["name", "value"],
        ["epochs", "2"],
        ["name", "<script>alert(1)</script>"],
        ["versions", '{"torch": "2.14.1"}'],
    ]
    assert parser.tables[4] == [["name", "value"], ["device", "cpu"], ["torch_threads", "2"]]
    assert parser.list_items == ["test evaluated with the best checkpoint, epoch 7, validation F1 0.9213"]
    assert parser.headings == [
        "Notes",
        "Test metrics",
        "Validation history",
        "Plots",
        "Misclassified test images",
        "Configuration",
        "Environment",
    ]


def test_report_gallery_images_and_captions(tmp_path):
    parser = parse(write_sample_report(tmp_path))

    gallery_sources = parser.images[1:]
    assert parser.captions[1:] == ["pred: Coat (0.83)\ntrue: Shirt", "pred: Ankle boot (0.50)\ntrue: Sneaker"]
    first_image = mpimg.imread(io.BytesIO(decode_png(gallery_sources[0])), format="png")
    assert first_image.shape[:2] == (28, 28)
    assert np.allclose(first_image[0, :, 0], 1.0)
    assert np.allclose(first_image[1:, :, 0], 0.0)


def test_report_without_results(tmp_path):
    path = write_sample_report(tmp_path, history=[], test_metrics={}, plot_paths={}, misclassified=None, notes=())

    parser = parse(path)

    text = path.read_text()
    assert parser.images == []
    assert [table[0] for table in parser.tables] == [["name", "value"], ["name", "value"]]
    assert "No validation results." in text
    assert "No test results." in text
    assert "No plots." in text
    assert "Not collected." in text
    assert "No notes." in text


def test_report_written_atomically(tmp_path):
    path = write_sample_report(tmp_path)

    assert sorted(p.name for p in path.parent.iterdir()) == ["report.html"]


def test_environment_info_values():
    info = environment_info(torch.device("cpu"))

    assert info["device"] == "cpu"
    assert info["python"] == platform.python_version()
    assert info["torch"].split("+")[0] == torch.__version__.split("+")[0]
    assert info["cpu_count"] == os.cpu_count()
    assert info["torch_threads"] == torch.get_num_threads()
    assert info["platform"] == platform.platform()
