"""Figures of chapter 4: energy per epoch by GPU, dataset, batch size, MACs and phase (thesis 4.1,
notebook 04), predicting a run's energy (4.2.1-4.2.2, Figs 4.14-4.16, notebook 05) and energy to
reach an accuracy (4.2.3, Figs 4.17-4.20, notebook 06).

Each function takes the tables of :mod:`greenai.analysis.kpi`, :mod:`greenai.predict` or
:mod:`greenai.accuracy` and returns a matplotlib figure; notebooks save it with
:func:`greenai.figures.save_figure`.
"""

from __future__ import annotations

import math

from greenai.analysis.kpi import LogLogFit
from greenai.operators import OPERATOR_CLASSES


def plot_grouped_bars(summary, x: str, hue: str, y: str = "epoch_energy_j_mean", yerr: str | None = "epoch_energy_j_std",
                      ylabel: str = "energy per epoch [J]", title: str = "", log: bool = False):
    """Grouped bars of ``summary[y]`` by ``x`` and ``hue`` (error bars from ``yerr``)."""
    import matplotlib.pyplot as plt  # heavy: matplotlib
    import numpy as np  # heavy: numpy

    xs = list(dict.fromkeys(summary[x]))
    hues = list(dict.fromkeys(summary[hue]))
    fig, ax = plt.subplots(figsize=(max(5, 1.3 * len(xs) * max(1, len(hues)) / 2), 4))
    width = 0.8 / len(hues)
    for k, h in enumerate(hues):
        part = summary[summary[hue] == h].set_index(x).reindex(xs)
        err = part[yerr].fillna(0).to_numpy() if yerr and yerr in part else None
        bars = ax.bar(np.arange(len(xs)) + (k - (len(hues) - 1) / 2) * width, part[y], width, yerr=err, capsize=3,
                      label=str(h))
        ax.bar_label(bars, fmt="%.0f", fontsize=7)
    ax.set_xticks(np.arange(len(xs)), xs, rotation=20 if len(xs) > 4 else 0)
    ax.set_ylabel(ylabel)
    if log:
        ax.set_yscale("log")
    ax.legend(title=hue, fontsize=8)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_batch_size(summary, title: str = ""):
    """Figs 4.3/4.4: energy per epoch and average power vs batch size (log2 axis)."""
    import matplotlib.pyplot as plt  # heavy: matplotlib

    fig, (ax_e, ax_p) = plt.subplots(1, 2, figsize=(10, 4))
    ax_e.errorbar(summary.batch_size, summary.epoch_energy_j_mean, yerr=summary.epoch_energy_j_std.fillna(0),
                  marker="o", capsize=3)
    ax_e.set_xscale("log", base=2)
    ax_e.set_xlabel("batch size")
    ax_e.set_ylabel("energy per epoch [J]")
    ax_e.set_title("energy per epoch (mean ± sd over repeats)")
    ax_p.plot(summary.batch_size, summary.power_w_mean, marker="s", color="tab:red", label="average power [W]")
    ax_p.set_xscale("log", base=2)
    ax_p.set_xlabel("batch size")
    ax_p.set_ylabel("average power [W]")
    ax_t = ax_p.twinx()
    ax_t.plot(summary.batch_size, summary.epoch_duration_s_mean, marker="^", color="tab:blue", label="time per epoch [s]")
    ax_t.set_ylabel("time per epoch [s]")
    ax_t.grid(False)
    ax_p.set_title("power and time per epoch")
    fig.legend(loc="lower center", ncol=2, fontsize=8, bbox_to_anchor=(0.75, -0.02))
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig



