"""Handlers that attach to the trainer and evaluator engines, one concern per module.

Each ``attach_*`` function takes the engines it needs and keyword-only options, registers itself
with ignite's event system, and returns what a caller needs to remove or read it.
"""

from ignite_fashion.handlers.checkpoint import (
    CheckpointError,
    attach_checkpoints,
    checkpoint_step,
    copy_best_checkpoints,
    find_checkpoint,
    fixed_state,
    list_state,
    load_checkpoint,
    read_checkpoint,
    rng_state,
)
from ignite_fashion.handlers.misclassified import MisclassifiedStore, attach_misclassified_store
from ignite_fashion.handlers.plotting import (
    attach_history_plots,
    attach_validation_plots,
    save_evaluation_plots,
)
from ignite_fashion.handlers.progress import attach_progress
from ignite_fashion.handlers.tensorboard import attach_tensorboard_loss, attach_tensorboard_metrics
from ignite_fashion.handlers.training import (
    LR_SCHEDULES,
    attach_early_stopping,
    attach_lr_schedule,
    attach_terminate_on_nan,
)
from ignite_fashion.handlers.validation import attach_epoch_loss, attach_validation, evaluate

__all__ = [
    "LR_SCHEDULES",
    "CheckpointError",
    "MisclassifiedStore",
    "attach_checkpoints",
    "attach_early_stopping",
    "attach_epoch_loss",
    "attach_history_plots",
    "attach_lr_schedule",
    "attach_misclassified_store",
    "attach_progress",
    "attach_tensorboard_loss",
    "attach_tensorboard_metrics",
    "attach_terminate_on_nan",
    "attach_validation",
    "attach_validation_plots",
    "checkpoint_step",
    "copy_best_checkpoints",
    "evaluate",
    "find_checkpoint",
    "fixed_state",
    "list_state",
    "load_checkpoint",
    "read_checkpoint",
    "rng_state",
    "save_evaluation_plots",
]
