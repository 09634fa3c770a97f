"""Static features of a network: what one training step does, counted on PyTorch's ``meta`` device (torch).

:func:`static_features` runs a forward, a cross-entropy loss and a backward
pass of any ``torch.nn.Module`` on ``meta`` under the operator recorder of
:mod:`greenai.operator_times` and sums MACs by kind, bytes by operator group
(:data:`greenai.operators.BYTE_GROUPS`) and launched operators; no GPU needed.
An operator outside :data:`greenai.operators.PRICED_OPERATORS` is unpriced: the
pass names it with the module that ran it (``unpriced_modules``).
"""

from __future__ import annotations

import copy
import math

import torch

from torch.utils.module_tracker import ModuleTracker

from greenai.models.on_meta import checks_answered_on_meta
from greenai.operator_times import fused_kernels_on_meta, operator_pricing, operator_recorder, sequential_launches
from greenai.operators import BYTE_GROUPS, byte_group, operator_class
from greenai.predict.model import BATCH_NORM_WIDE_CHANNELS, IMAGE_SIZE, LARGE_DEPTHWISE_TAPS, feature_key, has_features

__all__ = ["static_features", "compute_model_features", "feature_table"]

def static_features(model, input_shape: tuple[int, int, int], batch_sizes: tuple[int, int] = (2, 4)) -> dict:
    """Count what one training step of ``model`` does, without a GPU.

    The model is moved to (or built on) PyTorch's ``meta`` device and runs a
    forward pass, a cross-entropy loss and a backward pass at two batch sizes
    under a dispatch mode that sees every aten operator; the per-sample part of
    each count is the difference between the two, divided by the batch
    difference, the rest is per step.

    Parameters
    ----------
    model : torch.nn.Module
        Any classifier mapping ``[B, *input_shape]`` to ``[B, classes]``; it is
        not modified (a meta copy is used when it is not on ``meta`` already).
    input_shape : (C, H, W)
        One sample.

    Returns
    -------
    dict
        Per sample: ``macs_conv_dense``, ``macs_conv_depthwise`` (one input
        plane per group), ``macs_conv_depthwise_beyond_7x7`` (the part of them that kernels of more than
        :data:`~greenai.predict.model.LARGE_DEPTHWISE_TAPS` taps do beyond 49 taps per output: a 31x31
        kernel's MACs x (1 - 49 / 961)), ``macs_conv_grouped`` (``groups > 1`` with several
        planes per group), ``macs_conv_dilated`` and ``macs_conv_non_square`` (the part of the three in
        convolutions dilated above 1 on either axis, and in kernels not square, such as the 3x1 / 1x3 pairs of
        factorised convolutions), ``macs_matmul`` (mm, addmm, bmm,
        attention) of the forward pass [MAC]; ``conv_narrow_elements``: the sum
        over forward convolutions of MACs / ``w``, ``w`` the narrow side of the
        convolution's GEMM per group, ``min(C_out / groups, C_in / groups x kh x kw)``
        [MAC per channel], and ``conv_narrow_beyond_7x7``, the part of it of the MACs in
        ``macs_conv_depthwise_beyond_7x7``; ``bytes_conv_grouped_pointwise``: bytes read and written by the
        grouped 1x1 convolutions (``groups > 1``, not depthwise), forward and backward (a part of
        ``bytes_other``; cuDNN runs many of them with a kernel that streams memory tens of times
        slower than the other convolutions) [B]; ``bytes_forward``,
        ``bytes_backward``: bytes of every tensor written by a non-view operator
        (allocations included) [B]; ``bytes_elementwise``, ``bytes_norm``,
        ``bytes_other``: bytes read and written by the operators of each group
        (:data:`BYTE_GROUPS`), forward and backward together, allocations not
        counted [B]. Per step: ``kernels_forward``, ``kernels_backward``: non-view
        operators dispatched [count]; ``recurrent_steps``: the sequential steps of the
        fused recurrent layers, forward and backward (time steps x layers x directions of
        each; cuDNN runs each step as its own small GEMM and gate kernels) [count].
        ``params`` [count] and ``macs_total``
        (the three MAC kinds summed) [MAC]. Also, not in ``macs_total`` (an FFT of
        these sizes streams memory: its bytes, in ``bytes_other``, price it):
        ``macs_fft``, the forward FFTs' ``2.5 N log2 N`` per complex transform of ``N``
        points (half for a real one) [MAC]. Unpriced operators (outside
        :data:`greenai.operators.PRICED_OPERATORS`): ``bytes_unpriced``, the bytes they
        read and write per sample (a part of the byte groups) [B], and
        ``unpriced_modules``, one ``"module.path (Class): op, op"`` string per module
        that ran one (the network's own ``forward``: its class), empty when all are priced.
        ``norm_axes``: the layer, group and RMS norms by the number of values each normalises
        together (a layer norm's normalised shape, a group norm's channels per group x pixels;
        batch norm, whose axis is the batch, is left out), one ``[values, bytes, modules,
        first_module]`` per distinct number, fewest first: the bytes their forward and backward
        operators read and write per sample [B], how many modules ran them and the first one's
        ``"module.path (Class)"``. The byte price of norms is fitted on the norms the fitted
        models contain; :func:`greenai.predict.runtime.predict_run` names those narrower than any.
        ``depthwise_large_kernels``: the depthwise convolutions of more than 49 taps by their taps,
        one ``[taps, macs_beyond, modules, first_module]`` per distinct number, fewest first: the
        forward MACs of their taps beyond 49 per sample [MAC] (their sum is
        ``macs_conv_depthwise_beyond_7x7``), how many modules ran them and the first one's.
        ``batch_norm_channel_values``: the sum over batch norm operators, forward and backward, of the values each
        channel holds (batch x pixels: one channel's mean and variance are reduced over them) x
        ``max(0, 1 - C / BATCH_NORM_WIDE_CHANNELS)`` for ``C`` channels, per sample [value]: the work of a batch norm
        over few channels beyond what its bytes price (:data:`~greenai.predict.model.BATCH_NORM_WIDE_CHANNELS`).
        ``batch_norm_channels``: the batch norms over fewer than that many channels by their channels, one
        ``[channels, values, modules, first_module]`` per distinct number, fewest first: the values each channel
        holds per sample, summed over their forward operators [value], how many modules ran them and the first
        one's.

        Recurrent layers are counted as cuDNN's fused kernel, attention as the GPU's
        fused kernel (:func:`greenai.operator_times.fused_kernels_on_meta`).
    """


    b1, b2 = (int(b) for b in batch_sizes)
    if not 1 <= b1 < b2:
        raise ValueError(f"batch_sizes must be two increasing positive integers, got {batch_sizes}")
    try:
        on_meta = next(model.parameters()).device.type == "meta"
    except StopIteration:
        on_meta = True
    net = model if on_meta else copy.deepcopy(model).to("meta")
    was_training = net.training
    counts = {}
    try:
        net.train()
        for b in (b1, b2):
            counts[b] = _count_step(net, tuple(int(d) for d in input_shape), b)
    finally:
        net.train(was_training)
        net.zero_grad(set_to_none=True)
    per = {k: (counts[b2][k] - counts[b1][k]) / (b2 - b1) for k in counts[b1]
           if k not in ("unpriced", "norms", "large_kernels", "batch_norms")}
    out = {
        "macs_conv_dense": per["fwd_conv_dense"],
        "macs_conv_depthwise": per["fwd_conv_depthwise"],
        "macs_conv_depthwise_beyond_7x7": per["fwd_conv_depthwise_beyond"],
        "macs_conv_grouped": per["fwd_conv_grouped"],
        "macs_conv_dilated": per["fwd_conv_dilated"],
        "macs_conv_non_square": per["fwd_conv_non_square"],
        "conv_narrow_elements": per["fwd_conv_narrow"],
        "conv_narrow_beyond_7x7": per["fwd_conv_narrow_beyond"],
        "bytes_conv_grouped_pointwise": per["fwd_moved_grouped_pointwise"] + per["bwd_moved_grouped_pointwise"],
        "macs_matmul": per["fwd_matmul"],
        "bytes_forward": per["fwd_bytes"],
        "bytes_backward": per["bwd_bytes"],
        **{f"bytes_{g}": per[f"fwd_moved_{g}"] + per[f"bwd_moved_{g}"] for g in BYTE_GROUPS},
        "kernels_forward": float(counts[b1]["fwd_kernels"]),
        "kernels_backward": float(counts[b1]["bwd_kernels"]),
        "recurrent_steps": float(counts[b1]["fwd_recurrent_steps"] + counts[b1]["bwd_recurrent_steps"]),
        "params": float(sum(p.numel() for p in net.parameters())),
    }
    out["macs_total"] = (out["macs_conv_dense"] + out["macs_conv_depthwise"] + out["macs_conv_grouped"]
                         + out["macs_matmul"])
    out["macs_fft"] = per["fwd_fft"]
    out["bytes_unpriced"] = per["fwd_moved_unpriced"] + per["bwd_moved_unpriced"]
    out["unpriced_modules"] = counts[b1]["unpriced"]
    out["norm_axes"] = _per_size(counts[b1]["norms"], counts[b2]["norms"], b2 - b1)
    out["depthwise_large_kernels"] = _per_size(counts[b1]["large_kernels"], counts[b2]["large_kernels"], b2 - b1)
    out["batch_norm_channel_values"] = per["fwd_batch_norm_floor"] + per["bwd_batch_norm_floor"]
    out["batch_norm_channels"] = _per_size(counts[b1]["batch_norms"], counts[b2]["batch_norms"], b2 - b1)
    return out


