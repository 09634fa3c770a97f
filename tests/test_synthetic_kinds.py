"""The block kinds of ``synthetic_48`` ... ``synthetic_63`` (:mod:`greenai.models.synthetic_blocks`), their draws,
and the first draw (``synthetic_00`` ... ``_47``, whose rows are recorded) kept exactly as it was."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from torch import nn

from greenai.models import build_model, model_info
from greenai.models import synthetic_blocks as sb
from greenai.models.synthetic import (ALL_SYNTHETIC_NAMES, BLOCKS, KINDS_BLOCKS, KINDS_NAMES, SYNTHETIC_NAMES,
                                      synthetic_spec)
from synthetic_step import assert_trains_one_cpu_step

DATA = Path(__file__).parent / "data"


def test_first_draw_is_the_recorded_one():
    # tests/data/synthetic_specs_00_47.json: synthetic_spec of every first-draw name, written before the
    # kinds of synthetic_48 ... were added; their kpi_synthetic rows were measured on these networks
    recorded = json.loads((DATA / "synthetic_specs_00_47.json").read_text())
    assert list(SYNTHETIC_NAMES) == sorted(recorded) and len(recorded) == 48
    for name in SYNTHETIC_NAMES:
        assert json.loads(json.dumps(synthetic_spec(name))) == recorded[name], name


def test_kinds_draws_lead_with_every_new_kind_and_mix_later():
    assert KINDS_NAMES == tuple(f"synthetic_{i}" for i in range(48, 64)) and ALL_SYNTHETIC_NAMES[48:64] == KINDS_NAMES
    specs = [synthetic_spec(n) for n in KINDS_NAMES]
    assert specs == [synthetic_spec(n) for n in KINDS_NAMES]  # the index is the seed
    assert len({repr(s["stages"]) for s in specs}) == len(specs)
    leads = [s["stages"][0]["block"] for s in specs]
    assert set(leads) == set(KINDS_BLOCKS) and not set(KINDS_BLOCKS) & set(BLOCKS)
    assert all(st["block"] in KINDS_BLOCKS + BLOCKS for s in specs for st in s["stages"])
    for s in specs:
        for st in s["stages"]:
            if "heads" in st:
                assert st["width"] % st["heads"] == 0
            if st["block"] == "window":
                assert st["window"] == 7


@pytest.mark.parametrize("name", KINDS_NAMES)
def test_kinds_models_are_sized_like_the_first_draw_and_count_on_meta(name):
    from greenai.macs import count_model
    from greenai.predict.features import compute_model_features

    assert model_info(name)["family"] == "synthetic"
    macs = count_model(name, 1, 10, 224)["macs"]
    assert 0.3e9 <= macs <= 5e9, macs / 1e9  # forward MACs per sample at 1x224x224 (thop)
    features = compute_model_features(name, 1, 10, image_size=32)  # the static features build on meta
    assert features and all(math.isfinite(v) for v in features.values() if isinstance(v, float))


@pytest.mark.parametrize("name", KINDS_NAMES)
def test_kinds_models_train_one_cpu_step(name):
    torch.manual_seed(0)
    assert_trains_one_cpu_step(build_model(name, in_channels=1, num_classes=10), planes=1, classes=10)


# --------------------------------------------------------------------------- the blocks, by hand


def test_rnn2d_mixes_along_the_row_and_the_column_only():
    torch.manual_seed(0)
    for cell in ("lstm", "gru"):
        mix = sb.RNN2D(4, 3, cell)
        x = torch.randn(1, 5, 6, 4)
        y = torch.randn(1, 5, 6, 4)
        x2 = x.clone()
        x2[0, 2, 3] += 1.0
        changed = (mix(x2) - mix(x)).abs().sum(-1)[0] > 0
        expected = torch.zeros(5, 6, dtype=torch.bool)
        expected[2, :] = expected[:, 3] = True
        assert torch.equal(changed, expected), cell
        assert mix(y).shape == y.shape and mix.fc.in_features == 12


def test_window_attention_keeps_windows_apart_unless_shifted():
    torch.manual_seed(0)
    x = torch.randn(1, 14, 14, 8)
    x2 = x.clone()
    x2[0, 0, 0] += 1.0  # a token of the top-left 7x7 window
    rolled = torch.tensor([i in (10, 11, 12, 13, 0, 1, 2) for i in range(14)])  # its window, rolled by -3
    first = torch.arange(14) < 7
    for shift, rows in ((False, first), (True, rolled)):
        att = sb.WindowAttention(8, 2, 7, shift=shift)
        changed = (att(x2) - att(x)).abs().sum(-1)[0] > 0
        assert torch.equal(changed, rows[:, None] & rows[None, :]), shift
    assert att.bias_table.shape == (13 * 13, 2) and att.bias_index.shape == (49, 49)
    assert int(att.bias_index[0, 0]) == 6 * 13 + 6  # zero offset: the table's centre
    assert sb.WindowAttention(8, 2)(torch.randn(2, 9, 10, 8)).shape == (2, 9, 10, 8)  # padded, cropped


def test_linear_attention_is_the_kernelised_product():
    torch.manual_seed(0)
    att = sb.LinearAttention(4, 1, "relu")
    x = torch.randn(1, 2, 3, 4)
    q, k, v = att.qkv(x.reshape(6, 4)).chunk(3, -1)
    scores = torch.relu(q) @ torch.relu(k).T  # [6, 6]
    expected = att.proj((scores / (scores.sum(1, keepdim=True) + 1e-6)) @ v).reshape(1, 2, 3, 4)
    torch.testing.assert_close(att(x), expected)


def test_pooled_attention_attends_to_the_average_of_2x2_tokens():
    torch.manual_seed(0)
    att = sb.PooledAttention(4, 1, "avg")
    x = torch.randn(1, 2, 2, 4)  # one pooled token: every query gets its value
    v = att.kv(x.mean((1, 2)))[:, 4:]
    torch.testing.assert_close(att(x), att.proj(v).expand(1, 2, 2, 4).reshape(1, 2, 2, 4))


def test_global_filter_of_ones_is_the_identity_and_resizes():
    f = sb.GlobalFilter(3, 8)
    with torch.no_grad():
        f.weight.zero_()
        f.weight[..., 0] = 1.0
    x = torch.randn(2, 8, 8, 3)
    torch.testing.assert_close(f(x), x)
    torch.testing.assert_close(f(torch.ones(1, 4, 6, 3)), torch.ones(1, 4, 6, 3))  # interpolated ones


def test_shift_rolls_four_channel_groups_by_one_pixel():
    x = torch.arange(2 * 16 * 3 * 3, dtype=torch.float).reshape(2, 16, 3, 3)
    y = sb.Shift(8)(x)  # groups of 2 channels
    torch.testing.assert_close(y[:, 0, :, 1], x[:, 0, :, 0])  # right
    torch.testing.assert_close(y[:, 2, :, 0], x[:, 2, :, 1])  # left
    torch.testing.assert_close(y[:, 4, 1], x[:, 4, 0])  # down
    torch.testing.assert_close(y[:, 6, 0], x[:, 6, 1])  # up
    torch.testing.assert_close(y[:, 8:], x[:, 8:])


def test_pool_mixer_is_zero_on_a_constant_map():
    assert torch.equal(sb.PoolMix()(torch.full((1, 2, 5, 5), 3.0)), torch.zeros(1, 2, 5, 5))


def test_gated_se_and_preact_blocks_by_their_weights():
    act = nn.ReLU
    gated = sb.GatedMLPBlock(8, 2, act, conv_gate=True)
    assert gated.fc1.out_features == 32 and gated.dw.groups == 16
    se = sb.SEBasicBlock(16, 32, 3, 2, 16, act)
    assert se.body[-1].fc1.out_channels == 8 and se(torch.randn(1, 16, 8, 8)).shape == (1, 32, 4, 4)  # max(8, 2)
    pre = sb.PreActBlock(8, 8, 3, 1, False, act)
    with torch.no_grad():
        pre.body[-1].weight.zero_()
    x = torch.randn(1, 8, 5, 5)
    torch.testing.assert_close(pre(x), x)  # identity shortcut, body silenced
    assert isinstance(sb.PreActBlock(8, 16, 3, 2, True, act).short, nn.Conv2d)
