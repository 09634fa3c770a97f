"""Random image classifiers built from the common blocks of modern CNNs and transformers.

They teach :mod:`greenai.predict` what each kind of work costs (the zoo's features move together, so a fit on it
alone cannot tell a grouped convolution, a channels-last MLP, an attention block or a LayerNorm apart). Each model
draws, from its index as the random seed, a stem, 2-4 stages of one block kind each, widths, depths, an activation
and a head; the draw is a plain dict (:func:`synthetic_spec`), so a row can always be traced back to its network.
:data:`SYNTHETIC_NAMES` (``synthetic_00`` ... ``_47``) draw from :data:`BLOCKS`; each later draw of 16 leads its
first stage with kinds of its own, mixed with :data:`BLOCKS` later: :data:`KINDS_NAMES` (``_48`` ...,
:data:`KINDS_BLOCKS`: recurrent, windowed / pooled / linear attention, FFT, shift and pooling mixers, gating,
pre-activation), :data:`GROUPED_NAMES` (``_64`` ..., :data:`GROUPED_KINDS`: grouped 1x1 bottlenecks, ``k x k``
convolutions of 2 or 4 groups), :data:`NORMS_NAMES` (``_80`` ..., :data:`NORM_KINDS`: layer norms over 2-32
values), :data:`KERNEL_NAMES` (``_96`` ..., :data:`KERNEL_KINDS`: depthwise kernels of 9x9 to 31x31),
:data:`BATCH_NORM_NAMES` (``_112`` ..., :data:`BATCH_NORM_KINDS`: batch norms over 1-32 channels of a reshaped map),
:data:`DILATED_NAMES` (``_128`` ..., :data:`DILATED_KINDS`: ERFNet's factorised 3x1 / 1x3 block, a dilated basic
block), each kind in a module ``synthetic_*`` beside this one. The kinds in full: ``docs/models.md``.

>>> from greenai.models.synthetic import SYNTHETIC_NAMES, synthetic_spec, build_synthetic
>>> synthetic_spec("synthetic_00")["stages"][0]["block"]
>>> net = build_synthetic("synthetic_00", in_channels=1, num_classes=10)  # 224x224 input
"""

from __future__ import annotations

import random

import torch
from torch import nn
from torch.nn import functional as F

from greenai.models.synthetic_batch_norms import BN_CHANNELS, PARTITION, batch_norms_block
from greenai.models.synthetic_blocks import ChannelShuffle, SqueezeExcite, conv_bn_act, kinds_block
from greenai.models.synthetic_dilated import dilated_block
from greenai.models.synthetic_kernels import BigKernelBlock, kernels_block
from greenai.models.synthetic_norms import norms_block

__all__ = ["N_SYNTHETIC", "SYNTHETIC_NAMES", "KINDS_NAMES", "GROUPED_NAMES", "NORMS_NAMES", "KERNEL_NAMES",
           "BATCH_NORM_NAMES", "DILATED_NAMES", "ALL_SYNTHETIC_NAMES", "BLOCKS", "KINDS_BLOCKS", "GROUPED_KINDS",
           "NORM_KINDS", "KERNEL_KINDS", "BATCH_NORM_KINDS", "DILATED_KINDS", "synthetic_spec", "build_synthetic", "is_synthetic"]

#: how many synthetic models of the first draw there are (``synthetic_00`` ... ``synthetic_47``)
N_SYNTHETIC = 48
#: how many synthetic models lead with a kind of :data:`KINDS_BLOCKS` (``synthetic_48`` ... ``synthetic_63``)
N_KINDS = 16
SYNTHETIC_NAMES: tuple[str, ...] = tuple(f"synthetic_{i:02d}" for i in range(N_SYNTHETIC))
KINDS_NAMES: tuple[str, ...] = tuple(f"synthetic_{i:02d}" for i in range(N_SYNTHETIC, N_SYNTHETIC + N_KINDS))
#: how many synthetic models lead with a kind of :data:`GROUPED_KINDS` (``synthetic_64`` ... ``synthetic_79``)
N_GROUPED = 16
_FIRST_GROUPED = N_SYNTHETIC + N_KINDS
GROUPED_NAMES: tuple[str, ...] = tuple(f"synthetic_{i:02d}" for i in range(_FIRST_GROUPED, _FIRST_GROUPED + N_GROUPED))
#: how many synthetic models lead with a kind of :data:`NORM_KINDS` (``synthetic_80`` ... ``synthetic_95``)
N_NORMS = 16
_FIRST_NORMS = _FIRST_GROUPED + N_GROUPED
NORMS_NAMES: tuple[str, ...] = tuple(f"synthetic_{i:02d}" for i in range(_FIRST_NORMS, _FIRST_NORMS + N_NORMS))
#: how many synthetic models lead with a kind of :data:`KERNEL_KINDS` (``synthetic_96`` ... ``synthetic_111``)
N_KERNELS = 16
_FIRST_KERNELS = _FIRST_NORMS + N_NORMS
KERNEL_NAMES: tuple[str, ...] = tuple(f"synthetic_{i:02d}" for i in range(_FIRST_KERNELS, _FIRST_KERNELS + N_KERNELS))
#: how many synthetic models lead with a kind of :data:`BATCH_NORM_KINDS` (``synthetic_112`` ... ``synthetic_127``)
N_BATCH_NORMS = 16
_FIRST_BATCH_NORMS = _FIRST_KERNELS + N_KERNELS
BATCH_NORM_NAMES: tuple[str, ...] = tuple(f"synthetic_{i:02d}"
                                          for i in range(_FIRST_BATCH_NORMS, _FIRST_BATCH_NORMS + N_BATCH_NORMS))
