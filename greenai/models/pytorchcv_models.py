"""Any classification model of pytorchcv, by ``pytorchcv:NAME``, adapted to a dataset's channels and classes.

``build_model("pytorchcv:hardnet68", in_channels=1, num_classes=10)`` is
``pytorchcv.model_provider.get_model("hardnet68", pretrained=False, in_channels=1,
num_classes=10)``: random weights, nothing downloaded. pytorchcv is an optional
dependency (``pip install 'greenai[pytorchcv]'``); it brings convolutional
families that neither the zoo, torchvision nor timm has (HarDNet, PeleeNet,
IGCV3, FishNet, DiracNet ...), half of the held-out set
:data:`greenai.models.sets.HELDOUT8_MODELS` of :mod:`greenai.predict`.

A model's family (:func:`pytorchcv_family`) is the pytorchcv module that defines
it (``pytorchcv:hardnet68`` -> ``hardnet``), as for timm
(:mod:`greenai.models.timm_models`). Only the image classifiers of its model
provider are meant; a segmentation, pose or detection name builds, but takes no
classification head.
"""

from __future__ import annotations

from functools import partial

from .timm_models import build_even_on_meta

__all__ = ["PREFIX", "PYTORCHCV_HINT", "missing_message", "is_pytorchcv_name", "pytorchcv_name",
           "pytorchcv_available", "is_pytorchcv_model", "pytorchcv_family", "build_pytorchcv_model"]

#: the namespace of pytorchcv's models in :func:`greenai.models.build_model`
PREFIX = "pytorchcv:"
#: what error messages say about the namespace
PYTORCHCV_HINT = ("or pytorchcv:NAME for an image classifier of pytorchcv (needs pytorchcv: "
                  "pip install 'greenai[pytorchcv]')")


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


def build_pytorchcv_model(name: str, in_channels: int = 3, num_classes: int = 1000):
    """``get_model(NAME, pretrained=False, in_channels=in_channels, num_classes=num_classes)`` of pytorchcv.

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
    return build_even_on_meta(partial(_provider(name)[pytorchcv_name(name)], pretrained=False,
                                      in_channels=int(in_channels), num_classes=int(num_classes)))
