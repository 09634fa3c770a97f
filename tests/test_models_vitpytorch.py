"""The ``vitpytorch:`` namespace of the model registry: named configurations of vit-pytorch adapted to a dataset's
channels and classes, their family, and clear errors for an unknown name and for vit-pytorch missing (simulated)."""

from __future__ import annotations

import sys

import pytest
import torch

from greenai import experiments as ex
from greenai.models import SourceMissingError, UnknownModelError, build_model, model_info
from greenai.models.sets import HELDOUT9_MODELS
from greenai.models.vitpytorch_models import CONFIGS


@pytest.fixture
def no_vitpytorch(monkeypatch):
    """vit-pytorch made unimportable, as on a machine without the extra."""
    for mod in [m for m in sys.modules if m == "vit_pytorch" or m.startswith("vit_pytorch.")]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setitem(sys.modules, "vit_pytorch", None)


@pytest.mark.parametrize("call", [lambda: build_model("vitpytorch:cvt_13", 1, 10),
                                  lambda: model_info("vitpytorch:cvt_13")])
def test_a_vitpytorch_name_without_vitpytorch_says_how_to_install_it(no_vitpytorch, call):
    with pytest.raises(SourceMissingError) as info:
        call()
    assert isinstance(info.value, UnknownModelError) and isinstance(info.value, ImportError)
    message = str(info.value)
    assert "'vitpytorch:cvt_13'" in message and "pip install 'greenai[vitpytorch]'" in message and "\n" not in message


def test_campaign_validation_passes_the_install_hint_on(no_vitpytorch):
    spec = ex.RunSpec(experiment="t", model="vitpytorch:cvt_13", dataset="fashion_mnist", batch_size=4,
                      source="synthetic")
    with pytest.raises(ex.GridError, match=r"pip install 'greenai\[vitpytorch\]'"):
        ex.validate([spec], check_data=False)


@pytest.mark.parametrize("name", ["vitpytorch:nonsense_vit", "vitpytorch:", "vitpytorch:cvt_13_but_not",
                                  "vitpytorch:CvT"])
def test_an_unknown_vitpytorch_name_is_an_unknown_model_naming_the_configurations(name):
    pytest.importorskip("vit_pytorch")
    with pytest.raises(UnknownModelError) as info:
        build_model(name)
    assert not isinstance(info.value, SourceMissingError)
    assert "vitpytorch:NAME" in str(info.value) and "cvt_13" in str(info.value) and "timm:NAME" in str(info.value)


def test_every_configuration_names_a_class_of_its_module_taking_its_keywords():
    pytest.importorskip("vit_pytorch")
    import importlib
    import inspect

    for name, config in CONFIGS.items():
        cls = getattr(importlib.import_module(f"vit_pytorch.{config.module}"), config.cls)
        params = inspect.signature(cls).parameters
        assert {*config.keywords, config.channels_arg, config.classes_arg} <= set(params) or any(
            p.kind is p.VAR_KEYWORD for p in params.values()), name
        assert model_info(f"vitpytorch:{name}")["family"] == config.module


@pytest.mark.parametrize("name,family", [("vitpytorch:cvt_13", "cvt"), ("vitpytorch:cct_14_7x2", "cct"),
                                         ("vitpytorch:deepvit_s", "deepvit")])
def test_vitpytorch_models_build_adapted_to_the_dataset_with_their_module_as_family(name, family):
    pytest.importorskip("vit_pytorch")
    info = model_info(name)
    assert info["family"] == family and info["block"] == "vitpytorch" and info["name"] == name
    torch.manual_seed(0)
    net = build_model(name, in_channels=1, num_classes=7)
    out = net.eval()(torch.randn(1, 1, 224, 224))
    assert out.shape == (1, 7) and torch.isfinite(out).all()
    with pytest.raises((RuntimeError, ValueError)):  # built for one plane: three planes do not fit its stem
        net(torch.randn(1, 3, 224, 224))


@pytest.mark.parametrize("name", HELDOUT9_MODELS)
def test_every_heldout9_model_builds_on_meta_for_one_plane_and_ten_classes(name):
    pytest.importorskip("vit_pytorch")
    with torch.device("meta"):
        net = build_model(name, 1, 10)
    assert all(p.device.type == "meta" for p in net.parameters())
    assert net(torch.empty(2, 1, 224, 224, device="meta")).shape == (2, 10)
