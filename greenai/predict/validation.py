"""How well :mod:`greenai.predict` predicts energy per epoch: the validation splits of notebook 05.

Each split fits the models of :mod:`greenai.predict` on part of the recorded rows
(:func:`greenai.predict.build.load_runs`) and predicts the rest, for each of
:data:`PREDICTORS`: the thesis' split (fit FMNIST + CIFAR-100, predict CIFAR-10),
leave one zoo model, synthetic architecture or earlier held-out family out, the
earlier held-out sets as a zoo-and-synthetic fit meets them, and the fresh held-out
set (raw, times its card's factor from the zoo anchors, and via the reference GPU).
:func:`validation_table` sums them up as MAPE and interval coverage
(``results/tables/prediction_validation.csv``).
"""

from __future__ import annotations

import math

from greenai.operators import BYTE_GROUPS
from greenai.predict.build import (HELDOUT_SPLITS, MIN_MODELS_OWN_FIT, SYNTHETIC_CSVS, beyond_zoo, fit_coefficients,
                                   fit_gpu, gpus_by_rows, load_runs, matched_ratio, premiums_by_gpu, run_macs,
                                   run_regressors)
from greenai.predict.fits import fit_factor
from greenai.predict.model import (CANDIDATE_TERMS, IMAGE_SIZE, feature_key, gpu_fit_for, narrow_norms,
                                   norm_row_bytes, predict_loglog, predict_static, predict_thesis, scale_prediction,
                                   unpriced_widening)
from greenai.predict.runtime import predict_run

__all__ = ["PREDICTORS", "TARGETS", "predict_runs", "cross_validate", "validation_table", "validation_value",
           "errors_by_share", "narrow_norm_table", "errors_by_norm_width", "predict_via_card", "outside_rows_by_route",
           "route_errors_by_model", "norm_width_errors", "candidate_rule_table", "ablation_table", "outside_pct", "target_table",
           "NOTE_KINDS", "predict_command_table", "predict_calibrated"]

#: the predictors compared in the validation table
PREDICTORS = ("static_features", "thesis_hc", "thesis_loglog")
#: what the static-feature model must reach on a split: MAPE and worst model [%], 90 % interval
#: coverage [%] and how far outside its interval any model may fall [%]; ``None``: not targeted
TARGETS = {"fresh": {"mape_pct": 8.0, "worst_model_ape_pct": 25.0, "coverage_pct": 90.0, "worst_outside_pct": 10.0},
           "near_family": {"mape_pct": 5.0, "worst_model_ape_pct": None, "coverage_pct": 90.0,
                           "worst_outside_pct": 10.0}}
#: the grids a left-out model is predicted on (batch 256): the 20-model grids and the synthetic architectures
_LOMO_CSVS = ("kpi_macs", "kpi_cifar10", "kpi_macs_h200", *SYNTHETIC_CSVS)
#: what the validation fits: energy per epoch only (the duration's fit is not validated)
ENERGY = ("energy_j",)


def predict_runs(fit: dict, test, features: dict, gpu_factor: dict | None = None):
    """Predictions of each of :data:`PREDICTORS` for the runs in ``test`` (DataFrame; one row per run and predictor)."""
    import pandas as pd  # heavy: pandas

    rows = []
    for r in test.to_dict("records"):
        x = run_regressors(r, features)
        mn = run_macs(r, features)
        preds = {"thesis_hc": predict_thesis(fit["thesis"], mn), "thesis_loglog": predict_loglog(fit["thesis"], mn)}
        if "static" in fit:
            preds["static_features"] = predict_static(fit["static"]["energy_j"], x,
                                                      unseen=r["model"] not in fit["models"])
        for name, triple in preds.items():
            est, lo, hi = scale_prediction(triple, gpu_factor if name == "static_features" else None)
            rows.append({"predictor": name, "model": r["model"], "dataset": r["dataset"], "gpu_name": r["gpu_name"],
                         "batch_size": r["batch_size"], "repeat": r["repeat"], "csv": r["csv"],
                         "measured_j": r["epoch_energy_j"], "predicted_j": est, "low_j": lo, "high_j": hi})
    out = pd.DataFrame(rows)
    if not out.empty:
        out["error_pct"] = 100 * (out["predicted_j"] - out["measured_j"]) / out["measured_j"]
        out["covered"] = (out["low_j"] <= out["measured_j"]) & (out["measured_j"] <= out["high_j"])
    return out


