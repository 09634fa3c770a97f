"""Named configurations of Hugging Face transformers' vision models as image classifiers, ``hf:NAME``, adapted to a
dataset's channels and classes.

:data:`CONFIGS` names one configuration per transformers model module: its configuration class and keywords (input
planes through the configuration, sizes for 224x224 inputs at about 0.4-10 GMAC per sample) and its model class.
``build_model("hf:segformer_b0", in_channels=1, num_classes=10)`` is ``SegformerForImageClassification`` of a
``SegformerConfig(num_channels=1, num_labels=10)``, its ``logits`` returned (:class:`HfClassifier`): random weights,
built from the configuration alone, nothing downloaded. A depth, segmentation, matting, super-resolution, pose or
video model, or a detector's backbone, is run whole, the output fields its configuration names are averaged over
their positions and joined, and a linear layer maps them to the classes; a last one-channel layer (a depth map, a
matte) is cut away first, and a video model gets the image as a clip (docs/models.md says more).

transformers is an optional dependency (``pip install 'greenai[hf]'``). A model's family (:func:`hf_family`) is the
transformers model module of its class (``hf:segformer_b0`` -> ``segformer``), as for the other sources; the
configurations are the candidates of a thirteenth held-out set of :mod:`greenai.predict`
(``benchmarks/heldout13_screen.py``).
"""

from __future__ import annotations

import contextlib
import copy
import importlib
from dataclasses import dataclass, field
from functools import partial

from torch import nn

from .on_meta import checks_answered_on_meta
from .timm_models import build_even_on_meta
from .torchvision_models import replace_first_conv

__all__ = ["PREFIX", "HF_HINT", "IMAGE_SIZE", "HfConfig", "CONFIGS", "HfClassifier", "clear_tensor_caches",
           "missing_message", "is_hf_name", "hf_name", "hf_available", "is_hf_model", "hf_family", "build_hf_model"]

#: the namespace of transformers' configurations in :func:`greenai.models.build_model`
PREFIX = "hf:"
#: input height and width [px] of the configurations that fix their input size (``image_size``)
IMAGE_SIZE = 224


@dataclass(frozen=True)
class HfConfig:
    """One named configuration: ``transformers.<model>(transformers.<config>(**keywords))``.

    ``outputs`` empty: ``model`` is a ``*ForImageClassification`` class, built with ``num_labels`` set to the classes,
    whose ``logits`` are the classifier's output. Otherwise the model's output fields ``outputs`` are pooled to
    ``features`` values in all and a linear layer maps them to the classes. ``channels_arg`` is the configuration
    keyword for input planes, dotted for one of a nested configuration (``backbone_config.num_channels``); empty: the
    model's first convolution, built for 3 planes, is rebuilt for the input planes. ``cut``
    names submodules replaced by :class:`torch.nn.Identity` (a last one-channel convolution, so that the maps before
    it are pooled); ``frames`` > 0 marks a video model, given the image as a clip of that many frames.
    """

    config: str
    model: str
    keywords: dict = field(default_factory=dict)
    description: str = ""
    outputs: tuple[str, ...] = ()
    features: int = 0
    channels_arg: str = "num_channels"
    cut: tuple[str, ...] = ()
    frames: int = 0


_IMG = {"image_size": IMAGE_SIZE}
#: a ViT-S/16: width 384, 6 heads, 12 blocks
_VIT_S = {"hidden_size": 384, "num_attention_heads": 6, "intermediate_size": 1536, "image_size": IMAGE_SIZE}
#: ViTDet's attention (SAM's too) at 14x14 tokens: 7x7 windows (2x2 of them; at the papers' 1024 px, 14x14 windows of a
#: 64x64 map) with decomposed relative positions, global attention in blocks 3, 6, 9 and 12
_WINDOWS = {"window_size": 7, "use_relative_position_embeddings": True}
_RESNET50 = {"model_type": "resnet", "layer_type": "bottleneck", "depths": [3, 4, 6, 3],
             "hidden_sizes": [256, 512, 1024, 2048], "out_features": ["stage1", "stage2", "stage3", "stage4"]}
