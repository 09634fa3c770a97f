"""Named configurations of MONAI's networks as 2-D image classifiers, ``monai:NAME``, adapted to a dataset's
channels and classes.

MONAI (medical imaging) builds segmentation, reconstruction and generative networks, mostly encoder-decoders
without a classifier, so :data:`CONFIGS` names one configuration per module of ``monai.networks.nets``: its class
and constructor keywords for 2-D 224x224 inputs (``spatial_dims=2``) at about 2-6 GMAC per sample.
``build_model("monai:basic_unet", in_channels=1, num_classes=10)`` is that net with ``in_channels=1``, then a
global average pool of its output and a linear layer to 10 classes (:class:`MonaiClassifier`): random weights,
nothing downloaded. A segmentation or reconstruction net's output is its full-size map, pooled over height and
width; a tuple or list output is reduced to its element ``output`` (an autoencoder's reconstruction, the last map
of a patch discriminator), then pooled. MONAI is an optional dependency (``pip install 'greenai[monai]'``); it
brings families that neither the zoo, torchvision, timm, pytorchcv, vit-pytorch nor mmpretrain has (U-Nets,
UNet++, UNETR, Swin-UNETR, MedNeXt, dilated full-resolution nets, autoencoders), candidates of an eleventh
held-out set of :mod:`greenai.predict`.

A model's family (:func:`monai_family`) is the monai module that defines its class (``monai:basic_unet`` ->
``basic_unet``), as for timm, pytorchcv, vit-pytorch and mmpretrain.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from functools import partial

from .mmpretrain_models import BackboneClassifier
from .timm_models import build_even_on_meta

__all__ = ["PREFIX", "MONAI_HINT", "IMAGE_SIZE", "MonaiConfig", "CONFIGS", "MonaiClassifier", "missing_message",
           "is_monai_name", "monai_name", "monai_available", "is_monai_model", "monai_family", "build_monai_model"]

#: the namespace of MONAI's configurations in :func:`greenai.models.build_model`
PREFIX = "monai:"
#: input height and width [px] of the configurations that fix their input size (``img_size``, ``in_shape``)
IMAGE_SIZE = 224


@dataclass(frozen=True)
class MonaiConfig:
    """One named configuration: ``monai.networks.nets.<cls>(**keywords)`` (``spatial_dims=2`` among them where the
    class takes it), whose pooled output has ``features`` channels.

    ``channels_arg`` is the class' keyword for input planes (``in_shape``: the tuple ``(planes, 224, 224)``);
    ``module`` names the submodule of ``monai.networks.nets`` that defines a class the package does not export;
    ``output`` picks the main tensor of a tuple or list output (an index) and is ignored for a tensor output.
    """

    cls: str
    keywords: dict = field(default_factory=dict)
    features: int = 0
    description: str = ""
    channels_arg: str = "in_channels"
    module: str = ""
    output: int = 0


_2D = {"spatial_dims": 2}

#: the named configurations, in the screen's order of preference (benchmarks/timm_heldout_screen.py --set 11), fixed
#: before the screen was run: encoder-decoders and multi-scale designs least like anything fitted first (UNet++'s
#: nested dense skips, QuickNAT's dense blocks and max-unpooling, HighResNet's dilated full-resolution convolutions,
#: Restormer's channel attention at full resolution, attention-gated skips, RegUNet's multi-level outputs), then the
#: encoder-decoders whose encoder resembles a fitted family (UNETR: a ViT; Swin-UNETR: a Swin; MedNeXt: ConvNeXt
#: blocks; SegResNet, AHNet: residual), then autoencoders (a KL-regularized one with attention, a vector-quantized
#: one, a plain one without skips), then the plain U-Nets (classic, residual units, nnU-Net) and plain stacks last
#: (a residual-unit classifier, a patch discriminator). One configuration per module, at about 2-6 GMAC per sample
#: (1x224x224). Modules left out before the screen: those copying a family the zoo, torchvision, timm, pytorchcv,
#: vit-pytorch or mmpretrain has, or another candidate (NEAR_COPIES11 of the screen: densenet, senet, efficientnet,
#: resnet, vit, vitautoenc, navit, torchvision_fc, milmodel, flexible_unet, segresnet_ds, varautoencoder,
#: regressor); 3-D-only nets (daf3d, vista3d); nets taking more than an image (transchex: text tokens;
#: diffusion_model_unet, controlnet, spade_diffusion_model_unet: timesteps; spade_autoencoderkl, spade_network: label
#: maps; voxelmorph: a fixed and a moving image; generator: a latent vector; fullyconnectednet, transformer: vectors
#: or tokens); nets needing another package (cell_sam_wrapper: segment-anything; hyena_nd_unetr: nvsubquadratic);
#: masked_autoencoder_vit (a pretraining wrapper), netadapter (a wrapper), dints (takes a searched topology object),
#: hovernet (its forward takes 256x256 or 270x270 inputs only) and vnet (no width keyword: 12 GMAC at 224x224 in
#: 2-D, above the screen's 10)
CONFIGS: dict[str, MonaiConfig] = {
    "basic_unetplusplus": MonaiConfig("BasicUNetPlusPlus", {**_2D, "out_channels": 32,
                                                            "features": (16, 16, 32, 64, 128, 16)}, 32,
                                      "UNet++: nested dense skip pathways between a 5-level encoder and its decoders, "
                                      "widths 16-128"),
    "quicknat": MonaiConfig("Quicknat", {"num_classes": 64, "num_filters": 16}, 64,
                            "QuickNAT: dense blocks of 5x5 convolutions at 16 filters, max-pooling with indices and "
                            "max-unpooling, 64 output maps", channels_arg="num_channels"),
    "highresnet": MonaiConfig("HighResNet",
                              {**_2D, "out_channels": 64, "layer_params": (
                                  {"name": "conv_0", "n_features": 16, "kernel_size": 3},
                                  {"name": "res_1", "n_features": 16, "kernels": (3, 3), "repeat": 3},
                                  {"name": "res_2", "n_features": 24, "kernels": (3, 3), "repeat": 3},
                                  {"name": "res_3", "n_features": 32, "kernels": (3, 3), "repeat": 3},
                                  {"name": "conv_1", "n_features": 64, "kernel_size": 1},
                                  {"name": "conv_2", "kernel_size": 1})}, 64,
                              "HighResNet: residual blocks with dilations 1, 2, 4 at full resolution, widths 16, 24, "
                              "32 (the default's 16, 32, 64 would be 14 GMAC)"),
    "restormer": MonaiConfig("Restormer", {**_2D, "out_channels": 16, "dim": 16, "num_blocks": (1, 2, 2, 4),
                                           "heads": (1, 2, 4, 8), "num_refinement_blocks": 1}, 16,
                             "Restormer: transposed (channel) attention and gated depthwise feed-forwards in a 4-level "
                             "encoder-decoder from full resolution, width 16", module="restormer"),
    "attentionunet": MonaiConfig("AttentionUnet", {**_2D, "out_channels": 32, "channels": (16, 32, 64, 128, 256),
                                                   "strides": (2, 2, 2, 2)}, 32,
                                 "Attention U-Net: additive attention gates on the skips, widths 16-256"),
    "regunet": MonaiConfig("RegUNet", {**_2D, "out_channels": 32, "num_channel_initial": 16, "depth": 4,
                                       "extract_levels": (0, 1, 2, 3, 4)}, 32,
                           "RegUNet: the registration U-Net, residual encoder blocks, additive skips, an output of "
                           "every level resized to full size and averaged, widths 16-256"),
    "unetr": MonaiConfig("UNETR", {**_2D, "out_channels": 16, "img_size": IMAGE_SIZE, "feature_size": 12,
                                   "hidden_size": 384, "mlp_dim": 1536, "num_heads": 6}, 16,
                         "UNETR: a 12-block ViT-S encoder (16x16 patches) whose blocks 3, 6, 9, 12 feed a "
                         "convolutional decoder with transposed convolutions, feature size 12"),
    "swin_unetr": MonaiConfig("SwinUNETR", {**_2D, "out_channels": 48, "feature_size": 24}, 48,
                              "Swin-UNETR: a Swin encoder (2x2 patches, depths 2-2-2-2, windows 7) and a residual "
                              "convolutional decoder from every stage, feature size 24"),
    "mednext": MonaiConfig("MedNeXt", {**_2D, "out_channels": 32, "init_filters": 24}, 32,
                           "MedNeXt-S: 7x7 ConvNeXt blocks in a U-Net, with ConvNeXt down- and up-sampling blocks, "
                           "widths 24-384"),
    "segresnet": MonaiConfig("SegResNet", {**_2D, "out_channels": 32, "init_filters": 16}, 32,
                             "SegResNet: a residual encoder (1, 2, 2, 4 pre-activation blocks, group norm) and a "
                             "light decoder, widths 16-128"),
    "ahnet": MonaiConfig("AHNet", {**_2D, "out_channels": 32, "psp_block_num": 2}, 32,
                         "AHNet in 2-D: a ResNet-50-like encoder, dense-block decoder with transposed convolutions "
                         "and a pyramid pooling module of 2 scales"),
    "autoencoderkl": MonaiConfig("AutoencoderKL", {**_2D, "out_channels": 16, "channels": (32, 32, 64, 64),
                                                   "attention_levels": (False, False, False, True),
                                                   "num_res_blocks": 1, "latent_channels": 4}, 16,
                                 "AutoencoderKL: the latent-diffusion VAE, group-norm residual blocks, attention at "
                                 "28x28, a sampled 4-channel latent; its reconstruction is pooled"),
    "vqvae": MonaiConfig("VQVAE", {**_2D, "out_channels": 16, "channels": (32, 64), "num_res_layers": 2,
                                   "num_res_channels": (32, 64), "downsample_parameters": ((2, 4, 1, 1),) * 2,
                                   "upsample_parameters": ((2, 4, 1, 1, 0),) * 2, "num_embeddings": 256,
                                   "embedding_dim": 64}, 16,
                         "VQ-VAE: strided 4x4 convolutions, residual layers, a 256-entry codebook at 56x56 and "
                         "transposed convolutions; its reconstruction is pooled"),
    "autoencoder": MonaiConfig("AutoEncoder", {**_2D, "out_channels": 32, "channels": (32, 64, 128, 256),
                                               "strides": (2, 2, 2, 2), "num_res_units": 2}, 32,
                               "AutoEncoder: residual-unit encoder and transposed-convolution decoder without skips, "
                               "widths 32-256"),
    "basic_unet": MonaiConfig("BasicUNet", {**_2D, "out_channels": 32, "features": (32, 32, 64, 128, 256, 32)}, 32,
                              "BasicUNet: the classic U-Net, two 3x3 convolutions per level, max pooling, transposed "
                              "convolutions, widths 32-256"),
    "unet": MonaiConfig("UNet", {**_2D, "out_channels": 32, "channels": (32, 64, 128, 256, 512),
                                 "strides": (2, 2, 2, 2), "num_res_units": 2}, 32,
                        "UNet: residual units with strided convolutions, transposed convolutions up, widths "
                        "32-512"),
    "dynunet": MonaiConfig("DynUNet", {**_2D, "out_channels": 32, "kernel_size": (3, 3, 3, 3, 3),
                                       "strides": (1, 2, 2, 2, 2), "upsample_kernel_size": (2, 2, 2, 2),
                                       "filters": (16, 32, 64, 128, 256)}, 32,
                           "DynUNet: nnU-Net's plain blocks (instance norm, leaky ReLU), strided convolutions, widths "
                           "16-256"),
    "classifier": MonaiConfig("Classifier", {"classes": 512, "channels": (48, 96, 192, 384, 512),
                                             "strides": (2, 2, 2, 2, 2)}, 512,
                              "Classifier: five strided residual units (instance norm, PReLU), widths 48-512, and a "
                              "linear layer from the 7x7 map to 512 features", channels_arg="in_shape"),
    "patchgan_discriminator": MonaiConfig("PatchDiscriminator", {**_2D, "channels": 64, "num_layers_d": 3,
                                                                 "out_channels": 32}, 32,
                                          "PatchGAN discriminator: 4x4 strided convolutions, widths 64-512, a 26x26 "
                                          "map of 32 channels (its last output)", output=-1),
}

#: what error messages say about the namespace
MONAI_HINT = ("or monai:NAME for a named configuration of a MONAI network: " + ", ".join(CONFIGS)
              + " (needs monai: pip install 'greenai[monai]')")


class MonaiClassifier(BackboneClassifier):
    """A MONAI network, a global average pool of its output and a linear layer (:class:`BackboneClassifier`'s pool
    and head); a tuple or list output is reduced to its element ``output`` first."""

    def __init__(self, net, features: int, num_classes: int, output: int = 0) -> None:
        super().__init__(net, features, num_classes)
        self.output = output

    def forward(self, x):
        out = self.backbone(x)
        if isinstance(out, (tuple, list)):
            out = out[self.output]
        return self.head(self._pool(out))


def missing_message(name: str) -> str:
    """The one-line error for a ``monai:`` name when MONAI is not installed."""
    return f"model {name!r} is a MONAI model, but monai is not installed: pip install 'greenai[monai]' (monai==1.6.1)"


def is_monai_name(name: str) -> bool:
    """Whether ``name`` is in the ``monai:`` namespace (whether or not :data:`CONFIGS` has it)."""
    return str(name).startswith(PREFIX)


def monai_name(name: str) -> str:
    """``monai:NAME`` -> ``NAME`` (the key of :data:`CONFIGS`)."""
    return str(name)[len(PREFIX):] if is_monai_name(name) else str(name)


def _nets(name: str):
    """The module ``monai.networks.nets``."""
    try:
        return importlib.import_module("monai.networks.nets")
    except ImportError:
        raise ImportError(missing_message(name)) from None


def monai_available() -> bool:
    """Whether MONAI's networks can be imported."""
    try:
        importlib.import_module("monai.networks.nets")
    except ImportError:
        return False
    return True