def _per_size(small: dict, large: dict, batch_step: int) -> list:
    """``[size, amount per sample, modules, first module]`` per size (values a norm normalises together, taps of a
    depthwise kernel; see :func:`static_features`) from the ``{size: (amount, modules)}`` of two batch sizes
    ``batch_step`` apart."""
    out = []
    for values in sorted(small):
        moved, modules = small[values]
        per_sample = (large.get(values, (moved, modules))[0] - moved) / batch_step
        out.append([int(values), float(per_sample), len(modules), sorted(modules)[0]])
    return out


class _ModuleTracker(ModuleTracker):
    """torch's module tracker, also through reversible blocks (RevViT, RevNet), whose custom autograd Function runs
    their modules in its forward without keeping activations and again, to recompute them, in its backward.

    In that forward no graph is recorded (grad mode is off), and in that backward the modules run inside the
    autograd engine, their inputs leaves of a nested gradient computation: torch's tracker sets a backward hook on
    their inputs and outputs, which fails in either case. There a module is only entered and left, with no
    backward hook, and the operators of its backward are attributed to the module around the Function.
    """

    @staticmethod
    def _hooks_fail() -> bool:
        """Whether a backward hook of torch's tracker would fail here (see the class)."""
        inside_backward = torch._C._current_graph_task_id() != -1  # noqa: SLF001 - no public test in torch 2.14
        return inside_backward or not torch.is_grad_enabled()

    def _fw_pre_hook(self, mod, input) -> None:  # noqa: A002 - torch's signature
        if self._hooks_fail():
            self._get_append_fn(self._get_mod_name(mod), False)()
        else:
            super()._fw_pre_hook(mod, input)

    def _fw_post_hook(self, mod, input, output) -> None:  # noqa: A002 - torch's signature
        if self._hooks_fail():
            self._get_pop_fn(self._get_mod_name(mod), False)()
        else:
            super()._fw_post_hook(mod, input, output)