def cross_validate(runs, features: dict, log=None, terms=CANDIDATE_TERMS, offsets: bool = True):
    """Predicted vs measured energy per epoch on several splits, for each predictor.

    ``cifar10``
        As the thesis validated (4.2.2): fitted on the Fashion-MNIST and
        CIFAR-100 rows of ``kpi_macs``, predicting the CIFAR-10 rows of ``kpi_cifar10``.
    ``leave_one_model_out``
        For each zoo model on each GPU with enough models: fitted on every other
        model's default-precision rows (the architectures beyond the zoo included
        where that GPU has them), predicting its rows in the 20-model grids (batch 256).
    ``leave_one_synthetic_out``
        The same for each synthetic architecture, predicting its ``kpi_synthetic`` rows.
    ``leave_one_family_out``
        For each family of the architectures of the earlier held-out sets
        (:data:`greenai.predict.build.FORMER_HELDOUT_CSVS`: DenseNet, ShuffleNet, Swin, ... from
        torchvision, DLA, HRNet, LeViT, ... from timm): fitted without any model
        of that family, predicting its rows.
    ``heldout``, ``heldout2``, ``heldout3``, ``heldout4``
        The earlier held-out sets as a fit on the zoo and the synthetic
        architectures alone meets them.
    ``heldout5``
        The fresh set (:data:`greenai.predict.build.HELDOUT_CSVS`), fitted on every other row, as shipped;
        ``heldout5_card_adjusted``: the same times the card factor, the ratio of
        the set's zoo anchors (measured on the same card in the same run) to
        their fitted rows: what is left is the architecture's error, without
        the card-to-card spread of one GPU kind. ``heldout5_calibrated``: each model as ``greenai predict
        --calibrate`` predicts it on the set's card, the set's anchors as the calibration (:func:`predict_calibrated`).
    ``<split>_via_reference_gpu``
        Where the rows' GPU has its own fit and is not the reference: the same
        rows predicted by the reference GPU's static-feature model x the GPU
        factor over the zoo conditions both GPUs ran (a second route).
    ``<split>_via_widest_fit``
        Where the rows' GPU is not the one whose fit holds the most models: the same rows predicted by that
        fit x the card factor (:func:`predict_via_card`), e.g. a set measured on an H100 by the H200's model.

    ``offsets``: whether every fit has family offsets (:func:`greenai.predict.fits.family_offsets`; without, the
    ablation of notebook 05). ``terms``: the static-feature model's candidate terms in every fit (a trial adds
    :data:`greenai.predict.model.TRIAL_TERMS`).

    Returns
    -------
    pandas.DataFrame
        :func:`predict_runs` rows with a ``split`` column.
    """
    import pandas as pd  # heavy: pandas

    all_fit = runs[~runs["heldout"]]
    fit_rows = all_fit[all_fit["precision"] == "default"]
    reference = gpus_by_rows(fit_rows)[0]

    def premium(gpu, without=()):
        p = premiums_by_gpu(all_fit[~all_fit["model"].isin(without)], features, reference)
        return p.get(str(gpu)) or p.get(reference)

    def family(run) -> str:
        return str(features[feature_key(run["model"], run["in_channels"], run["num_classes"],
                                        run["image_size"])]["family"])

    frames = []
    c10 = fit_rows[fit_rows["csv"] == "kpi_cifar10"]
    for gpu in c10["gpu_name"].unique():
        train = fit_rows[(fit_rows["csv"] == "kpi_macs") & (fit_rows["gpu_name"] == gpu)]
        if train["model"].nunique() >= 3:
            frames.append(predict_runs(fit_gpu(train, features, premium(gpu), targets=ENERGY, terms=terms,
                                               offsets=offsets, lofo_scores=False),
                                       c10[c10["gpu_name"] == gpu], features)
                          .assign(split="cifar10"))
    for gpu in fit_rows["gpu_name"].unique():
        on_gpu = fit_rows[fit_rows["gpu_name"] == gpu]
        if on_gpu["model"].nunique() < MIN_MODELS_OWN_FIT + 1:
            continue
        tv = on_gpu["former_heldout"].to_numpy(bool)
        families = pd.Series([family(r) if t else "" for r, t in zip(on_gpu.to_dict("records"), tv)],
                             index=on_gpu.index)
        leave_out = [([m], on_gpu[(on_gpu["model"] == m) & on_gpu["csv"].isin(_LOMO_CSVS)])
                     for m in sorted(on_gpu.loc[~tv, "model"].unique())]
        leave_out += [(sorted(on_gpu.loc[families == f, "model"].unique()), on_gpu[families == f])
                      for f in sorted(set(families[tv]))]
        for models, test in leave_out:
            if test.empty:
                continue
            if log:
                log(f"leave out: {gpu}, {', '.join(models)}")
            fit = fit_gpu(on_gpu[~on_gpu["model"].isin(models)], features, premium(gpu, without=models), targets=ENERGY,
                          terms=terms, offsets=offsets, lofo_scores=False)
            split = ("leave_one_family_out" if test["former_heldout"].any() else
                     "leave_one_synthetic_out" if test["synthetic"].any() else "leave_one_model_out")
            frames.append(predict_runs(fit, test, features).assign(split=split))
    earlier = fit_rows[fit_rows["former_heldout"]]
    if not earlier.empty:  # the earlier sets as a fit on the zoo and the synthetic rows alone meets them
        coeffs = fit_coefficients(all_fit[~all_fit["former_heldout"]], features, terms=terms, offsets=offsets)
        frames += _predict_sets(coeffs, earlier, fit_rows, features)
    held = runs[runs["heldout"] & (runs["precision"] == "default")]
    anchor = held["anchor"]  # zoo models measured beside the set: the card
    if not held[~anchor].empty:
        coeffs = fit_coefficients(all_fit, features, terms=terms, offsets=offsets)
        frames += _predict_sets(coeffs, held[~anchor], fit_rows, features)
        for gpu, csv in held[["gpu_name", "csv"]].drop_duplicates().itertuples(index=False):
            here = (held["gpu_name"] == gpu) & (held["csv"] == csv)  # each set's own anchors: its own card
            on_card = held[anchor & here]
            if on_card.empty:
                continue
            card = pd.concat([on_card.assign(card="set"), fit_rows[fit_rows["gpu_name"] == gpu].assign(card="fit")])
            ratio = matched_ratio(card.assign(gpu_name=card["card"]), "set", "fit")
            fit, factor = gpu_fit_for(coeffs, gpu)
            test = held[~anchor & here]
            if len(ratio) < 1 or fit is None or test.empty:
                continue
            card_factor = fit_factor(ratio["epoch_energy_j"])
            p = predict_runs(fit, test, features, gpu_factor=_combine(factor, card_factor))
            p = p[p["predictor"] == "static_features"]
            frames.append(p.assign(split=p["csv"].map(HELDOUT_SPLITS) + "_card_adjusted"))
            frames.append(predict_calibrated(coeffs, gpu, on_card, test, features))
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True)


