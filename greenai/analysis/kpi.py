"""Chapter 4 analysis of recorded rows (thesis 4.1): per run, summaries, changes, fits, phase tables.

Pure pandas/numpy/statsmodels: analysing the committed CSVs never imports torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from greenai.analysis.phases import DESIGN_WINDOWS, PHASES, DesignWindow, split_phase_energy


def per_run(rows, extra_keys: Sequence[str] = ()):
    """Average the measured epochs/windows of each run (one row per repeat).

    Returns the run keys plus ``epoch_energy_j``, ``epoch_duration_s``, ``power_w``,
    ``macs``, ``params``, ``branch_count``, ``test_accuracy`` (last epoch) and
    ``windows`` (how many rows were averaged).
    """
    keys = ["gpu_name", "model", "dataset", "data_source", "precision", "batch_size", "repeat", *extra_keys]
    agg = rows.groupby(keys, sort=False).agg(
        epoch_energy_j=("epoch_energy_j", "mean"), epoch_duration_s=("epoch_duration_s", "mean"),
        power_w=("power_w", "mean"), macs=("macs", "first"), params=("params", "first"),
        branch_count=("branch_count", "first"), test_accuracy=("test_accuracy", "last"),
        extrapolated=("epoch_energy_extrapolated", "any"), windows=("epoch_index", "count"))
    return agg.reset_index()


def summarize(rows, by: Sequence[str]):
    """Mean, standard deviation and count over repeats of per-run averages, grouped by ``by``.

    Columns: ``by``, then ``<quantity>_mean``/``_std`` for energy per epoch [J],
    duration per epoch [s] and power [W], ``repeats`` and ``macs``.
    """
    runs = per_run(rows)
    g = runs.groupby(list(by), sort=False)
    out = g.agg(epoch_energy_j_mean=("epoch_energy_j", "mean"), epoch_energy_j_std=("epoch_energy_j", "std"),
                epoch_duration_s_mean=("epoch_duration_s", "mean"), epoch_duration_s_std=("epoch_duration_s", "std"),
                power_w_mean=("power_w", "mean"), repeats=("repeat", "nunique"), macs=("macs", "first"),
                branch_count=("branch_count", "first"))
    return out.reset_index()


def percent_change(table, column: str, x: str, pairs: Sequence[tuple]) -> dict:
    """``100 · (y(b) − y(a)) / y(a)`` for each ``(a, b)`` in ``pairs`` where ``y = table[column]`` indexed by ``x``."""
    y = table.set_index(x)[column]
    return {(a, b): 100.0 * (y.loc[b] - y.loc[a]) / y.loc[a] for a, b in pairs if a in y.index and b in y.index}


@dataclass
class LogLogFit:
    """``log10(E) = intercept + slope · log10(MACs)`` fitted by OLS (statsmodels).

    ``slope_ci`` is the 95 % confidence interval; ``r2`` the coefficient of
    determination on log axes; ``n`` the number of points.
    """

    slope: float
    intercept: float
    slope_ci: tuple[float, float]
    r2: float
    n: int

    def predict(self, macs):
        import numpy as np  # heavy: numpy

        return 10 ** (self.intercept + self.slope * np.log10(macs))


def loglog_fit(macs, energy_j) -> LogLogFit:
    """Fit the thesis' log-log linear relation between MACs and energy per epoch (4.1.4)."""
    import numpy as np  # heavy: numpy
    import statsmodels.api as sm  # heavy: statsmodels

    x = np.log10(np.asarray(macs, dtype=float))
    y = np.log10(np.asarray(energy_j, dtype=float))
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3:
        raise ValueError(f"need at least 3 finite (MACs, energy) points for a fit, got {int(ok.sum())}")
    res = sm.OLS(y[ok], sm.add_constant(x[ok])).fit()
    lo, hi = res.conf_int()[1]
    return LogLogFit(slope=float(res.params[1]), intercept=float(res.params[0]), slope_ci=(float(lo), float(hi)),
                     r2=float(res.rsquared), n=int(ok.sum()))


