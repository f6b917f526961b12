"""Small image-classification training on PyTorch and pytorch-ignite.

Factories build the ignite engines; handlers attach progress, validation, checkpoints, TensorBoard
and plots to them.
"""

from ignite_fashion.data import (
    CLASS_NAMES,
    DataError,
    ImageDataset,
    Loaders,
    build_loaders,
    load_fashion_mnist,
    split_indices,
)
from ignite_fashion.engines import build_evaluator, build_trainer, resolve_device
from ignite_fashion.handlers import (
    LR_SCHEDULES,
    CheckpointError,
    attach_checkpoints,
    attach_early_stopping,
    attach_epoch_loss,
    attach_lr_schedule,
    attach_progress,
    attach_tensorboard_loss,
    attach_tensorboard_metrics,
    attach_terminate_on_nan,
    attach_validation,
    checkpoint_step,
    copy_best_checkpoints,
    evaluate,
    find_checkpoint,
    fixed_state,
    list_state,
    load_checkpoint,
    read_checkpoint,
    rng_state,
)
from ignite_fashion.metrics import attach_never_predicted_notice, build_metrics, metrics_to_python, per_class_table
from ignite_fashion.model import SimpleCNN

__version__ = "0.1.0"

__all__ = [
    "CLASS_NAMES",
    "LR_SCHEDULES",
    "CheckpointError",
    "DataError",
    "ImageDataset",
    "Loaders",
    "SimpleCNN",
    "attach_checkpoints",
    "attach_early_stopping",
    "attach_epoch_loss",
    "attach_lr_schedule",
    "attach_never_predicted_notice",
    "attach_progress",
    "attach_tensorboard_loss",
    "attach_tensorboard_metrics",
    "attach_terminate_on_nan",
    "attach_validation",
    "build_evaluator",
    "build_loaders",
    "build_metrics",
    "build_trainer",
    "checkpoint_step",
    "copy_best_checkpoints",
    "evaluate",
    "find_checkpoint",
    "fixed_state",
    "list_state",
    "load_checkpoint",
    "load_fashion_mnist",
    "metrics_to_python",
    "per_class_table",
    "read_checkpoint",
    "resolve_device",
    "rng_state",
    "split_indices",
]
