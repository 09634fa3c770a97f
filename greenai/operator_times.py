"""Every operator of a training step's forward and backward: what it does (statically) and how long it runs (on a GPU).

Two networks with the same totals of work (MACs by kind, bytes, launches: what
the static-feature model of :mod:`greenai.predict` prices) can still differ in
speed, because one runs its work in efficient kernels and the other in slow ones.
This module describes a step operator by operator, the same way on PyTorch's
``meta`` device (no GPU: :func:`step_operators`) and on a GPU, where each
operator's kernels are timed by CUDA events recorded on the stream around it
(:func:`time_step_operators`; ``python -m greenai.operator_times`` writes the rows).

Each operator is a tuple of :data:`greenai.operators.OPERATOR_FIELDS`: its aten
name, kind (``conv_dense``, ``conv_depthwise``, ``conv_grouped``, ``matmul``,
``attention``, ``fft`` or ``other``), multiply-accumulates (a convolution's backward:
grad input plus grad weight) and the bytes of every tensor it reads and writes. Views
launch no kernel and are left out. On ``meta``, attention and recurrent layers run
as the fused kernels a GPU runs (:func:`fused_kernels_on_meta`).

>>> ops = step_operators("resnet18", in_channels=1, num_classes=10, batch_size=256)   # no GPU
>>> python -m greenai.operator_times --models resnet18 synthetic_00 --out results/raw/op_times_h200.csv.gz
"""

from __future__ import annotations

import argparse
import contextlib
import math
import statistics
import sys
import time
from pathlib import Path

from greenai import metadata
from greenai.operators import OPERATOR_FIELDS, pricing_rule

__all__ = ["operator_recorder", "fused_attention_on_meta", "fused_rnn_on_meta", "fused_kernels_on_meta",
           "operator_pricing", "sequential_launches", "step_operators", "convolution_shapes", "time_step_operators",
           "main"]


def operator_recorder(on_op=None, count_allocations: bool = False):
    """A ``TorchDispatchMode`` whose ``ops`` list describes every operator run under it (needs torch).

    Views never count; allocations (``empty`` ...) launch no kernel and count only
    with ``count_allocations`` (the convention of :func:`greenai.predict.features.static_features`).
    ``on_op(func, args, kwargs)`` -> ``(out, extra)`` runs the operator (default: plainly), so a
    GPU timer can wrap it; ``extra`` is appended to the operator's tuple.

    MACs: a convolution's output elements x its weight's per-output work, a transposed
    convolution's input elements x its weight's per-input work (backward: once for grad
    input, once for grad weight); a matrix product's output elements x its inner
    dimension; attention ``2 x B x H x L x S x E`` (QK^T and AV; backward twice that);
    cuDNN's fused recurrent layer (kind ``matmul``) its time steps x batch (the tokens) x
    the elements of its weight matrices, i.e. per layer and direction ``T x B x gates x H x
    (I + H)`` (backward: once through time for the data, once more for the weights); an
    FFT (kind ``fft``) ``2.5 N log2 N`` per complex transform of ``N`` points (``5 N log2 N``
    flops), half that for a real one.
    """
    import torch  # heavy: torch
    from torch.utils._python_dispatch import TorchDispatchMode  # heavy: torch
    from torch.utils._pytree import tree_flatten  # heavy: torch

    aten = torch.ops.aten
    matmuls = {aten.mm, aten.addmm, aten.bmm, aten.baddbmm}
    ffts = {aten._fft_r2c: 0.5, aten._fft_c2r: 0.5, aten._fft_c2c: 1.0}  # a real transform: half the work
    free = {aten.detach, aten.lift_fresh, aten.alias}  # views: no kernel, no bytes
    if not count_allocations:
        free |= {aten.empty, aten.empty_like, aten.empty_strided, aten.new_empty, aten.new_empty_strided}

    def nbytes(tensors):
        return sum(t.numel() * t.element_size() for t in tensors if isinstance(t, torch.Tensor))

    def conv_kind(weight, groups):
        return "conv_dense" if groups == 1 else "conv_depthwise" if weight.shape[1] == 1 else "conv_grouped"

    class Recorder(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.ops = []

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            packet = func.overloadpacket
            returns = func._schema.returns
            if packet in free or (returns and returns[0].alias_info is not None
                                  and not returns[0].alias_info.is_write):
                return func(*args, **kwargs)
            if on_op is None:
                out, extra = func(*args, **kwargs), ()
            else:
                out, extra = on_op(func, args, kwargs)
            outs = [t for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor)]
            read = nbytes(tree_flatten((args, kwargs))[0])
            name = packet.__name__ if hasattr(packet, "__name__") else str(packet).split(".")[-1]
            kind, macs = "other", 0
            if packet is aten.convolution:
                weight, transposed, groups = args[1], args[6], args[8]
                kind = conv_kind(weight, groups)
                # each output element of a convolution, each input element of a transposed one (whose weight is
                # [C_in, C_out / groups, ...]), meets weight.shape[1] x taps weights
                macs = (args[0] if transposed else outs[0]).numel() * weight.shape[1] * math.prod(weight.shape[2:])
            elif packet is aten.convolution_backward:
                grad_out, inp, weight, transposed, groups, mask = args[0], args[1], args[2], args[7], args[9], args[10]
                kind = conv_kind(weight, groups)
                macs = ((int(mask[0]) + int(mask[1])) * (inp if transposed else grad_out).numel() * weight.shape[1]
                        * math.prod(weight.shape[2:]))
            elif packet in matmuls:
                a = args[1] if packet in (aten.addmm, aten.baddbmm) else args[0]
                kind, macs = "matmul", outs[0].numel() * a.shape[-1]
            elif packet in (aten._cudnn_rnn, aten._cudnn_rnn_backward):
                inp, weights = args[0], args[1]
                tokens = inp.numel() // inp.shape[-1]  # time steps x batch (packed: the batch sizes summed)
                kind, macs = "matmul", tokens * sum(w.numel() for w in weights if w.dim() == 2)
                if packet is aten._cudnn_rnn_backward:
                    macs *= 1 + int(args[21][3])  # data through time, plus the weights' gradient
            elif packet in ffts:
                signal = outs[0] if packet is aten._fft_c2r else args[0]  # the real side of a real transform
                points = math.prod(signal.shape[d] for d in args[1])
                kind = "fft"
                macs = ffts[packet] * 2.5 * signal.numel() * math.log2(max(points, 1))
            elif "scaled_dot_product" in name:
                q, k = args[0], args[1]  # [B, H, L, E], [B, H, S, E]: QK^T and AV (backward: twice that)
                kind = "attention"
                macs = 2 * math.prod(q.shape[:-1]) * k.shape[-2] * q.shape[-1] * (2 if "backward" in name else 1)
            self.ops.append((name, kind, int(macs), int(read), int(nbytes(outs)), *extra))
            return out

    return Recorder()


