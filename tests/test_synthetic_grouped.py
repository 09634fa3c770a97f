"""The third synthetic draw, ``synthetic_64`` ... ``synthetic_79``, led by grouped convolutions of few groups
(:data:`greenai.models.synthetic.GROUPED_KINDS`), its blocks, and every draw kept exactly as it was committed."""

from __future__ import annotations

import hashlib
import json
import math

import pytest
import torch
from torch import nn

from greenai.models import build_model, model_info
from greenai.models import synthetic_blocks as sb
from greenai.models.synthetic import (ALL_SYNTHETIC_NAMES, BLOCKS, GROUPED_KINDS, GROUPED_NAMES, KINDS_NAMES,
                                      NORMS_NAMES, SYNTHETIC_NAMES, build_synthetic, is_synthetic, synthetic_spec)
from greenai.predict.features import static_features
from synthetic_step import assert_trains_one_cpu_step

# sha256 of json.dumps({name: synthetic_spec(name)}, sort_keys=True) over synthetic_00 ... synthetic_63, and of
# their parameter counts (1 input plane, 10 classes), computed before the third draw was added: the rows of
# kpi_synthetic and kpi_synthetic_kinds were measured on these networks
SPECS_00_63_SHA256 = "d5880231d0382fd5b55e2f3db7a271c87f4e6c6c2cada423909b93277a54126a"
PARAMS_00_63_SHA256 = "6958017cf7597c5431d25265e421768e1da55602d6b80b8908ea2b5da82c7950"
# the same of synthetic_64 ... synthetic_79, computed once kpi_synthetic_grouped had been measured on them
SPECS_64_79_SHA256 = "65ad8e0a5a4fe9d9977e9bb1690014907263065b38fe503d96c6b6cd56551882"
PARAMS_64_79_SHA256 = "48acf727d216d1efb2fdb54fe176e499f3a1211e3a9b9e9ee439b85530e9f74a"
# the same of synthetic_80 ... synthetic_95, computed when the fourth draw was committed, before any row of
# kpi_synthetic_norms: the rows measured later must be of these networks
SPECS_80_95_SHA256 = "a25fb70dae0ac4ff9a5fb562ce29d27ff1429bb7a6d122396010c36291f64259"
PARAMS_80_95_SHA256 = "d3297606c7342a77b84ea3dcc74dbe0b6f68e4d8662060a39178617fb4de2025"


