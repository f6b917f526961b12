"""Small image-classification training on PyTorch and pytorch-ignite.

Factories build the ignite engines; handlers attach logging, validation and TensorBoard to them.
"""

from ignite_fashion.data import (
    CLASS_NAMES,
    DataError,
    ImageBatch,
    ImageDataset,
    Loaders,
    build_loaders,
    collate_image_batch,
    load_fashion_mnist,
    split_indices,
)
from ignite_fashion.engines import bf16_supported, build_evaluator, build_trainer, resolve_device, resolve_precision
from ignite_fashion.handlers import (
    attach_epoch_loss,
    attach_tensorboard_loss,
    attach_tensorboard_metrics,
    attach_validation,
    evaluate,
)
from ignite_fashion.metrics import attach_never_predicted_notice, build_metrics, metrics_to_python
from ignite_fashion.model import SimpleCNN

__version__ = "0.1.0"

__all__ = [
    "CLASS_NAMES",
    "DataError",
    "ImageBatch",
    "ImageDataset",
    "Loaders",
    "SimpleCNN",
    "attach_epoch_loss",
    "attach_never_predicted_notice",
    "attach_tensorboard_loss",
    "attach_tensorboard_metrics",
    "attach_validation",
    "bf16_supported",
    "build_evaluator",
    "build_loaders",
    "build_metrics",
    "build_trainer",
    "collate_image_batch",
    "evaluate",
    "load_fashion_mnist",
    "metrics_to_python",
    "resolve_device",
    "resolve_precision",
    "split_indices",
]
