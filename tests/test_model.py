import pytest
import torch

from ignite_fashion import SimpleCNN


def test_parameter_count():
    model = SimpleCNN()

    assert sum(parameter.numel() for parameter in model.parameters()) == 372_538


def test_parameter_count_by_hand():
    conv = 20 * 1 * 5 * 5 + 20 + 46 * 20 * 4 * 4 + 46 + 70 * 46 * 3 * 3 + 70
    dense = 630 * 512 + 512 + 512 * 10 + 10

    assert conv + dense == 372_538


def test_feature_and_output_shapes():
    model = SimpleCNN()
    images = torch.rand(5, 1, 28, 28)

    assert model.features(images).shape == (5, 70, 3, 3)
    assert model(images).shape == (5, 10)


def test_layer_shapes_step_by_step():
    model = SimpleCNN()
    shapes = []
    x = torch.rand(1, 1, 28, 28)
    for layer in model.features:
        x = layer(x)
        if isinstance(layer, torch.nn.MaxPool2d):
            shapes.append(tuple(x.shape[1:]))

    assert shapes == [(20, 14, 14), (46, 6, 6), (70, 3, 3)]


def test_other_classes_and_channels():
    model = SimpleCNN(num_classes=3, in_channels=3)

    assert model(torch.rand(2, 3, 28, 28)).shape == (2, 3)


@pytest.mark.parametrize("kwargs", [{"num_classes": 0}, {"in_channels": 0}])
def test_invalid_sizes_rejected(kwargs):
    with pytest.raises(ValueError, match="must be at least 1"):
        SimpleCNN(**kwargs)