def _predict_sets(coeffs: dict, test, fit_rows, features: dict) -> list:
    """:func:`predict_runs` of rows of architectures beyond the fit, per GPU, split by their CSV.

    Each GPU's own fit or the reference GPU's x a GPU factor (:func:`greenai.predict.model.gpu_fit_for`); where the GPU has
    its own fit and is not the reference, also by the reference's model x the GPU factor
    (``*_via_reference_gpu``); where it is not the GPU whose fit holds the most models (the H200's, with the
    synthetic and earlier held-out rows), also by that fit x the card factor (:func:`predict_via_card`;
    ``*_via_widest_fit``).
    """
    frames = []
    widest = max(coeffs["fits"], key=lambda g: (len(coeffs["fits"][g].get("models") or ()), g))
    for gpu in test["gpu_name"].unique():
        on_gpu = test[test["gpu_name"] == gpu]
        fit, factor = gpu_fit_for(coeffs, gpu)
        if fit is None:
            continue
        p = predict_runs(fit, on_gpu, features, gpu_factor=factor)
        frames.append(p.assign(split=p["csv"].map(HELDOUT_SPLITS)))
        if gpu != widest:
            try:
                p = predict_via_card(coeffs["fits"][widest], on_gpu, fit_rows, features, widest)
                frames.append(p.assign(split=p["csv"].map(HELDOUT_SPLITS) + "_via_widest_fit"))
            except ValueError:  # fewer than two zoo conditions on both cards: no card factor
                pass
        ref = coeffs["reference_gpu"]
        if factor is None and gpu != ref and ref in coeffs["fits"]:
            try:
                p = predict_via_card(coeffs["fits"][ref], on_gpu, fit_rows, features, ref)
            except ValueError:  # fewer than two zoo conditions on both cards: no card factor
                continue
            frames.append(p.assign(split=p["csv"].map(HELDOUT_SPLITS) + "_via_reference_gpu"))
    return frames


def predict_calibrated(coeffs: dict, gpu: str, anchors, test, features: dict):
    """``test``'s rows as ``greenai predict --calibrate`` predicts them on the card that measured ``anchors``.

    The calibration (:func:`greenai.predict.calibrate.card_calibration`) is the geometric mean of each anchor's
    measured energy per epoch over its prediction on ``gpu``'s fit (its runs averaged per model); each model of
    ``test`` is predicted as :func:`greenai.predict.runtime.predict_run` predicts it on ``gpu`` (a model outside
    ``gpu``'s own fit by the widest fit x the card factor) times that calibration: the estimate ``--calibrate``
    gives. The interval is the model's (without the widening of ``greenai predict``'s notes) widened by the
    calibration's spread, as on the other card-factor routes. Returns :func:`predict_runs` rows of the
    static-feature model, split ``<set>_calibrated``.
    """
    import pandas as pd  # heavy: pandas

    fit, factor = gpu_fit_for(coeffs, gpu)
    on_anchors = predict_runs(fit, anchors, features, gpu_factor=factor)
    on_anchors = on_anchors[on_anchors["predictor"] == "static_features"].groupby("model")[
        ["measured_j", "predicted_j"]].mean()
    calibration = fit_factor(on_anchors["measured_j"] / on_anchors["predicted_j"])
    widest = coeffs["fits"][gpu].get("widest_fit")
    outside = ~test["model"].isin(fit["models"]) if widest else pd.Series(False, index=test.index)
    frames = [predict_runs(fit, test[~outside], features, gpu_factor=_combine(factor, calibration))]
    if widest:  # as predict_run: a model outside the card's own fit by the widest fit x the card factor
        frames.append(predict_runs(coeffs["fits"][widest["gpu"]], test[outside], features,
                                   gpu_factor=_combine(widest["energy_j"], calibration)))
    p = pd.concat(frames, ignore_index=True)
    p = p[p["predictor"] == "static_features"]
    return p.assign(split=p["csv"].map(HELDOUT_SPLITS) + "_calibrated")