def plot_total_energy(totals, title: str = ""):
    import matplotlib.pyplot as plt  # heavy: matplotlib

    fig, ax = plt.subplots(figsize=(6, 4))
    for b, g in totals.groupby("batch_size"):
        ax.errorbar(g.epochs, g.total_energy_j / 1e3, yerr=g.total_energy_j_sd / 1e3, marker="o", capsize=3,
                    label=f"batch {b}")
    ax.set_xlabel("epochs")
    ax.set_ylabel("total training energy [kJ]")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_macs_energy(runs, fit: LogLogFit | None = None, y: str = "epoch_energy_j", label: str = "model",
                     hue: str | None = None, ylabel: str = "energy per epoch [J]", title: str = "",
                     annotate: bool = True):
    """Figs 4.7/4.9/4.10-4.13: MACs vs a per-epoch quantity on log-log axes, with the fitted line."""
    import matplotlib.pyplot as plt  # heavy: matplotlib
    import numpy as np  # heavy: numpy
    import seaborn as sns  # heavy: seaborn

    fig, ax = plt.subplots(figsize=(7, 5))
    sns.scatterplot(data=runs, x="macs", y=y, hue=hue, ax=ax, s=50)
    if annotate:
        for r in runs.drop_duplicates(label).itertuples():
            ax.annotate(getattr(r, label), (r.macs, getattr(r, y)), fontsize=7, xytext=(3, 3),
                        textcoords="offset points")
    if fit is not None:
        xs = np.logspace(np.log10(runs.macs.min()), np.log10(runs.macs.max()), 50)
        ax.plot(xs, fit.predict(xs), "k--", lw=1,
                label=f"log-log fit: slope {fit.slope:.2f} [{fit.slope_ci[0]:.2f}, {fit.slope_ci[1]:.2f}], "
                      f"R² {fit.r2:.2f}")
        ax.legend(fontsize=8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("MACs per image (224×224)")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_phase_energy(table, title: str = ""):
    """Energy per step per phase: thesis' way vs by difference vs by regression."""
    import matplotlib.pyplot as plt  # heavy: matplotlib
    import numpy as np  # heavy: numpy

    models = list(dict.fromkeys(table.model))
    fig, axes = plt.subplots(1, len(models), figsize=(5 * len(models), 4), squeeze=False)
    for ax, model in zip(axes[0], models):
        t = table[table.model == model]
        x = np.arange(len(t))
        w = 0.27
        ax.bar(x - w, t.thesis_j * 1e3, w, label="thesis: avg power × time", color="tab:gray")
        bound = t.by_difference_bound_j * 1e3 if "by_difference_bound_j" in t else None
        ax.bar(x, t.by_difference_j * 1e3, w, yerr=bound, capsize=3, color="tab:green",
               label="measured: difference of windows (± counter bound)")
        ax.bar(x + w, t.by_regression_j * 1e3, w, label="measured: regression", color="tab:olive")
        ax.set_xticks(x, t.phase)
        ax.set_ylabel("energy per training step [mJ]")
        ax.set_title(f"{model}, batch {t.batch_size.iloc[0]}")
    axes[0][0].legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_epoch_series(rows, title: str = ""):
    """Energy per epoch and test accuracy vs epoch index of one run, with the cumulative energy
    measured beside ``N × mean`` (the linear extrapolation used for Figs 4.5/4.6)."""
    import matplotlib.pyplot as plt  # heavy: matplotlib

    r = rows.sort_values("epoch_index")
    n = r.epoch_index + 1
    fig, (ax_e, ax_c) = plt.subplots(1, 2, figsize=(10, 4))
    ax_e.plot(n, r.energy_j, marker="o", label="energy per epoch [J]")
    ax_e.set_xlabel("epoch")
    ax_e.set_ylabel("energy per epoch [J]")
    ax_e.set_ylim(0, r.energy_j.max() * 1.15)
    if r.test_accuracy.notna().any():
        ax_a = ax_e.twinx()
        ax_a.plot(n, r.test_accuracy, marker="s", color="tab:green", label="test accuracy")
        ax_a.set_ylabel("test accuracy")
        ax_a.grid(False)
    ax_c.plot(n, r.energy_j.cumsum() / 1e3, marker="o", label="measured, cumulative")
    ax_c.plot(n, n * r.energy_j.mean() / 1e3, "k--", label="epochs × mean per epoch")
    ax_c.set_xlabel("epochs")
    ax_c.set_ylabel("total energy [kJ]")
    ax_c.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- one function per thesis figure


def fig_4_1_hardware(summary):
    """Fig 4.1: energy per epoch by model and GPU (``summarize(rows, ["gpu_name", "model"])``)."""
    return plot_grouped_bars(summary, x="model", hue="gpu_name", title="Energy per epoch, Fashion-MNIST, batch 128")


def fig_4_2_datasets(summary):
    """Fig 4.2: energy per epoch by model and dataset, from windows extrapolated to an epoch."""
    return plot_grouped_bars(summary, x="model", hue="dataset", yerr=None,
                             title="Energy per epoch by dataset, batch 256 (windows, extrapolated to an epoch)")


def fig_4_2b_datasets_full_epochs(summary):
    """Fig 4.2 from full epochs (the check of the windows' extrapolation)."""
    return plot_grouped_bars(summary, x="model", hue="dataset",
                             title="Energy per epoch by dataset, batch 256 (full epochs)")


def fig_4_4_batch_size(summary, gpu_name: str):
    """Figs 4.3/4.4: energy, power and time per epoch vs batch size (AlexNet, Fashion-MNIST)."""
    return plot_batch_size(summary, title=f"AlexNet, Fashion-MNIST, {gpu_name}")


def fig_4_6_energy_vs_epochs(totals):
    """Figs 4.5/4.6: total energy vs epochs per batch size (``total_energy_over_epochs``)."""
    return plot_total_energy(totals, title="Total energy vs epochs (measured mean per epoch × epochs)")


def fig_4_6b_energy_per_epoch_over_10_epochs(rows):
    """Energy per epoch and accuracy over 10 measured epochs (the linearity behind Fig 4.6)."""
    return plot_epoch_series(rows, title="AlexNet, Fashion-MNIST, batch 256: 10 full epochs")


def fig_4_7_macs_vs_energy(runs, fit, gpu_name: str):
    """Fig 4.7: MACs vs energy per epoch on Fashion-MNIST, log-log, with the fit."""
    return plot_macs_energy(runs, fit, hue="branch_count",
                            title=f"MACs vs energy per epoch, Fashion-MNIST, batch 256, {gpu_name}")


def fig_4_9_googlenet_branches(runs, fit):
    """Fig 4.9: GoogLeNet and its modified versions (branches) on MACs-energy axes."""
    return plot_macs_energy(runs, fit, hue="branch_count", title="GoogLeNet and its modified versions, Fashion-MNIST")


def fig_4_10_macs_vs_energy_cifar100(runs, fit):
    """Fig 4.10: MACs vs energy per epoch on CIFAR-100 (synthetic here)."""
    return plot_macs_energy(runs, fit, hue="branch_count", title="MACs vs energy per epoch, CIFAR-100 (synthetic)")


def fig_4_10b_macs_vs_energy_cifar10(runs, fit):
    """MACs vs energy per epoch on real CIFAR-10 (beyond the thesis)."""
    return plot_macs_energy(runs, fit, hue="branch_count", title="MACs vs energy per epoch, CIFAR-10 (real)")


def fig_phase_energy_methods(table, gpu_name: str):
    """Energy per step by phase three ways (``phase_energy_table``): thesis vs difference vs regression."""
    return plot_phase_energy(table, title=f"Energy per training step by phase, Fashion-MNIST, {gpu_name}")


def fig_precision(summary):
    """Energy per epoch by model and precision (``summarize(rows, ["model", "precision"])``)."""
    return plot_grouped_bars(summary, x="model", hue="precision", yerr=None, log=True,
                             title="Energy per epoch by precision, CIFAR-100 (synthetic), batch 256")


# --------------------------------------------------------------------------- thesis 4.2: predicting energy (notebook 05)


def _thesis_fits(shown, fits: dict, gpu: str, fig_kind: str):
    """Figs 4.14-4.16 on MACs-energy axes (log-log); ``fig_kind`` says which of the three."""
    import matplotlib.pyplot as plt  # heavy: matplotlib
    import numpy as np  # heavy: numpy

    r = shown
    colors = {"fashion_mnist": "tab:blue", "cifar100": "tab:orange", "cifar10": "tab:green"}
    fig, ax = plt.subplots(figsize=(7.5, 5.5))
    grid = np.logspace(np.log10(r["macs_epoch"].min() / 1.5), np.log10(r["macs_epoch"].max() * 1.5), 50)
    hc = fits["hc_model"]
    shown_ds = ["fashion_mnist", "cifar100"] if fig_kind == "4.14" else ["fashion_mnist", "cifar100", "cifar10"]
    for ds in shown_ds:
        sub = r[r["dataset"] == ds]
        if sub.empty:
            continue
        ax.scatter(sub["macs_epoch"], sub["epoch_energy_j"], s=22, color=colors[ds], label=f"{ds} (measured)")
        if ds not in fits["datasets"]:
            continue
        f = fits["datasets"][ds]
        if fig_kind == "4.14":
            ax.plot(grid, f["hc_j_per_mac"] * grid, color=colors[ds],
                    label=f"{ds}: HC = {f['hc_j_per_mac']:.3g} J/MAC")
        elif fig_kind == "4.16":
            ll = f["loglog"]
            ax.plot(grid, 10 ** (ll["intercept"] + ll["slope"] * np.log10(grid)), color=colors[ds], ls="--",
                    label=f"{ds}: log-log slope {ll['slope']:.2f}, R² {ll['r2']:.2f}")
    if hc is not None and fig_kind in ("4.15", "4.16"):
        ax.plot(grid, hc["hc_j_per_mac"] * grid, color="k",
                label=f"HC model (FMNIST + CIFAR-100): {hc['hc_j_per_mac']:.3g} J/MAC")
    if fig_kind == "4.15" and hc is not None:
        for ds in ("fashion_mnist", "cifar100"):
            if ds in fits["datasets"]:
                ll = fits["datasets"][ds]["loglog"]
                ax.plot(grid, 10 ** (ll["intercept"] + ll["slope"] * np.log10(grid)), color=colors[ds], ls=":",
                        label=f"{ds} regression")
    ax.set(xscale="log", yscale="log", xlabel="forward MACs per sample x samples per epoch [MAC] (thop)",
           ylabel="energy per epoch [J]", title=f"Fig {fig_kind} on {gpu}, batch 256")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def fig_4_14_hc_fits_per_dataset(shown, fits: dict, gpu: str):
    """Fig 4.14: Fashion-MNIST and CIFAR-100 with ``E = HC_d x MACs x N`` fitted through the origin per dataset.

    ``shown``: :func:`greenai.predict.build.thesis_figure_runs` (one GPU's rows); ``fits``: their
    :func:`greenai.predict.build.thesis_figure_fits`; ``gpu``: that GPU's name, for the title.
    """
    return _thesis_fits(shown, fits, gpu, "4.14")


def fig_4_15_hc_model_vs_cifar10(shown, fits: dict, gpu: str):
    """Fig 4.15: the HC model fitted on Fashion-MNIST + CIFAR-100 beside the CIFAR-10 rows it predicts."""
    return _thesis_fits(shown, fits, gpu, "4.15")


def fig_4_16_loglog_per_dataset(shown, fits: dict, gpu: str):
    """Fig 4.16: free log-log regressions per dataset (FMNIST, CIFAR-10, CIFAR-100) beside the HC model."""
    return _thesis_fits(shown, fits, gpu, "4.16")


def _split_axes(n: int, width: float, height: float, columns: int = 4):
    """A figure with ``n`` panels, at most ``columns`` a row; the unused panels hidden."""
    import matplotlib.pyplot as plt  # heavy: matplotlib

    cols = min(n, columns)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n])


