"""From the recorded rows to the shipped coefficients of :mod:`greenai.predict`, and notebook 05's tables.

:func:`load_runs` reads the prediction CSVs of ``results/raw`` into per-run rows;
:func:`fit_coefficients` fits both models per GPU (and the precision and GPU
factors); :func:`build_coefficients` adds the static features and dataset shapes
and returns what :func:`greenai.predict.coefficients.write_coefficients` ships.
Which rows enter a fit: :data:`FIT_CSVS`; never: :data:`HELDOUT_CSVS`.
"""

from __future__ import annotations

from greenai.predict.coefficients import load_coefficients
from greenai.predict.fits import (calibrated_spread, fit_factor, fit_matmul_premium, fit_static, fit_thesis,
                                  prospective_enough, prospective_spread, unseen_spread)
from greenai.predict.model import CANDIDATE_TERMS, IMAGE_SIZE, PI_LEVEL, feature_key, lineage, regressors

__all__ = ["ZOO_CSVS", "SYNTHETIC_CSVS", "FORMER_HELDOUT_CSVS", "FIT_CSVS", "HELDOUT_CSVS", "HELDOUT_SPLITS",
           "CANDIDATE_CSVS",
           "MIN_MODELS_OWN_FIT", "load_runs", "run_regressors", "run_macs", "fit_gpu", "family_groups", "beyond_zoo",
           "matched_ratio", "gpus_by_rows", "premiums_by_gpu", "fit_coefficients", "build_coefficients",
           "coefficient_table", "thesis_figure_runs", "thesis_figure_fits"]

#: CSVs of ``results/raw`` whose zoo rows may enter a fit (``train`` rows)
ZOO_CSVS = ("kpi_macs", "kpi_cifar10", "kpi_batch_size", "kpi_datasets", "kpi_extrapolation", "kpi_epochs",
            "kpi_hardware", "kpi_hardware_h200", "kpi_precision", "kpi_cifar10_pair", "kpi_macs_h200")
#: the synthetic architectures' CSVs (:mod:`greenai.models.synthetic`): fitted beside the zoo; the second holds
#: the block kinds added for recurrent, windowed, pooled and linear attention, FFT, shift and pooling mixers,
#: gating and pre-activation; the third the grouped 1x1 and few-group convolutions (``synthetic_64`` ...), measured
#: after set 8 showed those underpriced, candidates until set 9 was chosen (they passed their rule: with them the
#: leave-one-family-out MAPE rose 0.08 points, set 8's fell 1.1 points); the last two the large-kernel and
#: few-channel batch-norm draws repeated on an H200, measured after set 10 was predicted, candidates until set 11
#: was chosen (with the terms they exercise they passed: the leave-one-family-out MAPE fell 0.2 points, set 10's
#: 4.3 points)
SYNTHETIC_CSVS = ("kpi_synthetic", "kpi_synthetic_kinds", "kpi_synthetic_grouped", "kpi_synthetic_kernels_h200",
                  "kpi_synthetic_batch_norms_h200")
#: architectures outside the zoo that were held-out sets once, tests of earlier versions of this model:
#: torchvision (sets 1 to 3), timm families (sets 4 to 7), timm and pytorchcv families (set 8), vit-pytorch
#: families (set 9), mmpretrain, timm and pytorchcv families (set 10, as repeated on an H200: its first measurement,
#: ``kpi_heldout10``, was on an H100, whose fit is the zoo's, and enters no fit) and new variants of fitted families
#: (the near-family splits: torchvision, then pytorchcv, then pytorchcv and timm); fitted since the next set was
#: chosen; in the order they were measured (the unseen-architecture interval meets each with the rows measured
#: before it)
FORMER_HELDOUT_CSVS = ("kpi_heldout", "kpi_heldout2", "kpi_heldout3", "kpi_heldout4", "kpi_heldout5", "kpi_heldout6",
                       "kpi_nearfamily", "kpi_heldout7", "kpi_heldout8", "kpi_nearfamily2", "kpi_heldout9",
                       "kpi_nearfamily3", "kpi_heldout10_h200")