def _combine(a: dict | None, b: dict | None) -> dict | None:
    """Two :func:`greenai.predict.fits.fit_factor` factors applied one after the other (log spreads in quadrature)."""
    if not a or not b:
        return a or b
    sd = math.hypot(a["log_sd"] or 0.0, b["log_sd"] or 0.0)
    return {**a, "factor": a["factor"] * b["factor"], "log_sd": sd}


def validation_table(predictions):
    """MAPE and 90 % interval coverage per split and predictor.

    Columns: ``split``, ``predictor``, ``gpu_name``, ``n_runs``, ``n_models``, ``mape_pct``
    (mean absolute percentage error of energy per epoch), ``median_ape_pct``,
    ``max_ape_pct``, ``bias_pct`` (mean signed error), ``covered`` (runs inside
    the 90 % prediction interval) and ``coverage_pct``.
    """
    import pandas as pd  # heavy: pandas

    if predictions is None or len(predictions) == 0:
        return pd.DataFrame(columns=["split", "predictor", "gpu_name", "n_runs", "n_models", "mape_pct", "median_ape_pct",
                                     "max_ape_pct", "bias_pct", "covered", "coverage_pct"])
    p = predictions.assign(ape=predictions["error_pct"].abs())
    g = p.groupby(["split", "predictor", "gpu_name"], sort=False)
    out = g.agg(n_runs=("ape", "size"), n_models=("model", "nunique"), mape_pct=("ape", "mean"),
                median_ape_pct=("ape", "median"), max_ape_pct=("ape", "max"), bias_pct=("error_pct", "mean"),
                covered=("covered", "sum")).reset_index()
    out["coverage_pct"] = 100 * out["covered"] / out["n_runs"]
    return out


def validation_value(validation, split: str, predictor: str, column: str = "mape_pct", gpu: str | None = None) -> float:
    """One number of :func:`validation_table` (``gpu``'s row where several GPUs have the split); NaN if absent."""
    row = validation[(validation["split"] == split) & (validation["predictor"] == predictor)]
    if len(row) > 1:
        row = row[row["gpu_name"] == gpu]
    return float(row[column].iloc[0]) if len(row) else float("nan")


def outside_pct(measured, low, high):
    """How far a measured value lies outside its interval ``[low, high]``, relative to the nearer end [%] (0 inside)."""
    import numpy as np  # heavy: numpy

    measured, low, high = (np.asarray(v, dtype=float) for v in (measured, low, high))
    above = measured / high - 1
    below = np.where(measured > 0, low / measured - 1, np.inf)
    return 100 * np.maximum(np.maximum(above, below), 0)


def target_table(predictions, splits: dict):
    """The static-feature model against :data:`TARGETS` on each split, one row per split and GPU.

    ``splits`` maps a split name to a key of :data:`TARGETS`. Per model (runs averaged): absolute error
    [%], and how far outside its 90 % interval (:func:`outside_pct`); columns ``n_models``, ``mape_pct`` (mean
    over models), ``worst_model``, ``worst_model_ape_pct``, ``coverage_pct`` (runs inside their interval),
    ``worst_outside_pct``, each target and whether it is met (``*_met``; NaN where not targeted).
    """
    import pandas as pd  # heavy: pandas

    p = predictions[(predictions["predictor"] == "static_features") & predictions["split"].isin(list(splits))]
    rows = []
    for (split, gpu), sub in p.groupby(["split", "gpu_name"], sort=False):
        per_model = sub.assign(ape=sub["error_pct"].abs(),
                               outside=outside_pct(sub["measured_j"], sub["low_j"], sub["high_j"]))
        per_model = per_model.groupby("model").agg(ape=("ape", "mean"), outside=("outside", "max"))
        target = TARGETS[splits[split]]
        row = {"split": split, "gpu_name": gpu, "targets": splits[split], "n_models": len(per_model),
               "mape_pct": per_model["ape"].mean(), "worst_model": per_model["ape"].idxmax(),
               "worst_model_ape_pct": per_model["ape"].max(), "coverage_pct": 100 * sub["covered"].mean(),
               "worst_outside_pct": per_model["outside"].max()}
        for key, goal in target.items():
            row[f"target_{key}"] = goal
            if goal is None:
                row[f"{key}_met"] = float("nan")
            else:
                row[f"{key}_met"] = bool(row[key] >= goal if key == "coverage_pct" else row[key] <= goal)
        rows.append(row)
    return pd.DataFrame(rows)


