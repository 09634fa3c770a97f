"""The two energy models of :mod:`greenai.predict`: their terms and their predictions (no torch, no statsmodels).

The thesis' model ``E_epoch = HC x MACs x N`` (:func:`predict_thesis`, its log-log
regression :func:`predict_loglog`) and the static-feature model, a sum of priced
per-epoch quantities (:data:`FEATURES`, :func:`regressors`, :func:`predict_static`).
Each returns ``(estimate, low, high)`` with the 90 % prediction interval
(:data:`PI_LEVEL`). The models are described in ``docs/prediction.md``.
"""

from __future__ import annotations

import math

from greenai.operators import BYTE_GROUPS

__all__ = ["IMAGE_SIZE", "PI_LEVEL", "J_PER_KWH", "FEATURES", "DATASET_ALIASES", "CANDIDATE_TERMS", "FEATURE_KEYS",
           "has_features", "feature_key", "regressors", "leverage", "predict_static", "predict_thesis",
           "predict_loglog", "scale_prediction", "gpu_fit_for", "UNPRICED_MIN_WIDEN", "unpriced_widening",
           "narrow_norms", "large_kernels", "batch_norm_floor_share", "fitted_batch_norm_floor_share", "TRIALS",
           "TRIAL_TERMS", "TRIAL_REPLACES", "trial_terms", "norm_row_bytes", "LARGE_DEPTHWISE_TAPS",
           "BATCH_NORM_WIDE_CHANNELS", "BATCH_NORM_CHANNEL_S",
           "MISALIGNED_NORM_ROW_FACTOR", "FAMILY_ROOTS", "lineage", "family_offset"]

#: height and width [px] every recorded run used
IMAGE_SIZE = 224
#: level of the prediction intervals
PI_LEVEL = 0.90
#: joules in a kilowatt-hour
J_PER_KWH = 3.6e6
#: a depthwise kernel of more taps than this (7 x 7) is large: RepLKNet's 31 x 31 ones cost less per MAC than the
#: static model prices a depthwise MAC (set 10: +44 %)
LARGE_DEPTHWISE_TAPS = 49
#: a batch norm over fewer channels than this costs more than its bytes: the GPU reduces each channel's values
#: (batch x pixels) in one pass, at least ~0.53 ns per value forward and ~1.4 ns backward on an H200 for any
#: number of channels up to about 32, while a norm over many channels moves its bytes at ~0.6 ps/B
#: (``op_times_h200``); the two meet at about 110 channels forward and 210 backward. RepMLPNet-B's norms over 1
#: and 4 channels take 71 % of its H100 step (set 10: -43 %)
BATCH_NORM_WIDE_CHANNELS = 128
#: the least time a batch norm over few channels takes per value one channel holds, forward and backward together
#: [s]: the medians over the H200's batch norms of at most 32 channels (``op_times_h200``: 0.53 ns forward, 1.4 ns
#: backward; the H100's were alike): :func:`batch_norm_floor_share`
BATCH_NORM_CHANNEL_S = 1.9e-9
#: how many rows of a norm over a multiple of 4 values one row of a norm over another number of values costs [1]:
#: PyTorch's layer norm takes its vectorised kernel (4 float32 values a load) only where the values a row holds are a
#: multiple of 4; ``results/benchmarks/norm_width.csv`` (an H100, forward and backward): 5.4-5.8 ns a row at 2, 3
#: and 6 values against 2.2-2.7 ns at 4 to 64, 2.34 times as long on average (``test_misaligned_norm_row_factor...``
#: reads it there). DeepViT's norm over 6 heads, the fitted row price's main carrier, is such a norm
MISALIGNED_NORM_ROW_FACTOR = 2.3
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
    "norm_rows": ("N x sum over layer, group and RMS norms of the bytes each reads and writes per sample (forward "
                  "and backward) over the values it normalises together: its rows x bytes moved per value",
                  "J/(B/value)"),
    "norm_rows_aligned": ("norm_rows with a row of a norm whose values normalised together are not a multiple of 4 "
                          "counted as MISALIGNED_NORM_ROW_FACTOR rows (PyTorch's vectorised layer norm needs a "
                          "multiple of 4)", "J/(B/value)"),
    "grouped_pointwise": ("N x bytes read and written by grouped 1x1 convolutions (groups > 1, not depthwise), "
                          "forward and backward, per sample: their price above bytes_other's", "J/B"),
    "conv_narrow_7x7": ("conv_narrow without the MACs of depthwise kernels beyond 7 x 7 taps per output (a large "
                        "depthwise kernel's first 49 taps priced as narrow work, the rest not)", "J/element"),
    "conv_depthwise_beyond_7x7": ("N x MACs of depthwise convolutions beyond 7 x 7 taps per output per sample "
                                  "(a 31 x 31 kernel's MACs x (1 - 49 / 961)): their price beside conv's",
                                  "J/MAC"),
    "conv_dilated": ("N x MACs of convolutions dilated above 1 on either axis per sample: their price beside conv's",
                     "J/MAC"),
    "conv_non_square": ("N x MACs of convolutions whose kernel is not square (3 x 1, 1 x 3, ...) per sample: their "
                        "price beside conv's", "J/MAC"),
    "batch_norm_channels": ("N x sum over batch norms (forward and backward) of the values each channel holds x "
                            "max(0, 1 - C / 128) for C channels, per sample: a few-channel norm's per-channel work "
                            "beyond its bytes' price", "J/value"),
    "kernels": ("steps x operators launched per training step (forward + backward)", "J/launch"),
    "recurrent": ("steps x sequential time steps of the recurrent layers per training step (time steps x layers x "
                  "directions, forward + backward)", "J/step"),
    "samples": ("N (a fixed cost per sample: input pipeline, resize, loss)", "J/sample"),
    "param_updates": ("steps x parameters (optimizer traffic)", "J/parameter update"),
}
#: the least factor on the interval's high end of a model with work the static model prices outside what it
#: measured (operators it cannot price, norms narrower than any fitted)
UNPRICED_MIN_WIDEN = 1.10
#: dataset name aliases (as :func:`greenai.data.dataset_spec` reads them; no torch here)
DATASET_ALIASES = {"fashionmnist": "fashion_mnist", "fmnist": "fashion_mnist", "cifar_10": "cifar10",
                    "cifar_100": "cifar100"}
