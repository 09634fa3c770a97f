"""The ``pytorchcv:`` namespace of the model registry: pytorchcv's classifiers adapted to a dataset's channels and
classes, their family, and clear errors for an unknown name and for pytorchcv missing (simulated)."""

from __future__ import annotations

import sys

import pytest
import torch

from greenai import experiments as ex
from greenai.models import SourceMissingError, UnknownModelError, build_model, model_info


@pytest.fixture
def no_pytorchcv(monkeypatch):
    """pytorchcv made unimportable, as on a machine without the extra."""
    for mod in [m for m in sys.modules if m == "pytorchcv" or m.startswith("pytorchcv.")]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setitem(sys.modules, "pytorchcv", None)


@pytest.mark.parametrize("call", [lambda: build_model("pytorchcv:peleenet", 1, 10),
                                  lambda: model_info("pytorchcv:peleenet")])
def test_a_pytorchcv_name_without_pytorchcv_says_how_to_install_it(no_pytorchcv, call):
    with pytest.raises(SourceMissingError) as info:
        call()
    assert isinstance(info.value, UnknownModelError) and isinstance(info.value, ImportError)
    message = str(info.value)
    assert "'pytorchcv:peleenet'" in message and "pip install 'greenai[pytorchcv]'" in message and "\n" not in message


def test_campaign_validation_passes_the_install_hint_on(no_pytorchcv):
    spec = ex.RunSpec(experiment="t", model="pytorchcv:peleenet", dataset="fashion_mnist", batch_size=4,
                      source="synthetic")
    with pytest.raises(ex.GridError, match=r"pip install 'greenai\[pytorchcv\]'"):
        ex.validate([spec], check_data=False)


@pytest.mark.parametrize("name", ["pytorchcv:nonsense_net", "pytorchcv:", "pytorchcv:peleenet_but_not"])
def test_an_unknown_pytorchcv_name_is_an_unknown_model_naming_both_namespaces(name):
    pytest.importorskip("pytorchcv")
    with pytest.raises(UnknownModelError) as info:
        build_model(name)
    assert not isinstance(info.value, SourceMissingError)
    assert "pytorchcv:NAME" in str(info.value) and "timm:NAME" in str(info.value)


@pytest.mark.parametrize("name,family", [("pytorchcv:igcv3_wd4", "igcv3"), ("pytorchcv:channelnet", "channelnet"),
                                         ("pytorchcv:menet108_8x1_g3", "menet")])
def test_pytorchcv_models_build_adapted_to_the_dataset_with_their_module_as_family(name, family):
    pytest.importorskip("pytorchcv")
    info = model_info(name)
    assert info["family"] == family and info["block"] == "pytorchcv" and info["name"] == name
    torch.manual_seed(0)
    net = build_model(name, in_channels=1, num_classes=7)
    out = net.eval()(torch.randn(1, 1, 224, 224))
    assert out.shape == (1, 7) and torch.isfinite(out).all()
    assert net(torch.randn(1, 1, 224, 224)).shape == (1, 7)
    with pytest.raises(RuntimeError):  # built for one plane: three planes do not fit its stem
        net(torch.randn(1, 3, 224, 224))


def test_a_pytorchcv_model_builds_on_the_meta_device_without_memory():
    pytest.importorskip("pytorchcv")
    with torch.device("meta"):
        net = build_model("pytorchcv:peleenet", 1, 10)
    assert all(p.device.type == "meta" for p in net.parameters())


@pytest.mark.parametrize("name,family,planes", [("pytorchcv:erfnet_cityscapes", "erfnet", None),
                                                ("pytorchcv:cgnet_cityscapes", "cgnet", 3),
                                                ("pytorchcv:lffd20x5s320v2_widerface", "lffd", None),
                                                ("pytorchcv:simplepose_mobile_mobilenetv2b_w1_coco",
                                                 "simpleposemobile_coco", 3)])
def test_a_dense_prediction_network_is_a_classifier_of_its_pooled_output_maps(name, family, planes):
    pytest.importorskip("pytorchcv")
    from greenai.models.pytorchcv_models import DENSE, DenseClassifier

    assert model_info(name)["family"] == family
    torch.manual_seed(0)
    net = build_model(name, in_channels=1, num_classes=7)
    assert isinstance(net, DenseClassifier) and net.planes == planes
    config = DENSE[name.split(":", 1)[1]]
    assert net.head.in_features == config.features
    x = torch.randn(2, 1, 224, 224)
    net.eval()
    with torch.no_grad():
        maps = net.backbone(x if planes is None else x.expand(-1, planes, -1, -1))
        maps = maps if isinstance(maps, (list, tuple)) else [maps]
        # the head sees every output map, each averaged over height and width, concatenated: that many features
        assert sum(m.shape[1] for m in maps) == config.features and all(m.dim() == 4 for m in maps)
        expected = net.head(torch.cat([m.mean(dim=(2, 3)) for m in maps], dim=1))
        assert net(x).shape == (2, 7) and torch.allclose(net(x), expected, atol=1e-5)
    torch.nn.functional.cross_entropy(net.train()(x), torch.tensor([0, 1])).backward()
    assert all(torch.isfinite(p.grad).all() for p in net.parameters() if p.grad is not None)
    # a network fixed to three planes takes the dataset's one plane repeated; one built for one plane does not
    if planes is None:
        with pytest.raises(RuntimeError):
            net(torch.randn(1, 3, 224, 224))


def test_a_dense_network_builds_on_meta_and_a_segmentation_name_outside_dense_keeps_pytorchcvs_own_output():
    pytest.importorskip("pytorchcv")
    from greenai.models.pytorchcv_models import DenseClassifier

    with torch.device("meta"):
        net = build_model("pytorchcv:icnet_resnetd50b_cityscapes", 1, 10)
    assert isinstance(net, DenseClassifier) and all(p.device.type == "meta" for p in net.parameters())
    plain = build_model("pytorchcv:fpenet_cityscapes", 1, 10)
    assert not isinstance(plain, DenseClassifier)
    assert plain.eval()(torch.randn(1, 1, 224, 224)).shape == (1, 10, 224, 224)