def errors_by_share(predictions, coeffs: dict, split: str, numerator: str = "macs_conv_grouped",
                    denominator: str | tuple[str, ...] = "macs_total", threshold: float = 0.1):
    """The static-feature model's error per model of one split beside the share of one kind of work in it.

    ``share`` = ``numerator / denominator`` of the model's shipped static features (``coeffs["features"]``, at
    the run's dataset shape from ``coeffs["datasets"]``; a tuple ``denominator`` is the sum of those features;
    default: the fraction of its MACs in grouped convolutions, neither dense nor depthwise); per model and
    dataset ``error_pct`` (runs averaged),
    ``outside_pct`` (:func:`outside_pct`, the largest over its runs), ``covered`` (every run inside its
    interval) and ``heavy`` (``share >= threshold``). Sorted by error, the most under-predicted first.
    """
    p = predictions[(predictions["predictor"] == "static_features") & (predictions["split"] == split)]
    p = p.assign(outside=outside_pct(p["measured_j"], p["low_j"], p["high_j"]))
    out = p.groupby(["model", "dataset"]).agg(error_pct=("error_pct", "mean"), outside_pct=("outside", "max"),
                                             covered=("covered", "all")).reset_index()
    shares = []
    keys = (denominator,) if isinstance(denominator, str) else denominator
    for r in out.itertuples():
        shape = coeffs["datasets"][r.dataset]
        f = coeffs["features"][feature_key(r.model, shape["channels"], shape["num_classes"], IMAGE_SIZE)]
        shares.append(float(f[numerator]) / sum(float(f[k]) for k in keys))
    out = out.assign(share=shares, heavy=[s >= threshold for s in shares])
    return (out[["model", "dataset", "share", "heavy", "error_pct", "outside_pct", "covered"]]
            .sort_values("error_pct").reset_index(drop=True))


def narrow_norm_table(predictions, coeffs: dict, splits, gpu: str = "NVIDIA H200", fit_gpu: str | None = None):
    """Which models of some splits have norms narrower than any the fit has seen, and what the widening that
    :func:`greenai.predict.runtime.predict_run` gives them does to their interval.

    ``splits``: one split name or several. The fit is ``coeffs``' for ``fit_gpu`` (default ``gpu``; another where
    the rows of ``gpu`` were predicted by its fit, ``*_via_widest_fit``) (:func:`greenai.predict.model.narrow_norms`);
    features are the shipped ones at each run's dataset shape. Per split, model and dataset (runs of ``gpu``
    averaged): ``narrowest_values`` (the fewest values any of its layer or group norms normalises together; NaN
    without one), ``fewest_fitted``, ``narrow_share`` (the share of its bytes moved by the narrower norms),
    ``widen`` (the factor on the high end, 1 where none is narrower), ``error_pct``, ``outside_pct`` and
    ``outside_widened_pct`` (:func:`outside_pct` with the high end as it is and times ``widen``, the largest over its
    runs). The most widened first.
    """
    splits = [splits] if isinstance(splits, str) else list(splits)
    p = predictions[(predictions["predictor"] == "static_features") & predictions["split"].isin(splits)
                    & (predictions["gpu_name"] == gpu)]
    fit, _ = gpu_fit_for(coeffs, fit_gpu or gpu)
    widen, narrowest, shares, fewest = [], [], [], None
    for r in p.itertuples():
        shape = coeffs["datasets"][r.dataset]
        f = coeffs["features"][feature_key(r.model, shape["channels"], shape["num_classes"], IMAGE_SIZE)]
        narrow, fewest = narrow_norms(f, coeffs["features"], fit["models"])
        moved = sum(float(f[f"bytes_{g}"]) for g in BYTE_GROUPS)
        share = sum(a[1] for a in narrow) / moved if moved > 0 else 0.0
        shares.append(share)
        widen.append(unpriced_widening(share) if narrow else 1.0)
        narrowest.append(min((a[0] for a in f.get("norm_axes") or ()), default=float("nan")))
    p = p.assign(narrowest_values=narrowest, fewest_fitted=fewest, narrow_share=shares, widen=widen,
                 outside=outside_pct(p["measured_j"], p["low_j"], p["high_j"]))
    p = p.assign(outside_widened=outside_pct(p["measured_j"], p["low_j"], p["high_j"] * p["widen"]))
    out = p.groupby(["split", "model", "dataset"], sort=False).agg(
        narrowest_values=("narrowest_values", "first"), fewest_fitted=("fewest_fitted", "first"),
        narrow_share=("narrow_share", "first"), widen=("widen", "first"), error_pct=("error_pct", "mean"),
        outside_pct=("outside", "max"), outside_widened_pct=("outside_widened", "max")).reset_index()
    return out.sort_values(["widen", "error_pct"], ascending=[False, True], kind="stable").reset_index(drop=True)