#: how many synthetic models lead with a kind of :data:`DILATED_KINDS` (``synthetic_128`` ... ``synthetic_143``)
N_DILATED = 16
_FIRST_DILATED = _FIRST_BATCH_NORMS + N_BATCH_NORMS
DILATED_NAMES: tuple[str, ...] = tuple(f"synthetic_{i:02d}" for i in range(_FIRST_DILATED, _FIRST_DILATED + N_DILATED))
#: every synthetic model, buildable by name
ALL_SYNTHETIC_NAMES = (SYNTHETIC_NAMES + KINDS_NAMES + GROUPED_NAMES + NORMS_NAMES + KERNEL_NAMES + BATCH_NORM_NAMES
                       + DILATED_NAMES)
#: the block kinds a stage may draw
BLOCKS = ("plain", "bottleneck", "grouped", "inverted", "convnext", "concat", "attention")
#: later stages draw from this list: grouped convolutions twice as often (the zoo has none)
_LATER_BLOCKS = BLOCKS + ("grouped",)
#: the block kinds that lead the first stage of :data:`KINDS_NAMES` (:mod:`greenai.models.synthetic_blocks`)
KINDS_BLOCKS = ("lstm", "gru", "window", "pooled", "linear", "fft", "shift", "pool", "gated", "se", "preact")
#: later stages of :data:`KINDS_NAMES` draw from these: the new kinds twice as often as the first draw's
_LATER_KINDS = KINDS_BLOCKS * 2 + BLOCKS
#: the block kinds that lead the first stage of :data:`GROUPED_NAMES`, alternating: ``gpw``, a bottleneck of
#: grouped 1x1 convolutions (2, 3, 4 or 8 groups); ``fewgroup``, a ``k x k`` convolution of 2 or 4 groups
GROUPED_KINDS = ("gpw", "fewgroup")
#: later stages of :data:`GROUPED_NAMES` draw from these: the new kinds twice as often as the first draw's
_LATER_GROUPED = GROUPED_KINDS * 2 + BLOCKS
#: the group counts of the ``gpw`` stages leading ``synthetic_64``, ``_66``, ... in turn
_LEAD_GPW_GROUPS = (2, 3, 4, 8)
#: the kernel sizes and dilations of the ``fewgroup`` stages leading ``synthetic_65``, ``_67``, ... in turn
_FEWGROUP_KERNELS = ((2, 1), (3, 1), (3, 2))
#: the block kinds that lead the first stage of :data:`NORMS_NAMES` in turn (:mod:`greenai.models.synthetic_norms`),
#: each with a layer norm over few values: ``reattn``, DeepViT's re-attention in 7x7 windows (``LayerNorm(heads)``
#: at every attention-map entry); ``qknorm``, 7x7 window attention with ``LayerNorm(head_dim)`` on queries and
#: keys; ``narrowln``, a ConvNeXt-like block whose LayerNorm normalises groups of ``norm_group`` channels
NORM_KINDS = ("reattn", "qknorm", "narrowln")
#: later stages of :data:`NORMS_NAMES` draw from these: the new kinds twice as often as the first draw's
_LATER_NORMS = NORM_KINDS * 2 + BLOCKS
#: the option that sets the norm's width of each kind of :data:`NORM_KINDS`, and the values the stages leading
#: ``synthetic_80`` ... take in turn (the lead of model ``80 + j`` takes value ``j // 3``, cycling)
_LEAD_NORM_OPTIONS = {"reattn": ("heads", (2, 3, 4, 6, 8, 12)), "qknorm": ("head_dim", (8, 16, 32)),
                      "narrowln": ("norm_group", (2, 4, 8, 16, 32))}
