"""Shared fixtures and helpers: a fixed seed, a tiny synthetic dataset shaped like FashionMNIST, and the example on it."""

from __future__ import annotations

import importlib.util
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from ignite_fashion import ImageDataset

EXAMPLE_SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "train_fashion.py"


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


def load_synthetic_example():
    """Load examples/train_fashion.py with FashionMNIST replaced by 120 training and 40 test synthetic images.

    With ``--batch-size 15``, the 90 training images of the split make 6 full batches per epoch.
    """
    spec = importlib.util.spec_from_file_location("train_fashion_synthetic", EXAMPLE_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    datasets = (make_learnable_dataset(120), make_learnable_dataset(40, seed=1))
    module.load_fashion_mnist = lambda data_dir, download=True: datasets
    return module
