"""The ``hf:`` namespace of the model registry: named configurations of Hugging Face transformers' vision models made
classifiers (their logits, or their outputs pooled and a linear layer) for a dataset's channels and classes, built
from a configuration alone (nothing downloaded), their family, and clear errors for an unknown name and for
transformers missing (simulated)."""

from __future__ import annotations

import dataclasses
import socket
import sys

import pytest
import torch
from torch import nn

from greenai import experiments as ex
from greenai.models import SourceMissingError, UnknownModelError, build_model, model_info
from greenai.models.hf_models import CONFIGS, HfClassifier

#: every configuration's family: the transformers model module of its class
FAMILIES = {
    "segformer_b0": "segformer", "pvt_tiny": "pvt", "hiera_tiny": "hiera", "textnet_tiny": "textnet",
    "poolformer_s12": "poolformer", "mobilevitv2_100": "mobilevitv2", "dinov2_small": "dinov2",
    "ijepa_small": "ijepa", "dinov3_vit_small": "dinov3_vit", "beit_small": "beit", "dpt_small": "dpt",
    "depth_anything_small": "depth_anything", "glpn_b0": "glpn", "upernet_convnext": "upernet",
    "maskformer_r50": "maskformer", "vitdet_small": "vitdet", "vitmatte_small": "vitmatte", "sam_vit_small": "sam",
    "vitpose_small": "vitpose", "swin2sr_light": "swin2sr", "rt_detr_resnet50": "rt_detr",
    "timesformer_2f": "timesformer", "videomae_2f": "videomae", "swiftformer_xs": "swiftformer",
    "focalnet_tiny": "focalnet", "levit_128s": "levit", "pp_ocrv5_mobile_det": "pp_ocrv5_mobile_det",
    "rt_detr_v2_r18": "rt_detr_v2", "mask2former_r18": "mask2former",
}


@pytest.fixture
def no_transformers(monkeypatch):
    """transformers made unimportable, as on a machine without the extra."""
    for mod in [m for m in sys.modules if m == "transformers" or m.startswith("transformers.")]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setitem(sys.modules, "transformers", None)


@pytest.fixture
def offline(monkeypatch):
    """No network: the Hub's offline switch on, every socket connection and every download of transformers an
    error."""
    pytest.importorskip("transformers")
    import huggingface_hub
    import transformers

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True, raising=False)

    def refuse(*args, **kwargs):
        raise AssertionError(f"a download was attempted: {args!r:.200}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    for cls in (transformers.PreTrainedModel, transformers.PreTrainedConfig, transformers.AutoConfig,
                transformers.AutoBackbone, transformers.AutoModel):
        monkeypatch.setattr(cls, "from_pretrained", classmethod(refuse))
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", refuse)
    monkeypatch.setattr(transformers.utils.hub, "cached_file", refuse, raising=False)


@pytest.mark.parametrize("call", [lambda: build_model("hf:segformer_b0", 1, 10),
                                  lambda: model_info("hf:segformer_b0")])
def test_an_hf_name_without_transformers_says_how_to_install_it(no_transformers, call):
    with pytest.raises(SourceMissingError) as info:
        call()
    assert isinstance(info.value, UnknownModelError) and isinstance(info.value, ImportError)
    message = str(info.value)
    assert "'hf:segformer_b0'" in message and "pip install 'greenai[hf]'" in message
    assert "transformers==5.25.0" in message and "\n" not in message


def test_campaign_validation_passes_the_install_hint_on(no_transformers):
    spec = ex.RunSpec(experiment="t", model="hf:dpt_small", dataset="fashion_mnist", batch_size=4, source="synthetic")
    with pytest.raises(ex.GridError, match=r"pip install 'greenai\[hf\]'"):
        ex.validate([spec], check_data=False)


@pytest.mark.parametrize("name", ["hf:nonsense", "hf:", "hf:segformer", "hf:SegformerForImageClassification",
                                  "hf:segformer_b0_but_not", "hf:perceiver_conv", "hf:dinat_mini"])
def test_an_unknown_hf_name_is_an_unknown_model_naming_the_configurations(name):
    pytest.importorskip("transformers")
    with pytest.raises(UnknownModelError) as info:
        build_model(name)
    assert not isinstance(info.value, SourceMissingError)
    message = str(info.value)
    assert "hf:NAME" in message and "vitmatte_small" in message and "pip install 'greenai[hf]'" in message
    assert "monai:NAME" in message


def test_names_are_case_insensitive_and_the_entry_says_what_was_built():
    pytest.importorskip("transformers")
    info = model_info("HF:SegFormer_B0")
    assert info["name"] == "hf:segformer_b0" and info["family"] == "segformer" and info["block"] == "hf"
    assert "SegformerForImageClassification" in info["description"] and "its logits" in info["description"]
    info = model_info("hf:glpn_b0")
    assert "predicted_depth pooled, a linear layer" in info["description"]


