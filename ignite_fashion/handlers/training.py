"""Training control: stop on a non-finite loss, stop early, and schedule the learning rate."""

from __future__ import annotations

import logging
import math

import torch
from ignite.engine import Engine, Events
from ignite.engine.events import RemovableEventHandle
from ignite.handlers import CosineAnnealingScheduler, EarlyStopping, LRScheduler, TerminateOnNan
from ignite.handlers.param_scheduler import ParamScheduler

logger = logging.getLogger(__name__)

LR_SCHEDULES = ("cosine", "step", "constant")
"""Names accepted by :func:`attach_lr_schedule`."""


def attach_terminate_on_nan(trainer: Engine) -> list[RemovableEventHandle]:
    """Stop training at the first iteration whose loss is NaN or infinite.

    Uses ignite's ``TerminateOnNan``. The iteration is stored as ``trainer.state.diverged_iteration``
    (None while the loss stays finite) and logged as an error. Epoch-end handlers do not run for the
    interrupted epoch, so no validation, and hence no checkpoint, follows the first non-finite loss.
    ``Events.COMPLETED`` still fires.

    Returns:
        The removable handles of the attached handlers.

    Example:
        >>> losses = [0.5, float("nan"), 0.25]
        >>> trainer = Engine(lambda engine, batch: losses[batch])
        >>> _ = attach_terminate_on_nan(trainer)
        >>> state = trainer.run([0, 1, 2], max_epochs=1)
        >>> state.iteration, state.diverged_iteration
        (2, 2)
    """

    def reset(engine: Engine) -> None:
        engine.state.diverged_iteration = None

    # TERMINATE also follows early stopping, so only a non-finite last loss counts as divergence.
    def record(engine: Engine) -> None:
        loss = engine.state.output
        if isinstance(loss, torch.Tensor):
            loss = loss.item() if loss.numel() == 1 else float("nan")
        if isinstance(loss, float) and not math.isfinite(loss):
            engine.state.diverged_iteration = engine.state.iteration
            logger.error(
                "Training diverged at iteration %d (epoch %d): the loss is %s; stopping",
                engine.state.iteration,
                engine.state.epoch,
                loss,
            )

    return [
        trainer.add_event_handler(Events.STARTED, reset),
        trainer.add_event_handler(Events.ITERATION_COMPLETED, TerminateOnNan()),
        trainer.add_event_handler(Events.TERMINATE, record),
    ]


def attach_early_stopping(
    trainer: Engine,
    evaluator: Engine,
    *,
    patience: int,
    metric_name: str = "f1",
) -> EarlyStopping:
    """Stop training when ``metric_name`` of ``evaluator`` has not improved for ``patience`` evaluations.

    Uses ignite's ``EarlyStopping``, which counts evaluations, not epochs. A non-finite score counts
    as no improvement, and so does a score equal to the best so far.

    Returns:
        The ``EarlyStopping`` handler; it has ``state_dict`` so a checkpoint can include it.

    Example:
        >>> trainer = Engine(lambda engine, batch: 0.0)
        >>> scores = [0.5, 0.4, 0.3, 0.9]
        >>> evaluator = Engine(lambda engine, batch: None)
        >>> evaluator.add_event_handler(
        ...     Events.COMPLETED,
        ...     lambda engine: engine.state.metrics.update(f1=scores[trainer.state.epoch - 1]),
        ... )  # doctest: +ELLIPSIS
        <...>
        >>> trainer.add_event_handler(Events.EPOCH_COMPLETED, lambda _: evaluator.run([0]))  # doctest: +ELLIPSIS
        <...>
        >>> _ = attach_early_stopping(trainer, evaluator, patience=2)
        >>> trainer.run([0], max_epochs=4).epoch
        3
    """
    if patience < 1:
        raise ValueError(f"patience must be at least 1, got {patience}")

    def score(engine: Engine) -> float:
        value = float(engine.state.metrics[metric_name])
        return value if math.isfinite(value) else -math.inf

    handler = EarlyStopping(patience=patience, score_function=score, trainer=trainer)
    evaluator.add_event_handler(Events.COMPLETED, handler)
    return handler


def attach_lr_schedule(
    trainer: Engine,
    optimizer: torch.optim.Optimizer,
    *,
    schedule: str,
    total_iterations: int,
    step_iterations: int | None = None,
    gamma: float = 0.1,
) -> ParamScheduler | LRScheduler | None:
    """Set the learning rate of every parameter group before each iteration, with ignite's schedulers.

    - ``"cosine"``: from the optimizer's initial learning rate down to 0 over ``total_iterations``
      (ignite's ``CosineAnnealingScheduler``; past the end the cycle starts again).
    - ``"step"``: multiply the learning rate by ``gamma`` every ``step_iterations`` (torch's
      ``StepLR`` through ignite's ``LRScheduler``).
    - ``"constant"``: attach nothing.

    Returns:
        The scheduler, which has ``state_dict`` for checkpoints, or None for ``"constant"``.

    Example:
        >>> model = torch.nn.Linear(1, 1)
        >>> optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        >>> trainer = Engine(lambda engine, batch: 0.0)
        >>> _ = attach_lr_schedule(trainer, optimizer, schedule="step", total_iterations=4, step_iterations=2)
        >>> rates = []
        >>> _ = trainer.add_event_handler(Events.ITERATION_COMPLETED, lambda _: rates.append(optimizer.param_groups[0]["lr"]))
        >>> _ = trainer.run([0, 1, 2, 3], max_epochs=1)
        >>> [round(rate, 6) for rate in rates]
        [0.1, 0.1, 0.01, 0.01]
    """
    if schedule not in LR_SCHEDULES:
        raise ValueError(f"unknown learning-rate schedule {schedule!r}: use one of {', '.join(LR_SCHEDULES)}")
    if total_iterations < 1:
        raise ValueError(f"total_iterations must be at least 1, got {total_iterations}")
    if schedule == "constant":
        return None

    initial_lr = optimizer.param_groups[0]["lr"]
    if schedule == "cosine":
        # ignite needs a cycle of at least 2 iterations; a 1-iteration run keeps the initial rate.
        scheduler = CosineAnnealingScheduler(
            optimizer, "lr", start_value=initial_lr, end_value=0.0, cycle_size=max(2, total_iterations)
        )
    else:
        if step_iterations is None or step_iterations < 1:
            raise ValueError(f"step_iterations must be at least 1 for the step schedule, got {step_iterations}")
        if not 0 < gamma <= 1:
            raise ValueError(f"gamma must be in (0, 1], got {gamma}")
        scheduler = LRScheduler(torch.optim.lr_scheduler.StepLR(optimizer, step_size=step_iterations, gamma=gamma))
    trainer.add_event_handler(Events.ITERATION_STARTED, scheduler)
    logger.info("Learning-rate schedule: %s from %g over %d iterations", schedule, initial_lr, total_iterations)
    return scheduler
