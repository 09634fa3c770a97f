"""The fourth synthetic draw, ``synthetic_80`` ... ``synthetic_95``, led by layer norms over few values
(:data:`greenai.models.synthetic.NORM_KINDS`), and its blocks (:mod:`greenai.models.synthetic_norms`)."""

from __future__ import annotations

import re

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from greenai.models import build_model, model_info
from greenai.models import synthetic_norms as sn
from greenai.models.synthetic import (ALL_SYNTHETIC_NAMES, BLOCKS, GROUPED_NAMES, NORM_KINDS, NORMS_NAMES,
                                      build_synthetic, is_synthetic, synthetic_spec)
from greenai.predict.features import static_features
from synthetic_step import assert_trains_one_cpu_step

#: the option that sets each kind's norm width, and the module (under its block) whose norm is that narrow
LEAD_NORM = {"reattn": ("heads", r"mixer\.head_norm"), "qknorm": ("head_dim", r"mixer\.k_norm"),
             "narrowln": ("norm_group", r"norm\.norm")}
#: the GPU the rows are measured on holds 80 GB; the forward's written bytes bound what a step saves
BATCH, MEMORY_BOUND_BYTES = 256, 40e9


def _lead(name: str) -> tuple[str, int]:
    """The lead stage's kind and its norm width (heads, head width or channels per norm group)."""
    stage = synthetic_spec(name)["stages"][0]
    return stage["block"], stage[LEAD_NORM[stage["block"]][0]]


def test_norms_draw_leads_with_each_kind_and_its_options_in_turn():
    assert NORMS_NAMES == tuple(f"synthetic_{i}" for i in range(80, 96)) and ALL_SYNTHETIC_NAMES[80:96] == NORMS_NAMES
    assert ALL_SYNTHETIC_NAMES[64:80] == GROUPED_NAMES and len(ALL_SYNTHETIC_NAMES) == 144
    assert all(is_synthetic(n) for n in NORMS_NAMES) and not is_synthetic("synthetic_144")
    specs = [synthetic_spec(n) for n in NORMS_NAMES]
    assert specs == [synthetic_spec(n) for n in NORMS_NAMES]  # the index is the seed
    assert len({repr(s["stages"]) for s in specs}) == len(specs)
    assert not set(NORM_KINDS) & set(BLOCKS)
    leads = [_lead(n) for n in NORMS_NAMES]
    assert [kind for kind, _ in leads] == [NORM_KINDS[j % 3] for j in range(16)]
    assert [v for kind, v in leads if kind == "reattn"] == [2, 3, 4, 6, 8, 12]
    assert [v for kind, v in leads if kind == "qknorm"] == [8, 16, 32, 8, 16]
    assert [v for kind, v in leads if kind == "narrowln"] == [2, 4, 8, 16, 32]
    for s in specs:
        assert s["stages"][0]["width"] <= 64
        for st in s["stages"]:
            assert st["block"] in NORM_KINDS + BLOCKS
            if st["block"] in NORM_KINDS:
                assert st["width"] % st[LEAD_NORM[st["block"]][0]] == 0
            if st["block"] == "reattn":
                assert st["downsample"] and st["window"] == 7  # maps of 28x28 tokens or fewer at 224x224
    assert {st["block"] for s in specs for st in s["stages"][1:]} & set(NORM_KINDS) == set(NORM_KINDS)


@pytest.mark.parametrize("name", NORMS_NAMES)
def test_norms_models_build_for_1_and_3_planes_10_and_100_classes_and_train_one_cpu_step(name):
    assert model_info(name)["family"] == "synthetic"
    for planes in (1, 3):
        for classes in (10, 100):
            with torch.device("meta"):
                net = build_model(name, in_channels=planes, num_classes=classes)
                assert net(torch.empty(2, planes, 224, 224)).shape == (2, classes)
    torch.manual_seed(0)
    assert_trains_one_cpu_step(build_synthetic(name, 3, 100), planes=3, classes=100)


