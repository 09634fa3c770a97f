"""The sixth synthetic draw, ``synthetic_112`` ... ``synthetic_127``, led by batch norms over 1-32 channels of a
reshaped map (:data:`greenai.models.synthetic.BATCH_NORM_KINDS`), its blocks
(:mod:`greenai.models.synthetic_batch_norms`), and the draw kept exactly as it was committed."""

from __future__ import annotations

import collections

import pytest
import torch
from torch import nn

from greenai.models import build_model, model_info
from greenai.models import synthetic_batch_norms as sbn
from greenai.models.synthetic import (ALL_SYNTHETIC_NAMES, BATCH_NORM_KINDS, BATCH_NORM_NAMES, BLOCKS,
                                      KERNEL_NAMES, build_synthetic, is_synthetic, synthetic_spec)
from greenai.predict.features import static_features
from test_synthetic_grouped import _hashes  # the hashes of every draw, computed alike
from synthetic_step import assert_trains_one_cpu_step

# sha256 of json.dumps({name: synthetic_spec(name)}, sort_keys=True) over synthetic_112 ... synthetic_127, and of
# their parameter counts (1 input plane, 10 classes), computed when the sixth draw was committed, before any row
# of kpi_synthetic_batch_norms: the rows measured later must be of these networks
SPECS_112_127_SHA256 = "aae3c4d189c39ecf11111b873ce1052095d8eceead088160ee23e207cc2c7fdf"
PARAMS_112_127_SHA256 = "aac81827af8da1ff5bc00bfa672b8ce29808762d89aaf1a92122af1e9acf2885"
#: the channels of the draw's few-channel batch norms, the partitions' side of ``repmlp`` [pixels] and the widest
#: lead stage [channels]
BN_CHANNELS, PARTITION, LEAD_MAX_WIDTH = (1, 2, 4, 8, 16, 32), 7, 96
#: the GPU the rows are measured on holds 80 GB; the forward's written bytes bound what a step saves
BATCH, MEMORY_BOUND_BYTES = 256, 40e9


def test_the_sixth_draw_is_the_committed_one():
    assert _hashes(BATCH_NORM_NAMES) == (SPECS_112_127_SHA256, PARAMS_112_127_SHA256)


