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
    MisclassifiedStore,
    attach_checkpoints,
    attach_early_stopping,
    attach_epoch_loss,
    attach_history_plots,
    attach_lr_schedule,
    attach_misclassified_store,
    attach_progress,
    attach_tensorboard_loss,
    attach_tensorboard_metrics,
    attach_terminate_on_nan,
    attach_validation,
    attach_validation_plots,
    checkpoint_step,
    copy_best_checkpoints,
    evaluate,
    find_checkpoint,
    fixed_state,
    list_state,
    load_checkpoint,
    read_checkpoint,
    rng_state,
    save_evaluation_plots,
)
from ignite_fashion.metrics import attach_never_predicted_notice, build_metrics, metrics_to_python, per_class_table
from ignite_fashion.model import SimpleCNN
from ignite_fashion.plots import (
    normalize_rows,
    plot_accuracy,
    plot_confusion_matrix,
    plot_loss_curves,
    plot_misclassified,
    plot_precision_recall_f1,
    save_figure,
)
from ignite_fashion.report import environment_info, write_report

__version__ = "0.1.0"

__all__ = [
    "CLASS_NAMES",
    "LR_SCHEDULES",
    "CheckpointError",
    "DataError",
    "ImageDataset",
    "Loaders",
    "MisclassifiedStore",
    "SimpleCNN",
    "attach_checkpoints",
    "attach_early_stopping",
    "attach_epoch_loss",
    "attach_history_plots",
    "attach_lr_schedule",
    "attach_misclassified_store",
    "attach_never_predicted_notice",
    "attach_progress",
    "attach_tensorboard_loss",
    "attach_tensorboard_metrics",
    "attach_terminate_on_nan",
    "attach_validation",
    "attach_validation_plots",
    "build_evaluator",
    "build_loaders",
    "build_metrics",
    "build_trainer",
    "checkpoint_step",
    "copy_best_checkpoints",
    "environment_info",
    "evaluate",
    "find_checkpoint",
    "fixed_state",
    "list_state",
    "load_checkpoint",
    "load_fashion_mnist",
    "metrics_to_python",
    "normalize_rows",
    "per_class_table",
    "plot_accuracy",
    "plot_confusion_matrix",
    "plot_loss_curves",
    "plot_misclassified",
    "plot_precision_recall_f1",
    "read_checkpoint",
    "resolve_device",
    "rng_state",
    "save_evaluation_plots",
    "save_figure",
    "split_indices",
    "write_report",
]
