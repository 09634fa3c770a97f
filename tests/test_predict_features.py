"""Every layer kind priced by the static pass (greenai.predict.features, greenai.operator_times, greenai.operators):
hand-built modules with hand-counted MACs, and no unpriced operator; an unpriced one is named and widens the interval."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import torch
from torch import nn

from greenai import models, operators
from greenai.operator_times import fused_kernels_on_meta, operator_recorder
from greenai.paths import RAW_DIR
from greenai.predict import model as pmodel
from greenai.predict import runtime
from greenai.predict.features import static_features

F = nn.functional


def _tokens(x):
    """[B, C, H, W] -> [B, H x W, C]: the image's pixels as a sequence of C-wide tokens."""
    return x.flatten(2).transpose(1, 2)


def _forward_ops(net, input_shape, batch=2):
    net = net.to("meta")
    mode = operator_recorder()
    with fused_kernels_on_meta(), mode:
        F.cross_entropy(net(torch.empty(batch, *input_shape, device="meta")),
                        torch.zeros(batch, dtype=torch.long, device="meta")).backward()
    return [o[0] for o in mode.ops]


class _Recurrent(nn.Module):
    def __init__(self, cell, layers, hidden):
        super().__init__()
        self.rnn = cell(8, hidden, num_layers=layers, bidirectional=True, batch_first=True)
        self.head = nn.Linear(2 * hidden, 10)

    def forward(self, x):
        return self.head(self.rnn(_tokens(x))[0][:, -1])


@pytest.mark.parametrize("cell, gates", [(nn.LSTM, 4), (nn.GRU, 3)])
def test_a_bidirectional_recurrent_layer_is_cudnns_fused_kernel_with_its_gemm_macs(cell, gates):
    net = _Recurrent(cell, layers=2, hidden=12)
    f = static_features(net, (8, 4, 4))
    steps, hidden = 16, 12  # 4 x 4 pixels as time steps; 8 inputs
    # per layer and direction: steps x gates x H x (I + H); the second layer reads both directions (2 H)
    rnn = steps * 2 * gates * hidden * ((8 + hidden) + (2 * hidden + hidden))
    assert f["macs_matmul"] == rnn + 2 * hidden * 10
    assert f["unpriced_modules"] == [] and f["bytes_unpriced"] == 0
    ops = _forward_ops(_Recurrent(cell, 2, 12), (8, 4, 4))
    assert ops.count("_cudnn_rnn") == 1 and ops.count("_cudnn_rnn_backward") == 1
    # not decomposed per time step: the head's addmm and its backward's two mm are the only matrix products
    assert ops.count("addmm") + ops.count("mm") == 3 and "sigmoid" not in ops and "tanh" not in ops
    # forward operators: zeros for h0 (and c0), the fused layer, addmm, log_softmax, nll_loss
    assert f["kernels_forward"] == (2 if cell is nn.LSTM else 1) + 1 + 3
    # its sequential steps apart: time steps x layers x directions, forward and backward
    assert f["recurrent_steps"] == 2 * steps * 2 * 2


class _Fourier(nn.Module):
    """A global filter (GFNet): rfft2 over the plane, a learned complex filter, irfft2."""

    def __init__(self):
        super().__init__()
        self.filter = nn.Parameter(torch.ones(4, 8, 5, dtype=torch.complex64))
        self.head = nn.Linear(4 * 64, 10, bias=False)

    def forward(self, x):
        y = torch.fft.irfft2(torch.fft.rfft2(x, norm="ortho") * self.filter, s=(8, 8), norm="ortho")
        return self.head(y.flatten(1))


def test_an_fft_mixer_counts_2_5_n_log2_n_apart_and_its_bytes_as_other():
    f = static_features(_Fourier(), (4, 8, 8))
    # forward, per sample: a real transform of 64 points per plane, there and back: 2 x 4 x 64 x 0.5 x 2.5 x log2 64
    assert f["macs_fft"] == 2 * 4 * 64 * 0.5 * 2.5 * 6
    assert f["macs_matmul"] == 4 * 64 * 10 and f["macs_total"] == f["macs_matmul"]
    assert f["unpriced_modules"] == []
    assert operators.byte_group(operators.operator_class("_fft_r2c", "fft")) == "other"


class _Attention(nn.Module):
    """Multi-head self-attention over the pixels, SDPA with a mask: a relative-position bias or a window mask."""

    def __init__(self, tokens, mask):
        super().__init__()
        self.qkv = nn.Linear(16, 48, bias=False)
        self.head = nn.Linear(16, 10, bias=False)
        self.bias = nn.Parameter(torch.zeros(1, 2, tokens, tokens)) if mask == "bias" else None
        self.register_buffer("window", torch.ones(tokens, tokens, dtype=torch.bool).tril() if mask == "bool" else None)

    def forward(self, x):
        b, n = x.shape[0], x.shape[2] * x.shape[3]
        q, k, v = self.qkv(_tokens(x)).reshape(b, n, 3, 2, 8).permute(2, 0, 3, 1, 4)
        mask = self.bias if self.bias is not None else self.window
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.head(y.transpose(1, 2).reshape(b, n, 16).mean(1))


@pytest.mark.parametrize("side", [4, 3])  # 16 tokens: rows 8-aligned; 9: the bias is padded as on a GPU
@pytest.mark.parametrize("mask", ["bias", "bool"])
def test_attention_with_a_mask_is_the_efficient_kernel_with_a_bias(mask, side):
    n = side * side
    f = static_features(_Attention(n, mask), (16, side, side))
    # qkv (n x 16 x 48), attention 2 x heads x n x n x head dim (QK^T and AV), head 16 x 10
    assert f["macs_matmul"] == n * 16 * 48 + 2 * 2 * n * n * 8 + 16 * 10
    assert f["unpriced_modules"] == []
    ops = _forward_ops(_Attention(n, mask), (16, side, side))
    assert "_scaled_dot_product_efficient_attention" in ops and "_safe_softmax" not in ops and "bmm" not in ops
    assert ("constant_pad_nd" in ops) == (side == 3)


class _LinearAttention(nn.Module):
    """Linear attention: softmax-normalised q and k, (k^T v) first, then q (k^T v): two einsums (bmm)."""

    def __init__(self):
        super().__init__()
        self.qkv = nn.Linear(16, 48, bias=False)
        self.head = nn.Linear(16, 10, bias=False)

    def forward(self, x):
        q, k, v = self.qkv(_tokens(x)).chunk(3, dim=-1)
        kv = torch.einsum("bnd,bne->bde", k.softmax(-1), v)
        return self.head(torch.einsum("bnd,bde->bne", q.softmax(-1), kv).mean(1))


