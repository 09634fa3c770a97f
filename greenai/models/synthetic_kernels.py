"""The large-kernel block kinds of ``synthetic_96`` ... ``synthetic_111`` (:mod:`greenai.models.synthetic`,
:func:`kernels_block`): blocks built around a depthwise convolution whose kernel is larger than 7x7 (9x9 to 31x31),
as RepLKNet's 31x31 ones, whose cost per MAC the earlier draws, of 3x3-7x7 depthwise kernels, could not teach.

:class:`RepLKBlock` is RepLKNet's block in its training form (the large kernel beside a small 5x5 one, both
depthwise, summed); :class:`BigKernelBlock` is a ConvNeXt-like block with a ``k x k`` depthwise convolution (the
first draw's ``convnext`` block is this one with ``k`` of 3 or 7). Both keep their input's shape ``[B, C, H, W]``.
"""

from __future__ import annotations

from torch import nn

__all__ = ["RepLKBlock", "BigKernelBlock", "kernels_block"]

#: the small depthwise kernel RepLKNet trains beside every large one (re-parameterised into it for inference)
SMALL_KERNEL = 5


def _dw_bn(c: int, k: int) -> nn.Sequential:
    """A depthwise ``k x k`` convolution (padding ``k // 2``, no bias) and its BatchNorm: shape kept for odd ``k``."""
    return nn.Sequential(nn.Conv2d(c, c, k, padding=k // 2, groups=c, bias=False), nn.BatchNorm2d(c))


class RepLKBlock(nn.Module):
    """RepLKNet's block (training form): ``x + pw2(act(dw_k(y) + dw_5(y)))`` with ``y = act(pw1(BN(x)))``.

    ``pw1`` and ``pw2`` are 1x1 convolutions ``c -> c`` with BatchNorm; ``dw_k`` a depthwise ``k x k``
    convolution, ``dw_5`` a depthwise 5x5 one on the same input, each with BatchNorm. Per sample at ``H x W`` it
    does ``H W C k^2`` depthwise MACs in the large kernel, ``H W C 25`` in the small one and ``2 H W C^2`` in the
    1x1 convolutions. No ConvFFN (RepLKNet follows every block with one; here a stage may draw other kinds).
    """

    def __init__(self, c: int, k: int, act):
        super().__init__()
        self.pre_norm = nn.BatchNorm2d(c)
        self.pw1 = nn.Sequential(nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c), act())
        self.large, self.small = _dw_bn(c, k), _dw_bn(c, SMALL_KERNEL)
        self.act = act()
        self.pw2 = nn.Sequential(nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c))

    def forward(self, x):
        y = self.pw1(self.pre_norm(x))
        return x + self.pw2(self.act(self.large(y) + self.small(y)))


class BigKernelBlock(nn.Module):
    """A ConvNeXt-like block: depthwise ``k x k`` conv (padding ``k // 2``, bias), channels-last
    ``LayerNorm(c)``, Linear ``c -> ratio c``, act, Linear back, residual. Per sample at ``H x W`` it does
    ``H W C k^2`` depthwise MACs and ``2 ratio H W C^2`` in the Linears."""

    def __init__(self, c: int, k: int, ratio: int, act):
        super().__init__()
        self.dw = nn.Conv2d(c, c, k, padding=k // 2, groups=c)
        self.norm = nn.LayerNorm(c)
        self.fc1, self.act, self.fc2 = nn.Linear(c, ratio * c), act(), nn.Linear(ratio * c, c)

    def forward(self, x):
        y = self.dw(x).permute(0, 2, 3, 1)
        y = self.fc2(self.act(self.fc1(self.norm(y))))
        return x + y.permute(0, 3, 1, 2)


def kernels_block(s: dict, c: int, act) -> nn.Module:
    """One block of a stage ``s`` of a large-kernel kind (``s["block"]``: ``replk``, ``bigdw``) on ``c``
    channels, its depthwise kernel ``s["kernel"]`` square; each keeps its input's shape (the stage downsamples and
    widens before them). ``bigdw`` takes its MLP ratio from ``s["mlp_ratio"]``."""
    kind = s["block"]
    if kind == "replk":
        return RepLKBlock(c, s["kernel"], act)
    if kind == "bigdw":
        return BigKernelBlock(c, s["kernel"], s["mlp_ratio"], act)
    raise ValueError(f"unknown large-kernel block kind {kind!r}")
