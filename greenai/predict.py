"""Predict a training run's energy before it starts (thesis 4.2).

Two models of the energy of one training epoch, both fitted with statsmodels on
the rows recorded in ``results/raw/`` and shipped as
``greenai/data_files/predict_coefficients.json`` (written by notebook 05):

**The thesis' model** (4.2.1, Eq. 4.1), the baseline:
``E_epoch = HC x MACs x N``, with ``MACs`` the forward multiply-accumulates of
one sample (thop) and ``N`` the samples per epoch, fitted through the origin per
GPU and precision; ``HC`` [J/MAC] comes with its 95 % confidence interval. Its
log-log regression ``log10 E = a + b log10(MACs x N)`` is kept beside it.

**The static-feature model** (ours): the energy of an epoch as a sum of costs
that a static pass over any ``torch.nn.Module`` can count without a GPU
(:func:`static_features`: a forward and backward pass on PyTorch's ``meta``
device under a dispatch mode that sees every aten operator)::

    E_epoch = c_conv    x N x MACs of convolutions                [J/MAC]
            + c_narrow  x N x sum over convolutions of MACs / w,
                              w = the narrow side of its GEMM     [J/element]
            + c_matmul  x N x MACs of matrix products (linear,
                              attention)                          [J/MAC]
            + p_fp32    x N x MACs of matrix products             [J/MAC]
            + c_ew      x N x bytes moved by elementwise operators [J/B]
            + c_norm    x N x bytes moved by normalisations       [J/B]
            + c_other   x N x bytes moved by every other operator
                              (convolutions, matrix products,
                              pooling, attention)                 [J/B]
            + c_kernel  x S x operators launched per step         [J/launch]
            + c_sample  x N                                       [J/sample]
            + c_param   x S x parameters (optimizer traffic)      [J/parameter update]

with ``S = N / batch`` steps per epoch (the terms are :data:`CANDIDATE_TERMS`).
A convolution runs as a matrix product per group (implicit GEMM) whose two
channel sides are ``C_out / groups`` and ``C_in / groups x kh x kw``; ``w`` is
the narrower one. A tensor core amortises its work over that side, so a MAC
costs ``c_conv + c_narrow / w``: about ``c_conv`` in a wide dense convolution,
``c_conv + c_narrow`` in a depthwise one (``w = 1``), and in between for grouped
convolutions, whatever their number of groups.
It is fitted by weighted least squares with weights ``1/E^2`` (every model
counts by its relative error, small and large alike). If matrix products'
own coefficient is not positive they are priced like a convolution's MAC
(merged into ``c_conv``), a byte group likewise like other bytes; any other
such term is dropped (no negative energies in an explanation). ``p_fp32`` is
measured apart (:func:`fit_matmul_premium`): PyTorch's default precision runs
convolutions in TF32 but matrix products in FP32, and the ``kpi_precision`` rows
(default vs tf32) price the difference; it matters for architectures made of
matrix products (ViT, Swin, ConvNeXt), which the zoo lacks.
The interval of a run of a zoo model is the WLS prediction interval; that of an
architecture outside the fit uses the leave-one-model-out spread of the fit
(:func:`_unseen_spread`). The same features predict the epoch's duration.

A precision other than ``default`` scales a GPU's default-precision prediction
by a factor measured on the rows of ``kpi_precision`` (geometric mean of the
ratio over its models, with an interval); a GPU whose zoo rows are too few for
its own fit is predicted by the H100 model times a GPU factor measured on the
models both GPUs ran (``kpi_hardware`` beside ``kpi_hardware_h200``).

Each GPU's fit takes its zoo rows, the synthetic architectures' and those of
the earlier held-out sets (:data:`FIT_CSVS`); the current held-out set
(:data:`HELDOUT_CSVS`) never enters a fit. Loading the coefficients and
predicting for a zoo model or a held-out architecture needs neither torch nor a
GPU (their features are shipped in the same file); any other torchvision model
or ``timm:NAME`` is built on the ``meta`` device and its features computed on
the spot (torch, and timm for ``timm:``, needed; cached per process and on disk).

>>> from greenai.predict import predict_run
>>> p = predict_run("resnet18", "cifar10", epochs=30, batch_size=256)
>>> p.energy_j, p.energy_low_j, p.energy_high_j   # joules, 90 % prediction interval
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from greenai import paths
from greenai.operators import BYTE_GROUPS, byte_group, operator_class

__all__ = [
    "COEFFICIENTS_PATH",
    "FEATURES",
    "PredictionError",
    "UnknownModelError",
    "UnknownDatasetError",
    "UnknownGpuError",
    "UnmeasuredPrecisionError",
    "InvalidRunError",
    "Prediction",
    "predict_run",
    "static_features",
    "model_features",
    "load_coefficients",
]

#: where the fitted coefficients ship (written by notebook 05 with :func:`write_coefficients`)
COEFFICIENTS_PATH: Path = paths.PACKAGE_DIR / "data_files" / "predict_coefficients.json"
#: height and width [px] every recorded run used
IMAGE_SIZE = 224
#: level of the prediction intervals
PI_LEVEL = 0.90
#: joules in a kilowatt-hour
J_PER_KWH = 3.6e6

#: regressors of the static-feature model: name -> (per-epoch quantity, unit of the coefficient)
FEATURES: dict[str, tuple[str, str]] = {
    "conv": ("N x MACs of convolutions (dense, grouped, depthwise) per sample", "J/MAC"),
    "conv_narrow": ("N x sum over convolutions of MACs / w per sample, w the narrow side of the convolution's "
                    "GEMM per group (min(C_out / groups, C_in / groups x kh x kw))", "J/element"),
    "matmul": ("N x MACs of matrix products (linear layers, attention) per sample", "J/MAC"),
    "bytes_elementwise": ("N x bytes read and written by elementwise operators, forward and backward, per sample",
                          "J/B"),
    "bytes_norm": ("N x bytes read and written by batch, layer and group norms, forward and backward, per sample",
                   "J/B"),
    "bytes_other": ("N x bytes read and written by every other operator (convolutions, matrix products, pooling, "
                    "attention), forward and backward, per sample", "J/B"),
    "kernels": ("steps x operators launched per training step (forward + backward)", "J/launch"),
    "samples": ("N (a fixed cost per sample: input pipeline, resize, loss)", "J/sample"),
    "param_updates": ("steps x parameters (optimizer traffic)", "J/parameter update"),
}


# --------------------------------------------------------------------------- errors


class PredictionError(ValueError):
    """A prediction cannot be made from these inputs; the message says why and what is valid."""


class UnknownModelError(PredictionError):
    """Neither a zoo model nor a torchvision classification model."""


class UnknownDatasetError(PredictionError):
    """A dataset without a known shape."""


class UnknownGpuError(PredictionError):
    """A GPU without fitted coefficients."""


class UnmeasuredPrecisionError(PredictionError):
    """A precision never measured (on this or any GPU)."""


class InvalidRunError(PredictionError):
    """Epochs or batch size below 1 (or not integers), or a batch larger than the dataset."""


#: one year [s] (365 days)
YEAR_S = 365 * 24 * 3600.0
#: a predicted run longer than this [s] gets a note to check its epochs (a year of training on one GPU)
LONG_RUN_S = YEAR_S


# --------------------------------------------------------------------------- static features (torch, lazily)


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
        plane per group), ``macs_conv_grouped`` (``groups > 1`` with several
        planes per group), ``macs_matmul`` (mm, addmm, bmm,
        attention) of the forward pass [MAC]; ``conv_narrow_elements``: the sum
        over forward convolutions of MACs / ``w``, ``w`` the narrow side of the
        convolution's GEMM per group, ``min(C_out / groups, C_in / groups x kh x kw)``
        [MAC per channel]; ``bytes_forward``,
        ``bytes_backward``: bytes of every tensor written by a non-view operator
        (allocations included) [B]; ``bytes_elementwise``, ``bytes_norm``,
        ``bytes_other``: bytes read and written by the operators of each group
        (:data:`BYTE_GROUPS`), forward and backward together, allocations not
        counted [B]. Per step: ``kernels_forward``, ``kernels_backward``: non-view
        operators dispatched [count]. ``params`` [count] and ``macs_total``
        (the three MAC kinds summed) [MAC].
    """
    import copy


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
    per = {k: (counts[b2][k] - counts[b1][k]) / (b2 - b1) for k in counts[b1]}
    out = {
        "macs_conv_dense": per["fwd_conv_dense"],
        "macs_conv_depthwise": per["fwd_conv_depthwise"],
        "macs_conv_grouped": per["fwd_conv_grouped"],
        "conv_narrow_elements": per["fwd_conv_narrow"],
        "macs_matmul": per["fwd_matmul"],
        "bytes_forward": per["fwd_bytes"],
        "bytes_backward": per["bwd_bytes"],
        **{f"bytes_{g}": per[f"fwd_moved_{g}"] + per[f"bwd_moved_{g}"] for g in BYTE_GROUPS},
        "kernels_forward": float(counts[b1]["fwd_kernels"]),
        "kernels_backward": float(counts[b1]["bwd_kernels"]),
        "params": float(sum(p.numel() for p in net.parameters())),
    }
    out["macs_total"] = (out["macs_conv_dense"] + out["macs_conv_depthwise"] + out["macs_conv_grouped"]
                         + out["macs_matmul"])
    return out