def errors_by_norm_width(table, edges: tuple[int, ...] = (32, 64)):
    """The static-feature model's errors binned by how narrow a model's narrowest layer or group norm is.

    ``table`` is :func:`narrow_norm_table`'s; ``edges`` [values] cut ``narrowest_values`` into bins
    (``"< 32"``, ``"32-63"``, ``">= 64"`` for the default) beside ``"no layer or group norm"``. One row per split
    and bin that has models: ``models``, ``mean_error_pct``, ``median_error_pct``, ``worst_error_pct`` (the
    largest in magnitude, its sign kept) and ``worst_model``.
    """
    import pandas as pd  # heavy: pandas

    edges = tuple(int(e) for e in edges)
    labels = [f"< {edges[0]}", *(f"{a}-{b - 1}" for a, b in zip(edges, edges[1:])), f">= {edges[-1]}"]
    order = [*labels, "no layer or group norm"]

    def width_bin(values) -> str:
        if values != values:  # NaN: no layer or group norm
            return order[-1]
        return labels[sum(values >= e for e in edges)]

    t = table.assign(width=table["narrowest_values"].map(width_bin))
    rows = []
    for (split, width), sub in t.groupby(["split", "width"], sort=False):
        worst = sub.loc[sub["error_pct"].abs().idxmax()]
        rows.append({"split": split, "narrowest_norm": width, "models": len(sub),
                     "mean_error_pct": sub["error_pct"].mean(), "median_error_pct": sub["error_pct"].median(),
                     "worst_error_pct": worst["error_pct"], "worst_model": worst["model"]})
    out = pd.DataFrame(rows)
    out["narrowest_norm"] = pd.Categorical(out["narrowest_norm"], categories=order, ordered=True)
    return out.sort_values(["split", "narrowest_norm"], kind="stable").reset_index(drop=True)


def predict_via_card(fit: dict, test, fit_rows, features: dict, fit_gpu_name: str):
    """Rows measured on one GPU predicted by a static-feature fit of another, times the factor between the cards.

    ``fit``: a :func:`greenai.predict.build.fit_gpu` result on ``fit_gpu_name``'s rows; ``test``: rows of one other
    GPU (:func:`greenai.predict.build.load_runs`); ``fit_rows``: rows of both GPUs, whose zoo conditions measured on
    both give the factor ``E(test's GPU) / E(fit_gpu_name)`` (:func:`greenai.predict.fits.fit_factor` of
    :func:`greenai.predict.build.matched_ratio`; its spread widens the interval). Returns :func:`predict_runs`
    rows of the static-feature model.
    """
    gpus = set(test["gpu_name"])
    if len(gpus) != 1 or fit_gpu_name in gpus:
        raise ValueError(f"test rows must be of one GPU other than {fit_gpu_name}; they are of {sorted(gpus)}")
    gpu = gpus.pop()
    zoo = fit_rows[~beyond_zoo(fit_rows) & (fit_rows["precision"] == "default")]
    ratio = matched_ratio(zoo, gpu, fit_gpu_name)
    if len(ratio) < 2:
        raise ValueError(f"{gpu} and {fit_gpu_name} share {len(ratio)} zoo conditions: a card factor needs two")
    p = predict_runs(fit, test, features, gpu_factor=fit_factor(ratio["epoch_energy_j"]))
    return p[p["predictor"] == "static_features"].reset_index(drop=True)


def _refit_name(terms) -> str:
    """How a fit with ``terms`` differs from one with :data:`greenai.predict.model.CANDIDATE_TERMS`, in words."""
    added = [t for t in terms if t not in CANDIDATE_TERMS]
    dropped = [t for t in CANDIDATE_TERMS if t not in terms]
    parts = ([f"with {', '.join(added)}"] if added else []) + ([f"without {', '.join(dropped)}"] if dropped else [])
    return f"fit {' '.join(parts)}" if parts else "refit"