def fig_prediction_predicted_vs_measured(predictions, predictors=("static_features", "thesis_hc")):
    """Predicted vs measured energy per epoch [J] (log-log), one panel per split, both models; ±10 % band.

    ``predictions``: :func:`greenai.predict.validation.cross_validate`.
    """
    import numpy as np  # heavy: numpy

    splits = list(dict.fromkeys(predictions["split"]))
    fig, axes = _split_axes(len(splits), 5.2, 4.8)
    markers = {"static_features": "o", "thesis_hc": "x", "thesis_loglog": "+"}
    for ax, split in zip(axes, splits):
        sub = predictions[predictions["split"] == split]
        lo = min(sub["measured_j"].min(), sub["predicted_j"].min()) / 1.3
        hi = max(sub["measured_j"].max(), sub["predicted_j"].max()) * 1.3
        line = np.array([lo, hi])
        ax.plot(line, line, color="k", lw=1)
        ax.fill_between(line, line / 1.1, line * 1.1, color="0.85", label="±10 %")
        for name in predictors:
            p = sub[sub["predictor"] == name]
            if p.empty:
                continue
            mape = p["error_pct"].abs().mean()
            ax.errorbar(p["measured_j"], p["predicted_j"], yerr=[p["predicted_j"] - p["low_j"],
                                                                  p["high_j"] - p["predicted_j"]],
                        fmt=markers.get(name, "o"), ms=4, lw=0.6, capsize=0, alpha=0.8,
                        label=f"{name}: MAPE {mape:.1f} %")
        ax.set(xscale="log", yscale="log", xlabel="measured energy per epoch [J]",
               ylabel="predicted [J] (90 % PI)", title=split.replace("_", " "))
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def fig_prediction_residuals_per_model(predictions, predictors=("static_features", "thesis_hc")):
    """Per-model mean percentage error of energy per epoch [%], one panel per split (``cross_validate``)."""
    import seaborn as sns  # heavy: seaborn

    p = predictions[predictions["predictor"].isin(predictors)]
    splits = list(dict.fromkeys(p["split"]))
    most = max(p[p["split"] == s]["model"].nunique() for s in splits)
    fig, axes = _split_axes(len(splits), 5.2, max(6.0, 0.16 * most))
    for ax, split in zip(axes, splits):
        sub = p[p["split"] == split].groupby(["model", "predictor"], as_index=False)["error_pct"].mean()
        order = sub[sub["predictor"] == predictors[0]].sort_values("error_pct")["model"]
        sns.barplot(data=sub, y="model", x="error_pct", hue="predictor", order=list(order), ax=ax)
        ax.axvline(0, color="k", lw=0.8)
        for v in (-10, 10):
            ax.axvline(v, color="0.6", lw=0.8, ls="--")
        ax.set(xlabel="(predicted - measured) / measured [%]", ylabel="", title=split.replace("_", " "))
        ax.tick_params(axis="y", labelsize=7)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def fig_prediction_interval_vs_leverage(scores, q: float, gpu: str = "", method: str = "",
                                        bounds: tuple[float, float] | None = None):
    """The unseen-architecture interval: each scored model's error against its leverage, and the band.

    ``scores``: ``{model: [log(measured / predicted), leverage]}`` (``unseen_scores`` of a static fit:
    :func:`greenai.predict.fits.prospective_spread` or :func:`greenai.predict.fits.unseen_spread`); ``q`` its
    conformal quantile; ``bounds``: its two-tailed bounds ``(q_unseen_low, q_unseen_high)`` where the fit has them
    (the band is then ``exp([low, high] sqrt(1 + leverage))``, else ``exp(+/- q sqrt(1 + leverage))``), in percent;
    ``method``: the fit's ``q_unseen_method``, named in the title where given. Points outside the band are the
    models it would have missed.
    """
    import matplotlib.pyplot as plt  # heavy: matplotlib
    import numpy as np  # heavy: numpy

    low, high = bounds if bounds is not None and all(b == b for b in bounds) else (-q, q)
    names = list(scores)
    ratio = np.array([scores[n][0] for n in names])
    lev = np.array([scores[n][1] for n in names])
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    grid = np.geomspace(max(lev.min(), 1e-3) / 1.5, lev.max() * 1.5, 200)
    ax.fill_between(grid, 100 * np.expm1(low * np.sqrt(1 + grid)), 100 * np.expm1(high * np.sqrt(1 + grid)),
                    color="0.88", label="90 % interval of a new architecture")
    outside = (ratio < low * np.sqrt(1 + lev)) | (ratio > high * np.sqrt(1 + lev))
    ax.scatter(lev[~outside], 100 * np.expm1(ratio[~outside]), s=14, label="scored model")
    ax.scatter(lev[outside], 100 * np.expm1(ratio[outside]), s=18, color="C3", label="outside its interval")
    for i in np.flatnonzero(outside):
        ax.annotate(names[i], (lev[i], 100 * np.expm1(ratio[i])), fontsize=6, xytext=(3, 2),
                    textcoords="offset points")
    ax.axhline(0, color="k", lw=0.8)
    ax.set(xscale="log", xlabel="leverage of the feature mix (1 = the fit's mean)",
           ylabel="(measured - predicted) / predicted [%]",
           title=f"{method + ' errors' if method else 'errors outside the fit'} and the conformal band"
                 f"{' (' + gpu + ')' if gpu else ''}")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def fig_operator_time_shares(shares, errors):
    """Each model's step GPU time by operator class (stacked shares), models sorted by prediction error.

    ``shares``: :func:`greenai.analysis.operators.operator_time_shares`; ``errors``: signed
    error of energy per epoch [%] by model (the models drawn are those in both).
    """
    import matplotlib.pyplot as plt  # heavy: matplotlib
    import seaborn as sns  # heavy: seaborn

    errors = errors[errors.index.isin(shares.index)].sort_values()
    classes = [c for c in OPERATOR_CLASSES if c in shares.columns]
    colors = dict(zip(classes, sns.color_palette("tab20", len(classes))))
    fig, ax = plt.subplots(figsize=(10, 0.32 * len(errors) + 1.8))
    left = 0.0
    for c in classes:
        v = shares.loc[errors.index, c].to_numpy()
        ax.barh(range(len(errors)), v, left=left, color=colors[c], label=c)
        left = left + v
    ax.set_yticks(range(len(errors)), [f"{m}  ({e:+.0f} %)" for m, e in errors.items()], fontsize=7)
    ax.set(xlim=(0, 1), xlabel="share of the step's operator GPU time (H200, batch 256)",
           title="where the time goes; in brackets the static-feature model's error")
    ax.legend(fontsize=7, ncol=2, bbox_to_anchor=(1.01, 1), loc="upper left")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- thesis 4.2.3: energy to accuracy (notebook 06)

