"""Classes of the operators of a training step (no torch).

An operator is one aten call of a step's forward or backward, described by its
name and kind (:data:`OPERATOR_FIELDS`); :func:`operator_class` sorts it into one
of :data:`OPERATOR_CLASSES` and :func:`byte_group` into one of the byte groups
that the static-feature model of :mod:`greenai.predict` prices apart;
:func:`pricing_rule` says how the model prices it (:data:`PRICED_OPERATORS`), or
that it cannot (an unpriced operator, named in a prediction's notes). Shared by
the operator timer (:mod:`greenai.operator_times`), the predictor's static pass
(:mod:`greenai.predict.features`) and the analysis of recorded operator times
(:mod:`greenai.analysis.operators`).
"""

from __future__ import annotations

__all__ = ["OPERATOR_FIELDS", "OPERATOR_CLASSES", "BYTE_GROUPS", "PRICED_OPERATORS", "operator_class", "byte_group",
           "pricing_rule"]

#: the fields of one operator, in order
OPERATOR_FIELDS = ("name", "kind", "macs", "bytes_read", "bytes_written")
#: classes of operators (:func:`operator_class`), in the order figures stack them
OPERATOR_CLASSES = ("conv dense", "conv dense backward", "conv depthwise", "conv depthwise backward",
                    "conv grouped", "conv grouped backward", "matmul", "attention", "attention backward",
                    "batch norm", "batch norm backward", "layer norm", "layer norm backward", "pooling",
                    "pooling backward", "fft", "elementwise")
#: groups of operators whose bytes are priced apart: elementwise work streams at the memory's full speed,
#: normalisations (a reduction and a second pass) and convolutions, matrix products and pooling do not
BYTE_GROUPS = ("elementwise", "norm", "other")


def operator_class(name: str, kind: str) -> str:
    """The class of one operator (one of :data:`OPERATOR_CLASSES`) from its aten name and kind.

    Backward operators are their own classes; batch norm is one class whether
    cuDNN (GPU) or PyTorch's native kernel (meta, CPU) runs it; group norm
    (a layer norm over groups of channels) is in the layer-norm class; a fused
    recurrent layer (kind ``matmul``: its work is GEMMs) is a matrix product.
    """
    backward = "backward" in name
    suffix = " backward" if backward else ""
    if name in ("convolution", "convolution_backward"):
        return f"conv {kind.removeprefix('conv_')}{suffix}"
    if kind == "matmul":
        return "matmul"
    if kind == "attention":
        return "attention" + suffix
    if kind == "fft":
        return "fft"
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


def _rule(rule: str, *names: str) -> dict[str, str]:
    return dict.fromkeys(names, rule)


