"""AlexNet (thesis 2.3, 3.1) in torchvision's reference layout.

Layout: conv 11x11/4 pad 2 (64) - maxpool - conv 5x5 (192) - maxpool - conv 3x3
(384, 256, 256) - maxpool - adaptive average pool to 6x6 - dropout - FC 4096 -
dropout - FC 4096 - FC ``num_classes`` (Krizhevsky 2014 "one weird trick"
widths, as in ``torchvision.models.alexnet``). At 224x224 this layout gives the
thesis' MAC counts (665.53 MMAC with 1 channel, 712.39 MMAC with 3 channels and
a 10-class head; see ``greenai.macs``).
"""

from __future__ import annotations

from torch import nn
from torchvision.models import AlexNet


def alexnet(in_channels: int = 1, num_classes: int = 10) -> nn.Module:
    """AlexNet with ``in_channels`` input planes and ``num_classes`` outputs."""
    model = AlexNet(num_classes=num_classes)
    model.features[0] = nn.Conv2d(in_channels, 64, kernel_size=11, stride=4, padding=2)
    return model