def _step(net, optimizer, x, y, mode):
    import torch  # heavy: torch

    with mode:
        loss = torch.nn.functional.cross_entropy(net(x), y)
        loss.backward()
    optimizer.step()  # not described: its kernels differ between devices (foreach on CUDA)
    optimizer.zero_grad(set_to_none=True)


def _build(model: str, in_channels: int, num_classes: int, device):
    import torch  # heavy: torch

    from greenai import models  # heavy: torch
    from greenai.train import make_optimizer  # heavy: numpy

    with torch.device(device):
        net = models.build_model(model, in_channels, num_classes)
    net.train()
    return net, make_optimizer(net)


@contextlib.contextmanager
def fused_attention_on_meta():
    """``F.scaled_dot_product_attention`` on ``meta`` as the fused kernel a GPU runs, not the math path.

    PyTorch picks the fused (memory-efficient) attention kernel on an NVIDIA
    GPU and decomposes attention into matrix products and a softmax on the
    ``meta`` device; describing the GPU's operator keeps both lists alike. An
    ``attn_mask`` (shifted windows, a relative-position bias) is taken as the
    kernel's additive bias, prepared as PyTorch prepares it on a GPU: a boolean
    mask becomes ``0 / -inf``, a bias whose rows are not 8-aligned is padded.
    """
    import torch  # heavy: torch
    import torch.nn.functional as F  # heavy: torch

    original = F.scaled_dot_product_attention

    def fused(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, enable_gqa=False):
        if query.device.type != "meta" or enable_gqa or (is_causal and attn_mask is not None):
            return original(query, key, value, attn_mask=attn_mask, dropout_p=dropout_p, is_causal=is_causal,
                            scale=scale, enable_gqa=enable_gqa)
        bias = attn_mask
        if bias is not None:
            if bias.dtype == torch.bool:
                bias = torch.where(bias.logical_not(), -math.inf,
                                   torch.scalar_tensor(0.0, dtype=query.dtype, device=bias.device))
            if bias.stride(-1) != 1 or any(st % 8 for st in bias.stride()[:-1]):
                n = bias.shape[-1]
                bias = F.pad(bias, (0, 8 - n % 8))[..., :n]
            bias = bias.expand(query.shape[0], query.shape[1], query.shape[2], key.shape[2])
        return torch.ops.aten._scaled_dot_product_efficient_attention(
            query, key, value, bias, query.requires_grad, dropout_p, is_causal, scale=scale)[0]

    F.scaled_dot_product_attention = fused
    try:
        yield
    finally:
        F.scaled_dot_product_attention = original