def outside_rows_by_route(csv: str, coeffs: dict, via_gpu: str, terms, raw_dir=None, log=None):
    """Rows of a CSV that no fit holds (e.g. ``kpi_synthetic_norms``), predicted by three routes.

    The CSV's rows, all of one GPU, are predicted by that GPU's fit in ``coeffs`` (the shipped coefficients;
    split ``"<gpu> fit"``), by ``via_gpu``'s times the card factor (:func:`predict_via_card`; ``"<via_gpu> fit x
    card"``) and by ``via_gpu``'s refitted on the same rows with ``terms`` times the card factor (``"<via_gpu> fit
    with TERM x card"`` for each term beside :data:`greenai.predict.model.CANDIDATE_TERMS`, ``"<via_gpu> fit
    without TERM x card"`` for each left out, ``"<via_gpu> refit x card"`` where ``terms`` are the shipped ones).
    The CSV's models' static features are computed (on ``meta``; torch) beside the shipped ones.

    Returns
    -------
    tuple
        The :func:`predict_runs` rows of the static-feature model with a ``split`` per route (empty where the CSV
        has no rows), the features (shipped and the CSV's) and the refitted coefficients (None without rows).
    """
    import pandas as pd  # heavy: pandas

    from greenai.predict.features import feature_table  # heavy: torch

    runs = load_runs(raw_dir, candidates=(csv,))
    test = runs[runs["csv"] == csv]
    if test.empty:
        return pd.DataFrame(), coeffs["features"], None
    keys = sorted({(r.model, int(r.in_channels), int(r.num_classes), int(r.image_size)) for r in test.itertuples()})
    features = {**coeffs["features"], **feature_table(keys, coeffs["features"], log=log)}
    fit_rows = runs[(runs["csv"] != csv) & ~runs["heldout"]]
    refit = fit_coefficients(fit_rows, features, terms=terms)
    gpu = str(test["gpu_name"].iloc[0])
    own, factor = gpu_fit_for(coeffs, gpu)
    routes = [(f"{gpu} fit", predict_runs(own, test, features, gpu_factor=factor)),
              (f"{via_gpu} fit x card", predict_via_card(coeffs["fits"][via_gpu], test, fit_rows, features, via_gpu)),
              (f"{via_gpu} {_refit_name(terms)} x card",
               predict_via_card(refit["fits"][via_gpu], test, fit_rows, features, via_gpu))]
    out = pd.concat([p[p["predictor"] == "static_features"].assign(split=name) for name, p in routes],
                    ignore_index=True)
    return out, features, refit


def route_errors_by_model(routes):
    """One row per model of :func:`outside_rows_by_route`'s rows: its mean error [%] over its runs by each route, a
    column per route (``split``), the model in column ``model``."""
    return routes.groupby(["model", "split"])["error_pct"].mean().unstack("split").reset_index()


def norm_width_errors(predictions, features: dict, datasets: dict, narrower_than: int):
    """Per model and prediction route, its error beside how narrow its norms are.

    ``predictions``: :func:`predict_runs` rows with a ``split`` column naming the route; ``features``: static
    features holding every predicted model (``model|channels|classes|size`` keys) at its dataset's shape
    (``datasets``: name -> ``{"channels", "num_classes"}``, as the shipped coefficients hold);
    ``narrower_than`` [values]: a norm over fewer values counts as narrow (e.g. the fewest of a fit's). One row per
    split and model (runs averaged): ``narrowest_values``, ``narrow_share`` (the share of the bytes moved by its
    narrow norms), ``norm_bytes_per_value`` (:func:`greenai.predict.model.norm_row_bytes` over the bytes moved [1/value]),
    ``error_pct``, ``covered`` (every run inside its interval) and ``outside_pct`` (the largest over its runs).
    """
    import pandas as pd  # heavy: pandas

    rows = []
    for r in predictions.to_dict("records"):
        shape = datasets[r["dataset"]]
        f = features[feature_key(r["model"], shape["channels"], shape["num_classes"], IMAGE_SIZE)]
        moved = sum(float(f[f"bytes_{g}"]) for g in BYTE_GROUPS)
        axes = f.get("norm_axes") or ()
        rows.append({**r, "narrowest_values": min((a[0] for a in axes), default=float("nan")),
                     "narrow_share": sum(a[1] for a in axes if a[0] < narrower_than) / moved,
                     "norm_bytes_per_value": norm_row_bytes(f) / moved,
                     "outside": float(outside_pct(r["measured_j"], r["low_j"], r["high_j"]))})
    t = pd.DataFrame(rows)
    out = t.groupby(["split", "model"], sort=False).agg(
        narrowest_values=("narrowest_values", "first"), narrow_share=("narrow_share", "first"),
        norm_bytes_per_value=("norm_bytes_per_value", "first"), error_pct=("error_pct", "mean"),
        covered=("covered", "all"), outside_pct=("outside", "max")).reset_index()
    return out.sort_values(["split", "narrow_share"], ascending=[True, False], kind="stable").reset_index(drop=True)


def _split_errors(predictions, split: str, gpu: str, label: str, keep=None) -> dict:
    """The static-feature model's errors on one split and GPU, its runs averaged per model: ``models``,
    ``mape_<label>_pct``, ``worst_<label>`` and its error ``worst_<label>_pct``, ``coverage_<label>_pct``;
    ``keep`` (models -> bool mask) restricts the rows."""
    p = predictions
    sub = p[(p["predictor"] == "static_features") & (p["split"] == split) & (p["gpu_name"] == gpu)]
    if keep is not None:
        sub = sub[keep(sub["model"])]
    ape = sub.assign(ape=sub["error_pct"].abs()).groupby("model")["ape"].mean()
    return {"models": len(ape), f"mape_{label}_pct": ape.mean(), f"worst_{label}": ape.idxmax() if len(ape) else None,
            f"worst_{label}_pct": ape.max(), f"coverage_{label}_pct": 100 * sub["covered"].mean()}