def test_linear_attention_is_two_matrix_products():
    f = static_features(_LinearAttention(), (16, 4, 4))
    assert f["macs_matmul"] == 16 * 16 * 48 + 2 * 16 * 16 * 16 + 16 * 10  # qkv, k^T v and q (k^T v), head
    assert f["unpriced_modules"] == []


class _PooledAttention(nn.Module):
    """Pooled attention (PVT, MViT): keys and values from a 2x2-average-pooled plane."""

    def __init__(self):
        super().__init__()
        self.q = nn.Linear(16, 16, bias=False)
        self.kv = nn.Linear(16, 32, bias=False)
        self.head = nn.Linear(16, 10, bias=False)

    def forward(self, x):
        b = x.shape[0]
        q = self.q(_tokens(x)).reshape(b, 16, 2, 8).transpose(1, 2)
        k, v = self.kv(_tokens(F.avg_pool2d(x, 2))).reshape(b, 4, 2, 2, 8).permute(2, 0, 3, 1, 4)
        return self.head(F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, 16, 16).mean(1))


def test_pooled_attention_counts_queries_against_the_pooled_keys():
    f = static_features(_PooledAttention(), (16, 4, 4))
    # q: 16 tokens x 16 x 16; kv: 4 pooled tokens x 16 x 32; attention 2 x 2 heads x 16 x 4 x 8; head
    assert f["macs_matmul"] == 16 * 16 * 16 + 4 * 16 * 32 + 2 * 2 * 16 * 4 * 8 + 16 * 10
    assert f["unpriced_modules"] == []


class _Mixer(nn.Module):
    """A token mixer (shift: rolled channel groups concatenated; pooling: avgpool(x) - x), then a 1x1 conv."""

    def __init__(self, kind):
        super().__init__()
        self.kind = kind
        self.mix = nn.Conv2d(8, 8, 1, bias=False)
        self.head = nn.Linear(8, 10, bias=False)

    def forward(self, x):
        if self.kind == "shift":
            a, b, c = x.split([3, 3, 2], dim=1)
            x = torch.cat([torch.roll(a, 1, dims=2), torch.roll(b, -1, dims=3), c], dim=1)
        else:
            x = x + (F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False) - x)
        return self.head(self.mix(x).mean((2, 3)))


@pytest.mark.parametrize("kind, moves", [("shift", {"roll", "cat"}), ("pool", {"avg_pool2d"})])
def test_shift_and_pooling_mixers_add_bytes_but_no_macs(kind, moves):
    f = static_features(_Mixer(kind), (8, 4, 4))
    assert f["macs_conv_dense"] == 16 * 8 * 8 and f["macs_matmul"] == 8 * 10
    assert f["unpriced_modules"] == []
    assert moves <= set(_forward_ops(_Mixer(kind), (8, 4, 4)))


