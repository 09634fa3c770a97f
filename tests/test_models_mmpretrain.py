"""The ``mmpretrain:`` namespace of the model registry: named configurations of mmpretrain backbones made classifiers
(pooled, a linear layer) for a dataset's channels and classes, their family, and clear errors for an unknown name and
for mmpretrain missing (simulated)."""

from __future__ import annotations

import sys

import pytest
import torch
from torch import nn

from greenai import experiments as ex
from greenai.models import SourceMissingError, UnknownModelError, build_model, model_info
from greenai.models.mmpretrain_models import CONFIGS, BackboneClassifier


@pytest.fixture
def no_mmpretrain(monkeypatch):
    """mmpretrain made unimportable, as on a machine without the extra."""
    for mod in [m for m in sys.modules if m == "mmpretrain" or m.startswith("mmpretrain.")]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setitem(sys.modules, "mmpretrain", None)


@pytest.mark.parametrize("call", [lambda: build_model("mmpretrain:van_b0", 1, 10),
                                  lambda: model_info("mmpretrain:van_b0")])
def test_an_mmpretrain_name_without_mmpretrain_says_how_to_install_it(no_mmpretrain, call):
    with pytest.raises(SourceMissingError) as info:
        call()
    assert isinstance(info.value, UnknownModelError) and isinstance(info.value, ImportError)
    message = str(info.value)
    assert "'mmpretrain:van_b0'" in message and "pip install 'greenai[mmpretrain]'" in message and "\n" not in message


def test_campaign_validation_passes_the_install_hint_on(no_mmpretrain):
    spec = ex.RunSpec(experiment="t", model="mmpretrain:hornet_t", dataset="fashion_mnist", batch_size=4,
                      source="synthetic")
    with pytest.raises(ex.GridError, match=r"pip install 'greenai\[mmpretrain\]'"):
        ex.validate([spec], check_data=False)


@pytest.mark.parametrize("name", ["mmpretrain:nonsense", "mmpretrain:", "mmpretrain:van_b0_but_not", "mmpretrain:VAN"])
def test_an_unknown_mmpretrain_name_is_an_unknown_model_naming_the_configurations(name):
    pytest.importorskip("mmpretrain")
    with pytest.raises(UnknownModelError) as info:
        build_model(name)
    assert not isinstance(info.value, SourceMissingError)
    assert "mmpretrain:NAME" in str(info.value) and "hornet_t" in str(info.value) and "timm:NAME" in str(info.value)


class _TwoBranches(nn.Module):
    """A backbone ending in two outputs per stage, as Conformer's: a [N, 4, 2, 2] map and [N, 3] features."""

    def forward(self, x):
        return ([torch.ones(x.shape[0], 4, 2, 2), torch.full((x.shape[0], 3), 2.0)],)


def test_the_head_pools_maps_tokens_and_features_and_concatenates_branches():
    pool = BackboneClassifier._pool
    assert torch.equal(pool(torch.arange(8.0).reshape(1, 2, 2, 2)), torch.tensor([[1.5, 5.5]]))
    assert torch.equal(pool(torch.arange(6.0).reshape(1, 3, 2)), torch.tensor([[2.0, 3.0]]))
    assert torch.equal(pool(torch.tensor([[1.0, 2.0]])), torch.tensor([[1.0, 2.0]]))
    net = BackboneClassifier(_TwoBranches(), features=7, num_classes=5)
    with torch.no_grad():
        net.head.weight.copy_(torch.eye(5, 7))
        net.head.bias.zero_()
    assert torch.equal(net(torch.zeros(2, 1, 8, 8)), torch.tensor([[1.0, 1, 1, 1, 2]] * 2))


def test_every_configuration_names_a_backbone_taking_its_keywords_and_pools_to_its_features():
    pytest.importorskip("mmpretrain")
    import inspect

    from mmpretrain.models import backbones

    for name, config in CONFIGS.items():
        params = inspect.signature(getattr(backbones, config.cls)).parameters
        assert set(config.keywords) | ({config.channels_arg} - {None}) <= set(params), name
        assert model_info(f"mmpretrain:{name}")["family"] == getattr(backbones, config.cls).__module__.rsplit(".")[-1]
        with torch.device("meta"):
            net = build_model(f"mmpretrain:{name}", 1, 10)
        features = net._pool(net.backbone(torch.empty(2, 1, 224, 224, device="meta"))[-1])
        assert features.shape == (2, config.features), name


@pytest.mark.parametrize("name,family", [("mmpretrain:van_b0", "van"), ("mmpretrain:conformer_t", "conformer"),
                                         ("mmpretrain:hivit_t", "hivit")])
def test_mmpretrain_models_build_adapted_to_the_dataset_with_their_module_as_family(name, family):
    pytest.importorskip("mmpretrain")
    info = model_info(name)
    assert info["family"] == family and info["block"] == "mmpretrain" and info["name"] == name
    torch.manual_seed(0)
    net = build_model(name, in_channels=1, num_classes=7)
    net.train()
    out = net(torch.randn(2, 1, 224, 224))
    assert out.shape == (2, 7) and torch.isfinite(out).all()
    torch.nn.functional.cross_entropy(out, torch.tensor([0, 6])).backward()
    assert all(torch.isfinite(p.grad).all() for p in net.parameters() if p.grad is not None)
    with pytest.raises((RuntimeError, ValueError)):  # built for one plane: three planes do not fit its stem
        net(torch.randn(1, 3, 224, 224))
