"""Each earlier held-out set as the rows measured before it met it, and the family offsets: the tables notebook 05
reads them by (pandas, lazily).

:func:`prospective_table` (each set's errors under a fit of the rows before it), :func:`interval_rules_table` (the
interval's two rules, each set calibrated on the others), :func:`family_offset_table` (each lineage's offset, and the
sets with and without offsets) and :func:`family_offset_by_model` (a split's models with and without them). Their
inputs: a static fit of :func:`greenai.predict.build.fit_coefficients`, results of
:func:`greenai.predict.validation.cross_validate`.
"""

from __future__ import annotations

import math

from greenai.predict.build import HELDOUT_SPLITS
from greenai.predict.fits import conformal_bounds, conformal_q
from greenai.predict.model import IMAGE_SIZE, family_offset, feature_key, lineage

__all__ = ["prospective_table", "family_offset_table", "family_offset_by_model", "interval_rules_table"]


def prospective_table(static_fit: dict):
    """Each earlier held-out set as a fit of the rows measured before it met it (the scores the interval is
    calibrated on, :func:`greenai.predict.fits.prospective_spread`), from one static-feature fit of the
    coefficients (``coeffs["fits"][gpu]["static"]["energy_j"]``).

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        One row per scored model (``set``, ``model``, ``error_pct`` = 100 (predicted / measured - 1) of its
        energy per epoch, ``leverage``, ``score``) and one per set (``models``, ``fit_models`` in its fit, ``mape_pct``,
        ``worst_model_ape_pct``, ``worst_model``, ``bias_pct``: median signed error); empty without such scores.
    """
    import pandas as pd  # heavy: pandas

    scores = static_fit.get("unseen_scores_prospective") or {}
    sets = static_fit.get("prospective_sets") or {}
    rows = [{"set": HELDOUT_SPLITS.get(csv, csv), "model": m, "error_pct": 100 * math.expm1(-scores[m][0]),
             "leverage": scores[m][1], "score": abs(scores[m][0]) / math.sqrt(1 + scores[m][1])}
            for csv, info in sets.items() for m in info["scored"] if m in scores]
    per_model = pd.DataFrame(rows, columns=["set", "model", "error_pct", "leverage", "score"])
    per_set = []
    for csv, info in sets.items():
        d = per_model[per_model["set"] == HELDOUT_SPLITS.get(csv, csv)]
        if d.empty:
            continue
        worst = d.loc[d["error_pct"].abs().idxmax()]
        per_set.append({"set": HELDOUT_SPLITS.get(csv, csv), "models": len(d), "fit_models": info["fit_models"],
                        "mape_pct": d["error_pct"].abs().mean(), "worst_model_ape_pct": abs(worst["error_pct"]),
                        "worst_model": worst["model"], "bias_pct": d["error_pct"].median()})
    return per_model, pd.DataFrame(per_set)


def family_offset_table(static_fit: dict, without: dict | None = None):
    """The family offsets of a static fit (``family_offsets``: :func:`greenai.predict.fits.family_offsets`), one row
    per lineage, largest move first: ``models`` fitted, ``mean_error_pct`` (100 (exp(-m_f) - 1): the fit's mean
    error on them, below 0 where it predicts them low), ``shrinkage`` (``B_f``) and ``factor`` (what a variant's
    estimate is multiplied by). With ``without`` (the same fit without offsets), also the prospective MAPE of each
    earlier set with and without them is returned: ``(offsets, per_set)``; else ``offsets`` alone.
    """
    import pandas as pd  # heavy: pandas

    rows = [{"lineage": f, "models": e["models"], "mean_error_pct": 100 * math.expm1(-e["mean_log_error"]),
             "shrinkage": e["shrinkage"], "factor": math.exp(e["log_offset"])}
            for f, e in (static_fit.get("family_offsets") or {}).items()]
    offsets = pd.DataFrame(rows, columns=["lineage", "models", "mean_error_pct", "shrinkage", "factor"])
    offsets = offsets.iloc[(offsets["factor"].map(math.log).abs()).argsort()[::-1]].reset_index(drop=True)
    if without is None:
        return offsets
    with_sets, without_sets = prospective_table(static_fit)[1], prospective_table(without)[1]
    keep = ["set", "models", "mape_pct", "worst_model_ape_pct", "worst_model"]
    per_set = with_sets[keep].merge(without_sets[keep[:1] + keep[2:]], on="set", suffixes=("_with", "_without"))
    return offsets, per_set


