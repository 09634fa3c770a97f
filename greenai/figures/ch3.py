"""Figures of chapter 3 (thesis 3): the models, their MACs and parameters."""

from __future__ import annotations


def fig_3_models_macs_params(table):
    """MACs vs parameters (log-log) per family, and where the counters differ.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`greenai.macs.model_table` (rows of one or more datasets; the
        Fashion-MNIST rows are drawn, or the first dataset's if absent).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt  # heavy: matplotlib
    import seaborn as sns  # heavy: seaborn

    dataset = "fashion_mnist" if "fashion_mnist" in set(table["dataset"]) else table["dataset"].iloc[0]
    sub = table[table["dataset"] == dataset].copy()
    sub["gmacs"] = sub["macs"] / 1e9
    sub["params_m"] = sub["params"] / 1e6
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 5.2), gridspec_kw={"width_ratios": [1.1, 1]})
    sns.scatterplot(data=sub, x="params_m", y="gmacs", hue="family", style="branch_count", s=80, ax=ax1)
    for r in sub.itertuples():
        ax1.annotate(r.display_name, (r.params_m, r.gmacs), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax1.set(xscale="log", yscale="log", xlabel="parameters [millions]", ylabel="MACs per image [GMAC] (thop)")
    ax1.set_title(f"{dataset}, {int(sub['image_size'].iloc[0])}x{int(sub['image_size'].iloc[0])} input")
    ax1.legend(fontsize=8, loc="upper left")
    diff = sub.set_index("display_name")
    rel = (
        (diff[["macs", "macs_ptflops_convention"]].div(diff["macs_flop_counter"], axis=0) - 1) * 100
    ).rename(columns={"macs": "thop", "macs_ptflops_convention": "ptflops convention"})
    rel.plot.barh(ax=ax2, width=0.8)
    ax2.set(xlabel="count above FlopCounterMode (conv + matmul only) [%]", ylabel="")
    ax2.invert_yaxis()
    ax2.tick_params(axis="y", labelsize=8)
    ax2.set_title("what the counters add: batch norm, pooling, bias, activations")
    fig.tight_layout()
    return fig
