"""Fitting the models of :mod:`greenai.predict` (numpy, scipy and statsmodels, lazily).

:func:`fit_static` (the static-feature model by WLS, solved as statsmodels would solve it but without its
per-fit overhead, with :func:`family_offsets`), :func:`fit_matmul_premium`
(the FP32 premium of a matrix-product MAC), :func:`fit_thesis` (the thesis' HC
and its log-log regression), :func:`fit_factor` (a precision or GPU factor) and
:func:`unseen_spread` and :func:`prospective_spread` (the scores of a conformal interval for an architecture
outside the fit: leave one family out, or each held-out set as the rows measured before it met it), joined by
:func:`calibrated_spread`. Their results are JSON-able mappings that :mod:`greenai.predict.model` evaluates.
"""

from __future__ import annotations

import functools
import math

from greenai.predict.model import CANDIDATE_TERMS, FEATURES, MISALIGNED_NORM_ROW_FACTOR, PI_LEVEL, feature_key

__all__ = ["MIN_CONFORMAL_SCORES", "fit_static", "family_offsets", "fit_matmul_premium", "fit_thesis", "fit_factor",
           "unseen_spread", "conformal_q", "conformal_bounds", "prospective_spread", "prospective_enough",
           "calibrated_spread"]

#: a conformal quantile needs this many scored models (one score per model)
MIN_CONFORMAL_SCORES = 10

#: MAC kinds: a kind whose own coefficient is not positive is priced like convolutions
_MAC_KINDS = ("conv", "matmul")
#: byte groups: a group whose own coefficient is not positive is priced like the bytes of "other" operators
_BYTE_TERMS = ("bytes_elementwise", "bytes_norm", "bytes_other")
#: where a kind of MAC or byte goes when it cannot be priced on its own
_MERGE_INTO = {**{t: "conv" for t in _MAC_KINDS[1:]}, **{t: "bytes_other" for t in _BYTE_TERMS[:-1]}}
_DESCRIPTIONS = {
    "conv": "a multiply-accumulate of a convolution (forward MAC; backward work rides on it)",
    "conv_narrow": "a MAC / w of a convolution, w the narrow side of its GEMM per group (the work a tensor core "
                   "cannot amortise; a depthwise convolution's MAC)",
    "matmul": "a multiply-accumulate of a matrix product (linear layers, attention)",
    "bytes_elementwise": "a byte read or written by an elementwise operator (activations, add, copy, concatenation)",
    "bytes_norm": "a byte read or written by a batch, layer or group norm, forward or backward",
    "bytes_other": "a byte read or written by a convolution, matrix product, pooling or attention operator",
    "norm_rows": "a byte per value of a layer, group or RMS norm (its rows x bytes moved per value): a norm's "
                 "cost per row reduced, above its bytes' price",
    "norm_rows_aligned": "a byte per value of a layer, group or RMS norm as norm_rows, a row of a norm over a number "
                         f"of values that is not a multiple of 4 counted as {MISALIGNED_NORM_ROW_FACTOR} rows (it "
                         "misses the vectorised kernel)",
    "grouped_pointwise": "a byte read or written by a grouped 1x1 convolution, above the price of bytes_other (cuDNN "
                         "runs many of them with a kernel that streams memory tens of times slower)",
    "conv_narrow_7x7": "a MAC / w of a convolution as conv_narrow, but a depthwise kernel's taps beyond 7x7 (priced "
                       "by conv_depthwise_beyond_7x7 instead)",
    "conv_depthwise_beyond_7x7": "a MAC of a depthwise kernel beyond its first 7x7 taps per output, above conv's "
                                 "price (a large kernel reuses each input it loads over more taps)",
    "conv_dilated": "a MAC of a convolution dilated above 1, above conv's price (its taps read inputs apart, and cuDNN "
                    "has fewer algorithms for it)",
    "conv_non_square": "a MAC of a convolution whose kernel is not square (3x1, 1x3), above conv's price",
    "batch_norm_channels": "a value one channel of a batch norm over few channels holds, x (1 - channels / 128), "
                           "forward or backward: the per-channel reduction's cost above its bytes' price",
    "kernels": "an operator launched in a training step (forward + backward)",
    "recurrent": "a sequential time step of a recurrent layer (a small GEMM and gate kernels, latency-bound)",
    "samples": "a sample's fixed cost (input pipeline, resize, loss; independent of the model)",
    "param_updates": "a parameter updated by the optimizer (read weight, gradient, momentum; write two)",
}