#: the aten operators the static-feature model knows how to price: name -> rule. By their work (MACs, the
#: operator recorder's rules): ``conv``, ``matmul``, ``attention``, ``rnn`` (cuDNN's fused recurrent layer: GEMMs),
#: ``fft`` (its MACs apart, its bytes in ``other``: a transform of these sizes streams memory); by the bytes they
#: read and write (their byte group): ``pointwise`` (also any operator torch tags pointwise), ``reduction``,
#: ``norm``, ``pooling`` (and resampling), ``softmax`` (and the loss), ``data movement`` (copies, concatenation,
#: indexing, padding, shifts), ``allocation`` (and fills, random fills)
PRICED_OPERATORS: dict[str, str] = {
    **_rule("conv", "convolution", "convolution_backward"),
    **_rule("matmul", "mm", "addmm", "bmm", "baddbmm"),
    **_rule("attention", "_scaled_dot_product_efficient_attention", "_scaled_dot_product_efficient_attention_backward",
            "_scaled_dot_product_flash_attention", "_scaled_dot_product_flash_attention_backward",
            "_scaled_dot_product_cudnn_attention", "_scaled_dot_product_cudnn_attention_backward"),
    **_rule("rnn", "_cudnn_rnn", "_cudnn_rnn_backward"),
    **_rule("fft", "_fft_r2c", "_fft_c2r", "_fft_c2c"),
    **_rule("pointwise", "add", "add_", "sub", "sub_", "rsub", "mul", "mul_", "div", "div_", "neg", "pow", "sqrt",
            "rsqrt", "exp", "log", "abs", "sign", "clamp", "clamp_", "clamp_min", "clamp_max", "where", "masked_fill",
            "masked_fill_", "relu", "relu_", "threshold_backward", "gelu", "gelu_backward", "silu", "silu_",
            "silu_backward", "sigmoid", "sigmoid_", "sigmoid_backward", "tanh", "tanh_", "tanh_backward", "hardswish",
            "hardswish_", "hardswish_backward", "hardsigmoid", "hardsigmoid_", "hardsigmoid_backward", "hardtanh",
            "hardtanh_", "hardtanh_backward", "leaky_relu", "leaky_relu_", "leaky_relu_backward", "elu", "elu_",
            "elu_backward", "mish", "mish_", "mish_backward", "softplus", "softplus_backward", "eq", "ne", "gt", "ge",
            "lt", "le", "bitwise_not", "logical_not", "sin", "cos", "native_dropout", "native_dropout_backward",
            "bernoulli_", "lerp", "addcmul", "addcdiv", "reciprocal", "erf", "floor", "ceil", "round", "_prelu_kernel",
            "_prelu_kernel_backward"),
    **_rule("reduction", "sum", "mean", "amax", "amin", "max", "min", "var", "var_mean", "std", "prod", "cumsum",
            "linalg_vector_norm", "norm", "argmax", "argmin", "logsumexp", "all", "any"),
    **_rule("norm", "native_batch_norm", "native_batch_norm_backward", "cudnn_batch_norm", "cudnn_batch_norm_backward",
            "_native_batch_norm_legit", "_native_batch_norm_legit_functional", "_native_batch_norm_legit_no_training",
            "native_layer_norm", "native_layer_norm_backward", "native_group_norm", "native_group_norm_backward",
            "_fused_rms_norm", "_fused_rms_norm_backward"),
    **_rule("pooling", "max_pool2d_with_indices", "max_pool2d_with_indices_backward", "avg_pool2d",
            "avg_pool2d_backward", "_adaptive_avg_pool2d", "_adaptive_avg_pool2d_backward", "adaptive_max_pool2d",
            "adaptive_max_pool2d_backward", "max_pool3d_with_indices", "max_pool3d_with_indices_backward",
            "avg_pool3d", "avg_pool3d_backward", "upsample_nearest2d", "upsample_nearest2d_backward",
            "upsample_bilinear2d", "upsample_bilinear2d_backward", "upsample_bicubic2d", "upsample_bicubic2d_backward",
            "grid_sampler_2d", "grid_sampler_2d_backward"),
    **_rule("softmax", "_softmax", "_softmax_backward_data", "_safe_softmax", "_log_softmax",
            "_log_softmax_backward_data", "nll_loss_forward", "nll_loss_backward", "nll_loss2d_forward",
            "nll_loss2d_backward"),
    **_rule("data movement", "cat", "stack", "copy_", "_to_copy", "clone", "_unsafe_view", "index", "index_put",
            "index_put_", "_index_put_impl_", "index_select", "index_add", "gather", "scatter", "scatter_add",
            "scatter_add_", "constant_pad_nd", "reflection_pad2d", "reflection_pad2d_backward", "replication_pad2d",
            "replication_pad2d_backward", "roll", "repeat", "flip", "select_backward", "slice_backward",
            "as_strided_", "as_strided_scatter", "diagonal_backward", "embedding", "embedding_dense_backward",
            "im2col", "col2im", "tril", "triu", "native_channel_shuffle", "pixel_shuffle", "pixel_unshuffle"),
    **_rule("allocation", "empty", "empty_like", "empty_strided", "new_empty", "new_empty_strided", "zeros",
            "zeros_like", "new_zeros", "ones", "ones_like", "new_ones", "full", "full_like", "new_full", "arange",
            "linspace", "scalar_tensor", "eye", "fill_", "zero_", "lift_fresh_copy", "rand", "randn", "rand_like",
            "randn_like", "normal_", "uniform_"),
}


def pricing_rule(name: str, pointwise: bool = False) -> str | None:
    """How the static-feature model prices aten operator ``name`` (a rule of :data:`PRICED_OPERATORS`), or
    ``None``: unpriced. ``pointwise``: torch tags the operator pointwise (its bytes price it, whatever its name)."""
    rule = PRICED_OPERATORS.get(name)
    return rule if rule is not None or not pointwise else "pointwise"
