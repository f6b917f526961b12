"""Misclassified images collected while an evaluator runs, without a second pass over the data."""

from __future__ import annotations

import logging
from typing import TypedDict

import torch
from ignite.engine import Engine, Events
from ignite.engine.events import RemovableEventHandle

logger = logging.getLogger(__name__)


class MisclassifiedStore(TypedDict):
    """Misclassified examples of an evaluator's latest run, in the order the loader gave them.

    ``images`` is an N x C x H x W float32 tensor on the CPU. ``predicted`` and ``targets`` contain
    N class indices (int64), and ``probabilities`` the N softmax probabilities of the predicted
    classes. ``total`` counts every misclassified image of the run, including those beyond
    ``max_images``.
    """

    images: torch.Tensor
    predicted: torch.Tensor
    targets: torch.Tensor
    probabilities: torch.Tensor
    total: int


def attach_misclassified_store(
    evaluator: Engine, *, max_images: int = 36
) -> tuple[list[RemovableEventHandle], MisclassifiedStore]:
    """Keep the first ``max_images`` misclassified images of each evaluator run, with their predictions.

    The store is emptied when the evaluator starts a run and filled after each iteration from
    ``engine.state.batch[0]`` (the images as the loader gave them) and ``engine.state.output``, which
    must be ``(logits, targets)`` as in :func:`ignite_fashion.build_evaluator`. uint8 images are
    divided by 255 and float images are kept as they are, so images from
    :class:`ignite_fashion.ImageDataset` end up in [0, 1]. Every image is copied to contiguous CPU
    memory, so channels-last and GPU batches work as well.

    Args:
        evaluator: engine whose output is ``(logits, targets)``.
        max_images: maximum number of images kept per run.

    Returns:
        The removable handles and the store, which is updated in place.

    Example:
        >>> evaluator = Engine(lambda engine, batch: (torch.tensor([[2.0, 0.0], [0.0, 2.0]]), batch[1]))
        >>> handles, store = attach_misclassified_store(evaluator)
        >>> images = torch.tensor([[[[0]]], [[[255]]]], dtype=torch.uint8)
        >>> _ = evaluator.run([(images, torch.tensor([1, 1]))])
        >>> store["images"].tolist(), store["predicted"].tolist(), store["targets"].tolist(), store["total"]
        ([[[[0.0]]]], [0], [1], 1)
    """
    if max_images < 1:
        raise ValueError(f"max_images must be at least 1, got {max_images}")
    store: MisclassifiedStore = _empty_store()

    def reset(engine: Engine) -> None:
        store.update(_empty_store())

    def collect(engine: Engine) -> None:
        logits, targets = engine.state.output[:2]
        images = engine.state.batch[0]
        if len(images) != len(logits):
            raise ValueError(
                f"the batch has {len(images)} images but the output has {len(logits)} predictions; "
                "the evaluator output must be (logits, targets) for the batch's images"
            )
        logits = logits.detach().cpu().float()
        targets = targets.detach().cpu().to(torch.int64)
        probabilities, predicted = torch.softmax(logits, dim=1).max(dim=1)
        wrong = (predicted != targets).nonzero().flatten()
        store["total"] += len(wrong)
        room = max_images - len(store["predicted"])
        wrong = wrong[:room]
        if len(wrong) == 0:
            return
        kept_images = _to_unit_float(images[wrong.to(images.device)].detach().cpu())
        store["images"] = kept_images if len(store["images"]) == 0 else torch.cat([store["images"], kept_images])
        store["predicted"] = torch.cat([store["predicted"], predicted[wrong]])
        store["targets"] = torch.cat([store["targets"], targets[wrong]])
        store["probabilities"] = torch.cat([store["probabilities"], probabilities[wrong]])

    def report(engine: Engine) -> None:
        logger.info(
            "Kept %d of %d misclassified images (max_images %d)",
            len(store["predicted"]),
            store["total"],
            max_images,
        )

    handles = [
        evaluator.add_event_handler(Events.STARTED, reset),
        evaluator.add_event_handler(Events.ITERATION_COMPLETED, collect),
        evaluator.add_event_handler(Events.COMPLETED, report),
    ]
    return handles, store


def _empty_store() -> MisclassifiedStore:
    return {
        "images": torch.empty(0),
        "predicted": torch.empty(0, dtype=torch.int64),
        "targets": torch.empty(0, dtype=torch.int64),
        "probabilities": torch.empty(0),
        "total": 0,
    }


def _to_unit_float(images: torch.Tensor) -> torch.Tensor:
    """Return the images as contiguous float32, dividing uint8 images by 255."""
    if images.dtype == torch.uint8:
        images = images.float() / 255
    else:
        images = images.float()
    return images.contiguous()