def _sha256(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()


def _hashes(names) -> tuple[str, str]:
    """sha256 of the specs of ``names`` and of their parameter counts (1 input plane, 10 classes, on meta)."""
    params = {}
    for name in names:
        with torch.device("meta"):
            params[name] = sum(p.numel() for p in build_synthetic(name, 1, 10).parameters())
    return _sha256({n: synthetic_spec(n) for n in names}), _sha256(params)


def test_the_first_two_draws_are_the_recorded_ones():
    earlier = SYNTHETIC_NAMES + KINDS_NAMES
    assert len(earlier) == 64 and ALL_SYNTHETIC_NAMES[:64] == earlier
    assert _hashes(earlier) == (SPECS_00_63_SHA256, PARAMS_00_63_SHA256)


def test_the_third_draw_is_the_recorded_one():
    assert _hashes(GROUPED_NAMES) == (SPECS_64_79_SHA256, PARAMS_64_79_SHA256)


def test_the_fourth_draw_is_the_committed_one():
    assert _hashes(NORMS_NAMES) == (SPECS_80_95_SHA256, PARAMS_80_95_SHA256)


def test_grouped_draw_leads_with_each_new_kind_and_its_options_in_turn():
    assert GROUPED_NAMES == tuple(f"synthetic_{i}" for i in range(64, 80)) and ALL_SYNTHETIC_NAMES[64:80] == GROUPED_NAMES
    assert all(is_synthetic(n) for n in GROUPED_NAMES) and not is_synthetic("synthetic_144")
    specs = [synthetic_spec(n) for n in GROUPED_NAMES]
    assert specs == [synthetic_spec(n) for n in GROUPED_NAMES]  # the index is the seed
    assert len({repr(s["stages"]) for s in specs}) == len(specs)
    leads = [s["stages"][0] for s in specs]
    assert [st["block"] for st in leads] == list(GROUPED_KINDS) * 8 and not set(GROUPED_KINDS) & set(BLOCKS)
    assert {st["groups"] for st in leads if st["block"] == "gpw"} == {2, 3, 4, 8}
    few = {(st["groups"], st["kernel"], st["dilation"]) for st in leads if st["block"] == "fewgroup"}
    assert few == {(g, k, d) for g in (2, 4) for k, d in ((2, 1), (3, 1), (3, 2))}
    for s in specs:
        for st in s["stages"]:
            assert st["block"] in GROUPED_KINDS + BLOCKS
            if st["block"] in GROUPED_KINDS:
                assert st["width"] % st["groups"] == 0 and st["width"] // st["groups"] >= 2


@pytest.mark.parametrize("name", GROUPED_NAMES)
def test_grouped_models_build_for_1_and_3_planes_and_train_one_cpu_step(name):
    assert model_info(name)["family"] == "synthetic"
    torch.manual_seed(0)
    for planes in (1, 3):
        assert_trains_one_cpu_step(build_model(name, in_channels=planes, num_classes=10), planes, classes=10)


@pytest.mark.parametrize("name", GROUPED_NAMES)
def test_grouped_models_are_sized_priced_and_count_on_meta(name):
    from greenai.macs import count_model
    from greenai.operator_times import step_operators
    from greenai.predict.features import compute_model_features

    macs = count_model(name, 1, 10, 224)["macs"]
    assert 0.1e9 <= macs <= 4e9, macs / 1e9  # forward MACs per sample at 1x224x224 (thop)
    features = compute_model_features(name, 1, 10, image_size=64)  # built on meta
    assert features["unpriced_modules"] == [] and features["macs_conv_grouped"] > 0
    assert all(math.isfinite(v) for v in features.values() if isinstance(v, float))
    assert step_operators(name, 1, 10, 256)


# --------------------------------------------------------------------------- the blocks, by hand


def test_a_grouped_pointwise_conv_counts_as_grouped_macs():
    side = 4
    net = nn.Sequential(nn.Conv2d(16, 32, 1, groups=4, bias=False), nn.Flatten(),
                        nn.Linear(32 * side * side, 10, bias=False))
    f = static_features(net, (16, side, side))
    assert f["macs_conv_grouped"] == side * side * 32 * 16 / 4
    assert f["macs_conv_dense"] == 0 and f["macs_conv_depthwise"] == 0


def test_grouped_pointwise_block_by_its_convolutions():
    act = nn.ReLU
    block = sb.GroupedPointwiseBlock(48, 48, 1, 3, 4, True, act)
    convs = [m for m in block.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size, c.groups) for c in convs] == [
        (48, 192, (1, 1), 3), (192, 192, (3, 3), 192), (192, 48, (1, 1), 3)]
    assert any(isinstance(m, sb.ChannelShuffle) for m in block.modules()) and block.residual
    # a width the groups do not divide: the first 1x1 is dense (ShuffleNet's first unit); stride 2, no residual
    down = sb.GroupedPointwiseBlock(32, 48, 2, 3, 0.25, False, act)
    first = next(m for m in down.modules() if isinstance(m, nn.Conv2d))
    assert first.groups == 1 and first.out_channels == 12 and not down.residual
    assert down(torch.randn(1, 32, 8, 8)).shape == (1, 48, 4, 4)


def test_channel_shuffle_interleaves_the_groups():
    x = torch.arange(6, dtype=torch.float).reshape(1, 6, 1, 1)
    assert sb.ChannelShuffle(3)(x).flatten().tolist() == [0, 2, 4, 1, 3, 5]


@pytest.mark.parametrize("kernel, dilation, stride, side", [(2, 1, 2, 4), (2, 1, 1, 8), (3, 1, 2, 4),
                                                            (3, 2, 1, 8)])
def test_few_group_block_keeps_or_halves_the_map(kernel, dilation, stride, side):
    block = sb.FewGroupBlock(16, 32 if stride == 2 else 16, stride, 4, kernel, dilation, 2, stride == 1, nn.ReLU)
    conv = next(m for m in block.modules() if isinstance(m, nn.Conv2d))
    assert conv.groups == 4 and conv.kernel_size == (kernel, kernel) and conv.dilation == (dilation, dilation)
    out = block(torch.randn(1, 16, 8, 8))
    assert out.shape[2:] == (side, side) and block.residual == (stride == 1)
