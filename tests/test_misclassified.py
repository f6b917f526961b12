"""Misclassified-image store on real evaluator runs with a lookup model that is wrong on known images."""

import math

import pytest
import torch
from ignite.engine import Engine
from torch import nn
from torch.utils.data import DataLoader

from ignite_fashion import (
    CLASS_NAMES,
    ImageDataset,
    attach_misclassified_store,
    build_evaluator,
    build_metrics,
    plot_misclassified,
)

WRONG_INDICES = (1, 5, 9)
WRONG_PROBABILITY = 0.6


class LookupModel(nn.Module):
    """Model whose logits are the table row of the image's dataset index, read from its top-left pixel."""

    def __init__(self, logits):
        super().__init__()
        self.logits = logits

    def forward(self, images):
        indices = (images[:, 0, 0, 0] * 255).round().long()
        return self.logits[indices]


def wrong_class(target):
    return (target + 3) % 10


def make_dataset():
    """10 random uint8 images with classes 0-9; pixel (0, 0) of image i is i."""
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (10, 28, 28), generator=generator, dtype=torch.uint8)
    images[:, 0, 0] = torch.arange(10, dtype=torch.uint8)
    targets = torch.tensor([3, 0, 7, 9, 1, 6, 2, 8, 4, 5])
    return ImageDataset(images, targets)


def lookup_logits(targets, wrong_indices):
    """Logits whose softmax puts 0.6 on a wrong class for wrong_indices and 0.9 on the target elsewhere."""
    probabilities = torch.zeros(len(targets), 10, dtype=torch.float64)
    for index, target in enumerate(targets.tolist()):
        if index in wrong_indices:
            probabilities[index] = 0.1 / 8
            probabilities[index, wrong_class(target)] = WRONG_PROBABILITY
            probabilities[index, target] = 0.3
        else:
            probabilities[index] = 0.1 / 9
            probabilities[index, target] = 0.9
    return probabilities.log().float()


def evaluate_with_store(dataset, logits, *, shuffle, max_images=36):
    model = LookupModel(logits)
    evaluator = build_evaluator(model, build_metrics())
    handles, store = attach_misclassified_store(evaluator, max_images=max_images)
    loader = DataLoader(dataset, batch_size=4, shuffle=shuffle, generator=torch.Generator().manual_seed(1))
    evaluator.run(loader)
    return evaluator, loader, model, handles, store


def dataset_index_of(image, dataset):
    """Index of the dataset image that is pixel-equal to ``image``."""
    matches = [index for index in range(len(dataset)) if torch.equal(dataset[index][0], image)]
    assert len(matches) == 1
    return matches[0]


@pytest.mark.parametrize("shuffle", [False, True])
def test_store_keeps_exactly_wrong_images(shuffle):
    dataset = make_dataset()
    _, _, _, _, store = evaluate_with_store(dataset, lookup_logits(dataset.targets, WRONG_INDICES), shuffle=shuffle)

    found = [dataset_index_of(image, dataset) for image in store["images"]]

    assert sorted(found) == list(WRONG_INDICES)
    assert store["total"] == 3
    assert store["images"].shape == (3, 1, 28, 28)
    for position, index in enumerate(found):
        target = int(dataset.targets[index])
        assert store["targets"][position].item() == target
        assert store["predicted"][position].item() == wrong_class(target)
        assert store["probabilities"][position].item() == pytest.approx(WRONG_PROBABILITY, abs=1e-6)


@pytest.mark.parametrize("shuffle", [False, True])
def test_grid_shows_wrong_images_with_names(shuffle):
    dataset = make_dataset()
    _, _, _, _, store = evaluate_with_store(dataset, lookup_logits(dataset.targets, WRONG_INDICES), shuffle=shuffle)

    figure = plot_misclassified(store, CLASS_NAMES)

    image_axes = [axes for axes in figure.axes if axes.images]
    assert len(image_axes) == 3
    titles_by_index = {}
    for axes in image_axes:
        pixels = torch.from_numpy(axes.images[0].get_array().data).unsqueeze(0)
        titles_by_index[dataset_index_of(pixels, dataset)] = axes.get_title()
    expected = {}
    for index in WRONG_INDICES:
        target = int(dataset.targets[index])
        expected[index] = f"pred: {CLASS_NAMES[wrong_class(target)]} (0.60)\ntrue: {CLASS_NAMES[target]}"
    assert titles_by_index == expected


def test_store_reset_at_each_run():
    dataset = make_dataset()
    evaluator, loader, model, _, store = evaluate_with_store(
        dataset, lookup_logits(dataset.targets, WRONG_INDICES), shuffle=False
    )
    model.logits = lookup_logits(dataset.targets, ())

    evaluator.run(loader)

    assert store["total"] == 0
    assert len(store["images"]) == 0
    assert len(store["predicted"]) == 0
    figure = plot_misclassified(store, CLASS_NAMES)
    assert [text.get_text() for text in figure.axes[0].texts] == ["no misclassified images"]


def test_store_caps_at_max_images():
    dataset = make_dataset()
    _, _, _, _, store = evaluate_with_store(
        dataset, lookup_logits(dataset.targets, WRONG_INDICES), shuffle=False, max_images=2
    )

    found = [dataset_index_of(image, dataset) for image in store["images"]]

    assert found == [1, 5]
    assert store["total"] == 3
    assert len(store["predicted"]) == 2
    assert len(store["probabilities"]) == 2


def test_store_handles_remove_it():
    dataset = make_dataset()
    evaluator, loader, model, handles, store = evaluate_with_store(
        dataset, lookup_logits(dataset.targets, WRONG_INDICES), shuffle=False
    )
    for handle in handles:
        handle.remove()
    model.logits = lookup_logits(dataset.targets, ())

    evaluator.run(loader)

    assert store["total"] == 3
    assert len(store["images"]) == 3


def test_store_converts_uint8_channels_last():
    images = torch.randint(0, 256, (2, 3, 4, 5), dtype=torch.uint8).to(memory_format=torch.channels_last)
    logits = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    targets = torch.tensor([0, 0])
    evaluator = Engine(lambda engine, batch: (logits, batch[1]))
    _, store = attach_misclassified_store(evaluator)

    evaluator.run([(images, targets)])

    stored_images = store["images"]
    assert stored_images.dtype == torch.float32
    assert stored_images.is_contiguous()
    assert torch.equal(stored_images, images[:1].float() / 255)
    assert stored_images.min().item() >= 0.0
    assert stored_images.max().item() <= 1.0
    assert store["probabilities"].item() == pytest.approx(math.e / (1 + math.e))


def test_store_rejects_mismatched_output():
    evaluator = Engine(lambda engine, batch: (torch.zeros(3, 2), torch.zeros(3, dtype=torch.long)))
    attach_misclassified_store(evaluator)

    with pytest.raises(ValueError, match="the batch has 2 images but the output has 3 predictions"):
        evaluator.run([(torch.zeros(2, 1, 2, 2), torch.zeros(2, dtype=torch.long))])


def test_store_rejects_zero_max_images():
    with pytest.raises(ValueError, match="max_images must be at least 1, got 0"):
        attach_misclassified_store(Engine(lambda engine, batch: None), max_images=0)
