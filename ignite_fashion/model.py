"""SimpleCNN, the small convolutional classifier trained on FashionMNIST."""

from __future__ import annotations

import torch
from torch import nn


class SimpleCNN(nn.Module):
    """Three conv blocks and two fully connected layers for 28x28 images.

    Each block is a convolution, ReLU and 2x2 max-pooling. Paddings are 2, 1 and 1, chosen so that a
    28x28 input flattens to exactly 70 * 3 * 3 = 630 features::

        conv 1->20, k5, pad 2:   28x28 -> 28x28, pool -> 14x14
        conv 20->46, k4, pad 1:  14x14 -> 13x13, pool -> 6x6 (the 13th row and column are dropped)
        conv 46->70, k3, pad 1:    6x6 -> 6x6,   pool -> 3x3
        flatten 630 -> FC 512 -> ReLU -> FC num_classes

    The first and third convolutions keep the size ("same" padding). The even 4x4 kernel cannot, so
    padding 1 shrinks it by one. With ``num_classes=10`` and ``in_channels=1`` the model has 372,538
    parameters and a forward pass costs about 4.25 million multiply-adds per image.

    Args:
        num_classes: number of output logits.
        in_channels: channels of the input images.

    Example:
        >>> model = SimpleCNN()
        >>> model(torch.zeros(2, 1, 28, 28)).shape
        torch.Size([2, 10])
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1) -> None:
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"num_classes must be at least 1, got {num_classes}")
        if in_channels < 1:
            raise ValueError(f"in_channels must be at least 1, got {in_channels}")
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 20, kernel_size=5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(20, 46, kernel_size=4, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(46, 70, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(70 * 3 * 3, 512),
            nn.ReLU(),
            nn.Linear(512, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))