@pytest.mark.parametrize("name", NORMS_NAMES)
def test_norms_models_are_priced_and_show_the_lead_norm_width(name):
    with torch.device("meta"):
        net = build_synthetic(name, 1, 10)
    features = static_features(net, (1, 112, 112))
    assert features["unpriced_modules"] == []
    kind, values = _lead(name)
    depth = synthetic_spec(name)["stages"][0]["depth"]
    entry = next(a for a in features["norm_axes"] if a[0] == values)
    # the lead stage's blocks normalise that few values, each one norm (qknorm: two, on queries and keys)
    assert entry[1] > 0 and entry[2] >= depth * (2 if kind == "qknorm" else 1)
    assert re.fullmatch(rf"stages\.0\.\d+\.{LEAD_NORM[kind][1]} \(LayerNorm\)", entry[3]), entry[3]


@pytest.mark.parametrize("name", NORMS_NAMES)
def test_norms_models_write_under_40_gb_in_the_forward_of_a_batch_of_256(name):
    with torch.device("meta"):
        net = build_synthetic(name, 1, 10)
    written_bytes = static_features(net, (1, 224, 224))["bytes_forward"] * BATCH
    assert 1e9 < written_bytes < MEMORY_BOUND_BYTES, written_bytes / 1e9


# --------------------------------------------------------------------------- the blocks, by hand


class _ChannelsLast(nn.Module):
    """A classifier around one channels-last mixer: ``[B, C, H, W]`` permuted to ``[B, H, W, C]``, the mixer,
    mean over the pixels, Linear."""

    def __init__(self, mixer, c):
        super().__init__()
        self.mixer, self.fc = mixer, nn.Linear(c, 10)

    def forward(self, x):
        return self.fc(self.mixer(x.permute(0, 2, 3, 1)).mean((1, 2)))


def test_reattention_normalises_the_heads_of_every_map_entry_and_counts_its_bytes():
    c, heads, h, w = 12, 3, 10, 8
    # a 10x8 map zero-padded to 14x14: 4 windows of 49 tokens, 4 x 49 x 49 map entries of 3 heads each; per
    # entry the head norm's forward reads 3 values, writes 3 and a mean and an rstd, its backward reads the
    # gradient, the input, mean and rstd and writes 3: 4 B x (5 x 3 + 4) per entry
    entries = 4 * 49 * 49
    f = static_features(_ChannelsLast(sn.ReAttention(c, heads), c), (c, h, w))
    assert f["unpriced_modules"] == []
    assert f["norm_axes"] == [[heads, 4.0 * entries * (5 * heads + 4), 1, "mixer.head_norm (LayerNorm)"]]
    torch.manual_seed(0)
    mix = sn.ReAttention(c, heads)
    seen = []
    mix.head_norm.register_forward_hook(lambda m, i, o: seen.append(o))
    x = torch.randn(2, h, w, c)
    y = mix(x)
    assert y.shape == x.shape and seen[0].shape == (2 * 4, 49, 49, heads)
    assert torch.allclose(seen[0].mean(-1), torch.zeros(()), atol=1e-5)  # weight 1, bias 0: centred over heads
    # windows are independent: a token of the first 7x7 window changes nothing outside it
    x2 = x.clone()
    x2[0, 1, 2] += 1.0
    changed = (mix(x2) - y).abs().sum(-1)[0] > 0
    assert changed[:7, :7].any() and not changed[7:].any() and not changed[:, 7:].any()


