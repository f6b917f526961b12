"""TensorBoard scalars through ignite's ``TensorboardLogger``.

Every scalar is logged at the trainer's iteration count, so training and validation curves share
one x-axis in TensorBoard.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from ignite.engine import Engine, Events
from ignite.handlers import TensorboardLogger, global_step_from_engine
from ignite.engine.events import RemovableEventHandle

from ignite_fashion.metrics import PER_CLASS_METRICS, SCALAR_METRICS


def attach_tensorboard_loss(
    trainer: Engine,
    tb_logger: TensorboardLogger,
    *,
    optimizer: torch.optim.Optimizer | None = None,
    every: int = 1,
    tag: str = "training",
) -> list[RemovableEventHandle]:
    """Log the batch loss (``<tag>/batch_loss``) and, given ``optimizer``, the learning rate (``lr/group_0``).

    With ``every`` above 1, each point is the mean batch loss of the last ``every`` iterations, so no
    batch is left out, and the learning rate is the one of the logged iteration. Each TensorBoard
    point costs about 60 microseconds of Python, plus the writer thread's work, which competes with
    training for the cores: on a 2-core CPU, logging both scalars every iteration made the training
    loop about 7% slower (benchmarks/train_speed.py).

    Args:
        trainer: engine whose ``state.output`` is the batch loss as a float.
        tb_logger: where the scalars go.
        optimizer: optimizer whose learning rate is logged; None logs none.
        every: log every this many iterations.
        tag: TensorBoard tag prefix of the loss.

    Returns:
        The removable handles of the attached handlers.

    Example:
        >>> import tempfile
        >>> tb_logger = TensorboardLogger(log_dir=tempfile.mkdtemp())
        >>> trainer = Engine(lambda engine, batch: float(batch))
        >>> handles = attach_tensorboard_loss(trainer, tb_logger, every=2)
        >>> _ = trainer.run([1.0, 3.0, 5.0, 7.0], max_epochs=1)  # logs 2.0 at step 2 and 6.0 at step 4
        >>> tb_logger.close()
    """
    if every < 1:
        raise ValueError(f"every must be at least 1, got {every}")
    losses: list[float] = []

    def collect(engine: Engine) -> None:
        losses.append(engine.state.output)

    def mean_loss(_: object) -> dict[str, float]:
        mean = sum(losses) / len(losses)
        losses.clear()
        return {"batch_loss": mean}

    event = Events.ITERATION_COMPLETED(every=every)
    handles = [
        trainer.add_event_handler(Events.ITERATION_COMPLETED, collect),
        tb_logger.attach_output_handler(trainer, event_name=event, tag=tag, output_transform=mean_loss),
    ]
    if optimizer is not None:
        handles.append(tb_logger.attach_opt_params_handler(trainer, event_name=event, optimizer=optimizer))
    return handles


def attach_tensorboard_metrics(
    evaluator: Engine,
    tb_logger: TensorboardLogger,
    trainer: Engine,
    *,
    tag: str = "validation",
    metric_names: Sequence[str] = SCALAR_METRICS + PER_CLASS_METRICS,
) -> RemovableEventHandle:
    """Log the evaluator's metrics after each of its runs, at the trainer's iteration count.

    Scalars go to ``<tag>/<name>``, per-class tensors to ``<tag>/<name>/<class index>``. The default
    names are those of :func:`ignite_fashion.build_metrics`. ignite skips a name missing from the
    evaluator's metrics with a warning.

    Returns:
        The removable handle of the attached handler.

    Example:
        >>> import tempfile
        >>> from ignite.metrics import Accuracy
        >>> tb_logger = TensorboardLogger(log_dir=tempfile.mkdtemp())
        >>> trainer = Engine(lambda engine, batch: 0.0)
        >>> evaluator = Engine(lambda engine, batch: (torch.tensor([[2.0, 0.0]]), torch.tensor([0])))
        >>> Accuracy().attach(evaluator, "accuracy")
        >>> _ = attach_tensorboard_metrics(evaluator, tb_logger, trainer, metric_names=["accuracy"])
        >>> _ = trainer.add_event_handler(Events.EPOCH_COMPLETED, lambda _: evaluator.run([0]))
        >>> _ = trainer.run([0, 1], max_epochs=2)  # validation/accuracy at steps 2 and 4
        >>> tb_logger.close()
    """
    return tb_logger.attach_output_handler(
        evaluator,
        event_name=Events.COMPLETED,
        tag=tag,
        metric_names=list(metric_names),
        global_step_transform=global_step_from_engine(trainer, Events.ITERATION_COMPLETED),
    )
