"""Energy prediction (thesis 4.2): fitting recovers known coefficients, the static pass
counts a hand-built network as worked out by hand, bad input is refused with a clear
message (exit code 2 on the command line), and the shipped coefficients are what a refit
of the committed rows gives."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from greenai import cli, paths
from greenai import predict as pr
from greenai.predict import prospective as pp
from greenai.predict import validation as pv
from greenai.models.sets import HELDOUT5_MODELS, HELDOUT7_MODELS, HELDOUT11_MODELS
from greenai.paths import RAW_DIR, REPO_ROOT

#: the fresh held-out set's CSV and split (never fitted)
FRESH_CSV = pr.HELDOUT_CSVS[0]
FRESH = pr.HELDOUT_SPLITS[FRESH_CSV]

# --------------------------------------------------------------------------- fitting on generated data

TRUE = {"conv": 2e-11, "conv_narrow_7x7": 1e-9, "conv_depthwise_beyond_7x7": 1e-9, "matmul": 6e-11,
        "bytes_elementwise": 1e-10, "bytes_norm": 4e-10, "bytes_other": 8e-10, "norm_rows": 5e-8,
        "grouped_pointwise": 8e-9, "batch_norm_channels": 1.5e-7, "kernels": 0.008, "recurrent": 0.02,
        "samples": 0.01, "param_updates": 2e-8}


def _generated_runs(n, rng, noise=0.02, norm_axes=True, few_channel_norms=True):
    """``n`` runs' regressors and energies [J] of :data:`TRUE`; ``norm_axes``: their norms' widths are drawn (a
    third narrow, 2-32 values), else no norm has one and ``norm_rows`` is 0; ``few_channel_norms``: a third have
    batch norms over few channels, else ``batch_norm_channels`` is 0. A third have depthwise kernels beyond 7x7."""
    rows = []
    for _ in range(n):
        # log-uniform over the zoo's ranges and below, so that each term dominates some runs
        feats = {"macs_conv_dense": 10 ** rng.uniform(6, 10.2), "macs_conv_depthwise": 10 ** rng.uniform(4, 7.6),
                 "macs_conv_grouped": 10 ** rng.uniform(4, 8), "conv_narrow_elements": 10 ** rng.uniform(5, 8),
                 "macs_matmul": 10 ** rng.uniform(4, 9.7), "bytes_forward": 10 ** rng.uniform(5, 8.3),
                 "bytes_backward": 10 ** rng.uniform(5, 8.3), "bytes_elementwise": 10 ** rng.uniform(5, 9.2),
                 "bytes_norm": 10 ** rng.uniform(4, 8.6), "bytes_other": 10 ** rng.uniform(5, 8.3),
                 "kernels_forward": rng.integers(30, 600),
                 "kernels_backward": rng.integers(30, 600), "params": 10 ** rng.uniform(5, 8.6),
                 "recurrent_steps": rng.integers(50, 2000) if rng.random() < 0.3 else 0,  # a third recurrent
                 "macs_conv_depthwise_beyond_7x7": 0.0, "conv_narrow_beyond_7x7": 0.0,
                 "macs_conv_dilated": 0.0, "macs_conv_non_square": 0.0,
                 "batch_norm_channel_values": 0.0}
        if rng.random() < 0.3:  # depthwise kernels beyond 7x7: up to 95 % of the depthwise MACs and narrow work
            feats["macs_conv_depthwise_beyond_7x7"] = feats["macs_conv_depthwise"] * rng.uniform(0.2, 0.95)
            feats["conv_narrow_beyond_7x7"] = feats["conv_narrow_elements"] * rng.uniform(0.05, 0.5)
        if few_channel_norms and rng.random() < 0.3:  # values per channel of batch norms over few channels
            feats["batch_norm_channel_values"] = feats["bytes_norm"] / rng.uniform(4, 256)
        # a third with grouped 1x1 convolutions (a part of bytes_other)
        feats["bytes_conv_grouped_pointwise"] = (feats["bytes_other"] * rng.uniform(0.05, 0.8)
                                                 if rng.random() < 0.3 else 0.0)
        if norm_axes:  # [values normalised together, bytes moved, norms, name]
            width = rng.choice([2, 6, 16, 32]) if rng.random() < 0.3 else rng.choice([64, 384, 768])
            feats["norm_axes"] = [[int(width), feats["bytes_norm"], 1, "norm"]]
        rows.append(pr.regressors(feats, rng.integers(5_000, 100_000), rng.choice([16, 64, 256, 1024])))
    clean = np.array([sum(TRUE[k] * r[k] for k in TRUE) for r in rows])
    return rows, clean * (1 + noise * rng.standard_normal(n))


def test_fit_static_recovers_known_coefficients():
    rng = np.random.default_rng(0)
    rows, y = _generated_runs(200, rng, noise=0.01)
    fit = pr.fit_static(rows, y)
    got = {t["name"]: t for t in fit["terms"]}
    assert set(got) == set(TRUE) and not fit["merged"] and not fit["dropped"]
    for name, value in TRUE.items():
        assert got[name]["coef"] == pytest.approx(value, rel=0.1)
    # 95 % confidence intervals: with 12 terms, about one misses; most cover the true price
    covering = [n for n, v in TRUE.items() if got[n]["ci_low"] < v < got[n]["ci_high"]]
    assert len(covering) >= len(TRUE) - 2, covering
    assert fit["sigma_rel"] == pytest.approx(0.01, rel=0.2)
    # 90 % prediction intervals cover about 90 % of new runs from the same process
    new, y_new = _generated_runs(400, rng, noise=0.01)
    covered = [lo <= y <= hi for x, y in zip(new, y_new) for _, lo, hi in [pr.predict_static(fit, x)]]
    assert 0.85 <= np.mean(covered) <= 0.95


@pytest.mark.filterwarnings("ignore:The design matrix is rank-deficient")  # statsmodels says so of the reference
def test_the_static_fit_is_statsmodels_weighted_least_squares_also_where_two_terms_are_collinear():
    import statsmodels.api as sm

    rng = np.random.default_rng(21)
    rows, y = _generated_runs(150, rng, noise=0.03)
    collinear = [{**r, "param_updates": 3e6 * r["samples"]} for r in rows]  # two columns, one direction
    for data in (rows, collinear):
        fit = pr.fit_static(data, y)
        X = np.array([[sum(r[c] for c in t["components"]) for t in fit["terms"]] for r in data])
        res = sm.WLS(y, X, weights=1.0 / y**2).fit()
        ci = np.asarray(res.conf_int(alpha=0.05))
        assert [t["coef"] for t in fit["terms"]] == pytest.approx(list(res.params), rel=1e-8)
        assert [t["se"] for t in fit["terms"]] == pytest.approx(list(res.bse), rel=1e-8)
        assert np.array([[t["ci_low"], t["ci_high"]] for t in fit["terms"]]) == pytest.approx(ci, rel=1e-8)
        assert [t["p_value"] for t in fit["terms"]] == pytest.approx(list(res.pvalues), rel=1e-6, abs=1e-250)
        assert np.array(fit["cov"]) == pytest.approx(np.asarray(res.cov_params()), rel=1e-8, abs=1e-60)
        assert fit["sigma_rel"] == pytest.approx(math.sqrt(res.scale), rel=1e-10)
        assert fit["df_resid"] == res.df_resid
    assert fit["df_resid"] == len(y) - (len(fit["terms"]) - 1)  # the collinear pair counts once


def test_the_norm_rows_term_enters_a_fit_only_where_it_is_named_and_then_is_recovered():
    rng = np.random.default_rng(3)
    rows, y = _generated_runs(200, rng, noise=0.01, norm_axes=False)  # norm_rows 0: set below
    norm_price = 5e-8  # J per byte per value normalised together
    for i, r in enumerate(rows):  # a third with narrow norms, whose rows cost above their bytes
        r["norm_rows"] = r["bytes_norm"] / rng.uniform(4, 32) if rng.random() < 0.3 else r["bytes_norm"] / 768
        y[i] += norm_price * r["norm_rows"]
    without = tuple(t for t in pr.CANDIDATE_TERMS if t != "norm_rows")
    shipped = pr.fit_static(rows, y, terms=without)
    assert "norm_rows" not in {t["name"] for t in shipped["terms"]}
    trial = pr.fit_static(rows, y)  # the shipped terms hold it since set 10 was chosen
    got = {t["name"]: t for t in trial["terms"]}
    assert got["norm_rows"]["coef"] == pytest.approx(norm_price, rel=0.15)
    assert got["norm_rows"]["unit"] == "J/(B/value)"
    assert trial["sigma_rel"] < shipped["sigma_rel"] / 2  # the term explains what the others cannot


def test_the_norm_alignment_trial_recovers_a_row_price_where_misaligned_rows_cost_more_and_the_shipped_term_cannot():
    from greenai.predict.model import TRIAL_TERMS, trial_terms

    rng = np.random.default_rng(5)
    rows, y = _generated_runs(200, rng, noise=0.01)  # a third with norms over 2, 6, 16 or 32 values
    price = TRUE["norm_rows"]
    y = y + price * np.array([r["norm_rows_aligned"] - r["norm_rows"] for r in rows])  # the rows' costs as the trial's
    aligned = pr.fit_static(rows, y, terms=trial_terms(trial="norm_alignment"))
    got = {t["name"]: t for t in aligned["terms"]}
    assert "norm_rows" not in got and got["norm_rows_aligned"]["coef"] == pytest.approx(price, rel=0.15)
    assert got["norm_rows_aligned"]["unit"] == "J/(B/value)" and "multiple of 4" in got["norm_rows_aligned"]["per"]
    shipped = pr.fit_static(rows, y)
    assert shipped["sigma_rel"] > 2 * aligned["sigma_rel"]  # one price per row cannot follow two speeds
    assert "norm_rows_aligned" in TRIAL_TERMS


def test_the_batch_norm_channel_term_enters_a_fit_only_where_it_is_named_and_then_is_recovered():
    rng = np.random.default_rng(5)
    rows, y = _generated_runs(200, rng, noise=0.01, few_channel_norms=False)  # batch_norm_channels 0: set below
    value_price = 2e-7  # J per value a channel holds
    for i, r in enumerate(rows):  # a third with batch norms over few channels, whose channels cost above their bytes
        r["batch_norm_channels"] = r["bytes_norm"] / rng.uniform(4, 256) if rng.random() < 0.3 else 0.0
        y[i] += value_price * r["batch_norm_channels"]
    without = pr.fit_static(rows, y, terms=tuple(t for t in pr.CANDIDATE_TERMS if t != "batch_norm_channels"))
    assert "batch_norm_channels" not in {t["name"] for t in without["terms"]}
    trial = pr.fit_static(rows, y)
    got = {t["name"]: t for t in trial["terms"]}
    assert got["batch_norm_channels"]["coef"] == pytest.approx(value_price, rel=0.15)
    assert got["batch_norm_channels"]["unit"] == "J/value"
    assert trial["sigma_rel"] < without["sigma_rel"] / 2  # the term explains what the others cannot


def test_leverage_is_the_hat_diagonal_of_the_weighted_fit_relative_to_its_mean():
    rng = np.random.default_rng(1)
    rows, y = _generated_runs(120, rng, noise=0.02)
    fit = pr.fit_static(rows, y)
    names = [t["name"] for t in fit["terms"]]
    z = np.array([[r[n] / yi for n in names] for r, yi in zip(rows, y)])  # WLS rows: weights 1/y^2
    hat = np.einsum("ij,jk,ik->i", z, np.linalg.inv(z.T @ z), z)
    got = np.array([pr.leverage(fit, x, yi) for x, yi in zip(rows, y)])
    assert got == pytest.approx(hat / (len(names) / len(y)), rel=1e-4)
    assert got.mean() == pytest.approx(1.0, rel=1e-4)
    # a mix twice as far from the origin of the weighted design: four times the leverage
    est = pr.predict_static(fit, rows[0])[0]
    assert pr.leverage(fit, rows[0], est / 2) == pytest.approx(4 * pr.leverage(fit, rows[0], est))


def test_unseen_interval_is_conformal_and_widens_with_leverage():
    from greenai.predict.fits import unseen_spread

    rng = np.random.default_rng(2)
    rows, y = _generated_runs(60, rng, noise=0.1)
    runs = pd.DataFrame({"model": [f"m{i}" for i in range(len(y))], "energy": y})
    spread = unseen_spread(runs, rows, "energy")
    assert spread["n_unseen"] == 60 and set(spread["unseen_scores"]) == set(runs["model"])
    scores = sorted(abs(r) / math.sqrt(1 + h) for r, h in spread["unseen_scores"].values())
    assert spread["q_unseen"] == scores[math.ceil(61 * 0.9) - 1]  # the conformal order statistic
    fit = {**pr.fit_static(rows, y), **spread}
    new, y_new = _generated_runs(400, rng, noise=0.1)
    covered = [lo <= yn <= hi for x, yn in zip(new, y_new) for _, lo, hi in [pr.predict_static(fit, x, unseen=True)]]
    assert 0.85 <= np.mean(covered) <= 0.99
    est, lo, hi = pr.predict_static(fit, new[0], unseen=True)
    assert math.log(hi / est) == pytest.approx(math.log(est / lo))  # symmetric in log
    assert math.log(hi / est) == pytest.approx(spread["q_unseen"] * math.sqrt(1 + pr.leverage(fit, new[0], est)))
    lev = [pr.leverage(fit, x, pr.predict_static(fit, x)[0]) for x in new]
    far, near = new[int(np.argmax(lev))], new[int(np.argmin(lev))]
    width = [math.log(h / e) for e, _, h in (pr.predict_static(fit, v, unseen=True) for v in (far, near))]
    assert width[0] > width[1]


def test_unseen_scores_leave_a_whole_group_out():
    from greenai.predict.fits import unseen_spread

    rng = np.random.default_rng(3)
    rows, y = _generated_runs(60, rng, noise=0.05)
    runs = pd.DataFrame({"model": [f"m{i}" for i in range(len(y))], "energy": y})
    by_model = unseen_spread(runs, rows, "energy")["unseen_scores"]
    by_family = unseen_spread(runs, rows, "energy", groups=["f"] * 4 + [f"g{i}" for i in range(4, 60)])["unseen_scores"]
    # a family's members are each predicted by the fit that saw none of them; alone, by the fit without itself
    without_family, without_m0 = pr.fit_static(rows[4:], y[4:]), pr.fit_static(rows[1:], y[1:])
    assert by_family["m0"][0] == pytest.approx(math.log(y[0] / pr.predict_static(without_family, rows[0])[0]))
    assert by_model["m0"][0] == pytest.approx(math.log(y[0] / pr.predict_static(without_m0, rows[0])[0]))
    assert by_family["m0"][0] != pytest.approx(by_model["m0"][0])


def _lineage_runs(rng, lineage_sizes, tau=0.15, sigma=0.04, runs_per_model=3, effects=None):
    """Generated runs of models in lineages: each lineage multiplies the energy of :data:`TRUE` by
    ``exp(N(0, tau))`` (or ``exp(effects[k])``), each model by ``exp(N(0, sigma))`` more, each run by 1 % noise;
    lineage ``k`` has ``lineage_sizes[k]`` models (lineage ``lk``, models ``lk_m``). Returns rows (with ``model``
    and ``lineage``), y and the lineages' log effects."""
    effects = rng.normal(0, tau, len(lineage_sizes)) if effects is None else effects
    rows, y = [], []
    for k, size in enumerate(lineage_sizes):
        for m in range(size):
            model_effect = effects[k] + rng.normal(0, sigma)
            new, energy = _generated_runs(runs_per_model, rng, noise=0.01)
            rows += [{**r, "model": f"l{k}_{m}", "lineage": f"l{k}"} for r in new]
            y += list(energy * math.exp(model_effect))
    return rows, np.array(y), effects


