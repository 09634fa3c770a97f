"""Classes of the operators of a training step (no torch).

An operator is one aten call of a step's forward or backward, described by its
name and kind (:data:`OPERATOR_FIELDS`); :func:`operator_class` sorts it into one
of :data:`OPERATOR_CLASSES` and :func:`byte_group` into one of the byte groups
that the static-feature model of :mod:`greenai.predict` prices apart. Shared by
the operator timer (:mod:`greenai.operator_times`), the predictor's static pass
(:mod:`greenai.predict.features`) and the analysis of recorded operator times
(:mod:`greenai.analysis.operators`).
"""

from __future__ import annotations

__all__ = ["OPERATOR_FIELDS", "OPERATOR_CLASSES", "BYTE_GROUPS", "operator_class", "byte_group"]

#: the fields of one operator, in order
OPERATOR_FIELDS = ("name", "kind", "macs", "bytes_read", "bytes_written")
#: classes of operators (:func:`operator_class`), in the order figures stack them
OPERATOR_CLASSES = ("conv dense", "conv dense backward", "conv depthwise", "conv depthwise backward",
                    "conv grouped", "conv grouped backward", "matmul", "attention", "attention backward",
                    "batch norm", "batch norm backward", "layer norm", "layer norm backward", "pooling",
                    "pooling backward", "elementwise")
#: groups of operators whose bytes are priced apart: elementwise work streams at the memory's full speed,
#: normalisations (a reduction and a second pass) and convolutions, matrix products and pooling do not
BYTE_GROUPS = ("elementwise", "norm", "other")


def operator_class(name: str, kind: str) -> str:
    """The class of one operator (one of :data:`OPERATOR_CLASSES`) from its aten name and kind.

    Backward operators are their own classes; batch norm is one class whether
    cuDNN (GPU) or PyTorch's native kernel (meta, CPU) runs it; group norm
    (a layer norm over groups of channels) is in the layer-norm class.
    """
    backward = "backward" in name
    suffix = " backward" if backward else ""
    if name in ("convolution", "convolution_backward"):
        return f"conv {kind.removeprefix('conv_')}{suffix}"
    if kind == "matmul":
        return "matmul"
    if kind == "attention":
        return "attention" + suffix
    for key, label in (("batch_norm", "batch norm"), ("layer_norm", "layer norm"), ("group_norm", "layer norm"),
                       ("pool", "pooling")):
        if key in name:
            return label + suffix
    return "elementwise"


def byte_group(op_class: str) -> str:
    """The :data:`BYTE_GROUPS` group of an operator class of :data:`OPERATOR_CLASSES`."""
    if op_class == "elementwise":
        return "elementwise"
    if op_class.startswith(("batch norm", "layer norm")):
        return "norm"
    return "other"
