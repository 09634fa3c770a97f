"""The narrow-norm block kinds of ``synthetic_80`` ... ``synthetic_95`` (:mod:`greenai.models.synthetic`,
:func:`norms_block`): blocks whose layer norms normalise few values together (2-32), as DeepViT's re-attention
normalises the 2-12 heads of every attention-map entry.

:class:`ReAttention` and :class:`QKNormAttention` mix channels-last tokens ``[B, H, W, C]`` within 7x7 windows (the
map zero-padded to a multiple of 7, as :class:`~greenai.models.synthetic_blocks.WindowAttention`) inside a pre-norm
:class:`~greenai.models.synthetic_blocks.MetaBlock`; :class:`NarrowLNBlock` is a ConvNeXt-like block whose norm is
a :class:`GroupedLayerNorm` over groups of ``g`` channels.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from greenai.models.synthetic_blocks import MetaBlock
from greenai.models.synthetic_kernels import BigKernelBlock

__all__ = ["GroupedLayerNorm", "ReAttention", "QKNormAttention", "NarrowLNBlock", "norms_block"]


def _to_windows(x: torch.Tensor, window: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """``[B, H, W, C]`` zero-padded to multiples of ``window``, as ``[B * windows, window * window, C]`` tokens;
    also the padded height and width."""
    b, h, w, c = x.shape
    x = F.pad(x, (0, 0, 0, -w % window, 0, -h % window))
    hp, wp = x.shape[1], x.shape[2]
    t = x.view(b, hp // window, window, wp // window, window, c).transpose(2, 3).reshape(-1, window * window, c)
    return t, (hp, wp)


def _from_windows(t: torch.Tensor, b: int, padded: tuple[int, int], size: tuple[int, int], window: int):
    """The inverse of :func:`_to_windows`: ``[B * windows, window * window, C]`` back to ``[B, H, W, C]``."""
    (hp, wp), c = padded, t.shape[-1]
    y = t.view(b, hp // window, wp // window, window, window, c).transpose(2, 3).reshape(b, hp, wp, c)
    return y[:, :size[0], :size[1]]


class GroupedLayerNorm(nn.Module):
    """A LayerNorm over groups of ``g`` consecutive channels of channels-last tokens: ``[..., C]`` reshaped to
    ``[..., C / g, g]``, ``nn.LayerNorm(g)`` (mean and variance of ``g`` values, ``g`` weights and biases shared
    by every group), reshaped back. ``g == C`` is the usual LayerNorm; ``g`` of 2-32 normalises few values."""

    def __init__(self, c: int, g: int):
        super().__init__()
        if c % g:
            raise ValueError(f"groups of {g} channels do not divide {c} channels")
        self.g = g
        self.norm = nn.LayerNorm(g)

    def forward(self, x):
        return self.norm(x.reshape(*x.shape[:-1], -1, self.g)).reshape(x.shape)


class ReAttention(nn.Module):
    """DeepViT's re-attention within ``window x window`` windows.

    q, k, v from one Linear; the attention map ``softmax(q k^T * head_dim**-0.5)`` is computed explicitly
    (``[B * windows, heads, L, L]``, ``L = window**2``), mixed across heads by a learned ``heads x heads``
    matrix (einsum), then ``nn.LayerNorm(heads)`` normalises the ``heads`` values of every map entry (heads
    permuted last and back), then ``map @ v`` and a projection. Per sample and block the head norm sees
    ``windows x L x L`` entries of ``heads`` values each.
    """

    def __init__(self, c: int, heads: int, window: int = 7):
        super().__init__()
        if c % heads:
            raise ValueError(f"{heads} heads do not divide {c} channels")
        self.heads, self.window, self.scale = heads, window, (c // heads) ** -0.5
        self.qkv, self.proj = nn.Linear(c, 3 * c), nn.Linear(c, c)
        self.mix = nn.Parameter(torch.randn(heads, heads))
        self.head_norm = nn.LayerNorm(heads)

    def forward(self, x):
        b, h, w, c = x.shape
        t, padded = _to_windows(x, self.window)
        n, length = t.shape[0], t.shape[1]
        q, k, v = self.qkv(t).view(n, length, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        attn = (q @ k.transpose(-2, -1) * self.scale).softmax(-1)  # [n, heads, L, L]
        attn = torch.einsum("nhij,hg->ngij", attn, self.mix)
        attn = self.head_norm(attn.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        a = (attn @ v).transpose(1, 2).reshape(n, length, c)
        return _from_windows(self.proj(a), b, padded, (h, w), self.window)


class QKNormAttention(nn.Module):
    """Multi-head attention within ``window x window`` windows (scaled dot-product attention, no bias) whose
    queries and keys are each normalised by ``nn.LayerNorm(head_dim)`` per head and token (QK-norm: ViT-22B);
    the norms see ``head_dim`` values at a time."""

    def __init__(self, c: int, head_dim: int, window: int = 7):
        super().__init__()
        if c % head_dim:
            raise ValueError(f"heads of {head_dim} channels do not divide {c} channels")
        self.heads, self.head_dim, self.window = c // head_dim, head_dim, window
        self.qkv, self.proj = nn.Linear(c, 3 * c), nn.Linear(c, c)
        self.q_norm, self.k_norm = nn.LayerNorm(head_dim), nn.LayerNorm(head_dim)

    def forward(self, x):
        b, h, w, c = x.shape
        t, padded = _to_windows(x, self.window)
        n, length = t.shape[0], t.shape[1]
        q, k, v = self.qkv(t).view(n, length, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(self.q_norm(q), self.k_norm(k), v)
        return _from_windows(self.proj(a.transpose(1, 2).reshape(n, length, c)), b, padded, (h, w), self.window)


class NarrowLNBlock(BigKernelBlock):
    """A ConvNeXt-like block whose norm sees ``g`` values at a time: :class:`BigKernelBlock` (depthwise ``k x k``
    conv, norm, Linear to ``ratio x C``, act, Linear back, residual; ``[B, C, H, W]`` in and out) with a
    channels-last :class:`GroupedLayerNorm` over groups of ``g`` channels as its norm."""

    def __init__(self, c: int, g: int, ratio: int, act, k: int = 7):
        super().__init__(c, k, ratio, act)
        self.norm = GroupedLayerNorm(c, g)  # in the LayerNorm's place: same order of modules and parameters


def norms_block(s: dict, c: int, act) -> nn.Module:
    """One block of a stage ``s`` of a narrow-norm kind (``s["block"]``: ``reattn``, ``qknorm``, ``narrowln``)
    on ``c`` channels; each keeps its input's shape (the stage downsamples and widens before them).

    ``reattn`` and ``qknorm`` are the mixers of a pre-norm :class:`MetaBlock` (LayerNorm over ``c``, MLP ratio
    ``s["mlp_ratio"]``) with ``s["heads"]`` heads / heads of ``s["head_dim"]`` channels in ``s["window"]``
    windows; ``narrowln`` is a :class:`NarrowLNBlock` of groups of ``s["norm_group"]`` channels, MLP ratio 4.
    """
    kind = s["block"]
    if kind == "reattn":
        return MetaBlock(c, ReAttention(c, s["heads"], s["window"]), s["mlp_ratio"], act)
    if kind == "qknorm":
        return MetaBlock(c, QKNormAttention(c, s["head_dim"], s["window"]), s["mlp_ratio"], act)
    if kind == "narrowln":
        return NarrowLNBlock(c, s["norm_group"], s["mlp_ratio"], act, s["kernel"])
    raise ValueError(f"unknown narrow-norm block kind {kind!r}")