class _SqueezeExcite(nn.Module):
    """A 3x3 conv, squeeze-excite gating (mean, linear, ReLU, linear, sigmoid, multiply), a head."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, padding=1, bias=False)
        self.squeeze, self.excite = nn.Linear(8, 2), nn.Linear(2, 8)
        self.head = nn.Linear(8, 10, bias=False)

    def forward(self, x):
        x = self.conv(x)
        gate = torch.sigmoid(self.excite(F.relu(self.squeeze(x.mean((2, 3))))))
        return self.head((x * gate[:, :, None, None]).mean((2, 3)))


def test_squeeze_excite_gating_counts_its_two_small_linears():
    f = static_features(_SqueezeExcite(), (1, 4, 4))
    assert f["macs_conv_dense"] == 16 * 8 * 9
    assert f["macs_matmul"] == 8 * 2 + 2 * 8 + 8 * 10
    assert f["unpriced_modules"] == []


def test_a_pre_activation_block_prices_its_batch_norm_as_norm_bytes():
    net = nn.Sequential(nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 8, 3, padding=1, bias=False),
                        nn.Flatten(), nn.Linear(8 * 16, 10, bias=False))
    f = static_features(net, (4, 4, 4))
    assert f["macs_conv_dense"] == 8 * 16 * 4 * 9 and f["macs_matmul"] == 8 * 16 * 10
    act = 4 * 16 * 4  # bytes of the normalised plane per sample
    # per sample: forward reads the input and writes the output; backward reads grad and input, writes grad
    assert f["bytes_norm"] == 2 * act + 3 * act
    assert f["unpriced_modules"] == []


def test_a_learned_leaky_activation_prelu_is_priced_by_its_pointwise_bytes():
    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.PReLU(4), nn.Flatten(),
                        nn.Linear(4 * 16, 10, bias=False))
    f = static_features(net, (1, 4, 4))
    assert f["unpriced_modules"] == [] and f["bytes_unpriced"] == 0
    plain = static_features(nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.Flatten(),
                                          nn.Linear(4 * 16, 10, bias=False)), (1, 4, 4))
    # the activation adds elementwise bytes and kernels only: one kernel forward, at least its output plane
    # (4 x 16 float32 per sample) forward, and more backward (its input's and its weight's gradients)
    assert f["macs_conv_dense"] == plain["macs_conv_dense"] and f["macs_matmul"] == plain["macs_matmul"]
    assert f["kernels_forward"] == plain["kernels_forward"] + 1
    assert f["bytes_forward"] >= plain["bytes_forward"] + 4 * 16 * 4
    assert f["bytes_backward"] > plain["bytes_backward"] + 4 * 16 * 4


class _Distances(nn.Module):
    def __init__(self):
        super().__init__()
        self.head = nn.Linear(16, 10, bias=False)

    def forward(self, x):
        t = _tokens(x)
        return self.head(torch.cdist(t, t).mean(1))


class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 4, 3, padding=1)
        self.dist = _Distances()

    def forward(self, x):
        return self.dist(self.stem(x))


def test_an_unpriced_operator_is_named_with_its_module_and_widens_the_interval(monkeypatch):
    f = static_features(_Net(), (1, 4, 4))
    f["macs"] = f["macs_total"]  # the thesis model's MACs (compute_model_features' stand-in without thop)
    assert f["unpriced_modules"] == ["dist (_Distances): _cdist_backward, _cdist_forward"]
    assert 0 < f["bytes_unpriced"] < f["bytes_elementwise"] + f["bytes_norm"] + f["bytes_other"]
    share = f["bytes_unpriced"] / (f["bytes_elementwise"] + f["bytes_norm"] + f["bytes_other"])
    priced = {k: v for k, v in f.items() if k not in ("unpriced_modules", "bytes_unpriced")}
    predictions = {}
    for name, feats in (("priced", priced), ("unpriced", f)):
        monkeypatch.setattr(runtime, "model_features", lambda *a, feats=feats, **k: (feats, "computed"))
        predictions[name] = runtime.predict_run("resnet18", "fashion_mnist", epochs=2, batch_size=64)
    a, b = predictions["priced"], predictions["unpriced"]
    widen = pmodel.unpriced_widening(share)
    assert (b.energy_j, b.energy_low_j, b.duration_s) == (a.energy_j, a.energy_low_j, a.duration_s)
    assert b.energy_high_j == pytest.approx(a.energy_high_j * widen)
    assert b.duration_high_s == pytest.approx(a.duration_high_s * widen)
    assert any("dist (_Distances): _cdist_backward, _cdist_forward" in n for n in b.notes)
    assert not any("cannot price" in n for n in a.notes)


class _HeadNorm(nn.Module):
    """DeepViT's re-attention norm in small: a layer norm over 2 "heads" at every entry of a 4 x 4 map, beside a
    group norm of 2 groups over 8 channels of 4 x 4 pixels (64 values each) and, with ``batch_norm``, a batch norm."""

    def __init__(self, batch_norm: bool = False):
        super().__init__()
        self.stem = nn.Conv2d(1, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8) if batch_norm else nn.Identity()
        self.gn = nn.GroupNorm(2, 8)
        self.mix = nn.Conv2d(8, 2, 1)
        self.heads = nn.LayerNorm(2)
        self.head = nn.Linear(2, 10)

    def forward(self, x):
        x = self.gn(self.bn(self.stem(x)))
        x = self.heads(self.mix(x).permute(0, 2, 3, 1))  # [B, H, W, 2]: normalised over the 2 values of a pixel
        return self.head(x.mean((1, 2)))


def test_layer_and_group_norms_are_counted_by_the_values_each_normalises_together():
    f = static_features(_HeadNorm(), (1, 4, 4))
    assert [(a[0], a[2], a[3]) for a in f["norm_axes"]] == [(2, 1, "heads (LayerNorm)"), (64, 1, "gn (GroupNorm)")]
    # without a batch norm, the bytes of the norms are the layer and group norms' bytes, split by width
    assert all(a[1] > 0 for a in f["norm_axes"])
    assert sum(a[1] for a in f["norm_axes"]) == pytest.approx(f["bytes_norm"])
    # a layer norm over 2 values reads and writes at least its input and output (16 pixels x 2 floats each way)
    assert f["norm_axes"][0][1] >= 2 * 16 * 2 * 4
    with_bn = static_features(_HeadNorm(batch_norm=True), (1, 4, 4))
    assert with_bn["norm_axes"] == f["norm_axes"]  # batch norm's axis is the batch: not a norm axis
    assert with_bn["bytes_norm"] > f["bytes_norm"]


def test_the_norm_rows_term_counts_each_norms_bytes_over_its_width():
    from greenai.predict.model import CANDIDATE_TERMS, TRIAL_TERMS, regressors

    f = static_features(_HeadNorm(), (1, 4, 4))
    (two, moved_2, *_), (sixty_four, moved_64, *_) = f["norm_axes"]
    x = regressors(f, n_samples=1000, batch_size=10)
    assert x["norm_rows"] == pytest.approx(1000 * (moved_2 / 2 + moved_64 / 64))
    # the same bytes over 6 values count 128 times what they count over 768
    narrow = regressors({**f, "norm_axes": [[6, 100.0, 1, "a"]]}, n_samples=1, batch_size=1)["norm_rows"]
    wide = regressors({**f, "norm_axes": [[768, 100.0, 1, "b"]]}, n_samples=1, batch_size=1)["norm_rows"]
    assert narrow == pytest.approx(128 * wide)
    assert "norm_rows" in CANDIDATE_TERMS and "norm_rows" not in TRIAL_TERMS  # tried, then joined by its rule


def test_the_norm_alignment_trial_counts_a_row_of_a_norm_not_over_a_multiple_of_four_values_as_more_rows():
    from greenai.predict.model import (CANDIDATE_TERMS, MISALIGNED_NORM_ROW_FACTOR, TRIAL_REPLACES, TRIALS,
                                       regressors, trial_terms)

    f = static_features(_HeadNorm(), (1, 4, 4))  # a layer norm over 2 heads, a group norm over 64 values
    (_, moved_2, *_), (_, moved_64, *_) = f["norm_axes"]
    x = regressors(f, n_samples=1000, batch_size=10)
    assert x["norm_rows_aligned"] == pytest.approx(1000 * (MISALIGNED_NORM_ROW_FACTOR * moved_2 / 2 + moved_64 / 64))
    # the same bytes: over 6 values (not a multiple of 4) dearer per row than over 8, by the factor alone
    six = regressors({**f, "norm_axes": [[6, 600.0, 1, "a"]]}, n_samples=1, batch_size=1)
    eight = regressors({**f, "norm_axes": [[8, 800.0, 1, "b"]]}, n_samples=1, batch_size=1)
    assert six["norm_rows"] == eight["norm_rows"] == pytest.approx(100.0)
    assert six["norm_rows_aligned"] == pytest.approx(MISALIGNED_NORM_ROW_FACTOR * eight["norm_rows_aligned"])
    assert eight["norm_rows_aligned"] == eight["norm_rows"]
    # a trial in norm_rows' place, not in the shipped fit
    assert TRIALS["norm_alignment"] == ("norm_rows_aligned",) and TRIAL_REPLACES["norm_rows_aligned"] == "norm_rows"
    tried = trial_terms(trial="norm_alignment")
    assert "norm_rows" not in tried and tried.index("norm_rows_aligned") == CANDIDATE_TERMS.index("norm_rows")
    assert "norm_rows_aligned" not in CANDIDATE_TERMS


def test_the_misaligned_norm_row_factor_is_the_recorded_ratio_of_time_per_row():
    from greenai.predict.model import MISALIGNED_NORM_ROW_FACTOR

    bench = pd.read_csv(RAW_DIR.parent / "benchmarks" / "norm_width.csv")
    narrow = bench[bench["width"] <= 64]
    misaligned = narrow[narrow["width"] % 4 != 0]["ns_per_row"]
    aligned = narrow[narrow["width"] % 4 == 0]["ns_per_row"]
    assert len(misaligned) >= 3 and len(aligned) >= 6
    assert misaligned.min() > 1.5 * aligned.max()  # two speeds, not a slope
    assert misaligned.mean() / aligned.mean() == pytest.approx(MISALIGNED_NORM_ROW_FACTOR, abs=0.05)


def _norm_features(values: int, moved: float) -> dict:
    """resnet18's shipped features with one more norm of ``values`` values moving ``moved`` of its bytes."""
    coeffs = runtime.load_coefficients()
    feats = dict(coeffs["features"]["resnet18|1|10|224"])
    feats["norm_axes"] = [[values, moved, 3, "blocks.0.norm (LayerNorm)"]]
    return feats


