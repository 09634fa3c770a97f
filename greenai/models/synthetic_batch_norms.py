"""The few-channel batch-norm block kinds of ``synthetic_112`` ... ``synthetic_127`` (:mod:`greenai.models.synthetic`,
:func:`batch_norms_block`): blocks whose batch norms run over 1-32 channels of a reshaped map, as RepMLPNet's
``BatchNorm2d(1)`` over ``[24576, 1, 56, 56]`` (batch 256), where each of a norm's channels holds many values.

A batch norm's GPU time grows with the values one of its channels holds (``N x H x W`` of its input) once its
channels are few (below about 100), far above what its bytes cost; the earlier draws' batch norms run over 16 or
more channels of the map as it is, so they could not teach that price.

:class:`FewChannelBatchNorm` normalises groups of ``s`` consecutive channels of ``[B, C, H, W]`` as
``BatchNorm2d(s)`` over ``[B C / s, s, H, W]``; :class:`FewBNBlock` puts it before a 1x1 convolution.
:class:`PartitionPerceptron` is RepMLPNet's partition perceptron (``fc3`` and ``fc3_bn``) in ``p x p``
partitions of ``s`` sharesets; :class:`RepMLPLikeBlock` puts it before a 1x1 convolution. Both blocks keep their
input's shape ``[B, C, H, W]`` and add it back (residual).
"""

from __future__ import annotations

from torch import nn
from torch.nn import functional as F

__all__ = ["BN_CHANNELS", "PARTITION", "FewChannelBatchNorm", "FewBNBlock", "PartitionPerceptron",
           "RepMLPLikeBlock", "batch_norms_block"]

#: the channels of the few-channel batch norms (``bn_channels`` of a stage: ``s`` below)
BN_CHANNELS = (1, 2, 4, 8, 16, 32)
#: the side of :class:`PartitionPerceptron`'s square partitions [pixels]: every stage's map (56, 28, 14 or 7 pixels
#: a side at 1x224x224 input) is a multiple of it
PARTITION = 7


def _pointwise_bn(c: int) -> nn.Sequential:
    """A 1x1 convolution ``c -> c`` (no bias) and its ``BatchNorm2d(c)``."""
    return nn.Sequential(nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c))


class FewChannelBatchNorm(nn.Module):
    """A batch norm over groups of ``s`` consecutive channels: ``[B, C, H, W]`` reshaped to ``[B C / s, s, H, W]``,
    ``nn.BatchNorm2d(s)``, reshaped back. Each of its ``s`` channels holds ``B C H W / s`` values (the mean and
    variance of each are over them; ``s`` weights and biases shared by every group); ``s == C`` is the usual
    ``BatchNorm2d(C)``."""

    def __init__(self, c: int, s: int):
        super().__init__()
        if c % s:
            raise ValueError(f"groups of {s} channels do not divide {c} channels")
        self.s = s
        self.norm = nn.BatchNorm2d(s)

    def forward(self, x):
        b, c, h, w = x.shape
        return self.norm(x.reshape(b * c // self.s, self.s, h, w)).reshape(b, c, h, w)


class FewBNBlock(nn.Module):
    """``x + BN_c(pw(act(FewChannelBatchNorm_s(x))))``: the few-channel batch norm, an activation, a 1x1
    convolution ``c -> c`` and ``BatchNorm2d(c)``, residual. Per sample at ``H x W`` it does ``H W C^2`` MACs;
    its few-channel norm normalises ``H W C`` values per sample, ``H W C / s`` per channel."""

    def __init__(self, c: int, s: int, act):
        super().__init__()
        self.norm = FewChannelBatchNorm(c, s)
        self.act = act()
        self.pw = _pointwise_bn(c)

    def forward(self, x):
        return x + self.pw(self.act(self.norm(x)))


class PartitionPerceptron(nn.Module):
    """RepMLPNet's partition perceptron (its ``fc3`` and ``fc3_bn``) in ``p x p`` partitions, ``s`` sharesets.

    ``[B, C, H, W]`` is cut into ``(H / p) x (W / p)`` partitions, ``[B (H/p) (W/p), C, p, p]``; every ``s``
    consecutive channels of a partition, ``[-1, s p^2, 1, 1]``, go through a 1x1 convolution of ``s`` groups
    (``s p^2 -> s p^2``, no bias: each channel's ``p x p`` pixels mixed by the ``p^2 x p^2`` matrix of its
    shareset), then, as ``[-1, s, p, p]``, ``nn.BatchNorm2d(s)`` (``B C H W / s`` values per channel), and back
    to ``[B, C, H, W]``. Per sample it does ``H W C p^2`` MACs. A map not a multiple of ``p`` is zero-padded right
    and bottom and cropped back (never at 1x224x224 input: every stage's side is 56, 28, 14 or 7).
    """

    def __init__(self, c: int, s: int, p: int = PARTITION):
        super().__init__()
        if c % s:
            raise ValueError(f"{s} sharesets do not divide {c} channels")
        self.s, self.p = s, p
        self.fc = nn.Conv2d(s * p * p, s * p * p, 1, groups=s, bias=False)
        self.norm = nn.BatchNorm2d(s)

    def forward(self, x):
        b, c, h, w = x.shape
        p, s = self.p, self.s
        x = F.pad(x, (0, -w % p, 0, -h % p))
        hp, wp = x.shape[2] // p, x.shape[3] // p  # partitions per column and per row
        parts = x.reshape(b, c, hp, p, wp, p).permute(0, 2, 4, 1, 3, 5)  # [B, H/p, W/p, C, p, p]
        y = self.norm(self.fc(parts.reshape(-1, s * p * p, 1, 1)).reshape(-1, s, p, p))
        y = y.reshape(b, hp, wp, c, p, p).permute(0, 3, 1, 4, 2, 5).reshape(b, c, hp * p, wp * p)
        return y[:, :, :h, :w]


class RepMLPLikeBlock(nn.Module):
    """``x + BN_c(pw(act(PartitionPerceptron(x))))``: RepMLPNet's partition perceptron (``p x p`` partitions,
    ``s`` sharesets, ``BatchNorm2d(s)``), an activation, a 1x1 convolution ``c -> c`` and ``BatchNorm2d(c)``,
    residual (no global perceptron, no re-parameterising convolutions, no ConvFFN). Per sample at ``H x W`` it
    does ``H W C p^2 + H W C^2`` MACs."""

    def __init__(self, c: int, s: int, act, p: int = PARTITION):
        super().__init__()
        self.perceptron = PartitionPerceptron(c, s, p)
        self.act = act()
        self.pw = _pointwise_bn(c)

    def forward(self, x):
        return x + self.pw(self.act(self.perceptron(x)))


def batch_norms_block(s: dict, c: int, act) -> nn.Module:
    """One block of a stage ``s`` of a few-channel batch-norm kind (``s["block"]``: ``fewbn``, ``repmlp``) on ``c``
    channels, its norm over ``s["bn_channels"]`` channels; each keeps its input's shape (the stage downsamples and
    widens before them). ``repmlp`` takes its partitions' side from ``s["partition"]``."""
    kind = s["block"]
    if kind == "fewbn":
        return FewBNBlock(c, s["bn_channels"], act)
    if kind == "repmlp":
        return RepMLPLikeBlock(c, s["bn_channels"], act, s["partition"])
    raise ValueError(f"unknown few-channel batch-norm block kind {kind!r}")
