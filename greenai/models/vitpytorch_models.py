"""Named configurations of vit-pytorch's classifiers, ``vitpytorch:NAME``, adapted to a dataset's channels and classes.

vit-pytorch (lucidrains) has classes, not named models, so :data:`CONFIGS` names one
configuration per class: its module, class and constructor keywords for 224x224 inputs at
the size of a small ImageNet model (about 1-5 GMAC per sample, patches of 16 where the class
takes a patch size). ``build_model("vitpytorch:cvt_13", in_channels=1, num_classes=10)`` is
``vit_pytorch.cvt.CvT(**keywords, channels=1, num_classes=10)``: random weights, nothing
downloaded. vit-pytorch is an optional dependency (``pip install 'greenai[vitpytorch]'``); it
brings transformer families that neither the zoo, torchvision, timm nor pytorchcv has (CvT,
CrossFormer, ScalableViT, DeepViT, T2T-ViT ...), the held-out set
:data:`greenai.models.sets.HELDOUT9_MODELS` of :mod:`greenai.predict`.

A model's family (:func:`vitpytorch_family`) is the vit_pytorch module that defines its class
(``vitpytorch:cvt_13`` -> ``cvt``), as for timm and pytorchcv. Only 2-D image classifiers are
named: no training wrapper (MAE, DINO, distillation ...), no video, 1-D or 3-D model.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from functools import partial

from .timm_models import build_even_on_meta

__all__ = ["PREFIX", "VITPYTORCH_HINT", "VitPytorchConfig", "CONFIGS", "missing_message", "is_vitpytorch_name",
           "vitpytorch_name", "vitpytorch_available", "is_vitpytorch_model", "vitpytorch_family",
           "build_vitpytorch_model"]

#: the namespace of vit-pytorch's configurations in :func:`greenai.models.build_model`
PREFIX = "vitpytorch:"


@dataclass(frozen=True)
class VitPytorchConfig:
    """One named configuration: ``vit_pytorch.<module>.<cls>(**keywords, <channels_arg>=..., <classes_arg>=...)``."""

    module: str
    cls: str
    keywords: dict = field(default_factory=dict)
    description: str = ""
    channels_arg: str = "channels"
    classes_arg: str = "num_classes"


def _vit(**extra) -> dict:
    """Keywords of a ViT-S-sized plain stack at 224x224 (patch 16, width 384, 12 blocks, 6 heads, MLP 1536)."""
    return {"image_size": 224, "patch_size": 16, "dim": 384, "depth": 12, "heads": 6, "mlp_dim": 1536, **extra}


#: the named configurations, in the screen's order of preference (benchmarks/timm_heldout_screen.py --set 9):
#: distinct hierarchical / convolutional-token designs first, then ViT stacks with a new block or token scheme; after
#: them the paper's size of CvT, CrossFormer and ScalableViT closest in MACs to the one above (cvt_21 ...
#: scalablevit_s_full), candidates of the fourth near-family set (benchmarks/timm_heldout_screen.py --nearfamily4)
CONFIGS: dict[str, VitPytorchConfig] = {
    "cvt_13": VitPytorchConfig("cvt", "CvT", {}, "CvT-13: convolutional token embedding and projections, "
                                                 "stages of 1, 2, 10 blocks (the class' defaults)"),
    "crossformer_t": VitPytorchConfig("crossformer", "CrossFormer", {},
                                      "CrossFormer-T: cross-scale embedding, short / long distance attention, "
                                      "stages of 2, 2, 8, 2 blocks, widths 64-512 (the class' defaults)"),
    "scalablevit_s": VitPytorchConfig("scalable_vit", "ScalableViT",
                                      {"dim": 64, "heads": (2, 4, 8, 16), "depth": (1, 1, 6, 1),
                                       "reduction_factor": (8, 4, 2, 1), "window_size": (7, 7, 7, None)},
                                      "ScalableViT, widths 64-512 of the S model, stages of 1, 1, 6, 1 blocks: "
                                      "scalable self-attention and interactive window attention"),
    "sepvit_t": VitPytorchConfig("sep_vit", "SepViT",
                                 {"dim": 96, "dim_head": 32, "heads": (3, 6, 12, 24), "depth": (1, 2, 6, 2),
                                  "window_size": 7},
                                 "SepViT-T: depthwise separable self-attention with window tokens"),
    "cct_14_7x2": VitPytorchConfig("cct", "CCT",
                                   {"img_size": 224, "embedding_dim": 384, "n_conv_layers": 2, "kernel_size": 7,
                                    "stride": 2, "padding": 3, "num_layers": 14, "num_heads": 6, "mlp_ratio": 3.0},
                                   "CCT-14/7x2: convolutional tokenizer, sequence pooling instead of a class token",
                                   channels_arg="n_input_channels"),
    "t2tvit_12": VitPytorchConfig("t2t", "T2TViT",
                                  {"image_size": 224, "dim": 256, "depth": 12, "heads": 4, "mlp_dim": 512,
                                   "t2t_layers": ((7, 4), (3, 2), (3, 2))},
                                  "T2T-ViT-12: tokens-to-token soft splits, then a 12-block stack"),
    "lookvit_s": VitPytorchConfig("look_vit", "LookViT",
                                  {"image_size": 224, "dim": 384, "depth": 4, "patch_size": 16, "heads": 6,
                                   "highres_patch_size": 14},
                                  "LookViT: a low-resolution stack cross-attending to high-resolution tokens"),
    "jetvit_s": VitPytorchConfig("jet_vit", "JetViT",
                                 _vit(attn_layers=("WA",) * 4 + ("LA",) * 4 + ("FA",) * 4),
                                 "JetViT: 4 window-, 4 linear- and 4 full-attention blocks"),
    "rvt_s": VitPytorchConfig("rvt", "RvT", _vit(mlp_dim=1024, use_rotary=True, use_ds_conv=True, use_glu=True),
                              "RvT: rotary positions, depthwise-convolutional projections and GLU feed-forward"),
    "deepvit_s": VitPytorchConfig("deepvit", "DeepViT", _vit(), "DeepViT-S: re-attention across heads"),
    "nvit_s": VitPytorchConfig("normalized_vit", "nViT", _vit(),
                               "nViT: normalized transformer, every representation on the hypersphere"),
    "simple_uvit_s": VitPytorchConfig("simple_uvit", "SimpleUViT", _vit(),
                                      "U-ViT: long skip connections between shallow and deep blocks"),
    "looped_vit_s": VitPytorchConfig("looped_vit", "LoopedViT",
                                     {"image_size": 224, "patch_size": 16, "dim": 384, "heads": 6, "mlp_dim": 1536,
                                      "pre_loop_depth": 2, "num_looped_blocks": 2, "post_loop_depth": 2,
                                      "loop_depth": 4},
                                     "Looped ViT: 2 blocks, 2 blocks looped 4 times (shared weights), 2 blocks"),
    "vit_small_dataset_s": VitPytorchConfig("vit_for_small_dataset", "ViT", _vit(),
                                            "ViT for small datasets: shifted patch tokenization, locality "
                                            "self-attention"),
    "vit_patch_merger_s": VitPytorchConfig("vit_with_patch_merger", "ViT",
                                           _vit(patch_merge_layer=6, patch_merge_num_tokens=8),
                                           "ViT with a patch merger after block 6 (196 tokens to 8)"),
    "parallel_vit_s": VitPytorchConfig("parallel_vit", "ViT", _vit(depth=6, num_parallel_branches=2),
                                       "parallel ViT: 6 layers of 2 parallel blocks"),
    "ats_vit_s": VitPytorchConfig("ats_vit", "ViT",
                                  _vit(max_tokens_per_depth=(196, 196, 196, 128, 128, 128, 64, 64, 64, 32, 32, 32)),
                                  "ATS-ViT: adaptive token sampling, fewer tokens with depth"),
    # the fourth near-family set's candidates (vit-pytorch's CrossFormer and ScalableViT count one depth unit per pair
    # of blocks: short- and long-distance attention, SSA and IWSA)
    "cvt_21": VitPytorchConfig("cvt", "CvT", {"s2_depth": 4, "s3_depth": 16},
                               "CvT-21: CvT-13's stages at 1, 4, 16 blocks"),
    "crossformer_s": VitPytorchConfig("crossformer", "CrossFormer", {"dim": (96, 192, 384, 768), "depth": (1, 1, 3, 1)},
                                      "CrossFormer-S: widths 96-768, stages of 2, 2, 6, 2 blocks"),
    "scalablevit_s_full": VitPytorchConfig("scalable_vit", "ScalableViT",
                                           {"dim": 64, "heads": (2, 4, 8, 16), "depth": (1, 1, 10, 1),
                                            "reduction_factor": (8, 4, 2, 1), "window_size": (7, 7, 7, None)},
                                           "ScalableViT-S as published: scalablevit_s's widths, stages of 2, 2, 20, "
                                           "2 blocks"),
}

#: what error messages say about the namespace
VITPYTORCH_HINT = ("or vitpytorch:NAME for a named configuration of vit-pytorch: " + ", ".join(CONFIGS)
                   + " (needs vit-pytorch: pip install 'greenai[vitpytorch]')")


def missing_message(name: str) -> str:
    """The one-line error for a ``vitpytorch:`` name when vit-pytorch (or its einops) is not installed."""
    return (f"model {name!r} is a vit-pytorch model, but vit-pytorch is not installed: "
            f"pip install 'greenai[vitpytorch]' (vit-pytorch==1.26.14, einops==0.8.2)")


def is_vitpytorch_name(name: str) -> bool:
    """Whether ``name`` is in the ``vitpytorch:`` namespace (whether or not :data:`CONFIGS` has it)."""
    return str(name).startswith(PREFIX)


def vitpytorch_name(name: str) -> str:
    """``vitpytorch:NAME`` -> ``NAME`` (the key of :data:`CONFIGS`)."""
    return str(name)[len(PREFIX):] if is_vitpytorch_name(name) else str(name)


def _module(name: str, module: str):
    """The module ``vit_pytorch.<module>``."""
    try:
        import einops  # noqa: F401 - optional: vit-pytorch's one dependency beyond torch
        import vit_pytorch  # noqa: F401 - optional: vit-pytorch
    except ImportError:
        raise ImportError(missing_message(name)) from None
    return importlib.import_module(f"vit_pytorch.{module}")


def vitpytorch_available() -> bool:
    """Whether vit-pytorch and einops can be imported."""
    try:
        import einops  # noqa: F401
        import vit_pytorch  # noqa: F401
    except ImportError:
        return False
    return True


def is_vitpytorch_model(name: str) -> bool:
    """Whether ``vitpytorch:NAME`` names one of :data:`CONFIGS` (no import needed)."""
    return is_vitpytorch_name(name) and vitpytorch_name(name) in CONFIGS


def vitpytorch_family(name: str) -> str:
    """The vit_pytorch module that defines ``vitpytorch:NAME``'s class (``vitpytorch:cvt_13`` -> ``cvt``)."""
    config = CONFIGS[vitpytorch_name(name)]
    return getattr(_module(name, config.module), config.cls).__module__.rsplit(".", 1)[-1]


def build_vitpytorch_model(name: str, in_channels: int = 3, num_classes: int = 1000):
    """``vit_pytorch.<module>.<cls>(**keywords, channels=in_channels, num_classes=num_classes)`` of :data:`CONFIGS`
    (the class' own names for the two where they differ, e.g. CCT's ``n_input_channels``).

    Builds on ``meta`` too (:func:`greenai.models.timm_models.build_even_on_meta`).

    Raises
    ------
    ImportError
        If vit-pytorch is not installed (:func:`missing_message`).
    KeyError
        If :data:`CONFIGS` has no ``NAME`` (callers turn this into
        :class:`greenai.models.UnknownModelError`).
    """
    if not is_vitpytorch_model(name):
        raise KeyError(name)
    config = CONFIGS[vitpytorch_name(name)]
    cls = getattr(_module(name, config.module), config.cls)
    return build_even_on_meta(partial(cls, **config.keywords, **{config.channels_arg: int(in_channels),
                                                                   config.classes_arg: int(num_classes)}))