#: candidate terms of the static-feature model, in order (the keys of :data:`FEATURES` but ``conv_narrow``, which
#: ``conv_narrow_7x7`` replaced, and :data:`TRIAL_TERMS`). Each joined by a rule fixed before its rows were measured
#: and before the next fresh set was chosen: ``norm_rows`` when set 10 was (with it the leave-one-family-out MAPE
#: fell 0.04 points, set 9's 2.9 points); the large-kernel pair (``conv_narrow_7x7`` in ``conv_narrow``'s place,
#: ``conv_depthwise_beyond_7x7`` beside) and ``batch_norm_channels`` when set 11 was (with both and the H200 draws
#: that exercise them the leave-one-family-out MAPE fell 0.2 points, set 10's 4.3 points, post hoc)
CANDIDATE_TERMS = ("conv", "conv_narrow_7x7", "conv_depthwise_beyond_7x7", "matmul", "bytes_elementwise",
                   "bytes_norm", "bytes_other", "norm_rows", "grouped_pointwise", "batch_norm_channels", "kernels",
                   "recurrent", "samples", "param_updates")
#: terms :func:`regressors` computes that no shipped fit holds, by trial: each trial is tried as a candidate
#: (notebook 05 refits with :func:`trial_terms`, :func:`greenai.predict.validation.candidate_rule_table`) and joins
#: :data:`CANDIDATE_TERMS` only by that rule, fixed before its rows were measured, and before the next fresh set is
#: chosen. The last two before these (``large_kernels``, ``batch_norm_channels``) joined when set 11 was chosen.
#: Open: ``dilated`` and ``non_square``, the convolutions set 12's four lowest estimates lean on (ICNet, EDANet,
#: ESNet, ERFNet: 14-32 % of their convolution MACs dilated, 50-98 % in 3x1 / 1x3 kernels for the last three);
#: ``norm_alignment``, ``norm_rows`` with a row of a norm over a number of values that is not a multiple of 4
#: counted as :data:`MISALIGNED_NORM_ROW_FACTOR` rows, written after set 13's SegFormer-B0 (+61 %, a quarter of its
#: estimate in ``norm_rows``, its norms over 32 to 256 values): it passes the rule post hoc on set 13, and waits for the
#: H200 repeat of the narrow-norm draw (campaign ``synthetic_norms_h200``) since DeepViT, left out, goes 37 % high
TRIALS: dict[str, tuple[str, ...]] = {"dilated": ("conv_dilated",), "non_square": ("conv_non_square",),
                                      "norm_alignment": ("norm_rows_aligned",)}
