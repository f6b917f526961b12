"""The metric set against hand-computed values and scikit-learn."""

import json
import logging
import warnings

import numpy as np
import pytest
import torch
from ignite.engine import Engine
from ignite.handlers import TensorboardLogger
from sklearn.metrics import (
    accuracy_score,
    classification_report,
    confusion_matrix,
    f1_score,
    log_loss,
    precision_recall_fscore_support,
)
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from torch import nn

from ignite_fashion import (
    attach_never_predicted_notice,
    attach_tensorboard_metrics,
    attach_validation,
    build_evaluator,
    build_metrics,
    metrics_to_python,
    per_class_table,
)


def one_hot_logits(predictions, num_classes):
    return torch.eye(num_classes)[torch.tensor(predictions)]


def evaluate_batches(batches, num_classes):
    """Run the metric set over (logits, targets) batches with an identity model."""
    evaluator = build_evaluator(nn.Identity(), build_metrics(num_classes=num_classes))
    evaluator.run(batches)
    return metrics_to_python(evaluator.state.metrics)


def assert_matches_sklearn(metrics, labels, predictions, num_classes):
    classes = list(range(num_classes))
    precision, recall, f1, _ = precision_recall_fscore_support(
        labels, predictions, labels=classes, zero_division=0
    )
    assert metrics["accuracy"] == pytest.approx(accuracy_score(labels, predictions))
    assert metrics["precision_per_class"] == pytest.approx(precision.tolist())
    assert metrics["recall_per_class"] == pytest.approx(recall.tolist())
    assert metrics["f1_per_class"] == pytest.approx(f1.tolist())
    assert metrics["precision"] == pytest.approx(precision.mean())
    assert metrics["recall"] == pytest.approx(recall.mean())
    assert metrics["f1"] == pytest.approx(
        f1_score(labels, predictions, labels=classes, average="macro", zero_division=0)
    )
    assert metrics["confusion_matrix"] == confusion_matrix(labels, predictions, labels=classes).tolist()


def test_macro_f1_is_mean_of_class_f1():
    labels = [0, 0, 0, 0, 1, 1, 2, 2]
    predictions = [0, 0, 0, 1, 1, 1, 1, 2]
    logits = one_hot_logits(predictions, 3)
    targets = torch.tensor(labels)
    batches = [(logits[:5], targets[:5]), (logits[5:], targets[5:])]

    metrics = evaluate_batches(batches, num_classes=3)

    assert metrics["f1_per_class"] == pytest.approx([6 / 7, 2 / 3, 2 / 3])
    assert metrics["f1"] == pytest.approx(0.730159, abs=1e-6)
    assert metrics["precision"] == pytest.approx(0.833333, abs=1e-6)
    assert metrics["recall"] == pytest.approx(0.75)
    assert metrics["accuracy"] == pytest.approx(0.75)
    f1_of_averages = 2 * metrics["precision"] * metrics["recall"] / (metrics["precision"] + metrics["recall"])
    assert f1_of_averages == pytest.approx(0.789474, abs=1e-6)
    assert metrics["f1"] != pytest.approx(f1_of_averages)
    assert_matches_sklearn(metrics, labels, predictions, 3)


def test_never_predicted_class_counts_zero():
    labels = [0, 1, 2, 2, 1, 0]
    predictions = [0, 1, 1, 1, 1, 0]
    batches = [(one_hot_logits(predictions, 3), torch.tensor(labels))]

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        metrics = evaluate_batches(batches, num_classes=3)

    assert metrics["precision"] == pytest.approx(0.5)
    assert metrics["recall"] == pytest.approx(0.666667, abs=1e-6)
    assert metrics["f1"] == pytest.approx(0.555556, abs=1e-6)
    assert metrics["precision_per_class"][2] == 0.0
    assert metrics["f1_per_class"][2] == 0.0
    assert not any(np.isnan(metrics["f1_per_class"]))
    assert_matches_sklearn(metrics, labels, predictions, 3)


