"""MobileNetV1 (Howard et al. 2017) and MobileNetV2 (Sandler et al. 2018), thesis 3.1.2.

MobileNetV1 is not in torchvision; it is built here from depthwise-separable
blocks (3x3 depthwise conv - BN - ReLU - 1x1 pointwise conv - BN - ReLU) with
the paper's width-1.0 layout (Table 1): a 3x3/2 stem of 32 channels, thirteen
separable blocks up to 1024 channels, global average pool and one FC layer.
MobileNetV2 is torchvision's layout (width 1.0) with the stem rebuilt for
``in_channels``.
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models import mobilenet_v2 as _mobilenet_v2

#: (output channels, stride) of MobileNetV1's 13 depthwise-separable blocks.
_V1_BLOCKS: tuple[tuple[int, int], ...] = (
    (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
    (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1),
)  # fmt: skip


def _conv_bn_relu(in_ch: int, out_ch: int, kernel_size: int, stride: int, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, kernel_size, stride, padding=kernel_size // 2, groups=groups, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.ReLU(inplace=True),
    )


class DepthwiseSeparable(nn.Module):
    """3x3 depthwise convolution followed by a 1x1 pointwise convolution."""

    def __init__(self, in_ch: int, out_ch: int, stride: int) -> None:
        super().__init__()
        self.depthwise = _conv_bn_relu(in_ch, in_ch, 3, stride, groups=in_ch)
        self.pointwise = _conv_bn_relu(in_ch, out_ch, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


class MobileNetV1(nn.Module):
    """MobileNetV1, width multiplier 1.0."""

    def __init__(self, in_channels: int = 1, num_classes: int = 10) -> None:
        super().__init__()
        layers: list[nn.Module] = [_conv_bn_relu(in_channels, 32, 3, 2)]
        ch = 32
        for out_ch, stride in _V1_BLOCKS:
            layers.append(DepthwiseSeparable(ch, out_ch, stride))
            ch = out_ch
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(ch, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


def mobilenet_v1(in_channels: int = 1, num_classes: int = 10) -> nn.Module:
    """MobileNetV1 (width 1.0)."""
    return MobileNetV1(in_channels, num_classes)


def mobilenet_v2(in_channels: int = 1, num_classes: int = 10) -> nn.Module:
    """torchvision's MobileNetV2 (width 1.0) with a stem for ``in_channels``."""
    model = _mobilenet_v2(weights=None, num_classes=num_classes)
    stem = model.features[0][0]
    model.features[0][0] = nn.Conv2d(in_channels, stem.out_channels, 3, 2, 1, bias=False)
    nn.init.kaiming_normal_(model.features[0][0].weight, mode="fan_out")
    return model
