"""Handlers that attach to the trainer and evaluator engines, one concern per module.

Each ``attach_*`` function takes the engines it needs and keyword-only options, registers itself
with ignite's event system, and returns what a caller needs to remove or read it.
"""

from ignite_fashion.handlers.misclassified import MisclassifiedStore, attach_misclassified_store
from ignite_fashion.handlers.plotting import (
    attach_history_plots,
    attach_validation_plots,
    save_evaluation_plots,
)
from ignite_fashion.handlers.tensorboard import attach_tensorboard_loss, attach_tensorboard_metrics
from ignite_fashion.handlers.validation import attach_epoch_loss, attach_validation, evaluate

__all__ = [
    "MisclassifiedStore",
    "attach_epoch_loss",
    "attach_history_plots",
    "attach_misclassified_store",
    "attach_tensorboard_loss",
    "attach_tensorboard_metrics",
    "attach_validation",
    "attach_validation_plots",
    "evaluate",
    "save_evaluation_plots",
]