def family_offset_by_model(predictions, ablated, split: str, coeffs: dict, fit_gpu: str = "NVIDIA H200"):
    """Each model of one split with family offsets (``predictions``) and without (``ablated``; both
    :func:`cross_validate` results): ``lineage`` (:func:`greenai.predict.model.lineage` of its shipped features'
    family), ``factor`` (``exp`` of its offset in ``fit_gpu``'s shipped energy fit), ``error_pct`` and
    ``error_without_pct`` (runs averaged) and ``covered`` (every run inside its interval). Sorted by error."""
    import pandas as pd  # heavy: pandas

    def per_model(p, name):
        p = p[(p["predictor"] == "static_features") & (p["split"] == split)]
        return p.groupby(["model", "dataset"]).agg(**{name: ("error_pct", "mean"),
                                                      f"covered_{name}": ("covered", "all")})

    out = per_model(predictions, "error_pct").join(per_model(ablated, "error_without_pct"), how="left").reset_index()
    fit = coeffs["fits"][fit_gpu]["static"]["energy_j"]
    lineages = []
    for r in out.itertuples():
        shape = coeffs["datasets"][r.dataset]
        lineages.append(lineage(coeffs["features"][feature_key(r.model, shape["channels"], shape["num_classes"],
                                                               IMAGE_SIZE)]["family"]))
    out = out.assign(lineage=lineages, factor=[math.exp(family_offset(fit, f)) for f in lineages],
                     covered=out["covered_error_pct"])
    columns = ["model", "dataset", "lineage", "factor", "error_pct", "error_without_pct", "covered"]
    return pd.DataFrame(out, columns=columns).sort_values("error_pct").reset_index(drop=True)


def interval_rules_table(static_fit: dict):
    """The two interval rules on the earlier held-out sets, each set in turn calibrated on the other sets' prospective
    scores (``unseen_scores_prospective`` and ``prospective_sets`` of a static fit): ``+/- q``
    (:func:`greenai.predict.fits.conformal_q`) and two tails (:func:`greenai.predict.fits.conformal_bounds`).

    Returns
    -------
    pandas.DataFrame
        One row per set and rule, then ``all`` per rule: ``models``, ``coverage_pct``, ``worst_outside_pct`` (how
        far the farthest model lies outside its interval, in % of the bound) and ``mean_log_width`` (natural log of
        high / low, mean over the models).
    """
    import pandas as pd  # heavy: pandas

    scores = static_fit.get("unseen_scores_prospective") or {}
    rows = []
    for csv, info in (static_fit.get("prospective_sets") or {}).items():
        test = [m for m in info["scored"] if m in scores]
        calib = {m: v for m, v in scores.items() if m not in test}
        if not test:
            continue
        q = conformal_q(calib)
        for rule, (low, high) in (("symmetric", (-q, q)), ("two-tailed", conformal_bounds(calib))):
            for m in test:
                ratio, width = scores[m][0], math.sqrt(1 + scores[m][1])
                lo, hi = low * width, high * width
                out = (100 * math.expm1(ratio - hi) if ratio > hi else
                       100 * -math.expm1(ratio - lo) if ratio < lo else 0.0)
                rows.append({"set": HELDOUT_SPLITS.get(csv, csv), "rule": rule, "model": m, "inside": lo <= ratio <= hi,
                             "outside_pct": out, "log_width": hi - lo})
    per_model = pd.DataFrame(rows, columns=["set", "rule", "model", "inside", "outside_pct", "log_width"])
    if per_model.empty:
        return pd.DataFrame(columns=["set", "rule", "models", "coverage_pct", "worst_outside_pct", "mean_log_width"])
    whole = per_model.assign(set="all")
    out = pd.concat([per_model, whole]).groupby(["set", "rule"], sort=False).agg(
        models=("model", "size"), coverage_pct=("inside", "mean"), worst_outside_pct=("outside_pct", "max"),
        mean_log_width=("log_width", "mean")).reset_index()
    out["coverage_pct"] *= 100
    return out
