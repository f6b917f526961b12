"""Small image-classification training on PyTorch and pytorch-ignite.

Factories build the ignite engines; handlers attach logging, validation and TensorBoard to them.
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
    MisclassifiedStore,
    attach_epoch_loss,
    attach_history_plots,
    attach_misclassified_store,
    attach_tensorboard_loss,
    attach_tensorboard_metrics,
    attach_validation,
    attach_validation_plots,
    evaluate,
    save_evaluation_plots,
)
from ignite_fashion.metrics import attach_never_predicted_notice, build_metrics, metrics_to_python
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
    "DataError",
    "ImageDataset",
    "Loaders",
    "MisclassifiedStore",
    "SimpleCNN",
    "attach_epoch_loss",
    "attach_history_plots",
    "attach_misclassified_store",
    "attach_never_predicted_notice",
    "attach_tensorboard_loss",
    "attach_tensorboard_metrics",
    "attach_validation",
    "attach_validation_plots",
    "build_evaluator",
    "build_loaders",
    "build_metrics",
    "build_trainer",
    "environment_info",
    "evaluate",
    "load_fashion_mnist",
    "metrics_to_python",
    "normalize_rows",
    "plot_accuracy",
    "plot_confusion_matrix",
    "plot_loss_curves",
    "plot_misclassified",
    "plot_precision_recall_f1",
    "resolve_device",
    "save_evaluation_plots",
    "save_figure",
    "split_indices",
    "write_report",
]