#: CSVs whose rows may enter a fit
FIT_CSVS = ZOO_CSVS + SYNTHETIC_CSVS + FORMER_HELDOUT_CSVS
#: the held-out architectures' CSVs (never fitted), measured after the coefficients had been frozen: set 11,
#: MONAI families that none of the other rows has (the fresh set), then the fourth near-family set, variants of
#: fitted families, the test of the family offsets, the fifth, variants of lineages fitted several times (the
#: other end of the offsets' shrinkage), set 12, pytorchcv's dense-prediction families (a second fresh set), and the
#: sixth near-family set, the fifth's test drawn again, and set 13, transformers' dense-prediction, matting, video and
#: detection families with four others (a third fresh set); each one's zoo rows (anchors) measure its card
HELDOUT_CSVS = ("kpi_heldout11", "kpi_nearfamily4", "kpi_nearfamily5", "kpi_heldout12", "kpi_nearfamily6",
                "kpi_heldout13")
#: the split name of each CSV of architectures outside the zoo in the validation table
HELDOUT_SPLITS = {"kpi_heldout": "heldout", "kpi_heldout2": "heldout2", "kpi_heldout3": "heldout3",
                  "kpi_heldout4": "heldout4", "kpi_heldout5": "heldout5",
                  "kpi_heldout6": "heldout6", "kpi_nearfamily": "nearfamily", "kpi_heldout7": "heldout7",
                  "kpi_heldout8": "heldout8", "kpi_nearfamily2": "nearfamily2", "kpi_heldout9": "heldout9",
                  "kpi_nearfamily3": "nearfamily3", "kpi_heldout10_h200": "heldout10", "kpi_heldout11": "heldout11",
                  "kpi_nearfamily4": "nearfamily4", "kpi_nearfamily5": "nearfamily5", "kpi_heldout12": "heldout12",
                  "kpi_nearfamily6": "nearfamily6", "kpi_heldout13": "heldout13"}
#: training rows recorded after the fresh set was predicted, to be tested as candidates before they may enter a fit
#: (never fitted here; notebook 05 refits with them beside, post hoc), each under a rule fixed before they were
#: measured. None now: the last two, the H200 draws, joined SYNTHETIC_CSVS when set 11 was chosen
CANDIDATE_CSVS: tuple[str, ...] = ()
#: a GPU needs this many distinct zoo models at default precision for its own static-feature fit
MIN_MODELS_OWN_FIT = 8


def load_runs(raw_dir=None, include_heldout: bool = True, candidates: tuple[str, ...] = ()):
    """Per-run rows (one per model, dataset, batch, precision, repeat, GPU) of the prediction CSVs.

    Each measured window or epoch of a run is averaged (:func:`greenai.analysis.per_run`); the
    column ``csv`` says where the run came from, ``heldout`` marks the held-out rows (never fitted),
    ``synthetic`` the synthetic architectures, ``former_heldout`` the architectures of the earlier
    held-out sets (:data:`FORMER_HELDOUT_CSVS`) and ``anchor`` the zoo models measured beside a held-out
    set on its card (rows of a zoo model in a held-out CSV; they count as zoo rows, and those of the
    current held-out set measure its card). ``timestamp_utc`` is the UTC time of a run's first measured
    window (NaT where its CSV has none). ``candidates``: CSVs of synthetic architectures (e.g.
    :data:`CANDIDATE_CSVS`) loaded as fitted synthetic rows, to refit with them beside. Missing CSVs are skipped.
    """
    import pandas as pd  # heavy: pandas

    from greenai import analysis as an  # heavy: numpy

    frames = []
    for name in FIT_CSVS + tuple(candidates) + (HELDOUT_CSVS if include_heldout else ()):
        try:
            rows = an.load_results(name, raw_dir)
        except an.MissingResultsError:
            continue
        rows = rows[rows["epoch_energy_j"].notna()]
        if rows.empty:
            continue
        extra = ("in_channels", "num_classes", "n_train", "image_size")
        runs = an.per_run(rows, extra_keys=extra)
        keys = ["gpu_name", "model", "dataset", "data_source", "precision", "batch_size", "repeat", *extra]
        first = (rows.assign(timestamp_utc=pd.to_datetime(rows["timestamp_utc"], utc=True, errors="coerce"))
                 .groupby(keys, sort=False)["timestamp_utc"].min().reset_index())
        runs = runs.merge(first, on=keys, how="left", validate="one_to_one")
        runs["csv"] = name
        runs["heldout"] = name in HELDOUT_CSVS
        runs["synthetic"] = name in SYNTHETIC_CSVS or name in candidates
        runs["former_heldout"] = name in FORMER_HELDOUT_CSVS
        frames.append(runs)
    if not frames:
        return pd.DataFrame()
    out = pd.concat(frames, ignore_index=True)
    out["anchor"] = (out["csv"].isin(FORMER_HELDOUT_CSVS + HELDOUT_CSVS)
                     & out["model"].isin(set(out.loc[out["csv"].isin(ZOO_CSVS), "model"])))
    out.loc[out["anchor"], "former_heldout"] = False
    return out[out["image_size"] == IMAGE_SIZE].reset_index(drop=True)


