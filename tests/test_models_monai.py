"""The ``monai:`` namespace of the model registry: named 2-D configurations of MONAI networks made classifiers (their
output pooled, a linear layer) for a dataset's channels and classes, their family, and clear errors for an unknown
name and for MONAI missing (simulated)."""

from __future__ import annotations

import sys

import pytest
import torch
from torch import nn

from greenai import experiments as ex
from greenai.models import SourceMissingError, UnknownModelError, build_model, model_info
from greenai.models.monai_models import CONFIGS, MonaiClassifier


@pytest.fixture
def no_monai(monkeypatch):
    """MONAI made unimportable, as on a machine without the extra."""
    for mod in [m for m in sys.modules if m == "monai" or m.startswith("monai.")]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setitem(sys.modules, "monai", None)


@pytest.mark.parametrize("call", [lambda: build_model("monai:basic_unet", 1, 10),
                                  lambda: model_info("monai:basic_unet")])
def test_a_monai_name_without_monai_says_how_to_install_it(no_monai, call):
    with pytest.raises(SourceMissingError) as info:
        call()
    assert isinstance(info.value, UnknownModelError) and isinstance(info.value, ImportError)
    message = str(info.value)
    assert "'monai:basic_unet'" in message and "pip install 'greenai[monai]'" in message and "\n" not in message


def test_campaign_validation_passes_the_install_hint_on(no_monai):
    spec = ex.RunSpec(experiment="t", model="monai:unetr", dataset="fashion_mnist", batch_size=4, source="synthetic")
    with pytest.raises(ex.GridError, match=r"pip install 'greenai\[monai\]'"):
        ex.validate([spec], check_data=False)


@pytest.mark.parametrize("name", ["monai:nonsense", "monai:", "monai:basic_unet_but_not", "monai:BasicUNet_x",
                                  "monai:segresnet_ds"])
def test_an_unknown_monai_name_is_an_unknown_model_naming_the_configurations(name):
    pytest.importorskip("monai")
    with pytest.raises(UnknownModelError) as info:
        build_model(name)
    assert not isinstance(info.value, SourceMissingError)
    assert "monai:NAME" in str(info.value) and "swin_unetr" in str(info.value) and "mmpretrain:NAME" in str(info.value)


class _Outputs(nn.Module):
    """A network ending in a tuple, as MONAI's autoencoders: a [N, 4, 2, 2] map, then a scalar."""

    def forward(self, x):
        return torch.ones(x.shape[0], 4, 2, 2) * torch.arange(4.0).reshape(1, 4, 1, 1), torch.tensor(3.0)


def test_the_head_reduces_a_tuple_output_to_its_main_map_and_pools_it():
    net = MonaiClassifier(_Outputs(), features=4, num_classes=4, output=0)
    with torch.no_grad():
        net.head.weight.copy_(torch.eye(4))
        net.head.bias.zero_()
    assert torch.equal(net(torch.zeros(2, 1, 8, 8)), torch.tensor([[0.0, 1, 2, 3]] * 2))
    net.output = -1  # the scalar: nothing to pool, no 4 features
    with pytest.raises(RuntimeError):
        net(torch.zeros(2, 1, 8, 8))


@pytest.mark.parametrize("name", list(CONFIGS))
def test_every_configuration_builds_for_one_and_three_planes_with_its_module_as_family(name):
    pytest.importorskip("monai")
    import importlib
    import inspect

    config = CONFIGS[name]
    nets = importlib.import_module("monai.networks.nets" + (f".{config.module}" if config.module else ""))
    cls = getattr(nets, config.cls)
    assert set(config.keywords) | {config.channels_arg} <= set(inspect.signature(cls).parameters), name
    info = model_info(f"monai:{name}")
    assert info["family"] == cls.__module__.rsplit(".")[-1] and info["block"] == "monai"
    assert info["name"] == f"monai:{name}"
    for planes in (1, 3):
        with torch.device("meta"):
            net = build_model(f"monai:{name}", planes, 10)
            x = torch.empty(2, planes, 224, 224)
            out = net.backbone(x)
            if isinstance(out, (tuple, list)):
                out = out[config.output]
            assert net._pool(out).shape == (2, config.features), name
            assert net(x).shape == (2, 10), name


@pytest.mark.parametrize("name,family", [("monai:basic_unetplusplus", "basic_unetplusplus"),
                                         ("monai:vqvae", "vqvae"),
                                         ("monai:patchgan_discriminator", "patchgan_discriminator")])
def test_monai_models_train_on_the_cpu_adapted_to_the_dataset(name, family):
    """A list output (UNet++), a tuple (VQ-VAE: reconstruction, loss) and the last of a list (a discriminator's
    maps): finite logits and gradients for 1 plane and 7 classes; three planes do not fit the one-plane stem."""
    pytest.importorskip("monai")
    assert model_info(name)["family"] == family
    torch.manual_seed(0)
    net = build_model(name, in_channels=1, num_classes=7)
    net.train()
    out = net(torch.randn(2, 1, 224, 224))
    assert out.shape == (2, 7) and torch.isfinite(out).all()
    torch.nn.functional.cross_entropy(out, torch.tensor([0, 6])).backward()
    assert all(torch.isfinite(p.grad).all() for p in net.parameters() if p.grad is not None)
    with pytest.raises((RuntimeError, ValueError)):
        net(torch.randn(1, 3, 224, 224))