def phase_energy_table(rows):
    """Per-step phase energy from ``phase_design`` rows, three ways, per model [J per step].

    Columns: ``gpu_name``, ``model``, ``batch_size``, ``phase``, ``time_s`` (mean
    per full step), ``by_difference_j``, ``by_regression_j``, ``thesis_j``
    (full-step window's average power × phase time, the thesis' way),
    ``power_w`` (fitted), ``by_difference_bound_j`` (the counter's resolution
    carried into the difference: uncertainty / steps of the two windows
    differenced, added), ``resolved`` (|by_difference| above that bound) and
    ``thesis_error`` = thesis / by_difference − 1.
    """
    import pandas as pd  # heavy: pandas

    out = []
    for (gpu, model, batch), g in rows.groupby(["gpu_name", "model", "batch_size"], sort=False):
        windows = [DesignWindow(upto=r.window, repeat=int(r.window_repeat), steps=int(r.steps),
                                       duration_s=float(r.duration_s), energy_j=float(r.energy_j),
                                       phase_s={p: float(getattr(r, f"{p}_s")) for p in PHASES
                                                if PHASES.index(p) <= PHASES.index(r.window)})
                   for r in g.itertuples(index=False)]
        split = split_phase_energy(windows)
        full = g[g.window == DESIGN_WINDOWS[-1]]
        avg_power_w = float(full.energy_j.sum(min_count=len(full)) / full.duration_s.sum())
        # counter resolution per step of each window kind (mean over repeats of uncertainty / steps)
        bound = (g.uncertainty_j / g.steps).groupby(g.window).mean()
        previous = 0.0
        for p in PHASES:
            t = split.full_step_phase_s[p]
            u = float(bound.get(p, math.nan)) + previous  # a difference inherits both windows' bounds
            previous = float(bound.get(p, math.nan))
            out.append({"gpu_name": gpu, "model": model, "batch_size": batch, "phase": p, "time_s": t,
                        "by_difference_j": split.by_difference_j[p], "by_difference_bound_j": u,
                        "by_regression_j": split.by_regression_j[p],
                        "thesis_j": avg_power_w * t, "power_w": split.power_w[p],
                        "window_power_w": avg_power_w})
    table = pd.DataFrame(out)
    if len(table):
        table["resolved"] = table.by_difference_j.abs() > table.by_difference_bound_j
        table["thesis_error"] = table.thesis_j / table.by_difference_j - 1.0
    return table



def total_energy_over_epochs(rows, epochs: Sequence[int] = (10, 20, 30, 40, 50)):
    """Figs 4.5/4.6: total energy of ``N`` epochs per batch size [J].

    ``N × mean energy per epoch`` with the spread over repeats (sd × N), from the
    measured epochs (we measure 2 epochs per run, not 10–50: per-epoch energy is
    stationary after warm-up, so the total scales linearly; the table says so in
    ``basis``).
    """
    import pandas as pd  # heavy: pandas

    s = summarize(rows, ["batch_size"])
    out = [{"batch_size": r.batch_size, "epochs": n, "total_energy_j": n * r.epoch_energy_j_mean,
            "total_energy_j_sd": n * (r.epoch_energy_j_std if r.epoch_energy_j_std == r.epoch_energy_j_std else 0.0),
            "basis": "epochs x measured mean per epoch"} for r in s.itertuples() for n in epochs]
    return pd.DataFrame(out)



def compare_with_recorded(check_rows, recorded_rows, by: Sequence[str] = ("model",)):
    """Where a check run's energy per epoch falls among recorded rows of the same grid.

    Per group of ``by``: the check's mean energy per epoch [J]
    (``check_epoch_energy_j``, with ``check_epoch_duration_s`` [s] and
    ``check_power_w`` [W]), the recorded rows' ``recorded_min_j``,
    ``recorded_max_j`` and ``recorded_mean_j`` (single epochs: the spread
    between epochs, repeats and machines), ``recorded_rows``, ``within`` (the
    check lies in [min, max]) and ``vs_recorded_mean`` (check / recorded mean − 1).
    """
    import pandas as pd  # heavy: pandas

    check = per_run(check_rows).groupby(list(by), sort=False).agg(
        check_epoch_energy_j=("epoch_energy_j", "mean"), check_epoch_duration_s=("epoch_duration_s", "mean"),
        check_power_w=("power_w", "mean"))
    rec = recorded_rows.groupby(list(by), sort=False).agg(
        recorded_min_j=("epoch_energy_j", "min"), recorded_max_j=("epoch_energy_j", "max"),
        recorded_mean_j=("epoch_energy_j", "mean"), recorded_rows=("epoch_energy_j", "count"))
    out = check.join(rec, how="left")
    out["within"] = (out.check_epoch_energy_j >= out.recorded_min_j) & (out.check_epoch_energy_j <= out.recorded_max_j)
    out["vs_recorded_mean"] = out.check_epoch_energy_j / out.recorded_mean_j - 1.0
    return pd.DataFrame(out).reset_index()
