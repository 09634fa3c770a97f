"""The ``timm:`` namespace of the model registry: timm's models adapted to a dataset's channels and classes,
their family, and clear errors for an unknown timm name and for timm missing (simulated)."""

from __future__ import annotations

import sys

import pytest
import torch

from greenai import cli
from greenai import experiments as ex
from greenai import predict as pr
from greenai.models import SourceMissingError, UnknownModelError, build_model, model_info


@pytest.fixture
def no_timm(monkeypatch):
    """timm made unimportable (``import timm`` raises ImportError), as on a machine without the extra."""
    for mod in [m for m in sys.modules if m == "timm" or m.startswith("timm.")]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setitem(sys.modules, "timm", None)


def test_the_unknown_model_message_names_the_timm_namespace_without_timm(no_timm):
    with pytest.raises(UnknownModelError) as info:
        model_info("lenet")
    assert not isinstance(info.value, SourceMissingError)
    assert "timm:NAME" in str(info.value) and "greenai[timm]" in str(info.value)


@pytest.mark.parametrize("call", [lambda: build_model("timm:dla34", 1, 10), lambda: model_info("timm:dla34")])
def test_a_timm_name_without_timm_says_how_to_install_it(no_timm, call):
    with pytest.raises(SourceMissingError) as info:
        call()
    # an unknown model for every caller that reports those, and an ImportError
    assert isinstance(info.value, UnknownModelError) and isinstance(info.value, ImportError)
    message = str(info.value)
    assert "'timm:dla34'" in message and "pip install 'greenai[timm]'" in message and "\n" not in message


def test_campaign_validation_and_predict_pass_the_install_hint_on(no_timm, tmp_path, monkeypatch, capsys):
    spec = ex.RunSpec(experiment="t", model="timm:dla34", dataset="fashion_mnist", batch_size=4, source="synthetic")
    with pytest.raises(ex.GridError, match=r"pip install 'greenai\[timm\]'"):
        ex.validate([spec], check_data=False)
    monkeypatch.setenv("GREENAI_DATA_DIR", str(tmp_path))  # no cached features of an earlier run
    # a timm model of no held-out set: the coefficients ship no features of it, so predicting it needs timm
    with pytest.raises(pr.UnknownModelError, match=r"pip install 'greenai\[timm\]'"):
        pr.predict_run("timm:ghostnet_100", "fashion_mnist", 1, 256)
    assert cli.main(["predict", "--model", "timm:ghostnet_100", "--dataset", "fashion_mnist", "--epochs", "1",
                     "--batch-size", "256"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("greenai predict: ") and "greenai[timm]" in err and err.count("\n") == 1


# --------------------------------------------------------------------------- with timm installed


@pytest.mark.parametrize("name", ["timm:nonsense_net", "timm:", "timm:resnet18_but_not"])
def test_an_unknown_timm_name_is_an_unknown_model(name):
    pytest.importorskip("timm")
    with pytest.raises(UnknownModelError) as info:
        build_model(name)
    assert not isinstance(info.value, SourceMissingError) and "timm:NAME" in str(info.value)


@pytest.mark.parametrize("name,family", [("timm:test_resnet", "resnet"), ("timm:test_vit", "vision_transformer"),
                                         ("timm:test_byobnet", "byobnet")])
def test_timm_models_build_adapted_to_the_dataset(name, family):
    timm = pytest.importorskip("timm")
    torch.manual_seed(0)
    grey = build_model(name, in_channels=1, num_classes=7)
    first = next(m for m in grey.modules() if isinstance(m, torch.nn.Conv2d))
    assert first.in_channels == 1
    x = torch.randn(2, 1, 160, 160)  # timm's test models are built for 160x160
    loss = torch.nn.functional.cross_entropy(grey(x), torch.tensor([0, 6]))
    loss.backward()
    assert grey(x).shape == (2, 7) and torch.isfinite(loss)
    # exactly timm.create_model with the dataset's planes and classes, random weights
    theirs = timm.create_model(name.removeprefix("timm:"), pretrained=False, in_chans=1, num_classes=7)
    assert [p.shape for p in grey.parameters()] == [p.shape for p in theirs.parameters()]
    with torch.device("meta"):
        rgb = build_model(name, in_channels=3, num_classes=100)
        assert rgb(torch.empty(2, 3, 160, 160)).shape == (2, 100)
    info = model_info(name.upper().replace("TIMM:", "timm:"))  # names are case-insensitive
    assert info["name"] == name and info["family"] == family and info["block"] == "timm"


def test_timm_families_are_timm_modules_and_counterparts_are_found():
    pytest.importorskip("timm")
    from greenai.models import ZOO_FAMILIES
    from greenai.models.timm_models import has_torchvision_counterpart
    from greenai.models.torchvision_models import torchvision_family, torchvision_names

    tv = {torchvision_family(n) for n in torchvision_names()}
    families = {n: model_info(f"timm:{n}")["family"] for n in ("repvgg_a2", "mobileone_s1", "mixer_s16_224",
                                                                 "resmlp_12_224", "lcnet_100", "densenet121")}
    assert families["repvgg_a2"] == families["mobileone_s1"] == "byobnet"
    assert families["mixer_s16_224"] == families["resmlp_12_224"] == "mlp_mixer"
    assert has_torchvision_counterpart(families["lcnet_100"], tv, ZOO_FAMILIES)  # mobilenetv3 = mobilenet_v3
    assert has_torchvision_counterpart(families["densenet121"], tv, ZOO_FAMILIES)
    assert not has_torchvision_counterpart(families["repvgg_a2"], tv, ZOO_FAMILIES)


def test_static_features_of_a_timm_model_on_meta():
    pytest.importorskip("timm")
    from greenai.macs import count_model
    from greenai.operator_times import step_operators

    feats = pr.compute_model_features("timm:test_resnet", 1, 10, image_size=64)
    assert feats["model"] == "timm:test_resnet" and feats["family"] == "resnet"
    assert feats["macs"] == count_model("timm:test_resnet", 1, 10, 64)["macs"] > 0
    assert feats["params"] == sum(p.numel() for p in build_model("timm:test_resnet", 1, 10).parameters())
    assert any(op[0] == "convolution" for op in step_operators("timm:test_resnet", 1, 10, 4, 64))