def test_never_predicted_same_value_everywhere(tmp_path, caplog):
    labels = [0, 1, 2, 2, 1, 0]
    predictions = [0, 1, 1, 1, 1, 0]
    batch = (one_hot_logits(predictions, 3), torch.tensor(labels))
    trainer = Engine(lambda engine, _: 0.0)
    evaluator = build_evaluator(nn.Identity(), build_metrics(num_classes=3))
    attach_never_predicted_notice(evaluator, class_names=["a", "b", "c"])
    tb_logger = TensorboardLogger(log_dir=tmp_path / "tb")
    attach_tensorboard_metrics(evaluator, tb_logger, trainer)
    attach_validation(trainer, evaluator, [batch], history_path=tmp_path / "history.json")

    with caplog.at_level(logging.INFO, logger="ignite_fashion"):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            trainer.run([0], max_epochs=2)
    tb_logger.close()

    history = json.loads((tmp_path / "history.json").read_text())
    assert [record["val_f1"] for record in history] == pytest.approx([0.555556] * 2, abs=1e-6)
    events = EventAccumulator(str(tmp_path / "tb")).Reload()
    assert [event.value for event in events.Scalars("validation/f1")] == pytest.approx([0.555556] * 2, abs=1e-6)
    summaries = [record.getMessage() for record in caplog.records if "Validation after" in record.getMessage()]
    assert len(summaries) == 2
    assert all("f1 0.5556" in line for line in summaries)
    notices = [record.getMessage() for record in caplog.records if "Never predicted" in record.getMessage()]
    assert notices == ["Never predicted: c; precision (and F1) counted as 0 for it"] * 2


def test_epoch_values_weight_samples_not_batches():
    true_class = torch.zeros(4, dtype=torch.long)
    batch_a = (torch.tensor([[2.0, 0.0, 0.0]] * 4), true_class)
    batch_b = (torch.tensor([[0.0, 2.0, 0.0]]), torch.tensor([0]))

    metrics = evaluate_batches([batch_a, batch_b], num_classes=3)

    assert metrics["accuracy"] == pytest.approx(0.8)
    assert metrics["loss"] == pytest.approx(0.639545, abs=1e-6)
    probabilities = torch.softmax(torch.cat([batch_a[0], batch_b[0]]), dim=1).numpy()
    assert metrics["loss"] == pytest.approx(log_loss([0] * 5, probabilities, labels=[0, 1, 2]), abs=1e-6)


@pytest.mark.parametrize("to_scores", [lambda x: x, lambda x: torch.softmax(x, dim=1)], ids=["logits", "softmax"])
def test_confusion_matrix_rows_are_true_classes(to_scores):
    logits = torch.tensor([[0.1, 3.0, -1.0], [2.0, 0.0, 0.0], [0.0, 0.0, 5.0]])
    targets = torch.tensor([1, 0, 1])

    metrics = evaluate_batches([(to_scores(logits), targets)], num_classes=3)

    assert metrics["confusion_matrix"] == [[1, 0, 0], [0, 1, 1], [0, 0, 0]]
    assert sum(map(sum, metrics["confusion_matrix"])) == 3


def test_random_batches_match_sklearn():
    generator = torch.Generator().manual_seed(1)
    logits = torch.randn(103, 10, generator=generator)
    targets = torch.randint(0, 10, (103,), generator=generator)
    batches = [(logits[i : i + 36], targets[i : i + 36]) for i in range(0, 103, 36)]

    metrics = evaluate_batches(batches, num_classes=10)

    assert_matches_sklearn(metrics, targets.tolist(), logits.argmax(1).tolist(), 10)
    assert metrics["loss"] == pytest.approx(
        log_loss(targets.numpy(), torch.softmax(logits, 1).numpy(), labels=list(range(10))), abs=1e-5
    )


def test_too_few_classes_rejected():
    with pytest.raises(ValueError, match="num_classes must be at least 2, got 1"):
        build_metrics(num_classes=1)


def test_per_class_table_matches_classification_report():
    generator = torch.Generator().manual_seed(2)
    logits = torch.randn(57, 4, generator=generator)
    targets = torch.randint(0, 4, (57,), generator=generator)
    names = ["cat", "dog", "frog", "owl"]

    table = per_class_table(evaluate_batches([(logits[:30], targets[:30]), (logits[30:], targets[30:])], 4), names)

    report = classification_report(
        targets.numpy(), logits.argmax(1).numpy(), labels=[0, 1, 2, 3], target_names=names,
        output_dict=True, zero_division=0,
    )
    assert [row["class"] for row in table] == names
    for row in table:
        expected = report[row["class"]]
        assert row["precision"] == pytest.approx(expected["precision"])
        assert row["recall"] == pytest.approx(expected["recall"])
        assert row["f1"] == pytest.approx(expected["f1-score"])
        assert row["support"] == expected["support"]


def test_per_class_table_rejects_wrong_name_count():
    metrics = evaluate_batches([(torch.eye(3), torch.arange(3))], 3)

    with pytest.raises(ValueError, match="got 2 class names for 3 classes in the metrics"):
        per_class_table(metrics, ["a", "b"])