#: what each dataset's panels stand for in the thesis (CIFAR-10 stands in for CIFAR-100, not obtainable offline)
ACCURACY_PANELS: dict[str, str] = {
    "fashion_mnist": "Fashion-MNIST (thesis Figs 4.17, 4.19)",
    "cifar10": "CIFAR-10, standing in for CIFAR-100 (thesis Figs 4.18, 4.20)",
    "cifar100": "CIFAR-100 (thesis Figs 4.18, 4.20)",
}


def fig_4_17_4_20_accuracy_vs_epochs(rows, forms=None, extend: float = 1.5):
    """Figs 4.17-4.20: test accuracy vs epochs of every recorded run with the fitted learning curves.

    ``rows``: :func:`greenai.accuracy.load_rows`. One panel per run; measured
    points, each form's curve (default :data:`greenai.accuracy.FORMS`) drawn to
    ``extend`` × the recorded epochs, its plateau dotted; the form ``auto`` keeps is drawn thicker.
    """

    import matplotlib.pyplot as plt  # heavy: matplotlib
    import numpy as np  # heavy: numpy

    from greenai import accuracy as acc  # heavy: numpy

    forms = acc.FORMS if forms is None else forms
    table = acc.runs(rows)
    cols = min(2, max(1, len(table)))
    nrows = max(1, math.ceil(len(table) / cols))
    fig, axes = plt.subplots(nrows, cols, figsize=(6 * cols, 4 * nrows), squeeze=False)
    for ax in axes.flat[len(table):]:
        ax.set_visible(False)
    for ax, (_, r) in zip(axes.flat, table.iterrows()):
        sel = acc.run_rows(rows, r)
        ax.plot(sel.n_epochs, sel.test_accuracy, "o", color="black", ms=4, label="measured")
        xs = np.linspace(1, extend * sel.n_epochs.max(), 200)
        chance = acc.chance_accuracy(sel)
        try:
            chosen = acc.fit_learning_curve(sel.n_epochs, sel.test_accuracy, form=acc.AUTO, chance=chance).form
        except acc.AccuracyError:
            chosen = None
        for form, color in zip(forms, ("tab:blue", "tab:orange", "tab:green")):
            try:
                curve = acc.fit_learning_curve(sel.n_epochs, sel.test_accuracy, form=form, chance=chance)
            except acc.AccuracyError:
                continue
            ax.plot(xs, curve.predict(xs), color=color, lw=2.2 if form == chosen else 1.2,
                    label=f"{form}: plateau {curve.plateau:.3f}" + (" (auto's choice)" if form == chosen else ""))
            ax.axhline(curve.plateau, color=color, ls=":", lw=1)
        ax.axvline(sel.n_epochs.max(), color="gray", lw=0.8)
        ax.set_xlabel("epochs trained")
        ax.set_ylabel("test accuracy")
        ax.set_title(f"{r.model}, {ACCURACY_PANELS.get(r.dataset, r.dataset)}\n{r.precision}, {r.source_file}",
                     fontsize=9)
        ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def fig_4_17_4_20_accuracy_vs_energy(rows, form: str | None = None, fraction_of_plateau: float = 0.99):
    """Test accuracy vs cumulative training energy [kJ], one panel per dataset, one line per run.

    A star marks where the fitted ``form`` curve (default
    :data:`greenai.accuracy.DEFAULT_FORM`) reaches ``fraction_of_plateau`` × its
    plateau (hollow, with the curve dashed, when beyond the recorded epochs, at their mean energy per epoch).
    """
    import matplotlib.pyplot as plt  # heavy: matplotlib
    import numpy as np  # heavy: numpy

    from greenai import accuracy as acc  # heavy: numpy

    import seaborn as sns  # heavy: matplotlib

    form = acc.DEFAULT_FORM if form is None else form
    table = acc.runs(rows)
    datasets = list(dict.fromkeys(table.dataset))
    most = max([int((table.dataset == d).sum()) for d in datasets] + [1])
    fig, axes = plt.subplots(1, max(1, len(datasets)), figsize=(6.5 * max(1, len(datasets)), 4.5 + 0.2 * most),
                             squeeze=False)
    for ax, dataset in zip(axes[0], datasets):
        runs = table[table.dataset == dataset]
        for (_, r), color in zip(runs.iterrows(), sns.color_palette("tab20", len(runs))):
            sel = acc.run_rows(rows, r)
            size = f", {int(sel.image_size.iloc[0])} px" if "image_size" in sel and sel.image_size.notna().any() else ""
            name = f"{r.model}{size} ({r.precision})"
            try:
                curve = acc.fit_learning_curve(sel.n_epochs, sel.test_accuracy, form=form,
                                               chance=acc.chance_accuracy(sel))
                hit = acc.energy_for_curve(curve, sel, None, fraction_of_plateau)
            except acc.AccuracyError:
                ax.plot(sel.epoch_energy_j.cumsum() / 1e3, sel.test_accuracy, marker="o", ms=3, color=color,
                        label=f"{name}: no curve fitted")
                continue
            ax.plot(sel.epoch_energy_j.cumsum() / 1e3, sel.test_accuracy, marker="o", ms=3, color=color,
                    label=f"{name}: {fraction_of_plateau:.0%} of plateau at epoch {hit['epoch']}, "
                          f"{hit['energy_j'] / 1e3:.0f} kJ" + (" (extrapolated)" if hit["energy_extrapolated"] else ""))
            if hit["energy_extrapolated"]:  # the fitted curve beyond the recorded epochs, at their mean energy
                n_last = int(sel.n_epochs.max())
                ns = np.arange(n_last, hit["epoch"] + 1)
                e_last = float(sel.epoch_energy_j.sum())
                ax.plot((e_last + (ns - n_last) * hit["energy_per_epoch_j"]) / 1e3, curve.predict(ns), ls="--",
                        lw=1, color=color)
            ax.plot(hit["energy_j"] / 1e3, hit["target_accuracy"], "*", ms=14, color=color,
                    mfc="none" if hit["energy_extrapolated"] else color)
        ax.set_xlabel("cumulative training energy [kJ]")
        ax.set_ylabel("test accuracy")
        ax.set_title(ACCURACY_PANELS.get(dataset, dataset), fontsize=10)
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=1, frameon=False,
                  title=f"star: {fraction_of_plateau:.0%} of the fitted plateau (hollow: beyond the recorded epochs)",
                  title_fontsize=7)
    fig.tight_layout()
    return fig


