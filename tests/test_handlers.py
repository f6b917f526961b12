"""Handlers attached alone to small engine runs."""

import json

import pytest
import torch
from ignite.engine import Engine, Events
from ignite.handlers import TensorboardLogger
from ignite.metrics import Accuracy
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from ignite_fashion import attach_epoch_loss, attach_tensorboard_loss, attach_tensorboard_metrics, attach_validation


def scripted_trainer():
    """Trainer whose batch loss is the batch itself."""
    return Engine(lambda engine, batch: float(batch))


def scripted_evaluator(accuracies, epoch_source):
    """Evaluator whose accuracy after epoch k of epoch_source is accuracies[k - 1]."""

    def step(engine, _):
        correct = round(accuracies[epoch_source.state.epoch - 1] * 10)
        predictions = torch.tensor([0] * correct + [1] * (10 - correct))
        return torch.nn.functional.one_hot(predictions, 2).float(), torch.zeros(10, dtype=torch.long)

    evaluator = Engine(step)
    Accuracy().attach(evaluator, "accuracy")
    return evaluator


def test_epoch_loss_averages_batches():
    trainer = scripted_trainer()
    attach_epoch_loss(trainer)
    per_epoch = []
    trainer.add_event_handler(Events.EPOCH_COMPLETED, lambda engine: per_epoch.append(engine.state.metrics["loss"]))

    trainer.run([1.0, 2.0, 6.0], max_epochs=2)

    assert per_epoch == [3.0, 3.0]


def test_validation_history_written_each_epoch(tmp_path):
    trainer = scripted_trainer()
    evaluator = scripted_evaluator([0.1, 0.2, 0.3], trainer)
    attach_epoch_loss(trainer)
    path = tmp_path / "history.json"
    handle, history = attach_validation(trainer, evaluator, [0], history_path=path)
    on_disk = []
    trainer.add_event_handler(Events.EPOCH_COMPLETED, lambda _: on_disk.append(json.loads(path.read_text())))

    trainer.run([1.0, 3.0], max_epochs=3)

    assert [record["val_accuracy"] for record in history] == pytest.approx([0.1, 0.2, 0.3])
    assert [record["epoch"] for record in history] == [1, 2, 3]
    assert [record["iteration"] for record in history] == [2, 4, 6]
    assert [record["train_loss"] for record in history] == [2.0, 2.0, 2.0]
    assert [len(snapshot) for snapshot in on_disk] == [1, 2, 3]
    assert json.loads(path.read_text()) == history


def test_validation_history_csv(tmp_path):
    trainer = scripted_trainer()
    evaluator = scripted_evaluator([0.1, 0.2], trainer)
    attach_epoch_loss(trainer)
    attach_validation(trainer, evaluator, [0], csv_path=tmp_path / "history.csv")

    trainer.run([1.0, 3.0], max_epochs=2)

    assert (tmp_path / "history.csv").read_text().splitlines() == [
        "epoch,iteration,train_loss,val_accuracy",
        "1,2,2.0,0.1",
        "2,4,2.0,0.2",
    ]


def test_validation_handle_removes_handler():
    trainer = scripted_trainer()
    evaluator = scripted_evaluator([0.5] * 4, trainer)
    handle, history = attach_validation(trainer, evaluator, [0], every=2)

    trainer.run([1.0], max_epochs=2)
    handle.remove()
    trainer.run([1.0], max_epochs=4)

    assert [record["epoch"] for record in history] == [2]


def test_validation_records_learning_rate():
    trainer = scripted_trainer()
    evaluator = scripted_evaluator([0.5], trainer)
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.125)
    _, history = attach_validation(trainer, evaluator, [0], optimizer=optimizer)

    trainer.run([1.0], max_epochs=1)

    assert history[0]["lr"] == 0.125


def test_tensorboard_steps_use_trainer_iterations(tmp_path):
    trainer = scripted_trainer()
    evaluator = scripted_evaluator([0.1, 0.2, 0.3], trainer)
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.5)
    tb_logger = TensorboardLogger(log_dir=tmp_path)
    attach_tensorboard_loss(trainer, tb_logger, optimizer=optimizer)
    attach_tensorboard_metrics(evaluator, tb_logger, trainer, metric_names=["accuracy"])
    attach_validation(trainer, evaluator, [0])

    trainer.run([1.0, 3.0], max_epochs=3)
    tb_logger.close()

    events = EventAccumulator(str(tmp_path)).Reload()
    losses = events.Scalars("training/batch_loss")
    assert [(event.step, event.value) for event in losses] == [(1, 1.0), (2, 3.0), (3, 1.0), (4, 3.0), (5, 1.0), (6, 3.0)]
    accuracies = events.Scalars("validation/accuracy")
    assert [event.step for event in accuracies] == [2, 4, 6]
    assert [event.value for event in accuracies] == pytest.approx([0.1, 0.2, 0.3])
    assert [event.value for event in events.Scalars("lr/group_0")] == [0.5] * 6


def test_tensorboard_loss_every_n(tmp_path):
    trainer = scripted_trainer()
    tb_logger = TensorboardLogger(log_dir=tmp_path)
    attach_tensorboard_loss(trainer, tb_logger, every=2)

    trainer.run([1.0, 2.0, 3.0, 4.0], max_epochs=1)
    tb_logger.close()

    events = EventAccumulator(str(tmp_path)).Reload()
    losses = events.Scalars("training/batch_loss")
    assert [event.step for event in losses] == [2, 4]
    assert [event.value for event in losses] == [1.5, 3.5]


@pytest.mark.parametrize("attach", [attach_tensorboard_loss, attach_validation])
def test_every_below_one_rejected(attach, tmp_path):
    trainer = scripted_trainer()
    arguments = (trainer, TensorboardLogger(log_dir=tmp_path)) if attach is attach_tensorboard_loss else (trainer, trainer, [0])

    with pytest.raises(ValueError, match="every must be at least 1, got 0"):
        attach(*arguments, every=0)