def run_regressors(run, features: dict) -> dict:
    """A run's :func:`greenai.predict.model.regressors`, with its ``model`` and ``lineage`` (None for a synthetic
    architecture): what groups the runs into the fit's family offsets (:func:`greenai.predict.fits.family_offsets`)."""
    f = features[feature_key(run["model"], run["in_channels"], run["num_classes"], run["image_size"])]
    synthetic = bool(run.get("synthetic", False))
    return {**regressors(f, run["n_train"], run["batch_size"]), "model": str(run["model"]),
            "lineage": None if synthetic else lineage(f.get("family"))}


def run_macs(run, features: dict) -> float:
    f = features[feature_key(run["model"], run["in_channels"], run["num_classes"], run["image_size"])]
    return float(f["macs"]) * float(run["n_train"])


def fit_gpu(runs, features: dict, premium: dict | None = None, targets=("energy_j", "duration_s"),
            terms=CANDIDATE_TERMS, offsets: bool = True, lofo_scores: bool = True) -> dict:
    """Both models fitted on one GPU's default-precision zoo runs (energy and duration per epoch).

    ``premium``: ``{"energy_j": ..., "duration_s": ...}`` of :func:`fit_matmul_premium` (or None);
    ``targets``: the per-epoch quantities the static-feature model is fitted to (validation needs energy only);
    ``offsets``: whether the fits have family offsets (:func:`greenai.predict.fits.family_offsets`).
    ``terms``: its candidate terms (:func:`greenai.predict.fits.fit_static`; a trial adds
    :data:`greenai.predict.model.TRIAL_TERMS`).
    The unseen-architecture interval (:func:`greenai.predict.fits.calibrated_spread`) is scored prospectively on
    the earlier held-out sets (:data:`FORMER_HELDOUT_CSVS` in the order they were measured, each met by a fit of
    the rows measured before it; :func:`greenai.predict.fits.prospective_spread`) and, kept beside it and used
    below 10 such scores, by leaving each family out (:func:`greenai.predict.fits.unseen_spread`). Without
    ``lofo_scores`` the families are left out only where the interval uses them (its ``*_lofo`` entries are
    otherwise empty; the fit and its interval are the same): a cross-validation's refits need no more.
    """
    premium = premium or {}
    recs = runs.to_dict("records")
    xs = [run_regressors(r, features) for r in recs]
    zoo = runs[~beyond_zoo(runs)]  # the thesis' model is fitted on its zoo
    out = {"n_runs": len(recs), "n_models": int(runs["model"].nunique()),
           "csvs": sorted(set(runs["csv"])), "thesis": fit_thesis([run_macs(r, features) for r in zoo.to_dict("records")],
                                                                   zoo["epoch_energy_j"])}
    out["models"] = sorted(runs["model"].unique())
    if out["n_models"] >= MIN_MODELS_OWN_FIT:
        out["static"] = {}
        groups = family_groups(runs, features)
        for target in targets:
            fit = fit_static(xs, runs[f"epoch_{target}"], terms=terms, premium=premium.get(target), offsets=offsets)
            ahead = prospective_spread(runs, xs, f"epoch_{target}", FORMER_HELDOUT_CSVS, premium.get(target),
                                       min_models=MIN_MODELS_OWN_FIT, terms=terms, offsets=offsets)
            lofo = {"q_unseen": float("nan"), "n_unseen": 0, "unseen_scores": {}}
            if lofo_scores or not prospective_enough(ahead):
                lofo = unseen_spread(runs, xs, f"epoch_{target}", premium.get(target), groups=groups, terms=terms,
                                     offsets=offsets)
            fit.update(calibrated_spread(lofo, ahead))
            out["static"][target] = fit
    return out


