"""Shared fixtures: a fixed seed and a tiny synthetic dataset shaped like FashionMNIST."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from ignite_fashion import ImageDataset


@pytest.fixture(autouse=True)
def seed() -> int:
    """Seed every RNG the same way before each test."""
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
    return 0


def make_learnable_dataset(count: int = 200, *, num_classes: int = 10, seed: int = 0) -> ImageDataset:
    """Build 28x28 uint8 images whose class is a bright horizontal band at row ``3 * label``.

    Labels cycle through all classes, so every class is present; a small CNN learns the set in a few
    epochs.
    """
    generator = torch.Generator().manual_seed(seed)
    targets = torch.arange(count) % num_classes
    images = torch.randint(0, 60, (count, 28, 28), generator=generator, dtype=torch.uint8)
    for index, label in enumerate(targets.tolist()):
        images[index, 2 * label + 2 : 2 * label + 4, :] = 250
    return ImageDataset(images, targets)


@pytest.fixture
def tiny_dataset() -> ImageDataset:
    """200 learnable FashionMNIST-shaped images, 20 per class."""
    return make_learnable_dataset()
