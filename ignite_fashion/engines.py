"""Factories for the trainer and evaluator engines, with the CPU speed options.

Both factories put 4-D batches and the model in ``channels_last`` memory format by default, and
run the forward pass under bfloat16 autocast with ``precision="bf16"``. The evaluator runs under
``torch.inference_mode()``.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from ignite.engine import Engine, create_supervised_evaluator, create_supervised_trainer
from ignite.engine import _prepare_batch as _ignite_prepare_batch
from ignite.metrics import Metric
from torch import nn

PRECISIONS = ("fp32", "bf16")
"""Values of the ``precision`` option: ``fp32``, or bfloat16 autocast of the forward pass (``bf16``)."""

# CPU capabilities (names from torch.cpu.get_capabilities) with native bfloat16 arithmetic.
# NOTE: bf16 speed was measured only on a CPU with avx512_bf16; that it does not pay off without
# these instructions is an assumption.
_CPU_BF16_CAPABILITIES = ("avx512_bf16", "amx_bf16", "bf16", "sve_bf16")

_warned_bf16_fallback = False


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


def bf16_supported(device: str | torch.device = "cpu") -> bool:
    """Return whether ``device`` computes in bfloat16 natively, so that bf16 autocast pays off.

    On the CPU that needs AVX512-BF16 or AMX-BF16 (x86-64), or the BF16 extension (ARM64). On CUDA
    it is ``torch.cuda.is_bf16_supported()``. Other device types return False.
    """
    device = torch.device(device)
    if device.type == "cpu":
        capabilities = torch.cpu.get_capabilities()
        return any(capabilities.get(name, False) for name in _CPU_BF16_CAPABILITIES)
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    return False


def resolve_precision(precision: str, device: str | torch.device = "cpu") -> str:
    """Check a ``precision`` value and return the one that will run on ``device``.

    ``"bf16"`` falls back to ``"fp32"`` where :func:`bf16_supported` is False, with one
    ``RuntimeWarning`` per process.

    Raises:
        ValueError: ``precision`` is not one of :data:`PRECISIONS`.

    Example:
        >>> resolve_precision("fp32")
        'fp32'
    """
    global _warned_bf16_fallback
    if precision not in PRECISIONS:
        raise ValueError(f"invalid precision {precision!r}: use one of {', '.join(PRECISIONS)}")
    if precision == "bf16" and not bf16_supported(device):
        if not _warned_bf16_fallback:
            _warned_bf16_fallback = True
            warnings.warn(
                f"bf16 requested but {torch.device(device)} has no native bfloat16 support; "
                "running in fp32 instead. Pass precision='fp32' (--precision fp32) to silence this.",
                RuntimeWarning,
                stacklevel=2,
            )
        return "fp32"
    return precision


def build_trainer(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    *,
    device: str | torch.device = "cpu",
    non_blocking: bool = False,
    channels_last: bool = True,
    precision: str = "fp32",
) -> Engine:
    """Build the training engine: one optimizer step per batch of ``(images, targets)``.

    ``engine.state.output`` after each iteration is the batch loss as a Python float. The model
    must already be on ``device``. Attach logging, validation and checkpoints as handlers.

    Args:
        model: the model to train, in its final device placement. With ``channels_last`` its 4-D
            parameters are converted in place, which keeps the optimizer's references valid.
        optimizer: optimizer over ``model``'s parameters.
        loss_fn: loss on ``(logits, targets)``. It always receives float32 logits.
        device: device each batch is moved to.
        non_blocking: copy batches asynchronously when the device allows it.
        channels_last: use the ``channels_last`` memory format for the model and for 4-D batches.
            The values stay fp32, but convolutions may round differently than in the contiguous
            format.
        precision: ``"fp32"``, or ``"bf16"`` for bfloat16 autocast of the forward pass. The
            parameters, gradients, loss and optimizer stay in float32. ``"bf16"`` falls back to
            fp32 with a warning where the device lacks native bfloat16 (see :func:`resolve_precision`).

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
    speed_options = _speed_options(model, device, channels_last=channels_last, precision=precision, inference=False)
    return create_supervised_trainer(
        model, optimizer, loss_fn, device=device, non_blocking=non_blocking, **speed_options
    )


