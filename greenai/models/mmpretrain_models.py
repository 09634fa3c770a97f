"""Named configurations of mmpretrain's backbones as classifiers, ``mmpretrain:NAME``, adapted to a dataset's
channels and classes.

mmpretrain (OpenMMLab) builds its models from backbones, necks and heads, so :data:`CONFIGS`
names one configuration per backbone class: its class in ``mmpretrain.models.backbones`` and
constructor keywords for 224x224 inputs at the size of a small ImageNet model (about 1-7 GMAC
per sample). ``build_model("mmpretrain:van_b0", in_channels=1, num_classes=10)`` is that
backbone with ``in_channels=1`` (or its first convolution rebuilt with one plane where the class
takes no such keyword), then a global average pool of its last output and a linear layer to 10
classes (:class:`BackboneClassifier`): random weights, nothing downloaded. mmpretrain is an
optional dependency (``pip install 'greenai[mmpretrain]'``); it brings families that neither the
zoo, torchvision, timm, pytorchcv nor vit-pytorch has (VAN, HorNet, RepLKNet, RepMLPNet,
Conformer, HiViT, ViG, RevViT), candidates of a tenth held-out set of :mod:`greenai.predict`.

A model's family (:func:`mmpretrain_family`) is the mmpretrain module that defines its backbone
(``mmpretrain:van_b0`` -> ``van``), as for timm, pytorchcv and vit-pytorch.
"""

from __future__ import annotations

import importlib
import warnings
from dataclasses import dataclass, field
from functools import partial

from torch import nn

from .timm_models import build_even_on_meta

__all__ = ["PREFIX", "MMPRETRAIN_HINT", "MmpretrainConfig", "CONFIGS", "BackboneClassifier", "missing_message",
           "is_mmpretrain_name", "mmpretrain_name", "mmpretrain_available", "is_mmpretrain_model",
           "mmpretrain_family", "build_mmpretrain_model"]

#: the namespace of mmpretrain's configurations in :func:`greenai.models.build_model`
PREFIX = "mmpretrain:"


@dataclass(frozen=True)
class MmpretrainConfig:
    """One named configuration: ``mmpretrain.models.backbones.<cls>(**keywords)`` with ``features`` pooled outputs.

    ``channels_arg`` is the class' keyword for input planes; where it is ``None`` the convolution named
    ``first_conv`` (a dotted module path) is rebuilt with the dataset's planes.
    """

    cls: str
    keywords: dict = field(default_factory=dict)
    features: int = 0
    description: str = ""
    channels_arg: str | None = "in_channels"
    first_conv: str = ""


