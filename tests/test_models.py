"""Every registered model builds for 1 and 3 input channels and maps a 224x224
batch to ``[N, num_classes]`` logits; the registry rejects unknown names."""

from __future__ import annotations

import pytest
import torch

from greenai.models import MODEL_NAMES, UnknownModelError, build_model, model_info
from greenai.models.googlenet import VARIANTS, InceptionVariant, ModifiedInception


def test_twenty_models_with_the_thesis_families():
    assert len(MODEL_NAMES) == 20
    assert len(set(MODEL_NAMES)) == 20
    for required in ("alexnet", "vgg11", "vgg13", "vgg16", "mobilenet_v1", "mobilenet_v2",
                     "resnet18", "resnet34", "resnet50", "googlenet",
                     "googlenet_mod1", "googlenet_mod8", "googlenet_mod12"):  # fmt: skip
        assert required in MODEL_NAMES
    assert sum(n.startswith("googlenet_mod") for n in MODEL_NAMES) == 10


@pytest.mark.parametrize("name", MODEL_NAMES)
@pytest.mark.parametrize("in_channels,num_classes", [(1, 10), (3, 10), (3, 100)])
def test_builds_and_gives_logits_at_224(name, in_channels, num_classes):
    # shapes only, on PyTorch's meta device (no memory, no arithmetic)
    with torch.device("meta"):
        model = build_model(name, in_channels=in_channels, num_classes=num_classes).eval()
        y = model(torch.empty(2, in_channels, 224, 224))
    assert y.shape == (2, num_classes)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_real_forward_and_backward_is_finite(name):
    torch.manual_seed(0)
    model = build_model(name, in_channels=3, num_classes=10)
    x = torch.randn(2, 3, 64, 64)
    y = model(x)
    assert y.shape == (2, 10)
    y.sum().backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)


def test_wrong_channel_count_fails_loudly():
    model = build_model("resnet18", in_channels=1).eval()
    with pytest.raises(RuntimeError):
        model(torch.randn(1, 3, 224, 224))


def test_unknown_name_lists_valid_names():
    with pytest.raises(UnknownModelError) as info:
        build_model("resnet19")
    assert isinstance(info.value, ValueError)
    assert "resnet18" in str(info.value) and "googlenet_mod12" in str(info.value)
    with pytest.raises(UnknownModelError):
        model_info("lenet")


@pytest.mark.parametrize("bad", [0, -1, 1.5])
def test_bad_channels_or_classes(bad):
    with pytest.raises(ValueError):
        build_model("alexnet", in_channels=bad)
    with pytest.raises(ValueError):
        build_model("alexnet", num_classes=bad)


def test_names_are_case_insensitive():
    assert model_info("ResNet18")["name"] == "resnet18"


def test_model_info_branch_counts_follow_the_thesis():
    assert model_info("googlenet_mod1")["branch_count"] == 1
    assert model_info("googlenet_mod8")["branch_count"] == 4
    assert model_info("googlenet_mod12")["branch_count"] == 4
    assert model_info("googlenet")["branch_count"] == 4
    assert model_info("vgg16")["branch_count"] == 1
    assert model_info("resnet50")["branch_count"] == 2
    counts = {model_info(n)["branch_count"] for n in VARIANTS}
    assert counts == {1, 2, 3, 4}
    for name in MODEL_NAMES:
        info = model_info(name)
        assert {"family", "branch_count", "display_name", "description"} <= set(info)


def test_modified_block_branches_and_width():
    block = ModifiedInception(192, 64, 96, 128, 16, 32, 32, variant=InceptionVariant(("1x1", "pool")))
    assert len(block.branches) == 2
    y = block(torch.randn(1, 192, 28, 28))
    assert y.shape == (1, 256, 28, 28)  # width of the original block 3a


def test_variant_validates():
    with pytest.raises(ValueError):
        InceptionVariant(("7x7",))
    with pytest.raises(ValueError):
        InceptionVariant(())
    with pytest.raises(ValueError):
        InceptionVariant(("1x1",), reduce_scale=0)


def test_in_channels_only_changes_the_first_layer():
    a = build_model("vgg11", in_channels=1)
    b = build_model("vgg11", in_channels=3)
    pa = sum(p.numel() for p in a.parameters())
    pb = sum(p.numel() for p in b.parameters())
    assert pb - pa == 2 * 64 * 3 * 3  # two extra input planes of the first 3x3 conv


# --------------------------------------------------------------------------- torchvision models beyond the zoo

HELDOUT = ("densenet121", "efficientnet_b0", "regnet_y_800mf", "shufflenet_v2_x1_0", "squeezenet1_1",
           "mnasnet1_0", "convnext_tiny", "resnext50_32x4d", "mobilenet_v3_large", "vit_b_16", "swin_t")