def test_a_norm_narrower_than_any_fitted_one_is_named_and_widens_the_interval(monkeypatch):
    coeffs = runtime.load_coefficients()
    fit, _ = pmodel.gpu_fit_for(coeffs, "NVIDIA H200")  # its fit has models with layer norms
    narrow, fewest = pmodel.narrow_norms({"norm_axes": []}, coeffs["features"], fit["models"])
    assert narrow == [] and fewest is not None and fewest > 2
    moved = sum(float(coeffs["features"]["resnet18|1|10|224"][f"bytes_{g}"]) for g in operators.BYTE_GROUPS)
    feats = _norm_features(2, 0.3 * moved)
    monkeypatch.setattr(runtime, "model_features", lambda *a, **k: (feats, "computed"))
    b = runtime.predict_run("resnet18", "fashion_mnist", epochs=2, batch_size=64, gpu="h200")
    # the same model, its norm not named (as if the fit had one as narrow): only the high ends differ
    monkeypatch.setattr(runtime, "narrow_norms", lambda *a, **k: ([], 2))
    a = runtime.predict_run("resnet18", "fashion_mnist", epochs=2, batch_size=64, gpu="h200")
    assert (b.energy_j, b.energy_low_j, b.duration_s) == (a.energy_j, a.energy_low_j, a.duration_s)
    assert b.energy_high_j == pytest.approx(a.energy_high_j * 1.3)
    assert b.duration_high_s == pytest.approx(a.duration_high_s * 1.3)
    # the fit prices a norm's rows (norm_rows): over 2 values it costs more than over the fewest fitted
    wide = _norm_features(fewest, 0.3 * moved)
    monkeypatch.setattr(runtime, "model_features", lambda *a, **k: (wide, "computed"))
    assert runtime.predict_run("resnet18", "fashion_mnist", epochs=2, batch_size=64, gpu="h200").energy_j < b.energy_j
    note = next(n for n in b.notes if n.startswith("norms over fewer values"))
    assert "blocks.0.norm (LayerNorm) and 2 more over 2 values" in note and f"(its fewest: {fewest})" in note
    assert "(30.0% of the bytes moved)" in note and note.endswith("high end x 1.30")
    assert "priced by their rows at the price the fit learned from wider norms" in note  # the fit has norm_rows
    assert not any("norm" in n for n in a.notes)


def test_a_narrow_norm_under_a_fit_without_the_row_term_is_said_to_cost_by_its_rows(monkeypatch):
    import copy

    coeffs = copy.deepcopy(runtime.load_coefficients())
    energy = coeffs["fits"]["NVIDIA H200"]["static"]["energy_j"]
    energy["terms"] = [t for t in energy["terms"] if t["name"] != "norm_rows"]
    monkeypatch.setattr(runtime, "load_coefficients", lambda: coeffs)
    feats = _norm_features(2, 0.0)
    monkeypatch.setattr(runtime, "model_features", lambda *a, **k: (feats, "computed"))
    p = runtime.predict_run("resnet18", "fashion_mnist", epochs=2, batch_size=64, gpu="h200")
    note = next(n for n in p.notes if n.startswith("norms over fewer values"))
    assert "priced per byte at the fitted norms' price, which a norm this narrow exceeds" in note
    assert "it costs by its rows, not its bytes" in note


def test_on_a_fit_without_layer_norms_every_layer_norm_is_named(monkeypatch):
    coeffs = runtime.load_coefficients()
    gpu = next(g for g in coeffs["fits"]
               if pmodel.narrow_norms({}, coeffs["features"], pmodel.gpu_fit_for(coeffs, g)[0]["models"])[1] is None)
    feats = _norm_features(768, 0.0)
    monkeypatch.setattr(runtime, "model_features", lambda *a, **k: (feats, "computed"))
    p = runtime.predict_run("resnet18", "fashion_mnist", epochs=2, batch_size=64, gpu=gpu)
    note = next(n for n in p.notes if "norm" in n)
    assert note.startswith("layer or group norms, which no model of the fit has, ran in blocks.0.norm (LayerNorm)")
    assert note.endswith(f"high end x {pmodel.UNPRICED_MIN_WIDEN:.2f}")  # no bytes: the least widening


def test_without_a_fitted_norm_every_layer_norm_is_narrower_than_the_fit():
    feats = {"norm_axes": [[2, 10.0, 1, "a (LayerNorm)"], [768, 5.0, 1, "b (LayerNorm)"]]}
    known = {"convnet|1|10|224": {"norm_axes": []}, "vit|1|10|224": {"norm_axes": [[384, 1.0, 2, "n (LayerNorm)"]]}}
    assert pmodel.narrow_norms(feats, known, ["convnet"]) == (feats["norm_axes"], None)
    assert pmodel.narrow_norms(feats, known, ["convnet", "vit"]) == ([feats["norm_axes"][0]], 384)


@pytest.mark.parametrize("model, size", [*((m, 112) for m in models.MODEL_NAMES),
                                         ("mobilenet_v3_large", 112), ("efficientnet_b0", 112),
                                         ("convnext_tiny", 112), ("vit_b_16", 224), ("swin_t", 112)])
def test_zoo_and_torchvision_models_have_no_unpriced_operator(model, size):
    with torch.device("meta"):
        net = models.build_model(model, 1, 10)
    f = static_features(net, (1, size, size))
    assert f["unpriced_modules"] == [] and f["bytes_unpriced"] == 0


