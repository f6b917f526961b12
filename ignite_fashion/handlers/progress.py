"""Training progress: ignite's tqdm progress bar on a terminal, periodic log lines elsewhere."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

from ignite.engine import Engine, Events
from ignite.engine.events import RemovableEventHandle
from ignite.handlers import ProgressBar
from ignite.metrics import RunningAverage

logger = logging.getLogger(__name__)


def attach_progress(
    trainer: Engine,
    *,
    stream: TextIO | None = None,
    log_every: int | None = None,
    metric_name: str = "running_loss",
) -> list[RemovableEventHandle | ProgressBar]:
    """Show a running-average batch loss while training.

    When ``stream`` (default ``sys.stderr``) is a terminal, ignite's ``ProgressBar`` (tqdm) redraws
    one line per epoch. Otherwise, as in CI logs or a file, an INFO log line is written every
    ``log_every`` iterations, by default ten times per epoch. The running average (ignite's
    ``RunningAverage`` with its default smoothing of 0.98) is stored in
    ``trainer.state.metrics[metric_name]``.

    Returns:
        The attached pieces; each has ``detach``/``remove`` (``ProgressBar.close`` for the bar).

    Example:
        >>> import io
        >>> trainer = Engine(lambda engine, batch: float(batch))
        >>> _ = attach_progress(trainer, stream=io.StringIO(), log_every=2)
        >>> round(trainer.run([1.0, 3.0], max_epochs=1).metrics["running_loss"], 2)
        1.04
    """
    if log_every is not None and log_every < 1:
        raise ValueError(f"log_every must be at least 1, got {log_every}")
    stream = sys.stderr if stream is None else stream
    average = RunningAverage(output_transform=lambda loss: loss)
    average.attach(trainer, metric_name)

    if _is_terminal(stream):
        bar = ProgressBar(persist=False, file=stream)
        bar.attach(trainer, metric_names=[metric_name])
        return [average, bar]

    def log_line(engine: Engine) -> None:
        epoch_length = engine.state.epoch_length
        every = log_every or max(1, epoch_length // 10)
        done = (engine.state.iteration - 1) % epoch_length + 1
        if done % every == 0 or done == epoch_length:
            logger.info(
                "Epoch %d/%d, iteration %d/%d: running loss %.4f",
                engine.state.epoch,
                engine.state.max_epochs,
                done,
                epoch_length,
                engine.state.metrics[metric_name],
            )

    return [average, trainer.add_event_handler(Events.ITERATION_COMPLETED, log_line)]


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