#: cuDNN's mode and gates per hidden unit of each recurrent layer ``torch._VF`` runs
_RNN_MODES = {"rnn_relu": (0, 1), "rnn_tanh": (1, 1), "lstm": (2, 4), "gru": (3, 3)}
_RNN_BACKWARD_META = []  # the library holding the meta kernel of aten::_cudnn_rnn_backward, once registered


def _register_rnn_backward_meta():
    """Give ``aten._cudnn_rnn_backward`` a ``meta`` kernel (PyTorch has one for the forward only): shapes only."""
    import torch  # heavy: torch

    if _RNN_BACKWARD_META:
        return

    def backward(input, weight, weight_stride0, weight_buf, hx, cx, *rest):
        grad_cx = torch.empty_like(cx) if cx is not None else input.new_empty(0)
        return input.new_empty(input.shape), torch.empty_like(hx), grad_cx, [torch.empty_like(w) for w in weight]

    lib = torch.library.Library("aten", "IMPL")
    lib.impl("_cudnn_rnn_backward", backward, "Meta")
    _RNN_BACKWARD_META.append(lib)


@contextlib.contextmanager
def fused_rnn_on_meta():
    """``nn.LSTM``, ``nn.GRU`` and ``nn.RNN`` on ``meta`` as cuDNN's fused recurrent layer a GPU runs.

    On ``meta`` PyTorch decomposes a recurrent layer into matrix products and
    gates per time step (a 16-step bidirectional LSTM: about a thousand
    operators); a GPU runs one ``_cudnn_rnn`` forward and one
    ``_cudnn_rnn_backward``. Unpacked sequences only (a packed one keeps the
    decomposition); the flat weight buffer cuDNN reads is made outside the recorder
    (on a GPU the module holds it already).
    """
    import torch  # heavy: torch
    from torch.utils._python_dispatch import _disable_current_modes  # heavy: torch

    _register_rnn_backward_meta()
    vf = torch._VF
    originals = {name: getattr(vf, name) for name in _RNN_MODES}

    def fused(name):
        original = originals[name]
        mode, gates = _RNN_MODES[name]

        def run(*args):
            inp, hx = args[0], args[1]
            if inp.device.type != "meta" or (isinstance(hx, torch.Tensor) and hx.dtype == torch.long):
                return original(*args)  # not meta, or a packed sequence (batch sizes second)
            params, _, num_layers, dropout, train, bidirectional, batch_first = args[2:]
            hx, cx = (hx[0], hx[1]) if name == "lstm" else (hx, None)
            per = len(params) // (num_layers * (2 if bidirectional else 1))
            proj = params[per - 1].shape[0] if per % 2 else 0  # an LSTM's projection: a fifth (third) weight
            with _disable_current_modes():
                buf = torch.empty(sum(p.numel() for p in params), device="meta")
            out = torch.ops.aten._cudnn_rnn(inp, params, per, buf, hx, cx, mode, params[0].shape[0] // gates, proj,
                                            num_layers, batch_first, dropout, train, bidirectional, [], None)
            return out[:3] if name == "lstm" else out[:2]

        return run

    for name in _RNN_MODES:
        setattr(vf, name, fused(name))
    try:
        yield
    finally:
        for name, original in originals.items():
            setattr(vf, name, original)


@contextlib.contextmanager
def fused_kernels_on_meta():
    """:func:`fused_attention_on_meta` and :func:`fused_rnn_on_meta` together: ``meta`` runs the GPU's operators."""
    with fused_attention_on_meta(), fused_rnn_on_meta():
        yield


def operator_pricing(func) -> str | None:
    """How the static-feature model prices aten operator ``func`` (:func:`greenai.operators.pricing_rule`, with
    torch's ``pointwise`` tag), or ``None``: unpriced."""
    import torch  # heavy: torch

    packet = func.overloadpacket
    name = packet.__name__ if hasattr(packet, "__name__") else str(packet).split(".")[-1]
    return pricing_rule(name, torch.Tag.pointwise in func.tags)