_BACKBONE_PLANES = "backbone_config.num_channels"

#: the named configurations, in order of preference: the CNN and hierarchical classifiers first (SegFormer, PVT v1,
#: Hiera, TextNet, PoolFormer, MobileViTV2), then DINOv2, I-JEPA, DINOv3 and BEiT (ViTs with 14x14 patches, no class
#: token, rotary positions, a relative position bias), then dense-prediction models pooled (depth: DPT, Depth Anything,
#: GLPN; segmentation: UperNet, MaskFormer; ViTDet, ViTMatte, SAM's encoder, ViTPose; super-resolution: Swin2SR; a
#: detector's backbone: RT-DETR's ResNet-D), then video models on a two-frame clip, and last the families another source
#: already has (SwiftFormer, FocalNet, LeViT). One configuration per model module, at about 0.4-10 GMAC per sample
#: (1x224x224); the ViTs at ViT-S size. Left out: models needing another package (dinat: natten; timm_wrapper,
#: timm_backbone: timm's models); models taking more than an image (clip, siglip, owlvit, seggpt, oneformer, sam's
#: prompt decoder) or giving outputs of varying size (superpoint's keypoints); Perceiver (its image classifiers fix 3
#: input planes, and it checks its attention mask by value, which fails on ``meta``, where greenai.macs.count_model
#: counts; its learned and Fourier variants attend to all 50176 pixels, 47 GMAC and more); ZoeDepth (its metric-bin head
#: ends in a one-channel depth map); EoMT (its pooled tokens leave the mask head unused; 9 GMAC); pixio, vit_msn,
#: dinov2_with_registers, vivit (another ViT); DETR (its backbone built frozen, and it reads its mask's values, which
#: fails on ``meta``), Deformable DETR (its MAC count fails), RT-DETR whole (10.3 GMAC as configured by default), SLANet
#: (its decoder stops when every sequence has ended: its steps depend on the data), UVDoc (its bridge keeps only its
#: last branch, which its connector layer does not take) and Mask2Former with a Swin backbone (not tried again since
#: the ptflops-convention count of greenai.macs takes leaves called with keywords only). RT-DETRv2 and Mask2Former with
#: a ResNet check their values (``isfinite(...).all()``, spatial shapes against the sequence length), which ``meta``
#: answers since greenai.models.on_meta.checks_answered_on_meta: added after the first screen, at ResNet-18 size
CONFIGS: dict[str, HfConfig] = {
    "segformer_b0": HfConfig("SegformerConfig", "SegformerForImageClassification", {},
                             "SegFormer MiT-B0: overlapping patch merging, efficient self-attention with spatial "
                             "reduction 8-4-2-1, Mix-FFN with 3x3 depthwise convolutions, widths 32-256"),
    "pvt_tiny": HfConfig("PvtConfig", "PvtForImageClassification", {**_IMG},
                         "PVT v1 Tiny: a pyramid of 4 stages of spatial-reduction attention (non-overlapping patch "
                         "embeddings, reduction 8-4-2-1), widths 64-512, a class token in the last stage"),
    "hiera_tiny": HfConfig("HieraConfig", "HieraForImageClassification",
                           {"image_size": [IMAGE_SIZE, IMAGE_SIZE], "depths": [1, 2, 7, 2]},
                           "Hiera-T: a hierarchical ViT without convolutions or relative positions, mask-unit "
                           "attention in the first two stages, query pooling between stages, widths 96-768"),
    "textnet_tiny": HfConfig("TextNetConfig", "TextNetForImageClassification",
                             {"image_size": [IMAGE_SIZE, IMAGE_SIZE]},
                             "TextNet-T (FAST's text detection backbone): searched stages of 3x3, 1x3 and 3x1 "
                             "re-parameterizable convolutions, widths 64-512", channels_arg="stem_num_channels"),
    "poolformer_s12": HfConfig("PoolFormerConfig", "PoolFormerForImageClassification", {},
                               "PoolFormer-S12: MetaFormer blocks whose token mixer is 3x3 average pooling, group "
                               "norm, stages of 2, 2, 6, 2 blocks, widths 64-512"),
    "mobilevitv2_100": HfConfig("MobileViTV2Config", "MobileViTV2ForImageClassification", {**_IMG},
                                "MobileViTV2-1.0: inverted residuals and separable (linear) self-attention over "
                                "unfolded 2x2 patches, widths 64-512"),
    "dinov2_small": HfConfig("Dinov2Config", "Dinov2ForImageClassification",
                             {"hidden_size": 384, "num_attention_heads": 6, **_IMG},
                             "DINOv2 ViT-S/14: 14x14 patches (256 tokens and a class token), layer scale, its head "
                             "on the class token and the mean patch token"),
    "ijepa_small": HfConfig("IJepaConfig", "IJepaForImageClassification", {**_VIT_S},
                            "I-JEPA ViT-S/16: a ViT without a class token, the head on the mean of its 196 tokens"),
    "dinov3_vit_small": HfConfig("DINOv3ViTConfig", "DINOv3ViTModel", {"num_register_tokens": 4, **_IMG},
                                 "DINOv3 ViT-S/16: rotary position embeddings (no absolute ones), 4 register tokens, "
                                 "layer scale; its pooled class token", ("pooler_output",), 384),
    "beit_small": HfConfig("BeitConfig", "BeitForImageClassification",
                           {**_VIT_S, "use_relative_position_bias": True},
                           "BEiT ViT-S/16: a relative position bias per block, layer scale, mean-pooled patch tokens"),
    "dpt_small": HfConfig("DPTConfig", "DPTForSemanticSegmentation",
                          {**_VIT_S, "neck_hidden_sizes": [48, 96, 192, 384], "fusion_hidden_size": 64,
                           "use_auxiliary_head": False, "num_labels": 64},
                          "DPT on a ViT-S/16: blocks 3, 6, 9, 12 reassembled into a 4-scale pyramid, residual "
                          "convolutional fusion up to 1/2 resolution, its segmentation head's 64 maps at full size",
                          ("logits",), 64),
    "depth_anything_small": HfConfig("DepthAnythingConfig", "DepthAnythingForDepthEstimation",
                                     {"backbone_config": {"model_type": "dinov2", "hidden_size": 384,
                                                          "num_attention_heads": 6, **_IMG,
                                                          "out_indices": [9, 10, 11, 12], "apply_layernorm": True,
                                                          "reshape_hidden_states": False}},
                                     "Depth Anything (small): a DINOv2 ViT-S/14, the DPT-style reassembly and fusion "
                                     "(width 64) and the depth head to 32 maps at full size (its last 1x1 "
                                     "convolution to depth cut)", ("predicted_depth",), 32,
                                     channels_arg=_BACKBONE_PLANES, cut=("head.conv3",)),
    "glpn_b0": HfConfig("GLPNConfig", "GLPNForDepthEstimation", {},
                        "GLPN: a MiT-B0 encoder, the selective feature fusion decoder (width 64) to full size, its "
                        "depth head's 64 maps (its last convolution to depth cut)", ("predicted_depth",), 64,
                        cut=("head.head.2",)),
    "upernet_convnext": HfConfig("UperNetConfig", "UperNetForSemanticSegmentation",
                                 {"backbone_config": {"model_type": "convnext", "depths": [2, 2, 6, 2],
                                                      "hidden_sizes": [64, 128, 256, 512],
                                                      "out_features": ["stage1", "stage2", "stage3", "stage4"]},
                                  "hidden_size": 128, "use_auxiliary_head": False, "num_labels": 64},
                                 "UperNet: a pyramid pooling module (scales 1, 2, 3, 6) and an FPN of width 128 over "
                                 "a ConvNeXt of widths 64-512, its segmentation head's 64 maps at full size",
                                 ("logits",), 64, channels_arg=_BACKBONE_PLANES),
    "maskformer_r50": HfConfig("MaskFormerConfig", "MaskFormerModel",
                               {"backbone_config": _RESNET50, "fpn_feature_size": 128, "mask_feature_size": 128},
                               "MaskFormer: an FPN pixel decoder (width 128) over a ResNet-50 and a 6-layer DETR "
                               "decoder of 100 queries on its last map; pools its mask features and queries",
                               ("pixel_decoder_last_hidden_state", "transformer_decoder_last_hidden_state"),
                               128 + 256, channels_arg=_BACKBONE_PLANES),
    "vitdet_small": HfConfig("VitDetConfig", "VitDetModel",
                             {"hidden_size": 384, "num_attention_heads": 6, **_IMG, **_WINDOWS,
                              "window_block_indices": [0, 1, 3, 4, 6, 7, 9, 10]},
                             "ViTDet ViT-S/16: a plain ViT without a class token, windowed blocks with decomposed "
                             "relative positions and 4 global blocks, its 14x14 map", ("last_hidden_state",), 384),
    "vitmatte_small": HfConfig("VitMatteConfig", "VitMatteForImageMatting",
                               {"backbone_config": {"model_type": "vitdet", "hidden_size": 384,
                                                    "num_attention_heads": 6, **_WINDOWS,
                                                    "window_block_indices": [0, 1, 3, 4, 6, 7, 9, 10],
                                                    "out_features": ["stage12"]},
                                "hidden_size": 384, "convstream_hidden_sizes": [48, 96, 192],
                                "fusion_hidden_sizes": [256, 128, 64, 32]},
                               "ViTMatte (small): a ViTDet ViT-S/16, a convolution stream of details (widths 48-192) "
                               "and fusion blocks up to full size, its matting head's 16 maps (its last convolution "
                               "to the alpha matte cut)", ("alphas",), 16, channels_arg=_BACKBONE_PLANES,
                               cut=("decoder.matting_head.matting_convs.3",)),
    "sam_vit_small": HfConfig("SamVisionConfig", "SamVisionModel",
                              {"hidden_size": 384, "num_attention_heads": 6, **_IMG, "window_size": 7,
                               "use_rel_pos": True, "global_attn_indexes": [2, 5, 8, 11]},
                              "SAM's image encoder at ViT-S/16: windowed and global blocks with decomposed relative "
                              "positions, a convolutional neck to 256 channels", ("last_hidden_state",), 256),
    "vitpose_small": HfConfig("VitPoseConfig", "VitPoseForPoseEstimation",
                              {"backbone_config": {"model_type": "vitpose_backbone", "hidden_size": 384,
                                                   "num_attention_heads": 6, "image_size": [IMAGE_SIZE, IMAGE_SIZE],
                                                   "out_indices": [12]},
                               "num_labels": 64},
                              "ViTPose (small): a ViT-S/16 and the simple decoder (4x upsampling, a 3x3 convolution) "
                              "to 64 heatmaps at 56x56", ("heatmaps",), 64, channels_arg=_BACKBONE_PLANES),
    "swin2sr_light": HfConfig("Swin2SRConfig", "Swin2SRModel",
                              {"embed_dim": 48, "depths": [2, 2], "num_heads": [4, 4], **_IMG},
                              "Swin2SR (light): SwinV2 blocks (8x8 windows, scaled cosine attention) at full "
                              "resolution in 2 residual groups of 2, width 48, a convolution after each group",
                              ("last_hidden_state",), 48),
    "rt_detr_resnet50": HfConfig("RTDetrResNetConfig", "RTDetrResNetBackbone",
                                 {"layer_type": "bottleneck", "depths": [3, 4, 6, 3],
                                  "hidden_sizes": [256, 512, 1024, 2048], "out_features": ["stage4"]},
                                 "RT-DETR's ResNet-50-D backbone: a three-convolution stem, average-pooling "
                                 "shortcuts, its last map", ("feature_maps",), 2048),
    "timesformer_2f": HfConfig("TimesformerConfig", "TimesformerModel",
                               {"hidden_size": 256, "num_attention_heads": 4, "intermediate_size": 1024, **_IMG,
                                "num_frames": 2},
                               "TimeSformer (width 256, 12 blocks, 16x16 patches): divided space-time attention "
                               "(over the 2 frames, then the 196 patches); the image as a 2-frame clip",
                               ("last_hidden_state",), 256, frames=2),
    "videomae_2f": HfConfig("VideoMAEConfig", "VideoMAEModel", {**_VIT_S, "num_frames": 2},
                            "VideoMAE ViT-S: 2x16x16 tubelets, fixed sinusoidal positions, mean-pooled tokens; the "
                            "image as a 2-frame clip", ("last_hidden_state",), 384, frames=2),
    # families another source has (timm: swiftformer, focalnet, levit)
    "swiftformer_xs": HfConfig("SwiftFormerConfig", "SwiftFormerForImageClassification", {},
                               "SwiftFormer-XS: convolutional encoders and efficient additive attention, widths "
                               "48-220, a distillation head averaged in"),
    "focalnet_tiny": HfConfig("FocalNetConfig", "FocalNetForImageClassification", {},
                              "FocalNet-T (SRF): focal modulation (2 levels of depthwise 3x3 and 5x5 contexts, "
                              "gated) instead of attention, widths 96-768"),
    "levit_128s": HfConfig("LevitConfig", "LevitForImageClassification", {},
                           "LeViT-128S: a 4-convolution stem, attention with a bias per relative position, "
                           "shrinking attention between stages, batch-normalized linear layers"),
    # added after the first screen for a thirteenth held-out set (benchmarks/heldout13_screen.py: ADDED_AFTER_RUN1)
    "pp_ocrv5_mobile_det": HfConfig("PPOCRV5MobileDetConfig", "PPOCRV5MobileDetForObjectDetection", {},
                                    "PP-OCRv5 mobile text detector (DB): a PP-LCNetV3 (widths 16-512), an FPN neck "
                                    "of width 96 with squeeze-excite residual blocks, the DB head up to full size by "
                                    "transposed convolutions, its 24 maps (its last transposed convolution to the "
                                    "text probability map cut)", ("last_hidden_state",), 24, channels_arg="",
                                    cut=("head.conv_final",)),
    "rt_detr_v2_r18": HfConfig("RTDetrV2Config", "RTDetrV2Model",
                               {"backbone_config": {"model_type": "rt_detr_resnet", "layer_type": "basic",
                                                    "depths": [2, 2, 2, 2], "hidden_sizes": [64, 128, 256, 512],
                                                    "out_features": ["stage2", "stage3", "stage4"],
                                                    "downsample_in_bottleneck": False},
                                "encoder_in_channels": [128, 256, 512], "hidden_expansion": 0.5,
                                "decoder_layers": 3},
                               "RT-DETRv2 (R18): a ResNet-18-D, the hybrid encoder (attention on the 1/32 map, "
                               "cross-scale fusion of 3 maps), a 3-layer decoder of 300 queries with deformable "
                               "attention; its decoder's queries pooled", ("last_hidden_state",), 256,
                               channels_arg=_BACKBONE_PLANES),
    "mask2former_r18": HfConfig("Mask2FormerConfig", "Mask2FormerModel",
                                {"backbone_config": {"model_type": "resnet", "layer_type": "basic",
                                                     "depths": [2, 2, 2, 2], "hidden_sizes": [64, 128, 256, 512],
                                                     "out_features": ["stage1", "stage2", "stage3", "stage4"]},
                                 "feature_size": 128, "mask_feature_size": 128},
                                "Mask2Former (R18): a 6-layer deformable-attention pixel decoder (width 128) over "
                                "a ResNet-18 and a 10-layer masked-attention decoder of 100 queries; pools its mask "
                                "features and queries",
                                ("pixel_decoder_last_hidden_state", "transformer_decoder_last_hidden_state"),
                                128 + 256, channels_arg=_BACKBONE_PLANES),
}

