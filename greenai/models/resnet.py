"""ResNet18/34/50 (He et al. 2016, thesis 3.1.3) in torchvision's layout.

Basic blocks for 18/34, bottleneck blocks (stride on the 3x3, "v1.5") for 50;
the 7x7/2 stem convolution rebuilt for ``in_channels``.
"""

from __future__ import annotations

from torch import nn
from torchvision.models import resnet18 as _resnet18
from torchvision.models import resnet34 as _resnet34
from torchvision.models import resnet50 as _resnet50


def _adapt(model: nn.Module, in_channels: int) -> nn.Module:
    model.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
    nn.init.kaiming_normal_(model.conv1.weight, mode="fan_out", nonlinearity="relu")
    return model


def resnet18(in_channels: int = 1, num_classes: int = 10) -> nn.Module:
    """ResNet18 (basic blocks 2-2-2-2)."""
    return _adapt(_resnet18(weights=None, num_classes=num_classes), in_channels)


def resnet34(in_channels: int = 1, num_classes: int = 10) -> nn.Module:
    """ResNet34 (basic blocks 3-4-6-3)."""
    return _adapt(_resnet34(weights=None, num_classes=num_classes), in_channels)


def resnet50(in_channels: int = 1, num_classes: int = 10) -> nn.Module:
    """ResNet50 (bottleneck blocks 3-4-6-3)."""
    return _adapt(_resnet50(weights=None, num_classes=num_classes), in_channels)