def build_evaluator(
    model: nn.Module,
    metrics: Mapping[str, Metric],
    *,
    device: str | torch.device = "cpu",
    non_blocking: bool = False,
    channels_last: bool = True,
    precision: str = "fp32",
) -> Engine:
    """Build an evaluation engine that runs the model in eval mode under ``torch.inference_mode()``.

    After a run, ``engine.state.metrics`` contains the value of each metric in ``metrics``. The
    metrics receive float32 logits whatever the ``precision``. The batch size does not change the
    metric values, apart from float rounding in the mean loss.

    Args:
        model: the model to evaluate, in its final device placement. With ``channels_last`` its
            4-D parameters are converted in place.
        metrics: name to ignite metric, for example :func:`ignite_fashion.build_metrics`.
        device: device each batch is moved to.
        non_blocking: copy batches asynchronously when the device allows it.
        channels_last: as in :func:`build_trainer`.
        precision: as in :func:`build_trainer`.

    Example:
        >>> from ignite_fashion import SimpleCNN, build_metrics
        >>> evaluator = build_evaluator(SimpleCNN(), build_metrics())
        >>> batch = (torch.rand(4, 1, 28, 28), torch.tensor([0, 1, 2, 3]))
        >>> 0.0 <= evaluator.run([batch]).metrics["accuracy"] <= 1.0
        True
    """
    speed_options = _speed_options(model, device, channels_last=channels_last, precision=precision, inference=True)
    return create_supervised_evaluator(
        model, metrics=dict(metrics), device=device, non_blocking=non_blocking, **speed_options
    )


def _speed_options(
    model: nn.Module, device: str | torch.device, *, channels_last: bool, precision: str, inference: bool
) -> dict[str, Callable]:
    """Convert ``model`` for ``channels_last`` and return ignite's batch, forward and output hooks."""
    precision = resolve_precision(precision, device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    return {
        "prepare_batch": _batch_preparer(channels_last=channels_last),
        "model_fn": _forward_function(device, precision=precision, inference=inference),
        "model_transform": _model_transform(precision),
    }


def _batch_preparer(*, channels_last: bool) -> Callable:
    """Return ignite's batch preparation, followed by the ``channels_last`` conversion of 4-D inputs."""
    if not channels_last:
        return _ignite_prepare_batch

    def prepare_batch(batch: Sequence[Any], device: str | torch.device | None, non_blocking: bool) -> tuple:
        x, y = _ignite_prepare_batch(batch, device=device, non_blocking=non_blocking)
        if isinstance(x, torch.Tensor) and x.ndim == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return x, y

    return prepare_batch


def _forward_function(device: str | torch.device, *, precision: str, inference: bool) -> Callable:
    """Return ignite's ``model_fn``: the forward pass, under bf16 autocast and inference mode as requested."""
    device_type = torch.device(device).type
    if not inference and precision != "bf16":
        return _plain_forward

    def forward(model: nn.Module, x: Any) -> Any:
        with contextlib.ExitStack() as stack:
            if inference:
                stack.enter_context(torch.inference_mode())
            if precision == "bf16":
                stack.enter_context(torch.autocast(device_type, dtype=torch.bfloat16))
            return model(x)

    return forward


def _model_transform(precision: str) -> Callable[[Any], Any]:
    """Return ignite's ``model_transform``: bf16 autocast gives bfloat16 logits, cast back to float32."""
    if precision != "bf16":
        return _identity

    def to_float32(output: Any) -> Any:
        if isinstance(output, torch.Tensor) and output.dtype == torch.bfloat16:
            return output.float()
        return output

    return to_float32


def _identity(output: Any) -> Any:
    return output


def _plain_forward(model: nn.Module, x: Any) -> Any:
    return model(x)