def test_family_offsets_are_the_lineages_errors_shrunken_as_a_random_effect():
    from greenai.predict.fits import family_offsets

    rng = np.random.default_rng(11)
    sizes = [1] * 20 + [4] * 20
    rows, y, effects = _lineage_runs(rng, sizes)
    synthetic, y_syn = _generated_runs(40, rng, noise=0.01)  # no lineage: no part in the offsets
    fit = pr.fit_static(rows + [{**r, "lineage": None} for r in synthetic], np.append(y, y_syn))
    offsets = fit["family_offsets"]
    assert set(offsets) == {f"l{k}" for k in range(len(sizes))}
    assert fit["family_tau"] == pytest.approx(0.15, rel=0.35) and fit["family_sigma"] == pytest.approx(0.04, rel=0.3)
    # the offset is the shrunken mean error of the lineage's models; more models, less shrinkage
    one, four = offsets["l0"], offsets["l20"]
    assert one["models"] == 1 and four["models"] == 4 and 0 < one["shrinkage"] < four["shrinkage"] < 1
    for entry in offsets.values():
        assert entry["log_offset"] == pytest.approx(entry["shrinkage"] * entry["mean_log_error"])
    # the same numbers from the fit without offsets
    bare = {k: v for k, v in fit.items() if not k.startswith("family_")}
    estimates = [pr.predict_static(bare, r)[0] for r in rows]
    assert family_offsets(rows, y, estimates)["family_offsets"]["l3"] == pytest.approx(offsets["l3"])
    # the offsets track the lineages' true effects (up to the fit's own centring)
    got = np.array([offsets[f"l{k}"]["mean_log_error"] for k in range(len(sizes))])
    assert np.corrcoef(got, effects)[0, 1] > 0.9
    # a new model of a fitted lineage is predicted closer with its offset; one of no fitted lineage is not moved
    new, y_new, _ = _lineage_runs(np.random.default_rng(12), [1] * len(sizes), runs_per_model=1, effects=effects)
    with_offset = [abs(math.log(yn / pr.predict_static(fit, r)[0])) for r, yn in zip(new, y_new)]
    without = [abs(math.log(yn / pr.predict_static(fit, {**r, "lineage": None})[0])) for r, yn in zip(new, y_new)]
    assert np.mean(with_offset) < 0.7 * np.mean(without)
    x = new[0]
    assert pr.predict_static(fit, {**x, "lineage": "unfitted"}) == pr.predict_static(fit, {**x, "lineage": None})
    est, lo, hi = pr.predict_static(fit, x, unseen=False)
    shift = math.exp(offsets[x["lineage"]]["log_offset"])
    assert (est, lo, hi) == pytest.approx(tuple(v * shift for v in pr.predict_static(bare, x)))


def test_family_offsets_are_the_one_way_random_effects_worked_out_by_hand():
    from greenai.predict.fits import family_offsets

    rng = np.random.default_rng(17)
    rows, y, _ = _lineage_runs(rng, [1] * 6 + [2] * 5 + [5] * 4, runs_per_model=2)
    rows += [{**r, "model": f"s{i}", "lineage": None} for i, r in enumerate(rows[:5])]  # no lineage: no part
    y = np.append(y, y[:5] * 2)
    lineage_error = {f"l{k}": rng.normal(0, 0.3) for k in range(15)}  # the estimates err by lineage, then by run
    estimates = y * np.exp([-lineage_error.get(r["lineage"], 0.0) for r in rows] + rng.normal(0, 0.05, len(y)))
    errors = {}
    for r, yi, ei in zip(rows, y, estimates):
        if r["lineage"]:
            errors.setdefault(r["lineage"], {}).setdefault(r["model"], []).append(math.log(yi / ei))
    per_model = {f: [sum(v) / len(v) for v in ms.values()] for f, ms in errors.items()}
    n, k = sum(len(v) for v in per_model.values()), len(per_model)
    means = {f: sum(v) / len(v) for f, v in per_model.items()}
    sigma2 = sum((e - means[f]) ** 2 for f, v in per_model.items() for e in v) / (n - k)
    grand = sum(e for v in per_model.values() for e in v) / n
    between = sum(len(v) * (means[f] - grand) ** 2 for f, v in per_model.items())
    tau2 = max(0.0, (between - (k - 1) * sigma2) / (n - sum(len(v) ** 2 for v in per_model.values()) / n))
    got = family_offsets(rows, y, estimates)
    assert got["family_tau"] == pytest.approx(math.sqrt(tau2), rel=1e-9) and tau2 > 0
    assert got["family_sigma"] == pytest.approx(math.sqrt(sigma2), rel=1e-9)
    assert list(got["family_offsets"]) == sorted(per_model)
    for f, v in per_model.items():
        shrink = tau2 / (tau2 + sigma2 / len(v))
        assert got["family_offsets"][f] == pytest.approx({"log_offset": shrink * means[f], "mean_log_error": means[f],
                                                           "models": len(v), "shrinkage": shrink}, rel=1e-9)


def test_a_left_out_models_score_is_what_predict_static_gives_it_with_its_lineages_offset():
    from greenai.predict.fits import unseen_spread

    rng = np.random.default_rng(19)
    rows, y, _ = _lineage_runs(rng, [3] * 12 + [1] * 8, tau=0.2, runs_per_model=2)
    runs = pd.DataFrame({"model": [r["model"] for r in rows], "energy": y})
    scores = unseen_spread(runs, rows, "energy")["unseen_scores"]
    for model in ("l0_1", "l15_0"):  # one of a lineage still in the fit, one whose lineage leaves with it
        mine = [i for i, r in enumerate(rows) if r["model"] == model]
        fit = pr.fit_static([r for i, r in enumerate(rows) if i not in mine], np.delete(y, mine))
        est = [pr.predict_static(fit, rows[i])[0] for i in mine]
        assert scores[model] == pytest.approx([np.mean([math.log(y[i] / e) for i, e in zip(mine, est)]),
                                               np.mean([pr.leverage(fit, rows[i], e) for i, e in zip(mine, est)])])
    without = [i for i, r in enumerate(rows) if r["model"] != "l0_1"]
    assert pr.family_offset(pr.fit_static([rows[i] for i in without], y[without]), "l0") != 0  # moved by relatives


def test_lineages_equal_between_lineages_give_no_offset_and_one_model_each_gives_none():
    from greenai.predict.fits import family_offsets

    rng = np.random.default_rng(13)
    rows, y, _ = _lineage_runs(rng, [3] * 30, tau=0.0, sigma=0.08)
    fit = pr.fit_static(rows, y)
    assert max(abs(e["log_offset"]) for e in fit["family_offsets"].values()) < 0.02  # tau ~ 0: shrunk to ~0
    singles, y1, _ = _lineage_runs(rng, [1] * 30)
    alone = pr.fit_static([{**r, "lineage": None} for r in singles], y1)
    assert family_offsets(singles, y1, [pr.predict_static(alone, r)[0] for r in singles]) == {}


def test_a_models_lineage_is_its_family_or_the_family_it_reimplements():
    assert pr.lineage("regnet") == "regnet" and pr.lineage("ibnresnet") == "resnet"
    assert pr.lineage("seresnet") == "senet" and pr.lineage("darknet53") == "cspnet"
    assert pr.lineage("synthetic") is None and pr.lineage(None) is None and pr.lineage("") is None
    assert not set(pr.FAMILY_ROOTS) & set(pr.FAMILY_ROOTS.values())  # one step: a root is no copy itself
    coeffs = pr.load_coefficients()
    run = {"model": "pytorchcv:seresnet50", "in_channels": 1, "num_classes": 10, "image_size": 224,
           "n_train": 60_000, "batch_size": 256}
    assert pr.run_regressors(run, coeffs["features"])["lineage"] == "senet"
    syn = {**run, "model": "synthetic_04", "synthetic": True}
    assert pr.run_regressors(syn, coeffs["features"])["lineage"] is None