class _Fields(nn.Module):
    """A model with the output fields transformers' dense models have: a map, tokens, a tuple per layer."""

    def forward(self, pixel_values):
        n = pixel_values.shape[0]
        ramp = torch.arange(3.0).reshape(1, 3, 1, 1)
        return {"map": torch.ones(n, 3, 4, 4) * ramp,  # pooled: 0, 1, 2
                "tokens": torch.stack([torch.zeros(n, 2), torch.full((n, 2), 4.0)], dim=1),  # [N, 2 tokens, 2]: 2, 2
                "layers": (torch.full((n, 1), 9.0), torch.full((n, 1), 5.0)),  # the last layer: 5
                "shape": torch.tensor(pixel_values.shape, dtype=torch.float).expand(n, -1)}


def test_the_head_pools_each_named_output_and_concatenates_them():
    net = HfClassifier(_Fields(), features=6, num_classes=6, outputs=("map", "tokens", "layers"))
    with torch.no_grad():
        net.head.weight.copy_(torch.eye(6))
        net.head.bias.zero_()
    assert torch.equal(net(torch.zeros(2, 1, 8, 8)), torch.tensor([[0.0, 1, 2, 2, 2, 5]] * 2))
    net.outputs = ("map",)  # 3 features, not the head's 6
    with pytest.raises(RuntimeError):
        net(torch.zeros(2, 1, 8, 8))


def test_a_video_model_sees_the_image_as_a_clip_of_its_frames():
    net = HfClassifier(_Fields(), features=5, num_classes=5, outputs=("shape",), frames=2)
    with torch.no_grad():
        net.head.weight.copy_(torch.eye(5))
        net.head.bias.zero_()
    assert net(torch.zeros(3, 1, 8, 8)).tolist() == [[3.0, 2.0, 1.0, 8.0, 8.0]] * 3
    net.frames = 0
    with pytest.raises(RuntimeError):  # an image: 4 sizes, not the head's 5
        net(torch.zeros(3, 1, 8, 8))


def _fields(config_cls) -> set[str]:
    """The keywords a configuration class knows: its dataclass fields and its settable properties (``num_labels``,
    a backbone's ``out_features`` and ``out_indices``)."""
    settable = {n for n in dir(config_cls) if isinstance(getattr(config_cls, n, None), property)
                and getattr(config_cls, n).fset is not None}
    return {f.name for f in dataclasses.fields(config_cls)} | settable


@pytest.mark.parametrize("name", list(CONFIGS))
def test_every_configuration_builds_for_one_and_three_planes_with_its_module_as_family(name):
    """On ``meta`` (no memory, no arithmetic), in eval mode as greenai.macs counts: [2, 10] logits, the pooled
    features as many as the head takes, every tensor on ``meta``; every keyword a field of its configuration class
    (transformers keeps unknown keywords silently)."""
    transformers = pytest.importorskip("transformers")
    config = CONFIGS[name]
    config_cls = getattr(transformers, config.config)
    assert set(config.keywords) <= _fields(config_cls), name
    for nested in ("backbone_config",):
        if nested in config.keywords:
            sub = config.keywords[nested]
            assert set(sub) - {"model_type"} <= _fields(type(transformers.AutoConfig.for_model(sub["model_type"])))
    assert not config.channels_arg or config.channels_arg.split(".")[-1] in _fields(
        config_cls if "." not in config.channels_arg
        else type(transformers.AutoConfig.for_model(config.keywords["backbone_config"]["model_type"])))
    assert config.description and "\n" not in config.description
    info = model_info(f"hf:{name}")
    cls = getattr(transformers, config.model)
    assert info["family"] == FAMILIES[name] == cls.__module__.split(".")[2] and info["block"] == "hf"
    assert info["name"] == f"hf:{name}"
    for planes in (1, 3):
        with torch.device("meta"):
            net = build_model(f"hf:{name}", planes, 10).eval()
            x = torch.empty(2, planes, 224, 224)
            if not config.channels_arg:  # no keyword for the planes: the first convolution was rebuilt for them
                first = next(m for m in net.modules() if isinstance(m, torch.nn.Conv2d))
                assert first.in_channels == planes, name
            assert {t.device.type for t in [*net.parameters(), *net.buffers()]} == {"meta"}, name
            if config.outputs:
                assert net.features(x).shape == (2, config.features), name
            else:
                assert net.head is None
            assert net(x).shape == (2, 10), name


def test_the_families_are_stated_for_every_configuration():
    assert set(FAMILIES) == set(CONFIGS)