#: short dataset names for small panels
SHORT_DATASETS: dict[str, str] = {"fashion_mnist": "Fashion-MNIST", "cifar10": "CIFAR-10", "cifar100": "CIFAR-100"}


def fig_energy_to_accuracy_fresh(rows, validation, ks=(5, 10)):
    """Each run of a fresh validation: measured test accuracy vs cumulative training energy [kJ], the energy at which
    it first reached its target (dashed) and, per k of ``ks``, the energy predicted from its first k epochs with its
    interval (a bar below the curve; the k-th epoch ringed on it). One panel per run.

    ``rows``: :func:`greenai.accuracy.load_rows` of the runs; ``validation``:
    :func:`greenai.curve_prior.fresh_validation` of them. A prediction beyond the recorded epochs is at the mean
    energy per epoch of the first k (as the validation counts it).
    """
    import matplotlib.pyplot as plt  # heavy: matplotlib
    import matplotlib.transforms as mtransforms  # heavy: matplotlib

    from greenai import accuracy as acc  # heavy: numpy

    runs = validation.drop_duplicates(["model", "dataset", "source_file"])
    fig, axes = _split_axes(max(1, len(runs)), 3.6, 3.0)
    colors = dict(zip(ks, plt.get_cmap("tab10").colors))
    for ax, (_, r) in zip(axes, runs.iterrows()):
        sel = acc.run_rows(rows, rows[(rows.model == r.model) & (rows.dataset == r.dataset)
                                      & (rows.source_file == r.source_file)].iloc[0])
        energy = sel.epoch_energy_j.cumsum().to_numpy() / 1e3
        ax.plot(energy, sel.test_accuracy, "o-", color="black", ms=2.5, lw=0.8, label="measured")
        ax.axhline(r.target_accuracy, color="gray", ls=":", lw=0.8)
        low, high = ax.get_ylim()
        chance = acc.chance_accuracy(sel)
        if chance is not None and low <= chance <= high:  # drawn where the curve is near it
            ax.axhline(chance, color="tab:red", lw=0.8, alpha=0.6, label="chance (1 / classes)")
        ax.axvline(r.measured_energy_j / 1e3, color="black", ls="--", lw=1,
                   label="target first reached (99 % of best)")
        lines = [f"measured: epoch {int(r.measured_epoch)}"]
        below = mtransforms.blended_transform_factory(ax.transData, ax.transAxes)
        for j, k in enumerate(ks):
            p = validation[(validation.model == r.model) & (validation.dataset == r.dataset)
                           & (validation.source_file == r.source_file) & (validation.k == k)]
            if p.empty:
                continue
            p = p.iloc[0]
            ax.plot(energy[k - 1], sel.test_accuracy.iloc[k - 1], "o", ms=8, mfc="none", mew=1.5, color=colors[k])
            if not bool(p.reachable):
                lines.append(f"k = {k}: never (p_reach {p.p_reach:.2f})")
                continue
            y = 0.06 + 0.09 * j
            e, lo, hi = p.predicted_energy_j / 1e3, p.energy_low_j / 1e3, p.energy_high_j / 1e3
            ax.errorbar([e], [y], xerr=[[e - lo], [hi - e]], fmt="D", ms=5, color=colors[k], capsize=3,
                        transform=below, label=f"predicted from the first {k} epochs")
            seen = " (seen)" if bool(p.reached_within_fit) else ""
            lines.append(f"k = {k}: epoch {p.predicted_epoch:g} [{p.predicted_epoch_low:g}-{p.predicted_epoch_high:g}]"
                         f"{seen}, {p.energy_error_pct:+.0f} %")
        ax.set_ylim(low - 0.3 * (high - low), high)  # room for the bars below the curve
        ax.set_xlim(left=0)
        best = float(sel.test_accuracy.max())
        ax.set_title(f"{r.model}, {SHORT_DATASETS.get(r.dataset, r.dataset)} (best {best:.3f})"
                     "\n" + "\n".join(lines), fontsize=7.5)
        ax.set_xlabel("cumulative training energy [kJ]", fontsize=8)
        ax.set_ylabel("test accuracy", fontsize=8)
        ax.tick_params(labelsize=7)
    shown = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            shown.setdefault(label, handle)
    # below the panels, in a strip of its own: over the last panel it would hide its axis
    fig.legend(list(shown.values()), list(shown), loc="lower center", ncol=len(shown), fontsize=7.5, frameon=False,
               title="bars: predicted energy and interval; rings: the k-th epoch", title_fontsize=7.5)
    fig.tight_layout(rect=(0, 0.75 / fig.get_figheight(), 1, 1))
    return fig


