"""Figures of chapter 2 (thesis 2.2-2.3): measurement methods and layer energy."""

from __future__ import annotations

#: colours of the energy methods in every figure
METHOD_COLORS = {"counter": "black", "sampled": "tab:blue", "smi": "tab:orange", "tdp": "tab:red"}


def fig_2_2_method_error_vs_window(errors, linthresh_pct: float = 10.0):
    """Error of each method against the counter versus window length, one panel per workload.

    Points are single windows, lines connect the medians per target length; the
    grey band is the counter's own uncertainty (``uncertainty_j`` relative to
    its energy), where present. The y axis is symmetric-log: linear within
    ±``linthresh_pct`` %, logarithmic beyond, so that a +400 % TDP error and a
    0.1 % sampling error are both readable.

    Parameters
    ----------
    errors : pandas.DataFrame
        Output of :func:`greenai.analysis.methods.method_errors` with ``workload``, ``duration_s`` and
        ``target_window_s`` columns.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt  # heavy: matplotlib

    workloads = list(dict.fromkeys(errors["workload"]))
    fig, axes = plt.subplots(
        1, len(workloads), figsize=(3.3 * len(workloads), 3.8), sharex=True, sharey=True, squeeze=False
    )
    for ax, workload in zip(axes[0], workloads):
        sub = errors[errors["workload"] == workload]
        if "uncertainty_j" in sub:
            windows = sub.drop_duplicates("window").sort_values("duration_s")
            band = 100.0 * windows["uncertainty_j"] / windows["reference_energy_j"]
            ax.fill_between(windows["duration_s"], -band, band, color="0.8", label="counter ±1 step per edge")
        for method, group in sub.groupby("compared_method", sort=False):
            color = METHOD_COLORS.get(method)
            ax.scatter(group["duration_s"], 100.0 * group["relative_error"], s=12, alpha=0.7, color=color, label=method)
            medians = group.groupby("target_window_s").agg(d=("duration_s", "median"), e=("relative_error", "median"))
            ax.plot(medians["d"], 100.0 * medians["e"], color=color, lw=1)
        ax.axhline(0.0, color="black", lw=0.8)
        ax.set_xscale("log")
        ax.set_yscale("symlog", linthresh=linthresh_pct)
        ax.set_title(workload)
        ax.set_xlabel("window length [s]")
    axes[0][0].set_ylabel("energy error vs counter [%]")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), frameon=False, bbox_to_anchor=(0.5, -0.08))
    fig.tight_layout()
    return fig


def fig_2_2_time_per_layer_type(table: pd.DataFrame, title: str = ""):
    """Fig 2.2 and beyond: time per epoch per layer type, and energy per epoch both ways.

    ``table`` is one (GPU, model, batch) slice of :func:`greenai.analysis.layers.layer_type_table`.
    Left: forward time per epoch [s] (error bars: std over repeats). Right:
    energy per epoch [J] the thesis' way (window power × time) beside the
    measured replay energy.
    """
    import matplotlib.pyplot as plt  # heavy: matplotlib
    import numpy as np  # heavy: numpy

    fig, (ax_t, ax_e) = plt.subplots(1, 2, figsize=(11, 4))
    x = np.arange(len(table))
    ax_t.bar(x, table.time_per_epoch_s, yerr=table.time_per_epoch_s_std.fillna(0), color="tab:blue", capsize=3)
    ax_t.set_xticks(x, table.layer_type, rotation=30, ha="right")
    ax_t.set_ylabel("forward time per epoch [s]")
    ax_t.set_title("time per layer type (CUDA events)")
    w = 0.4
    ax_e.bar(x - w / 2, table.energy_thesis_per_epoch_j, w, label="thesis: window power × time", color="tab:gray")
    ax_e.bar(x + w / 2, table.energy_measured_per_epoch_j, w, label="measured: replay in isolation", color="tab:green")
    ax_e.set_xticks(x, table.layer_type, rotation=30, ha="right")
    ax_e.set_ylabel("forward energy per epoch [J]")
    ax_e.set_title("energy per layer type")
    ax_e.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def fig_2_2b_params_vs_time_per_layer(layers):
    """Per leaf layer: parameters vs forward time per epoch (thesis: no relation).

    ``layers`` is :func:`greenai.analysis.layers.per_layer_time` of the layer rows.
    """
    import matplotlib.pyplot as plt  # heavy: matplotlib
    import seaborn as sns  # heavy: seaborn

    fig, ax = plt.subplots(figsize=(6, 4))
    sns.scatterplot(data=layers, x="layer_params", y="time_per_epoch_s", hue="layer_type", ax=ax, s=60)
    ax.set_xscale("symlog", linthresh=1.0)
    ax.set_xlabel("parameters of the layer")
    ax.set_ylabel("forward time per epoch [s]")
    fig.tight_layout()
    return fig