def _count_step(net, input_shape, batch) -> dict:
    """Forward (``fwd_*``) and backward (``bwd_*``) totals of one step: MACs by kind, bytes written, bytes
    moved per :data:`BYTE_GROUPS` group (and by unpriced operators), kernel launches; ``unpriced``: the modules
    that ran unpriced operators (see :func:`static_features`).

    The operators are :func:`greenai.operator_times.operator_recorder`'s (allocations counted as operators
    and written bytes, not as bytes moved); attention and recurrent layers are the fused kernels a GPU runs
    (:func:`greenai.operator_times.fused_kernels_on_meta`) and their forward MACs count as matrix products.
    """
    net.zero_grad(set_to_none=True)
    x = torch.empty((batch, *input_shape), device="meta")
    y = torch.zeros((batch,), dtype=torch.long, device="meta")
    conv, conv_backward = torch.ops.aten.convolution, torch.ops.aten.convolution_backward
    tracker = _ModuleTracker()
    names = {type(net).__name__ + (f".{n}" if n else ""): (n, type(m).__name__) for n, m in net.named_modules()}

    def extras(func, args, kwargs):
        """Run the operator; along ride a convolution's narrow GEMM side per group (0 for any other), whether it
        is a grouped 1x1 convolution (forward or backward), its kernel launches and, when it is unpriced, the
        module running it."""
        out = func(*args, **kwargs)
        width, grouped_pointwise, taps, large, shape = 0, False, 0, False, (False, False)
        if func.overloadpacket in (conv, conv_backward):
            weight, groups = (args[1], args[8]) if func.overloadpacket is conv else (args[2], args[9])
            taps = math.prod(weight.shape[2:])
            grouped_pointwise = groups > 1 and weight.shape[1] > 1 and taps == 1
            large = func.overloadpacket is conv and groups > 1 and weight.shape[1] == 1 and taps > LARGE_DEPTHWISE_TAPS
            if func.overloadpacket is conv:
                width = min(weight.shape[0] // groups, weight.shape[1] * taps)
                shape = (max(args[5]) > 1, len(set(weight.shape[2:])) > 1)  # dilated, non-square kernel
        unpriced, values = operator_pricing(func) is None, _normalised_values(func, args)
        channels = _batch_norm_channels(func, args)
        innermost = (max(tracker.parents, key=lambda n: (n != "Global", n.count("."), n))
                     if unpriced or values or large or channels else None)
        where = innermost if unpriced else None
        return out, (width, taps, shape, grouped_pointwise, sequential_launches(func, args), where, values,
                     channels, innermost)

    mode = operator_recorder(on_op=extras, count_allocations=True)
    with fused_kernels_on_meta(), checks_answered_on_meta(), tracker, mode:
        loss = torch.nn.functional.cross_entropy(net(x), y)
        n_forward = len(mode.ops)
        loss.backward()
    out = {}
    unpriced = {}
    norms = {}  # values normalised together -> [bytes moved, modules]
    large_kernels = {}  # taps of a depthwise kernel beyond 7x7 -> [its MACs beyond 49 taps, modules]
    batch_norms = {}  # channels of a batch norm under BATCH_NORM_WIDE_CHANNELS -> [values per channel, modules]
    for phase, ops in (("fwd", mode.ops[:n_forward]), ("bwd", mode.ops[n_forward:])):
        counts = {"conv_dense": 0, "conv_depthwise": 0, "conv_depthwise_beyond": 0, "conv_grouped": 0,
                  "conv_dilated": 0, "conv_non_square": 0, "conv_narrow": 0, "conv_narrow_beyond": 0, "matmul": 0,
                  "fft": 0, "batch_norm_floor": 0,
                  "bytes": 0, "kernels": 0, "recurrent_steps": 0,
                  **{f"moved_{g}": 0 for g in (*BYTE_GROUPS, "unpriced", "grouped_pointwise")}}
        for (name, kind, macs, read, written, width, taps, (dilated, non_square), grouped_pointwise, launches, where,
             values, channels, module) in ops:
            counts["bytes"] += written
            counts["kernels"] += 1
            if name.startswith("_cudnn_rnn"):
                counts["recurrent_steps"] += launches
            if not name.startswith(_ALLOCATIONS):
                counts[f"moved_{byte_group(operator_class(name, kind))}"] += read + written
            if grouped_pointwise:
                counts["moved_grouped_pointwise"] += read + written
            if name == "convolution":
                counts[kind] += macs
                counts["conv_narrow"] += macs / width
                counts["conv_dilated"] += macs if dilated else 0
                counts["conv_non_square"] += macs if non_square else 0
                if kind == "conv_depthwise" and taps > LARGE_DEPTHWISE_TAPS:
                    beyond = macs * (1 - LARGE_DEPTHWISE_TAPS / taps)  # the MACs of the taps beyond a 7x7 window
                    counts["conv_depthwise_beyond"] += beyond
                    counts["conv_narrow_beyond"] += beyond / width
                    entry = large_kernels.setdefault(taps, [0, set()])
                    entry[0] += beyond
                    entry[1].add(_module_label(names, module))
            elif kind == "matmul" or (kind == "attention" and "backward" not in name):
                counts["matmul"] += macs
            elif kind == "fft":
                counts["fft"] += macs
            if where is not None:
                counts["moved_unpriced"] += read + written
                unpriced.setdefault(where, set()).add(name)
            if channels:
                c, per_channel = channels
                counts["batch_norm_floor"] += per_channel * max(0.0, 1 - c / BATCH_NORM_WIDE_CHANNELS)
                if phase == "fwd" and c < BATCH_NORM_WIDE_CHANNELS:
                    entry = batch_norms.setdefault(c, [0, set()])
                    entry[0] += per_channel
                    entry[1].add(_module_label(names, module))
            if values:
                entry = norms.setdefault(values, [0, set()])
                entry[0] += read + written
                if phase == "fwd":  # the module tracker knows the running module exactly in the forward pass
                    entry[1].add(_module_label(names, module))
        out.update({f"{phase}_{k}": v for k, v in counts.items()})
    out["unpriced"] = [f"{_module_label(names, w)}: {', '.join(sorted(ops))}" for w, ops in sorted(unpriced.items())]
    out["norms"] = {v: (moved, modules) for v, (moved, modules) in norms.items()}
    out["large_kernels"] = {t: (macs, modules) for t, (macs, modules) in large_kernels.items()}
    out["batch_norms"] = {c: (values, modules) for c, (values, modules) in batch_norms.items()}
    return out


def _normalised_values(func, args) -> int:
    """How many values a layer, group or RMS norm operator (forward or backward) normalises together; 0 for
    any other operator (batch norm included: its axis is the batch)."""
    name = func.overloadpacket.__name__
    if name in ("native_layer_norm", "_fused_rms_norm"):
        return math.prod(args[1])
    if name in ("native_layer_norm_backward", "_fused_rms_norm_backward"):
        return math.prod(args[2])
    if name == "native_group_norm":  # input, weight, bias, N, C, HxW, group
        return args[4] // args[6] * args[5]
    if name == "native_group_norm_backward":  # grad_out, input, mean, rstd, weight, N, C, HxW, group
        return args[6] // args[8] * args[7]
    return 0


#: batch norm operators (forward and backward) and the index of their input among the arguments
_BATCH_NORM_INPUT = {"native_batch_norm": 0, "_native_batch_norm_legit": 0, "_native_batch_norm_legit_functional": 0,
                     "_native_batch_norm_legit_no_training": 0, "cudnn_batch_norm": 0, "miopen_batch_norm": 0,
                     "native_batch_norm_backward": 1, "cudnn_batch_norm_backward": 1,
                     "miopen_batch_norm_backward": 1}


def _batch_norm_channels(func, args) -> tuple:
    """``(channels, values each channel holds)`` of a batch norm operator's input ``[N, C, ...]`` (forward or
    backward: batch x pixels per channel); ``()`` for any other operator."""
    at = _BATCH_NORM_INPUT.get(func.overloadpacket.__name__)
    if at is None or len(args) <= at or not isinstance(args[at], torch.Tensor) or args[at].dim() < 2:
        return ()
    x = args[at]
    return int(x.shape[1]), x.numel() / max(1, int(x.shape[1]))


def _module_label(names: dict, tracked: str) -> str:
    """``"path.to.module (Class)"`` of a module the tracker names ``tracked`` (the network itself: its class)."""
    if tracked == "Global":
        return "outside the network"
    fqn, cls = names.get(tracked, (tracked, "?"))
    return f"{fqn} ({cls})" if fqn else cls


_ALLOCATIONS = ("empty", "new_empty")


def compute_model_features(name: str, in_channels: int, num_classes: int, image_size: int = IMAGE_SIZE) -> dict:
    """:func:`static_features` and thop's ``macs`` of a zoo or torchvision model, built on ``meta``."""
    from greenai import models  # heavy: torchvision (the model zoo)
    from greenai.macs import count_macs  # heavy: torchvision (greenai.models)

    with torch.device("meta"):
        net = models.build_model(name, in_channels, num_classes)
    feats = static_features(net, (in_channels, image_size, image_size))
    try:
        feats["macs"] = float(count_macs(net, (in_channels, image_size, image_size)).macs)
    except ImportError:  # thop missing: the MAC kinds summed stand in (conv + linear, as thop counts them)
        feats["macs"] = feats["macs_total"]
    info = models.model_info(name)
    feats.update(model=info["name"], family=info["family"], in_channels=int(in_channels),
                 num_classes=int(num_classes), image_size=int(image_size))
    return feats


def feature_table(keys, known: dict | None = None, log=None) -> dict:
    """Static features of ``(model, in_channels, num_classes, image_size)`` keys (computed where not in ``known``)."""
    out = {}
    for model, c, k, s in keys:
        key = feature_key(model, c, k, s)
        if known and has_features(known.get(key)):
            out[key] = known[key]
            continue
        if log:
            log(f"static features of {model} ({c}x{s}x{s}, {k} classes)")
        feats = compute_model_features(model, int(c), int(k), int(s))
        out[key] = {k2: v for k2, v in feats.items() if k2 not in ("model", "family", "in_channels", "num_classes",
                                                                   "image_size")} | {"family": feats["family"]}
    return out