#: the block kinds that lead the first stage of :data:`KERNEL_NAMES`, alternating with the index
#: (:mod:`greenai.models.synthetic_kernels`), each around a depthwise convolution larger than 7x7: ``replk``,
#: RepLKNet's block (a ``k x k`` depthwise conv beside a 5x5 one, between two 1x1 convs); ``bigdw``, a
#: ConvNeXt-like block (depthwise ``k x k``, LayerNorm, MLP ratio 4)
KERNEL_KINDS = ("replk", "bigdw")
#: later stages of :data:`KERNEL_NAMES` draw from these: the new kinds twice as often as the first draw's
_LATER_KERNELS = KERNEL_KINDS * 2 + BLOCKS
#: the depthwise kernel sizes of :data:`KERNEL_KINDS` (square, odd: padding ``k // 2`` keeps the map)
_BIG_KERNELS = (9, 13, 17, 21, 27, 31)
#: the widest lead stage of :data:`KERNEL_NAMES` [channels]: it runs at 56x56 (1x224x224 input), so a training
#: step of batch 256 fits an 80 GB GPU
_KERNELS_LEAD_MAX_WIDTH = 96
#: the block kinds that lead the first stage of :data:`BATCH_NORM_NAMES`, alternating with the index
#: (:mod:`greenai.models.synthetic_batch_norms`), each with a ``BatchNorm2d(bn_channels)`` over a reshaped map
#: (1-32 channels, each holding ``B C H W / bn_channels`` values): ``fewbn``, the map's channels in groups of
#: ``bn_channels`` normalised by it, then a 1x1 conv; ``repmlp``, RepMLPNet's partition perceptron (7x7
#: partitions, ``bn_channels`` sharesets), then a 1x1 conv
BATCH_NORM_KINDS = ("fewbn", "repmlp")
#: later stages of :data:`BATCH_NORM_NAMES` draw from these: the new kinds twice as often as the first draw's
_LATER_BATCH_NORMS = BATCH_NORM_KINDS * 2 + BLOCKS
#: the widest lead stage of :data:`BATCH_NORM_NAMES` [channels] (a multiple of 32, so every ``bn_channels``
#: divides it): it runs at 56x56 (1x224x224 input), as :data:`_KERNELS_LEAD_MAX_WIDTH`
_BATCH_NORMS_LEAD_MAX_WIDTH = 96
#: the block kinds that lead the first stage of :data:`DILATED_NAMES`, alternating with the index
#: (:mod:`greenai.models.synthetic_dilated`): ``nb1d``, ERFNet's non-bottleneck-1D block (a 3x1 and a 1x3
#: convolution, then both again dilated); ``dilres``, a basic block of two 3x3 convolutions, both dilated
DILATED_KINDS = ("nb1d", "dilres")
#: later stages of :data:`DILATED_NAMES` draw from these: the new kinds twice as often as the first draw's
_LATER_DILATED = DILATED_KINDS * 2 + BLOCKS
#: the dilations of each kind of :data:`DILATED_KINDS`: the leads of models ``128 + 2i`` (``nb1d``) and
#: ``129 + 2i`` (``dilres``) take the ``i % 4``-th, so each leads with each of its four twice; ``nb1d`` with 1 too
#: (its kernels not square, none dilated), ``dilres`` up to 16 (a 3x3 dilated by 16 spans 33x33 pixels)
_LEAD_DILATIONS = {"nb1d": (1, 2, 4, 8), "dilres": (2, 4, 8, 16)}
#: kinds whose blocks keep the resolution and width: a stage of them downsamples and widens first
_SHAPE_KEEPING = (("convnext", "attention", "concat") + tuple(k for k in KINDS_BLOCKS if k not in ("se", "preact"))
                  + NORM_KINDS + KERNEL_KINDS + BATCH_NORM_KINDS + DILATED_KINDS)
_ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU, "hardswish": nn.Hardswish}


def is_synthetic(name: str) -> bool:
    return str(name) in ALL_SYNTHETIC_NAMES


def _index(name: str) -> int:
    if not is_synthetic(name):
        raise ValueError(f"unknown synthetic model {name!r}; valid names are synthetic_00 ... "
                         f"{ALL_SYNTHETIC_NAMES[-1]}")
    return int(str(name).rsplit("_", 1)[1])