def sequential_launches(func, args) -> int:
    """Kernel launches of one operator: 1, but cuDNN's fused recurrent layer launches at least one kernel per time
    step, layer and direction (the recurrence is sequential; its standard algorithm a GEMM and a gate kernel each)."""
    import torch  # heavy: torch

    aten = torch.ops.aten
    packet = func.overloadpacket
    if packet is aten._cudnn_rnn:
        layers, batch_first, bidirectional, batch_sizes = args[9], args[10], args[13], args[14]
    elif packet is aten._cudnn_rnn_backward:
        layers, batch_first, bidirectional, batch_sizes = args[13], args[14], args[17], args[18]
    else:
        return 1
    steps = len(batch_sizes) if len(batch_sizes) else args[0].shape[1 if batch_first else 0]
    return int(layers * (2 if bidirectional else 1) * steps)


def step_operators(model: str, in_channels: int = 1, num_classes: int = 10, batch_size: int = 256,
                   image_size: int = 224, on_op=None) -> list[tuple]:
    """The operators of one training step's forward, cross-entropy and backward at ``batch_size``.

    Runs on PyTorch's ``meta`` device: no GPU, no memory for activations. The
    optimizer's step is left out (its kernels differ between devices; the
    energy model prices it per parameter). ``on_op``: as for :func:`operator_recorder`.
    """
    import torch  # heavy: torch

    from greenai.models.on_meta import checks_answered_on_meta  # heavy: torch (greenai.models)

    net, opt = _build(model, in_channels, num_classes, "meta")
    x = torch.empty((batch_size, in_channels, image_size, image_size), device="meta")
    y = torch.zeros((batch_size,), dtype=torch.long, device="meta")
    mode = operator_recorder(on_op=on_op)
    with fused_kernels_on_meta(), checks_answered_on_meta():
        _step(net, opt, x, y, mode)
    return mode.ops


def convolution_shapes(model: str, in_channels: int = 1, num_classes: int = 10, batch_size: int = 256,
                       image_size: int = 224) -> list[dict]:
    """The shape of each convolution operator of one training step, in the order :func:`step_operators` and
    :func:`time_step_operators` record them (on ``meta``: no GPU).

    One dict per ``convolution`` and ``convolution_backward``: ``name``, ``kind`` (``conv_dense``,
    ``conv_depthwise`` or ``conv_grouped``), ``macs``, ``batch``, ``in_channels``, ``height``, ``width`` (of its
    input), ``out_channels``, ``in_channels_per_group``, ``kernel_h``, ``kernel_w``, ``stride`` and ``groups``.
    """
    import torch  # heavy: torch

    aten = torch.ops.aten

    def shapes(func, args, kwargs):
        out = func(*args, **kwargs)
        info = None
        if func.overloadpacket in (aten.convolution, aten.convolution_backward):
            x, w, stride, groups = ((args[0], args[1], args[3], args[8]) if func.overloadpacket is aten.convolution
                                    else (args[1], args[2], args[4], args[9]))
            plane, kernel = (*x.shape[2:], 1, 1), (*w.shape[2:], 1, 1)  # a 1-D convolution: width and kernel 1
            info = {"batch": x.shape[0], "in_channels": x.shape[1], "height": plane[0], "width": plane[1],
                    "out_channels": w.shape[0], "in_channels_per_group": w.shape[1], "kernel_h": kernel[0],
                    "kernel_w": kernel[1], "stride": int(stride[0]), "groups": int(groups)}
        return out, (info,)

    ops = step_operators(model, in_channels, num_classes, batch_size, image_size, on_op=shapes)
    return [{"name": name, "kind": kind, "macs": macs, **info}
            for name, kind, macs, _read, _written, info in ops if info is not None]