@pytest.mark.gpu
def test_a_recurrent_layer_runs_the_same_operators_on_meta_and_on_a_gpu():
    net = _Recurrent(nn.LSTM, layers=2, hidden=12)
    names = {}
    for device in ("cuda", "meta"):
        mode = operator_recorder()
        model = _Recurrent(nn.LSTM, 2, 12).to(device)
        model.load_state_dict(net.state_dict()) if device == "cuda" else None
        with fused_kernels_on_meta(), mode:
            F.cross_entropy(model(torch.randn(2, 8, 4, 4, device=device)),
                            torch.zeros(2, dtype=torch.long, device=device)).backward()
        names[device] = [o[0] for o in mode.ops]
    assert names["meta"] == names["cuda"]


def _grouped_net(pointwise_groups: int) -> nn.Module:
    """A dense stem, a 1x1 convolution of ``pointwise_groups`` groups, a depthwise and a grouped 3x3 convolution."""
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, bias=False),
                         nn.Conv2d(8, 16, 1, groups=pointwise_groups, bias=False),
                         nn.Conv2d(16, 16, 3, padding=1, groups=16, bias=False),
                         nn.Conv2d(16, 16, 3, padding=1, groups=4, bias=False),
                         nn.Conv2d(16, 16, 1, groups=16, bias=False),  # depthwise 1x1: not grouped pointwise
                         nn.Flatten(), nn.Linear(16 * 64, 10, bias=False))


class _Upsampler(nn.Module):
    """A 3x3 convolution to 64 channels, then a 2x2 transposed convolution of stride 2 to 32 channels (a U-Net's
    up-sampling step) and a pooled head."""

    def __init__(self, groups=1):
        super().__init__()
        self.conv = nn.Conv2d(1, 64, 3, padding=1)
        self.up = nn.ConvTranspose2d(64, 32, 2, stride=2, groups=groups)
        self.head = nn.Linear(32, 10)

    def forward(self, x):
        return self.head(self.up(self.conv(x)).mean((2, 3)))