def candidate_rule_table(predictions, candidate_predictions, fresh_split: str, gpu: str = "NVIDIA H200",
                         tolerance_pct: float = 0.5, fresh_gpu: str | None = None):
    """Whether candidate training rows (:data:`greenai.predict.build.CANDIDATE_CSVS`) pass their rule.

    ``predictions`` and ``candidate_predictions`` are :func:`cross_validate` without and with the candidate rows
    fitted. One row per split (``leave_one_family_out``, ``fresh_split``) of the static-feature model on ``gpu``
    (the fresh split's on ``fresh_gpu``, default ``gpu``: a set measured on another card):
    ``mape_without_pct``, ``mape_with_pct``, ``change_pts``, the worst model's error and the coverage of each, and
    ``passes``: the family-left-out MAPE rises by at most ``tolerance_pct`` points, the fresh set's MAPE falls.
    """
    import pandas as pd  # heavy: pandas

    rows = []
    for split, rule, card in (("leave_one_family_out", lambda d: d <= tolerance_pct, gpu),
                              (fresh_split, lambda d: d < 0, fresh_gpu or gpu)):
        row = {"split": split}
        for label, p in (("without", predictions), ("with", candidate_predictions)):
            row.update({k: v for k, v in _split_errors(p, split, card, label).items() if k != "models"})
        row["change_pts"] = row["mape_with_pct"] - row["mape_without_pct"]
        row["passes"] = bool(rule(row["change_pts"]))
        rows.append(row)
    return pd.DataFrame(rows)


def ablation_table(predictions, ablated, splits, gpu: str = "NVIDIA H200", heavy=None):
    """The static-feature model with (``predictions``) and without a term (``ablated``), split by split.

    Both are :func:`cross_validate` results. One row per split of ``splits`` (and, where ``heavy`` names models,
    that split restricted to them and to the others: ``<split> (heavy)``, ``<split> (others)``) on ``gpu``:
    ``models``, ``mape_with_pct``, ``mape_without_pct``, ``change_pts`` (with minus without), the worst model and
    its error and the coverage of each.
    """
    import pandas as pd  # heavy: pandas

    heavy = set(heavy or ())
    rows = []
    for split in splits:
        subsets = [(split, None)]
        models = set(predictions.loc[predictions["split"] == split, "model"])
        if models & heavy:  # a split without heavy models is not split
            subsets += [(f"{split} (heavy)", True), (f"{split} (others)", False)]
        for label, keep in subsets:
            row = {"split": label}
            for name, p in (("with", predictions), ("without", ablated)):
                kept = None if keep is None else (lambda m, keep=keep: m.isin(heavy) == keep)
                row.update(_split_errors(p, split, gpu, name, kept))
            row["change_pts"] = row["mape_with_pct"] - row["mape_without_pct"]
            rows.append(row)
    return pd.DataFrame(rows)


#: the rules by which :func:`greenai.predict.runtime.predict_run` widens an interval, by how its note starts
NOTE_KINDS = {"operators the static model cannot price": "unpriced", "norms over fewer values": "narrow norms",
              "layer or group norms": "narrow norms", "depthwise kernels": "large kernels",
              "batch norms over few channels": "few-channel batch norms"}


def predict_command_table(measured_j, gpu: str, dataset: str = "fashion_mnist", batch_size: int = 256):
    """Each model as ``greenai predict --model M --gpu GPU --epochs 1`` predicts it, against its measured energy.

    ``measured_j``: model name -> its measured energy per epoch [J] (on ``gpu``, ``dataset``, ``batch_size``).
    One row per model: ``measured_j``, ``predicted_j``, ``low_j``, ``high_j`` (the 90 % interval
    :func:`greenai.predict.runtime.predict_run` gives, its notes' widening included), ``error_pct``,
    ``inside``, ``outside_pct`` (how far the measured energy lies outside the interval, relative to the end it
    passed [%]) and ``notes``: the kinds of :data:`NOTE_KINDS` that widened it. The shipped coefficients predict.
    """
    import pandas as pd  # heavy: pandas

    rows = []
    for model, measured in dict(measured_j).items():
        p = predict_run(model, dataset, epochs=1, batch_size=batch_size, gpu=gpu)
        outside = max(measured / p.energy_high_j - 1, 1 - measured / p.energy_low_j, 0.0) * 100
        kinds = dict.fromkeys(kind for start, kind in NOTE_KINDS.items() if any(n.startswith(start) for n in p.notes))
        rows.append(dict(model=model, measured_j=float(measured), predicted_j=p.energy_j, low_j=p.energy_low_j,
                         high_j=p.energy_high_j, error_pct=(p.energy_j / measured - 1) * 100, inside=outside == 0,
                         outside_pct=outside, notes=", ".join(kinds)))
    return pd.DataFrame(rows, columns=["model", "measured_j", "predicted_j", "low_j", "high_j", "error_pct", "inside",
                                       "outside_pct", "notes"])