#: what error messages say about the namespace
HF_HINT = ("or hf:NAME for a named configuration of a Hugging Face transformers vision model: " + ", ".join(CONFIGS)
           + " (needs transformers: pip install 'greenai[hf]')")


class HfClassifier(nn.Module):
    """A transformers model as a classifier of ``[N, C, H, W]`` images.

    Without ``outputs`` the model is an image classifier and its ``logits`` are returned; otherwise the model's output
    fields ``outputs`` are pooled (:meth:`_pool`), concatenated and mapped to the classes by ``head``. ``frames`` > 0
    feeds a video model the image as a clip ``[N, frames, C, H, W]``.
    """

    def __init__(self, backbone: nn.Module, features: int, num_classes: int, outputs: tuple[str, ...] = (),
                 frames: int = 0) -> None:
        super().__init__()
        self.backbone = backbone
        self.outputs = tuple(outputs)
        self.frames = int(frames)
        self.head = nn.Linear(features, num_classes) if self.outputs else None

    @staticmethod
    def _pool(out):
        """``[N, C, H, W]`` averaged over H and W, ``[N, L, C]`` over L, ``[N, C]`` as it is; a tuple or list (one
        output per layer or stage) reduced to its last element first."""
        if isinstance(out, (list, tuple)):
            out = out[-1]
        if out.dim() == 4:
            return out.mean(dim=(2, 3))
        if out.dim() == 3:
            return out.mean(dim=1)
        return out

    def features(self, x):
        """The pooled, concatenated output fields (``[N, features]``)."""
        import torch  # heavy: torch

        out = self._backbone(x)
        return torch.cat([self._pool(out[name]) for name in self.outputs], dim=1)

    def _clip(self, x):
        return x.unsqueeze(1).expand(-1, self.frames, -1, -1, -1) if self.frames else x

    def _backbone(self, x):
        """The backbone's output for ``x``. On ``meta`` its checks of values are answered
        (:func:`greenai.models.on_meta.checks_answered_on_meta`), and afterwards the caches of its modeling code are
        emptied (:func:`clear_tensor_caches`), so that no later pass on a real device reads a ``meta`` tensor from
        them."""
        if x.device.type != "meta":
            return self.backbone(pixel_values=self._clip(x))
        try:
            with checks_answered_on_meta():
                return self.backbone(pixel_values=self._clip(x))
        finally:
            clear_tensor_caches(self.backbone)

    def forward(self, x):
        if not self.outputs:
            return self._backbone(x).logits
        return self.head(self.features(x))