@pytest.mark.parametrize("name", HELDOUT)
def test_torchvision_models_build_adapted_to_the_dataset(name):
    from greenai.models import ZOO_FAMILIES

    with torch.device("meta"):
        grey = build_model(name, in_channels=1, num_classes=10).eval()
        rgb = build_model(name, in_channels=3, num_classes=100).eval()
        assert grey(torch.empty(2, 1, 224, 224)).shape == (2, 10)
        assert rgb(torch.empty(2, 3, 224, 224)).shape == (2, 100)
    first = next(m for m in grey.modules() if isinstance(m, torch.nn.Conv2d))
    assert first.in_channels == 1
    info = model_info(name)
    assert info["block"] == "torchvision" and info["family"] not in ZOO_FAMILIES


def test_torchvision_adaptation_changes_only_stem_and_head():
    import torchvision

    ours = build_model("convnext_tiny", in_channels=1, num_classes=10)
    theirs = torchvision.models.convnext_tiny(weights=None)  # 3 planes, 1000 classes
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    stem = 96 * 4 * 4  # Conv2d(in, 96, 4, stride 4): weights per input plane
    head = 768 * (1000 - 10) + (1000 - 10)
    assert count(theirs) - count(ours) == 2 * stem + head


def test_zoo_names_take_precedence_and_torchvision_builds_train():
    assert model_info("resnet18")["block"] == "residual"  # ours, not torchvision's
    assert model_info("ResNet101")["family"] == "resnet"
    torch.manual_seed(0)
    model = build_model("squeezenet1_1", in_channels=1, num_classes=10)
    y = model(torch.randn(2, 1, 64, 64))
    y.sum().backward()
    assert y.shape == (2, 10)


def test_unknown_name_lists_torchvision_names_too():
    with pytest.raises(UnknownModelError) as info:
        build_model("densenet122")
    assert "densenet121" in str(info.value) and "alexnet" in str(info.value)


# --------------------------------------------------------------------------- synthetic architectures


def test_synthetic_specs_are_deterministic_and_cover_every_block_kind():
    from greenai.models.synthetic import BLOCKS, SYNTHETIC_NAMES, synthetic_spec

    specs = [synthetic_spec(n) for n in SYNTHETIC_NAMES]
    assert specs == [synthetic_spec(n) for n in SYNTHETIC_NAMES]  # the index is the seed
    assert len({repr(s["stages"]) for s in specs}) == len(specs)  # no two alike
    kinds = [st["block"] for s in specs for st in s["stages"]]
    assert set(kinds) == set(BLOCKS)
    for s in specs:
        for i, st in enumerate(s["stages"]):
            if st["block"] == "grouped":
                assert 1 < st["channels_per_group"] < st["width"] and st["width"] % st["channels_per_group"] == 0
            if st["block"] == "attention":
                assert i >= 1  # tokens at 28x28 or coarser
    with pytest.raises(ValueError, match="synthetic_00 ... synthetic_143"):
        synthetic_spec("synthetic_144")


def test_synthetic_models_build_by_name_with_the_counted_layers():
    from torch import nn

    from greenai.models.synthetic import SYNTHETIC_NAMES, synthetic_spec

    for name in SYNTHETIC_NAMES:
        with torch.device("meta"):
            net = build_model(name, in_channels=3, num_classes=7)
        assert net(torch.empty(2, 3, 224, 224, device="meta")).shape == (2, 7)
        spec = synthetic_spec(name)
        convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
        grouped = [m for m in convs if 1 < m.groups < m.in_channels]
        depthwise = [m for m in convs if m.groups > 1 and m.groups == m.in_channels]
        blocks = {st["block"] for st in spec["stages"]}
        # a grouped stage of depth d has d grouped convolutions; inverted/convnext stages are depthwise
        assert len(grouped) == sum(st["depth"] for st in spec["stages"] if st["block"] == "grouped")
        assert bool(depthwise) == bool(blocks & {"inverted", "convnext"})
        assert model_info(name)["family"] == "synthetic"


@pytest.mark.parametrize("name", ["synthetic_05", "synthetic_06", "synthetic_00"])  # concat, attention, grouped
def test_synthetic_models_train_on_a_cpu(name):
    torch.manual_seed(0)
    net = build_model(name, in_channels=1, num_classes=10)
    x = torch.randn(2, 1, 64, 64)
    loss = torch.nn.functional.cross_entropy(net(x), torch.tensor([1, 2]))
    loss.backward()
    assert torch.isfinite(loss) and all(p.grad is not None for p in net.parameters())