#: every trial's terms
TRIAL_TERMS: tuple[str, ...] = tuple(t for terms in TRIALS.values() for t in terms)
#: candidate terms a trial term stands in for in :func:`trial_terms`
TRIAL_REPLACES: dict[str, str] = {"norm_rows_aligned": "norm_rows"}
#: families that reimplement another family under a module name of their own (family -> that family): a model's
#: lineage (:func:`lineage`), whose fitted models give it a family offset (:func:`family_offset`). The pairs the
#: held-out screens name as near copies (``benchmarks/timm_heldout_screen.py``, ``NEAR_COPIES8``): pytorchcv's
#: ResNet, DenseNet, SE-Net, ResNeSt, DarkNet, EfficientNet, MobileNet, ... variants of the zoo's, torchvision's and
#: timm's families
FAMILY_ROOTS = {"preresnet": "resnetv2", "resneta": "resnet", "resnetd": "resnet", "ibnresnet": "resnet",
                "ibnbresnet": "resnet", "wrn": "resnet", "ibnresnext": "resnext", "xdensenet": "densenet",
                "ibndensenet": "densenet", "seresnet": "senet", "sepreresnet": "senet", "seresnext": "senet",
                "fastseresnet": "senet", "resnesta": "resnest", "darknet": "cspnet", "darknet53": "cspnet",
                "cspnext": "cspnet", "fbnet": "efficientnet", "spnasnet": "efficientnet", "mixnet": "efficientnet",
                "efficientnetedge": "efficientnet", "proxylessnas": "mnasnet", "mobilenetb": "mobilenet",
                "fdmobilenet": "mobilenet", "zfnet": "alexnet", "bninception": "googlenet",
                "inceptionresnetv1": "inception_resnet_v2"}
#: what every feature entry must hold (an entry from an older file or cache without one is computed anew)
FEATURE_KEYS = ("macs_conv_dense", "macs_conv_depthwise", "macs_conv_depthwise_beyond_7x7", "macs_conv_grouped",
                "macs_conv_dilated", "macs_conv_non_square",
                "conv_narrow_elements", "conv_narrow_beyond_7x7", "macs_matmul",
                "bytes_forward", "bytes_backward", "bytes_elementwise", "bytes_norm", "bytes_other",
                "bytes_conv_grouped_pointwise",
                "kernels_forward", "kernels_backward", "recurrent_steps", "params", "macs", "norm_axes",
                "depthwise_large_kernels", "batch_norm_channel_values", "batch_norm_channels")


def trial_terms(terms=CANDIDATE_TERMS, trial: str | None = None) -> tuple[str, ...]:
    """``terms`` with the terms of one of :data:`TRIALS` beside (``trial``; default every trial's): each in place of
    the term it stands in for (:data:`TRIAL_REPLACES`), the others appended."""
    if trial is not None and trial not in TRIALS:
        raise ValueError(f"unknown trial {trial!r}; "
                         + (f"choose from {', '.join(TRIALS)}" if TRIALS else "no trial is open"))
    tried = tuple(t for ts in TRIALS.values() for t in ts) if trial is None else TRIALS[trial]
    replaced = {old: new for new, old in TRIAL_REPLACES.items() if new in tried}
    return (tuple(replaced.get(t, t) for t in terms)
            + tuple(t for t in tried if t not in TRIAL_REPLACES and t not in terms))


def has_features(entry) -> bool:
    """Whether a feature entry holds every one of :data:`FEATURE_KEYS`."""
    return isinstance(entry, dict) and all(k in entry for k in FEATURE_KEYS)


