"""Factories for the trainer and evaluator engines."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
from ignite.engine import Engine, create_supervised_evaluator, create_supervised_trainer
from ignite.metrics import Metric
from torch import nn


def resolve_device(name: str) -> torch.device:
    """Turn a device name into a ``torch.device``, checking that it exists here.

    ``"auto"`` picks CUDA when available, else the CPU.

    Example:
        >>> resolve_device("cpu")
        device(type='cpu')
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as error:
        raise ValueError(f"invalid device {name!r}: use cpu, cuda, cuda:N, mps or auto") from error
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {name!r} requested but CUDA is not available here: use --device cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(
                f"device {name!r} requested but only {torch.cuda.device_count()} CUDA device(s) exist"
            )
    elif device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device {name!r} requested but MPS is not available here: use --device cpu")
    elif device.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"unsupported device {name!r}: use cpu, cuda, cuda:N, mps or auto")
    return device


def build_trainer(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    *,
    device: str | torch.device = "cpu",
    non_blocking: bool = False,
) -> Engine:
    """Build the training engine: one optimizer step per batch of ``(images, targets)``.

    ``engine.state.output`` after each iteration is the batch loss as a Python float. The model
    must already be on ``device``. Attach logging, validation and checkpoints as handlers.

    Args:
        model: the model to train, in its final device placement.
        optimizer: optimizer over ``model``'s parameters.
        loss_fn: loss on ``(logits, targets)``.
        device: device each batch is moved to.
        non_blocking: copy batches asynchronously when the device allows it.

    Example:
        >>> from ignite_fashion import SimpleCNN
        >>> model = SimpleCNN()
        >>> optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
        >>> trainer = build_trainer(model, optimizer, nn.CrossEntropyLoss())
        >>> batch = (torch.rand(4, 1, 28, 28), torch.tensor([0, 1, 2, 3]))
        >>> state = trainer.run([batch], max_epochs=1)
        >>> isinstance(state.output, float)
        True
    """
    return create_supervised_trainer(
        model, optimizer, loss_fn, device=device, non_blocking=non_blocking
    )


def build_evaluator(
    model: nn.Module,
    metrics: Mapping[str, Metric],
    *,
    device: str | torch.device = "cpu",
    non_blocking: bool = False,
) -> Engine:
    """Build an evaluation engine that runs the model in eval mode without gradients.

    After a run, ``engine.state.metrics`` contains the value of each metric in ``metrics``.

    Args:
        model: the model to evaluate, in its final device placement.
        metrics: name to ignite metric, for example :func:`ignite_fashion.build_metrics`.
        device: device each batch is moved to.
        non_blocking: copy batches asynchronously when the device allows it.

    Example:
        >>> from ignite_fashion import SimpleCNN, build_metrics
        >>> evaluator = build_evaluator(SimpleCNN(), build_metrics())
        >>> batch = (torch.rand(4, 1, 28, 28), torch.tensor([0, 1, 2, 3]))
        >>> 0.0 <= evaluator.run([batch]).metrics["accuracy"] <= 1.0
        True
    """
    return create_supervised_evaluator(
        model, metrics=dict(metrics), device=device, non_blocking=non_blocking
    )
