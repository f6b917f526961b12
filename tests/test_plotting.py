"""Plot handlers attached alone to small engine runs, with TensorBoard images read back from disk."""

import logging
import math

import matplotlib
import pytest
import torch
from ignite.engine import Engine, Events
from ignite.handlers import TensorboardLogger
from ignite.metrics import ConfusionMatrix
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from ignite_fashion import (
    attach_history_plots,
    attach_misclassified_store,
    attach_validation_plots,
    save_evaluation_plots,
)

# TensorBoard's add_figure imports pyplot; Agg keeps it off any display.
matplotlib.use("Agg")

HISTORY_FILES = ["accuracy.png", "loss.png", "precision_recall_f1.png"]
CLASS_NAMES = ["cat", "dog", "fox"]
VALIDATION_FILES = ["val_confusion_matrix.png", "val_confusion_matrix_normalized.png", "val_misclassified.png"]


def trainer_with_history(history):
    """Trainer that appends a history record after each epoch, as attach_validation does."""
    trainer = Engine(lambda engine, batch: 0.0)

    def record(engine):
        epoch = engine.state.epoch
        history.append({"epoch": epoch, "train_loss": 1.0 / epoch, "val_loss": 1.5 / epoch, "val_accuracy": 0.5})

    trainer.add_event_handler(Events.EPOCH_COMPLETED, record)
    return trainer


def written_files(folder):
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def history_plot_count(caplog):
    return sum("Wrote the history plots" in message for message in caplog.messages)


def read_images(log_dir, tag):
    accumulator = EventAccumulator(str(log_dir), size_guidance={"images": 0})
    accumulator.Reload()
    return accumulator.Images(tag)


def test_history_plots_written_at_completed(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="ignite_fashion")
    history = []
    trainer = trainer_with_history(history)
    seen_during_training = []
    trainer.add_event_handler(Events.EPOCH_COMPLETED, lambda _: seen_during_training.append(written_files(tmp_path)))
    attach_history_plots(trainer, history, tmp_path)

    trainer.run([0, 1], max_epochs=3)

    assert seen_during_training == [[], [], []]
    assert written_files(tmp_path) == HISTORY_FILES
    assert history_plot_count(caplog) == 1


def test_history_plots_every_two_epochs(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="ignite_fashion")
    history = []
    trainer = trainer_with_history(history)
    attach_history_plots(trainer, history, tmp_path, every=2)
    seen_after_epoch = []
    trainer.add_event_handler(Events.EPOCH_COMPLETED, lambda _: seen_after_epoch.append(written_files(tmp_path)))

    trainer.run([0], max_epochs=4)

    assert seen_after_epoch == [[], HISTORY_FILES, HISTORY_FILES, HISTORY_FILES]
    # Epochs 2 and 4; epoch 4 is also COMPLETED and is written once.
    assert history_plot_count(caplog) == 2


def test_history_plots_after_terminate_with_nan(tmp_path):
    history = []
    trainer = trainer_with_history(history)

    def diverge(engine):
        if engine.state.epoch == 2:
            history[-1]["train_loss"] = math.nan
            engine.terminate()

    trainer.add_event_handler(Events.EPOCH_COMPLETED, diverge)
    attach_history_plots(trainer, history, tmp_path)

    trainer.run([0], max_epochs=5)

    assert trainer.state.epoch == 2
    assert written_files(tmp_path) == HISTORY_FILES


def test_history_plots_handle_removes_them(tmp_path):
    history = []
    trainer = trainer_with_history(history)
    handles = attach_history_plots(trainer, history, tmp_path)
    for handle in handles:
        handle.remove()

    trainer.run([0], max_epochs=1)

    assert written_files(tmp_path) == []


def test_history_plots_reject_zero_every(tmp_path):
    with pytest.raises(ValueError, match="every must be at least 1 or None, got 0"):
        attach_history_plots(Engine(lambda engine, batch: 0.0), [], tmp_path, every=0)


