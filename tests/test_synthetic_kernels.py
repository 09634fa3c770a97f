"""The fifth synthetic draw, ``synthetic_96`` ... ``synthetic_111``, led by depthwise convolutions larger than 7x7
(:data:`greenai.models.synthetic.KERNEL_KINDS`), its blocks (:mod:`greenai.models.synthetic_kernels`), and the
draw kept exactly as it was committed."""

from __future__ import annotations

import collections

import pytest
import torch
from torch import nn

from greenai.models import build_model, model_info
from greenai.models import synthetic_kernels as sk
from greenai.models.synthetic import (ALL_SYNTHETIC_NAMES, BLOCKS, KERNEL_KINDS, KERNEL_NAMES, NORMS_NAMES,
                                      build_synthetic, is_synthetic, synthetic_spec)
from greenai.predict.features import static_features
from test_synthetic_grouped import _hashes  # the hashes of every draw, computed alike
from synthetic_step import assert_trains_one_cpu_step

# sha256 of json.dumps({name: synthetic_spec(name)}, sort_keys=True) over synthetic_96 ... synthetic_111, and of
# their parameter counts (1 input plane, 10 classes), computed when the fifth draw was committed, before any row
# of kpi_synthetic_kernels: the rows measured later must be of these networks
SPECS_96_111_SHA256 = "2f5e3069345fd35b266f7e00c52d8cddda270f6f5b14048e168c61d4a6d8e421"
PARAMS_96_111_SHA256 = "4329716f6bba123377f9d2e37613bf9d876f9668c321e1ed7307f3645c3286b3"
#: the depthwise kernel sizes of the draw, and the widest lead stage [channels]
KERNELS, LEAD_MAX_WIDTH = (9, 13, 17, 21, 27, 31), 96
#: the GPU the rows are measured on holds 80 GB; the forward's written bytes bound what a step saves
BATCH, MEMORY_BOUND_BYTES = 256, 40e9


def test_the_fifth_draw_is_the_committed_one():
    assert _hashes(KERNEL_NAMES) == (SPECS_96_111_SHA256, PARAMS_96_111_SHA256)


