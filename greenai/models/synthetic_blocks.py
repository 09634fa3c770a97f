"""The layers of the synthetic architectures' block kinds (:mod:`greenai.models.synthetic`), those of
``synthetic_48`` ... ``synthetic_79`` in full (:func:`kinds_block`).

Token mixers run on channels-last tokens ``[B, H, W, C]`` inside a pre-norm
:class:`MetaBlock` (mixer, then MLP, each residual): :class:`RNN2D` (a
bidirectional LSTM or GRU along rows, another along columns, as Sequencer2D),
:class:`WindowAttention` (7x7 windows, learned relative-position bias passed to
scaled dot-product attention as ``attn_mask``, shifted by 3 every other block,
Swin-like), :class:`PooledAttention` (keys and values from tokens pooled by
stride 2, MViT/PVT-like), :class:`LinearAttention` (ReLU or elu+1 kernel,
einsum) and :class:`GlobalFilter` (rfft2, a learned complex filter, irfft2:
GFNet). ``shift`` (ShiftViT: 4 channel groups rolled by one pixel, then MLP)
and ``pool`` (PoolFormer: average pool minus input) mix channels-first tokens;
:class:`GatedMLPBlock` is a GLU MLP, :class:`SEBasicBlock` a residual block with
squeeze-excitation gating and :class:`PreActBlock` a pre-activation residual
block (BN-act-conv, ResNetV2).

The kinds of ``synthetic_64`` ...: :class:`GroupedPointwiseBlock` (grouped 1x1 conv with 2-8 groups, optional
:class:`ChannelShuffle`, depthwise 3x3, grouped 1x1: IGCV3, ShuffleNet v1, MENet) and :class:`FewGroupBlock`
(a ``k x k`` conv of 2 or 4 groups, 2x2, 3x3 or 3x3 dilated by 2, then a grouped 1x1: ESPNet, CPUBone).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["conv_bn_act", "SqueezeExcite", "RNN2D", "WindowAttention", "PooledAttention", "LinearAttention",
           "GlobalFilter", "Shift", "PoolMix", "MetaBlock", "GatedMLPBlock", "SEBasicBlock", "PreActBlock",
           "ChannelShuffle", "GroupedPointwiseBlock", "FewGroupBlock", "kinds_block"]


def conv_bn_act(cin, cout, k, act, stride=1, groups=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(cout), act())


class SqueezeExcite(nn.Module):
    """Channel gating: global average pool, 1x1 conv to ``max(8, c // reduction)``, act, 1x1 conv, sigmoid."""

    def __init__(self, c, act, reduction: int = 4):
        super().__init__()
        hidden = max(8, c // reduction)
        self.fc1, self.act, self.fc2 = nn.Conv2d(c, hidden, 1), act(), nn.Conv2d(hidden, c, 1)

    def forward(self, x):
        s = F.adaptive_avg_pool2d(x, 1)
        return x * torch.sigmoid(self.fc2(self.act(self.fc1(s))))


# --------------------------------------------------------------------------- token mixers ([B, H, W, C])


class RNN2D(nn.Module):
    """Sequencer2D's mixer: a bidirectional ``cell`` (``lstm`` or ``gru``) of ``hidden`` units along each row and
    another along each column, their four outputs concatenated and projected back to ``c`` channels."""

    def __init__(self, c, hidden, cell: str):
        super().__init__()
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU}[cell]
        self.rows = rnn(c, hidden, batch_first=True, bidirectional=True)
        self.cols = rnn(c, hidden, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(4 * hidden, c)

    def forward(self, x):
        b, h, w, c = x.shape
        rows, _ = self.rows(x.reshape(b * h, w, c))
        cols, _ = self.cols(x.transpose(1, 2).reshape(b * w, h, c))
        rows = rows.reshape(b, h, w, -1)
        cols = cols.reshape(b, w, h, -1).transpose(1, 2)
        return self.fc(torch.cat([rows, cols], -1))


class WindowAttention(nn.Module):
    """Multi-head attention within ``window x window`` windows (the map zero-padded to a multiple of the
    window), a learned relative-position bias per head as ``attn_mask``; ``shift`` rolls the map by half a
    window first and back after (no mask between the rolled-in regions)."""

    def __init__(self, c, heads, window: int = 7, shift: bool = False):
        super().__init__()
        self.heads, self.window, self.shift = heads, window, shift
        self.qkv, self.proj = nn.Linear(c, 3 * c), nn.Linear(c, c)
        self.bias_table = nn.Parameter(torch.zeros((2 * window - 1) ** 2, heads))
        nn.init.trunc_normal_(self.bias_table, std=0.02)
        pos = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")).flatten(1)
        rel = (pos[:, :, None] - pos[:, None, :]).permute(1, 2, 0) + (window - 1)  # [w*w, w*w, 2]
        self.register_buffer("bias_index", rel[..., 0] * (2 * window - 1) + rel[..., 1], persistent=False)

    def forward(self, x):
        b, h, w, c = x.shape
        ws = self.window
        x = F.pad(x, (0, 0, 0, -w % ws, 0, -h % ws))
        hp, wp = x.shape[1], x.shape[2]
        if self.shift:
            x = torch.roll(x, (-(ws // 2), -(ws // 2)), (1, 2))
        t = x.view(b, hp // ws, ws, wp // ws, ws, c).transpose(2, 3).reshape(-1, ws * ws, c)  # [B*nW, L, C]
        q, k, v = self.qkv(t).view(t.shape[0], ws * ws, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        bias = self.bias_table[self.bias_index].permute(2, 0, 1).to(q.dtype)  # [heads, L, L]
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=bias).transpose(1, 2).reshape(-1, ws * ws, c)
        y = self.proj(a).view(b, hp // ws, wp // ws, ws, ws, c).transpose(2, 3).reshape(b, hp, wp, c)
        if self.shift:
            y = torch.roll(y, (ws // 2, ws // 2), (1, 2))
        return y[:, :h, :w]


class PooledAttention(nn.Module):
    """Attention of every token to keys and values from the tokens pooled by stride 2 (``avg``: 2x2 average
    pooling, MViT-like; ``conv``: a 2x2 stride-2 convolution and LayerNorm, PVT's spatial reduction)."""

    def __init__(self, c, heads, pool: str):
        super().__init__()
        self.heads = heads
        self.q, self.kv, self.proj = nn.Linear(c, c), nn.Linear(c, 2 * c), nn.Linear(c, c)
        self.pool = (nn.AvgPool2d(2, ceil_mode=True) if pool == "avg" else
                     nn.Conv2d(c, c, 2, stride=2))
        self.norm = nn.LayerNorm(c) if pool == "conv" else nn.Identity()

    def forward(self, x):
        b, h, w, c = x.shape
        d = c // self.heads
        q = self.q(x).view(b, h * w, self.heads, d).transpose(1, 2)
        pooled = self.norm(self.pool(x.permute(0, 3, 1, 2)).flatten(2).transpose(1, 2))  # [B, S, C]
        k, v = self.kv(pooled).view(b, -1, 2, self.heads, d).permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, h, w, c)
        return self.proj(a)


class LinearAttention(nn.Module):
    """Kernelised attention in time linear in the tokens: ``phi(q) (phi(k)^T v)`` normalised by
    ``phi(q) sum phi(k)``, with ``phi`` ReLU or elu+1 (einsum products)."""

    def __init__(self, c, heads, kernel: str):
        super().__init__()
        self.heads, self.kernel = heads, kernel
        self.qkv, self.proj = nn.Linear(c, 3 * c), nn.Linear(c, c)

    def forward(self, x):
        b, h, w, c = x.shape
        q, k, v = self.qkv(x).view(b, h * w, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k = (F.relu(q), F.relu(k)) if self.kernel == "relu" else (F.elu(q) + 1, F.elu(k) + 1)
        kv = torch.einsum("bhnd,bhne->bhde", k, v)
        z = 1 / (torch.einsum("bhnd,bhd->bhn", q, k.sum(2)) + 1e-6)
        a = torch.einsum("bhnd,bhde->bhne", q, kv) * z.unsqueeze(-1)
        return self.proj(a.transpose(1, 2).reshape(b, h, w, c))


class GlobalFilter(nn.Module):
    """GFNet's mixer: rfft2 over the map, times a learned complex filter per channel, irfft2 (in float32).

    The filter is sized for a ``size x size`` map (the stage's resolution at 224x224 input); at another
    resolution it is interpolated bilinearly to the map's spectrum.
    """

    def __init__(self, c, size: int):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(size, size // 2 + 1, c, 2) * 0.02)

    def forward(self, x):
        b, h, w, c = x.shape
        weight = self.weight
        if weight.shape[:2] != (h, w // 2 + 1):
            weight = F.interpolate(weight.permute(2, 3, 0, 1).reshape(1, 2 * c, *weight.shape[:2]),
                                   size=(h, w // 2 + 1), mode="bilinear", align_corners=False)
            weight = weight.reshape(c, 2, h, w // 2 + 1).permute(2, 3, 0, 1)
        spectrum = torch.fft.rfft2(x.float(), dim=(1, 2), norm="ortho")
        spectrum = spectrum * torch.view_as_complex(weight.float().contiguous())
        return torch.fft.irfft2(spectrum, s=(h, w), dim=(1, 2), norm="ortho").to(x.dtype)


class Shift(nn.Module):
    """ShiftViT's mixer (no weights): 4 groups of ``c // div`` channels rolled by one pixel left, right, up,
    down; the other channels kept."""

    def __init__(self, div: int):
        super().__init__()
        self.div = div

    def forward(self, x):
        g = x.shape[1] // self.div
        return torch.cat([torch.roll(x[:, :g], 1, 3), torch.roll(x[:, g:2 * g], -1, 3),
                          torch.roll(x[:, 2 * g:3 * g], 1, 2), torch.roll(x[:, 3 * g:4 * g], -1, 2),
                          x[:, 4 * g:]], 1)


class PoolMix(nn.Module):
    """PoolFormer's mixer: 3x3 average pooling (stride 1, padding not counted) minus its input."""

    def forward(self, x):
        return F.avg_pool2d(x, 3, 1, 1, count_include_pad=False) - x


# --------------------------------------------------------------------------- blocks ([B, C, H, W] in and out)


class MetaBlock(nn.Module):
    """``x + mixer(norm1(x))``, then ``x + mlp(norm2(x))`` (MLP ratio ``ratio``).

    ``norm`` ``ln``: channels-last LayerNorm and Linear MLP around a ``[B, H, W, C]`` mixer; ``gn``
    (PoolFormer: GroupNorm of one group) and ``bn`` (ShiftViT: BatchNorm) run channels-first with a 1x1-conv
    MLP. ``residual_mixer=False`` applies the mixer without a residual and without norm (ShiftViT's shift).
    """

    def __init__(self, c, mixer, ratio, act, norm: str = "ln", residual_mixer: bool = True):
        super().__init__()
        self.mixer, self.channels_last, self.residual_mixer = mixer, norm == "ln", residual_mixer
        make_norm = {"ln": nn.LayerNorm, "gn": lambda n: nn.GroupNorm(1, n), "bn": nn.BatchNorm2d}[norm]
        self.norm1 = make_norm(c) if residual_mixer else nn.Identity()
        self.norm2 = make_norm(c)
        linear = nn.Linear if self.channels_last else (lambda i, o: nn.Conv2d(i, o, 1))
        self.mlp = nn.Sequential(linear(c, ratio * c), act(), linear(ratio * c, c))

    def forward(self, x):
        if self.channels_last:
            x = x.permute(0, 2, 3, 1)
        x = x + self.mixer(self.norm1(x)) if self.residual_mixer else self.mixer(x)
        x = x + self.mlp(self.norm2(x))
        return x.permute(0, 3, 1, 2) if self.channels_last else x


class GatedMLPBlock(nn.Module):
    """``x + fc2(act(a) * g)`` with ``a, g`` = halves of ``fc1(LayerNorm(x))`` (a GLU MLP, hidden
    ``ratio * c``); ``conv_gate`` passes ``g`` through a depthwise 3x3 convolution first (ConvGLU)."""

    def __init__(self, c, ratio, act, conv_gate: bool):
        super().__init__()
        hidden = ratio * c
        self.norm, self.fc1, self.act, self.fc2 = nn.LayerNorm(c), nn.Linear(c, 2 * hidden), act(), nn.Linear(hidden, c)
        self.dw = nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden) if conv_gate else None

    def forward(self, x):
        t = x.permute(0, 2, 3, 1)
        a, g = self.fc1(self.norm(t)).chunk(2, -1)
        if self.dw is not None:
            g = self.dw(g.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        return x + self.fc2(self.act(a) * g).permute(0, 3, 1, 2)


class SEBasicBlock(nn.Module):
    """SENet's basic block: ``k x k`` conv-BN-act, ``k x k`` conv-BN, squeeze-excitation gating, plus the
    shortcut (1x1 conv-BN when the shape changes), then act."""

    def __init__(self, cin, cout, k, stride, reduction, act):
        super().__init__()
        self.body = nn.Sequential(conv_bn_act(cin, cout, k, act, stride=stride),
                                  nn.Conv2d(cout, cout, k, padding=k // 2, bias=False), nn.BatchNorm2d(cout),
                                  SqueezeExcite(cout, act, reduction))
        self.short = (nn.Identity() if cin == cout and stride == 1 else
                      nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout)))
        self.act = act()

    def forward(self, x):
        return self.act(self.body(x) + self.short(x))


class PreActBlock(nn.Module):
    """ResNetV2's pre-activation block: ``p = act(BN(x))``; body BN-act-conv chains on ``p`` (two ``k x k``,
    or 1x1 / ``k x k`` / 1x1 at a quarter width when ``bottleneck``); shortcut ``x``, or a 1x1 conv of ``p``."""

    def __init__(self, cin, cout, k, stride, bottleneck, act):
        super().__init__()
        self.pre = nn.Sequential(nn.BatchNorm2d(cin), act())
        if bottleneck:
            mid = max(16, cout // 4)
            self.body = nn.Sequential(nn.Conv2d(cin, mid, 1, bias=False), nn.BatchNorm2d(mid), act(),
                                      nn.Conv2d(mid, mid, k, stride=stride, padding=k // 2, bias=False),
                                      nn.BatchNorm2d(mid), act(), nn.Conv2d(mid, cout, 1, bias=False))
        else:
            self.body = nn.Sequential(nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=False),
                                      nn.BatchNorm2d(cout), act(),
                                      nn.Conv2d(cout, cout, k, padding=k // 2, bias=False))
        self.short = None if cin == cout and stride == 1 else nn.Conv2d(cin, cout, 1, stride=stride, bias=False)

    def forward(self, x):
        p = self.pre(x)
        return self.body(p) + (x if self.short is None else self.short(p))


class ChannelShuffle(nn.Module):
    """ShuffleNet's channel shuffle: ``groups`` groups of channels interleaved (view, transpose, reshape)."""

    def __init__(self, groups: int):
        super().__init__()
        self.groups = groups

    def forward(self, x):
        b, c, h, w = x.shape
        return x.view(b, self.groups, c // self.groups, h, w).transpose(1, 2).reshape(b, c, h, w)


class GroupedPointwiseBlock(nn.Module):
    """A bottleneck of grouped 1x1 convolutions (IGCV3, ShuffleNet v1, MENet).

    1x1 conv ``cin -> mid`` in ``groups`` groups (one group when ``groups`` does not divide ``cin``, as
    ShuffleNet's first unit), BN, act, optional :class:`ChannelShuffle`, depthwise 3x3 at ``stride``, BN (and
    act when ``expand > 1``), 1x1 conv ``mid -> cout`` in ``groups`` groups, BN; residual when the shape is
    kept. ``mid`` is ``cout x expand`` rounded down to a multiple of ``groups``, at least 2 channels per group.
    """

    def __init__(self, cin, cout, stride, groups, expand, shuffle, act):
        super().__init__()
        g = groups
        mid = max(2 * g, int(cout * expand) // g * g)
        body = [nn.Conv2d(cin, mid, 1, groups=g if cin % g == 0 else 1, bias=False), nn.BatchNorm2d(mid), act()]
        if shuffle:
            body.append(ChannelShuffle(g))
        body += [nn.Conv2d(mid, mid, 3, stride=stride, padding=1, groups=mid, bias=False), nn.BatchNorm2d(mid)]
        if expand > 1:
            body.append(act())
        body += [nn.Conv2d(mid, cout, 1, groups=g, bias=False), nn.BatchNorm2d(cout)]
        self.body = nn.Sequential(*body)
        self.residual = cin == cout and stride == 1

    def forward(self, x):
        return x + self.body(x) if self.residual else self.body(x)


class FewGroupBlock(nn.Module):
    """A ``k x k`` convolution of few groups, then a grouped 1x1 (ESPNet, CPUBone).

    ``k x k`` conv ``cin -> mid = cout x expand`` in ``groups`` groups (one when ``groups`` does not divide
    ``cin``) at ``stride``: ``kernel`` 2 is a 2x2 conv (stride 2 without padding; stride 1 after zero-padding
    the right and bottom by one pixel), ``kernel`` 3 a 3x3 conv dilated by ``dilation`` (padding
    ``dilation``); BN, act, optional :class:`ChannelShuffle`, 1x1 conv ``mid -> cout`` in ``groups`` groups,
    BN; residual when the shape is kept.
    """

    def __init__(self, cin, cout, stride, groups, kernel, dilation, expand, shuffle, act):
        super().__init__()
        g, mid = groups, cout * expand
        body: list[nn.Module] = []
        if kernel == 2 and stride == 1:
            body.append(nn.ZeroPad2d((0, 1, 0, 1)))
        pad = 0 if kernel == 2 else dilation
        body += [nn.Conv2d(cin, mid, kernel, stride=stride, padding=pad, dilation=dilation,
                           groups=g if cin % g == 0 else 1, bias=False), nn.BatchNorm2d(mid), act()]
        if shuffle:
            body.append(ChannelShuffle(g))
        body += [nn.Conv2d(mid, cout, 1, groups=g, bias=False), nn.BatchNorm2d(cout)]
        self.body = nn.Sequential(*body)
        self.residual = cin == cout and stride == 1

    def forward(self, x):
        return x + self.body(x) if self.residual else self.body(x)


def kinds_block(s: dict, cin: int, cout: int, stride: int, d: int, act) -> nn.Module:
    """Block ``d`` (0-based) of a stage ``s`` of one of the kinds of ``synthetic_48`` ... (``s["block"]``).

    ``se``, ``preact``, ``gpw`` and ``fewgroup`` take ``cin -> cout`` channels at ``stride``; the others keep
    their input's shape (``cin == cout``, ``stride == 1``: the stage downsamples and widens before them).
    """
    kind = s["block"]
    if kind == "gpw":
        return GroupedPointwiseBlock(cin, cout, stride, s["groups"], s["expand"], s["shuffle"], act)
    if kind == "fewgroup":
        return FewGroupBlock(cin, cout, stride, s["groups"], s["kernel"], s["dilation"], s["expand"], s["shuffle"],
                             act)
    if kind == "se":
        return SEBasicBlock(cin, cout, s["kernel"], stride, s["reduction"], act)
    if kind == "preact":
        return PreActBlock(cin, cout, s["kernel"], stride, s["bottleneck"], act)
    if cin != cout or stride != 1:
        raise ValueError(f"a {kind!r} block keeps its input's shape (got {cin}->{cout}, stride {stride})")
    if kind == "gated":
        return GatedMLPBlock(cout, s["mlp_ratio"], act, s["conv_gate"])
    if kind == "shift":
        return MetaBlock(cout, Shift(s["shift_div"]), s["mlp_ratio"], act, norm="bn", residual_mixer=False)
    if kind == "pool":
        return MetaBlock(cout, PoolMix(), s["mlp_ratio"], act, norm="gn")
    mixers = {"lstm": lambda: RNN2D(cout, s.get("hidden"), "lstm"),
              "gru": lambda: RNN2D(cout, s.get("hidden"), "gru"),
              "window": lambda: WindowAttention(cout, s.get("heads"), s.get("window"), shift=d % 2 == 1),
              "pooled": lambda: PooledAttention(cout, s.get("heads"), s.get("pool")),
              "linear": lambda: LinearAttention(cout, s.get("heads"), s.get("kernel_fn")),
              "fft": lambda: GlobalFilter(cout, s.get("resolution"))}
    if kind not in mixers:
        raise ValueError(f"unknown block kind {kind!r}")
    return MetaBlock(cout, mixers[kind](), s["mlp_ratio"], act)