def test_evaluation_plots_files_and_tensorboard(tmp_path):
    store = {
        "images": torch.rand(2, 1, 4, 4),
        "predicted": torch.tensor([1, 2]),
        "targets": torch.tensor([0, 0]),
        "probabilities": torch.tensor([0.7, 0.6]),
        "total": 2,
    }
    metrics = {"confusion_matrix": torch.tensor([[3, 1, 1], [0, 2, 0], [0, 0, 4]])}
    tb_logger = TensorboardLogger(log_dir=tmp_path / "tensorboard")

    paths = save_evaluation_plots(
        metrics, store, tmp_path / "plots", class_names=CLASS_NAMES, prefix="test", tb_logger=tb_logger, step=42
    )
    tb_logger.close()

    assert [path.name for path in paths] == [
        "test_confusion_matrix.png",
        "test_confusion_matrix_normalized.png",
        "test_misclassified.png",
    ]
    assert written_files(tmp_path / "plots") == sorted(path.name for path in paths)
    for tag in ("test/confusion_matrix", "test/confusion_matrix_normalized", "test/misclassified"):
        images = read_images(tmp_path / "tensorboard", tag)
        assert [image.step for image in images] == [42]
        assert images[0].encoded_image_string[:4] == b"\x89PNG"


def test_evaluation_plots_without_matrix_warn(tmp_path, caplog):
    store = {"images": torch.empty(0), "predicted": torch.empty(0), "targets": torch.empty(0), "total": 0}

    paths = save_evaluation_plots({"accuracy": 0.5}, store, tmp_path, class_names=CLASS_NAMES, prefix="val")

    assert [path.name for path in paths] == ["val_misclassified.png"]
    assert "No confusion_matrix in the val metrics (names: accuracy)" in caplog.text


def scripted_evaluator():
    """Evaluator over 3 classes that predicts class 1 for every image; batches are (images, targets)."""

    def step(engine, batch):
        images, targets = batch
        logits = torch.tensor([[0.0, 2.0, 0.0]]).repeat(len(images), 1)
        return logits, targets

    evaluator = Engine(step)
    ConfusionMatrix(3).attach(evaluator, "confusion_matrix")
    return evaluator


def test_validation_plots_at_each_epoch_step(tmp_path):
    trainer = Engine(lambda engine, batch: 0.0)
    evaluator = scripted_evaluator()
    _, store = attach_misclassified_store(evaluator)
    batch = (torch.rand(3, 1, 4, 4), torch.tensor([0, 1, 2]))
    trainer.add_event_handler(Events.EPOCH_COMPLETED, lambda _: evaluator.run([batch]))
    tb_logger = TensorboardLogger(log_dir=tmp_path / "tensorboard")
    attach_validation_plots(
        trainer, evaluator, store, tmp_path / "plots", class_names=CLASS_NAMES, tb_logger=tb_logger, every=1
    )

    trainer.run([0, 1, 2], max_epochs=2)
    tb_logger.close()

    assert written_files(tmp_path / "plots") == VALIDATION_FILES
    for tag in ("val/confusion_matrix", "val/confusion_matrix_normalized", "val/misclassified"):
        assert [image.step for image in read_images(tmp_path / "tensorboard", tag)] == [3, 6]
    assert store["targets"].tolist() == [0, 2]
    assert store["predicted"].tolist() == [1, 1]


def test_validation_plots_skip_before_evaluation(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="ignite_fashion")
    trainer = Engine(lambda engine, batch: 0.0)
    evaluator = scripted_evaluator()
    attach_validation_plots(trainer, evaluator, None, tmp_path, class_names=CLASS_NAMES)

    trainer.run([0], max_epochs=1)

    assert written_files(tmp_path) == []
    assert "Skipped the validation plots at epoch 1: the evaluator has not run yet" in caplog.messages