@pytest.mark.parametrize("groups", [1, 4])
def test_a_transposed_convolution_counts_each_input_element_against_its_kernel_forward_and_backward(groups):
    f = static_features(_Upsampler(groups), (1, 56, 56))
    transposed = 64 * 56 * 56 * (32 // groups) * 4  # every input value meets C_out / groups x 2 x 2 weights
    conv = 64 * 56 * 56 * 9
    kind = "macs_conv_dense" if groups == 1 else "macs_conv_grouped"
    assert f[kind] + (f["macs_conv_dense"] if groups > 1 else 0) == transposed + conv
    # the backward of each computes its input's and its weight's gradient, each as many MACs as its forward
    net, x = _Upsampler(groups).to("meta"), torch.empty((2, 1, 56, 56), device="meta")
    mode = operator_recorder()
    with mode:
        net(x).sum().backward()
    by_name = {}
    for name, _kind, macs, *_ in mode.ops:
        if name.startswith("convolution"):
            by_name.setdefault(name, []).append(macs)
    assert sorted(by_name["convolution"]) == sorted([2 * conv, 2 * transposed])
    # the first convolution's input needs no gradient: its backward computes the weight's only
    assert sorted(by_name["convolution_backward"]) == sorted([2 * conv, 2 * 2 * transposed])


def test_a_grouped_pointwise_convolution_counts_its_bytes_apart_forward_and_backward():
    f = static_features(_grouped_net(2), (1, 8, 8))
    inp, out = 8 * 64 * 4, 16 * 64 * 4  # bytes of its input and output planes per sample (float32)
    # forward reads the input, writes the output; backward reads the output's gradient and the input and
    # writes the input's gradient (the weight and its gradient are per step, not per sample)
    assert f["bytes_conv_grouped_pointwise"] == (inp + out) + (out + inp + inp)
    assert f["macs_conv_grouped"] == 16 * 64 * 4 + 16 * 64 * 4 * 9  # the 1x1 and the 3x3 of 4 groups
    # the same bytes stay in bytes_other, priced there too; the term is their price above it
    dense = static_features(_grouped_net(1), (1, 8, 8))
    assert dense["bytes_conv_grouped_pointwise"] == 0
    assert f["bytes_other"] == dense["bytes_other"]


def test_the_grouped_pointwise_bytes_are_a_term_of_the_static_model():
    from greenai.predict.model import CANDIDATE_TERMS, regressors

    f = static_features(_grouped_net(2), (1, 8, 8))
    x = regressors(f, n_samples=1000, batch_size=10)
    assert "grouped_pointwise" in CANDIDATE_TERMS
    assert x["grouped_pointwise"] == pytest.approx(1000 * f["bytes_conv_grouped_pointwise"])


class _KernelNet(nn.Module):
    """Depthwise convolutions of one kernel each (``kernels``: (taps per side, dilation, depth multiplier)) on 8
    channels, summed, then a dense 3x3 to 16 channels and a linear head."""

    def __init__(self, kernels):
        super().__init__()
        self.dw = nn.ModuleList(nn.Conv2d(8, 8 * m, k, padding=d * (k // 2), dilation=d, groups=8)
                                for k, d, m in kernels)
        self.dense = nn.Conv2d(8 * kernels[0][2], 16, 3, padding=1)
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        return self.head(self.dense(sum(dw(x) for dw in self.dw)).mean((2, 3)))


def test_a_depthwise_kernel_beyond_7x7_counts_its_taps_beyond_49_apart():
    pixels = 16 * 16
    f = static_features(_KernelNet([(31, 1, 1), (5, 1, 1)]), (8, 16, 16))
    assert f["macs_conv_depthwise"] == pixels * 8 * (31 * 31 + 5 * 5)
    assert f["macs_conv_depthwise_beyond_7x7"] == pixels * 8 * (31 * 31 - 49)  # the 5x5 has none beyond
    # a depthwise MAC is narrow work (w = 1); the dense 3x3's narrow side is its 16 outputs
    assert f["conv_narrow_elements"] == pixels * 8 * (31 * 31 + 5 * 5) + pixels * 16 * 8 * 9 / 16
    assert f["conv_narrow_beyond_7x7"] == f["macs_conv_depthwise_beyond_7x7"]
    # a 7x7 kernel dilated by 3 spans 19x19 pixels but has 49 taps: not large
    dilated = static_features(_KernelNet([(7, 3, 1)]), (8, 16, 16))
    assert dilated["macs_conv_depthwise"] == pixels * 8 * 49 and dilated["macs_conv_depthwise_beyond_7x7"] == 0
    # two outputs per channel (depth multiplier 2): w = 2, so the narrow part beyond is half the MACs beyond
    doubled = static_features(_KernelNet([(9, 1, 2)]), (8, 16, 16))
    assert doubled["macs_conv_depthwise_beyond_7x7"] == pixels * 16 * (81 - 49)
    assert doubled["conv_narrow_beyond_7x7"] == doubled["macs_conv_depthwise_beyond_7x7"] / 2


def test_each_large_kernel_size_is_listed_with_its_macs_beyond_and_first_module():
    pixels = 16 * 16
    f = static_features(_KernelNet([(31, 1, 1), (9, 1, 1), (5, 1, 1), (31, 1, 1)]), (8, 16, 16))
    assert f["depthwise_large_kernels"] == [[81, pixels * 8 * (81 - 49), 1, "dw.1 (Conv2d)"],
                                            [961, 2 * pixels * 8 * (961 - 49), 2, "dw.0 (Conv2d)"]]
    assert sum(a[1] for a in f["depthwise_large_kernels"]) == f["macs_conv_depthwise_beyond_7x7"]
    assert static_features(_KernelNet([(7, 3, 1)]), (8, 16, 16))["depthwise_large_kernels"] == []


def test_a_kernel_larger_than_any_fitted_is_named_and_widens_the_low_end(monkeypatch):
    coeffs = runtime.load_coefficients()
    fit, _ = pmodel.gpu_fit_for(coeffs, "NVIDIA H200")
    most = pmodel.large_kernels({}, coeffs["features"], fit["models"])[1]
    taps = (most or 49) + 32  # beyond every fitted kernel
    feats = dict(coeffs["features"]["resnet18|1|10|224"])
    plain = runtime.predict_run("resnet18", "fashion_mnist", epochs=2, batch_size=64, gpu="h200")
    beyond = 0.25 * feats["macs_total"]
    feats["depthwise_large_kernels"] = [[taps, beyond, 4, "stages.0.dw (Conv2d)"]]
    monkeypatch.setattr(runtime, "model_features", lambda *a, **k: (feats, "computed"))
    p = runtime.predict_run("resnet18", "fashion_mnist", epochs=2, batch_size=64, gpu="h200")
    note = next(n for n in p.notes if n.startswith("depthwise kernels"))
    assert f"stages.0.dw (Conv2d) and 3 more of {taps} taps (25.0% of the MACs beyond 7x7 taps)" in note
    assert note.endswith("low end / 1.25")
    # the estimate and the high end stay; the low end falls by the factor (the feature entry alone changed)
    assert p.energy_j == pytest.approx(plain.energy_j) and p.energy_high_j == pytest.approx(plain.energy_high_j)
    assert p.energy_low_j == pytest.approx(plain.energy_low_j / 1.25)
    assert p.duration_low_s == pytest.approx(plain.duration_low_s / 1.25)


def test_batch_norms_whose_floor_outweighs_every_fitted_models_are_named_and_widen_the_high_end(monkeypatch):
    import copy

    # a fit that does not price the values per channel (as before the term joined; the shipped H200 fit prices them
    # at about the floor, so no share can pass every fitted model's by much): the note's rule on its own
    coeffs = copy.deepcopy(runtime.load_coefficients())
    for target in ("energy_j", "duration_s"):
        static = coeffs["fits"]["NVIDIA H200"]["static"][target]
        i = [t["name"] for t in static["terms"]].index("batch_norm_channels")
        static["terms"][i]["coef"] = 0.0
        for row in static["cov"]:  # nor its uncertainty
            row[i] = 0.0
        static["cov"][i] = [0.0] * len(static["cov"][i])
    monkeypatch.setattr(runtime, "load_coefficients", lambda: coeffs)
    fit, _ = pmodel.gpu_fit_for(coeffs, "NVIDIA H200")
    duration_fit = fit["static"]["duration_s"]
    fitted_share = pmodel.fitted_batch_norm_floor_share(fit, coeffs["features"])
    feats = dict(coeffs["features"]["resnet18|1|10|224"])
    plain_share = pmodel.batch_norm_floor_share(duration_fit, feats)
    assert 0 < plain_share < fitted_share
    plain = runtime.predict_run("resnet18", "fashion_mnist", epochs=2, batch_size=256, gpu="h200")
    assert not [n for n in plain.notes if n.startswith("batch norms")]
    # the floor is linear in the values per channel: scale them until it is twice the most a fitted model's takes
    share = 2 * fitted_share
    feats["batch_norm_channel_values"] *= share / plain_share
    feats["batch_norm_channels"] = [[1, 1e6, 4, "stages.0.mix (BatchNorm2d)"], [64, 1e6, 1, "w (BatchNorm2d)"]]
    assert pmodel.batch_norm_floor_share(duration_fit, feats) == pytest.approx(share)
    monkeypatch.setattr(runtime, "model_features", lambda *a, **k: (feats, "computed"))
    p = runtime.predict_run("resnet18", "fashion_mnist", epochs=2, batch_size=256, gpu="h200")
    note = next(n for n in p.notes if n.startswith("batch norms"))
    assert "ran in stages.0.mix (BatchNorm2d) and 3 more over 1 channel; w (BatchNorm2d) over 64 channels:" in note
    assert f"{share:.0%} of the predicted time, more than in any fitted model (at most {fitted_share:.0%}" in note
    assert note.endswith(f"high end x {1 + share:.2f}")
    # the estimate and the low end stay; the high end grows by the factor (the feature entry alone changed)
    assert p.energy_j == pytest.approx(plain.energy_j) and p.energy_low_j == pytest.approx(plain.energy_low_j)
    assert p.energy_high_j == pytest.approx(plain.energy_high_j * (1 + share))
    assert p.duration_high_s == pytest.approx(plain.duration_high_s * (1 + share))


def _batch_norm_times(model: str, gpu: str):
    """ns per value a channel holds of each forward and backward batch norm of a zoo model's recorded operator times
    (batch 256, 1x224x224, 10 classes), by channels: the norms' input shapes from a pass on ``meta``, matched in
    order (the backward's in reverse)."""
    from greenai.analysis.operators import load_operator_times

    ops = load_operator_times(RAW_DIR, gpu=gpu)
    ops = ops[ops["model"] == model].sort_values("op_index")
    with torch.device("meta"):
        net = models.build_model(model, 1, 10)
    shapes = []
    for m in net.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.register_forward_pre_hook(lambda _, inputs: shapes.append(tuple(inputs[0].shape)))
    net.train()(torch.empty(256, 1, 224, 224, device="meta"))
    rows = []
    for name, order in (("cudnn_batch_norm", shapes), ("cudnn_batch_norm_backward", shapes[::-1])):
        times = ops.loc[ops["name"] == name, "gpu_time_s"].to_numpy()
        assert len(times) == len(order)
        rows += [(name, s[1], t / (math.prod(s) / s[1]) * 1e9) for s, t in zip(order, times)]
    return pd.DataFrame(rows, columns=["name", "channels", "ns_per_value"])


def test_the_batch_norm_floor_is_the_recorded_time_per_value_of_norms_over_few_channels():
    times = pd.concat([_batch_norm_times(m, "NVIDIA H200") for m in ("mobilenet_v2", "efficientnet_b0")])
    few = times[times["channels"] <= 32].groupby("name")["ns_per_value"].median()
    assert len(times[times["channels"] <= 32]) >= 20
    assert few.sum() * 1e-9 == pytest.approx(pmodel.BATCH_NORM_CHANNEL_S, rel=0.1)
    # well above the byte price there, and not below the floor wider: the floor is per channel, not per byte
    wide = times[times["channels"] >= 512].groupby("name")["ns_per_value"].median()
    assert (wide > few).all()


def test_without_a_fitted_large_kernel_every_large_kernel_is_beyond_the_fit():
    feats = {"depthwise_large_kernels": [[81, 10.0, 1, "a (Conv2d)"], [961, 5.0, 1, "b (Conv2d)"]]}
    known = {"convnet|1|10|224": {"depthwise_large_kernels": []},
             "replk|1|10|224": {"depthwise_large_kernels": [[169, 1.0, 2, "k (Conv2d)"]]}}
    assert pmodel.large_kernels(feats, known, ["convnet"]) == (feats["depthwise_large_kernels"], None)
    assert pmodel.large_kernels(feats, known, ["convnet", "replk"]) == ([feats["depthwise_large_kernels"][1]], 169)


def test_the_large_kernel_pair_stands_in_for_conv_narrow_and_prices_the_taps_beyond():
    from greenai.predict.model import CANDIDATE_TERMS, FEATURES, TRIAL_TERMS, regressors

    f = static_features(_KernelNet([(31, 1, 1), (5, 1, 1)]), (8, 16, 16))
    x = regressors(f, n_samples=1000, batch_size=10)
    assert x["conv_depthwise_beyond_7x7"] == pytest.approx(1000 * f["macs_conv_depthwise_beyond_7x7"])
    assert x["conv_narrow_7x7"] == pytest.approx(x["conv_narrow"] - 1000 * f["conv_narrow_beyond_7x7"])
    assert 0 < x["conv_narrow_7x7"] < x["conv_narrow"]
    # tried, then joined by its rule: conv_narrow_7x7 in conv_narrow's place, the taps beyond beside
    assert {"conv_narrow_7x7", "conv_depthwise_beyond_7x7"} <= set(CANDIDATE_TERMS) - set(TRIAL_TERMS)
    assert "conv_narrow" not in CANDIDATE_TERMS
    assert set(FEATURES) - set(CANDIDATE_TERMS) == {"conv_narrow", *TRIAL_TERMS}
    # without a kernel beyond 7x7 the two forms of the narrow term agree
    small = regressors(static_features(_KernelNet([(5, 1, 1)]), (8, 16, 16)), n_samples=1000, batch_size=10)
    assert small["conv_narrow_7x7"] == small["conv_narrow"] and small["conv_depthwise_beyond_7x7"] == 0


class _FactorisedNet(nn.Module):
    """ERFNet's factorised block on 8 channels at 16x16: a 3x1 and a 1x3 convolution, then the pair again dilated
    by ``dilation``; a dense 3x3 beside, and a linear head."""

    def __init__(self, dilation: int):
        super().__init__()
        d = dilation
        self.pair = nn.Sequential(nn.Conv2d(8, 8, (3, 1), padding=(1, 0)), nn.Conv2d(8, 8, (1, 3), padding=(0, 1)),
                                  nn.Conv2d(8, 8, (3, 1), padding=(d, 0), dilation=(d, 1)),
                                  nn.Conv2d(8, 8, (1, 3), padding=(0, d), dilation=(1, d)))
        self.dense = nn.Conv2d(8, 8, 3, padding=2, dilation=2)
        self.head = nn.Linear(8, 10)

    def forward(self, x):
        return self.head((self.pair(x) + self.dense(x)).mean((2, 3)))


def test_dilated_and_non_square_convolutions_count_their_forward_macs_apart():
    from greenai.predict.model import CANDIDATE_TERMS, TRIALS, regressors

    pixels, pair_macs = 16 * 16, 16 * 16 * 8 * 8 * 3  # one 3x1 (or 1x3) convolution of 8 -> 8 channels
    f = static_features(_FactorisedNet(dilation=4), (8, 16, 16))
    assert f["macs_conv_dense"] == 4 * pair_macs + pixels * 8 * 8 * 9
    # dilated on one axis is dilated: the second pair and the dense 3x3 (dilation 2)
    assert f["macs_conv_dilated"] == 2 * pair_macs + pixels * 8 * 8 * 9
    assert f["macs_conv_non_square"] == 4 * pair_macs  # the square 3x3 is not
    plain = static_features(_FactorisedNet(dilation=1), (8, 16, 16))
    assert plain["macs_conv_dilated"] == pixels * 8 * 8 * 9 and plain["macs_conv_non_square"] == 4 * pair_macs
    assert static_features(_KernelNet([(5, 1, 1)]), (8, 16, 16))["macs_conv_dilated"] == 0
    # the depthwise 7x7 dilated by 3 is dilated, and square
    dilated_dw = static_features(_KernelNet([(7, 3, 1)]), (8, 16, 16))
    assert dilated_dw["macs_conv_dilated"] == pixels * 8 * 49 and dilated_dw["macs_conv_non_square"] == 0
    x = regressors(f, n_samples=1000, batch_size=10)
    assert x["conv_dilated"] == 1000 * f["macs_conv_dilated"]
    assert x["conv_non_square"] == 1000 * f["macs_conv_non_square"]
    # trials, priced beside conv (whose MACs still hold them), not in the shipped fit
    assert TRIALS["dilated"] == ("conv_dilated",) and TRIALS["non_square"] == ("conv_non_square",)
    assert not {"conv_dilated", "conv_non_square"} & set(CANDIDATE_TERMS)
    assert x["conv"] == 1000 * f["macs_conv_dense"]


def test_a_trial_stands_in_for_the_term_it_replaces_and_appends_the_others(monkeypatch):
    from greenai.predict import model as pmodel

    monkeypatch.setattr(pmodel, "TRIALS", {"pair": ("narrow_b", "extra"), "one": ("single",)})
    monkeypatch.setattr(pmodel, "TRIAL_REPLACES", {"narrow_b": "narrow"})
    terms = ("conv", "narrow", "samples")
    assert pmodel.trial_terms(terms) == ("conv", "narrow_b", "samples", "extra", "single")
    assert pmodel.trial_terms(terms, trial="one") == ("conv", "narrow", "samples", "single")
    with pytest.raises(ValueError, match="unknown trial 'two'; choose from pair, one"):
        pmodel.trial_terms(terms, trial="two")
    monkeypatch.setattr(pmodel, "TRIALS", {})
    assert pmodel.trial_terms(terms) == terms
    with pytest.raises(ValueError, match="no trial is open"):
        pmodel.trial_terms(terms, trial="pair")


class _FewChannelNorms(nn.Module):
    """RepMLPNet's pattern: a batch norm over 2 channels of the map reshaped to [4B, 2, H, W], then one over all 8
    channels, a 1x1 convolution to 256 channels and a batch norm over them (no per-channel work beyond its bytes),
    and a BatchNorm1d over 4 features of the pooled [B, 4] vector."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, padding=1)
        self.pairs, self.all8, self.wide = nn.BatchNorm2d(2), nn.BatchNorm2d(8), nn.BatchNorm2d(256)
        self.up = nn.Conv2d(8, 256, 1)
        self.squeeze, self.flat = nn.Linear(256, 4), nn.BatchNorm1d(4)
        self.head = nn.Linear(4, 10)

    def forward(self, x):
        y = self.conv(x)
        b, c, h, w = y.shape
        y = self.pairs(y.reshape(b * 4, 2, h, w)).reshape(b, c, h, w)
        y = self.wide(self.up(self.all8(y)))
        return self.head(self.flat(self.squeeze(y.mean((2, 3)))))


def test_batch_norms_over_few_channels_count_their_values_per_channel_beyond_the_byte_price():
    from greenai.predict.model import BATCH_NORM_WIDE_CHANNELS, CANDIDATE_TERMS, regressors

    f = static_features(_FewChannelNorms(), (1, 16, 16))
    pixels, wide = 16 * 16, BATCH_NORM_WIDE_CHANNELS
    # per sample, each channel of the 2-channel norm holds 4 x 256 values, of the 8-channel one 256, of the
    # 4-feature BatchNorm1d 1; forward and backward each count them; the 256-channel norm counts nothing
    expected = 2 * (4 * pixels * (1 - 2 / wide) + pixels * (1 - 8 / wide) + 1 * (1 - 4 / wide))
    assert f["batch_norm_channel_values"] == pytest.approx(expected)
    assert f["batch_norm_channels"] == [[2, 4 * pixels, 1, "pairs (BatchNorm2d)"], [4, 1.0, 1, "flat (BatchNorm1d)"],
                                        [8, pixels, 1, "all8 (BatchNorm2d)"]]
    x = regressors(f, n_samples=1000, batch_size=10)
    assert x["batch_norm_channels"] == pytest.approx(1000 * expected)
    assert "batch_norm_channels" in CANDIDATE_TERMS  # tried, then joined by its rule
    # a network of wide batch norms only counts none
    wide_only = static_features(nn.Sequential(nn.Conv2d(1, 128, 3), nn.BatchNorm2d(128), nn.Flatten(),
                                              nn.Linear(128 * 6 * 6, 10)), (1, 8, 8))
    assert wide_only["batch_norm_channel_values"] == 0 and wide_only["batch_norm_channels"] == []


class _LinspacePositions(nn.Module):
    """A classifier that builds its positions with linspace each step (as rotary embeddings do)."""

    def __init__(self):
        super().__init__()
        self.head = nn.Linear(16, 10, bias=False)

    def forward(self, x):
        grid = torch.linspace(-1.0, 1.0, 16, device=x.device)
        return self.head(x.flatten(1) * grid)


def test_positions_built_with_linspace_are_an_allocation_not_an_unpriced_operator():
    f = static_features(_LinspacePositions(), (1, 4, 4))
    assert f["unpriced_modules"] == [] and f["bytes_unpriced"] == 0
    assert operators.pricing_rule("linspace") == "allocation"


class _ReversibleStep(torch.autograd.Function):
    """y2 = x2 + f(x1), y1 = x1 (one reversible coupling): the forward keeps no activations, the backward
    recomputes f(x1) with gradients on and runs its backward (f's parameters get their gradients there), as
    reversible networks (RevViT, RevNet) do."""

    @staticmethod
    def forward(ctx, x, f):
        ctx.f = f
        x1, x2 = x.chunk(2, dim=1)
        with torch.no_grad():
            y = torch.cat([x1, x2 + f(x1)], dim=1)
        ctx.save_for_backward(x1)
        return y

    @staticmethod
    def backward(ctx, dy):
        (x1,) = ctx.saved_tensors
        dy1, dy2 = dy.chunk(2, dim=1)
        with torch.enable_grad():
            x1 = x1.detach().requires_grad_()
            torch.autograd.backward(ctx.f(x1), dy2)
        return torch.cat([dy1 + x1.grad, dy2], dim=1), None


class _Coupled(nn.Module):
    """A linear stem, one coupling whose f is a linear layer (reversible: through :class:`_ReversibleStep`, or
    plain autograd), a head."""

    def __init__(self, reversible: bool):
        super().__init__()
        self.reversible = reversible
        self.stem, self.f, self.head = nn.Linear(16, 8), nn.Linear(4, 4), nn.Linear(8, 10)

    def forward(self, x):
        x = self.stem(x.flatten(1))
        if self.reversible:
            x = _ReversibleStep.apply(x, self.f)
        else:
            x1, x2 = x.chunk(2, dim=1)
            x = torch.cat([x1, x2 + self.f(x1)], dim=1)
        return self.head(x)


def test_a_reversible_block_is_counted_with_the_forward_its_backward_recomputes():
    reversible, plain = static_features(_Coupled(True), (1, 4, 4)), static_features(_Coupled(False), (1, 4, 4))
    assert reversible["macs_matmul"] == plain["macs_matmul"] == 16 * 8 + 4 * 4 + 8 * 10
    assert reversible["unpriced_modules"] == [] and reversible["bytes_unpriced"] == 0
    # the backward runs f's forward again: one more matrix product (and its bias) than plain autograd
    assert reversible["kernels_backward"] > plain["kernels_backward"]
    assert reversible["bytes_backward"] > plain["bytes_backward"]