def feature_key(model: str, in_channels: int, num_classes: int, image_size: int = IMAGE_SIZE) -> str:
    """The key of a model's static features on one input shape: ``model|channels|classes|size``."""
    return f"{model}|{int(in_channels)}|{int(num_classes)}|{int(image_size)}"


def regressors(features: dict, n_samples: float, batch_size: float) -> dict:
    """Per-epoch quantities of the static-feature model (see :data:`CANDIDATE_TERMS` and :data:`TRIAL_TERMS`).

    ``features`` are per-sample / per-step counts from :func:`greenai.predict.features.static_features`;
    ``n_samples`` the samples per epoch, ``batch_size`` the samples per step.
    """
    n = float(n_samples)
    steps = n / float(batch_size)
    return {
        "conv": n * (features["macs_conv_dense"] + features["macs_conv_depthwise"] + features["macs_conv_grouped"]),
        "conv_narrow": n * features["conv_narrow_elements"],
        "matmul": n * features["macs_matmul"],
        **{f"bytes_{g}": n * features[f"bytes_{g}"] for g in BYTE_GROUPS},
        "norm_rows": n * norm_row_bytes(features),
        "norm_rows_aligned": n * norm_row_bytes(features, MISALIGNED_NORM_ROW_FACTOR),
        "grouped_pointwise": n * features["bytes_conv_grouped_pointwise"],
        "conv_narrow_7x7": n * (features["conv_narrow_elements"] - features["conv_narrow_beyond_7x7"]),
        "conv_depthwise_beyond_7x7": n * features["macs_conv_depthwise_beyond_7x7"],
        "batch_norm_channels": n * features["batch_norm_channel_values"],
        "conv_dilated": n * features["macs_conv_dilated"],
        "conv_non_square": n * features["macs_conv_non_square"],
        "kernels": steps * (features["kernels_forward"] + features["kernels_backward"]),
        "recurrent": steps * features["recurrent_steps"],
        "samples": n,
        "param_updates": steps * features["params"],
    }


def lineage(family: str | None) -> str | None:
    """The family a model's family offset is read from: its family (:func:`greenai.models.model_info`), or the one
    it reimplements (:data:`FAMILY_ROOTS`); None for a synthetic architecture (each is its own) or no family."""
    if not family or family == "synthetic":
        return None
    return FAMILY_ROOTS.get(str(family), str(family))


def family_offset(fit: dict, family_lineage: str | None) -> float:
    """The log factor [1] the static-feature model's estimate of a model of ``family_lineage`` is multiplied by:
    the shrunken mean log error of that lineage's fitted models (``fit["family_offsets"]``, a random effect:
    :func:`greenai.predict.fits.family_offsets`); 0 for a lineage the fit has no model of."""
    entry = (fit.get("family_offsets") or {}).get(family_lineage) if family_lineage else None
    return float(entry["log_offset"]) if entry else 0.0


def norm_row_bytes(features: dict, misaligned: float = 1.0) -> float:
    """Bytes per value of a model's layer, group and RMS norms, per sample [B/value]: the sum over its
    ``norm_axes`` of bytes moved over the values normalised together. It is proportional to the rows the norms
    reduce (each row's mean and variance, and the kernel's work per row): a norm over 6 values counts 128 times
    what one over 768 values moving the same bytes counts. ``misaligned``: the weight of a norm whose values
    normalised together are not a multiple of 4 (:data:`MISALIGNED_NORM_ROW_FACTOR` for ``norm_rows_aligned``)."""
    return float(sum(axis[1] / axis[0] * (misaligned if axis[0] % 4 else 1.0)
                     for axis in features.get("norm_axes") or () if axis[0] > 0))


