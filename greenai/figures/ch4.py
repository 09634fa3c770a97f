"""Figures of chapter 4 (thesis 4.1): energy per epoch by GPU, dataset, batch size, MACs and phase.

Each function takes the tables of :mod:`greenai.analysis.kpi` and returns a
matplotlib figure; notebooks save it with :func:`greenai.figures.save_figure`.
"""

from __future__ import annotations

from greenai.analysis.kpi import LogLogFit


def plot_grouped_bars(summary, x: str, hue: str, y: str = "epoch_energy_j_mean", yerr: str | None = "epoch_energy_j_std",
                      ylabel: str = "energy per epoch [J]", title: str = "", log: bool = False):
    """Grouped bars of ``summary[y]`` by ``x`` and ``hue`` (error bars from ``yerr``)."""
    import matplotlib.pyplot as plt
    import numpy as np

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
    import matplotlib.pyplot as plt

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
    import matplotlib.pyplot as plt

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
    import matplotlib.pyplot as plt
    import numpy as np
    import seaborn as sns

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
    import matplotlib.pyplot as plt
    import numpy as np

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
    import matplotlib.pyplot as plt

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
