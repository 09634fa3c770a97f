"""VGG11/13/16 (Simonyan & Zisserman 2015, thesis 3.1.1) without batch norm.

torchvision's reference layout (configurations A, B, D; 7x7 adaptive average
pool; classifier 4096-4096-``num_classes`` with dropout), the first convolution
rebuilt for ``in_channels``. At 224x224, VGG11's MACs match the thesis' counts
(:mod:`greenai.macs`; claims ``macs_vgg11_*`` in ``results/claims.md``).
"""

from __future__ import annotations

from torch import nn
from torchvision.models import vgg11 as _vgg11
from torchvision.models import vgg13 as _vgg13
from torchvision.models import vgg16 as _vgg16


def _adapt(model: nn.Module, in_channels: int) -> nn.Module:
    first = model.features[0]
    model.features[0] = nn.Conv2d(in_channels, first.out_channels, kernel_size=3, padding=1)
    return model


def vgg11(in_channels: int = 1, num_classes: int = 10) -> nn.Module:
    """VGG11 (configuration A), no batch norm."""
    return _adapt(_vgg11(weights=None, num_classes=num_classes), in_channels)


def vgg13(in_channels: int = 1, num_classes: int = 10) -> nn.Module:
    """VGG13 (configuration B), no batch norm."""
    return _adapt(_vgg13(weights=None, num_classes=num_classes), in_channels)


def vgg16(in_channels: int = 1, num_classes: int = 10) -> nn.Module:
    """VGG16 (configuration D), no batch norm."""
    return _adapt(_vgg16(weights=None, num_classes=num_classes), in_channels)