#: the named configurations, in the screen's order of preference (benchmarks/timm_heldout_screen.py --set 10):
#: convolutional designs with a new spatial operator first (large-kernel attention, recursive gated convolution,
#: 31x31 kernels, MLPs over whole feature maps), then hybrids and transformers with a new token or block scheme;
#: after them one published size variant of each of those eight families (van_b1 ... revvit_t), candidates of the
#: fourth near-family set (benchmarks/timm_heldout_screen.py --nearfamily4): mmpretrain's own arch names, but for
#: RepMLPNet, whose only arch is ``b``, the paper's T224
CONFIGS: dict[str, MmpretrainConfig] = {
    "van_b0": MmpretrainConfig("VAN", {"arch": "tiny"}, 256,
                               "VAN-B0: large-kernel attention (5x5 and dilated 7x7 depthwise convolutions, then a "
                               "1x1 gate), stages of 3, 3, 5, 2 blocks, widths 32-256"),
    "hornet_t": MmpretrainConfig("HorNet", {"arch": "tiny"}, 512,
                                 "HorNet-T: recursive gated convolutions (gnConv, orders 2-5), widths 64-512"),
    "replknet_31t": MmpretrainConfig("RepLKNet",
                                     {"arch": {"large_kernel_sizes": [31, 29, 27, 13], "layers": [2, 2, 18, 2],
                                               "channels": [64, 128, 256, 512], "small_kernel": 5, "dw_ratio": 1}},
                                     512, "RepLKNet-31B's 31x31 to 13x13 depthwise kernels (beside 5x5 ones) and "
                                          "depths at half its widths (64-512)"),
    "repmlpnet_b": MmpretrainConfig("RepMLPNet", {"arch": "B", "img_size": 224}, 768,
                                    "RepMLPNet-B: locality-injected MLPs over 7x7 partitions of each feature map"),
    "conformer_t": MmpretrainConfig("Conformer", {"arch": "tiny"}, 256 + 384,
                                    "Conformer-Ti: a convolution branch and a transformer branch coupled at every "
                                    "block; the head pools both", channels_arg=None, first_conv="conv1"),
    "hivit_t": MmpretrainConfig("HiViT", {"arch": "tiny", "img_size": 224}, 384,
                                "HiViT-T: hierarchical ViT, MLP-only stages at 56x56 and 28x28, then attention at "
                                "14x14", channels_arg="in_chans"),
    "vig_t": MmpretrainConfig("Vig", {"arch": "tiny"}, 192,
                              "ViG-Ti: vision GNN, a k-nearest-neighbour graph of the 196 patches and max-relative "
                              "graph convolutions in every block"),
    "revvit_s": MmpretrainConfig("RevVisionTransformer", {"arch": "deit-small", "img_size": 224}, 768,
                                 "RevViT-S: reversible DeiT-S blocks (two residual streams, activations recomputed "
                                 "in the backward pass)"),
    # the fourth near-family set's candidates: the published size of each family closest in MACs to the one above
    "van_b1": MmpretrainConfig("VAN", {"arch": "small"}, 512,
                               "VAN-B1: VAN-B0's large-kernel attention, stages of 2, 2, 4, 2 blocks, widths 64-512"),
    "hornet_s": MmpretrainConfig("HorNet", {"arch": "small"}, 768,
                                 "HorNet-S: HorNet-T's recursive gated convolutions at widths 96-768"),
    "replknet_31b": MmpretrainConfig("RepLKNet", {"arch": "31B"}, 1024,
                                     "RepLKNet-31B: 31x31 to 13x13 depthwise kernels (beside 5x5 ones), widths "
                                     "128-1024"),
    "repmlpnet_t": MmpretrainConfig("RepMLPNet",
                                    {"arch": {"channels": [64, 128, 256, 512], "depths": [2, 2, 6, 2],
                                              "sharesets_nums": [1, 4, 16, 128]}, "img_size": 224}, 512,
                                    "RepMLPNet-T224 (the paper's, not an mmpretrain arch): RepMLPNet-B's "
                                    "partition MLPs at widths 64-512, stages of 2, 2, 6, 2 blocks"),
    "conformer_s": MmpretrainConfig("Conformer", {"arch": "small"}, 1024 + 384,
                                    "Conformer-S: Conformer-Ti with a 4x wider convolution branch",
                                    channels_arg=None, first_conv="conv1"),
    "hivit_s": MmpretrainConfig("HiViT", {"arch": "small", "img_size": 224}, 384,
                                "HiViT-S: HiViT-T's stages at 2, 2, 20 blocks", channels_arg="in_chans"),
    "vig_s": MmpretrainConfig("Vig", {"arch": "small"}, 320,
                              "ViG-S: ViG-Ti's graph convolutions, 16 blocks of width 320"),
    "revvit_t": MmpretrainConfig("RevVisionTransformer", {"arch": "deit-tiny", "img_size": 224}, 384,
                                 "RevViT-Ti: reversible DeiT-Ti blocks (width 192, 12 blocks, 3 heads)"),
}

#: what error messages say about the namespace
MMPRETRAIN_HINT = ("or mmpretrain:NAME for a named configuration of an mmpretrain backbone: " + ", ".join(CONFIGS)
                   + " (needs mmpretrain: pip install 'greenai[mmpretrain]')")


class BackboneClassifier(nn.Module):
    """An mmpretrain backbone, a global average pool of its last output and a linear layer.

    The last output is a ``[N, C, H, W]`` map (pooled over H and W), ``[N, L, C]`` tokens (averaged
    over L) or ``[N, C]`` features; a list of them (Conformer's convolution and transformer
    branches) is pooled part by part and concatenated.
    """

    def __init__(self, backbone: nn.Module, features: int, num_classes: int) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(features, num_classes)

    @staticmethod
    def _pool(out):
        import torch  # heavy: torch

        if isinstance(out, (list, tuple)):
            return torch.cat([BackboneClassifier._pool(part) for part in out], dim=1)
        if out.dim() == 4:
            return out.mean(dim=(2, 3))
        if out.dim() == 3:
            return out.mean(dim=1)
        return out

    def forward(self, x):
        return self.head(self._pool(self.backbone(x)[-1]))