def _closure_values(func) -> list:
    """The values ``func``'s closure holds (none for what is not a function)."""
    values = []
    for cell in getattr(func, "__closure__", None) or ():
        with contextlib.suppress(ValueError):  # an empty cell
            values.append(cell.cell_contents)
    return values


def clear_tensor_caches(model: nn.Module) -> int:
    """Empties every ``functools.lru_cache`` that the classes of ``model``'s layers hold, directly or inside a
    wrapper (transformers' ``compile_compatible_method_lru_cache``); returns how many it emptied.

    Some of these caches are keyed by sizes alone, not by device: BEiT's relative position index is built by
    ``torch.arange`` on the default device at its first call and then shared by every later model in the process.
    Made under ``with torch.device("meta")``, it is a ``meta`` tensor, and a later CPU forward that indexes its
    bias table with it reads memory nothing wrote (different logits on every call, at times NaN)."""
    seen: set[int] = set()
    emptied = 0
    for cls in {type(m) for m in model.modules()}:
        for klass in cls.__mro__:
            if not klass.__module__.startswith("transformers."):
                continue
            for attr in vars(klass).values():
                func = getattr(attr, "__func__", attr)  # a staticmethod's or classmethod's function
                for cached in [func, *_closure_values(func)]:
                    if hasattr(cached, "cache_clear") and id(cached) not in seen:
                        seen.add(id(cached))
                        cached.cache_clear()
                        emptied += 1
    return emptied