def leverage(fit: dict, x: dict, estimate: float) -> float:
    """How far the feature mix ``x`` lies from the rows of ``fit``, relative to their mean [1].

    In the WLS fit (weights ``1/y^2``) a run's design row is its term vector
    divided by its energy, ``z = x / y``; a new model's is ``z = x / estimate``.
    Its leverage is ``h = z' (Z'Z)^-1 z = z' Cov z / sigma_rel^2`` (the fit's
    coefficient covariance is ``sigma_rel^2 (Z'Z)^-1``); the result is ``h``
    over the mean leverage of the fitted rows (terms / runs): about 1 for a mix
    like the fit's, far above 1 for a mix the fit has to extrapolate to.
    """
    vec = [sum(x[c] for c in t["components"]) / estimate for t in fit["terms"]]
    cov = fit["cov"]
    h = sum(vec[i] * cov[i][j] * vec[j] for i in range(len(vec)) for j in range(len(vec))) / fit["sigma_rel"] ** 2
    return max(h, 0.0) / (len(vec) / fit["n_runs"])


def predict_static(fit: dict, x: dict, unseen: bool = False, fp32_matmuls: bool = True) -> tuple[float, float, float]:
    """``(estimate, low, high)`` of the static-feature model at regressors ``x`` (90 % prediction interval).

    For a model of the fit, the variance of a new run is
    ``(sigma_rel x estimate)^2 + x' Cov x``; for an architecture outside the
    fit (``unseen``), the interval is ``estimate x exp([q_unseen_low, q_unseen_high] x sqrt(1 + leverage))``,
    the conformal bounds of the errors on architectures outside a fit
    (:func:`greenai.predict.fits.calibrated_spread`; ``+/- q_unseen`` where the fit has no two-tailed bounds)
    widened by how far its feature mix lies from the fit's rows (:func:`leverage`).
    The FP32 matrix-product premium of the fit (if any) is added unless
    ``fp32_matmuls`` is false (TF32 matrix products), its uncertainty in quadrature. Where ``x`` names a
    ``lineage`` (:func:`lineage`; :func:`greenai.predict.build.run_regressors` adds it) that the fit has models of,
    the three are multiplied by ``exp(offset)`` (:func:`family_offset`): a variant of a fitted family errs as its
    fitted relatives do.
    """
    vec = [sum(x[c] for c in t["components"]) for t in fit["terms"]]
    est = sum(t["coef"] * v for t, v in zip(fit["terms"], vec))
    shift = math.exp(family_offset(fit, x.get("lineage")))
    prem = fit.get("matmul_premium") if fp32_matmuls else None
    extra, extra_half = 0.0, 0.0
    if prem:
        extra = prem["coef"] * x["matmul"]
        extra_half = prem["t_pi"] * prem["se"] * x["matmul"]
    q = fit.get("q_unseen")
    if unseen and q is not None and q == q:
        total = est + extra
        width = math.sqrt(1 + leverage(fit, x, total))
        q_low, q_high = fit.get("q_unseen_low", math.nan), fit.get("q_unseen_high", math.nan)
        if not (q_low == q_low and q_high == q_high):
            q_low, q_high = -q, q
        premium = extra_half / total if total > 0 else 0.0
        return (total * shift, total * shift * math.exp(_widened(q_low * width, -premium)),
                total * shift * math.exp(_widened(q_high * width, premium)))
    cov = fit["cov"]
    var_coef = sum(vec[i] * cov[i][j] * vec[j] for i in range(len(vec)) for j in range(len(vec)))
    half = math.hypot(fit["t_pi"] * math.sqrt((fit["sigma_rel"] * (est + extra)) ** 2 + max(var_coef, 0.0)),
                      extra_half)
    est += extra
    return est * shift, max(est - half, 0.0) * shift, (est + half) * shift


def _widened(bound: float, by: float) -> float:
    """A log bound moved outwards by ``by`` (signed like the side it widens) in quadrature where it lies on that
    side of the estimate, else by ``by`` itself."""
    return math.copysign(math.hypot(bound, by), by) if bound * by > 0 or bound == 0 else bound + by


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


def scale_prediction(triple, factor: dict | None):
    """Multiply an (estimate, low, high) by a fitted factor (:func:`greenai.predict.fits.fit_factor`), widening
    the interval by its spread."""
    if not factor:
        return triple
    est, lo, hi = triple
    f = factor["factor"]
    sd = factor["log_sd"] or 0.0
    t = factor["t_pi"] if factor["t_pi"] == factor["t_pi"] else 0.0  # NaN for one ratio
    widen = math.exp(t * sd * math.sqrt(1 + 1 / max(factor["n"], 1)))
    return est * f, lo * f / widen, hi * f * widen