def _sets_measured_in_turn(rng, sizes=(12, 12), late=0):
    """Generated runs: 40 zoo models, then each held-out set of ``sizes`` models a day later than the one before
    (the second set with one zoo model beside it: an anchor), and ``late`` more zoo rows measured between the
    first and the second set but listed before every set."""
    rows, y = _generated_runs(40 + sum(sizes) + late, rng, noise=0.1)
    day = pd.Timestamp("2026-01-01", tz="UTC")
    csv = ["kpi_zoo"] * 40 + [f"kpi_set{k}" for k, n in enumerate(sizes) for _ in range(n)] + ["kpi_late"] * late
    when = [day] * 40 + [day + pd.Timedelta(days=k + 1) for k, n in enumerate(sizes) for _ in range(n)]
    when += [day + pd.Timedelta(days=1, hours=12)] * late
    runs = pd.DataFrame({"model": [f"m{i}" for i in range(len(y))], "csv": csv, "energy": y, "timestamp_utc": when,
                         "anchor": False})
    if len(sizes) > 1:  # m0 measured again beside the second set: its card, never a score
        runs.loc[len(runs)] = {"model": "m0", "csv": "kpi_set1", "energy": y[0] * 1.3,
                               "timestamp_utc": when[40 + sizes[0]], "anchor": True}
        rows, y = rows + [rows[0]], np.append(y, y[0] * 1.3)
    return runs, rows, y


def test_a_held_out_set_is_scored_by_a_fit_of_the_rows_measured_before_it():
    from greenai.predict.fits import prospective_spread

    rng = np.random.default_rng(5)
    runs, rows, y = _sets_measured_in_turn(rng, late=4)
    sets = ("kpi_set0", "kpi_set1")
    got = prospective_spread(runs, rows, "energy", sets)

    def direct(fitted, model):  # the model's [log ratio, leverage] under a fit of the rows ``fitted``
        fit = pr.fit_static([rows[i] for i in fitted], y[fitted])
        i = int(np.flatnonzero((runs["model"] == model) & ~runs["anchor"])[0])
        est = pr.predict_static(fit, rows[i])[0]
        return [math.log(y[i] / est), pr.leverage(fit, rows[i], est)]

    zoo, first = np.arange(40), np.arange(40, 52)
    late = np.flatnonzero(runs["csv"] == "kpi_late")
    assert got["n_unseen"] == 24 and "m0" not in got["unseen_scores"]  # the anchor is no score
    assert got["sets"]["kpi_set0"] == {"fit_models": 40, "fit_runs": 40, "scored": sorted(f"m{i}" for i in first)}
    # set 0 is met by the zoo alone (the late rows came after it); set 1 by the zoo, set 0 and the late rows
    assert got["unseen_scores"]["m40"] == pytest.approx(direct(zoo, "m40"))
    assert got["unseen_scores"]["m55"] == pytest.approx(direct(np.concatenate([zoo, first, late]), "m55"))
    assert got["unseen_scores"]["m40"] != pytest.approx(direct(np.concatenate([zoo, late]), "m40"))
    # without timestamps the CSV order rules: the late rows are listed before every set
    no_time = prospective_spread(runs.drop(columns="timestamp_utc"), rows, "energy", sets)
    assert no_time["unseen_scores"]["m40"] == pytest.approx(direct(np.concatenate([zoo, late]), "m40"))
    # a set measured later informs neither its own scores nor an earlier set's: set 1 five times dearer
    dearer = runs.assign(energy=np.where(runs["csv"] == "kpi_set1", 5 * y, y))
    moved = prospective_spread(dearer, rows, "energy", sets)["unseen_scores"]
    for m, (ratio, lev) in got["unseen_scores"].items():
        shift = math.log(5) if m in got["sets"]["kpi_set1"]["scored"] else 0.0
        assert moved[m][0] == pytest.approx(ratio + shift, abs=1e-9) and moved[m][1] == pytest.approx(lev), m
    # a set whose earlier rows hold fewer models than a fit needs is not scored
    assert prospective_spread(runs, rows, "energy", sets, min_models=41)["sets"]["kpi_set0"]["scored"] == []


def test_the_interval_is_prospective_from_ten_scores_and_its_q_is_the_conformal_order_statistic():
    from greenai.predict.fits import calibrated_spread, prospective_spread, unseen_spread

    rng = np.random.default_rng(6)
    for sizes, method in (((5, 4), "leave-one-family-out"), ((12, 12), "prospective")):
        runs, rows, y = _sets_measured_in_turn(rng, sizes)
        lofo = unseen_spread(runs, rows, "energy")
        ahead = prospective_spread(runs, rows, "energy", ("kpi_set0", "kpi_set1"))
        got = calibrated_spread(lofo, ahead)
        assert got["q_unseen_method"] == method and got["n_unseen_prospective"] == sum(sizes)
        assert got["q_unseen_lofo"] == lofo["q_unseen"] and got["unseen_scores_lofo"] == lofo["unseen_scores"]
        chosen = ahead if method == "prospective" else lofo
        assert got["q_unseen"] == chosen["q_unseen"] and got["n_unseen"] == chosen["n_unseen"]
        assert got["unseen_scores"] is chosen["unseen_scores"]
    assert not got["q_unseen"] == got["q_unseen_lofo"]  # the two rules differ on these data
    scores = sorted(abs(r) / math.sqrt(1 + h) for r, h in ahead["unseen_scores"].values())
    assert len(scores) == 24 and ahead["q_unseen"] == scores[math.ceil(25 * 0.9) - 1]  # the 23rd smallest of 24
    assert ahead["q_unseen"] < scores[-1]



def test_two_tailed_bounds_are_the_signed_order_statistics_and_the_unseen_interval_follows_them():
    from greenai.predict.fits import conformal_bounds

    rng = np.random.default_rng(8)
    # errors leaning to under-prediction: log(measured / predicted) mostly positive
    scored = {f"m{i}": [float(r), float(h)] for i, (r, h) in
              enumerate(zip(rng.normal(0.08, 0.1, 40), rng.uniform(0, 3, 40)))}
    low, high = conformal_bounds(scored)
    signed = sorted(r / math.sqrt(1 + h) for r, h in scored.values())
    assert (low, high) == (signed[math.floor(41 * 0.05) - 1], signed[math.ceil(41 * 0.95) - 1])  # 2nd and 39th
    assert low < 0 < high and high > -low  # the interval leans the way the errors do
    assert all(math.isnan(b) for b in conformal_bounds(dict(list(scored.items())[:18])))  # no 5 % tail in 18
    assert not any(math.isnan(b) for b in conformal_bounds(dict(list(scored.items())[:19])))
    # a model outside the fit is predicted within exp([low, high] x sqrt(1 + leverage)) of its estimate
    fit = pr.fit_static(*_generated_runs(60, rng))
    x = _generated_runs(1, rng)[0][0]
    symmetric = pr.predict_static(fit | {"q_unseen": 0.2}, x, unseen=True)
    est, lo, hi = pr.predict_static(fit | {"q_unseen": 0.2, "q_unseen_low": low, "q_unseen_high": high}, x,
                                    unseen=True)
    width = math.log(symmetric[2] / symmetric[0]) / 0.2
    assert est == symmetric[0] and math.log(lo / est) == pytest.approx(low * width)
    assert math.log(hi / est) == pytest.approx(high * width)
    # without two-tailed bounds (too few scores) it stays +/- q_unseen
    nan = float("nan")
    assert pr.predict_static(fit | {"q_unseen": 0.2, "q_unseen_low": nan, "q_unseen_high": nan}, x,
                             unseen=True) == symmetric

def test_the_prospective_scores_take_in_each_set_named_former(monkeypatch):
    from greenai.predict import build

    features = pr.load_coefficients()["features"]

    premium = {"energy_j": pr.load_coefficients()["fits"]["NVIDIA H200"]["static"]["energy_j"]["matmul_premium"]}

    def h200_energy():
        runs = build.load_runs()
        fit_rows = runs[~runs["heldout"] & (runs["precision"] == "default")]
        return build.fit_gpu(fit_rows[fit_rows["gpu_name"] == "NVIDIA H200"], features, premium,
                             targets=("energy_j",))["static"]["energy_j"]

    today = h200_energy()
    assert list(today["prospective_sets"]) == list(pr.FORMER_HELDOUT_CSVS)
    assert today["q_unseen_method"] == "prospective" and today["q_unseen"] == today["q_unseen_prospective"]
    # the sets of today's held-out CSVs, once named former (the next set chosen), are scored too
    former, fresh = build.FORMER_HELDOUT_CSVS, build.HELDOUT_CSVS
    monkeypatch.setattr(build, "FORMER_HELDOUT_CSVS", build.FORMER_HELDOUT_CSVS + build.HELDOUT_CSVS)
    monkeypatch.setattr(build, "FIT_CSVS", build.FIT_CSVS + build.HELDOUT_CSVS)
    monkeypatch.setattr(build, "HELDOUT_CSVS", ())
    later = h200_energy()
    # a fresh set chosen but not yet measured on this GPU has no rows to score (its CSV is missing, or holds
    # another card's rows)
    raw = paths.REPO_ROOT / "results" / "raw"
    measured = [csv for csv in fresh if (raw / f"{csv}.csv").exists()
                and (pd.read_csv(raw / f"{csv}.csv", usecols=["gpu_name"])["gpu_name"] == "NVIDIA H200").any()]
    assert list(later["prospective_sets"]) == [*former, *measured]
    for csv in measured:
        assert len(later["prospective_sets"][csv]["scored"]) >= 10
    for m, score in today["unseen_scores_prospective"].items():  # the later sets change no earlier score
        assert later["unseen_scores_prospective"][m] == pytest.approx(score)
    grew = later["n_unseen_prospective"] - today["n_unseen_prospective"]
    assert grew > 0 if measured else grew == 0


def test_matrix_products_without_a_positive_price_are_priced_like_convolution_macs():
    rng = np.random.default_rng(1)
    rows, _ = _generated_runs(80, rng)
    for r in rows:
        r["samples"] = 0.0  # no per-sample quantity in these runs: the term is dropped, not merged
        r["matmul"] = r["conv"] * rng.uniform(0.2, 1.0)  # matrix products beside convolutions
    true = dict(TRUE, matmul=-0.1 * TRUE["conv"])  # a price the fit finds negative: priced like convolutions
    y = np.array([sum(true[k] * r[k] for k in true) for r in rows]) * (1 + 0.002 * rng.standard_normal(80))
    fit = pr.fit_static(rows, y)
    names = {t["name"]: t for t in fit["terms"]}
    assert fit["dropped"] == ["samples"]
    assert fit["merged"] == {"matmul": "conv"}
    assert names["conv"]["components"] == ["conv", "matmul"]
    assert all(t["coef"] > 0 for t in fit["terms"])
    assert names["bytes_other"]["coef"] == pytest.approx(TRUE["bytes_other"], rel=0.2)


def test_a_byte_group_without_a_positive_price_is_priced_like_other_bytes():
    rng = np.random.default_rng(3)
    rows, _ = _generated_runs(80, rng)
    for r in rows:  # normalisations move a fraction of the other operators' bytes, as in real networks
        r["bytes_norm"] = r["bytes_other"] * rng.uniform(0.1, 0.5)
    true = dict(TRUE, bytes_norm=-0.1 * TRUE["bytes_norm"])  # a price the fit finds negative
    y = np.array([sum(true[k] * r[k] for k in true) for r in rows]) * (1 + 0.002 * rng.standard_normal(80))
    fit = pr.fit_static(rows, y)
    names = {t["name"]: t for t in fit["terms"]}
    assert fit["merged"] == {"bytes_norm": "bytes_other"} and not fit["dropped"]
    assert names["bytes_other"]["components"] == ["bytes_other", "bytes_norm"]
    assert all(t["coef"] > 0 for t in fit["terms"])


