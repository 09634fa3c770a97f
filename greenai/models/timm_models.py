"""Any model of timm (pytorch-image-models), by ``timm:NAME``, adapted to a dataset's channels and classes.

``build_model("timm:ghostnet_100", in_channels=1, num_classes=10)`` is
``timm.create_model("ghostnet_100", pretrained=False, in_chans=1,
num_classes=10)``: random weights, nothing downloaded. NAME is any name of
``timm.list_models()``. timm is an optional dependency (``pip install
'greenai[timm]'``); it brings architecture families that neither the zoo nor
torchvision has, the held-out sets :data:`greenai.models.sets.HELDOUT4_MODELS`,
``HELDOUT5_MODELS``, ``HELDOUT6_MODELS`` and ``HELDOUT7_MODELS`` of :mod:`greenai.predict`.

A timm model's family (:func:`timm_family`) is the timm module that defines its
architecture (``timm:ghostnet_100`` -> ``ghostnet``); :func:`has_torchvision_counterpart`
says whether it reimplements a torchvision family. Families and input sizes in
full: ``docs/models.md`` ("timm models").
"""

from __future__ import annotations

from functools import partial

__all__ = ["PREFIX", "TIMM_HINT", "missing_message", "is_timm_name", "timm_name", "timm_available",
           "is_timm_model", "timm_family", "build_timm_model", "build_even_on_meta",
           "has_torchvision_counterpart"]

#: the namespace of timm's models in :func:`greenai.models.build_model`
PREFIX = "timm:"
#: what error messages say about the namespace
TIMM_HINT = "or timm:NAME for any model of timm.list_models() (needs timm: pip install 'greenai[timm]')"


def missing_message(name: str) -> str:
    """The one-line error for a ``timm:`` name when timm is not installed."""
    return (f"model {name!r} is a timm model, but timm is not installed: pip install 'greenai[timm]' "
            f"(timm==1.0.31)")


def is_timm_name(name: str) -> bool:
    """Whether ``name`` is in the ``timm:`` namespace (whether or not timm knows it)."""
    return str(name).startswith(PREFIX)


def timm_name(name: str) -> str:
    """``timm:NAME`` -> ``NAME`` (timm's own model name)."""
    return str(name)[len(PREFIX):] if is_timm_name(name) else str(name)


def _timm(name: str):
    try:
        import timm  # optional: timm
    except ImportError:
        raise ImportError(missing_message(name)) from None
    return timm


def timm_available() -> bool:
    """Whether timm can be imported."""
    try:
        import timm  # noqa: F401
    except ImportError:
        return False
    return True


def is_timm_model(name: str) -> bool:
    """Whether ``timm:NAME`` names one of timm's models.

    Raises
    ------
    ImportError
        If timm is not installed (:func:`missing_message`).
    """
    if not is_timm_name(name) or not timm_name(name):
        return False
    return bool(_timm(name).models.is_model(timm_name(name)))


def timm_family(name: str) -> str:
    """The timm module that defines ``timm:NAME``'s architecture (``timm:dla34`` -> ``dla``)."""
    timm = _timm(name)
    arch = timm.models.get_arch_name(timm_name(name))
    module = timm.models.model_entrypoint(arch).__module__
    return module.rsplit(".", 1)[-1]


def has_torchvision_counterpart(family: str, torchvision_families, zoo_families=()) -> bool:
    """Whether a timm ``family`` is a torchvision or zoo family, ignoring underscores (``mobilenetv3``)."""
    squash = lambda f: str(f).replace("_", "")  # noqa: E731
    return squash(family) in {squash(f) for f in (*torchvision_families, *zoo_families)}


def build_timm_model(name: str, in_channels: int = 3, num_classes: int = 1000):
    """``timm.create_model(NAME, pretrained=False, in_chans=in_channels, num_classes=num_classes)``.

    Builds on ``meta`` too (:func:`build_even_on_meta`).

    Raises
    ------
    ImportError
        If timm is not installed (:func:`missing_message`).
    KeyError
        If timm has no model ``NAME`` (callers turn this into
        :class:`greenai.models.UnknownModelError`).
    """
    if not is_timm_model(name):
        raise KeyError(name)
    timm = _timm(name)
    return build_even_on_meta(partial(timm.create_model, timm_name(name), pretrained=False,
                                      in_chans=int(in_channels), num_classes=int(num_classes)))


def build_even_on_meta(build):
    """``build()``; under ``with torch.device("meta")``, where a builder that reads tensor values back fails
    (e.g. drop-path rates through ``.item()``), it is run on the CPU and its model moved to ``meta``."""
    try:
        return build()
    except (NotImplementedError, RuntimeError):
        import torch  # heavy: torch

        if torch.empty(0).device.type != "meta":
            raise
        with torch.device("cpu"):
            model = build()
        return model.to("meta")