def gpu_fit_for(coeffs: dict, gpu: str):
    """``(fit, gpu_factor)`` for predicting on ``gpu``: its own static fit, or the reference's x factor."""
    fits = coeffs["fits"]
    if gpu not in fits:
        return None, None
    own = fits[gpu]
    if "static" in own:
        return own, None
    ref = fits[own["gpu_factor"]["reference"]]
    return {"thesis": own["thesis"], "static": ref["static"], "models": ref["models"]}, own["gpu_factor"]["energy_j"]


def large_kernels(feats: dict, known_features: dict, fitted_models) -> tuple[list, int | None]:
    """The depthwise kernels of a model larger than any the fit has seen, and the most taps a fitted one has.

    Like :func:`narrow_norms`, over ``depthwise_large_kernels`` of
    :func:`greenai.predict.features.static_features` (depthwise kernels of more than
    :data:`LARGE_DEPTHWISE_TAPS` taps): the entries of ``feats`` with more taps than every such kernel of a
    fitted model, and that most (``None`` when no fitted model has a depthwise kernel beyond 7 x 7: then every
    one of ``feats`` is returned).
    """
    fitted = set(fitted_models)
    sizes = [a[0] for key, f in known_features.items() if key.split("|", 1)[0] in fitted
             for a in f.get("depthwise_large_kernels") or ()]
    most = max(sizes) if sizes else None
    return [a for a in feats.get("depthwise_large_kernels") or () if most is None or a[0] > most], most


def batch_norm_floor_share(duration_fit: dict, features: dict, batch_size: float = 256) -> float:
    """The share of a model's predicted epoch time [1] that the least time of its batch norms over few channels
    takes: the values their channels hold (half of ``batch_norm_channel_values``: the forward's) x
    :data:`BATCH_NORM_CHANNEL_S`, over the estimate of ``duration_fit`` (a fit's ``static`` ``duration_s`` model)
    at ``batch_size``; 0 where the estimate is not positive."""
    n = 1000.0 * float(batch_size)  # the share does not depend on the epoch's length
    estimate = predict_static(duration_fit, regressors(features, n, batch_size))[0]
    floor_s = n * BATCH_NORM_CHANNEL_S * float(features.get("batch_norm_channel_values", 0.0)) / 2
    return floor_s / estimate if estimate > 0 else 0.0


def fitted_batch_norm_floor_share(fit: dict, known_features: dict) -> float:
    """The largest :func:`batch_norm_floor_share` of the models of ``fit`` (a GPU's fit: ``models`` and ``static``)
    over their feature entries in ``known_features`` (``model|channels|classes|size`` keys); 0 without one."""
    fitted = set(fit["models"])
    return max((batch_norm_floor_share(fit["static"]["duration_s"], f) for key, f in known_features.items()
                if key.split("|", 1)[0] in fitted), default=0.0)


def unpriced_widening(share: float) -> float:
    """The factor on an interval's high end for work priced outside what the fit measured, moving ``share`` of
    the bytes read and written: ``max(UNPRICED_MIN_WIDEN, 1 + share)``."""
    return max(UNPRICED_MIN_WIDEN, 1.0 + float(share))


def narrow_norms(feats: dict, known_features: dict, fitted_models) -> tuple[list, int | None]:
    """The norms of a model narrower than any the fit has seen, and the fewest values a fitted one normalises.

    ``feats`` are a model's static features (``norm_axes`` of
    :func:`greenai.predict.features.static_features`), ``known_features`` the
    shipped feature entries (``model|channels|classes|size`` keys) and
    ``fitted_models`` the models a fit was fitted on. Returns the ``norm_axes``
    entries of ``feats`` that normalise fewer values together than any layer or
    group norm of a fitted model, and that fewest number (``None`` when no fitted
    model has one: then every such norm of ``feats`` is returned).
    """
    fitted = set(fitted_models)
    sizes = [a[0] for key, f in known_features.items() if key.split("|", 1)[0] in fitted
             for a in f.get("norm_axes") or ()]
    fewest = min(sizes) if sizes else None
    return [a for a in feats.get("norm_axes") or () if fewest is None or a[0] < fewest], fewest