def test_fit_thesis_recovers_hc_and_slope():
    rng = np.random.default_rng(2)
    x = rng.uniform(1e13, 1e15, 60)
    hc = 4e-11
    y = hc * x * (1 + 0.03 * rng.standard_normal(60))
    fit = pr.fit_thesis(x, y)
    assert fit["hc_ci"][0] < hc < fit["hc_ci"][1]
    assert fit["hc_j_per_mac"] == pytest.approx(hc, rel=0.02)
    assert fit["loglog"]["slope"] == pytest.approx(1.0, abs=0.05)
    est, lo, hi = pr.predict_thesis(fit, 1e14)
    assert lo < est < hi and est == pytest.approx(hc * 1e14, rel=0.02)


def test_matmul_premium_is_recovered_from_default_vs_tf32_pairs_and_priced_back():
    rng = np.random.default_rng(4)
    premium = 5e-11
    features, rows = {}, []
    for i, matmul in enumerate((1e4, 5e7, 1.2e8, 3e9)):
        model = f"m{i}"
        features[pr.feature_key(model, 3, 100)] = {"macs_matmul": matmul}
        base = rng.uniform(2e3, 3e4)
        for precision, energy in (("default", base + premium * matmul * 50_000), ("tf32", base)):
            rows.append({"csv": "kpi_precision", "precision": precision, "gpu_name": "G", "model": model,
                         "dataset": "cifar100", "in_channels": 3, "num_classes": 100, "n_train": 50_000,
                         "image_size": 224, "batch_size": 256, "epoch_energy_j": energy * (1 + 1e-4 * rng.random()),
                         "epoch_duration_s": 1.0})
    fit = pr.fit_matmul_premium(pd.DataFrame(rows), features)
    assert fit["coef"] == pytest.approx(premium, rel=0.01) and fit["n"] == 4 and fit["ci"][0] < premium < fit["ci"][1]
    # the static fit takes the premium off before fitting and predict_static adds it back (unless tf32)
    x_rows, y = _generated_runs(150, rng, noise=0.005)
    y = y + premium * np.array([r["matmul"] for r in x_rows])
    static = pr.fit_static(x_rows, y, premium=fit)
    got = {t["name"]: t["coef"] for t in static["terms"]}
    assert got["matmul"] == pytest.approx(TRUE["matmul"], rel=0.1)
    x = x_rows[0]
    with_premium, without = pr.predict_static(static, x)[0], pr.predict_static(static, x, fp32_matmuls=False)[0]
    assert with_premium - without == pytest.approx(fit["coef"] * x["matmul"])


def test_fit_factor_is_the_geometric_mean():
    f = pr.fit_factor([0.5, 2.0, 1.0])
    assert f["factor"] == pytest.approx(1.0) and f["n"] == 3 and f["ci"][0] < 1 < f["ci"][1]


# --------------------------------------------------------------------------- static features, by hand


def test_static_features_of_a_tiny_network_equal_the_hand_count():
    from torch import nn

    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.ReLU(),
                        nn.Conv2d(4, 4, 3, padding=1, groups=4, bias=False),
                        nn.Conv2d(4, 4, 3, padding=1, groups=2, bias=False), nn.Flatten(),
                        nn.Linear(4 * 8 * 8, 10, bias=False))
    f = pr.static_features(net, (1, 8, 8))
    out = 4 * 8 * 8  # elements of each convolution's output per sample
    assert f["macs_conv_dense"] == out * 1 * 9  # 1 input plane x 3x3 per output element
    assert f["macs_conv_depthwise"] == out * 1 * 9  # depthwise: 4/4 = 1 plane per group
    assert f["macs_conv_grouped"] == out * 2 * 9  # grouped: 4/2 = 2 planes per group
    assert f["macs_matmul"] == 256 * 10
    assert f["macs_total"] == out * 9 * (1 + 1 + 2) + 256 * 10
    # MACs / the narrow GEMM side per group: dense 1->4 (min(4, 1x9) = 4), depthwise (min(1, 9) = 1),
    # grouped 4->4 in 2 groups (min(2, 2x9) = 2)
    assert f["conv_narrow_elements"] == out * 9 / 4 + out * 9 / 1 + out * 18 / 2
    assert f["params"] == 4 * 9 + 4 * 9 + 4 * 2 * 9 + 256 * 10
    # forward, per sample: conv, relu, conv, conv (4 x 256 float32 each), mm and log_softmax (10 float32
    # each); flatten and the weight transpose are views (no bytes); nll_loss writes per step, not per sample
    assert f["bytes_forward"] == 4 * out * 4 + 2 * 10 * 4
    # backward, per sample: nll_loss and log_softmax grads (10 floats each), mm grad input, two grouped
    # convs' grad inputs and relu grad (256 floats each); weight grads are per step
    assert f["bytes_backward"] == 2 * 10 * 4 + 4 * out * 4
    # bytes read and written per sample, allocations not counted. Elementwise: relu (read and write 256
    # floats), log_softmax (10 + 10), nll_loss (10 floats + an int64 target); backward: nll_loss (reads its
    # input and target, writes 10), log_softmax (reads 20, writes 10), threshold_backward (reads 512, writes 256)
    act = out * 4  # bytes of one convolution's output per sample
    assert f["bytes_elementwise"] == 2 * act + 80 + 48 + (40 + 8 + 40) + 120 + 3 * act
    # the rest: each conv reads its input and writes its output (the first reads one 8x8 plane), mm reads
    # 256 floats and writes 10; backward: two mm (grad input; grad weight), two conv grad inputs (read grad
    # and input, write grad), the first conv's weight grad (reads grad and input)
    conv_fwd = (64 * 4 + act) + 2 * (act + act) + (act + 40)
    conv_bwd = 2 * (40 + act) + 2 * 3 * act + (act + 64 * 4)
    assert f["bytes_other"] == conv_fwd + conv_bwd and f["bytes_norm"] == 0
    # launched per step: conv, relu, conv, conv, mm, log_softmax, nll_loss; backward: seed, nll_loss,
    # log_softmax, 2 mm, 3 convolution_backward, threshold_backward
    assert f["kernels_forward"] == 7 and f["kernels_backward"] == 9
    assert net[0].weight.device.type == "cpu"  # the caller's model is left untouched


def test_shipped_features_equal_a_fresh_static_pass():
    shipped = pr.load_coefficients()["features"]
    for model, c, k in (("alexnet", 1, 10), ("mobilenet_v2", 3, 100)):
        fresh = pr.compute_model_features(model, c, k)
        ship = shipped[pr.feature_key(model, c, k)]
        for key in pr.FEATURE_KEYS:
            if isinstance(ship[key], list):  # per size: [size, amount, modules, first module] (mobilenet_v2's norms)
                assert [[*e[:1], pytest.approx(e[1], rel=1e-9), *e[2:]] for e in ship[key]] == fresh[key], (model, key)
            else:
                assert fresh[key] == pytest.approx(ship[key], rel=1e-9), (model, key)


# --------------------------------------------------------------------------- shipped coefficients


def _own_fit_epoch_energy_j(model: str) -> float:
    """Energy per epoch [J] of ``model`` on FMNIST at batch 256 by the reference GPU's own static-feature fit
    (what its held-out rows are validated against; ``predict_run`` takes a model outside it to the widest fit)."""
    from greenai.predict.model import predict_static, regressors

    coeffs = pr.load_coefficients()
    fit = coeffs["fits"][coeffs["reference_gpu"]]
    x = regressors(coeffs["features"][pr.feature_key(model, 1, 10)], coeffs["datasets"]["fashion_mnist"]["n_train"],
                   256)
    return predict_static(fit["static"]["energy_j"], x, unseen=model not in fit["models"])[0]


def _assert_close(a, b, path="root"):
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), f"{path}: keys differ: {set(a) ^ set(b)}"
        for k in a:
            _assert_close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), f"{path}: lengths differ"
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_close(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, (int, float)):
        assert b == pytest.approx(a, rel=1e-6, abs=1e-300), f"{path}: {a} != {b}"
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def test_shipped_coefficients_equal_a_refit_of_the_committed_rows():
    refit = json.loads(json.dumps(pr.jsonable(pr.build_coefficients())))
    shipped = json.loads(pr.COEFFICIENTS_PATH.read_text())
    _assert_close(refit, shipped)
    assert not set(pr.HELDOUT_CSVS) & set(shipped["rows"])  # held-out rows never enter a fit
    assert set(pr.FORMER_HELDOUT_CSVS) <= set(shipped["rows"])  # the earlier sets do, since the next was chosen


# --------------------------------------------------------------------------- predict_run


def test_predict_run_for_a_zoo_model_scales_with_epochs_and_brackets_the_estimate():
    one = pr.predict_run("resnet18", "cifar10", epochs=1, batch_size=256)
    ten = pr.predict_run("ResNet18", "CIFAR-10", epochs=10, batch_size=256)
    assert ten.energy_j == pytest.approx(10 * one.energy_j) and ten.duration_s == pytest.approx(10 * one.duration_s)
    assert ten.energy_low_j < ten.energy_j < ten.energy_high_j
    assert ten.epoch_energy_j == pytest.approx(one.energy_j)
    assert ten.energy_kwh == pytest.approx(ten.energy_j / 3.6e6)
    assert ten.gpu == pr.load_coefficients()["reference_gpu"] and ten.precision == "default"
    assert ten.features_source == "shipped" and ten.samples_per_epoch == 50_000
    # bf16 was measured cheaper than the default precision; the H200 is predicted through its GPU factor
    assert pr.predict_run("resnet18", "cifar10", 1, 256, precision="bf16").energy_j < one.energy_j
    assert pr.predict_run("resnet18", "cifar10", 1, 256, gpu="h200").gpu == "NVIDIA H200"


def test_predict_run_matches_the_recorded_zoo_rows_within_the_fit_error():
    runs = pr.load_runs(include_heldout=False)
    macs = runs[(runs["csv"] == "kpi_macs") & (runs["dataset"] == "fashion_mnist")]
    measured = macs.groupby("model")["epoch_energy_j"].mean()
    errors = [pr.predict_run(m, "fashion_mnist", 1, 256).energy_j / e - 1 for m, e in measured.items()]
    assert np.mean(np.abs(errors)) < 0.10


