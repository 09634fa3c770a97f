"""Where a training step's GPU time goes, operator class by operator class (rows of :mod:`greenai.operator_times`).

No torch: reads ``results/raw/op_times_h200.csv.gz`` (one row per operator of
one training step's forward and backward, its GPU time by CUDA events).
"""

from __future__ import annotations

from pathlib import Path

from greenai import paths
from greenai.experiments.store import MissingResultsError
from greenai.operators import operator_class

__all__ = ["OP_TIMES", "OP_TIMES_GPU", "SLOW_PS_PER_BYTE", "load_operator_times", "operator_time_shares",
           "share_residual_correlation", "time_per_mac", "convolution_speed", "grouped_pointwise_modes"]

#: the recorded operator times (H200, batch 256, Fashion-MNIST shape)
OP_TIMES = "op_times_h200.csv.gz"
#: a convolution slower than this per byte it reads and writes [ps/B] (about 200 GB/s) streams far below the memory's
#: speed: the slow mode of grouped 1x1 convolutions (:func:`grouped_pointwise_modes`)
SLOW_PS_PER_BYTE = 5.0
#: every file of recorded operator times (one per measuring run; ``OP_TIMES`` first)
OP_TIMES_GLOB = "op_times_*.csv.gz"
#: the card whose operator times the analyses read (that of the fits they explain): times differ by card
OP_TIMES_GPU = "NVIDIA H200"


def load_operator_times(raw_dir: str | Path | None = None, gpu: str | None = OP_TIMES_GPU):
    """The recorded operator rows of every :data:`OP_TIMES_GLOB` file with their class (``op_class``,
    :func:`greenai.operators.operator_class`), those timed on ``gpu`` (its name as recorded; ``None``: every card);
    a model timed on one card in two files keeps the first file's rows."""
    import pandas as pd  # heavy: pandas

    folder = Path(raw_dir or paths.RAW_DIR)
    files = sorted(folder.glob(OP_TIMES_GLOB), key=lambda f: (f.name != OP_TIMES, f.name))
    if not files:
        raise MissingResultsError(f"{folder / OP_TIMES} does not exist; measure it on a GPU with "
                                  f"`python -m greenai.operator_times --models ... --out {OP_TIMES}`")
    frames, seen = [], set()
    for f in files:
        rows = pd.read_csv(f)
        if gpu is not None:
            rows = rows[rows["gpu_name"] == gpu]
        timed = pd.Series(list(zip(rows["gpu_name"], rows["model"])), index=rows.index, dtype=object)
        rows = rows[~timed.isin(seen)]
        seen |= set(timed)
        frames.append(rows)
    ops = pd.concat(frames, ignore_index=True)
    if ops.empty:
        raise MissingResultsError(f"no operator times of {gpu} in {folder / OP_TIMES_GLOB}")
    ops["op_class"] = [operator_class(n, k) for n, k in zip(ops["name"], ops["kind"])]
    return ops


def operator_time_shares(ops):
    """Share of each model's step GPU time per operator class.

    Returns
    -------
    pandas.DataFrame
        One row per model: a column per operator class present (fraction of
        the step's summed operator GPU time, rows sum to 1) and ``step_gpu_s``
        (the summed operator GPU time of one step [s]).
    """
    t = ops.groupby(["model", "op_class"])["gpu_time_s"].sum().unstack(fill_value=0.0)
    total = t.sum(axis=1)
    out = t.div(total, axis=0)
    out["step_gpu_s"] = total
    return out


def share_residual_correlation(shares, errors):
    """Pearson r (and its p-value) between each class's time share and a model's prediction error.

    ``errors``: a Series of signed errors [%] indexed by model; models in both are used.
    Returns one row per class with ``r``, ``p_value``, ``n_models`` and ``mean_share``,
    largest ``|r|`` first.
    """
    import pandas as pd  # heavy: pandas
    from scipy import stats  # heavy: scipy

    common = shares.index.intersection(errors.index)
    rows = []
    for c in shares.columns.drop("step_gpu_s"):
        x = shares.loc[common, c].to_numpy(dtype=float)
        if len(common) < 3 or x.std() == 0:
            continue
        r, p = stats.pearsonr(x, errors.loc[common].to_numpy(dtype=float))
        rows.append({"op_class": c, "r": float(r), "p_value": float(p), "n_models": len(common),
                     "mean_share": float(x.mean())})
    out = pd.DataFrame(rows, columns=["op_class", "r", "p_value", "n_models", "mean_share"])
    return out.reindex(out["r"].abs().sort_values(ascending=False).index).reset_index(drop=True)