class _Design:
    """The candidate terms of every run as columns, built once: a fit of a subset of the runs
    (:meth:`take`) reads them without touching the runs' dicts again (a nested cross-validation refits tens of
    thousands of times). ``pair``: each run's (lineage, model) as an integer code (-1: no lineage or no model);
    ``pair_lineage``: each pair's code into the sorted ``lineage_names``; ``lineage``: each run's (-1: none)."""

    def __init__(self, x_rows: list[dict], terms):
        import numpy as np  # heavy: numpy

        self.terms = tuple(terms)
        self.columns = {t: np.array([float(r[t]) for r in x_rows])
                        for t in dict.fromkeys((*self.terms, "matmul")) if not x_rows or t in x_rows[0]}
        self.lineage, self.lineage_names = _codes([r.get("lineage") or None for r in x_rows])
        model, _ = _codes([r.get("model") for r in x_rows])
        both = (self.lineage >= 0) & (model >= 0)
        pairs, pair = np.unique(self.lineage[both] * (len(x_rows) + 1) + model[both], return_inverse=True)
        self.pair = np.full(len(x_rows), -1)
        self.pair[both] = pair
        self.pair_lineage = pairs // (len(x_rows) + 1)

    def take(self, rows) -> _Design:
        """The design of the runs ``rows`` (a boolean mask or indices), sharing the codes."""
        out = object.__new__(_Design)
        out.terms, out.lineage_names, out.pair_lineage = self.terms, self.lineage_names, self.pair_lineage
        out.columns = {t: v[rows] for t, v in self.columns.items()}
        out.lineage, out.pair = self.lineage[rows], self.pair[rows]
        return out

    def matrix(self, groups: dict):
        """Each group's column: the sum of its components' columns, added in their order [per epoch]."""
        import numpy as np  # heavy: numpy

        out = np.empty((len(self.lineage), len(groups)))
        for j, components in enumerate(groups.values()):
            column = self.columns[components[0]]
            for c in components[1:]:
                column = column + self.columns[c]
            out[:, j] = column
        return out


