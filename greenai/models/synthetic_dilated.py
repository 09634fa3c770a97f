"""The dilated and factorised block kinds of ``synthetic_128`` ... ``synthetic_143`` (:mod:`greenai.models.synthetic`,
:func:`dilated_block`): blocks whose convolutions are dilated or not square, as the real-time segmentation networks
(ERFNet, ESNet, EDANet, ICNet) build them, and whose cost per MAC no earlier draw had (their convolutions are all
square and undilated but for the few-group 3x3 dilated by 2 of ``synthetic_65`` ...).

:class:`FactorisedBlock` is ERFNet's non-bottleneck-1D block; :class:`DilatedBasicBlock` a ResNet basic block
whose two 3x3 convolutions are dilated, as the later stages of a dilated ResNet (ICNet's, DeepLab's). Both keep
their input's shape ``[B, C, H, W]``.
"""

from __future__ import annotations

from torch import nn

__all__ = ["FactorisedBlock", "DilatedBasicBlock", "dilated_block"]


class FactorisedBlock(nn.Module):
    """ERFNet's non-bottleneck-1D block: ``act(x + BN(c1x3_d(act(c3x1_d(act(BN(c1x3(act(c3x1(x))))))))))``.

    Four convolutions ``c -> c`` with bias: a 3x1 and a 1x3, then a 3x1 dilated by ``dilation`` along H and a
    1x3 dilated along W (padding keeps the map). Per sample at ``H x W`` it does ``12 H W C^2`` MACs, all in
    non-square kernels, half of them dilated when ``dilation`` is above 1. No dropout (ERFNet's is off in the
    encoder's early blocks and in every forward a step times).
    """

    def __init__(self, c: int, dilation: int, act):
        super().__init__()
        d = int(dilation)
        self.body = nn.Sequential(
            nn.Conv2d(c, c, (3, 1), padding=(1, 0)), act(), nn.Conv2d(c, c, (1, 3), padding=(0, 1)),
            nn.BatchNorm2d(c), act(),
            nn.Conv2d(c, c, (3, 1), padding=(d, 0), dilation=(d, 1)), act(),
            nn.Conv2d(c, c, (1, 3), padding=(0, d), dilation=(1, d)), nn.BatchNorm2d(c))
        self.act = act()

    def forward(self, x):
        return self.act(x + self.body(x))


class DilatedBasicBlock(nn.Module):
    """A ResNet basic block of two 3x3 convolutions ``c -> c`` dilated by ``dilation`` (no bias, each with its
    BatchNorm; padding ``dilation`` keeps the map): ``act(x + BN(conv(act(BN(conv(x))))))``. Per sample at
    ``H x W`` it does ``18 H W C^2`` MACs, all dilated and square."""

    def __init__(self, c: int, dilation: int, act):
        super().__init__()
        d = int(dilation)
        self.body = nn.Sequential(nn.Conv2d(c, c, 3, padding=d, dilation=d, bias=False), nn.BatchNorm2d(c), act(),
                                  nn.Conv2d(c, c, 3, padding=d, dilation=d, bias=False), nn.BatchNorm2d(c))
        self.act = act()

    def forward(self, x):
        return self.act(x + self.body(x))


def dilated_block(s: dict, c: int, act) -> nn.Module:
    """One block of a stage ``s`` of a dilated kind (``s["block"]``: ``nb1d``, ``dilres``) on ``c`` channels,
    dilated by ``s["dilation"]``; each keeps its input's shape (the stage downsamples and widens before them)."""
    kind = s["block"]
    if kind == "nb1d":
        return FactorisedBlock(c, s["dilation"], act)
    if kind == "dilres":
        return DilatedBasicBlock(c, s["dilation"], act)
    raise ValueError(f"unknown dilated block kind {kind!r}")