def missing_message(name: str) -> str:
    """The one-line error for an ``mmpretrain:`` name when mmpretrain (or its mmcv / mmengine) is not installed."""
    return (f"model {name!r} is an mmpretrain model, but mmpretrain is not installed: "
            f"pip install 'greenai[mmpretrain]' (mmpretrain==1.2.0, mmcv-lite==2.1.0, mmengine==0.10.7)")


def is_mmpretrain_name(name: str) -> bool:
    """Whether ``name`` is in the ``mmpretrain:`` namespace (whether or not :data:`CONFIGS` has it)."""
    return str(name).startswith(PREFIX)


def mmpretrain_name(name: str) -> str:
    """``mmpretrain:NAME`` -> ``NAME`` (the key of :data:`CONFIGS`)."""
    return str(name)[len(PREFIX):] if is_mmpretrain_name(name) else str(name)


def _import_backbones():
    """``mmpretrain.models.backbones``, without mmcv-lite's warning that its compiled deformable attention (which no
    configuration uses) is missing."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*MultiScaleDeformableAttention.*")
        return importlib.import_module("mmpretrain.models.backbones")


def _backbones(name: str):
    """The module ``mmpretrain.models.backbones``."""
    try:
        return _import_backbones()
    except ImportError:
        raise ImportError(missing_message(name)) from None


def mmpretrain_available() -> bool:
    """Whether mmpretrain's backbones can be imported."""
    try:
        _import_backbones()
    except ImportError:
        return False
    return True


def is_mmpretrain_model(name: str) -> bool:
    """Whether ``mmpretrain:NAME`` names one of :data:`CONFIGS` (no import needed)."""
    return is_mmpretrain_name(name) and mmpretrain_name(name) in CONFIGS


def mmpretrain_family(name: str) -> str:
    """The mmpretrain module that defines ``mmpretrain:NAME``'s backbone (``mmpretrain:van_b0`` -> ``van``)."""
    config = CONFIGS[mmpretrain_name(name)]
    return getattr(_backbones(name), config.cls).__module__.rsplit(".", 1)[-1]


def _with_planes(backbone: nn.Module, path: str, in_channels: int) -> nn.Module:
    """``backbone`` with its convolution at ``path`` rebuilt to take ``in_channels`` planes (same shape otherwise)."""
    parent_path, _, leaf = path.rpartition(".")
    parent = backbone.get_submodule(parent_path) if parent_path else backbone
    old = getattr(parent, leaf)
    setattr(parent, leaf, nn.Conv2d(in_channels, old.out_channels, old.kernel_size, old.stride, old.padding,
                                    old.dilation, old.groups, old.bias is not None, old.padding_mode,
                                    device=old.weight.device))
    return backbone


def _build(config: MmpretrainConfig, backbones, in_channels: int, num_classes: int) -> BackboneClassifier:
    cls = getattr(backbones, config.cls)
    if config.channels_arg is None:
        backbone = _with_planes(cls(**config.keywords), config.first_conv, in_channels)
    else:
        backbone = cls(**config.keywords, **{config.channels_arg: in_channels})
    return BackboneClassifier(backbone, config.features, num_classes)


def build_mmpretrain_model(name: str, in_channels: int = 3, num_classes: int = 1000) -> BackboneClassifier:
    """The backbone of :data:`CONFIGS` for ``in_channels`` planes, pooled, and a linear layer to ``num_classes``.

    Builds on ``meta`` too (:func:`greenai.models.timm_models.build_even_on_meta`).

    Raises
    ------
    ImportError
        If mmpretrain is not installed (:func:`missing_message`).
    KeyError
        If :data:`CONFIGS` has no ``NAME`` (callers turn this into
        :class:`greenai.models.UnknownModelError`).
    """
    if not is_mmpretrain_model(name):
        raise KeyError(name)
    return build_even_on_meta(partial(_build, CONFIGS[mmpretrain_name(name)], _backbones(name), int(in_channels),
                                      int(num_classes)))
