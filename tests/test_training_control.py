"""Training control handlers: NaN stop, early stopping, learning-rate schedules and progress output."""

import io
import logging
import math

import pytest
import torch
from ignite.engine import Engine, Events
from torch import nn

from ignite_fashion import (
    attach_early_stopping,
    attach_lr_schedule,
    attach_progress,
    attach_terminate_on_nan,
    build_trainer,
)


def tiny_regression_batches():
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(8, 4, generator=generator)
    targets = torch.randn(8, 1, generator=generator)
    return [(inputs[index : index + 2], targets[index : index + 2]) for index in range(0, 8, 2)]


def first_non_finite_iteration(lr):
    """Find the first non-finite loss with a plain PyTorch loop, independently of ignite."""
    torch.manual_seed(0)
    model = nn.Linear(4, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    iteration = 0
    for _ in range(10):
        for inputs, targets in tiny_regression_batches():
            iteration += 1
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(model(inputs), targets)
            loss.backward()
            optimizer.step()
            if not math.isfinite(loss.item()):
                return iteration
    return None


def test_nan_stops_at_first_iteration(caplog):
    expected = first_non_finite_iteration(1e20)
    assert expected is not None
    torch.manual_seed(0)
    model = nn.Linear(4, 1)
    trainer = build_trainer(model, torch.optim.SGD(model.parameters(), lr=1e20), nn.MSELoss())
    attach_terminate_on_nan(trainer)
    epochs_completed = []
    trainer.add_event_handler(Events.EPOCH_COMPLETED, lambda engine: epochs_completed.append(engine.state.epoch))

    with caplog.at_level(logging.ERROR):
        state = trainer.run(tiny_regression_batches(), max_epochs=10)

    assert state.iteration == expected
    assert state.diverged_iteration == expected
    assert f"Training diverged at iteration {expected}" in caplog.text
    assert epochs_completed == list(range(1, (expected - 1) // 4 + 1))


def test_finite_run_not_marked_diverged():
    trainer = Engine(lambda engine, batch: 0.5)
    attach_terminate_on_nan(trainer)

    state = trainer.run([0, 1], max_epochs=2)

    assert state.iteration == 4
    assert state.diverged_iteration is None


def scripted_early_stopping(scores, patience):
    trainer = Engine(lambda engine, batch: 0.0)
    evaluator = Engine(lambda engine, batch: None)
    evaluator.add_event_handler(
        Events.COMPLETED, lambda engine: engine.state.metrics.update(f1=scores[trainer.state.epoch - 1])
    )
    trainer.add_event_handler(Events.EPOCH_COMPLETED, lambda _: evaluator.run([0]))
    handler = attach_early_stopping(trainer, evaluator, patience=patience)
    return trainer.run([0], max_epochs=len(scores)).epoch, handler


def test_early_stopping_counts_evaluations():
    assert scripted_early_stopping([0.5, 0.6, 0.6, 0.55, 0.9], patience=2)[0] == 4
    assert scripted_early_stopping([0.5, 0.6, 0.6, 0.7, 0.65], patience=2)[0] == 5
    assert scripted_early_stopping([0.5, float("nan"), 0.4], patience=2)[0] == 3


def test_early_stopping_state_saved():
    _, handler = scripted_early_stopping([0.5, 0.4], patience=3)

    state = handler.state_dict()
    assert state["counter"] == 1
    assert state["best_score"] == 0.5


def test_early_stopping_rejects_zero_patience():
    with pytest.raises(ValueError, match="patience must be at least 1, got 0"):
        attach_early_stopping(Engine(lambda e, b: 0), Engine(lambda e, b: 0), patience=0)


def recorded_rates(schedule, iterations, **options):
    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.2)
    trainer = Engine(lambda engine, batch: 0.0)
    attach_lr_schedule(trainer, optimizer, schedule=schedule, total_iterations=iterations, **options)
    rates = []
    trainer.add_event_handler(Events.ITERATION_COMPLETED, lambda _: rates.append(optimizer.param_groups[0]["lr"]))
    trainer.run(list(range(iterations)), max_epochs=1)
    return rates


def test_cosine_schedule_follows_formula():
    expected = [0.1 * (1 + math.cos(math.pi * step / 4)) for step in range(4)]

    assert recorded_rates("cosine", 4) == pytest.approx(expected)


def test_step_schedule_multiplies_by_gamma():
    assert recorded_rates("step", 5, step_iterations=2, gamma=0.5) == pytest.approx([0.2, 0.2, 0.1, 0.1, 0.05])


def test_constant_schedule_attaches_nothing():
    assert recorded_rates("constant", 3) == [0.2, 0.2, 0.2]


@pytest.mark.parametrize(
    "options, message",
    [
        ({"schedule": "linear"}, "unknown learning-rate schedule 'linear': use one of cosine, step, constant"),
        ({"schedule": "step"}, "step_iterations must be at least 1 for the step schedule, got None"),
        ({"schedule": "step", "step_iterations": 2, "gamma": 1.5}, r"gamma must be in \(0, 1\], got 1.5"),
    ],
)
def test_schedule_rejects_bad_options(options, message):
    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.2)

    with pytest.raises(ValueError, match=message):
        attach_lr_schedule(Engine(lambda e, b: 0.0), optimizer, total_iterations=4, **options)


def test_progress_logs_lines_off_terminal(caplog):
    trainer = Engine(lambda engine, batch: float(batch))
    attach_progress(trainer, stream=io.StringIO(), log_every=2)

    with caplog.at_level(logging.INFO, logger="ignite_fashion.handlers.progress"):
        trainer.run([1.0, 1.0, 1.0], max_epochs=2)

    lines = [record.getMessage() for record in caplog.records if record.name == "ignite_fashion.handlers.progress"]
    assert lines == [
        "Epoch 1/2, iteration 2/3: running loss 1.0000",
        "Epoch 1/2, iteration 3/3: running loss 1.0000",
        "Epoch 2/2, iteration 2/3: running loss 1.0000",
        "Epoch 2/2, iteration 3/3: running loss 1.0000",
    ]


def test_progress_draws_bar_on_terminal(caplog):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    trainer = Engine(lambda engine, batch: 2.0)
    attach_progress(trainer, stream=stream)

    with caplog.at_level(logging.INFO, logger="ignite_fashion.handlers.progress"):
        trainer.run([0, 1, 2, 3], max_epochs=1)

    assert "Iteration: [3/4]" in stream.getvalue()
    assert "running_loss=2" in stream.getvalue()
    assert [record for record in caplog.records if record.name == "ignite_fashion.handlers.progress"] == []