def missing_message(name: str) -> str:
    """The one-line error for an ``hf:`` name when transformers is not installed."""
    return (f"model {name!r} is a Hugging Face transformers model, but transformers is not installed: "
            f"pip install 'greenai[hf]' (transformers==5.25.0)")


def is_hf_name(name: str) -> bool:
    """Whether ``name`` is in the ``hf:`` namespace (whether or not :data:`CONFIGS` has it)."""
    return str(name).startswith(PREFIX)


def hf_name(name: str) -> str:
    """``hf:NAME`` -> ``NAME`` (the key of :data:`CONFIGS`)."""
    return str(name)[len(PREFIX):] if is_hf_name(name) else str(name)


def _transformers(name: str):
    """The module ``transformers``."""
    try:
        return importlib.import_module("transformers")
    except ImportError:
        raise ImportError(missing_message(name)) from None


def hf_available() -> bool:
    """Whether transformers can be imported."""
    try:
        importlib.import_module("transformers")
    except ImportError:
        return False
    return True


def is_hf_model(name: str) -> bool:
    """Whether ``hf:NAME`` names one of :data:`CONFIGS` (no import needed)."""
    return is_hf_name(name) and hf_name(name) in CONFIGS


def _family(module: str) -> str:
    """``transformers.models.<family>.modeling_<...>`` -> ``<family>``."""
    parts = module.split(".")
    return parts[parts.index("models") + 1] if "models" in parts[:-1] else parts[-1]