def _count_step(net, input_shape, batch) -> dict:
    """Forward (``fwd_*``) and backward (``bwd_*``) totals of one step: MACs by kind, bytes written, bytes
    moved per :data:`BYTE_GROUPS` group, operators.

    The operators are :func:`greenai.operator_times.operator_recorder`'s (allocations counted as operators
    and written bytes, not as bytes moved); attention is the fused kernel a GPU runs
    (:func:`greenai.operator_times.fused_attention_on_meta`) and its forward MACs count as matrix products.
    """
    import torch

    from greenai.operator_times import fused_attention_on_meta, operator_recorder

    net.zero_grad(set_to_none=True)
    x = torch.empty((batch, *input_shape), device="meta")
    y = torch.zeros((batch,), dtype=torch.long, device="meta")
    conv = torch.ops.aten.convolution

    def gemm_width(func, args, kwargs):
        """Run the operator; a convolution's narrow GEMM side per group rides along (0 for any other)."""
        out = func(*args, **kwargs)
        if func.overloadpacket is not conv:
            return out, (0,)
        weight, groups = args[1], args[8]
        return out, (min(weight.shape[0] // groups, weight.shape[1] * math.prod(weight.shape[2:])),)

    mode = operator_recorder(on_op=gemm_width, count_allocations=True)
    with fused_attention_on_meta(), mode:
        loss = torch.nn.functional.cross_entropy(net(x), y)
        n_forward = len(mode.ops)
        loss.backward()
    out = {}
    for phase, ops in (("fwd", mode.ops[:n_forward]), ("bwd", mode.ops[n_forward:])):
        counts = {"conv_dense": 0, "conv_depthwise": 0, "conv_grouped": 0, "conv_narrow": 0, "matmul": 0, "bytes": 0,
                  "kernels": len(ops), **{f"moved_{g}": 0 for g in BYTE_GROUPS}}
        for name, kind, macs, read, written, width in ops:
            counts["bytes"] += written
            if not name.startswith(_ALLOCATIONS):
                counts[f"moved_{byte_group(operator_class(name, kind))}"] += read + written
            if name == "convolution":
                counts[kind] += macs
                counts["conv_narrow"] += macs / width
            elif kind == "matmul" or (kind == "attention" and "backward" not in name):
                counts["matmul"] += macs
        out.update({f"{phase}_{k}": v for k, v in counts.items()})
    return out


_ALLOCATIONS = ("empty", "new_empty")


def compute_model_features(name: str, in_channels: int, num_classes: int, image_size: int = IMAGE_SIZE) -> dict:
    """:func:`static_features` and thop's ``macs`` of a zoo or torchvision model, built on ``meta``."""
    import torch

    from greenai import models
    from greenai.macs import count_macs

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


# --------------------------------------------------------------------------- per-epoch regressors


#: dataset name aliases (as :func:`greenai.data.dataset_spec` reads them; no torch here)
_DATASET_ALIASES = {"fashionmnist": "fashion_mnist", "fmnist": "fashion_mnist", "cifar_10": "cifar10",
                    "cifar_100": "cifar100"}

#: MAC kinds: a kind whose own coefficient is not positive is priced like convolutions
_MAC_KINDS = ("conv", "matmul")
#: candidate terms of the static-feature model, in order
#: byte groups: a group whose own coefficient is not positive is priced like the bytes of "other" operators
_BYTE_TERMS = ("bytes_elementwise", "bytes_norm", "bytes_other")
#: where a kind of MAC or byte goes when it cannot be priced on its own
_MERGE_INTO = {**{t: "conv" for t in _MAC_KINDS[1:]}, **{t: "bytes_other" for t in _BYTE_TERMS[:-1]}}
CANDIDATE_TERMS = ("conv", "conv_narrow", "matmul", *_BYTE_TERMS, "kernels", "samples", "param_updates")
_UNITS = {"conv": "J/MAC", "conv_narrow": "J/element", "matmul": "J/MAC",
          "bytes_elementwise": "J/B", "bytes_norm": "J/B", "bytes_other": "J/B",
          "kernels": "J/launch", "samples": "J/sample", "param_updates": "J/parameter update"}
_DESCRIPTIONS = {
    "conv": "a multiply-accumulate of a convolution (forward MAC; backward work rides on it)",
    "conv_narrow": "a MAC / w of a convolution, w the narrow side of its GEMM per group (the work a tensor core "
                   "cannot amortise; a depthwise convolution's MAC)",
    "matmul": "a multiply-accumulate of a matrix product (linear layers, attention)",
    "bytes_elementwise": "a byte read or written by an elementwise operator (activations, add, copy, concatenation)",
    "bytes_norm": "a byte read or written by a batch, layer or group norm, forward or backward",
    "bytes_other": "a byte read or written by a convolution, matrix product, pooling or attention operator",
    "kernels": "an operator launched in a training step (forward + backward)",
    "samples": "a sample's fixed cost (input pipeline, resize, loss; independent of the model)",
    "param_updates": "a parameter updated by the optimizer (read weight, gradient, momentum; write two)",
}


def regressors(features: dict, n_samples: float, batch_size: float) -> dict:
    """Per-epoch quantities of the static-feature model (see :data:`CANDIDATE_TERMS`).

    ``features`` are per-sample / per-step counts from :func:`static_features`;
    ``n_samples`` the samples per epoch, ``batch_size`` the samples per step.
    """
    n = float(n_samples)
    steps = n / float(batch_size)
    return {
        "conv": n * (features["macs_conv_dense"] + features["macs_conv_depthwise"] + features["macs_conv_grouped"]),
        "conv_narrow": n * features["conv_narrow_elements"],
        "matmul": n * features["macs_matmul"],
        **{f"bytes_{g}": n * features[f"bytes_{g}"] for g in BYTE_GROUPS},
        "kernels": steps * (features["kernels_forward"] + features["kernels_backward"]),
        "samples": n,
        "param_updates": steps * features["params"],
    }


# --------------------------------------------------------------------------- fitting (statsmodels)


def fit_static(x_rows: list[dict], y, terms=CANDIDATE_TERMS, premium: dict | None = None) -> dict:
    """Fit the static-feature model ``y = sum_k c_k x_k`` (no intercept) by WLS with weights ``1/y^2``.

    ``premium`` (from :func:`fit_matmul_premium`), where given, is the measured
    extra cost of a matrix-product MAC in FP32 over TF32 (PyTorch's default
    precision runs convolutions in TF32 but matrix products in FP32): its part
    ``premium x matmul`` is taken off ``y`` before the fit and added back by
    :func:`predict_static`.

    Matrix-product MACs, absent from every run or with a coefficient not positive, are merged into the
    convolution term (priced like a convolution's MAC), a byte group likewise into ``bytes_other``
    (:data:`_MERGE_INTO`); any other term with a coefficient not positive is dropped; the fit is
    repeated until every coefficient is positive.

    Parameters
    ----------
    x_rows : list of dict
        :func:`regressors` of each run.
    y : array-like
        Measured per-epoch energy [J] (or duration [s]) of each run.

    Returns
    -------
    dict
        JSON-able: ``terms`` (name, components, coef, 95 % ci, unit, p-value),
        ``cov`` (coefficient covariance), ``sigma_rel`` (residual relative
        standard deviation), ``df_resid``, ``t_pi`` (Student t quantile of the
        90 % prediction interval), ``n_runs``, ``dropped`` and ``merged`` (term -> the term it joined).
    """
    import numpy as np
    import statsmodels.api as sm
    from scipy import stats

    y = np.asarray(y, dtype=float)
    prem = premium["coef"] if premium else 0.0
    y_fit = y - prem * np.array([r["matmul"] for r in x_rows], dtype=float)
    groups = {t: [t] for t in terms}
    merged, dropped = {}, []

    def merge_or_drop(t):
        """A MAC kind or byte group is priced like its :data:`_MERGE_INTO` term from now on; any other leaves."""
        into = _MERGE_INTO.get(t)
        if into in groups:
            groups[into] += groups.pop(t)
            merged[t] = into
        else:
            groups.pop(t)
            dropped.append(t)

    for t in terms:  # a kind absent from every run cannot be priced on its own
        if t in groups and not any(r[t] for r in x_rows):
            merge_or_drop(t)
    while True:
        names = list(groups)
        X = np.array([[sum(r[c] for c in groups[n]) for n in names] for r in x_rows], dtype=float)
        res = sm.WLS(y_fit, X, weights=1.0 / y**2).fit()
        params = np.asarray(res.params)
        bad = [n for n, p in zip(names, params) if not p > 0]
        if not bad:
            break
        merge_or_drop(min(bad, key=lambda n: params[names.index(n)] / (np.asarray(res.bse)[names.index(n)] or 1)))
        if not groups:
            raise ValueError("no term of the static-feature model has a positive coefficient")
    ci = np.asarray(res.conf_int(alpha=0.05))
    df = float(res.df_resid)
    return {
        "terms": [{"name": n, "components": groups[n], "coef": float(p), "ci_low": float(lo), "ci_high": float(hi),
                   "se": float(se), "p_value": float(pv), "unit": _UNITS[n], "per": _DESCRIPTIONS[n]}
                  for n, p, (lo, hi), se, pv in zip(names, params, ci, np.asarray(res.bse), np.asarray(res.pvalues))],
        "cov": np.asarray(res.cov_params()).tolist(),
        "sigma_rel": float(np.sqrt(res.scale)),
        "df_resid": df,
        "t_pi": float(stats.t.ppf(0.5 + PI_LEVEL / 2, df)),
        "n_runs": int(len(y)),
        "merged": merged,
        "dropped": dropped,
        "matmul_premium": premium,
    }


def predict_static(fit: dict, x: dict, unseen: bool = False, fp32_matmuls: bool = True) -> tuple[float, float, float]:
    """``(estimate, low, high)`` of the static-feature model at regressors ``x`` (90 % prediction interval).

    For a model of the fit, the variance of a new run is
    ``(sigma_rel x estimate)^2 + x' Cov x``; for an architecture outside the
    fit (``unseen``), the interval is ``estimate x (1 +/- t x sigma_rel_unseen)``
    from the leave-one-model-out errors (see :func:`_unseen_spread`), where known.
    The FP32 matrix-product premium of the fit (if any) is added unless
    ``fp32_matmuls`` is false (TF32 matrix products), its uncertainty in quadrature.
    """
    vec = [sum(x[c] for c in t["components"]) for t in fit["terms"]]
    est = sum(t["coef"] * v for t, v in zip(fit["terms"], vec))
    prem = fit.get("matmul_premium") if fp32_matmuls else None
    extra, extra_half = 0.0, 0.0
    if prem:
        extra = prem["coef"] * x["matmul"]
        extra_half = prem["t_pi"] * prem["se"] * x["matmul"]
    sigma_unseen = fit.get("sigma_rel_unseen")
    if unseen and sigma_unseen is not None and sigma_unseen == sigma_unseen:
        half = math.hypot(fit["t_pi_unseen"] * sigma_unseen * (est + extra), extra_half)
    else:
        cov = fit["cov"]
        var_coef = sum(vec[i] * cov[i][j] * vec[j] for i in range(len(vec)) for j in range(len(vec)))
        half = math.hypot(fit["t_pi"] * math.sqrt((fit["sigma_rel"] * (est + extra)) ** 2 + max(var_coef, 0.0)),
                          extra_half)
    est += extra
    return est, max(est - half, 0.0), est + half


def fit_matmul_premium(runs, features: dict, column: str = "epoch_energy_j") -> dict | None:
    """The extra cost of a matrix-product MAC in FP32 over TF32, from the precision rows.

    PyTorch's ``default`` precision lets cuDNN convolutions use TF32 but runs
    matrix products (linear layers, attention) in full FP32; ``tf32`` differs
    from it only there. Regressing the per-epoch difference ``E(default) -
    E(tf32)`` of each model on its forward matrix-product MACs x samples through
    the origin (OLS) gives the premium [J/MAC] (or [s/MAC] for durations).

    Returns
    -------
    dict or None
        ``coef``, ``se``, ``ci`` (95 %), ``t_pi`` (Student t of the 90 % interval),
        ``n`` (models), ``models``, ``gpu``; None without default/tf32 pairs. A
        premium not above zero is returned as 0 (no premium).
    """
    import numpy as np
    import statsmodels.api as sm
    from scipy import stats

    sub = runs[(runs["csv"] == "kpi_precision") & runs["precision"].isin(["default", "tf32"])]
    if sub.empty:
        return None
    keys = ["gpu_name", "model", "dataset", "in_channels", "num_classes", "n_train", "image_size", "batch_size"]
    means = sub.groupby(["precision", *keys])[column].mean()
    if not {"default", "tf32"} <= set(means.index.get_level_values(0)):
        return None
    diff = (means.loc["default"] - means.loc["tf32"]).dropna().reset_index()
    if len(diff) < 2:
        return None
    x = np.array([features[feature_key(r.model, r.in_channels, r.num_classes, r.image_size)]["macs_matmul"]
                  * r.n_train for r in diff.itertuples()])
    res = sm.OLS(diff[column].to_numpy(dtype=float), x[:, None]).fit()
    coef, se = float(res.params[0]), float(res.bse[0])
    lo, hi = (float(v) for v in np.asarray(res.conf_int(alpha=0.05))[0])
    if not coef > 0:
        coef, se, lo, hi = 0.0, 0.0, 0.0, 0.0
    return {"coef": coef, "se": se, "ci": [lo, hi], "t_pi": float(stats.t.ppf(0.5 + PI_LEVEL / 2, len(diff) - 1)),
            "n": int(len(diff)), "models": sorted(diff["model"]), "gpu": sorted(set(diff["gpu_name"])),
            "unit": "J/MAC" if column.endswith("_j") else "s/MAC",
            "per": "extra cost of a matrix-product MAC in FP32 over TF32 (default vs tf32 rows)"}


def fit_thesis(macs_times_samples, y) -> dict:
    """The thesis' model ``E = HC x MACs x N`` through the origin (OLS), and its log-log regression.

    Parameters
    ----------
    macs_times_samples : array-like
        Forward MACs per sample (thop) x samples per epoch [MAC].
    y : array-like
        Energy per epoch [J].

    Returns
    -------
    dict
        ``hc_j_per_mac`` with its 95 % ``hc_ci``, ``r2`` (uncentred, as
        statsmodels reports it without a constant), ``s`` (residual standard
        deviation [J]), ``sum_x2``, ``df_resid``, ``t_pi``, ``n_runs``;
        ``loglog``: ``slope``, ``intercept`` (log10 J), their 95 % CIs, ``r2``,
        ``s`` (log10 residual sd), ``t_pi``, ``x_mean``, ``sxx`` (for intervals).
    """
    import numpy as np
    import statsmodels.api as sm
    from scipy import stats

    x = np.asarray(macs_times_samples, dtype=float)
    y = np.asarray(y, dtype=float)
    res = sm.OLS(y, x[:, None]).fit()
    lo, hi = np.asarray(res.conf_int(alpha=0.05))[0]
    lx, ly = np.log10(x), np.log10(y)
    ll = sm.OLS(ly, sm.add_constant(lx)).fit()
    llci = np.asarray(ll.conf_int(alpha=0.05))
    t = lambda df: float(stats.t.ppf(0.5 + PI_LEVEL / 2, df))  # noqa: E731
    return {
        "hc_j_per_mac": float(res.params[0]), "hc_ci": [float(lo), float(hi)], "r2": float(res.rsquared),
        "s": float(np.sqrt(res.scale)), "sum_x2": float((x**2).sum()), "df_resid": float(res.df_resid),
        "t_pi": t(res.df_resid), "n_runs": int(len(y)),
        "loglog": {"slope": float(ll.params[1]), "intercept": float(ll.params[0]),
                   "slope_ci": [float(v) for v in llci[1]], "intercept_ci": [float(v) for v in llci[0]],
                   "r2": float(ll.rsquared), "s": float(np.sqrt(ll.scale)), "t_pi": t(ll.df_resid),
                   "x_mean": float(lx.mean()), "sxx": float(((lx - lx.mean()) ** 2).sum()), "n": int(len(y))},
    }


def predict_thesis(fit: dict, macs_times_samples: float) -> tuple[float, float, float]:
    """``(estimate, low, high)`` [J] of ``HC x MACs x N`` with its 90 % prediction interval (OLS through the origin)."""
    x = float(macs_times_samples)
    est = fit["hc_j_per_mac"] * x
    half = fit["t_pi"] * fit["s"] * math.sqrt(1 + x * x / fit["sum_x2"])
    return est, max(est - half, 0.0), est + half


def predict_loglog(fit: dict, macs_times_samples: float) -> tuple[float, float, float]:
    """``(estimate, low, high)`` [J] of the thesis' log-log regression (90 % prediction interval)."""
    ll = fit["loglog"]
    lx = math.log10(float(macs_times_samples))
    mean = ll["intercept"] + ll["slope"] * lx
    half = ll["t_pi"] * ll["s"] * math.sqrt(1 + 1 / ll["n"] + (lx - ll["x_mean"]) ** 2 / ll["sxx"])
    return 10**mean, 10 ** (mean - half), 10 ** (mean + half)


def fit_factor(ratios) -> dict:
    """A multiplicative factor (precision, GPU) from measured ratios: geometric mean, 95 % CI, log sd."""
    import numpy as np
    from scipy import stats

    lr = np.log(np.asarray(ratios, dtype=float))
    n = len(lr)
    mean = float(lr.mean())
    sd = float(lr.std(ddof=1)) if n > 1 else 0.0
    tq = float(stats.t.ppf(0.975, n - 1)) if n > 1 else float("nan")
    se = sd / math.sqrt(n) if n > 1 else float("nan")
    return {"factor": math.exp(mean), "ci": [math.exp(mean - tq * se), math.exp(mean + tq * se)] if n > 1 else
            [float("nan"), float("nan")], "log_sd": sd, "n": n,
            "t_pi": float(stats.t.ppf(0.5 + PI_LEVEL / 2, n - 1)) if n > 1 else float("nan")}


# --------------------------------------------------------------------------- recorded rows -> fits


#: CSVs of ``results/raw`` whose zoo rows may enter a fit (``train`` rows)
ZOO_CSVS = ("kpi_macs", "kpi_cifar10", "kpi_batch_size", "kpi_datasets", "kpi_extrapolation", "kpi_epochs",
            "kpi_hardware", "kpi_hardware_h200", "kpi_precision", "kpi_cifar10_pair", "kpi_macs_h200")
#: the synthetic architectures' CSV (:mod:`greenai.models.synthetic`): fitted beside the zoo
SYNTHETIC_CSV = "kpi_synthetic"
#: architectures outside the zoo that were held-out sets once, tests of earlier versions of this model:
#: torchvision (sets 1 to 3) and timm families (set 4); fitted since the next set was chosen
FORMER_HELDOUT_CSVS = ("kpi_heldout", "kpi_heldout2", "kpi_heldout3", "kpi_heldout4")
#: CSVs whose rows may enter a fit
FIT_CSVS = ZOO_CSVS + (SYNTHETIC_CSV,) + FORMER_HELDOUT_CSVS
#: the held-out architectures' CSVs (never fitted): set 5, timm families that none of the other rows has,
#: measured after the coefficients had been frozen; its zoo rows (anchors) measure the card
HELDOUT_CSVS = ("kpi_heldout5",)
#: the split name of each CSV of architectures outside the zoo in the validation table
HELDOUT_SPLITS = {"kpi_heldout": "heldout", "kpi_heldout2": "heldout2", "kpi_heldout3": "heldout3",
                  "kpi_heldout4": "heldout4", "kpi_heldout5": "heldout5"}
#: a GPU needs this many distinct zoo models at default precision for its own static-feature fit
MIN_MODELS_OWN_FIT = 8


#: what every feature entry must hold (an entry from an older file or cache without one is computed anew)
FEATURE_KEYS = ("macs_conv_dense", "macs_conv_depthwise", "macs_conv_grouped", "conv_narrow_elements", "macs_matmul",
                "bytes_forward", "bytes_backward", "bytes_elementwise", "bytes_norm", "bytes_other",
                "kernels_forward", "kernels_backward", "params", "macs")


def _complete(entry) -> bool:
    return isinstance(entry, dict) and all(k in entry for k in FEATURE_KEYS)


def feature_key(model: str, in_channels: int, num_classes: int, image_size: int = IMAGE_SIZE) -> str:
    return f"{model}|{int(in_channels)}|{int(num_classes)}|{int(image_size)}"


def feature_table(keys, known: dict | None = None, log=None) -> dict:
    """Static features of ``(model, in_channels, num_classes, image_size)`` keys (computed where not in ``known``)."""
    out = {}
    for model, c, k, s in keys:
        key = feature_key(model, c, k, s)
        if known and _complete(known.get(key)):
            out[key] = known[key]
            continue
        if log:
            log(f"static features of {model} ({c}x{s}x{s}, {k} classes)")
        feats = compute_model_features(model, int(c), int(k), int(s))
        out[key] = {k2: v for k2, v in feats.items() if k2 not in ("model", "family", "in_channels", "num_classes",
                                                                   "image_size")} | {"family": feats["family"]}
    return out


def load_runs(raw_dir=None, include_heldout: bool = True):
    """Per-run rows (one per model, dataset, batch, precision, repeat, GPU) of the prediction CSVs.

    Each measured window or epoch of a run is averaged (:func:`greenai.analysis.per_run`); the
    column ``csv`` says where the run came from, ``heldout`` marks the held-out rows (never fitted),
    ``synthetic`` the synthetic architectures, ``former_heldout`` the architectures of the earlier
    held-out sets (:data:`FORMER_HELDOUT_CSVS`) and ``anchor`` the zoo models measured beside a held-out
    set on its card (rows of a zoo model in a held-out CSV; they count as zoo rows, and those of the
    current held-out set measure its card). Missing CSVs are skipped.
    """
    import pandas as pd

    from greenai import analysis as an

    frames = []
    for name in FIT_CSVS + (HELDOUT_CSVS if include_heldout else ()):
        try:
            rows = an.load_results(name, raw_dir)
        except an.MissingResultsError:
            continue
        rows = rows[rows["epoch_energy_j"].notna()]
        if rows.empty:
            continue
        runs = an.per_run(rows, extra_keys=("in_channels", "num_classes", "n_train", "image_size"))
        runs["csv"] = name
        runs["heldout"] = name in HELDOUT_CSVS
        runs["synthetic"] = name == SYNTHETIC_CSV
        runs["former_heldout"] = name in FORMER_HELDOUT_CSVS
        frames.append(runs)
    if not frames:
        return pd.DataFrame()
    out = pd.concat(frames, ignore_index=True)
    out["anchor"] = (out["csv"].isin(FORMER_HELDOUT_CSVS + HELDOUT_CSVS)
                     & out["model"].isin(set(out.loc[out["csv"].isin(ZOO_CSVS), "model"])))
    out.loc[out["anchor"], "former_heldout"] = False
    return out[out["image_size"] == IMAGE_SIZE].reset_index(drop=True)


def _x(run, features: dict) -> dict:
    f = features[feature_key(run["model"], run["in_channels"], run["num_classes"], run["image_size"])]
    return regressors(f, run["n_train"], run["batch_size"])


def _macs_n(run, features: dict) -> float:
    f = features[feature_key(run["model"], run["in_channels"], run["num_classes"], run["image_size"])]
    return float(f["macs"]) * float(run["n_train"])


def fit_gpu(runs, features: dict, premium: dict | None = None, targets=("energy_j", "duration_s")) -> dict:
    """Both models fitted on one GPU's default-precision zoo runs (energy and duration per epoch).

    ``premium``: ``{"energy_j": ..., "duration_s": ...}`` of :func:`fit_matmul_premium` (or None);
    ``targets``: the per-epoch quantities the static-feature model is fitted to (validation needs energy only).
    """
    premium = premium or {}
    recs = runs.to_dict("records")
    xs = [_x(r, features) for r in recs]
    zoo = runs[~_beyond_zoo(runs)]  # the thesis' model is fitted on its zoo
    out = {"n_runs": len(recs), "n_models": int(runs["model"].nunique()),
           "csvs": sorted(set(runs["csv"])), "thesis": fit_thesis([_macs_n(r, features) for r in zoo.to_dict("records")],
                                                                   zoo["epoch_energy_j"])}
    out["models"] = sorted(runs["model"].unique())
    if out["n_models"] >= MIN_MODELS_OWN_FIT:
        out["static"] = {}
        for target in targets:
            fit = fit_static(xs, runs[f"epoch_{target}"], premium=premium.get(target))
            fit.update(_unseen_spread(runs, xs, f"epoch_{target}", premium.get(target)))
            out["static"][target] = fit
    return out


def _unseen_spread(runs, xs: list[dict], column: str, premium: dict | None = None) -> dict:
    """The error of the static-feature model on an architecture it has not seen.

    Each model is left out in turn, the model refitted on the others and its
    runs predicted; ``sigma_rel_unseen`` is the root mean square of those
    relative errors (one value per left-out model, the mean over its runs),
    ``t_pi_unseen`` the Student t quantile with (models - 1) degrees of freedom.
    The prediction interval of a model outside the fit uses these instead of
    the in-sample residuals (which understate the error on a new architecture).
    """
    import numpy as np
    from scipy import stats

    models = runs["model"].to_numpy()
    y = runs[column].to_numpy(dtype=float)
    errs = []
    for m in sorted(set(models)):
        train = models != m
        try:
            fit = fit_static([x for x, t in zip(xs, train) if t], y[train], premium=premium)
        except ValueError:
            continue
        pred = np.array([predict_static(fit, x)[0] for x, t in zip(xs, train) if not t])
        errs.append(float(np.mean(pred / y[~train] - 1)))
    if len(errs) < 3:
        return {"sigma_rel_unseen": float("nan"), "t_pi_unseen": float("nan"), "n_unseen": len(errs)}
    return {"sigma_rel_unseen": float(np.sqrt(np.mean(np.square(errs)))),
            "t_pi_unseen": float(stats.t.ppf(0.5 + PI_LEVEL / 2, len(errs) - 1)), "n_unseen": len(errs)}


def _beyond_zoo(runs):
    """Which rows are of architectures outside the zoo that may be fitted (synthetic, earlier held-out sets)."""
    out = runs["model"] != runs["model"]
    for column in ("synthetic", "former_heldout"):
        if column in runs:
            out |= runs[column].astype(bool)
    return out


def _matched_ratio(runs, gpu: str, reference: str, by=("model", "dataset", "batch_size", "precision")):
    """Per-condition ratios ``E(gpu) / E(reference)`` over conditions both GPUs ran (means over repeats)."""
    means = runs.groupby(["gpu_name", *by])[["epoch_energy_j", "epoch_duration_s"]].mean()
    a = means.loc[gpu]
    b = means.loc[reference]
    both = a.index.intersection(b.index)
    return a.loc[both] / b.loc[both]


def _gpus_by_rows(default_runs) -> list[str]:
    """GPU names, the one with the most zoo models first (then the most runs, then by name): the reference.

    Architectures beyond the zoo do not count: the reference is the GPU the thesis' zoo was measured on most.
    """
    default_runs = default_runs[~_beyond_zoo(default_runs)]
    g = default_runs.groupby("gpu_name").agg(models=("model", "nunique"), runs=("model", "size")).reset_index()
    g = g.sort_values(["models", "runs", "gpu_name"], ascending=[False, False, True], kind="stable")
    return [str(n) for n in g["gpu_name"]]


def _premiums(zoo, features: dict, reference: str) -> dict:
    """:func:`fit_matmul_premium` per GPU with precision rows: ``{gpu: {"energy_j": ..., "duration_s": ...}}``."""
    out = {}
    for gpu in zoo["gpu_name"].unique():
        on_gpu = zoo[zoo["gpu_name"] == gpu]
        e = fit_matmul_premium(on_gpu, features, "epoch_energy_j")
        if e is not None:
            out[str(gpu)] = {"energy_j": e, "duration_s": fit_matmul_premium(on_gpu, features, "epoch_duration_s")}
    return out


def fit_coefficients(runs, features: dict) -> dict:
    """Every coefficient :func:`predict_run` needs, from per-run rows (:func:`load_runs`, zoo only).

    Returns the JSON-able mapping shipped as :data:`COEFFICIENTS_PATH` (without
    ``features`` and ``datasets``, which :func:`build_coefficients` adds).
    """
    zoo = runs[~runs["heldout"]]
    default = zoo[zoo["precision"] == "default"]
    gpus = _gpus_by_rows(default)
    reference = gpus[0]
    fits = {}
    premium = _premiums(zoo, features, reference)
    for gpu in gpus:
        sub = default[default["gpu_name"] == gpu]
        fits[str(gpu)] = fit_gpu(sub, features, premium.get(str(gpu)) or premium.get(reference))
        fits[str(gpu)]["source"] = "own rows"
    for gpu, f in fits.items():
        if "static" in f:
            continue
        ratio = _matched_ratio(default, gpu, reference)
        f["source"] = f"{reference} static-feature model x GPU factor"
        f["gpu_factor"] = {"reference": reference, "energy_j": fit_factor(ratio["epoch_energy_j"]),
                           "duration_s": fit_factor(ratio["epoch_duration_s"]),
                           "conditions": [list(map(str, i)) for i in ratio.index]}
    for gpu, f in fits.items():  # the thesis' HC for every precision measured on this GPU
        on_gpu = zoo[(zoo["gpu_name"] == gpu) & (zoo["precision"] != "default")]
        f["thesis_by_precision"] = {"default": f["thesis"]}
        for p, sub in on_gpu.groupby("precision"):
            if len(sub) >= 2:
                f["thesis_by_precision"][str(p)] = fit_thesis([_macs_n(r, features) for r in sub.to_dict("records")],
                                                              sub["epoch_energy_j"])
    precision = {}
    prec = zoo[zoo["precision"] != "default"]
    for gpu in prec["gpu_name"].unique():
        sub = zoo[(zoo["gpu_name"] == gpu) & zoo["model"].isin(prec[prec["gpu_name"] == gpu]["model"])
                  & zoo["dataset"].isin(prec[prec["gpu_name"] == gpu]["dataset"]) & (zoo["csv"] == "kpi_precision")]
        means = sub.groupby(["precision", "model", "dataset", "batch_size"])[["epoch_energy_j", "epoch_duration_s"]].mean()
        if "default" not in means.index.get_level_values(0):
            continue
        base = means.loc["default"]
        for p in sorted(set(means.index.get_level_values(0)) - {"default"}):
            r = (means.loc[p] / base).dropna()
            precision.setdefault(str(gpu), {})[p] = {"energy_j": fit_factor(r["epoch_energy_j"]),
                                                     "duration_s": fit_factor(r["epoch_duration_s"]),
                                                     "models": sorted({i[0] for i in r.index})}
    return {"reference_gpu": reference, "fits": fits, "precision_factors": precision,
            "rows": {c: int((zoo["csv"] == c).sum()) for c in sorted(set(zoo["csv"]))}}


def build_coefficients(raw_dir=None, features: dict | None = None, log=None) -> dict:
    """Refit everything from ``results/raw`` (every row but the held-out ones) and return the shipped mapping.

    ``features`` defaults to the shipped ones (computed anew where a key is missing,
    which needs torch); every zoo model x dataset shape and every held-out
    architecture's Fashion-MNIST shape is included so that predicting them needs no torch.
    """
    from greenai.models import MODEL_NAMES
    from greenai.models.sets import HELDOUT_SETS

    ds = _dataset_table()
    known = features if features is not None else _shipped_features()
    keys = {(m, d["channels"], d["num_classes"], IMAGE_SIZE) for m in MODEL_NAMES for d in ds.values()}
    keys |= {(m, ds["fashion_mnist"]["channels"], ds["fashion_mnist"]["num_classes"], IMAGE_SIZE)
             for models in HELDOUT_SETS.values() for m in models}
    runs = load_runs(raw_dir)
    keys |= {(r.model, int(r.in_channels), int(r.num_classes), int(r.image_size)) for r in runs.itertuples()}
    feats = feature_table(sorted(keys), known, log=log)
    out = {"version": 1, "image_size": IMAGE_SIZE, "pi_level": PI_LEVEL,
           "note": "fitted by notebooks/05_prediction.py from results/raw (zoo, synthetic and earlier held-out "
                   "sets' rows; the current held-out set, kpi_heldout5, never enters a fit); per-epoch energy [J] "
                   "and duration [s]",
           "datasets": ds, **fit_coefficients(runs, feats), "features": dict(sorted(feats.items()))}
    return out


def _dataset_table() -> dict:
    from greenai.data import DATASETS

    return {k: {"channels": int(v.channels), "num_classes": int(v.num_classes), "n_train": int(v.n_train),
                "display_name": v.display_name} for k, v in DATASETS.items()}


def _shipped_features() -> dict:
    try:
        return dict(load_coefficients()["features"])
    except (FileNotFoundError, KeyError):
        return {}


def write_coefficients(coefficients: dict, path: str | Path | None = None) -> Path:
    """Write the mapping of :func:`build_coefficients` as JSON (:func:`portable_coefficients`)."""
    path = Path(path) if path is not None else COEFFICIENTS_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(portable_coefficients(coefficients), indent=1, sort_keys=True) + "\n")
    load_coefficients.cache_clear()
    return path


#: significant digits of a float in the shipped coefficients: the digits beyond are the last bits of
#: the fit's arithmetic, which differ between BLAS kernels and processors
COEFFICIENT_DIGITS = 12


def portable_coefficients(coefficients: dict) -> dict:
    """The mapping of :func:`build_coefficients` as it is shipped: JSON types, floats at
    :data:`COEFFICIENT_DIGITS` significant digits (the same on every machine); compare a refit
    with :func:`load_coefficients` through it."""
    def rounded(obj):
        if isinstance(obj, dict):
            return {k: rounded(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [rounded(v) for v in obj]
        if isinstance(obj, float):
            return float(f"{obj:.{COEFFICIENT_DIGITS}g}")
        return obj

    return rounded(_jsonable(coefficients))


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if hasattr(obj, "item"):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


@functools.lru_cache(maxsize=4)
def load_coefficients(path: str | None = None) -> dict:
    """The shipped coefficients (no torch, no statsmodels needed)."""
    p = Path(path) if path is not None else COEFFICIENTS_PATH
    if not p.exists():
        raise FileNotFoundError(f"{p} is missing; run notebooks/05_prediction.py to fit and write it")
    return json.loads(p.read_text())


# --------------------------------------------------------------------------- factors and per-GPU fits


def _scale(triple, factor: dict | None):
    """Multiply an (estimate, low, high) by a fitted factor, widening the interval by its spread."""
    if not factor:
        return triple
    est, lo, hi = triple
    f = factor["factor"]
    sd = factor["log_sd"] or 0.0
    t = factor["t_pi"] if factor["t_pi"] == factor["t_pi"] else 0.0  # NaN for one ratio
    widen = math.exp(t * sd * math.sqrt(1 + 1 / max(factor["n"], 1)))
    return est * f, lo * f / widen, hi * f * widen


def _gpu_fit_for(coeffs: dict, gpu: str):
    """``(fit, gpu_factor)`` for predicting on ``gpu``: its own static fit, or the reference's x factor."""
    fits = coeffs["fits"]
    if gpu not in fits:
        return None, None
    own = fits[gpu]
    if "static" in own:
        return own, None
    ref = fits[own["gpu_factor"]["reference"]]
    return {"thesis": own["thesis"], "static": ref["static"], "models": ref["models"]}, own["gpu_factor"]["energy_j"]


# --------------------------------------------------------------------------- predicting a run


@dataclass
class Prediction:
    """A training run's predicted energy and duration, with 90 % prediction intervals.

    The per-epoch error of a model repeats every epoch (a model mispriced once is
    mispriced every epoch), so the run's interval is ``epochs`` times the
    epoch's interval, not narrower.

    Attributes
    ----------
    energy_j, energy_low_j, energy_high_j : float
        Whole run [J], with the 90 % prediction interval.
    duration_s, duration_low_s, duration_high_s : float
        Whole run [s] (training steps only; no evaluation, no start-up).
    epoch_energy_j, epoch_energy_low_j, epoch_energy_high_j : float
        One epoch [J].
    epoch_duration_s : float
        One epoch [s].
    thesis_energy_j : float
        The thesis' ``HC x MACs x N x epochs`` for the same run [J] (baseline).
    gpu, precision : str
        What the coefficients were fitted for (``gpu`` as NVML names it).
    features_source : str
        ``shipped`` (precomputed) or ``computed`` (static pass on the spot).
    notes : list of str
        How the prediction was derived where it is not a plain fit (GPU or precision factor).
    """

    model: str
    dataset: str
    epochs: int
    batch_size: int
    gpu: str
    precision: str
    energy_j: float
    energy_low_j: float
    energy_high_j: float
    duration_s: float
    duration_low_s: float
    duration_high_s: float
    epoch_energy_j: float
    epoch_energy_low_j: float
    epoch_energy_high_j: float
    epoch_duration_s: float
    thesis_energy_j: float
    samples_per_epoch: int
    features_source: str
    notes: list = field(default_factory=list)

    @property
    def energy_kwh(self) -> float:
        """Whole run [kWh]."""
        return self.energy_j / J_PER_KWH

    def as_dict(self) -> dict:
        return {**asdict(self), "energy_kwh": self.energy_kwh}


def _positive_int(name: str, value) -> int:
    try:
        ok = int(value) == value and int(value) >= 1
    except (TypeError, ValueError):
        ok = False
    if not ok or isinstance(value, bool):
        raise InvalidRunError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def _resolve_dataset(coeffs: dict, dataset: str) -> str:
    key = str(dataset).strip().lower().replace("-", "_")
    key = _DATASET_ALIASES.get(key, key)
    if key not in coeffs["datasets"]:
        raise UnknownDatasetError(f"unknown dataset {dataset!r}; known datasets: {', '.join(coeffs['datasets'])}")
    return key


def _resolve_gpu(coeffs: dict, gpu: str | None) -> str:
    names = list(coeffs["fits"])
    if gpu is None:
        return coeffs["reference_gpu"]
    want = str(gpu).strip().lower()
    exact = [n for n in names if n.lower() == want]
    if exact:
        return exact[0]
    hits = [n for n in names if want and want in n.lower()]
    if len(hits) == 1:
        return hits[0]
    raise UnknownGpuError(f"unknown GPU {gpu!r}; coefficients exist for: {', '.join(names)}"
                          + (" (the name matches several; be more specific)" if hits else ""))


def _synthetic_names() -> tuple[str, ...]:
    """The synthetic training architectures (buildable by name, but not offered to users)."""
    try:
        from greenai.models.synthetic import SYNTHETIC_NAMES
    except ImportError:  # torch missing
        return ()
    return SYNTHETIC_NAMES


def _known_model_names(coeffs: dict) -> list[str]:
    names = sorted({k.split("|")[0] for k in coeffs["features"]} - set(_synthetic_names()))
    try:
        from greenai.models.torchvision_models import torchvision_names

        names = sorted(set(names) | set(torchvision_names()))
    except ImportError:
        pass
    return names


def model_features(model: str, dataset: str, image_size: int = IMAGE_SIZE, coefficients: dict | None = None):
    """``(features, source)`` of a model on a dataset's shape: shipped, else computed (torch) and cached."""
    coeffs = coefficients or load_coefficients()
    ds = coeffs["datasets"][_resolve_dataset(coeffs, dataset)]
    name = str(model).strip().lower().replace("-", "_")
    key = feature_key(name, ds["channels"], ds["num_classes"], image_size)
    if key in coeffs["features"]:
        return coeffs["features"][key], "shipped"
    cache = _cache_path()
    cached = _read_cache(cache)
    if _complete(cached.get(key)):
        return cached[key], "computed (cached)"
    try:
        from greenai import models
    except ImportError as exc:  # torch missing
        raise UnknownModelError(f"model {model!r} is not in the shipped features and torch is not importable "
                                f"({exc}); shipped: {', '.join(sorted({k.split('|')[0] for k in coeffs['features']}))}"
                                ) from None
    try:
        models.model_info(name)
    except models.TimmMissingError as exc:  # timm:NAME without timm: say how to install it
        raise UnknownModelError(str(exc)) from None
    except models.UnknownModelError:
        from greenai.models.timm_models import TIMM_HINT

        raise UnknownModelError(f"unknown model {model!r}; known models: {', '.join(_known_model_names(coeffs))}; "
                                f"{TIMM_HINT}") from None
    feats = feature_table([(name, ds["channels"], ds["num_classes"], image_size)])[key]
    cached[key] = feats
    _write_cache(cache, cached)
    return feats, "computed"


def _cache_path() -> Path:
    return paths.data_dir() / "cache" / "predict_features.json"


def _read_cache(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _write_cache(path: Path, data: dict) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(_jsonable(data), sort_keys=True))
        tmp.replace(path)
    except OSError:
        pass  # a read-only data folder only costs recomputation


def predict_run(model: str, dataset: str, epochs: int, batch_size: int, gpu: str | None = None,
                precision: str | None = None) -> Prediction:
    """Predict the energy and duration of training ``model`` on ``dataset`` before it starts.

    Parameters
    ----------
    model : str
        A zoo model (:data:`greenai.models.MODEL_NAMES`), any torchvision
        classification model or ``timm:NAME`` (timm installed), adapted to the
        dataset's channels and classes.
    dataset : str
        ``fashion_mnist``, ``cifar10`` or ``cifar100`` (images resized to 224x224).
    epochs, batch_size : int
        At least 1; the batch at most the dataset's training samples. A run
        predicted to last more than a year gets a note.
    gpu : str, optional
        A GPU with coefficients (case-insensitive, a unique part of the name
        such as ``h200`` suffices); default the GPU with the most zoo rows.
    precision : str, optional
        ``default`` (PyTorch's defaults), or a measured one (``fp32``, ``tf32``, ``bf16``).

    Returns
    -------
    Prediction

    Raises
    ------
    UnknownModelError, UnknownDatasetError, UnknownGpuError, UnmeasuredPrecisionError, InvalidRunError
        All :class:`PredictionError` (a ``ValueError``), with a message listing what is valid.
    """
    epochs = _positive_int("epochs", epochs)
    batch_size = _positive_int("batch size", batch_size)
    coeffs = load_coefficients()
    ds_key = _resolve_dataset(coeffs, dataset)
    gpu_name = _resolve_gpu(coeffs, gpu)
    prec = "default" if precision is None else str(precision).strip().lower()
    notes: list[str] = []
    factor = None
    if prec != "default":
        measured = {g: p for g, p in coeffs["precision_factors"].items() if prec in p}
        if not measured:
            known = sorted({"default"} | {p for f in coeffs["precision_factors"].values() for p in f})
            raise UnmeasuredPrecisionError(f"precision {precision!r} was never measured; measured precisions: "
                                           f"{', '.join(known)}")
        src = gpu_name if gpu_name in measured else coeffs["reference_gpu"] if coeffs["reference_gpu"] in measured \
            else sorted(measured)[0]
        factor = measured[src][prec]
        if prec == "tf32":
            notes.append("tf32: matrix products priced like dense convolutions (no FP32 premium); the thesis "
                         f"model x the tf32/default ratio measured on {src}")
        else:
            notes.append(f"{prec}: the default-precision prediction x {factor['energy_j']['factor']:.3f} (energy) "
                         f"and x {factor['duration_s']['factor']:.3f} (time), ratios measured on {src} "
                         f"({', '.join(factor['models'])})")
    feats, source = model_features(model, ds_key, coefficients=coeffs)
    model_name = str(model).strip().lower().replace("-", "_")
    n = coeffs["datasets"][ds_key]["n_train"]
    if batch_size > n:
        raise InvalidRunError(f"batch size {batch_size} is larger than the {int(n):,} training samples of {ds_key}: "
                              "an epoch would be one partial batch, a run nothing was measured on")
    x = regressors(feats, n, batch_size)
    fit, gpu_factor = _gpu_fit_for(coeffs, gpu_name)
    if gpu_factor is not None:
        notes.append(f"{gpu_name}: too few zoo models for its own fit; {coeffs['fits'][gpu_name]['source']} "
                     f"{gpu_factor['factor']:.3f}")
    unseen = model_name not in fit["models"]
    if unseen:
        notes.append(f"{model_name} is not among the models the coefficients were fitted on: the interval is "
                     "the leave-one-model-out error of the static-feature model")
    # tf32 differs from the default precision only in the matrix products (the static model prices that);
    # fp32 and bf16 change every operator: their measured ratio to the default scales the prediction
    fp32_matmuls = prec != "tf32"
    static_factor = factor if factor and prec != "tf32" else None
    energy = _scale(_scale(predict_static(fit["static"]["energy_j"], x, unseen, fp32_matmuls), gpu_factor),
                    static_factor["energy_j"] if static_factor else None)
    dur_factor = coeffs["fits"][gpu_name].get("gpu_factor", {}).get("duration_s")
    duration = _scale(_scale(predict_static(fit["static"]["duration_s"], x, unseen, fp32_matmuls), dur_factor),
                      static_factor["duration_s"] if static_factor else None)
    if duration[0] * epochs > LONG_RUN_S:
        notes.append(f"{epochs:,} epochs take about {duration[0] * epochs / YEAR_S:,.3g} years at the predicted "
                     "pace: check --epochs")
    own_hc = coeffs["fits"][gpu_name].get("thesis_by_precision", {}).get(prec)
    if own_hc is not None:  # HC fitted on this GPU in this precision
        thesis = predict_thesis(own_hc, float(feats["macs"]) * n)
    else:
        thesis = _scale(predict_thesis(fit["thesis"], float(feats["macs"]) * n), factor["energy_j"] if factor else None)
    return Prediction(
        model=model_name, dataset=ds_key, epochs=epochs, batch_size=batch_size,
        gpu=gpu_name, precision=prec,
        energy_j=energy[0] * epochs, energy_low_j=energy[1] * epochs, energy_high_j=energy[2] * epochs,
        duration_s=duration[0] * epochs, duration_low_s=duration[1] * epochs, duration_high_s=duration[2] * epochs,
        epoch_energy_j=energy[0], epoch_energy_low_j=energy[1], epoch_energy_high_j=energy[2],
        epoch_duration_s=duration[0], thesis_energy_j=thesis[0] * epochs, samples_per_epoch=int(n),
        features_source=source, notes=notes)


# --------------------------------------------------------------------------- tables of notebook 05 (its figures: greenai.figures.ch4)


def coefficient_table(coeffs: dict):
    """The fitted coefficients with units and 95 % intervals, one row per GPU, target and term."""
    import pandas as pd

    rows = []
    for gpu, f in coeffs["fits"].items():
        for prec, th in f.get("thesis_by_precision", {"default": f["thesis"]}).items():
            rows.append({"gpu_name": gpu, "model": "thesis", "target": "energy_j", "term": "HC (MACs x N)",
                         "precision": prec, "coef": th["hc_j_per_mac"], "ci_low": th["hc_ci"][0],
                         "ci_high": th["hc_ci"][1], "unit": "J/MAC", "n_runs": th["n_runs"], "source": "own rows"})
        for target, fit in f.get("static", {}).items():
            for t in fit["terms"]:
                rows.append({"gpu_name": gpu, "model": "static_features", "target": target,
                             "term": "+".join(t["components"]), "coef": t["coef"], "ci_low": t["ci_low"],
                             "ci_high": t["ci_high"], "unit": t["unit"].replace("J/", "s/") if target == "duration_s"
                             else t["unit"], "n_runs": fit["n_runs"], "source": f["source"]})
            prem = fit.get("matmul_premium")
            if prem:
                rows.append({"gpu_name": gpu, "model": "static_features", "target": target,
                             "term": "matmul FP32 premium (default vs tf32)", "coef": prem["coef"],
                             "ci_low": prem["ci"][0], "ci_high": prem["ci"][1], "unit": prem["unit"],
                             "n_runs": prem["n"], "source": "kpi_precision: " + ", ".join(prem["models"])})
        if "gpu_factor" in f:
            g = f["gpu_factor"]["energy_j"]
            rows.append({"gpu_name": gpu, "model": "static_features", "target": "energy_j",
                         "term": f"GPU factor vs {f['gpu_factor']['reference']}", "coef": g["factor"],
                         "ci_low": g["ci"][0], "ci_high": g["ci"][1], "unit": "1", "n_runs": g["n"],
                         "source": f["source"]})
    for gpu, precs in coeffs["precision_factors"].items():
        for p, f in precs.items():
            e = f["energy_j"]
            rows.append({"gpu_name": gpu, "model": "precision factor", "target": "energy_j", "term": p,
                         "coef": e["factor"], "ci_low": e["ci"][0], "ci_high": e["ci"][1], "unit": "1",
                         "n_runs": e["n"], "source": ", ".join(f["models"])})
    return pd.DataFrame(rows)


def thesis_figure_runs(runs, features: dict, gpu: str):
    """The rows behind the thesis' Figs 4.14-4.16: one GPU's zoo runs at default precision and batch 256.

    ``runs`` is :func:`load_runs`'s table; the result adds ``macs_epoch`` (thop
    forward MACs per sample x samples per epoch [MAC]) and keeps the rows of
    ``kpi_macs`` and ``kpi_cifar10`` (held-out architectures excluded).
    """
    r = runs.copy()
    r["macs_epoch"] = [_macs_n(x, features) for x in r.to_dict("records")]
    return r[(r["gpu_name"] == gpu) & (r["precision"] == "default") & (r["batch_size"] == 256) & ~r["heldout"]
             & r["csv"].isin(["kpi_macs", "kpi_cifar10"])]
