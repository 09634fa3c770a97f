"""The model zoo of thesis chapter 3: 20 image classifiers in one registry.

>>> from greenai.models import MODEL_NAMES, build_model, model_info
>>> model = build_model("resnet18", in_channels=1, num_classes=10)  # 224x224 input

:data:`MODEL_NAMES` holds the zoo: ``alexnet``, ``vgg11/13/16``, ``mobilenet_v1/v2``,
``resnet18/34/50``, ``googlenet`` and its ten variants ``googlenet_mod*`` (1 to 4
branches per Inception block, thesis 4.1.5). :func:`build_model` also builds every
other torchvision classification model by its torchvision name
(:mod:`greenai.models.torchvision_models`), the random architectures ``synthetic_00`` ...
``synthetic_127`` (:mod:`greenai.models.synthetic`) and, with the package installed, ``timm:NAME``,
``pytorchcv:NAME``, ``vitpytorch:NAME``, ``mmpretrain:NAME``, ``monai:NAME`` and ``hf:NAME``
(:mod:`~greenai.models.timm_models`, :mod:`~greenai.models.pytorchcv_models`, :mod:`~greenai.models.vitpytorch_models`,
:mod:`~greenai.models.mmpretrain_models`, :mod:`~greenai.models.monai_models`, :mod:`~greenai.models.hf_models`);
without it such a name raises :class:`SourceMissingError`. An unknown name raises :class:`UnknownModelError`.

Every model takes ``in_channels`` input planes (1 for Fashion-MNIST, 3 for CIFAR),
ends in adaptive pooling and has random weights; inputs are 224x224 pixels by
default (:data:`DEFAULT_IMAGE_SIZE`). Families, layouts and the other sources in
full: ``docs/models.md``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import torch
from torch import nn

from . import alexnet as _alexnet
from . import googlenet as _googlenet
from . import hf_models as _hf
from . import mmpretrain_models as _mmp
from . import monai_models as _monai
from . import pytorchcv_models as _pcv
from . import mobilenet as _mobilenet
from . import resnet as _resnet
from . import synthetic as _synthetic
from . import timm_models as _timm
from . import torchvision_models as _tv
from . import vgg as _vgg
from . import vitpytorch_models as _vp

__all__ = ["MODEL_NAMES", "ZOO_FAMILIES", "UnknownModelError", "SourceMissingError", "build_model", "model_info",
           "known_model_names", "DEFAULT_IMAGE_SIZE"]

#: Input height and width [px] the thesis used for every model and dataset.
DEFAULT_IMAGE_SIZE: int = 224


class UnknownModelError(ValueError):
    """Raised for a model name that is neither in :data:`MODEL_NAMES`, a torchvision classification model, a
    ``timm:``, a ``pytorchcv:``, a ``vitpytorch:``, an ``mmpretrain:``, a ``monai:`` nor an ``hf:`` model."""

    def __init__(self, name: str) -> None:
        extra = [n for n in _tv.torchvision_names() if n not in MODEL_NAMES]
        super().__init__(f"unknown model {name!r}; valid names are the zoo models {', '.join(MODEL_NAMES)}, "
                         f"a torchvision classification model: {', '.join(extra)}; {_timm.TIMM_HINT}; "
                         f"{_pcv.PYTORCHCV_HINT}; {_vp.VITPYTORCH_HINT}; {_mmp.MMPRETRAIN_HINT}; {_monai.MONAI_HINT}; "
                         f"{_hf.HF_HINT}")
        self.name = name


class SourceMissingError(UnknownModelError, ImportError):
    """Raised for a ``timm:NAME``, ``pytorchcv:NAME``, ``vitpytorch:NAME``, ``mmpretrain:NAME``, ``monai:NAME`` or
    ``hf:NAME`` model when that package is not installed (the message says how to install it).

    An :class:`UnknownModelError` (the name cannot be built here), so every caller that reports unknown
    models reports this one too, and an :class:`ImportError`.
    """

    def __init__(self, name: str, message: str) -> None:
        Exception.__init__(self, message)
        self.name = name


@dataclass(frozen=True)
class _Entry:
    builder: Callable[..., nn.Module]
    family: str
    display_name: str
    branch_count: int
    block: str
    description: str


def _entries() -> dict[str, _Entry]:
    e: dict[str, _Entry] = {
        "alexnet": _Entry(_alexnet.alexnet, "alexnet", "AlexNet", 1, "plain", "5 conv + 3 FC, torchvision layout"),
        "vgg11": _Entry(_vgg.vgg11, "vgg", "VGG11", 1, "plain", "VGG config A, no batch norm"),
        "vgg13": _Entry(_vgg.vgg13, "vgg", "VGG13", 1, "plain", "VGG config B, no batch norm"),
        "vgg16": _Entry(_vgg.vgg16, "vgg", "VGG16", 1, "plain", "VGG config D, no batch norm"),
        "mobilenet_v1": _Entry(
            _mobilenet.mobilenet_v1, "mobilenet", "MobileNetV1", 1, "depthwise-separable", "width 1.0"
        ),
        "mobilenet_v2": _Entry(
            _mobilenet.mobilenet_v2, "mobilenet", "MobileNetV2", 2, "inverted residual", "width 1.0, torchvision"
        ),
        "resnet18": _Entry(_resnet.resnet18, "resnet", "ResNet18", 2, "residual", "basic blocks 2-2-2-2"),
        "resnet34": _Entry(_resnet.resnet34, "resnet", "ResNet34", 2, "residual", "basic blocks 3-4-6-3"),
        "resnet50": _Entry(_resnet.resnet50, "resnet", "ResNet50", 2, "residual", "bottleneck blocks 3-4-6-3"),
        "googlenet": _Entry(
            _googlenet.googlenet, "googlenet", "GoogLeNet", 4, "inception", "torchvision layout, no aux heads"
        ),
    }
    for name, variant in _googlenet.VARIANTS.items():
        e[name] = _Entry(
            partial(_googlenet.googlenet_variant, name),
            "googlenet",
            "GoogLeNet_" + name.removeprefix("googlenet_"),
            len(variant.branches),
            "modified inception",
            variant.description,
        )
    return e


_REGISTRY: dict[str, _Entry] = _entries()

#: The 20 model names, in the thesis' order of presentation.
MODEL_NAMES: tuple[str, ...] = tuple(_REGISTRY)


#: families of the zoo (the held-out architectures of :mod:`greenai.predict` come from none of them)
ZOO_FAMILIES: frozenset[str] = frozenset(e.family for e in _REGISTRY.values())


def known_model_names() -> tuple[str, ...]:
    """The zoo's names, then every other torchvision classification model name.

    Not listed (too many, and only with timm installed): any ``timm:NAME`` of ``timm.list_models()`` builds too
    (:data:`greenai.models.timm_models.TIMM_HINT`).
    """
    return MODEL_NAMES + tuple(n for n in _tv.torchvision_names() if n not in _REGISTRY)


def _key(name: str) -> str:
    return str(name).strip().lower().replace("-", "_")


def _entry(name: str) -> _Entry:
    key = _key(name)
    if key in _REGISTRY:
        return _REGISTRY[key]
    if _synthetic.is_synthetic(key):
        return _Entry(partial(_synthetic.build_synthetic, key), "synthetic", key, 0, "synthetic",
                      "random architecture from common blocks (training rows of greenai.predict)")
    if _tv.is_torchvision_model(key):
        return _Entry(partial(_tv.build_torchvision_model, key), _tv.torchvision_family(key), key, 0,
                      "torchvision", "torchvision layout, weights=None, stem and head adapted")
    if _timm.is_timm_name(key):
        if not _timm.timm_available():
            raise SourceMissingError(key, _timm.missing_message(key))
        if _timm.is_timm_model(key):
            return _Entry(partial(_timm.build_timm_model, key), _timm.timm_family(key), key, 0, "timm",
                          "timm.create_model, pretrained=False, in_chans and num_classes of the dataset")
    if _pcv.is_pytorchcv_name(key):
        if not _pcv.pytorchcv_available():
            raise SourceMissingError(key, _pcv.missing_message(key))
        if _pcv.is_pytorchcv_model(key):
            return _Entry(partial(_pcv.build_pytorchcv_model, key), _pcv.pytorchcv_family(key), key, 0,
                          "pytorchcv", "pytorchcv get_model, pretrained=False, in_channels and num_classes of "
                                       "the dataset")
    if _vp.is_vitpytorch_name(key):
        if not _vp.vitpytorch_available():
            raise SourceMissingError(key, _vp.missing_message(key))
        if _vp.is_vitpytorch_model(key):
            config = _vp.CONFIGS[_vp.vitpytorch_name(key)]
            return _Entry(partial(_vp.build_vitpytorch_model, key), _vp.vitpytorch_family(key), key, 0,
                          "vitpytorch", f"vit_pytorch.{config.module}.{config.cls}, random weights, channels and "
                                        f"classes of the dataset: {config.description}")
    if _mmp.is_mmpretrain_name(key):
        if not _mmp.mmpretrain_available():
            raise SourceMissingError(key, _mmp.missing_message(key))
        if _mmp.is_mmpretrain_model(key):
            config = _mmp.CONFIGS[_mmp.mmpretrain_name(key)]
            return _Entry(partial(_mmp.build_mmpretrain_model, key), _mmp.mmpretrain_family(key), key, 0,
                          "mmpretrain", f"mmpretrain.models.backbones.{config.cls}, random weights, planes of the "
                                        f"dataset, pooled, a linear layer to its classes: {config.description}")
    if _monai.is_monai_name(key):
        if not _monai.monai_available():
            raise SourceMissingError(key, _monai.missing_message(key))
        if _monai.is_monai_model(key):
            config = _monai.CONFIGS[_monai.monai_name(key)]
            return _Entry(partial(_monai.build_monai_model, key), _monai.monai_family(key), key, 0, "monai",
                          f"monai.networks.nets.{config.cls} in 2-D, random weights, planes of the dataset, its "
                          f"output pooled, a linear layer to its classes: {config.description}")
    if _hf.is_hf_name(key):
        if not _hf.hf_available():
            raise SourceMissingError(key, _hf.missing_message(key))
        if _hf.is_hf_model(key):
            config = _hf.CONFIGS[_hf.hf_name(key)]
            head = ("its logits" if not config.outputs else
                    f"its {', '.join(config.outputs)} pooled, a linear layer to its classes")
            return _Entry(partial(_hf.build_hf_model, key), _hf.hf_family(key), key, 0, "hf",
                          f"transformers.{config.model} from a {config.config}, random weights, planes and classes "
                          f"of the dataset, {head}: {config.description}")
    raise UnknownModelError(name)


def build_model(name: str, in_channels: int = 1, num_classes: int = 10) -> nn.Module:
    """Build one of the 20 models, any torchvision classification model, timm, pytorchcv, vit-pytorch, mmpretrain,
    MONAI or Hugging Face transformers model, random weights.

    Parameters
    ----------
    name : str
        One of :data:`MODEL_NAMES` (case-insensitive), a name of
        ``torchvision.models.list_models(module=torchvision.models)`` (see
        :mod:`greenai.models.torchvision_models`), or ``timm:NAME`` for a
        name of ``timm.list_models()`` (:mod:`greenai.models.timm_models`),
        ``pytorchcv:NAME`` (:mod:`greenai.models.pytorchcv_models`), ``vitpytorch:NAME``
        for a named configuration of vit-pytorch (:mod:`greenai.models.vitpytorch_models`) or
        ``mmpretrain:NAME`` for one of an mmpretrain backbone (:mod:`greenai.models.mmpretrain_models`),
        ``monai:NAME`` for one of a MONAI network (:mod:`greenai.models.monai_models`) or ``hf:NAME`` for one
        of a Hugging Face transformers vision model (:mod:`greenai.models.hf_models`).
    in_channels : int
        Input planes: 1 for Fashion-MNIST, 3 for CIFAR-10/100.
    num_classes : int
        Outputs of the final linear layer.

    Returns
    -------
    torch.nn.Module
        Maps ``[N, in_channels, H, W]`` float images (224x224 by default) to
        ``[N, num_classes]`` logits.

    Raises
    ------
    UnknownModelError
        If ``name`` is none of these (the message lists valid names).
    SourceMissingError
        If ``name`` is ``timm:NAME``, ``pytorchcv:NAME``, ``vitpytorch:NAME``, ``mmpretrain:NAME``,
        ``monai:NAME`` or ``hf:NAME`` and that package is not installed.
    ValueError
        If ``in_channels`` or ``num_classes`` is below 1.
    """
    entry = _entry(name)
    for arg, value in (("in_channels", in_channels), ("num_classes", num_classes)):
        if int(value) != value or value < 1:
            raise ValueError(f"{arg} must be a positive integer, got {value!r}")
    model = entry.builder(in_channels=int(in_channels), num_classes=int(num_classes))
    # a tensor made by a legacy constructor (``torch.LongTensor(n)``: CondenseNet's channel index, Mask2Former's level
    # embeddings, LeViT's attention-bias indices) is on the CPU whatever the default device (``meta`` under
    # ``with torch.device("meta")``): moved with the rest
    device = torch.empty(0).device
    if any(t.device != device for t in itertools.chain(model.parameters(), model.buffers())):
        model.to(device)
    return model


def model_info(name: str) -> dict:
    """Static facts about a model (no build needed).

    Returns
    -------
    dict
        ``name`` (registry key), ``display_name``, ``family`` (alexnet, vgg,
        mobilenet, resnet, googlenet), ``branch_count`` (the largest number of
        parallel paths joined in one block: 1 for plain chains, 2 for residual
        blocks with a shortcut, 1-4 for (modified) Inception blocks, the
        multi-branch KPI of thesis 3.2.5/4.1.5; 0 = not classified, for
        torchvision, timm, pytorchcv, vit-pytorch, mmpretrain, MONAI and transformers models outside the zoo),
        ``block`` (kind of repeated block; ``torchvision``, ``timm``, ``pytorchcv``, ``vitpytorch``,
        ``mmpretrain``, ``monai`` or ``hf`` outside the zoo) and ``description``. A ``timm:NAME``'s family is
        the timm module that defines it (``timm:dla34`` -> ``dla``), a ``pytorchcv:NAME``'s the
        pytorchcv module (``pytorchcv:hardnet68`` -> ``hardnet``), a ``vitpytorch:NAME``'s
        the vit_pytorch module of its class (``vitpytorch:cvt_13`` -> ``cvt``), an ``mmpretrain:NAME``'s
        the mmpretrain module of its backbone (``mmpretrain:van_b0`` -> ``van``), a ``monai:NAME``'s the monai
        module of its class (``monai:basic_unet`` -> ``basic_unet``), an ``hf:NAME``'s the transformers model
        module of its class (``hf:segformer_b0`` -> ``segformer``).
    """
    entry = _entry(name)
    key = _key(name)
    return {
        "name": key,
        "display_name": entry.display_name,
        "family": entry.family,
        "branch_count": entry.branch_count,
        "block": entry.block,
        "description": entry.description,
    }