def fit_static(x_rows: list[dict], y, terms=CANDIDATE_TERMS, premium: dict | None = None,
               offsets: bool = True) -> dict:
    """Fit the static-feature model ``y = sum_k c_k x_k`` (no intercept) by WLS with weights ``1/y^2``.

    ``premium`` (from :func:`fit_matmul_premium`), where given, is the measured
    extra cost of a matrix-product MAC in FP32 over TF32 (PyTorch's default
    precision runs convolutions in TF32 but matrix products in FP32): its part
    ``premium x matmul`` is taken off ``y`` before the fit and added back by
    :func:`greenai.predict.model.predict_static`.

    Matrix-product MACs, absent from every run or with a coefficient not positive, are merged into the
    convolution term (priced like a convolution's MAC), a byte group likewise into ``bytes_other``
    (:data:`_MERGE_INTO`); any other term with a coefficient not positive is dropped; the fit is
    repeated until every coefficient is positive. With ``offsets`` each lineage of the rows gets its family offset
    (:func:`family_offsets`), which :func:`greenai.predict.model.predict_static` applies.

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
    design = _Design(x_rows, terms)
    return _as_json(_solve(design, y, premium, offsets), design)


def _solve(design: _Design, y, premium: dict | None, offsets: bool) -> dict:
    """:func:`fit_static` of the runs of ``design``, as arrays (:func:`_as_json` makes the shipped mapping)."""
    import numpy as np  # heavy: numpy

    y = np.asarray(y, dtype=float)
    prem = premium["coef"] if premium else 0.0
    y_fit = y - prem * design.columns["matmul"] if prem else y
    groups = {t: [t] for t in design.terms}
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

    for t in design.terms:  # a kind absent from every run cannot be priced on its own
        if t in groups and not design.columns[t].any():
            merge_or_drop(t)
    while True:
        names = list(groups)
        X = design.matrix(groups)
        res = _wls(X, y_fit, 1.0 / y**2)
        bad = [n for n, p in zip(names, res["params"]) if not p > 0]
        if not bad:
            break
        merge_or_drop(min(bad, key=lambda n: res["params"][names.index(n)] / (res["bse"][names.index(n)] or 1)))
        if not groups:
            raise ValueError("no term of the static-feature model has a positive coefficient")
    out = {**res, "groups": groups, "merged": merged, "dropped": dropped, "premium": premium, "n_runs": len(y)}
    out["offsets"] = _lineage_offsets(design, y, X @ res["params"] + (y - y_fit)) if offsets else None
    return out


def _as_json(solved: dict, design: _Design) -> dict:
    """The JSON-able mapping :func:`fit_static` returns, from :func:`_solve`."""
    import numpy as np  # heavy: numpy
    from scipy import stats  # heavy: scipy

    params, bse, df = solved["params"], solved["bse"], solved["df_resid"]
    half_ci = _t_quantile(0.975, df) * bse
    with np.errstate(divide="ignore", invalid="ignore"):
        p_values = 2 * stats.t.sf(np.abs(params / bse), df)
    out = {
        "terms": [{"name": n, "components": c, "coef": float(p), "ci_low": float(p - h), "ci_high": float(p + h),
                   "se": float(se), "p_value": float(pv), "unit": FEATURES[n][1], "per": _DESCRIPTIONS[n]}
                  for (n, c), p, h, se, pv in zip(solved["groups"].items(), params, half_ci, bse, p_values)],
        "cov": solved["cov"].tolist(),
        "sigma_rel": float(np.sqrt(solved["scale"])),
        "df_resid": df,
        "t_pi": _t_quantile(0.5 + PI_LEVEL / 2, df),
        "n_runs": int(solved["n_runs"]),
        "merged": solved["merged"],
        "dropped": solved["dropped"],
        "matmul_premium": solved["premium"],
    }
    if solved["offsets"] is not None:
        out.update(_offsets_json(solved["offsets"], design.lineage_names))
    return out


def _wls(X, y, weights) -> dict:
    """Weighted least squares without intercept: the estimates of statsmodels' ``WLS(y, X, weights).fit()``
    (pseudo-inverse of the whitened design; a test holds them equal), without its per-fit overhead: a nested
    cross-validation fits tens of thousands of times. ``params``, ``bse``, ``cov`` (``scale x (Z'Z)^+``),
    ``scale`` (weighted residual variance), ``df_resid`` (runs - rank)."""
    import numpy as np  # heavy: numpy

    root_w = np.sqrt(np.asarray(weights, dtype=float))
    Z, z = X * root_w[:, None], y * root_w
    u, s, vt = np.linalg.svd(Z, full_matrices=False)
    largest = s.max() if len(s) else 0.0
    inv_s = np.divide(1.0, s, out=np.zeros_like(s), where=s > 1e-15 * largest)
    pinv = (vt.T * inv_s) @ u.T
    params = pinv @ z
    df = float(len(z) - int((s > largest * len(s) * np.finfo(float).eps).sum()))
    scale = float(((z - Z @ params) ** 2).sum() / df)
    cov = scale * (pinv @ pinv.T)
    return {"params": params, "bse": np.sqrt(np.diag(cov)), "cov": cov, "scale": scale, "df_resid": df}


@functools.lru_cache(maxsize=256)
def _t_quantile(p: float, df: float) -> float:
    """Student's t quantile (cached: the fits of a cross-validation share their degrees of freedom)."""
    from scipy import stats  # heavy: scipy

    return float(stats.t.ppf(p, df))


def family_offsets(x_rows: list[dict], y, estimates) -> dict:
    """Each lineage's offset: how far a fit errs on its fitted models, shrunken as a random effect.

    A run's ``x`` names its ``model`` and ``lineage`` (:func:`greenai.predict.build.run_regressors`; runs without
    a lineage, the synthetic architectures, take no part); ``estimates`` are the fit's (without offsets) of the
    runs ``y`` [J or s]. A model's error is its mean ``log(measured / estimate)`` over its runs; a lineage's ``f``
    is the mean ``m_f`` of its ``n_f`` models'. The spread of models about their lineage's mean, ``sigma^2``
    (pooled within lineages), and of the lineages' true means, ``tau^2`` (one-way random effects, method of
    moments, at least 0), give the lineage's offset ``B_f x m_f`` with ``B_f = tau^2 / (tau^2 + sigma^2 / n_f)``:
    a lineage of one model moves its relatives less than one of many, and none moves where the lineages differ no
    more than their models do.

    Returns
    -------
    dict
        ``family_offsets``: ``{lineage: {"log_offset", "mean_log_error", "models", "shrinkage"}}`` (natural log,
        dimensionless), ``family_tau`` and ``family_sigma`` (log); empty where no lineage has two models.
    """
    design = _Design(x_rows, ())
    return _offsets_json(_lineage_offsets(design, y, estimates), design.lineage_names)


def _lineage_offsets(design: _Design, y, estimates) -> dict | None:
    """:func:`family_offsets` as arrays over ``design.lineage_names``: ``log_offset`` (0 where the lineage has no
    run here), and, for the lineages present (``codes``), ``mean``, ``models``, ``shrinkage``; ``tau2``,
    ``sigma2``. None where no lineage has two models."""
    import numpy as np  # heavy: numpy

    keep = design.pair >= 0
    pair, n_pairs = design.pair[keep], len(design.pair_lineage)
    log_errors = np.log(np.asarray(y, dtype=float)[keep] / np.asarray(estimates, dtype=float)[keep])
    runs = np.bincount(pair, minlength=n_pairs)
    present = runs > 0
    model_error = np.bincount(pair, log_errors, minlength=n_pairs)[present] / runs[present]  # a model's mean
    of_model = design.pair_lineage[present]
    n_lineages_all = len(design.lineage_names)
    counts = np.bincount(of_model, minlength=n_lineages_all)
    codes = np.flatnonzero(counts)
    n_models, n_lineages = len(model_error), len(codes)
    if n_models <= n_lineages:
        return None
    mean_of = np.zeros(n_lineages_all)
    mean_of[codes] = np.bincount(of_model, model_error, minlength=n_lineages_all)[codes] / counts[codes]
    means, within = mean_of[codes], model_error - mean_of[of_model]
    sigma2 = float((within**2).sum()) / (n_models - n_lineages)
    between = float((counts[codes] * (means - model_error.mean()) ** 2).sum())
    tau2 = max(0.0, (between - (n_lineages - 1) * sigma2) / (n_models - float((counts**2).sum()) / n_models))
    shrink = tau2 / (tau2 + sigma2 / counts[codes]) if tau2 + sigma2 > 0 else np.zeros(n_lineages)
    log_offset = np.zeros(n_lineages_all)
    log_offset[codes] = shrink * means
    return {"log_offset": log_offset, "codes": codes, "mean": means, "models": counts[codes], "shrinkage": shrink,
            "tau2": tau2, "sigma2": sigma2}


def _offsets_json(offsets: dict | None, lineage_names: list[str]) -> dict:
    """The ``family_offsets``, ``family_tau``, ``family_sigma`` entries of a fit from :func:`_lineage_offsets`."""
    if offsets is None:
        return {}
    entries = {lineage_names[c]: {"log_offset": float(b * m), "mean_log_error": float(m), "models": int(n),
                                  "shrinkage": float(b)}
               for c, m, n, b in zip(offsets["codes"], offsets["mean"], offsets["models"], offsets["shrinkage"])}
    return {"family_offsets": entries, "family_tau": math.sqrt(offsets["tau2"]),
            "family_sigma": math.sqrt(offsets["sigma2"])}


def _codes(names: list) -> tuple:
    """Integer codes of ``names`` (None: -1) into their sorted distinct strings, and those strings."""
    import numpy as np  # heavy: numpy

    distinct = sorted({str(n) for n in names if n is not None})
    index = {n: i for i, n in enumerate(distinct)}
    return np.array([-1 if n is None else index[str(n)] for n in names], dtype=int), distinct


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
    import numpy as np  # heavy: numpy
    import statsmodels.api as sm  # heavy: statsmodels
    from scipy import stats  # heavy: scipy

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
    import numpy as np  # heavy: numpy
    import statsmodels.api as sm  # heavy: statsmodels
    from scipy import stats  # heavy: scipy

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


def fit_factor(ratios) -> dict:
    """A multiplicative factor (precision, GPU) from measured ratios: geometric mean, 95 % CI, log sd."""
    import numpy as np  # heavy: numpy
    from scipy import stats  # heavy: scipy

    lr = np.log(np.asarray(ratios, dtype=float))
    n = len(lr)
    mean = float(lr.mean())
    sd = float(lr.std(ddof=1)) if n > 1 else 0.0
    tq = float(stats.t.ppf(0.975, n - 1)) if n > 1 else float("nan")
    se = sd / math.sqrt(n) if n > 1 else float("nan")
    return {"factor": math.exp(mean), "ci": [math.exp(mean - tq * se), math.exp(mean + tq * se)] if n > 1 else
            [float("nan"), float("nan")], "log_sd": sd, "n": n,
            "t_pi": float(stats.t.ppf(0.5 + PI_LEVEL / 2, n - 1)) if n > 1 else float("nan")}


def unseen_spread(runs, xs: list[dict], column: str, premium: dict | None = None, groups=None,
                  terms=CANDIDATE_TERMS, offsets: bool = True) -> dict:
    """The error of the static-feature model on an architecture it has not seen: a conformal interval.

    Each group of models (``groups``: one label per run, e.g. the family; default the model) is left out
    in turn, the model refitted on the rest and each of the group's models predicted. Its score is
    ``|log(measured / predicted)| / sqrt(1 + leverage)`` (mean log ratio over the model's runs;
    :func:`greenai.predict.model.leverage` of its feature mix in the refit, mean over its runs). ``q_unseen`` is the
    ``ceil((n + 1) x PI_LEVEL)``-th smallest of the ``n`` scores (split-conformal, one score per model),
    and a model outside the fit is predicted ``estimate x exp(+/- q_unseen x sqrt(1 + leverage))``:
    the interval widens with how far its mix lies from the fit's rows. ``terms``, ``offsets``: those of
    :func:`fit_static`.

    Returns
    -------
    dict
        ``q_unseen`` (NaN with fewer than 10 scored models), ``n_unseen`` (models scored),
        ``unseen_scores``: ``{model: [log ratio, leverage]}``.
    """
    import numpy as np  # heavy: numpy

    models = runs["model"].to_numpy()
    labels = models if groups is None else np.asarray(groups)
    y = runs[column].to_numpy(dtype=float)
    design = _Design(xs, terms)
    scored = {}
    for g in sorted(set(labels)):
        train = labels != g
        try:
            fit = _solve(design.take(train), y[train], premium, offsets)
        except ValueError:
            continue
        left = np.flatnonzero(~train)
        for m in sorted(set(models[left])):
            scored[str(m)] = _score(fit, design, y, left[models[left] == m])
    return {"q_unseen": conformal_q(scored), "n_unseen": len(scored), "unseen_scores": scored}


def conformal_q(scored: dict) -> float:
    """The split-conformal quantile of scored models: the ``ceil((n + 1) x PI_LEVEL)``-th smallest of the ``n``
    scores ``|log(measured / predicted)| / sqrt(1 + leverage)`` (dimensionless, natural log).

    ``scored``: ``{model: [log ratio, leverage, ...]}``, one entry per model. NaN with fewer than
    :data:`MIN_CONFORMAL_SCORES` models (or where the rank exceeds ``n``).
    """
    n = len(scored)
    rank = math.ceil((n + 1) * PI_LEVEL)
    if n < MIN_CONFORMAL_SCORES or rank > n:
        return float("nan")
    scores = sorted(abs(v[0]) / math.sqrt(1 + v[1]) for v in scored.values())
    return float(scores[rank - 1])


def conformal_bounds(scored: dict) -> tuple[float, float]:
    """The split-conformal bounds of the signed scores ``log(measured / predicted) / sqrt(1 + leverage)``: the
    ``floor((n + 1) x (1 - PI_LEVEL) / 2)``-th and the ``ceil((n + 1) x (1 + PI_LEVEL) / 2)``-th smallest of ``n``
    (dimensionless, natural log; with PI_LEVEL 0.9 the 5 % and 95 % tails). A new architecture's energy lies in
    ``estimate x exp([low, high] x sqrt(1 + leverage))``: the errors lean to under-prediction, and two tails follow
    that where one half-width (:func:`conformal_q`) does not. ``(NaN, NaN)`` where a rank falls outside 1..n
    (fewer than 19 models at 90 %).
    """
    n = len(scored)
    low_rank = math.floor((n + 1) * (1 - PI_LEVEL) / 2 + 1e-9)  # (1 - 0.9) / 2 is 0.0499... in floating point
    high_rank = math.ceil((n + 1) * (1 + PI_LEVEL) / 2 - 1e-9)
    if low_rank < 1 or high_rank > n:
        return float("nan"), float("nan")
    scores = sorted(v[0] / math.sqrt(1 + v[1]) for v in scored.values())
    return float(scores[low_rank - 1]), float(scores[high_rank - 1])


def _score(solved: dict, design: _Design, y, rows) -> list[float]:
    """One model's ``[mean log(measured / predicted), mean leverage]`` over its runs ``rows`` under a fit
    (:func:`_solve`): what :func:`greenai.predict.model.predict_static` and :func:`greenai.predict.model.leverage`
    give each run, for all its runs at once."""
    import numpy as np  # heavy: numpy

    runs = design.take(rows)
    X = runs.matrix(solved["groups"])
    estimate = X @ solved["params"]
    if solved["premium"]:
        estimate = estimate + solved["premium"]["coef"] * runs.columns["matmul"]
    if solved["offsets"] is not None:
        estimate = estimate * np.exp(np.where(runs.lineage >= 0, solved["offsets"]["log_offset"][runs.lineage], 0.0))
    Z = X / estimate[:, None]
    h = np.einsum("ij,jk,ik->i", Z, solved["cov"], Z) / solved["scale"]
    lev = np.maximum(h, 0.0) / (len(solved["groups"]) / solved["n_runs"])
    return [float(np.mean(np.log(np.asarray(y, dtype=float)[rows] / estimate))), float(np.mean(lev))]


def prospective_spread(runs, xs: list[dict], column: str, sets, premium: dict | None = None,
                       min_models: int = 1, terms=CANDIDATE_TERMS, offsets: bool = True) -> dict:
    """The error of the static-feature model on each held-out set as a fit of the rows measured before it met it.

    ``sets``: the CSV names of the held-out sets whose rows are in ``runs`` (column ``csv``), in the order they
    were measured. For each set ``S``, the static-feature model is refitted on the rows of ``runs`` that existed
    before ``S`` was measured and each of ``S``'s models outside that fit (not an ``anchor`` row, not among the
    fitted models) is predicted. "Before": where ``runs`` has a ``timestamp_utc`` (the UTC time of a run's first
    measured window) on every row, the rows measured before ``S``'s first row; otherwise the CSV order: every row
    not of a held-out set, and those of the sets before ``S`` in ``sets`` (a CSV measured after a set, e.g. a
    later batch of synthetic architectures, then counts as before it). Either way the rows of ``S`` (its anchors
    included) and of every later set never enter ``S``'s fit. A set whose earlier rows hold fewer than
    ``min_models`` models is not scored. ``premium`` is used as given (it is measured on the precision rows);
    ``terms``, ``offsets``: those of :func:`fit_static`.

    Each model's score is that of :func:`unseen_spread`: ``|mean log(measured / predicted)| / sqrt(1 + leverage)``
    (``column``: energy [J] or duration [s] per epoch; the leverage of its feature mix in the set's fit, mean
    over its runs); a model is scored once, by the first set that has it.

    Returns
    -------
    dict
        ``q_unseen`` (:func:`conformal_q`; NaN with fewer than 10 scores), ``n_unseen``, ``unseen_scores``
        (``{model: [log ratio, leverage]}``) and ``sets``: ``{set: {"fit_models", "fit_runs", "scored"}}`` (the
        models and runs of its fit, the models it scored).
    """
    import numpy as np  # heavy: numpy

    csv = runs["csv"].astype(str).to_numpy()
    models = runs["model"].astype(str).to_numpy()
    anchor = runs["anchor"].to_numpy(dtype=bool) if "anchor" in runs else np.zeros(len(runs), dtype=bool)
    y = runs[column].to_numpy(dtype=float)
    stamps = None
    if "timestamp_utc" in runs and runs["timestamp_utc"].notna().all():
        import pandas as pd  # heavy: pandas

        stamps = pd.to_datetime(runs["timestamp_utc"], utc=True).to_numpy()
    sets = [str(s) for s in sets]
    design = _Design(xs, terms)
    scored, per_set = {}, {}
    for i, s in enumerate(sets):
        in_set = csv == s
        if not (in_set & ~anchor).any():
            continue
        train = ~np.isin(csv, sets[i:])
        if stamps is not None:
            train &= stamps < stamps[in_set].min()
        fitted = set(models[train])
        per_set[s] = {"fit_models": len(fitted), "fit_runs": int(train.sum()), "scored": []}
        if len(fitted) < max(min_models, 1):
            continue
        try:
            fit = _solve(design.take(train), y[train], premium, offsets)
        except ValueError:
            continue
        for m in sorted(set(models[in_set & ~anchor]) - fitted - set(scored)):
            scored[m] = _score(fit, design, y, np.flatnonzero(in_set & ~anchor & (models == m)))
            per_set[s]["scored"].append(m)
    return {"q_unseen": conformal_q(scored), "n_unseen": len(scored), "unseen_scores": scored, "sets": per_set}


def prospective_enough(prospective: dict) -> bool:
    """Whether :func:`prospective_spread` scored enough models (:data:`MIN_CONFORMAL_SCORES`) for the interval."""
    return prospective["n_unseen"] >= MIN_CONFORMAL_SCORES and prospective["q_unseen"] == prospective["q_unseen"]


def calibrated_spread(lofo: dict, prospective: dict) -> dict:
    """The unseen-architecture interval a static fit ships: prospective where it has enough scores.

    ``lofo``: :func:`unseen_spread` (leave one family out); ``prospective``: :func:`prospective_spread`.
    ``q_unseen`` (dimensionless: a log-ratio half-width per ``sqrt(1 + leverage)``) is the prospective quantile
    where at least :data:`MIN_CONFORMAL_SCORES` models were scored, else the leave-one-family-out one;
    ``q_unseen_method`` says which ("prospective" or "leave-one-family-out"), ``n_unseen`` and
    ``unseen_scores`` are its, and ``q_unseen_low``, ``q_unseen_high`` its two-tailed bounds
    (:func:`conformal_bounds`; NaN below 19 scores, where the interval is ``+/- q_unseen``). Both are kept:
    ``q_unseen_lofo``, ``n_unseen_lofo``, ``unseen_scores_lofo``, ``q_unseen_prospective``,
    ``n_unseen_prospective``, ``unseen_scores_prospective`` and ``prospective_sets``.
    """
    use = prospective_enough(prospective)
    chosen = prospective if use else lofo
    q_low, q_high = conformal_bounds(chosen["unseen_scores"])
    return {"q_unseen": chosen["q_unseen"], "n_unseen": chosen["n_unseen"], "unseen_scores": chosen["unseen_scores"],
            "q_unseen_low": q_low, "q_unseen_high": q_high,
            "q_unseen_method": "prospective" if use else "leave-one-family-out",
            "q_unseen_lofo": lofo["q_unseen"], "n_unseen_lofo": lofo["n_unseen"],
            "unseen_scores_lofo": lofo["unseen_scores"],
            "q_unseen_prospective": prospective["q_unseen"], "n_unseen_prospective": prospective["n_unseen"],
            "unseen_scores_prospective": prospective["unseen_scores"], "prospective_sets": prospective["sets"]}