def test_batch_norms_draw_alternates_its_two_kinds_and_leads_with_every_bn_channels_in_both():
    assert BATCH_NORM_NAMES == tuple(f"synthetic_{i}" for i in range(112, 128))
    assert ALL_SYNTHETIC_NAMES[112:128] == BATCH_NORM_NAMES and ALL_SYNTHETIC_NAMES[96:112] == KERNEL_NAMES
    assert len(ALL_SYNTHETIC_NAMES) == 144 and len(set(ALL_SYNTHETIC_NAMES)) == 144
    assert all(is_synthetic(n) for n in BATCH_NORM_NAMES) and not is_synthetic("synthetic_144")
    assert sbn.BN_CHANNELS == BN_CHANNELS and sbn.PARTITION == PARTITION
    specs = [synthetic_spec(n) for n in BATCH_NORM_NAMES]
    assert specs == [synthetic_spec(n) for n in BATCH_NORM_NAMES]  # the index is the seed
    assert len({repr(s["stages"]) for s in specs}) == len(specs)
    assert not set(BATCH_NORM_KINDS) & set(BLOCKS)
    leads = [s["stages"][0] for s in specs]
    # the rule: the lead of synthetic_(112 + j) is BATCH_NORM_KINDS[j % 2] over BN_CHANNELS[j // 2 % 6] channels
    assert [(st["block"], st["bn_channels"]) for st in leads] == [(BATCH_NORM_KINDS[j % 2], BN_CHANNELS[j // 2 % 6])
                                                                  for j in range(16)]
    for kind in BATCH_NORM_KINDS:
        assert sorted({st["bn_channels"] for st in leads if st["block"] == kind}) == list(BN_CHANNELS)
    assert min(collections.Counter(st["bn_channels"] for st in leads).values()) >= 2
    for st in leads:  # at 56x56 (1x224x224 input), at most 96 channels, a multiple of 32 (every bn_channels divides)
        assert not st["downsample"] and st["width"] <= LEAD_MAX_WIDTH and st["width"] % 32 == 0
    for s in specs:
        for i, st in enumerate(s["stages"]):
            assert st["block"] in BATCH_NORM_KINDS + BLOCKS
            if st["block"] in BATCH_NORM_KINDS:
                assert st["bn_channels"] in BN_CHANNELS and st["width"] % st["bn_channels"] == 0
                assert st.get("partition") == (PARTITION if st["block"] == "repmlp" else None)
                assert (56 // 2**i) % PARTITION == 0  # the stage's side at 1x224x224 input: never padded
    assert {st["block"] for s in specs for st in s["stages"][1:]} & set(BATCH_NORM_KINDS) == set(BATCH_NORM_KINDS)


@pytest.mark.parametrize("name", BATCH_NORM_NAMES)
def test_batch_norms_models_build_for_1_and_3_planes_and_train_one_cpu_step(name):
    assert model_info(name)["family"] == "synthetic"
    for planes in (1, 3):
        with torch.device("meta"):
            net = build_model(name, in_channels=planes, num_classes=10)
            assert net(torch.empty(2, planes, 224, 224)).shape == (2, 10)
    torch.manual_seed(0)
    assert_trains_one_cpu_step(build_synthetic(name, 3, 10), planes=3, classes=10)


def _few_channel_norm_inputs(net: nn.Module, batch: int) -> list[tuple[int, ...]]:
    """The input shapes of the few-channel batch norms of ``net`` (on meta) in one forward of ``batch``
    1x224x224 samples, in the order they ran."""
    norms = [m.norm for m in net.modules() if isinstance(m, (sbn.FewChannelBatchNorm, sbn.PartitionPerceptron))]
    shapes = []
    hooks = [n.register_forward_pre_hook(lambda m, args: shapes.append(tuple(args[0].shape))) for n in norms]
    net(torch.empty(batch, 1, 224, 224, device="meta"))
    for h in hooks:
        h.remove()
    return shapes


@pytest.mark.parametrize("name", BATCH_NORM_NAMES)
def test_batch_norms_models_are_priced_lead_with_few_channel_norms_and_write_under_40_gb_at_batch_256(name):
    with torch.device("meta"):
        net = build_synthetic(name, 1, 10)
    features = static_features(net, (1, 224, 224))
    assert features["unpriced_modules"] == []
    lead = synthetic_spec(name)["stages"][0]
    side, c, s, depth = 56, lead["width"], lead["bn_channels"], lead["depth"]
    # the lead stage's blocks: each one's few-channel norm is a BatchNorm2d(s) over all c x 56 x 56 values
    if lead["block"] == "fewbn":
        expected = [(2 * c // s, s, side, side)] * depth
    else:
        parts = (side // PARTITION) ** 2
        expected = [(2 * parts * c // s, s, PARTITION, PARTITION)] * depth
    assert _few_channel_norm_inputs(net, 2)[:depth] == expected
    # the lead stage's MACs alone: the 1x1 convs, and repmlp's partition perceptron (p^2 per value)
    lead_macs = depth * side * side * c * (c + (PARTITION**2 if lead["block"] == "repmlp" else 0))
    assert features["macs_conv_dense"] + features["macs_conv_grouped"] >= lead_macs
    assert 0.05e9 <= features["macs_total"] <= 3e9, features["macs_total"] / 1e9  # forward MACs per sample
    written_bytes = features["bytes_forward"] * BATCH
    assert 1e9 < written_bytes < MEMORY_BOUND_BYTES, written_bytes / 1e9


# --------------------------------------------------------------------------- the blocks, by hand


def _classifier(block: nn.Module, c: int) -> nn.Sequential:
    """``block`` on ``[B, c, H, W]``, average-pooled, a Linear to 10 classes."""
    return nn.Sequential(block, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, 10))


def test_fewbn_block_runs_its_batch_norm_of_4_channels_over_the_map_reshaped_to_groups_of_4():
    block = sbn.FewBNBlock(32, 4, nn.ReLU)
    seen = []
    block.norm.norm.register_forward_pre_hook(lambda m, args: seen.append(tuple(args[0].shape)))
    x = torch.randn(2, 32, 14, 14)
    assert block(x).shape == x.shape
    assert seen == [(16, 4, 14, 14)]
    assert isinstance(block.norm.norm, nn.BatchNorm2d) and block.norm.norm.num_features == 4
    # train mode: each of the 4 channels normalised over the 2 x 8 x 14 x 14 values of channels 4i + k
    norm = sbn.FewChannelBatchNorm(32, 4)
    groups = x.view(2, 8, 4, 14, 14).permute(2, 0, 1, 3, 4).reshape(4, -1)
    mean, var = groups.mean(1), groups.var(1, unbiased=False)
    expected = (x.view(2, 8, 4, 14, 14) - mean.view(1, 1, 4, 1, 1)) / (var.view(1, 1, 4, 1, 1) + 1e-5).sqrt()
    assert torch.allclose(norm(x), expected.view_as(x), atol=1e-5)


def test_few_channel_batch_norm_over_all_channels_is_the_usual_batch_norm_and_refuses_a_non_divisor():
    torch.manual_seed(0)
    x = torch.randn(3, 8, 5, 6)
    assert torch.allclose(sbn.FewChannelBatchNorm(8, 8)(x), nn.BatchNorm2d(8)(x), atol=1e-6)
    with pytest.raises(ValueError, match="do not divide"):
        sbn.FewChannelBatchNorm(24, 16)


@pytest.mark.parametrize("s", [1, 2])
def test_fewbn_and_repmlp_blocks_count_their_macs_exactly(s):
    c, h, w, p = 16, 14, 21, PARTITION
    fewbn = static_features(_classifier(sbn.FewBNBlock(c, s, nn.GELU), c), (c, h, w))
    assert fewbn["unpriced_modules"] == []
    assert fewbn["macs_conv_dense"] == h * w * c * c and fewbn["macs_conv_grouped"] == 0
    assert fewbn["macs_matmul"] == c * 10  # the head only
    repmlp = static_features(_classifier(sbn.RepMLPLikeBlock(c, s, nn.GELU), c), (c, h, w))
    assert repmlp["unpriced_modules"] == []
    perceptron = h * w * c * p * p  # each value of a partition mixed with the p x p of its channel
    # one shareset: the perceptron is a dense 1x1 conv; more: a grouped one
    assert repmlp["macs_conv_dense"] == h * w * c * c + (perceptron if s == 1 else 0)
    assert repmlp["macs_conv_grouped"] == (perceptron if s > 1 else 0)


def test_repmlp_block_runs_its_perceptron_and_batch_norm_per_partition_and_shareset():
    c, s, p = 8, 2, PARTITION
    block = sbn.RepMLPLikeBlock(c, s, nn.ReLU)
    fc, norm = block.perceptron.fc, block.perceptron.norm
    assert (fc.in_channels, fc.out_channels, fc.kernel_size, fc.groups) == (s * p * p, s * p * p, (1, 1), s)
    assert isinstance(norm, nn.BatchNorm2d) and norm.num_features == s
    seen = []
    fc.register_forward_pre_hook(lambda m, args: seen.append(tuple(args[0].shape)))
    norm.register_forward_pre_hook(lambda m, args: seen.append(tuple(args[0].shape)))
    x = torch.randn(2, c, 14, 14)
    assert block(x).shape == x.shape
    # 2 samples x 2 x 2 partitions x 8 / 2 shareset groups of rows
    assert seen == [(32, s * p * p, 1, 1), (32, s, p, p)]


def test_partition_perceptron_mixes_the_pixels_of_each_channel_within_its_partition_by_its_shareset_matrix():
    torch.manual_seed(0)
    c, s, p = 6, 3, PARTITION
    perceptron = sbn.PartitionPerceptron(c, s, p).eval()  # running statistics: every partition on its own
    x = torch.randn(2, c, 14, 21)
    weights = perceptron.fc.weight.view(s, p * p, p * p)  # [shareset, out pixel, in pixel]
    parts = x.view(2, c, 2, p, 3, p).permute(0, 1, 2, 4, 3, 5).reshape(2, c, 2, 3, p * p)
    mixed = torch.einsum("bcijq,cpq->bcijp", parts, weights[torch.arange(c) % s])
    mixed = mixed.view(2, c, 2, 3, p, p).permute(0, 1, 2, 4, 3, 5).reshape_as(x)
    bn = perceptron.norm
    scale = (bn.weight / (bn.running_var + bn.eps).sqrt())[torch.arange(c) % s].view(1, c, 1, 1)
    shift = (bn.bias - bn.running_mean * bn.weight / (bn.running_var + bn.eps).sqrt())[torch.arange(c) % s]
    assert torch.allclose(perceptron(x), mixed * scale + shift.view(1, c, 1, 1), atol=1e-5)
    # a pixel of the first partition moves no output of the next one
    x2 = x.clone()
    x2[0, 0, 3, 3] += 1.0
    delta = (perceptron(x2) - perceptron(x))[0]
    assert delta[0, :p, :p].abs().sum() > 0 and delta[:, :, p:].abs().sum() == 0 and delta[1:].abs().sum() == 0


def test_partition_perceptron_pads_a_map_that_is_not_a_multiple_of_the_partition_and_crops_back():
    perceptron = sbn.PartitionPerceptron(4, 2)
    assert perceptron(torch.randn(2, 4, 16, 9)).shape == (2, 4, 16, 9)
    with pytest.raises(ValueError, match="do not divide"):
        sbn.PartitionPerceptron(6, 4)


def test_partition_perceptron_is_repmlpnets_fc3_and_fc3_bn_in_each_partition():
    """RepMLPNet's partition perceptron, as mmpretrain writes it, on one partition (RepMLPNet's partition is its
    whole map: mmpretrain's reshape back interleaves partitions and channels when a map holds several)."""
    repmlp = pytest.importorskip("mmpretrain.models.backbones.repmlp")
    torch.manual_seed(0)
    c, s, p = 8, 4, PARTITION
    ours = sbn.PartitionPerceptron(c, s, p)
    theirs = repmlp.RepMLPBlock(c, p, p, reparam_conv_kernels=None, globalperceptron_ratio=4, num_sharesets=s)
    theirs.fc3.weight.data.copy_(ours.fc.weight)

    def fc3(x):  # mmpretrain's forward without the global perceptron's channel gate
        out = theirs.partition_affine(theirs.partition(x, x.shape[2] // p, x.shape[3] // p), x.shape[2] // p,
                                      x.shape[3] // p)
        return out.permute(0, 3, 1, 4, 2, 5).reshape(x.shape)

    x = torch.randn(3, c, p, p)
    assert torch.allclose(ours(x), fc3(x), atol=1e-5)  # training: the batch's statistics
    ours.eval(), theirs.eval()
    theirs.fc3_bn.load_state_dict(ours.norm.state_dict())  # the running statistics just updated
    x = torch.randn(2, c, 2 * p, 3 * p)
    y = ours(x)
    for i in range(2):
        for j in range(3):
            part = (slice(None), slice(None), slice(i * p, (i + 1) * p), slice(j * p, (j + 1) * p))
            assert torch.allclose(y[part], fc3(x[part]), atol=1e-5)


def test_batch_norms_block_builds_each_kind_and_refuses_others():
    act = nn.GELU
    fewbn = sbn.batch_norms_block({"block": "fewbn", "bn_channels": 2}, 32, act)
    assert isinstance(fewbn, sbn.FewBNBlock) and fewbn.norm.norm.num_features == 2
    repmlp = sbn.batch_norms_block({"block": "repmlp", "bn_channels": 8, "partition": 7}, 32, act)
    assert isinstance(repmlp, sbn.RepMLPLikeBlock) and repmlp.perceptron.fc.groups == 8
    with pytest.raises(ValueError, match="unknown"):
        sbn.batch_norms_block({"block": "convnext"}, 32, act)