def test_reattention_of_one_window_is_deepvit_re_attention():
    torch.manual_seed(0)
    c, heads = 8, 2
    mix = sn.ReAttention(c, heads)
    x = torch.randn(1, 7, 7, c)
    q, k, v = mix.qkv(x.reshape(1, 49, c)).reshape(49, 3, heads, c // heads).permute(1, 2, 0, 3)
    attn = (q @ k.transpose(-2, -1) / (c // heads) ** 0.5).softmax(-1)  # [heads, 49, 49]
    mixed = torch.stack([sum(mix.mix[i, g] * attn[i] for i in range(heads)) for g in range(heads)])
    normed = F.layer_norm(mixed.permute(1, 2, 0), (heads,), mix.head_norm.weight, mix.head_norm.bias)
    out = mix.proj((normed.permute(2, 0, 1) @ v).permute(1, 0, 2).reshape(49, c))
    assert torch.allclose(mix(x).reshape(49, c), out, atol=1e-5)


def test_qknorm_attention_normalises_queries_and_keys_per_head_and_counts_their_bytes():
    c, head_dim = 16, 8
    # one 7x7 window: 49 tokens x 16 channels of queries (and as many of keys), rows of 8 values; per row a mean
    # and an rstd: 4 B x (5 x 784 + 4 x 98) per norm, two norms
    f = static_features(_ChannelsLast(sn.QKNormAttention(c, head_dim), c), (c, 7, 7))
    assert f["unpriced_modules"] == []
    assert f["norm_axes"] == [[head_dim, 2 * 4.0 * (5 * 49 * c + 4 * 49 * c // head_dim), 2,
                               "mixer.k_norm (LayerNorm)"]]
    torch.manual_seed(0)
    mix = sn.QKNormAttention(c, head_dim)
    seen = []
    mix.q_norm.register_forward_hook(lambda m, i, o: seen.append(o))
    assert mix(torch.randn(2, 9, 9, c)).shape == (2, 9, 9, c)
    assert seen[0].shape == (2 * 4, c // head_dim, 49, head_dim)  # 9x9 padded to 14x14: 4 windows
    assert torch.allclose(seen[0].mean(-1), torch.zeros(()), atol=1e-5)
    with pytest.raises(ValueError):
        sn.QKNormAttention(24, 16)


def test_grouped_layer_norm_normalises_each_group_of_channels_alone():
    norm = sn.GroupedLayerNorm(6, 2)
    x = torch.tensor([[1.0, 3.0, 10.0, 4.0, -2.0, 0.0]])
    # two values a, b normalise to (a - b) / |a - b| and its negative (eps aside)
    assert torch.allclose(norm(x), torch.tensor([[-1.0, 1.0, 1.0, -1.0, -1.0, 1.0]]), atol=1e-5)
    assert torch.allclose(sn.GroupedLayerNorm(6, 6)(x), F.layer_norm(x, (6,)))
    with pytest.raises(ValueError):
        sn.GroupedLayerNorm(6, 4)


def test_narrow_ln_block_counts_its_norm_over_groups_of_channels():
    c, g, side = 8, 2, 5
    net = nn.Sequential(sn.NarrowLNBlock(c, g, 4, nn.GELU), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, 10))
    # 25 pixels x 8 channels in rows of 2: 4 B x (5 x 200 + 4 x 100) (read, written, mean, rstd, backward)
    f = static_features(net, (c, side, side))
    assert f["unpriced_modules"] == []
    assert f["norm_axes"] == [[g, 4.0 * (5 * side * side * c + 4 * side * side * c // g), 1,
                               "0.norm.norm (LayerNorm)"]]
    assert net[0](torch.randn(1, c, side, side)).shape == (1, c, side, side)


def test_norms_block_builds_each_kind_and_refuses_others():
    act = nn.GELU
    assert isinstance(sn.norms_block({"block": "reattn", "heads": 4, "window": 7, "mlp_ratio": 2}, 32, act).mixer,
                      sn.ReAttention)
    assert isinstance(sn.norms_block({"block": "qknorm", "head_dim": 8, "window": 7, "mlp_ratio": 2}, 32,
                                     act).mixer, sn.QKNormAttention)
    assert isinstance(sn.norms_block({"block": "narrowln", "norm_group": 4, "kernel": 7, "mlp_ratio": 4}, 32, act),
                      sn.NarrowLNBlock)
    with pytest.raises(ValueError, match="unknown"):
        sn.norms_block({"block": "window"}, 32, act)