def time_per_mac(ops, kinds=("conv_dense", "conv_grouped", "conv_depthwise")):
    """GPU time per MAC of each model's operators of each ``kind`` (the recorder's kind: ``conv_grouped`` is a
    convolution with groups that is not depthwise), forward and backward apart.

    Returns one row per model with ``<kind>_<name>_ps_per_mac`` (summed GPU time over summed MACs [ps/MAC], for
    ``name`` ``convolution`` and ``convolution_backward``) and ``<kind>_time_share`` (the kind's share of the
    model's summed operator GPU time); NaN where a model has no such operator.
    """
    import pandas as pd  # heavy: pandas

    total = ops.groupby("model", sort=False)["gpu_time_s"].sum()
    out = pd.DataFrame(index=total.index)
    for kind in kinds:
        sub = ops[ops["kind"] == kind]
        for name in ("convolution", "convolution_backward"):
            g = sub[sub["name"] == name].groupby("model")[["gpu_time_s", "macs"]].sum()
            out[f"{kind}_{name}_ps_per_mac"] = (1e12 * g["gpu_time_s"] / g["macs"].where(g["macs"] > 0))
        out[f"{kind}_time_share"] = sub.groupby("model")["gpu_time_s"].sum().reindex(total.index) / total
    return out.reset_index()


def convolution_speed(ops, shapes):
    """Each recorded convolution operator beside its shape, with its GPU time per MAC and per byte.

    ``ops``: :func:`load_operator_times` rows; ``shapes``: one row per convolution operator with ``model``,
    ``name``, ``macs`` and the columns of :func:`greenai.operator_times.convolution_shapes`, in each model's
    recorded order (a model's convolutions are matched in order, and only where its MACs agree operator by
    operator). Adds ``bytes`` (read + written [B]), ``ps_per_mac``, ``ps_per_byte``, ``pointwise`` (a 1x1 kernel),
    ``out_channels_per_group`` and ``phase`` (``forward``, ``backward``); a model whose shapes do not match is left
    out.
    """
    import pandas as pd  # heavy: pandas

    conv = ops[ops["name"].isin(("convolution", "convolution_backward"))]
    frames = []
    for model, recorded in conv.groupby("model", sort=False):
        shaped = shapes[shapes["model"] == model]
        if len(shaped) != len(recorded) or (shaped["macs"].to_numpy() != recorded["macs"].to_numpy()).any():
            continue
        cols = [c for c in shaped.columns if c not in recorded.columns]
        frames.append(pd.concat([recorded.reset_index(drop=True), shaped[cols].reset_index(drop=True)], axis=1))
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if out.empty:
        return out
    out["bytes"] = out["bytes_read"] + out["bytes_written"]
    out["ps_per_mac"] = 1e12 * out["gpu_time_s"] / out["macs"].where(out["macs"] > 0)
    out["ps_per_byte"] = 1e12 * out["gpu_time_s"] / out["bytes"]
    out["pointwise"] = (out["kernel_h"] * out["kernel_w"]) == 1
    out["out_channels_per_group"] = out["out_channels"] // out["groups"]
    out["phase"] = out["name"].map({"convolution": "forward", "convolution_backward": "backward"})
    return out


def grouped_pointwise_modes(speed, slow_ps_per_byte: float = SLOW_PS_PER_BYTE):
    """How fast grouped convolutions stream memory: per kind of convolution (dense, depthwise, grouped 1x1,
    grouped kxk) and phase, the number of operators, their median and 10th / 90th percentile time per byte
    [ps/B], their median time per MAC [ps/MAC] and MACs per byte (a dense convolution does hundreds of MACs per
    byte: its time per byte is its arithmetic, not its memory), the share of operators slower than
    ``slow_ps_per_byte`` and the share of the kind's GPU time they take. ``speed``: :func:`convolution_speed`.
    """
    import pandas as pd  # heavy: pandas

    kind = speed["kind"].where(speed["kind"] != "conv_grouped",
                               speed["pointwise"].map({True: "conv_grouped_1x1", False: "conv_grouped_kxk"}))
    rows = []
    for (k, phase), g in speed.assign(conv=kind).groupby(["conv", "phase"], sort=True):
        slow = g["ps_per_byte"] > slow_ps_per_byte
        rows.append({"kind": k, "phase": phase, "n_ops": len(g), "n_models": g["model"].nunique(),
                     "ps_per_byte_median": g["ps_per_byte"].median(),
                     "ps_per_byte_p10": g["ps_per_byte"].quantile(0.1),
                     "ps_per_byte_p90": g["ps_per_byte"].quantile(0.9),
                     "ps_per_mac_median": g["ps_per_mac"].median(),
                     "macs_per_byte_median": (g["macs"] / g["bytes"]).median(), "slow_share_ops": float(slow.mean()),
                     "slow_share_time": float(g.loc[slow, "gpu_time_s"].sum() / g["gpu_time_s"].sum())})
    return pd.DataFrame(rows)