def test_kernels_draw_alternates_its_two_kinds_and_leads_with_every_kernel_size_in_both():
    assert KERNEL_NAMES == tuple(f"synthetic_{i}" for i in range(96, 112))
    assert ALL_SYNTHETIC_NAMES[96:112] == KERNEL_NAMES
    assert ALL_SYNTHETIC_NAMES[80:96] == NORMS_NAMES and len(ALL_SYNTHETIC_NAMES) == 144
    assert all(is_synthetic(n) for n in KERNEL_NAMES) and not is_synthetic("synthetic_144")
    specs = [synthetic_spec(n) for n in KERNEL_NAMES]
    assert specs == [synthetic_spec(n) for n in KERNEL_NAMES]  # the index is the seed
    assert len({repr(s["stages"]) for s in specs}) == len(specs)
    assert not set(KERNEL_KINDS) & set(BLOCKS)
    leads = [s["stages"][0] for s in specs]
    # the rule: the lead of synthetic_(96 + j) is KERNEL_KINDS[j % 2] with kernel KERNELS[j // 2 % 6]
    assert [(st["block"], st["kernel"]) for st in leads] == [(KERNEL_KINDS[j % 2], KERNELS[j // 2 % 6])
                                                             for j in range(16)]
    for kind in KERNEL_KINDS:
        assert sorted({st["kernel"] for st in leads if st["block"] == kind}) == list(KERNELS)
    assert min(collections.Counter(st["kernel"] for st in leads).values()) >= 2
    for st in leads:  # at 56x56 (1x224x224 input), at most 96 channels
        assert not st["downsample"] and st["width"] <= LEAD_MAX_WIDTH
    for s in specs:
        for st in s["stages"]:
            assert st["block"] in KERNEL_KINDS + BLOCKS
            if st["block"] in KERNEL_KINDS:
                assert st["kernel"] in KERNELS
                assert st.get("mlp_ratio") == (4 if st["block"] == "bigdw" else None)
    assert {st["block"] for s in specs for st in s["stages"][1:]} & set(KERNEL_KINDS) == set(KERNEL_KINDS)


@pytest.mark.parametrize("name", KERNEL_NAMES)
def test_kernels_models_build_for_1_and_3_planes_and_train_one_cpu_step(name):
    assert model_info(name)["family"] == "synthetic"
    for planes in (1, 3):
        with torch.device("meta"):
            net = build_model(name, in_channels=planes, num_classes=10)
            assert net(torch.empty(2, planes, 224, 224)).shape == (2, 10)
    torch.manual_seed(0)
    assert_trains_one_cpu_step(build_synthetic(name, 3, 10), planes=3, classes=10)


@pytest.mark.parametrize("name", KERNEL_NAMES)
def test_kernels_models_are_priced_count_their_large_kernels_and_write_under_40_gb_at_batch_256(name):
    with torch.device("meta"):
        net = build_synthetic(name, 1, 10)
    features = static_features(net, (1, 224, 224))
    assert features["unpriced_modules"] == []
    lead = synthetic_spec(name)["stages"][0]
    # the lead stage alone: depth blocks of c x 56 x 56 through a k x k depthwise conv (replk: and a 5x5)
    side, c, k = 56, lead["width"], lead["kernel"]
    lead_macs = lead["depth"] * side * side * c * (k * k + (25 if lead["block"] == "replk" else 0))
    assert features["macs_conv_depthwise"] >= lead_macs
    assert 0.1e9 <= features["macs_total"] <= 3e9, features["macs_total"] / 1e9  # forward MACs per sample
    written_bytes = features["bytes_forward"] * BATCH
    assert 1e9 < written_bytes < MEMORY_BOUND_BYTES, written_bytes / 1e9


# --------------------------------------------------------------------------- the blocks, by hand


def _classifier(block: nn.Module, c: int) -> nn.Sequential:
    """``block`` on ``[B, c, H, W]``, average-pooled, a Linear to 10 classes."""
    return nn.Sequential(block, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, 10))


@pytest.mark.parametrize("k", [9, 31])
def test_replk_block_counts_its_large_and_small_depthwise_and_its_two_1x1_macs_exactly(k):
    c, h, w = 16, 12, 10
    block = sk.RepLKBlock(c, k, nn.ReLU)
    convs = [(m.in_channels, m.out_channels, m.kernel_size, m.groups, m.padding) for m in block.modules()
             if isinstance(m, nn.Conv2d)]
    assert convs == [(c, c, (1, 1), 1, (0, 0)), (c, c, (k, k), c, (k // 2, k // 2)), (c, c, (5, 5), c, (2, 2)),
                     (c, c, (1, 1), 1, (0, 0))]
    f = static_features(_classifier(block, c), (c, h, w))
    assert f["unpriced_modules"] == []
    assert f["macs_conv_depthwise"] == h * w * c * k * k + h * w * c * 25  # the k x k and the 5x5 beside it
    assert f["macs_conv_dense"] == 2 * h * w * c * c  # the two 1x1 convs
    assert f["macs_conv_grouped"] == 0 and f["macs_matmul"] == c * 10  # the head only
    assert block(torch.randn(2, c, h, w)).shape == (2, c, h, w)


def test_replk_block_sums_the_two_depthwise_branches_on_one_input_and_adds_the_residual():
    torch.manual_seed(0)
    c, k = 8, 9
    block = sk.RepLKBlock(c, k, nn.GELU).eval()
    x = torch.randn(2, c, 11, 11)
    y = block.pw1(block.pre_norm(x))
    expected = x + block.pw2(block.act(block.large(y) + block.small(y)))
    assert torch.allclose(block(x), expected)
    # the large kernel reaches k // 2 pixels away: a pixel 4 away from the centre moves the centre's output
    x2 = x.clone()
    x2[0, :, 5, 9] += 1.0
    assert (block(x2) - block(x))[0, :, 5, 5].abs().sum() > 0


@pytest.mark.parametrize("k", [13, 27])
def test_big_kernel_block_counts_its_depthwise_macs_exactly_and_its_mlp_as_matmuls(k):
    c, ratio, h, w = 16, 4, 9, 7
    block = sk.BigKernelBlock(c, k, ratio, nn.GELU)
    assert (block.dw.kernel_size, block.dw.groups, block.dw.padding) == ((k, k), c, (k // 2, k // 2))
    f = static_features(_classifier(block, c), (c, h, w))
    assert f["unpriced_modules"] == []
    assert f["macs_conv_depthwise"] == h * w * c * k * k
    assert f["macs_conv_dense"] == 0 and f["macs_conv_grouped"] == 0
    assert f["macs_matmul"] == 2 * ratio * h * w * c * c + c * 10  # the MLP's two Linears and the head
    assert block(torch.randn(2, c, h, w)).shape == (2, c, h, w)


def test_kernels_block_builds_each_kind_and_refuses_others():
    act = nn.GELU
    replk = sk.kernels_block({"block": "replk", "kernel": 17}, 32, act)
    assert isinstance(replk, sk.RepLKBlock) and replk.large[0].kernel_size == (17, 17)
    bigdw = sk.kernels_block({"block": "bigdw", "kernel": 21, "mlp_ratio": 4}, 32, act)
    assert isinstance(bigdw, sk.BigKernelBlock) and bigdw.dw.kernel_size == (21, 21) and bigdw.fc1.out_features == 128
    with pytest.raises(ValueError, match="unknown"):
        sk.kernels_block({"block": "convnext"}, 32, act)