def family_groups(runs, features: dict) -> list[str]:
    """The group each run is left out with when the unseen-architecture interval is scored: its family
    (a zoo or torchvision family, a timm module), each synthetic architecture on its own (they share no blocks'
    sizes or order)."""
    out = []
    for r in runs.to_dict("records"):
        synthetic = bool(r.get("synthetic", False))
        f = features[feature_key(r["model"], r["in_channels"], r["num_classes"], r["image_size"])]
        out.append(str(r["model"]) if synthetic else str(f["family"]))
    return out


def beyond_zoo(runs):
    """Which rows are of architectures outside the zoo that may be fitted (synthetic, earlier held-out sets)."""
    out = runs["model"] != runs["model"]
    for column in ("synthetic", "former_heldout"):
        if column in runs:
            out |= runs[column].astype(bool)
    return out


def matched_ratio(runs, gpu: str, reference: str, by=("model", "dataset", "batch_size", "precision")):
    """Per-condition ratios ``E(gpu) / E(reference)`` over conditions both GPUs ran (means over repeats)."""
    means = runs.groupby(["gpu_name", *by])[["epoch_energy_j", "epoch_duration_s"]].mean()
    a = means.loc[gpu]
    b = means.loc[reference]
    both = a.index.intersection(b.index)
    return a.loc[both] / b.loc[both]


def gpus_by_rows(default_runs) -> list[str]:
    """GPU names, the one with the most zoo models first (then the most runs, then by name): the reference.

    Architectures beyond the zoo do not count: the reference is the GPU the thesis' zoo was measured on most.
    """
    default_runs = default_runs[~beyond_zoo(default_runs)]
    g = default_runs.groupby("gpu_name").agg(models=("model", "nunique"), runs=("model", "size")).reset_index()
    g = g.sort_values(["models", "runs", "gpu_name"], ascending=[False, False, True], kind="stable")
    return [str(n) for n in g["gpu_name"]]


def premiums_by_gpu(zoo, features: dict, reference: str) -> dict:
    """:func:`fit_matmul_premium` per GPU with precision rows: ``{gpu: {"energy_j": ..., "duration_s": ...}}``."""
    out = {}
    for gpu in zoo["gpu_name"].unique():
        on_gpu = zoo[zoo["gpu_name"] == gpu]
        e = fit_matmul_premium(on_gpu, features, "epoch_energy_j")
        if e is not None:
            out[str(gpu)] = {"energy_j": e, "duration_s": fit_matmul_premium(on_gpu, features, "epoch_duration_s")}
    return out