def fig_energy_to_accuracy_floor(floor, prior, k=5):
    """Predicted against measured first epoch at 99 % of best accuracy, one point per run not yet at its target
    after ``k`` epochs, per dataset: the noise floor's median and interval (bars), the fitted curve without noise
    (crosses) and the population prior from the first ``k`` epochs (diamonds). The diagonal is a perfect prediction.

    ``floor``: :func:`greenai.learning_curves.noise_floor`; ``prior``: a
    :func:`greenai.curve_prior.early_stop_validation` of the same runs.
    """
    import matplotlib.pyplot as plt  # heavy: matplotlib

    keys = ["model", "dataset", "source_file"]
    f = floor[(floor.k == k) & ~floor.reached_within_fit.astype(bool) & floor.reachable.astype(bool)]
    p = prior[(prior.k == k) & prior.reachable.astype(bool)].set_index(keys)
    datasets = list(dict.fromkeys(f.dataset))
    fig, axes = plt.subplots(1, max(1, len(datasets)), figsize=(4.2 * max(1, len(datasets)), 4.0), squeeze=False)
    for ax, dataset in zip(axes[0], datasets):
        d = f[f.dataset == dataset].sort_values("measured_epoch")
        x = d.measured_epoch.to_numpy(dtype=float)
        ax.errorbar(x, d.predicted_epoch, yerr=[d.predicted_epoch - d.predicted_epoch_low,
                                                d.predicted_epoch_high - d.predicted_epoch],
                    fmt="o", ms=4, color="black", capsize=2, lw=0.8,
                    label="noise floor: whole fitted curve and noise known (median, 90 %)")
        smooth = d.smooth_epoch.replace(float("inf"), float("nan"))  # never within the horizon: not drawn
        ax.plot(x, smooth, "x", color="tab:red", ms=6, label="the fitted curve without noise")
        matched = p["predicted_epoch"].reindex(list(zip(*(d[c] for c in keys)))).tolist()  # NaN: no prediction
        ax.plot(x, matched, "D", color="tab:blue", ms=4, mfc="none",
                label=f"population prior from the first {k} epochs")
        shown = [*x, *d.predicted_epoch_high, *smooth.dropna(), *[v for v in matched if v == v]]
        top = max(float(v) for v in shown) * 1.05
        ax.plot([0, top], [0, top], color="gray", lw=0.8, ls=":")
        ax.set_xlim(0, top)
        ax.set_ylim(0, top)
        ax.set_title(f"{SHORT_DATASETS.get(dataset, dataset)}: {len(d)} runs", fontsize=9)
        ax.set_xlabel("measured first epoch at the target", fontsize=8)
        ax.set_ylabel("predicted first epoch", fontsize=8)
        ax.tick_params(labelsize=7)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=7.5, frameon=False)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig


def fig_norm_width(bench, fewest_fitted: int | None = None):
    """What a layer norm costs by how many values it normalises together (``benchmarks/norm_width.py``'s table).

    Left: time [ps] and card energy [nJ] per byte read and written, forward + backward; right: time per row [ns].
    A vertical line marks ``fewest_fitted``, the narrowest norm of the fit's models, where given.
    """
    import matplotlib.pyplot as plt  # heavy: matplotlib

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(bench["width"], bench["ps_per_byte"], "o-", label="time [ps/B]")
    left.plot(bench["width"], bench["pj_per_byte"] / 1e3, "s--", label="energy [nJ/B]")
    left.set(xscale="log", yscale="log", xlabel="values normalised together", ylabel="per byte moved",
             title="per byte: what the fit prices")
    right.plot(bench["width"], bench["ns_per_row"], "o-", color="C2")
    right.set(xscale="log", xlabel="values normalised together", ylabel="time per row [ns]", ylim=(0, None),
              title="per row: what a narrow norm costs")
    for ax in (left, right):
        if fewest_fitted:
            ax.axvline(fewest_fitted, color="0.5", lw=0.8, ls=":", label=f"narrowest fitted ({fewest_fitted})")
        ax.legend(fontsize=7)
    fig.suptitle(f"nn.LayerNorm forward + backward, {bench['elements'].iloc[0]:,} float32 values "
                 f"({bench['gpu_name'].iloc[0]})", fontsize=9)
    fig.tight_layout()
    return fig