def is_monai_model(name: str) -> bool:
    """Whether ``monai:NAME`` names one of :data:`CONFIGS` (no import needed)."""
    return is_monai_name(name) and monai_name(name) in CONFIGS


def _class(config: MonaiConfig, nets):
    if config.module:
        return getattr(importlib.import_module(f"{nets.__name__}.{config.module}"), config.cls)
    return getattr(nets, config.cls)


def monai_family(name: str) -> str:
    """The monai module that defines ``monai:NAME``'s class (``monai:basic_unet`` -> ``basic_unet``)."""
    return _class(CONFIGS[monai_name(name)], _nets(name)).__module__.rsplit(".", 1)[-1]


def _build(config: MonaiConfig, nets, in_channels: int, num_classes: int) -> MonaiClassifier:
    planes = (in_channels, IMAGE_SIZE, IMAGE_SIZE) if config.channels_arg == "in_shape" else in_channels
    net = _class(config, nets)(**config.keywords, **{config.channels_arg: planes})
    return MonaiClassifier(net, config.features, num_classes, config.output)


def build_monai_model(name: str, in_channels: int = 3, num_classes: int = 1000) -> MonaiClassifier:
    """The network of :data:`CONFIGS` for ``in_channels`` planes, pooled, and a linear layer to ``num_classes``.

    Builds on ``meta`` too (:func:`greenai.models.timm_models.build_even_on_meta`).

    Raises
    ------
    ImportError
        If MONAI is not installed (:func:`missing_message`).
    KeyError
        If :data:`CONFIGS` has no ``NAME`` (callers turn this into
        :class:`greenai.models.UnknownModelError`).
    """
    if not is_monai_model(name):
        raise KeyError(name)
    return build_even_on_meta(partial(_build, CONFIGS[monai_name(name)], _nets(name), int(in_channels),
                                      int(num_classes)))
