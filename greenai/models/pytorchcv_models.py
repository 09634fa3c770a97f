"""Any model of pytorchcv, by ``pytorchcv:NAME``, adapted to a dataset's channels and classes.

``build_model("pytorchcv:hardnet68", in_channels=1, num_classes=10)`` is
``pytorchcv.model_provider.get_model("hardnet68", pretrained=False, in_channels=1, num_classes=10)``: random
weights, nothing downloaded. pytorchcv is an optional dependency (``pip install 'greenai[pytorchcv]'``); it brings
convolutional families that neither the zoo, torchvision nor timm has (HarDNet, PeleeNet, IGCV3, FishNet, ...),
half of the held-out set :data:`greenai.models.sets.HELDOUT8_MODELS` of :mod:`greenai.predict`.

Its segmentation, pose, face-detection and face-reconstruction networks have no classifier. Those of :data:`DENSE`
(ERFNet, ESNet, EDANet, DABNet, CGNet, ENet, BiSeNet, ICNet, LinkNet, LFFD, PRNet, Lightweight OpenPose, CenterNet,
SimplePose, AlphaPose) are built as published for 224x224, their output maps pooled and a linear layer added
(:class:`DenseClassifier`), as MONAI's networks are; a network fixed to three planes gets the dataset's one plane
repeated. They are the candidates of the twelfth held-out set. Any other segmentation, pose or detection name builds
as pytorchcv defines it, without a classification head.

A model's family (:func:`pytorchcv_family`) is the pytorchcv module that defines it (``pytorchcv:hardnet68`` ->
``hardnet``), as for timm (:mod:`greenai.models.timm_models`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

from .mmpretrain_models import BackboneClassifier
from .timm_models import build_even_on_meta

__all__ = ["PREFIX", "PYTORCHCV_HINT", "IMAGE_SIZE", "DenseConfig", "DENSE", "DenseClassifier", "missing_message",
           "is_pytorchcv_name", "pytorchcv_name", "pytorchcv_available", "is_pytorchcv_model", "pytorchcv_family",
           "build_pytorchcv_model"]

#: the namespace of pytorchcv's models in :func:`greenai.models.build_model`
PREFIX = "pytorchcv:"
#: what error messages say about the namespace
PYTORCHCV_HINT = ("or pytorchcv:NAME for an image classifier of pytorchcv (needs pytorchcv: "
                  "pip install 'greenai[pytorchcv]')")


#: input height and width [px] the networks of :data:`DENSE` are built for (``in_size``)
IMAGE_SIZE = 224


@dataclass(frozen=True)
class DenseConfig:
    """How one pytorchcv dense-prediction network becomes a classifier: ``get_model(NAME, pretrained=False,
    in_size=(224, 224), **keywords)``, its output (a map, or a list of maps, pooled and concatenated) of
    ``features`` channels, then a linear layer.

    ``planes`` is the number of input planes a network is fixed to whatever ``in_channels`` says (pytorchcv asserts
    three, builds its backbone with three, or concatenates a three-plane copy of the input inside); the dataset's
    planes are then repeated to it. ``None``: the network is built with the dataset's planes.
    """

    features: int
    keywords: dict = field(default_factory=dict)
    planes: int | None = None
    description: str = ""


_AUX_OFF = {"aux": False}
_HEATMAP = {"return_heatmap": True}

#: pytorchcv's dense-prediction networks built as classifiers (:class:`DenseClassifier`), each at its published
#: width, with the outputs it has at inference: segmentation nets without auxiliary heads, pose and detection nets
#: returning their heatmaps (not the decoded keypoints or boxes, which have no gradient)
DENSE: dict[str, DenseConfig] = {
    "erfnet_cityscapes": DenseConfig(19, description="ERFNet: factorised 3x1/1x3 residual blocks, dilated"),
    "esnet_cityscapes": DenseConfig(19, description="ESNet: factorised convolutions in parallel dilated branches"),
    "edanet_cityscapes": DenseConfig(19, description="EDANet: asymmetric convolutions in dense blocks"),
    "dabnet_cityscapes": DenseConfig(19, planes=3, description="DABNet: depth-wise asymmetric bottlenecks"),
    "cgnet_cityscapes": DenseConfig(19, planes=3, description="CGNet: context-guided blocks (local, surrounding, "
                                                                 "global context)"),
    "enet_cityscapes": DenseConfig(19, description="ENet: early down-sampling, max-unpooling decoder"),
    "espcnet_cityscapes": DenseConfig(19, planes=3, description="ESPNet-C: efficient spatial pyramids of dilated "
                                                                  "convolutions"),
    "bisenet_resnet18_celebamaskhq": DenseConfig(19, _AUX_OFF, planes=3,
                                                 description="BiSeNet: spatial and context paths, attention fusion"),
    "icnet_resnetd50b_cityscapes": DenseConfig(19, _AUX_OFF, planes=3,
                                               description="ICNet: a cascade over three input resolutions"),
    "linknet_cityscapes": DenseConfig(19, planes=3, description="LinkNet: ResNet-18 encoder, additive skip decoder"),
    "lffd20x5s320v2_widerface": DenseConfig(30, description="LFFD: receptive-field face detector, five heads "
                                                            "(pooled and concatenated)"),
    "prnet": DenseConfig(3, description="PRNet: face position-map encoder-decoder of 4x4 (de)convolutions"),
    "lwopenpose2d_mobilenet_cmupan_coco": DenseConfig(57, planes=3,
                                                      description="Lightweight OpenPose: MobileNet, refinement stage"),
    "centernet_resnet18_voc": DenseConfig(24, _HEATMAP, planes=3,
                                          description="CenterNet: ResNet-18, deconvolution up-sampling, heatmaps"),
    "simplepose_resnet18_coco": DenseConfig(17, _HEATMAP, planes=3,
                                            description="SimplePose: ResNet-18, deconvolution heatmap head"),
    "simplepose_mobile_mobilenetv2b_w1_coco": DenseConfig(17, _HEATMAP, planes=3,
                                                          description="SimplePose (mobile): MobileNetV2, "
                                                                      "pixel-shuffle heatmap head"),
    "alphapose_fastseresnet101b_coco": DenseConfig(17, _HEATMAP, planes=3,
                                                   description="AlphaPose: SE-ResNet-101, pixel-shuffle heatmaps"),
}


class DenseClassifier(BackboneClassifier):
    """A pytorchcv dense-prediction network, a global average pool of its output and a linear layer
    (:class:`greenai.models.mmpretrain_models.BackboneClassifier`'s pool and head: a list of maps is pooled map by
    map and concatenated). With ``planes`` set, an input of fewer planes is repeated to it first."""

    def __init__(self, net, features: int, num_classes: int, planes: int | None = None) -> None:
        super().__init__(net, features, num_classes)
        self.planes = planes

    def forward(self, x):
        if self.planes is not None and x.shape[1] != self.planes:
            x = x.expand(-1, self.planes, -1, -1)
        return self.head(self._pool(self.backbone(x)))


def missing_message(name: str) -> str:
    """The one-line error for a ``pytorchcv:`` name when pytorchcv is not installed."""
    return (f"model {name!r} is a pytorchcv model, but pytorchcv is not installed: "
            f"pip install 'greenai[pytorchcv]' (pytorchcv==0.0.74)")


def is_pytorchcv_name(name: str) -> bool:
    """Whether ``name`` is in the ``pytorchcv:`` namespace (whether or not pytorchcv knows it)."""
    return str(name).startswith(PREFIX)


def pytorchcv_name(name: str) -> str:
    """``pytorchcv:NAME`` -> ``NAME`` (pytorchcv's own model name)."""
    return str(name)[len(PREFIX):] if is_pytorchcv_name(name) else str(name)


def _provider(name: str) -> dict:
    """pytorchcv's table of model name -> builder."""
    try:
        from pytorchcv import model_provider  # optional: pytorchcv
    except ImportError:
        raise ImportError(missing_message(name)) from None
    return model_provider._models  # noqa: SLF001 - the provider's only listing of its names


def pytorchcv_available() -> bool:
    """Whether pytorchcv can be imported."""
    try:
        import pytorchcv  # noqa: F401
    except ImportError:
        return False
    return True


def is_pytorchcv_model(name: str) -> bool:
    """Whether ``pytorchcv:NAME`` names one of pytorchcv's models (ImportError without pytorchcv)."""
    return is_pytorchcv_name(name) and pytorchcv_name(name) in _provider(name)


def pytorchcv_family(name: str) -> str:
    """The pytorchcv module that defines ``pytorchcv:NAME`` (``pytorchcv:peleenet`` -> ``peleenet``)."""
    return _provider(name)[pytorchcv_name(name)].__module__.rsplit(".", 1)[-1]


def _dense(builder, config: DenseConfig, in_channels: int, num_classes: int) -> DenseClassifier:
    planes = {} if config.planes is not None else {"in_channels": in_channels}
    net = builder(pretrained=False, in_size=(IMAGE_SIZE, IMAGE_SIZE), **config.keywords, **planes)
    return DenseClassifier(net, config.features, num_classes, config.planes)


def build_pytorchcv_model(name: str, in_channels: int = 3, num_classes: int = 1000):
    """``get_model(NAME, pretrained=False, in_channels=in_channels, num_classes=num_classes)`` of pytorchcv; for a
    network of :data:`DENSE` a :class:`DenseClassifier` of it.

    Builds on ``meta`` too (:func:`greenai.models.timm_models.build_even_on_meta`).

    Raises
    ------
    ImportError
        If pytorchcv is not installed (:func:`missing_message`).
    KeyError
        If pytorchcv has no model ``NAME`` (callers turn this into
        :class:`greenai.models.UnknownModelError`).
    """
    if not is_pytorchcv_model(name):
        raise KeyError(name)
    if pytorchcv_name(name) in DENSE:
        return build_even_on_meta(partial(_dense, _provider(name)[pytorchcv_name(name)], DENSE[pytorchcv_name(name)],
                                          int(in_channels), int(num_classes)))
    return build_even_on_meta(partial(_provider(name)[pytorchcv_name(name)], pretrained=False,
                                      in_channels=int(in_channels), num_classes=int(num_classes)))
