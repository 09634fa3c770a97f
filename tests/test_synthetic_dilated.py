"""The seventh synthetic draw, ``synthetic_128`` ... ``synthetic_143``, led by dilated and factorised convolutions
(:data:`greenai.models.synthetic.DILATED_KINDS`), its blocks (:mod:`greenai.models.synthetic_dilated`), and the
draw kept exactly as it was committed."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from greenai.models import build_model, model_info
from greenai.models import synthetic_dilated as sd
from greenai.models.synthetic import (ALL_SYNTHETIC_NAMES, BATCH_NORM_NAMES, BLOCKS, DILATED_KINDS, DILATED_NAMES,
                                      build_synthetic, is_synthetic, synthetic_spec)
from greenai.predict.features import static_features
from test_synthetic_grouped import _hashes  # the hashes of every draw, computed alike
from synthetic_step import assert_trains_one_cpu_step

# sha256 of json.dumps({name: synthetic_spec(name)}, sort_keys=True) over synthetic_128 ... synthetic_143, and of
# their parameter counts (1 input plane, 10 classes), computed when the seventh draw was committed, before any row
# of kpi_synthetic_dilated: the rows measured later must be of these networks
SPECS_128_143_SHA256 = "f4642cd4e5da2fb9cc5001f5e530917b26eb9b197db822aebeda8383468fe3be"
PARAMS_128_143_SHA256 = "13393d9e8b4bd2fa796ce28a3117a0764bb6d98dba024aa23583241ce389f1c9"
#: the dilations each kind leads with, in turn
DILATIONS = {"nb1d": (1, 2, 4, 8), "dilres": (2, 4, 8, 16)}
#: the GPU the rows are measured on holds 80 GB; the forward's written bytes bound what a step saves
BATCH, MEMORY_BOUND_BYTES = 256, 40e9


def test_the_seventh_draw_is_the_committed_one():
    assert _hashes(DILATED_NAMES) == (SPECS_128_143_SHA256, PARAMS_128_143_SHA256)


def test_dilated_draw_alternates_its_two_kinds_and_leads_with_each_dilation_twice():
    assert DILATED_NAMES == tuple(f"synthetic_{i}" for i in range(128, 144))
    assert ALL_SYNTHETIC_NAMES[128:] == DILATED_NAMES and ALL_SYNTHETIC_NAMES[112:128] == BATCH_NORM_NAMES
    assert all(is_synthetic(n) for n in DILATED_NAMES) and not is_synthetic("synthetic_144")
    specs = [synthetic_spec(n) for n in DILATED_NAMES]
    assert specs == [synthetic_spec(n) for n in DILATED_NAMES]  # the index is the seed
    assert len({repr(s["stages"]) for s in specs}) == len(specs)
    assert not set(DILATED_KINDS) & set(BLOCKS)
    leads = [s["stages"][0] for s in specs]
    # the rule: the lead of synthetic_(128 + j) is DILATED_KINDS[j % 2], dilated by its kind's (j // 2 % 4)-th
    expected = [(DILATED_KINDS[j % 2], DILATIONS[DILATED_KINDS[j % 2]][j // 2 % 4]) for j in range(16)]
    assert [(st["block"], st["dilation"]) for st in leads] == expected
    for st in leads:  # at 56x56 (1x224x224 input), at most 96 channels
        assert not st["downsample"] and st["width"] <= 96
    for s in specs:
        for st in s["stages"]:
            assert st["block"] in DILATED_KINDS + BLOCKS
            if st["block"] in DILATED_KINDS:
                assert st["dilation"] in DILATIONS[st["block"]]
    assert {st["block"] for s in specs for st in s["stages"][1:]} & set(DILATED_KINDS) == set(DILATED_KINDS)


@pytest.mark.parametrize("name", DILATED_NAMES)
def test_dilated_models_build_for_1_and_3_planes_and_train_one_cpu_step(name):
    assert model_info(name)["family"] == "synthetic"
    for planes in (1, 3):
        with torch.device("meta"):
            net = build_model(name, in_channels=planes, num_classes=10)
            assert net(torch.empty(2, planes, 224, 224)).shape == (2, 10)
    torch.manual_seed(0)
    assert_trains_one_cpu_step(build_synthetic(name, 3, 10), planes=3, classes=10)


@pytest.mark.parametrize("name", DILATED_NAMES)
def test_dilated_models_are_priced_count_their_lead_and_write_under_40_gb_at_batch_256(name):
    with torch.device("meta"):
        net = build_synthetic(name, 1, 10)
    features = static_features(net, (1, 224, 224))
    assert features["unpriced_modules"] == []
    lead = synthetic_spec(name)["stages"][0]
    # the lead stage alone: depth blocks of c x 56 x 56; nb1d: four 3-tap kernels, the last two dilated by d
    side, c, d = 56, lead["width"], lead["dilation"]
    if lead["block"] == "nb1d":
        assert features["macs_conv_non_square"] >= lead["depth"] * side * side * c * c * 12
        assert features["macs_conv_dilated"] >= (lead["depth"] * side * side * c * c * 6 if d > 1 else 0)
    else:
        assert features["macs_conv_dilated"] >= lead["depth"] * side * side * c * c * 18
    assert features["macs_conv_dilated"] <= features["macs_conv_dense"]
    assert 0.1e9 <= features["macs_total"] <= 6e9, features["macs_total"] / 1e9  # forward MACs per sample
    written_bytes = features["bytes_forward"] * BATCH
    assert 1e9 < written_bytes < MEMORY_BOUND_BYTES, written_bytes / 1e9


# --------------------------------------------------------------------------- the blocks, by hand


def _convs(block: nn.Module) -> list:
    return [(m.in_channels, m.out_channels, m.kernel_size, m.dilation, m.padding) for m in block.modules()
            if isinstance(m, nn.Conv2d)]


@pytest.mark.parametrize("d", [1, 4])
def test_factorised_block_is_erfnets_four_3_tap_convolutions_the_last_two_dilated(d):
    c, h, w = 8, 12, 10
    block = sd.FactorisedBlock(c, d, nn.ReLU)
    assert _convs(block) == [(c, c, (3, 1), (1, 1), (1, 0)), (c, c, (1, 3), (1, 1), (0, 1)),
                             (c, c, (3, 1), (d, 1), (d, 0)), (c, c, (1, 3), (1, d), (0, d))]
    f = static_features(nn.Sequential(block, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, 10)), (c, h, w))
    assert f["unpriced_modules"] == []
    assert f["macs_conv_dense"] == f["macs_conv_non_square"] == 4 * h * w * c * c * 3
    assert f["macs_conv_dilated"] == (2 * h * w * c * c * 3 if d > 1 else 0)
    torch.manual_seed(0)
    block.eval()
    x = torch.randn(2, c, h, w)
    assert torch.allclose(block(x), torch.relu(x + block.body(x)))
    # the dilated 3x1 reaches 1 + d rows away along H only: a pixel that far moves the centre's output
    x2 = x.clone()
    x2[0, :, 5 + 1 + d, 5] += 1.0
    assert (block(x2) - block(x))[0, :, 5, 5].abs().sum() > 0


def test_dilated_basic_block_keeps_the_map_and_counts_every_mac_dilated_and_square():
    c, h, w, d = 8, 20, 20, 8
    block = sd.DilatedBasicBlock(c, d, nn.GELU)
    assert _convs(block) == [(c, c, (3, 3), (d, d), (d, d))] * 2
    f = static_features(nn.Sequential(block, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, 10)), (c, h, w))
    assert f["macs_conv_dense"] == f["macs_conv_dilated"] == 2 * h * w * c * c * 9
    assert f["macs_conv_non_square"] == 0
    assert block(torch.randn(2, c, h, w)).shape == (2, c, h, w)


def test_dilated_block_builds_each_kind_and_refuses_others():
    nb1d = sd.dilated_block({"block": "nb1d", "dilation": 2}, 16, nn.ReLU)
    assert isinstance(nb1d, sd.FactorisedBlock) and nb1d.body[5].dilation == (2, 1)
    dilres = sd.dilated_block({"block": "dilres", "dilation": 16}, 16, nn.ReLU)
    assert isinstance(dilres, sd.DilatedBasicBlock) and dilres.body[0].dilation == (16, 16)
    with pytest.raises(ValueError, match="unknown"):
        sd.dilated_block({"block": "plain"}, 16, nn.ReLU)