def test_the_runtime_and_the_command_line_import_neither_torch_nor_statsmodels():
    code = ("import sys\n"
            "import greenai.predict.runtime, greenai.predict.cli\n"
            "print(sorted(m for m in ('torch', 'statsmodels', 'scipy') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_predicting_a_zoo_model_needs_no_torch():
    code = ("import sys; sys.modules['torch'] = None; sys.modules['torchvision'] = None\n"
            "from greenai.predict.runtime import predict_run\n"
            "p = predict_run('vgg16', 'fashion_mnist', 2, 256)\n"
            "assert p.energy_j > 0 and 'statsmodels' not in sys.modules\n"
            "print('ok')")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_a_new_torchvision_model_is_counted_on_the_spot_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("GREENAI_DATA_DIR", str(tmp_path))
    first = pr.predict_run("mnasnet0_5", "cifar10", 1, 128)
    assert first.features_source == "computed" and first.energy_j > 0
    # outside the default card's (the H100's) zoo fit, and in the H200's (a near-family model measured there)
    assert any("outside NVIDIA H100 80GB HBM3's own fit" in n for n in first.notes)
    assert not any("not among the models" in n for n in first.notes)
    again = pr.predict_run("mnasnet0_5", "cifar10", 1, 128)
    assert again.features_source == "computed (cached)" and again.energy_j == pytest.approx(first.energy_j)


def test_an_unseen_models_note_names_the_rule_its_interval_comes_from(monkeypatch):
    import copy

    from greenai.predict import runtime

    # a model of the fresh held-out set (features shipped, never fitted): the H200's interval is prospective
    model, h100 = HELDOUT11_MODELS[0], "NVIDIA H100 80GB HBM3"
    prospective = "each earlier held-out set, from the rows measured before it"
    assert any(prospective in n for n in pr.predict_run(model, "fashion_mnist", 1, 256, gpu="NVIDIA H200").notes)
    # on the H100 it lies outside the card's zoo fit: the H200's model (and its rule) x the card factor
    on_h100 = pr.predict_run(model, "fashion_mnist", 1, 256, gpu=h100).notes
    assert any(f"outside {h100}'s own fit" in n for n in on_h100) and any(prospective in n for n in on_h100)
    # the H100's own fit (no held-out set measured on it) takes its interval from families left out in turn
    coeffs = copy.deepcopy(runtime.load_coefficients())
    del coeffs["fits"][h100]["widest_fit"]
    monkeypatch.setattr(runtime, "load_coefficients", lambda: coeffs)
    own = pr.predict_run(model, "fashion_mnist", 1, 256, gpu=h100).notes
    assert any("each family left out of the fit in turn" in n for n in own) and not any("own fit" in n for n in own)


def test_a_variant_of_a_fitted_family_is_moved_by_its_relatives_errors_and_says_so(monkeypatch):
    import copy

    from greenai.predict import runtime

    h200 = "NVIDIA H200"
    coeffs = copy.deepcopy(runtime.load_coefficients())
    fit = coeffs["fits"][h200]
    energy_fit = fit["static"]["energy_j"]
    # resnet34 as if it were a variant the fit never saw: the resnet lineage's fitted models move it
    fit["models"] = [m for m in fit["models"] if m != "resnet34"]
    offset = energy_fit["family_offsets"]["resnet"]
    assert offset["models"] >= 2 and offset["log_offset"] != 0
    monkeypatch.setattr(runtime, "load_coefficients", lambda: coeffs)
    moved = pr.predict_run("resnet34", "fashion_mnist", 1, 256, gpu=h200)
    note = [n for n in moved.notes if "variant of the resnet family" in n]
    assert len(note) == 1 and f"{offset['models']} models of which the fit has" in note[0]
    # without the lineage's entry the estimate is the bare static model's: the two differ by the offset's factor
    del energy_fit["family_offsets"]["resnet"]
    bare = pr.predict_run("resnet34", "fashion_mnist", 1, 256, gpu=h200)
    assert moved.energy_j / bare.energy_j == pytest.approx(math.exp(offset["log_offset"]))
    assert not any("variant of" in n for n in bare.notes)


@pytest.mark.parametrize("kwargs,error,words", [
    (dict(model="resnet19"), pr.UnknownModelError, ["unknown model 'resnet19'", "resnet18", "densenet121", "timm:NAME",
                                                     "pytorchcv:NAME", "vitpytorch:NAME", "mmpretrain:NAME"]),
    (dict(dataset="mnist"), pr.UnknownDatasetError, ["unknown dataset 'mnist'", "fashion_mnist", "cifar100"]),
    (dict(gpu="a100"), pr.UnknownGpuError, ["unknown GPU 'a100'", "H100"]),
    (dict(gpu="nvidia"), pr.UnknownGpuError, ["several"]),
    (dict(precision="fp8"), pr.UnmeasuredPrecisionError, ["never measured", "bf16", "tf32"]),
    (dict(epochs=0), pr.InvalidRunError, ["epochs must be an integer >= 1"]),
    (dict(epochs=1.5), pr.InvalidRunError, ["epochs"]),
    (dict(batch_size=-3), pr.InvalidRunError, ["batch size must be an integer >= 1"]),
])
def test_predict_run_refuses_bad_input_with_a_clear_message(kwargs, error, words):
    args = dict(model="alexnet", dataset="cifar10", epochs=3, batch_size=256) | kwargs
    with pytest.raises(error) as info:
        pr.predict_run(**args)
    assert isinstance(info.value, ValueError)
    for w in words:
        assert w in str(info.value)


# --------------------------------------------------------------------------- command line


def test_cli_prints_energy_time_cost_and_co2(capsys):
    assert cli.main(["predict", "--model", "alexnet", "--dataset", "fashion_mnist", "--epochs", "10",
                     "--batch-size", "256", "--price-eur-per-kwh", "0.5", "--gco2-per-kwh", "100"]) == 0
    out = capsys.readouterr().out
    for word in ("energy", "kWh", "time", "EUR", "CO2", "90 %", "0.5 EUR/kWh", "100 gCO2/kWh"):
        assert word in out
    assert cli.main(["predict", "--model", "alexnet", "--dataset", "fashion_mnist", "--epochs", "10",
                     "--batch-size", "256", "--price-eur-per-kwh", "0.5", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    p = pr.predict_run("alexnet", "fashion_mnist", 10, 256)
    assert data["energy_j"] == pytest.approx(p.energy_j)
    assert data["cost_eur"] == pytest.approx(p.energy_j / 3.6e6 * 0.5)
    assert data["energy_low_kwh"] < data["energy_kwh"] < data["energy_high_kwh"]


@pytest.mark.parametrize("argv,words", [
    (["--model", "lenet5"], "unknown model 'lenet5'"),
    (["--dataset", "imagenet"], "unknown dataset 'imagenet'"),
    (["--epochs", "0"], "epochs must be an integer >= 1"),
    (["--batch-size", "0"], "batch size must be an integer >= 1"),
    (["--gpu", "rtx4090"], "unknown GPU 'rtx4090'"),
    (["--precision", "int8"], "precision 'int8' was never measured"),
    (["--price-eur-per-kwh", "-1"], "--price-eur-per-kwh must be a number >= 0"),
    (["--batch-size", "50001"], "batch size 50001 is larger than the 50,000 training samples of cifar10"),
])
def test_cli_refuses_bad_input_with_one_line_and_exit_2(argv, words, capsys):
    base = {"--model": "alexnet", "--dataset": "cifar10", "--epochs": "2", "--batch-size": "256"}
    args = dict(base)
    args.update(dict(zip(argv[::2], argv[1::2])))
    code = cli.main(["predict", *[x for kv in args.items() for x in kv]])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("greenai predict: ") and words in err and err.count("\n") == 1 and "Traceback" not in err


# --------------------------------------------------------------------------- validation on generated held-out rows


def test_heldout_rows_are_predicted_and_never_fitted(tmp_path):
    for csv in RAW_DIR.glob("kpi_*.csv"):
        if csv.stem not in pr.HELDOUT_CSVS:  # the recorded held-out rows are replaced by known ones
            shutil.copy(csv, tmp_path / csv.name)
    coeffs = pr.load_coefficients()
    ref = coeffs["reference_gpu"]
    macs = pd.read_csv(RAW_DIR / "kpi_macs.csv")
    template = macs.iloc[0]
    rng = np.random.default_rng(3)
    card = 1.06  # the card of the held-out run draws 6 % more than the fitted one, on every model
    rows = []
    for model in HELDOUT7_MODELS[:4]:  # shipped features: no timm needed
        truth = card * _own_fit_epoch_energy_j(model) * (1 + 0.02 * rng.standard_normal())
        for window in range(2):
            row = template.copy()
            row.update({"experiment": FRESH, "model": model, "epoch_index": window, "epoch_energy_j": truth,
                        "epoch_duration_s": 60.0, "gpu_name": ref})
            rows.append(row.to_dict())
    for model in ("resnet18", "vgg11"):  # zoo anchors on the same card, in the conditions of their fitted rows
        fitted = macs[(macs["model"] == model) & (macs["dataset"] == "fashion_mnist")]
        rows += [r.copy().to_dict() | {"experiment": FRESH, "epoch_energy_j": card * r["epoch_energy_j"]}
                 for _, r in fitted.iterrows()]
    pd.DataFrame(rows).to_csv(tmp_path / f"{FRESH_CSV}.csv", index=False)
    runs = pr.load_runs(tmp_path)
    assert runs["heldout"].sum() == 4 + len(runs[runs["heldout"] & runs["model"].isin(["resnet18", "vgg11"])])
    # the fit is the same with and without the held-out rows
    with_rows = pr.fit_coefficients(runs, coeffs["features"])
    without = pr.fit_coefficients(runs[~runs["heldout"]], coeffs["features"])
    _assert_close(json.loads(json.dumps(pr.jsonable(with_rows))), json.loads(json.dumps(pr.jsonable(without))))
    table = pv.validation_table(pv.cross_validate(runs, coeffs["features"]))
    held = table[(table["split"] == FRESH)].set_index("predictor")
    assert held.loc["static_features", "n_runs"] == 4 and held.loc["static_features", "n_models"] == 4  # no anchor
    assert held.loc["static_features", "mape_pct"] > 2  # the card's 6 % is in the error...
    assert held.loc["static_features", "coverage_pct"] == 100
    adjusted = table[table["split"] == f"{FRESH}_card_adjusted"].set_index("predictor")
    assert list(adjusted.index) == ["static_features"] and adjusted.loc["static_features", "n_models"] == 4
    # ... and the anchors take it out: the truth is the model itself x the card, +/- 2 %
    assert adjusted.loc["static_features", "mape_pct"] < 3
    assert adjusted.loc["static_features", "mape_pct"] < held.loc["static_features", "mape_pct"]
    calibrated = table[table["split"] == f"{FRESH}_calibrated"].set_index("predictor")
    assert list(calibrated.index) == ["static_features"] and calibrated.loc["static_features", "n_models"] == 4
    splits = {"cifar10", "leave_one_model_out", "leave_one_family_out", "heldout", "heldout4", "heldout5", FRESH}
    assert splits <= set(table["split"])
    assert not math.isnan(held.loc["thesis_hc", "mape_pct"])


def test_the_calibrated_split_predicts_each_model_as_predict_calibrate_does_on_the_sets_card():
    from greenai.predict import calibrate

    coeffs = pr.load_coefficients()
    runs = pr.load_runs()
    held = runs[(runs["csv"] == "kpi_heldout13") & (runs["precision"] == "default")]
    anchors, test = held[held["anchor"]], held[~held["anchor"]]
    gpu = str(held["gpu_name"].iloc[0])
    got = pv.predict_calibrated(coeffs, gpu, anchors, test, coeffs["features"])
    assert set(got["split"]) == {"heldout13_calibrated"} and len(got) == len(test)
    measured = {m: {"epoch_energy_j": g["epoch_energy_j"].mean(), "epoch_duration_s": g["epoch_duration_s"].mean()}
                for m, g in anchors.groupby("model")}
    card = calibrate.card_calibration(measured, gpu, gpu_name=gpu, uuid="GPU-0", measured_utc="2026-12-07T00:00:00")
    for model, rows in got.groupby("model"):
        plain = pr.predict_run(model, "fashion_mnist", 1, 256, gpu=gpu)
        assert rows["predicted_j"].to_numpy() == pytest.approx(
            calibrate.apply_calibration(plain, card).epoch_energy_j, rel=1e-9)
        assert plain.epoch_energy_j != pytest.approx(rows["predicted_j"].iloc[0], rel=1e-3)  # the card moved it
    assert (got["low_j"] < got["predicted_j"]).all() and (got["predicted_j"] < got["high_j"]).all()


def test_a_run_of_absurdly_many_epochs_gets_a_note(capsys):
    base = ["predict", "--model", "alexnet", "--dataset", "fashion_mnist", "--batch-size", "256"]
    assert cli.main([*base, "--epochs", str(10**12)]) == 0
    out = capsys.readouterr().out
    years = pr.predict_run("alexnet", "fashion_mnist", 10**12, 256).duration_s / pr.YEAR_S
    assert years > 1e4 and f"note: 1,000,000,000,000 epochs take about {years:,.3g} years" in out
    assert cli.main([*base, "--epochs", "10"]) == 0
    assert "years" not in capsys.readouterr().out  # a run of minutes gets no such note


def test_cli_needs_epochs_or_a_target_accuracy(capsys, monkeypatch):
    base = ["predict", "--model", "alexnet", "--dataset", "fashion_mnist", "--batch-size", "256"]
    assert cli.main(base) == 2
    assert "give --epochs N" in capsys.readouterr().err
    assert cli.main([*base, "--target-accuracy", "85"]) == 2
    assert "--target-accuracy must be a fraction in (0, 1)" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "greenai.accuracy", None)  # an installation without learning curves
    assert cli.main([*base, "--target-accuracy", "0.85"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("greenai predict: ") and "needs greenai.accuracy" in err and err.count("\n") == 1


def test_cli_takes_the_epochs_from_a_learning_curve_where_one_exists(capsys):
    accuracy = pytest.importorskip("greenai.accuracy")  # issue 10b's module
    curve = accuracy.energy_to_accuracy("alexnet", "fashion_mnist", target_accuracy=0.85)
    assert cli.main(["predict", "--model", "alexnet", "--dataset", "fashion_mnist", "--batch-size", "256",
                     "--target-accuracy", "0.85", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["epochs"] == data["epochs_to_target"] == curve.epoch
    assert data["energy_j"] == pytest.approx(pr.predict_run("alexnet", "fashion_mnist", curve.epoch, 256).energy_j)
    assert cli.main(["predict", "--model", "vgg13", "--dataset", "cifar10", "--batch-size", "256",
                     "--target-accuracy", "0.85"]) == 2
    assert "no learning curve" in capsys.readouterr().err


def test_a_refit_without_lofo_scores_has_the_same_fit_and_interval_and_leaves_families_out_where_it_needs_them():
    from greenai.predict.build import fit_gpu, gpus_by_rows, premiums_by_gpu

    features = pr.load_coefficients()["features"]
    runs = pr.load_runs()
    fitted = runs[~runs["heldout"]]
    default = fitted[fitted["precision"] == "default"]
    premium = premiums_by_gpu(fitted, features, gpus_by_rows(default)[0])
    for gpu, method in (("NVIDIA H200", "prospective"), ("NVIDIA H100 80GB HBM3", "leave-one-family-out")):
        rows = default[default["gpu_name"] == gpu]
        full, lean = (fit_gpu(rows, features, premium.get(gpu), targets=("energy_j",), lofo_scores=flag)
                      for flag in (True, False))
        full, lean = full["static"]["energy_j"], lean["static"]["energy_j"]
        assert full["q_unseen_method"] == method and full["n_unseen_lofo"] > 0
        same = [json.dumps({k: v for k, v in fit.items() if not k.endswith("_lofo")}, sort_keys=True)
                for fit in (full, lean)]
        assert same[0] == same[1]
        if method == "prospective":  # the families need not be left out: not scored
            assert lean["n_unseen_lofo"] == 0 and lean["unseen_scores_lofo"] == {}
        else:
            assert lean["unseen_scores_lofo"] == full["unseen_scores_lofo"]


def test_a_gpu_with_its_own_zoo_rows_gets_its_own_fit_and_predicts_its_heldout_rows(tmp_path):
    for csv in RAW_DIR.glob("kpi_*.csv"):
        if csv.stem not in (*pr.SYNTHETIC_CSVS, *pr.FORMER_HELDOUT_CSVS, *pr.HELDOUT_CSVS):  # this GPU: zoo rows only
            shutil.copy(csv, tmp_path / csv.name)
    macs = pd.read_csv(RAW_DIR / "kpi_macs.csv")
    h200 = macs[(macs["dataset"] == "fashion_mnist") & (macs["repeat"] == 0)].copy()
    h200["experiment"], h200["gpu_name"] = "macs_h200", "NVIDIA H200"
    h200["epoch_energy_j"] *= 0.9  # a GPU 10 % cheaper on every model
    h200.to_csv(tmp_path / "kpi_macs_h200.csv", index=False)
    coeffs = pr.load_coefficients()
    template = h200.iloc[0]
    held = []
    for model in HELDOUT5_MODELS[-3:]:
        truth = 0.9 * _own_fit_epoch_energy_j(model)
        held.append({**template.to_dict(), "experiment": FRESH, "model": model, "epoch_energy_j": truth})
    pd.DataFrame(held).to_csv(tmp_path / f"{FRESH_CSV}.csv", index=False)
    runs = pr.load_runs(tmp_path)
    fitted = pr.fit_coefficients(runs, coeffs["features"])
    assert fitted["reference_gpu"] == coeffs["reference_gpu"]  # the H100 has more runs
    own = fitted["fits"]["NVIDIA H200"]
    assert own["source"] == "own rows" and "static" in own and "gpu_factor" not in own and own["n_models"] == 20
    table = pv.validation_table(pv.cross_validate(runs, coeffs["features"]))
    held_rows = table[(table["split"] == FRESH) & (table["predictor"] == "static_features")]
    assert list(held_rows["gpu_name"]) == ["NVIDIA H200"] and int(held_rows["n_runs"].iloc[0]) == 3
    assert float(held_rows["mape_pct"].iloc[0]) < 10
    assert set(table[table["split"] == "leave_one_model_out"]["gpu_name"]) == {coeffs["reference_gpu"], "NVIDIA H200"}
    via = table[table["split"] == f"{FRESH}_via_reference_gpu"]
    assert list(via["predictor"]) == ["static_features"] and float(via["mape_pct"].iloc[0]) < 5  # exactly 0.9 x
    assert f"{FRESH}_via_widest_fit" not in set(table["split"])  # the H200's rows: its own fit is the widest


def test_rows_of_a_card_other_than_the_widest_fits_are_also_predicted_by_that_fit_times_the_card_factor():
    coeffs = pr.load_coefficients()
    runs = pr.load_runs()
    held = runs[(runs["csv"] == FRESH_CSV) & ~runs["anchor"] & (runs["gpu_name"] != "NVIDIA H200")]
    if held.empty:
        pytest.skip(f"{FRESH_CSV} has no rows of a card other than the H200")
    h200 = "NVIDIA H200"
    assert max(coeffs["fits"], key=lambda g: len(coeffs["fits"][g]["models"])) == h200  # the widest fit
    fit_rows = runs[~runs["heldout"] & (runs["precision"] == "default")]
    frames = pv._predict_sets(coeffs, held, fit_rows, coeffs["features"])
    by = {str(f["split"].iloc[0]): f for f in frames}
    assert {FRESH, f"{FRESH}_via_widest_fit"} <= set(by)
    static = lambda p: p[p["predictor"] == "static_features"]["predicted_j"].to_numpy()  # noqa: E731
    expected = pv.predict_via_card(coeffs["fits"][h200], held, fit_rows, coeffs["features"], h200)
    assert static(by[f"{FRESH}_via_widest_fit"]) == pytest.approx(expected["predicted_j"].to_numpy())
    assert not np.allclose(static(by[f"{FRESH}_via_widest_fit"]), static(by[FRESH]))  # another fit than the card's
    # the narrow-norm table of such rows reads the widest fit's norms, not the card's own (zoo-only) fit's
    predictions = pd.concat(frames, ignore_index=True)
    gpu = str(held["gpu_name"].iloc[0])
    via = pv.narrow_norm_table(predictions, coeffs, f"{FRESH}_via_widest_fit", gpu=gpu, fit_gpu=h200)
    own = pv.narrow_norm_table(predictions, coeffs, FRESH, gpu=gpu)
    assert len(via) == len(own) == held["model"].nunique()
    assert set(via["fewest_fitted"]) == {pr.narrow_norms({}, coeffs["features"], coeffs["fits"][h200]["models"])[1]}
    assert own["fewest_fitted"].isna().all()  # the card's fit has no layer norm: every one is narrower


def test_predict_takes_a_model_outside_a_narrower_fit_to_the_widest_fit_times_the_card_factor():
    from greenai.predict.model import predict_static, regressors, scale_prediction

    coeffs = pr.load_coefficients()
    h100, h200 = "NVIDIA H100 80GB HBM3", "NVIDIA H200"
    widest = coeffs["fits"][h100]["widest_fit"]
    assert widest["gpu"] == h200 and "widest_fit" not in coeffs["fits"][h200]
    assert coeffs["fits"][h100]["n_models"] < coeffs["fits"][h200]["n_models"]
    # the card factor is the one the validation's *_via_widest_fit route uses: the zoo runs both cards ran
    runs = pr.load_runs(include_heldout=False)
    default = runs[runs["precision"] == "default"]
    ratio = pr.matched_ratio(default[~pr.beyond_zoo(default)], h100, h200)
    for target in ("energy_j", "duration_s"):
        assert widest[target]["factor"] == pytest.approx(math.exp(np.log(ratio[f"epoch_{target}"]).mean()))
    model = HELDOUT11_MODELS[14]  # MONAI's BasicUNet: no norm, kernel or operator the pass names
    assert model not in coeffs["fits"][h100]["models"] and model not in coeffs["fits"][h200]["models"]
    p = pr.predict_run(model, "fashion_mnist", 1, 256, gpu="h100")
    x = regressors(coeffs["features"][pr.feature_key(model, 1, 10)], coeffs["datasets"]["fashion_mnist"]["n_train"], 256)
    expected = scale_prediction(predict_static(coeffs["fits"][h200]["static"]["energy_j"], x, unseen=True),
                                widest["energy_j"])
    assert (p.epoch_energy_j, p.epoch_energy_low_j, p.epoch_energy_high_j) == pytest.approx(expected)
    assert p.notes[0].startswith(f"{model} is outside {h100}'s own fit (20 models): predicted by {h200}'s")
    # a model of the card's own fit keeps it
    zoo = pr.predict_run("resnet18", "fashion_mnist", 1, 256, gpu="h100")
    x = regressors(coeffs["features"]["resnet18|1|10|224"], coeffs["datasets"]["fashion_mnist"]["n_train"], 256)
    fit = coeffs["fits"][h100]["static"]["energy_j"]
    assert zoo.epoch_energy_j == pytest.approx(predict_static(fit, {**x, "lineage": "resnet"})[0])
    assert zoo.epoch_energy_j == pytest.approx(predict_static(fit, x)[0] * math.exp(pr.family_offset(fit, "resnet")))
    assert not any("own fit" in n for n in zoo.notes)


def test_validation_value_picks_the_split_predictor_and_gpu():
    table = pd.DataFrame({"split": ["cifar10", "heldout", "heldout"], "predictor": ["thesis_hc"] * 3,
                          "gpu_name": ["A", "A", "B"], "mape_pct": [5.0, 7.0, 9.0], "n_runs": [3, 4, 5]})
    assert pv.validation_value(table, "cifar10", "thesis_hc") == 5.0  # one GPU has the split: its row
    assert pv.validation_value(table, "heldout", "thesis_hc", gpu="B") == 9.0
    assert pv.validation_value(table, "heldout", "thesis_hc", "n_runs", gpu="A") == 4
    assert math.isnan(pv.validation_value(table, "leave_one_model_out", "thesis_hc"))


def test_figures_4_14_to_4_16_draw_the_reference_gpus_zoo_rows_at_batch_256():
    from greenai.figures import ch4

    coeffs = pr.load_coefficients()
    runs = pr.load_runs()
    ref = coeffs["reference_gpu"]
    shown = pr.thesis_figure_runs(runs, coeffs["features"], ref)
    assert len(shown) and set(shown["batch_size"]) == {256} and set(shown["gpu_name"]) == {ref}
    assert not shown["heldout"].any() and (shown["macs_epoch"] > 0).all()
    fits = pr.thesis_figure_fits(shown)
    assert fits["hc_model"]["n_runs"] == shown["dataset"].isin(["fashion_mnist", "cifar100"]).sum()
    assert {ds: f["n_runs"] for ds, f in fits["datasets"].items()} == shown["dataset"].value_counts().to_dict()
    for fig, n_datasets in ((ch4.fig_4_14_hc_fits_per_dataset(shown, fits, ref), 2),
                            (ch4.fig_4_16_loglog_per_dataset(shown, fits, ref), 3)):
        ax = fig.axes[0]
        scatter = [c for c in ax.collections if c.get_label().endswith("(measured)")]
        shown_ds = shown[shown["dataset"].isin(["fashion_mnist", "cifar100"] if n_datasets == 2 else
                                               ["fashion_mnist", "cifar100", "cifar10"])]
        assert len(scatter) == shown_ds["dataset"].nunique()
        assert sum(len(c.get_offsets()) for c in scatter) == len(shown_ds)


def test_target_table_scores_models_and_says_which_targets_are_met():
    rows = []
    for model, measured, predicted, low, high in (("a", 100.0, 104.0, 90.0, 110.0),   # 4 % off, inside
                                                  ("b", 100.0, 70.0, 60.0, 80.0),     # 30 % off, 25 % above high
                                                  ("c", 100.0, 100.0, 95.0, 105.0)):  # exact
        rows.append({"predictor": "static_features", "split": "fresh", "gpu_name": "G", "model": model,
                     "measured_j": measured, "predicted_j": predicted, "low_j": low, "high_j": high,
                     "error_pct": 100 * (predicted - measured) / measured, "covered": low <= measured <= high})
    t = pv.target_table(pd.DataFrame(rows), {"fresh": "fresh"}).iloc[0]
    assert t["n_models"] == 3 and t["mape_pct"] == pytest.approx(34 / 3)
    assert t["worst_model"] == "b" and t["worst_model_ape_pct"] == pytest.approx(30)
    assert t["worst_outside_pct"] == pytest.approx(25) and t["coverage_pct"] == pytest.approx(200 / 3)
    assert not t["mape_pct_met"] and not t["worst_model_ape_pct_met"] and not t["coverage_pct_met"]
    assert list(pv.outside_pct([50.0, 100.0], [60.0, 90.0], [80.0, 110.0])) == pytest.approx([20.0, 0.0])
    near = pv.target_table(pd.DataFrame(rows).assign(split="near"), {"near": "near_family"}).iloc[0]
    assert math.isnan(near["worst_model_ape_pct_met"]) and not near["mape_pct_met"]  # not targeted; 11 % > 5 %


def test_prospective_table_turns_each_earlier_sets_scores_into_its_errors():
    fit = {"unseen_scores_prospective": {"a": [math.log(1 / 0.8), 0.0], "b": [math.log(1 / 1.1), 3.0],
                                         "c": [0.0, 0.5]},
           "prospective_sets": {"kpi_heldout2": {"fit_models": 9, "fit_runs": 12, "scored": ["a", "b"]},
                                "kpi_heldout": {"fit_models": 2, "fit_runs": 4, "scored": []},
                                "kpi_nearfamily": {"fit_models": 11, "fit_runs": 14, "scored": ["c"]}}}
    per_model, per_set = pp.prospective_table(fit)
    # log(measured / predicted) = log(1 / 0.8): predicted 20 % under
    assert per_model.set_index("model")["error_pct"].round(6).to_dict() == {"a": -20.0, "b": 10.0, "c": 0.0}
    assert per_model.set_index("model").loc["b", "score"] == pytest.approx(math.log(1.1) / 2)
    assert per_set["set"].tolist() == ["heldout2", "nearfamily"]  # a set that scored none is left out
    h2 = per_set.set_index("set").loc["heldout2"]
    assert (h2["models"], h2["fit_models"], h2["worst_model"]) == (2, 9, "a")
    assert h2["mape_pct"] == pytest.approx(15.0) and h2["worst_model_ape_pct"] == pytest.approx(20.0)
    assert pp.prospective_table({})[1].empty


def test_errors_by_share_sets_each_models_error_beside_its_share_of_grouped_work():
    rows = [("static_features", "g", 80.0, 100.0, 70.0, 95.0, False),
            ("static_features", "g", 100.0, 100.0, 90.0, 110.0, True),
            ("static_features", "d", 100.0, 95.0, 80.0, 120.0, True), ("thesis_hc", "g", 1.0, 100.0, 1.0, 2.0, False)]
    predictions = pd.DataFrame(rows, columns=["predictor", "model", "predicted_j", "measured_j", "low_j", "high_j",
                                              "covered"]).assign(split="s", dataset="fashion_mnist")
    predictions["error_pct"] = 100 * (predictions["predicted_j"] / predictions["measured_j"] - 1)
    coeffs = {"datasets": {"fashion_mnist": {"channels": 1, "num_classes": 10}},
              "features": {"g|1|10|224": {"macs_conv_grouped": 30.0, "macs_total": 100.0},
                           "d|1|10|224": {"macs_conv_grouped": 5.0, "macs_total": 100.0}}}
    table = pv.errors_by_share(predictions, coeffs, "s").set_index("model")
    assert list(table.index) == ["g", "d"]  # the most under-predicted first
    assert table.loc["g", "share"] == pytest.approx(0.3) and bool(table.loc["g", "heavy"])
    assert not bool(table.loc["d", "heavy"]) and table.loc["d", "error_pct"] == pytest.approx(100 * (100 / 95 - 1))
    # runs averaged; the thesis predictor's row is left out; one run outside its interval (95 J < 100 J)
    assert table.loc["g", "error_pct"] == pytest.approx(-10.0) and not bool(table.loc["g", "covered"])
    assert table.loc["g", "outside_pct"] == pytest.approx(100 * (100 / 95 - 1))
    assert not pv.errors_by_share(predictions, coeffs, "s", threshold=0.5)["heavy"].any()


def test_errors_by_share_sums_a_tuple_of_denominator_features():
    predictions = pd.DataFrame([("static_features", "n", 40.0, 100.0, 30.0, 50.0, False, -60.0)],
                               columns=["predictor", "model", "predicted_j", "measured_j", "low_j", "high_j", "covered",
                                        "error_pct"]).assign(split="s", dataset="fashion_mnist")
    coeffs = {"datasets": {"fashion_mnist": {"channels": 1, "num_classes": 10}},
              "features": {"n|1|10|224": {"bytes_norm": 1.0, "bytes_elementwise": 2.0, "bytes_other": 1.0}}}
    table = pv.errors_by_share(predictions, coeffs, "s", numerator="bytes_norm",
                               denominator=("bytes_norm", "bytes_elementwise", "bytes_other"), threshold=0.2)
    assert table.loc[0, "share"] == pytest.approx(0.25) and bool(table.loc[0, "heavy"])
    assert table.loc[0, "outside_pct"] == pytest.approx(100.0)  # 100 J measured, 50 J the upper bound


def test_narrow_norm_table_widens_only_models_with_a_norm_narrower_than_every_fitted_one():
    rows = [("static_features", "deep", "s", "NVIDIA H200", 40.0, 100.0, 30.0, 50.0, False),
            ("static_features", "plain", "s", "NVIDIA H200", 95.0, 100.0, 80.0, 99.0, False),
            ("static_features", "deep", "s", "NVIDIA H100 80GB HBM3", 40.0, 100.0, 30.0, 50.0, False),
            ("static_features", "deep", "t", "NVIDIA H200", 40.0, 100.0, 30.0, 50.0, False)]
    predictions = pd.DataFrame(rows, columns=["predictor", "model", "split", "gpu_name", "predicted_j", "measured_j",
                                              "low_j", "high_j", "covered"]).assign(dataset="fashion_mnist")
    predictions["error_pct"] = 100 * (predictions["predicted_j"] / predictions["measured_j"] - 1)
    moved = {"bytes_elementwise": 50.0, "bytes_norm": 30.0, "bytes_other": 20.0}
    coeffs = {"datasets": {"fashion_mnist": {"channels": 1, "num_classes": 10}},
              "fits": {"NVIDIA H200": {"static": {}, "models": ["fitted"]}},
              "features": {"fitted|1|10|224": {"norm_axes": [[48, 1.0, 1, "n (LayerNorm)"]]},
                           "deep|1|10|224": {**moved, "norm_axes": [[6, 25.0, 12, "r (LayerNorm)"],
                                                                    [384, 5.0, 25, "n (LayerNorm)"]]},
                           "plain|1|10|224": {**moved, "norm_axes": [[384, 30.0, 25, "n (LayerNorm)"]]}}}
    table = pv.narrow_norm_table(predictions, coeffs, "s").set_index("model")
    assert list(table.index) == ["deep", "plain"] and set(table["split"]) == {"s"}  # the H100 row is not this fit's
    assert table.loc["deep", "narrowest_values"] == 6 and table.loc["deep", "fewest_fitted"] == 48
    assert table.loc["deep", "narrow_share"] == pytest.approx(0.25) and table.loc["deep", "widen"] == pytest.approx(1.25)
    assert table.loc["deep", "outside_pct"] == pytest.approx(100.0)  # 100 J measured, 50 J the upper bound
    assert table.loc["deep", "outside_widened_pct"] == pytest.approx(100 * (100 / 62.5 - 1))
    assert table.loc["plain", "widen"] == 1.0 and table.loc["plain", "narrow_share"] == 0.0
    assert table.loc["plain", "outside_widened_pct"] == pytest.approx(table.loc["plain", "outside_pct"])
    assert len(pv.narrow_norm_table(predictions, coeffs, ("s", "t"))) == 3


def test_errors_by_norm_width_bins_models_by_their_narrowest_norm():
    table = pd.DataFrame({"split": ["s"] * 5 + ["t"],
                          "model": ["deep", "cross", "sep", "vit", "cnn", "vit"],
                          "narrowest_values": [6.0, 31.0, 32.0, 384.0, float("nan"), 64.0],
                          "error_pct": [-60.0, -20.0, -10.0, 5.0, 2.0, -3.0]})
    out = pv.errors_by_norm_width(table)
    s = out[out["split"] == "s"].set_index("narrowest_norm")
    assert list(s.index) == ["< 32", "32-63", ">= 64", "no layer or group norm"]
    assert s.loc["< 32", "models"] == 2 and s.loc["< 32", "mean_error_pct"] == pytest.approx(-40.0)
    assert s.loc["< 32", "worst_model"] == "deep" and s.loc["< 32", "worst_error_pct"] == -60.0
    assert s.loc["32-63", "worst_model"] == "sep" and s.loc["no layer or group norm", "worst_model"] == "cnn"
    t = out[out["split"] == "t"]
    assert list(t["narrowest_norm"]) == [">= 64"] and t["models"].tolist() == [1]
    coarse = pv.errors_by_norm_width(table, edges=(64,))
    assert coarse[coarse["split"] == "s"].set_index("narrowest_norm").loc["< 64", "models"] == 3


def test_norm_width_errors_sets_each_models_error_beside_its_narrow_norms():
    rows = [("shipped", "deep", 1, 40.0, 100.0, 30.0, 50.0), ("shipped", "deep", 2, 60.0, 100.0, 45.0, 90.0),
            ("shipped", "plain", 1, 95.0, 100.0, 80.0, 120.0), ("trial", "deep", 1, 90.0, 100.0, 70.0, 130.0)]
    predictions = pd.DataFrame(rows, columns=["split", "model", "repeat", "predicted_j", "measured_j", "low_j",
                                              "high_j"]).assign(dataset="fashion_mnist")
    predictions["error_pct"] = 100 * (predictions["predicted_j"] / predictions["measured_j"] - 1)
    predictions["covered"] = (predictions["low_j"] <= 100.0) & (100.0 <= predictions["high_j"])
    moved = {"bytes_elementwise": 50.0, "bytes_norm": 30.0, "bytes_other": 20.0}
    features = {"deep|1|10|224": {**moved, "norm_axes": [[6, 24.0, 12, "r (LayerNorm)"], [384, 6.0, 25, "n"]]},
                "plain|1|10|224": {**moved, "norm_axes": [[384, 30.0, 25, "n (LayerNorm)"]]}}
    datasets = {"fashion_mnist": {"channels": 1, "num_classes": 10}}
    table = pv.norm_width_errors(predictions, features, datasets, narrower_than=24).set_index(["split", "model"])
    assert list(table.index) == [("shipped", "deep"), ("shipped", "plain"), ("trial", "deep")]  # narrowest first
    deep = table.loc[("shipped", "deep")]
    assert deep["narrowest_values"] == 6 and deep["narrow_share"] == pytest.approx(0.24)
    assert deep["norm_bytes_per_value"] == pytest.approx((24 / 6 + 6 / 384) / 100)
    assert deep["error_pct"] == pytest.approx(-50.0)  # -60 % and -40 %, averaged
    assert not deep["covered"] and deep["outside_pct"] == pytest.approx(100.0)  # the worse run: 100 J over 50 J
    assert table.loc[("shipped", "plain"), "narrow_share"] == 0.0 and table.loc[("shipped", "plain"), "covered"]
    assert table.loc[("trial", "deep"), "covered"] and table.loc[("trial", "deep"), "outside_pct"] == 0.0


def test_predict_via_card_is_the_other_cards_fit_times_the_zoo_factor_between_the_cards():
    from greenai.predict.coefficients import load_coefficients

    coeffs = load_coefficients()
    runs = pr.load_runs(include_heldout=False)
    default = runs[runs["precision"] == "default"]
    h100, h200 = "NVIDIA H100 80GB HBM3", "NVIDIA H200"
    test = default[(default["gpu_name"] == h100) & (default["csv"] == "kpi_macs")].head(4)
    got = pv.predict_via_card(coeffs["fits"][h200], test, runs, coeffs["features"], h200)
    assert set(got["predictor"]) == {"static_features"} and len(got) == len(test)
    ratio = pr.matched_ratio(default[~pr.beyond_zoo(default)], h100, h200)["epoch_energy_j"]
    on_h200 = pv.predict_runs(coeffs["fits"][h200], test, coeffs["features"])
    on_h200 = on_h200[on_h200["predictor"] == "static_features"].reset_index(drop=True)
    factor = math.exp(np.log(ratio).mean())
    assert got["predicted_j"].to_numpy() == pytest.approx(factor * on_h200["predicted_j"].to_numpy())
    assert (got["high_j"] / got["predicted_j"] > on_h200["high_j"] / on_h200["predicted_j"]).all()  # its spread
    with pytest.raises(ValueError, match="one GPU other than"):
        pv.predict_via_card(coeffs["fits"][h200], default[default["gpu_name"] == h200].head(2), runs,
                            coeffs["features"], h200)


def test_rows_outside_every_fit_are_predicted_by_three_routes_and_the_refit_matches_the_shipped_fit():
    from greenai.predict.coefficients import load_coefficients

    coeffs = load_coefficients()
    csv = "kpi_synthetic_norms"
    if not (RAW_DIR / f"{csv}.csv").exists():
        pytest.skip(f"{csv} is not recorded")
    h200 = "NVIDIA H200"
    # refitted with the shipped terms, the third route must be the second: the refit is the shipped build
    got, features, refit = pv.outside_rows_by_route(csv, coeffs, h200, pr.CANDIDATE_TERMS)
    by = {split: p.set_index("model") for split, p in got.groupby("split")}
    gpu = str(pd.read_csv(RAW_DIR / f"{csv}.csv", usecols=["gpu_name"])["gpu_name"].iloc[0])
    assert set(by) == {f"{gpu} fit", f"{h200} fit x card", f"{h200} refit x card"}
    assert all(len(p) == len(by[f"{gpu} fit"]) >= 16 for p in by.values())
    assert by[f"{h200} refit x card"]["predicted_j"].to_numpy() == pytest.approx(
        by[f"{h200} fit x card"]["predicted_j"].to_numpy(), rel=1e-9)
    assert [t["name"] for t in refit["fits"][h200]["static"]["energy_j"]["terms"]] == [
        t["name"] for t in coeffs["fits"][h200]["static"]["energy_j"]["terms"]]
    assert all(k in features for k in coeffs["features"])  # the shipped features, and the CSV's models beside
    empty, _, none = pv.outside_rows_by_route("kpi_not_recorded", coeffs, h200, pr.CANDIDATE_TERMS)
    assert empty.empty and none is None
    # a refit with a term left out is named by it, and differs
    without = tuple(t for t in pr.CANDIDATE_TERMS if t != "norm_rows")
    other, _, refit_without = pv.outside_rows_by_route(csv, coeffs, h200, without)
    name = f"{h200} fit without norm_rows x card"
    assert name in set(other["split"])
    assert "norm_rows" not in {t["name"] for t in refit_without["fits"][h200]["static"]["energy_j"]["terms"]}
    assert not np.allclose(other[other["split"] == name].set_index("model")["predicted_j"].to_numpy(),
                           by[f"{h200} fit x card"]["predicted_j"].to_numpy())


def test_route_errors_by_model_average_each_models_runs_per_route():
    routes = pd.DataFrame({"model": ["a", "a", "a", "b", "b"], "split": ["x", "x", "y", "x", "y"],
                           "error_pct": [10.0, 20.0, -4.0, 2.0, 6.0]})
    got = pv.route_errors_by_model(routes).set_index("model")
    assert got.loc["a", "x"] == 15.0 and got.loc["a", "y"] == -4.0
    assert got.loc["b", "x"] == 2.0 and got.loc["b", "y"] == 6.0 and list(got.columns) == ["x", "y"]


def test_candidate_rows_pass_when_family_errors_hold_and_the_fresh_set_improves():
    def frame(lofo_errors, fresh_errors):
        rows = [("leave_one_family_out", m, e) for m, e in zip("abc", lofo_errors)]
        rows += [("fresh", m, e) for m, e in zip("xy", fresh_errors)]
        return pd.DataFrame(rows, columns=["split", "model", "error_pct"]).assign(
            predictor="static_features", gpu_name="NVIDIA H200", covered=True)

    base = frame([10.0, -20.0, 3.0], [-60.0, 10.0])
    table = pv.candidate_rule_table(base, frame([11.0, -20.0, 3.0], [-30.0, 12.0]), "fresh").set_index("split")
    assert table.loc["leave_one_family_out", "change_pts"] == pytest.approx(1 / 3)
    assert table.loc["fresh", "mape_without_pct"] == pytest.approx(35.0)
    assert table.loc["fresh", "worst_with"] == "x" and table.loc["fresh", "worst_with_pct"] == pytest.approx(30.0)
    assert table["passes"].all()
    # a family error up by more than half a point fails the rule, whatever the fresh set does
    worse = pv.candidate_rule_table(base, frame([12.0, -20.0, 3.0], [-30.0, 12.0]), "fresh").set_index("split")
    assert not worse.loc["leave_one_family_out", "passes"] and worse.loc["fresh", "passes"]
    same = pv.candidate_rule_table(base, base, "fresh").set_index("split")
    assert same.loc["leave_one_family_out", "passes"] and not same.loc["fresh", "passes"]
    # a fresh set measured on another card is read on that card, the families on the fit's
    h100 = "NVIDIA H100 80GB HBM3"
    on_h100 = lambda p: p.assign(gpu_name=p["gpu_name"].where(p["split"] != "fresh", h100))  # noqa: E731
    other = pv.candidate_rule_table(on_h100(base), on_h100(frame([11.0, -20.0, 3.0], [-30.0, 12.0])), "fresh",
                                    fresh_gpu=h100).set_index("split")
    assert other.loc["fresh", "mape_with_pct"] == pytest.approx(21.0) and other["passes"].all()
    assert other.loc["leave_one_family_out", "change_pts"] == pytest.approx(1 / 3)


def test_ablation_table_compares_a_fit_with_and_without_a_term_overall_and_on_the_heavy_models():
    def frame(errors, covered=True):
        return pd.DataFrame([("leave_one_family_out", m, e) for m, e in zip("abcd", errors)],
                            columns=["split", "model", "error_pct"]).assign(
            predictor="static_features", gpu_name="NVIDIA H200", covered=covered)

    with_term, without = frame([-5.0, 10.0, 2.0, -3.0]), frame([-60.0, 12.0, 2.0, -1.0], covered=False)
    table = pv.ablation_table(with_term, without, ["leave_one_family_out"], heavy={"a", "b"}).set_index("split")
    assert table.loc["leave_one_family_out", "models"] == 4
    assert table.loc["leave_one_family_out", "mape_with_pct"] == pytest.approx(5.0)
    assert table.loc["leave_one_family_out", "mape_without_pct"] == pytest.approx(18.75)
    assert table.loc["leave_one_family_out (heavy)", "change_pts"] == pytest.approx(7.5 - 36.0)
    assert table.loc["leave_one_family_out (others)", "change_pts"] == pytest.approx(2.5 - 1.5)
    assert table.loc["leave_one_family_out (heavy)", "worst_without"] == "a"
    assert table.loc["leave_one_family_out", "coverage_with_pct"] == 100.0
    assert table.loc["leave_one_family_out", "coverage_without_pct"] == 0.0
    # a split without heavy models is not split
    assert len(pv.ablation_table(with_term, without, ["leave_one_family_out"], heavy={"z"})) == 1
    # another GPU's rows are not this GPU's
    assert pv.ablation_table(with_term, without, ["leave_one_family_out"], gpu="other")["models"].iloc[0] == 0


def test_interval_rules_table_scores_each_set_by_the_other_sets_bounds():
    from greenai.predict.fits import conformal_bounds, conformal_q

    rng = np.random.default_rng(9)
    names = [f"m{i}" for i in range(45)]
    scores = {m: [float(r), float(h)] for m, r, h in zip(names, rng.normal(0.05, 0.1, 45), rng.uniform(0, 2, 45))}
    scores["m0"] = [0.6, 0.0]  # far under-predicted: outside every interval
    sets = {f"kpi_set{k}": {"fit_models": 10, "fit_runs": 10, "scored": names[15 * k:15 * (k + 1)]} for k in range(3)}
    table = pp.interval_rules_table({"unseen_scores_prospective": scores, "prospective_sets": sets})
    assert list(table["set"].unique()) == ["kpi_set0", "kpi_set1", "kpi_set2", "all"]
    first = table.set_index(["set", "rule"])
    calib = {m: v for m, v in scores.items() if m not in names[:15]}
    q, (low, high) = conformal_q(calib), conformal_bounds(calib)
    for rule, lo, hi in (("symmetric", -q, q), ("two-tailed", low, high)):
        inside = [lo * math.sqrt(1 + scores[m][1]) <= scores[m][0] <= hi * math.sqrt(1 + scores[m][1])
                  for m in names[:15]]
        assert first.loc[("kpi_set0", rule), "coverage_pct"] == pytest.approx(100 * np.mean(inside))
        assert first.loc[("kpi_set0", rule), "worst_outside_pct"] == pytest.approx(100 * math.expm1(0.6 - hi))
    assert (first.xs("all", level="set")["models"] == 45).all()