@pytest.mark.parametrize("name", ["hf:depth_anything_small", "hf:glpn_b0", "hf:vitmatte_small"])
def test_a_one_channel_output_layer_is_cut_so_the_maps_before_it_are_pooled(name):
    pytest.importorskip("transformers")
    config = CONFIGS[name.removeprefix("hf:")]
    with torch.device("meta"):
        net = build_model(name, 1, 10).eval()
        for path in config.cut:
            assert isinstance(net.backbone.get_submodule(path), nn.Identity)
        out = net.backbone(pixel_values=torch.empty(2, 1, 224, 224))[config.outputs[0]]
    assert out.shape == (2, config.features, 224, 224)


@pytest.mark.parametrize("name,family", [("hf:segformer_b0", "segformer"), ("hf:glpn_b0", "glpn"),
                                         ("hf:rt_detr_resnet50", "rt_detr")])
def test_hf_models_train_on_the_cpu_adapted_to_the_dataset(name, family):
    """A classifier's own logits (SegFormer), a depth model's maps pooled (GLPN), a detector's backbone (RT-DETR's
    ResNet-D): finite logits and a gradient for every parameter for 1 plane and 7 classes; three planes do not fit the
    one-plane stem."""
    pytest.importorskip("transformers")
    assert model_info(name)["family"] == family
    torch.manual_seed(0)
    net = build_model(name, in_channels=1, num_classes=7)
    net.train()
    out = net(torch.randn(2, 1, 224, 224))
    assert isinstance(out, torch.Tensor) and out.shape == (2, 7) and torch.isfinite(out).all()
    torch.nn.functional.cross_entropy(out, torch.tensor([0, 6])).backward()
    missing = [n for n, p in net.named_parameters() if p.grad is None]
    assert not missing, missing
    assert all(torch.isfinite(p.grad).all() for p in net.parameters())
    with pytest.raises((RuntimeError, ValueError)):
        net(torch.randn(1, 3, 224, 224))


def test_nothing_is_downloaded(offline):
    """A configuration with a nested backbone (built through AutoBackbone) and one without, on the CPU."""
    for name in ("hf:upernet_convnext", "hf:levit_128s"):
        net = build_model(name, 1, 10).eval()
        with torch.no_grad():
            assert net(torch.randn(1, 1, 224, 224)).shape == (1, 10)


def test_the_offline_fixture_refuses_downloads(offline):
    import transformers

    for load in (transformers.AutoConfig.from_pretrained, transformers.AutoBackbone.from_pretrained,
                 transformers.SegformerForImageClassification.from_pretrained):
        with pytest.raises(AssertionError, match="download"):
            load("nvidia/mit-b0")
    with pytest.raises(AssertionError, match="download"):
        socket.create_connection(("huggingface.co", 443))


@pytest.mark.slow
def test_a_pass_on_meta_leaves_no_meta_tensor_behind_for_a_later_pass_on_the_cpu():
    """BEiT caches its relative position index by window size alone, made on the default device at its first call.
    After a pass on ``meta`` the cache holds nothing on ``meta``, and a seeded CPU pass gives the logits it gave
    before (it read unwritten memory instead: different logits on every call, at times NaN)."""
    pytest.importorskip("transformers")
    from transformers.models.beit.modeling_beit import BeitRelativePositionBias

    from greenai.models.hf_models import clear_tensor_caches

    def cpu_logits():
        torch.manual_seed(0)
        net = build_model("hf:beit_small", 1, 10).eval()
        with torch.no_grad():
            return net(torch.randn(1, 1, 224, 224))

    with torch.device("meta"):
        net = build_model("hf:beit_small", 1, 10).eval()
        assert clear_tensor_caches(net) == 1  # the first pass below fills the cache
        assert net(torch.empty(1, 1, 224, 224)).device.type == "meta"
    assert BeitRelativePositionBias.generate_relative_position_index((14, 14)).device.type == "cpu"
    after_meta = cpu_logits()
    clear_tensor_caches(net)
    assert torch.equal(after_meta, cpu_logits()) and torch.isfinite(after_meta).all()


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CONFIGS))
def test_every_configuration_gives_finite_logits_on_the_cpu_and_is_counted(name):
    """A real forward for 1 and 3 planes at 224x224; greenai.macs counts it on ``meta`` at 0.3-10 GMAC; and a
    training step on ``meta`` (greenai.operator_times) runs."""
    pytest.importorskip("transformers")
    from greenai.macs import count_model
    from greenai.operator_times import step_operators

    for planes in (1, 3):
        torch.manual_seed(0)
        net = build_model(f"hf:{name}", planes, 10).eval()
        with torch.no_grad():
            out = net(torch.randn(2, planes, 224, 224))
        assert out.shape == (2, 10) and torch.isfinite(out).all(), name
    row = count_model(f"hf:{name}", 1, 10)
    assert 0.3e9 <= row["macs"] <= 10.5e9 and row["family"] == FAMILIES[name], (name, row["macs"])
    assert step_operators(f"hf:{name}", batch_size=2)