def fit_coefficients(runs, features: dict, terms=CANDIDATE_TERMS, offsets: bool = True) -> dict:
    """Every coefficient :func:`greenai.predict.runtime.predict_run` needs, from per-run rows (:func:`load_runs`, zoo only).

    ``terms``, ``offsets``: those of :func:`fit_gpu`.

    Returns the JSON-able mapping shipped as :data:`greenai.predict.coefficients.COEFFICIENTS_PATH` (without
    ``features`` and ``datasets``, which :func:`build_coefficients` adds).
    """
    zoo = runs[~runs["heldout"]]
    default = zoo[zoo["precision"] == "default"]
    gpus = gpus_by_rows(default)
    reference = gpus[0]
    fits = {}
    premium = premiums_by_gpu(zoo, features, reference)
    for gpu in gpus:
        sub = default[default["gpu_name"] == gpu]
        fits[str(gpu)] = fit_gpu(sub, features, premium.get(str(gpu)) or premium.get(reference), terms=terms,
                                 offsets=offsets)
        fits[str(gpu)]["source"] = "own rows"
    for gpu, f in fits.items():
        if "static" in f:
            continue
        ratio = matched_ratio(default, gpu, reference)
        f["source"] = f"{reference} static-feature model x GPU factor"
        f["gpu_factor"] = {"reference": reference, "energy_j": fit_factor(ratio["epoch_energy_j"]),
                           "duration_s": fit_factor(ratio["epoch_duration_s"]),
                           "conditions": [list(map(str, i)) for i in ratio.index]}
    own = [g for g, f in fits.items() if "static" in f]
    widest = max(own, key=lambda g: (fits[g]["n_models"], g == reference)) if own else None
    zoo_default = default[~beyond_zoo(default)]
    for gpu in own:  # a narrower own fit: models outside it are predicted by the widest fit x the card factor
        ratio = matched_ratio(zoo_default, gpu, widest) if fits[gpu]["n_models"] < fits[widest]["n_models"] else ()
        if len(ratio) >= 2:
            fits[gpu]["widest_fit"] = {"gpu": widest, "energy_j": fit_factor(ratio["epoch_energy_j"]),
                                       "duration_s": fit_factor(ratio["epoch_duration_s"]),
                                       "conditions": [list(map(str, i)) for i in ratio.index]}
    for gpu, f in fits.items():  # the thesis' HC for every precision measured on this GPU
        on_gpu = zoo[(zoo["gpu_name"] == gpu) & (zoo["precision"] != "default")]
        f["thesis_by_precision"] = {"default": f["thesis"]}
        for p, sub in on_gpu.groupby("precision"):
            if len(sub) >= 2:
                f["thesis_by_precision"][str(p)] = fit_thesis([run_macs(r, features) for r in sub.to_dict("records")],
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
    from greenai.models import MODEL_NAMES  # heavy: torch
    from greenai.models.sets import HELDOUT_SETS  # heavy: torch (greenai.models)
    from greenai.predict.features import feature_table  # heavy: torch

    ds = _dataset_table()
    known = features if features is not None else _shipped_features()
    keys = {(m, d["channels"], d["num_classes"], IMAGE_SIZE) for m in MODEL_NAMES for d in ds.values()}
    keys |= {(m, ds["fashion_mnist"]["channels"], ds["fashion_mnist"]["num_classes"], IMAGE_SIZE)
             for models in HELDOUT_SETS.values() for m in models}
    with_candidates = load_runs(raw_dir, candidates=CANDIDATE_CSVS)  # their features too: notebook 05 refits
    keys |= {(r.model, int(r.in_channels), int(r.num_classes), int(r.image_size))
             for r in with_candidates.itertuples()}
    runs = (with_candidates[~with_candidates["csv"].isin(CANDIDATE_CSVS)].reset_index(drop=True)
            if len(with_candidates) else with_candidates)
    feats = feature_table(sorted(keys), known, log=log)
    out = {"version": 1, "image_size": IMAGE_SIZE, "pi_level": PI_LEVEL,
           "note": "fitted by notebooks/05_prediction.py from results/raw (zoo, synthetic and earlier held-out "
                   f"sets' rows; the current held-out sets, {', '.join(HELDOUT_CSVS)}, never enter a fit); "
                   "per-epoch energy [J] and duration [s]",
           "datasets": ds, **fit_coefficients(runs, feats), "features": dict(sorted(feats.items()))}
    return out


def _dataset_table() -> dict:
    from greenai.data import DATASETS  # heavy: numpy

    return {k: {"channels": int(v.channels), "num_classes": int(v.num_classes), "n_train": int(v.n_train),
                "display_name": v.display_name} for k, v in DATASETS.items()}


def _shipped_features() -> dict:
    try:
        return dict(load_coefficients()["features"])
    except (FileNotFoundError, KeyError):
        return {}


def coefficient_table(coeffs: dict):
    """The fitted coefficients with units and 95 % intervals, one row per GPU, target and term."""
    import pandas as pd  # heavy: pandas

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
    r["macs_epoch"] = [run_macs(x, features) for x in r.to_dict("records")]
    return r[(r["gpu_name"] == gpu) & (r["precision"] == "default") & (r["batch_size"] == 256) & ~r["heldout"]
             & r["csv"].isin(["kpi_macs", "kpi_cifar10"])]


def thesis_figure_fits(shown) -> dict:
    """The fits Figs 4.14-4.16 draw over :func:`thesis_figure_runs`' rows ``shown`` (:func:`fit_thesis`).

    ``datasets``: each dataset with at least 3 runs, fitted alone; ``hc_model``: Fashion-MNIST and CIFAR-100
    together (the thesis' HC model), or ``None`` below 3 runs.
    """
    datasets = {}
    for ds in ("fashion_mnist", "cifar100", "cifar10"):
        sub = shown[shown["dataset"] == ds]
        if len(sub) >= 3:
            datasets[ds] = fit_thesis(sub["macs_epoch"], sub["epoch_energy_j"])
    both = shown[shown["dataset"].isin(["fashion_mnist", "cifar100"])]
    hc = fit_thesis(both["macs_epoch"], both["epoch_energy_j"]) if len(both) >= 3 else None
    return {"datasets": datasets, "hc_model": hc}