def synthetic_spec(name: str) -> dict:
    """The architecture ``name`` draws (deterministic: its index seeds :class:`random.Random`).

    Returns
    -------
    dict
        ``stem`` (``conv`` stride 2 + max-pool, or ``patchify`` stride 4) and
        ``stem_width``; ``activation``; ``stages``: a list of dicts with
        ``block``, ``depth``, ``width`` (output channels) and the block's own
        options (``kernel``, ``channels_per_group``, ``expand``, ``se``,
        ``shuffle``, ``growth``, ``mlp_ratio``, ``heads``; ``groups`` and
        ``dilation`` of :data:`GROUPED_KINDS`, :func:`_grouped_options`; ``head_dim``,
        ``norm_group``, ``window`` of :data:`NORM_KINDS`, :func:`_norms_options`; ``kernel`` 9-31 of
        :data:`KERNEL_KINDS`, :func:`_kernels_options`; ``bn_channels`` 1-32 and ``partition`` of
        :data:`BATCH_NORM_KINDS`, :func:`_batch_norms_options`; ``dilation`` of :data:`DILATED_KINDS`,
        :data:`_LEAD_DILATIONS`);
        ``head_hidden`` (0 for a linear head on the pooled features).
    """
    if _index(name) >= _FIRST_DILATED:
        return _dilated_spec(_index(name))
    if _index(name) >= _FIRST_BATCH_NORMS:
        return _batch_norms_spec(_index(name))
    if _index(name) >= _FIRST_KERNELS:
        return _kernels_spec(_index(name))
    if _index(name) >= _FIRST_NORMS:
        return _norms_spec(_index(name))
    if _index(name) >= _FIRST_GROUPED:
        return _grouped_spec(_index(name))
    if _index(name) >= N_SYNTHETIC:
        return _kinds_spec(_index(name))
    rng = random.Random(1000 + _index(name))
    # every block kind leads the first stage of some model: the index cycles through them
    lead = BLOCKS[_index(name) % len(BLOCKS)]
    stem = rng.choice(["conv", "patchify"])
    width = rng.choice([24, 32, 48, 64, 96])
    n_stages = rng.choice([2, 3, 3, 4])
    stages = []
    for i in range(n_stages):
        resolution = 56 // 2**i  # after either stem, then halved by every later stage
        if i == 0:
            block = "inverted" if lead == "attention" else lead
        elif i == 1 and lead == "attention":
            block = "attention"
        else:
            block = rng.choice(_LATER_BLOCKS)
        if block == "attention" and resolution > 28:
            block = rng.choice(["convnext", "inverted", "grouped"])
        width = int(width * rng.choice([1.5, 2.0, 2.0]) // 16 * 16) if i else int(width * rng.choice([1, 2]))
        width = max(width, 32)
        s = {"block": block, "depth": rng.randint(1, 5), "width": width, "downsample": i > 0}
        _block_options(rng, s)
        stages.append(s)
    return {"name": str(name), "stem": stem, "stem_width": stages[0]["width"] if stem == "patchify" else 32,
            "activation": rng.choice(list(_ACTIVATIONS)), "stages": stages,
            "head_hidden": rng.choice([0, 0, 512, 1024])}


def _block_options(rng: random.Random, s: dict) -> None:
    """Draw the options of a stage ``s`` of a kind of :data:`BLOCKS` into it (in the first draw's order)."""
    block, width = s["block"], s["width"]
    if block == "plain":
        s["kernel"] = rng.choice([1, 3, 3, 5])
    elif block == "bottleneck":
        s["kernel"] = rng.choice([3, 5])
    elif block == "grouped":
        cpg = rng.choice([c for c in (2, 4, 8, 16, 32, 64) if width % c == 0 and c < width])
        s.update(kernel=3, channels_per_group=cpg, se=rng.random() < 0.4,
                 shuffle=rng.random() < 0.3)
    elif block == "inverted":
        s.update(kernel=rng.choice([3, 5, 7]), expand=rng.choice([2, 4, 6]), se=rng.random() < 0.5)
    elif block == "convnext":
        s.update(kernel=rng.choice([3, 7]), mlp_ratio=4)
    elif block == "concat":
        s.update(growth=rng.choice([16, 32]), depth=rng.randint(2, 10))
    elif block == "attention":
        s.update(heads=max(1, width // 64), mlp_ratio=rng.choice([2, 4]), depth=rng.randint(1, 3))


def _heads(width: int, head_width: int) -> int:
    """The most heads of at least ``head_width`` channels each that divide ``width`` (at least 1)."""
    return max(h for h in range(1, max(1, width // head_width) + 1) if width % h == 0)


def _kinds_spec(index: int) -> dict:
    """The draw of ``synthetic_48`` ...: like the first draw's, led by a kind of :data:`KINDS_BLOCKS`."""
    return _led_spec(index, KINDS_BLOCKS[(index - N_SYNTHETIC) % len(KINDS_BLOCKS)], _LATER_KINDS)


def _grouped_spec(index: int) -> dict:
    """The draw of ``synthetic_64`` ...: led by ``gpw`` (even index) or ``fewgroup`` (odd), whose lead options
    cycle with the index (:data:`_LEAD_GPW_GROUPS`; every kernel of :data:`_FEWGROUP_KERNELS` with 2 and 4
    groups), later stages from :data:`_LATER_GROUPED`."""
    j = (index - _FIRST_GROUPED) // 2
    if index % 2 == 0:
        lead_options = {"groups": _LEAD_GPW_GROUPS[j % len(_LEAD_GPW_GROUPS)]}
    else:
        kernel, dilation = _FEWGROUP_KERNELS[j % len(_FEWGROUP_KERNELS)]
        lead_options = {"groups": (2, 4)[j % 2], "kernel": kernel, "dilation": dilation}
    return _led_spec(index, GROUPED_KINDS[index % 2], _LATER_GROUPED, lead_options)


def _norms_spec(index: int) -> dict:
    """The draw of ``synthetic_80`` ...: led by the kinds of :data:`NORM_KINDS` in turn, the lead's norm width
    cycling through :data:`_LEAD_NORM_OPTIONS`, later stages from :data:`_LATER_NORMS`."""
    j = index - _FIRST_NORMS
    lead = NORM_KINDS[j % len(NORM_KINDS)]
    option, values = _LEAD_NORM_OPTIONS[lead]
    return _led_spec(index, lead, _LATER_NORMS, {option: values[(j // len(NORM_KINDS)) % len(values)]})


def _kernels_spec(index: int) -> dict:
    """The draw of ``synthetic_96`` ...: led by ``replk`` (even index) or ``bigdw`` (odd), later stages from
    :data:`_LATER_KERNELS`.

    The lead of model ``96 + j`` takes kernel ``_BIG_KERNELS[j // 2 % 6]``: models ``96 + 2i`` (``replk``) and
    ``97 + 2i`` (``bigdw``) share a kernel, so each kind leads with each of the six sizes, 9 and 13 twice
    (``j`` of 12-15), and every size leads at least two models.
    """
    j = index - _FIRST_KERNELS
    kernel = _BIG_KERNELS[j // 2 % len(_BIG_KERNELS)]
    return _led_spec(index, KERNEL_KINDS[j % 2], _LATER_KERNELS, {"kernel": kernel})


def _batch_norms_spec(index: int) -> dict:
    """The draw of ``synthetic_112`` ...: led by ``fewbn`` (even index) or ``repmlp`` (odd), later stages from
    :data:`_LATER_BATCH_NORMS`.

    The lead of model ``112 + j`` takes ``bn_channels`` ``BN_CHANNELS[j // 2 % 6]`` (1, 2, 4, 8, 16, 32): models
    ``112 + 2i`` (``fewbn``) and ``113 + 2i`` (``repmlp``) share it, so each kind leads with each of the six, 1 and
    2 twice (``j`` of 12-15).
    """
    j = index - _FIRST_BATCH_NORMS
    bn_channels = BN_CHANNELS[j // 2 % len(BN_CHANNELS)]
    return _led_spec(index, BATCH_NORM_KINDS[j % 2], _LATER_BATCH_NORMS, {"bn_channels": bn_channels})


def _dilated_spec(index: int) -> dict:
    """The draw of ``synthetic_128`` ...: led by ``nb1d`` (even index) or ``dilres`` (odd), the lead's dilation
    from :data:`_LEAD_DILATIONS`, later stages from :data:`_LATER_DILATED`."""
    j = index - _FIRST_DILATED
    lead = DILATED_KINDS[j % 2]
    dilations = _LEAD_DILATIONS[lead]
    return _led_spec(index, lead, _LATER_DILATED, {"dilation": dilations[j // 2 % len(dilations)]})


def _led_spec(index: int, lead: str, later: tuple[str, ...], lead_options: dict | None = None) -> dict:
    """A draw whose first stage is of kind ``lead`` (its fixed options ``lead_options``), later stages of
    ``later``; widths start at 48-96, stages hold 2-4 blocks."""
    rng = random.Random(1000 + index)
    stem = rng.choice(["conv", "patchify"])
    width = rng.choice([48, 64, 96])
    n_stages = rng.choice([2, 3, 3, 4])
    stages = []
    for i in range(n_stages):
        block = lead if i == 0 else rng.choice(later)
        width = int(width * rng.choice([1.5, 2.0, 2.0]) // 16 * 16) if i else width
        s = {"block": block, "depth": rng.randint(2, 4), "width": width, "downsample": i > 0}
        if block in BLOCKS:
            _block_options(rng, s)
        elif block in GROUPED_KINDS:
            _grouped_options(rng, s, lead_options if i == 0 else None)
            width = s["width"]  # rounded to a multiple of the groups
        elif block in NORM_KINDS:
            _norms_options(rng, s, lead_options if i == 0 else None)
            width = s["width"]  # rounded to a multiple of the heads, head width or norm group
        elif block in KERNEL_KINDS:
            _kernels_options(rng, s, lead_options if i == 0 else None)
            width = s["width"]  # the lead stage capped
        elif block in BATCH_NORM_KINDS:
            _batch_norms_options(rng, s, lead_options if i == 0 else None)
            width = s["width"]  # the lead stage capped and rounded to a multiple of 32
        elif block in DILATED_KINDS:
            s["dilation"] = (lead_options if i == 0 else {}).get("dilation") or rng.choice(_LEAD_DILATIONS[block])
        else:
            _kinds_options(rng, s, 56 // 2**i)  # the stage's resolution after the stem at 224x224
        stages.append(s)
    return {"name": f"synthetic_{index:02d}", "stem": stem,
            "stem_width": stages[0]["width"] if stem == "patchify" else 32,
            "activation": rng.choice(list(_ACTIVATIONS)), "stages": stages,
            "head_hidden": rng.choice([0, 0, 512, 1024])}


def _kinds_options(rng: random.Random, s: dict, resolution: int) -> None:
    """Draw the options of a stage ``s`` of a kind of :data:`KINDS_BLOCKS` into it."""
    block, width = s["block"], s["width"]
    if block in ("lstm", "gru"):
        s.update(hidden=width // rng.choice([2, 1]), mlp_ratio=rng.choice([2, 3]))
    elif block == "window":
        s.update(heads=_heads(width, 32), window=7, mlp_ratio=rng.choice([2, 4]), depth=rng.choice([2, 2, 4]))
    elif block == "pooled":
        s.update(heads=_heads(width, 64), pool=rng.choice(["avg", "conv"]), mlp_ratio=rng.choice([2, 4]))
    elif block == "linear":
        s.update(heads=_heads(width, 32), kernel_fn=rng.choice(["relu", "elu"]), mlp_ratio=rng.choice([2, 4]))
    elif block == "fft":
        s.update(resolution=resolution, mlp_ratio=rng.choice([2, 4]))
    elif block == "shift":
        s.update(shift_div=rng.choice([8, 12]), mlp_ratio=rng.choice([2, 4]), depth=rng.randint(1, 6))
    elif block == "pool":
        s.update(mlp_ratio=4, depth=rng.randint(1, 6))
    elif block == "gated":
        s.update(mlp_ratio=rng.choice([2, 3]), conv_gate=rng.random() < 0.5)
    elif block == "se":
        s.update(kernel=3, reduction=rng.choice([4, 16]))
    elif block == "preact":
        s.update(kernel=3, bottleneck=rng.random() < 0.5)


def _grouped_options(rng: random.Random, s: dict, fixed: dict | None = None) -> None:
    """Draw the options of a stage ``s`` of a kind of :data:`GROUPED_KINDS` into it (``fixed`` ones not drawn).

    ``gpw``: ``groups`` in 2, 3, 4, 8 (the width rounded to a multiple of 48 for 3 groups), ``expand`` (mid
    width over output width: 0.25 as ShuffleNet v1, 2-6 as IGCV3), ``shuffle``. ``fewgroup``: ``groups`` 2 or
    4, ``kernel`` and ``dilation`` (2x2; 3x3; 3x3 dilated by 2), ``expand`` 1 or 2, ``shuffle``.
    """
    fixed = fixed or {}
    if s["block"] == "gpw":
        groups = fixed.get("groups") or rng.choice([2, 3, 4, 8])
        step = 48 if groups == 3 else 16
        s["width"] = max(step, round(s["width"] / step) * step)
        s.update(groups=groups, expand=rng.choice([0.25, 2, 4, 6]), shuffle=rng.random() < 0.6)
    else:
        groups = fixed.get("groups") or rng.choice([2, 4])
        kernel, dilation = ((fixed["kernel"], fixed["dilation"]) if "kernel" in fixed else
                            rng.choice(_FEWGROUP_KERNELS))
        s.update(groups=groups, kernel=kernel, dilation=dilation, expand=rng.choice([1, 2]),
                 shuffle=rng.random() < 0.3)


def _norms_options(rng: random.Random, s: dict, fixed: dict | None = None) -> None:
    """Draw the options of a stage ``s`` of a kind of :data:`NORM_KINDS` into it (``fixed`` ones not drawn).

    ``reattn``: ``heads`` in 2, 3, 4, 6, 8, 12 (a fixed count rounds the width to a multiple of 48 for 3, 6, 12
    heads; a drawn one divides it), ``window`` 7, ``mlp_ratio`` 2 or 4; the stage always downsamples first, so
    its attention maps (``heads x 49 x 49`` per window) are of 28x28 tokens or fewer at 224x224 input.
    ``qknorm``: ``head_dim`` 8, 16 or 32 (a fixed one rounds the width to a multiple of it), ``window`` 7,
    ``mlp_ratio`` 2 or 4. ``narrowln``: ``norm_group`` 2-32 channels (likewise), ``kernel`` 7, ``mlp_ratio`` 4.
    """
    fixed = fixed or {}
    block, width = s["block"], s["width"]
    if fixed:  # the lead stage: at most 64 channels wide, so batch 256 of 224x224 samples fits 80 GB
        width = min(width, 64)
    option, values = _LEAD_NORM_OPTIONS[block]
    value = fixed.get(option) or rng.choice([v for v in values if width % v == 0])
    step = max(16, value) if block != "reattn" else (48 if value % 3 == 0 else 16)
    s["width"] = max(step, round(width / step) * step)
    s[option] = value
    if block == "narrowln":
        s.update(kernel=7, mlp_ratio=4)
    else:
        s.update(window=7, mlp_ratio=rng.choice([2, 4]))
    if block == "reattn":
        s["downsample"] = True


def _kernels_options(rng: random.Random, s: dict, fixed: dict | None = None) -> None:
    """Draw the options of a stage ``s`` of a kind of :data:`KERNEL_KINDS` into it (``fixed`` ones not drawn).

    ``kernel``: the depthwise kernel's side, one of :data:`_BIG_KERNELS` (9-31); ``bigdw`` also ``mlp_ratio`` 4,
    ``replk`` no more. The lead stage (``fixed`` given) is at most :data:`_KERNELS_LEAD_MAX_WIDTH` channels wide.
    """
    fixed = fixed or {}
    if fixed:
        s["width"] = min(s["width"], _KERNELS_LEAD_MAX_WIDTH)
    s["kernel"] = fixed.get("kernel") or rng.choice(_BIG_KERNELS)
    if s["block"] == "bigdw":
        s["mlp_ratio"] = 4


def _batch_norms_options(rng: random.Random, s: dict, fixed: dict | None = None) -> None:
    """Draw the options of a stage ``s`` of a kind of :data:`BATCH_NORM_KINDS` into it (``fixed`` ones not drawn).

    ``bn_channels``: the channels of the few-channel batch norm (``fewbn``) or the sharesets of the partition
    perceptron (``repmlp``), one of :data:`~greenai.models.synthetic_batch_norms.BN_CHANNELS` (1-32) dividing the
    width; ``repmlp`` also ``partition`` 7 (every stage's side, 56, 28, 14 or 7 at 1x224x224 input, is a multiple
    of it). The lead stage (``fixed`` given) is at most :data:`_BATCH_NORMS_LEAD_MAX_WIDTH` channels wide, its
    width rounded to a multiple of 32 (so every ``bn_channels`` divides it).
    """
    fixed = fixed or {}
    if fixed:
        s["width"] = max(32, round(min(s["width"], _BATCH_NORMS_LEAD_MAX_WIDTH) / 32) * 32)
    s["bn_channels"] = fixed.get("bn_channels") or rng.choice([v for v in BN_CHANNELS if s["width"] % v == 0])
    if s["block"] == "repmlp":
        s["partition"] = PARTITION


# --------------------------------------------------------------------------- blocks


class _Residual(nn.Module):
    def __init__(self, body, cin, cout, stride):
        super().__init__()
        self.body = body
        self.short = (nn.Identity() if cin == cout and stride == 1 else
                      nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout)))

    def forward(self, x):
        return self.body(x) + self.short(x)


class _DenseLayer(nn.Module):
    def __init__(self, cin, growth, act):
        super().__init__()
        self.body = nn.Sequential(nn.BatchNorm2d(cin), act(), nn.Conv2d(cin, 4 * growth, 1, bias=False),
                                  nn.BatchNorm2d(4 * growth), act(),
                                  nn.Conv2d(4 * growth, growth, 3, padding=1, bias=False))

    def forward(self, x):
        return torch.cat([x, self.body(x)], 1)


class _AttentionBlock(nn.Module):
    def __init__(self, c, heads, ratio, act):
        super().__init__()
        self.heads = heads
        self.norm1, self.qkv, self.proj = nn.LayerNorm(c), nn.Linear(c, 3 * c), nn.Linear(c, c)
        self.norm2 = nn.LayerNorm(c)
        self.mlp = nn.Sequential(nn.Linear(c, ratio * c), act(), nn.Linear(ratio * c, c))

    def forward(self, x):
        b, c, h, w = x.shape
        t = x.flatten(2).transpose(1, 2)  # [B, L, C]
        q, k, v = self.qkv(self.norm1(t)).view(b, h * w, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, h * w, c)
        t = t + self.proj(a)
        t = t + self.mlp(self.norm2(t))
        return t.transpose(1, 2).reshape(b, c, h, w)


def _stage(s: dict, cin: int, act) -> tuple[nn.Module, int]:
    cout, stride = s["width"], 2 if s["downsample"] else 1
    layers: list[nn.Module] = []
    block = s["block"]
    if block in _SHAPE_KEEPING and stride == 2:  # these blocks keep the resolution
        layers.append(nn.Sequential(nn.Conv2d(cin, cout, 2, stride=2), nn.BatchNorm2d(cout)))
        cin, stride = cout, 1
    for d in range(s["depth"]):
        st = stride if d == 0 else 1
        if block == "plain":
            layers.append(conv_bn_act(cin, cout, s["kernel"], act, stride=st))
        elif block == "bottleneck":
            mid = max(16, cout // 4)
            layers.append(_Residual(nn.Sequential(conv_bn_act(cin, mid, 1, act),
                                                  conv_bn_act(mid, mid, s["kernel"], act, stride=st),
                                                  nn.Conv2d(mid, cout, 1, bias=False), nn.BatchNorm2d(cout)),
                                    cin, cout, st))
        elif block == "grouped":
            cpg = s["channels_per_group"]
            groups = cout // cpg
            body = [conv_bn_act(cin, cout, 1, act)]
            if s["shuffle"] and groups > 1:
                body.append(ChannelShuffle(groups))
            body.append(conv_bn_act(cout, cout, s["kernel"], act, stride=st, groups=groups))
            if s["se"]:
                body.append(SqueezeExcite(cout, act))
            body += [nn.Conv2d(cout, cout, 1, bias=False), nn.BatchNorm2d(cout)]
            layers.append(_Residual(nn.Sequential(*body), cin, cout, st))
        elif block == "inverted":
            mid = cin * s["expand"]
            body = [conv_bn_act(cin, mid, 1, act), conv_bn_act(mid, mid, s["kernel"], act, stride=st, groups=mid)]
            if s["se"]:
                body.append(SqueezeExcite(mid, act))
            body += [nn.Conv2d(mid, cout, 1, bias=False), nn.BatchNorm2d(cout)]
            layers.append(_Residual(nn.Sequential(*body), cin, cout, st))
        elif block == "convnext":
            if cin != cout:
                layers.append(nn.Conv2d(cin, cout, 1))
            layers.append(BigKernelBlock(cout, s["kernel"], s["mlp_ratio"], act))  # k of 3 or 7 here
        elif block == "concat":
            layers.append(_DenseLayer(cin, s["growth"], act))
            cout = cin + s["growth"]
        elif block == "attention":
            if cin != cout:
                layers.append(nn.Conv2d(cin, cout, 1))
            layers.append(_AttentionBlock(cout, s["heads"], s["mlp_ratio"], act))
        elif block in NORM_KINDS:
            if cin != cout:
                layers.append(nn.Conv2d(cin, cout, 1))
            layers.append(norms_block(s, cout, act))
        elif block in KERNEL_KINDS:
            if cin != cout:
                layers.append(nn.Conv2d(cin, cout, 1))
            layers.append(kernels_block(s, cout, act))
        elif block in BATCH_NORM_KINDS:
            if cin != cout:
                layers.append(nn.Conv2d(cin, cout, 1))
            layers.append(batch_norms_block(s, cout, act))
        elif block in DILATED_KINDS:
            if cin != cout:
                layers.append(nn.Conv2d(cin, cout, 1))
            layers.append(dilated_block(s, cout, act))
        else:  # a kind of KINDS_BLOCKS
            if block in _SHAPE_KEEPING and cin != cout:
                layers.append(nn.Conv2d(cin, cout, 1))
                cin = cout
            layers.append(kinds_block(s, cin, cout, st, d, act))
        cin = cout
    if block == "concat":  # transition to the stage's width
        layers.append(conv_bn_act(cin, s["width"], 1, act))
        cin = s["width"]
    return nn.Sequential(*layers), cin


class SyntheticNet(nn.Module):
    """The network of one :func:`synthetic_spec` (stem, stages, global average pool, head)."""

    def __init__(self, spec: dict, in_channels: int = 1, num_classes: int = 10):
        super().__init__()
        act = _ACTIVATIONS[spec["activation"]]
        w = spec["stem_width"]
        if spec["stem"] == "conv":
            self.stem = nn.Sequential(conv_bn_act(in_channels, w, 3, act, stride=2), nn.MaxPool2d(3, 2, 1))
        else:
            self.stem = nn.Sequential(nn.Conv2d(in_channels, w, 4, stride=4), nn.BatchNorm2d(w))
        stages, c = [], w
        for s in spec["stages"]:
            stage, c = _stage(s, c, act)
            stages.append(stage)
        self.stages = nn.Sequential(*stages)
        hidden = spec["head_hidden"]
        self.head = (nn.Linear(c, num_classes) if not hidden else
                     nn.Sequential(nn.Linear(c, hidden), act(), nn.Linear(hidden, num_classes)))

    def forward(self, x):
        x = self.stages(self.stem(x))
        return self.head(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def build_synthetic(name: str, in_channels: int = 1, num_classes: int = 10) -> nn.Module:
    """The synthetic model ``name`` (random weights) for ``in_channels`` planes and ``num_classes`` outputs."""
    return SyntheticNet(synthetic_spec(name), in_channels, num_classes)