def time_step_operators(model: str, in_channels: int = 1, num_classes: int = 10, batch_size: int = 256,
                        image_size: int = 224, device: str = "cuda", warmup: int = 3, repeats: int = 3):
    """Each operator of a training step with its GPU time [s] (median over ``repeats`` steps).

    Random inputs of the dataset's shape; PyTorch's default precision and cuDNN
    settings (as the campaign's ``default``). Each operator's kernels are
    bracketed by CUDA events recorded on the current stream, so its time is the
    GPU's time between its first kernel's start and its last kernel's end (no
    host time); on a CPU (tests) the host clock times each operator. Returns ``(operators, step_time_s)``: tuples of
    :data:`greenai.operators.OPERATOR_FIELDS` plus ``gpu_time_s``, and the median wall time of an
    untimed step [s].
    """

    import torch  # heavy: torch

    net, opt = _build(model, in_channels, num_classes, device)
    x = torch.randn((batch_size, in_channels, image_size, image_size), device=device)
    y = torch.randint(0, num_classes, (batch_size,), device=device)

    on_gpu = torch.device(device).type == "cuda"
    sync = torch.cuda.synchronize if on_gpu else (lambda: None)

    def timed(func, args, kwargs):
        if not on_gpu:  # CPU operators run synchronously: the host clock times them
            t0 = time.perf_counter()
            out = func(*args, **kwargs)
            return out, (time.perf_counter() - t0,)
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        out = func(*args, **kwargs)
        end.record()
        return out, ((start, end),)

    def seconds(t):
        return t if isinstance(t, float) else t[0].elapsed_time(t[1]) / 1e3

    class _Plain:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    walls = []
    for _ in range(warmup + repeats):
        sync()
        t0 = time.perf_counter()
        _step(net, opt, x, y, _Plain())
        sync()
        walls.append(time.perf_counter() - t0)
    runs = []
    for _ in range(repeats):
        mode = operator_recorder(timed)
        _step(net, opt, x, y, mode)
        sync()
        runs.append(mode.ops)
    n = {len(r) for r in runs}
    if len(n) != 1:
        raise RuntimeError(f"{model}: the timed steps launched different operators ({sorted(n)})")
    ops = []
    for i, first in enumerate(runs[0]):
        t = statistics.median(seconds(r[i][5]) for r in runs)
        ops.append((*first[:5], t))
    return ops, statistics.median(walls[warmup:])


def main(argv: list[str] | None = None) -> int:
    """``python -m greenai.operator_times --models NAME ... --out FILE.csv.gz``: per-operator GPU times, resumable."""
    import pandas as pd  # heavy: pandas

    from greenai import models  # heavy: torch

    p = argparse.ArgumentParser(prog="python -m greenai.operator_times", description=main.__doc__)
    p.add_argument("--models", nargs="+", required=True, help="model names (zoo, torchvision, synthetic_NN)")
    p.add_argument("--out", type=Path, required=True, help="CSV (gzip if it ends in .gz); models in it are skipped")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--in-channels", type=int, default=1)
    p.add_argument("--num-classes", type=int, default=10)
    args = p.parse_args(argv)
    import torch  # heavy: torch

    if not torch.cuda.is_available():
        print("greenai.operator_times: no CUDA GPU; operator times are measured on a GPU", file=sys.stderr)
        return 2
    for m in args.models:
        try:
            models.model_info(m)
        except models.UnknownModelError as exc:
            print(f"greenai.operator_times: {exc}", file=sys.stderr)
            return 2
    done = set(pd.read_csv(args.out)["model"]) if args.out.exists() else set()
    gpu = torch.cuda.get_device_name()
    t_start = time.perf_counter()
    for i, m in enumerate(args.models):
        if m in done:
            continue
        ops, wall = time_step_operators(m, args.in_channels, args.num_classes, args.batch_size)
        frame = pd.DataFrame(ops, columns=[*OPERATOR_FIELDS, "gpu_time_s"])
        frame.insert(0, "op_index", range(len(frame)))
        frame.insert(0, "model", m)
        frame.insert(0, "gpu_name", gpu)
        frame["step_wall_s"] = wall
        frame["batch_size"], frame["in_channels"], frame["num_classes"] = (args.batch_size, args.in_channels,
                                                                           args.num_classes)
        old = pd.read_csv(args.out) if args.out.exists() else None
        pd.concat([old, frame], ignore_index=True).to_csv(args.out, index=False)
        print(f"[{i + 1}/{len(args.models)}] {m}: {len(ops)} operators, {frame['gpu_time_s'].sum() * 1e3:.1f} ms "
              f"GPU, {wall * 1e3:.1f} ms wall per step", flush=True)
        torch.cuda.empty_cache()
    metadata.write_meta(args.out, description="per-operator GPU time of one training step (CUDA events)",
                        batch_size=args.batch_size, in_channels=args.in_channels, num_classes=args.num_classes,
                        models=list(args.models), seconds=round(time.perf_counter() - t_start, 1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