def hf_family(name: str) -> str:
    """The transformers model module that defines ``hf:NAME``'s class (``hf:segformer_b0`` -> ``segformer``)."""
    return _family(getattr(_transformers(name), CONFIGS[hf_name(name)].model).__module__)


@contextlib.contextmanager
def _quiet(transformers):
    """transformers' warnings off (e.g. that a model was tested with other backbones only), its errors on."""
    logging = transformers.utils.logging
    verbosity = logging.get_verbosity()
    logging.set_verbosity_error()
    try:
        yield
    finally:
        logging.set_verbosity(verbosity)


def _keywords(config: HfConfig, in_channels: int, num_classes: int) -> dict:
    keywords = copy.deepcopy(config.keywords)
    if config.channels_arg:
        *path, leaf = config.channels_arg.split(".")
        target = keywords
        for part in path:
            target = target[part]
        target[leaf] = in_channels
    if not config.outputs:
        keywords["num_labels"] = num_classes
    return keywords


def _submodule_parent(model: nn.Module, path: str) -> tuple[nn.Module, str]:
    parent_path, _, leaf = path.rpartition(".")
    return (model.get_submodule(parent_path) if parent_path else model), leaf


def _build(config: HfConfig, transformers, in_channels: int, num_classes: int) -> HfClassifier:
    with _quiet(transformers):
        settings = getattr(transformers, config.config)(**_keywords(config, in_channels, num_classes))
        model = getattr(transformers, config.model)(settings)
    if not config.channels_arg:
        replace_first_conv(model, in_channels)
    for path in config.cut:
        parent, leaf = _submodule_parent(model, path)
        setattr(parent, leaf, nn.Identity())
    return HfClassifier(model, config.features, num_classes, config.outputs, config.frames)


def build_hf_model(name: str, in_channels: int = 3, num_classes: int = 1000) -> HfClassifier:
    """The model of :data:`CONFIGS` for ``in_channels`` planes and ``num_classes`` classes, random weights.

    Builds from the configuration alone (nothing downloaded), on ``meta`` too
    (:func:`greenai.models.timm_models.build_even_on_meta`).

    Raises
    ------
    ImportError
        If transformers is not installed (:func:`missing_message`).
    KeyError
        If :data:`CONFIGS` has no ``NAME`` (callers turn this into
        :class:`greenai.models.UnknownModelError`).
    """
    if not is_hf_model(name):
        raise KeyError(name)
    return build_even_on_meta(partial(_build, CONFIGS[hf_name(name)], _transformers(name), int(in_channels),
                                      int(num_classes)))
