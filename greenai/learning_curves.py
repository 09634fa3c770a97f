"""Energy to accuracy from a few epochs: an ensemble of learning-curve forms with a calibrated interval.

A run's first epochs (test accuracy after each, in [0, 1], and optionally the
energy of each [J]) are fitted by the seven learning-curve forms of
:data:`FORMS` (``pow3``, ``log_power``, ``exp3``, ``janoschek``, ``weibull``,
``mmf``, ``ilog2``: the set Domhan, Springenberg and Hutter, IJCAI 2015,
combined), weighted by their BIC (:func:`fit_ensemble`). Draws of each form's
parameters give the posterior of the first epoch that reaches a target
accuracy (:func:`predict_target`; its median is the prediction, within
:data:`HORIZON` × the observed epochs, else ``unreachable``). The interval is
calibrated on recorded runs (:func:`calibration`: a conformal interval of the
log ratio of predicted to measured epoch, validated leave-one-run-out by
:func:`early_stop_validation`). Energy [J]: the observed energy of the first
epochs plus their mean energy per epoch for every further epoch
(:func:`greenai.accuracy.cumulative_energy_j`). Nothing here imports torch.

The forms, the weighting and the calibration in full: ``docs/energy_to_accuracy.md``
("The ensemble of learning-curve forms").
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from greenai import accuracy as acc

#: learning-curve forms of the ensemble, with their parameter count
FORMS: dict[str, int] = {"pow3": 3, "log_power": 3, "exp3": 3, "janoschek": 4, "weibull": 4, "mmf": 4, "ilog2": 2}
#: epochs are searched up to this many times the observed ones; beyond is "not reached"
HORIZON = acc.HORIZON
#: fewest observed epochs the ensemble is fitted to
MIN_EPOCHS = acc.MIN_EPOCHS
#: floor of the residual standard deviation in the BIC [accuracy]: binomial noise of 10,000 test images at 90 %
NOISE_FLOOR = 0.003
#: central probability of the intervals
LEVEL = 0.9
#: early-stop windows whose calibration is recorded (a user's k epochs use the largest window ≤ k)
KS: tuple[int, ...] = (5, 10, 15)
#: parameter draws per form
DRAWS = 400


def _pow3(n, c, a, alpha):
    return c - a * n ** (-alpha)


def _log_power(n, a, b, c):
    return a / (1.0 + (n / np.exp(b)) ** (-c))


def _exp3(n, c, a, b):
    return c - np.exp(-a * n + b)


def _janoschek(n, alpha, beta, kappa, delta):
    return alpha - (alpha - beta) * np.exp(-kappa * n ** delta)


def _weibull(n, alpha, beta, kappa, delta):
    return alpha - (alpha - beta) * np.exp(-(kappa * n) ** delta)


def _mmf(n, alpha, beta, kappa, delta):
    return alpha - (alpha - beta) / (1.0 + (kappa * n) ** delta)


def _ilog2(n, c, a):
    return c - a / np.log(n + 1.0)


_FUNCS = {"pow3": _pow3, "log_power": _log_power, "exp3": _exp3, "janoschek": _janoschek, "weibull": _weibull,
          "mmf": _mmf, "ilog2": _ilog2}
#: (lower, upper) bounds of each form's parameters; the plateau first, in [0, 1]
_BOUNDS = {"pow3": ([0, 0, 1e-3], [1, 10, 5]), "log_power": ([0, -10, 1e-3], [1, 10, 20]),
           "exp3": ([0, 1e-4, -20], [1, 10, 5]), "janoschek": ([0, 0, 1e-4, 1e-2], [1, 1, 20, 5]),
           "weibull": ([0, 0, 1e-4, 1e-2], [1, 1, 20, 5]), "mmf": ([0, 0, 1e-4, 1e-2], [1, 1, 20, 10]),
           "ilog2": ([0, 0], [1, 10])}


def _guesses(form: str, n: np.ndarray, y: np.ndarray) -> list[tuple]:
    top, first = float(y.max()), float(y[0])
    plateaus = [min(1.0, top + d) for d in (0.01, 0.05, 0.15)]
    out = []
    for p in plateaus:
        gap = max(p - first, 1e-3)
        out += {"pow3": [(p, gap, 0.5), (p, gap, 1.5)],
                "log_power": [(p, 0.0, 1.0), (p, 1.0, 2.0)],
                "exp3": [(p, 0.3, math.log(gap) + 0.3), (p, 1.0, math.log(gap) + 1.0)],
                "janoschek": [(p, max(first - 0.1, 0.0), 0.5, 1.0)],
                "weibull": [(p, max(first - 0.1, 0.0), 0.5, 1.0)],
                "mmf": [(p, max(first - 0.1, 0.0), 0.5, 1.0)],
                "ilog2": [(p, gap * math.log(2.0))]}[form]
    lo, hi = _BOUNDS[form]
    return [tuple(float(np.clip(v, lo_ + 1e-9, hi_ - 1e-9)) for v, lo_, hi_ in zip(g, lo, hi)) for g in out]


@dataclass
class Member:
    """One fitted form of the ensemble: parameters, their covariance, fit quality and weight."""

    form: str
    params: np.ndarray
    cov: np.ndarray | None
    sse: float
    bic: float
    weight: float = 0.0

    @property
    def plateau(self) -> float:
        return float(self.params[0])

    def predict(self, epochs) -> np.ndarray:
        return _FUNCS[self.form](np.asarray(epochs, dtype=float), *self.params)


@dataclass
class EnsembleCurve:
    """Learning-curve forms fitted to one run's first epochs, weighted by BIC (see the module docstring).

    ``offset``: leading epochs at chance accuracy left out (the curve is in ``n − offset``);
    ``n_epochs``: epochs observed (offset included).
    """

    members: list[Member]
    n_epochs: int
    offset: float = 0.0
    draws: dict = field(default_factory=dict, repr=False)

    @property
    def plateau(self) -> float:
        """BIC-weighted plateau of the forms (fraction)."""
        return float(sum(m.weight * m.plateau for m in self.members))

    def predict(self, epochs) -> np.ndarray:
        """BIC-weighted mean accuracy after ``epochs`` epochs (NaN up to ``offset``)."""
        n = np.asarray(epochs, dtype=float) - self.offset
        with np.errstate(all="ignore"):
            y = sum(m.weight * m.predict(np.where(n > 0, n, 1.0)) for m in self.members)
        return np.where(n > 0, y, np.nan)

    def epoch_samples(self, target: float, horizon: float = HORIZON, seed: int = 0) -> np.ndarray:
        """Posterior draws of the first whole epoch reaching ``target`` (``inf``: not within the horizon).

        ``DRAWS`` draws per form, taken in proportion to the forms' weights
        (each form's parameters from its fit's covariance, the point estimate
        when none); whole epochs counted from the start of training.
        """
        rng = np.random.default_rng(seed)
        grid = np.arange(1, int(math.ceil(horizon * self.n_epochs - self.offset)) + 1, dtype=float)
        total = DRAWS * len(self.members)
        out = []
        for m in self.members:
            count = int(round(m.weight * total))
            if count == 0:
                continue
            if m.cov is not None:
                p = rng.multivariate_normal(m.params, m.cov, size=count, check_valid="ignore")
                lo, hi = _BOUNDS[m.form]
                p = np.clip(p, lo, hi)
            else:
                p = np.tile(m.params, (count, 1))
            with np.errstate(all="ignore"):
                y = _FUNCS[m.form](grid[None, :], *[p[:, [i]] for i in range(p.shape[1])])
            hit = y >= target
            first = np.where(hit.any(axis=1), grid[np.argmax(hit, axis=1)], np.inf)
            out.append(first + self.offset)
        return np.concatenate(out) if out else np.full(1, np.inf)


def fit_ensemble(epochs: Sequence[float], accuracy: Sequence[float], chance: float | None = None) -> EnsembleCurve:
    """Fit every form of :data:`FORMS` to test accuracy after ``epochs`` epochs; weight them by BIC.

    Parameters
    ----------
    epochs : sequence of float
        Epochs trained when each accuracy was measured (1 = after the first epoch).
    accuracy : sequence of float
        Test accuracy, a fraction in [0, 1].
    chance : float, optional
        Chance accuracy (1 / classes): leading epochs within
        :data:`greenai.accuracy.CHANCE_MARGIN` of it are an offset, not part of the fit.

    Raises
    ------
    greenai.accuracy.TooFewEpochsError, greenai.accuracy.AccuracyError, greenai.accuracy.FitFailedError
    """
    from scipy.optimize import curve_fit  # heavy: scipy

    n, y, offset = acc.prepare_curve(epochs, accuracy, chance)
    members = []
    for form, k in FORMS.items():
        best = None
        for p0 in _guesses(form, n, y):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    popt, pcov = curve_fit(_FUNCS[form], n, y, p0=p0, bounds=_BOUNDS[form], maxfev=5000)
            except (RuntimeError, ValueError):
                continue
            with np.errstate(all="ignore"):
                sse = float(np.sum((_FUNCS[form](n, *popt) - y) ** 2))
            if math.isfinite(sse) and (best is None or sse < best[0]):
                best = (sse, popt, pcov)
        if best is None:
            continue
        sse, popt, pcov = best
        with np.errstate(all="ignore"):
            ahead = _FUNCS[form](np.array([n[-1], 2 * n[-1], HORIZON * n[-1]]), *popt)
        if not np.all(np.isfinite(ahead)) or np.any(np.diff(ahead) < -1e-6):
            continue  # a curve that falls after the observed epochs is no learning curve
        var = max(sse / len(n), NOISE_FLOOR ** 2)
        bic = len(n) * math.log(var) + k * math.log(len(n))
        cov = pcov if np.all(np.isfinite(pcov)) else None
        members.append(Member(form, np.asarray(popt, dtype=float), cov, sse, bic))
    if not members:
        raise acc.FitFailedError(f"no learning-curve form converged on {len(n)} epochs")
    low = min(m.bic for m in members)
    w = np.array([math.exp(-(m.bic - low) / 2) for m in members])
    for m, wi in zip(members, w / w.sum()):
        m.weight = float(wi)
    n_all = int(np.sum(np.isfinite(np.asarray(epochs, dtype=float)) & np.isfinite(np.asarray(accuracy, dtype=float))))
    return EnsembleCurve(members, n_epochs=n_all, offset=offset)


# --------------------------------------------------------------------------- prediction


@dataclass
class Prediction:
    """Epoch and energy at which a target accuracy is reached, predicted from the first epochs of a run.

    ``epoch`` is NaN and ``reachable`` False when the interval lies beyond the horizon.
    ``epoch_low``/``epoch_high``: the calibrated ``level`` interval (whole epochs);
    ``energy_j``, ``energy_low_j``, ``energy_high_j`` [J]: cumulative training energy at those epochs
    (NaN without observed energies); ``p_reach``: posterior probability of reaching the
    target within the horizon; ``calibration``: how the interval was calibrated.
    """

    target_accuracy: float
    observed_epochs: int
    reachable: bool
    epoch: float
    epoch_low: float
    epoch_high: float
    energy_j: float
    energy_low_j: float
    energy_high_j: float
    p_reach: float
    plateau: float
    level: float
    calibration: str
    curve: EnsembleCurve = field(repr=False)

    def as_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "curve"}
        d["forms"] = {m.form: round(m.weight, 4) for m in self.curve.members}
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}


def predict_target(epochs, accuracy, target_accuracy: float, epoch_energy_j=None, chance: float | None = None,
                   calib: tuple[float, float, float] | None = None, level: float = LEVEL,
                   calibration: str = "") -> Prediction:
    """Predict when ``target_accuracy`` is reached from the observed epochs (see the module docstring).

    ``calib``: (shift, q_lo, q_hi) from recorded runs (:func:`calibration`): the ensemble's epoch is
    divided by exp(shift), the median log(predicted / measured epoch) of those runs, and the interval is
    epoch × exp([q_lo, q_hi]), the quantiles of their residual log ratios; None: the posterior alone.
    An observed epoch that already reached the target is the answer itself (an interval of one epoch);
    otherwise every draw reaches it after the observed epochs.
    """
    t = float(target_accuracy)
    if not (math.isfinite(t) and 0.0 < t < 1.0):
        raise acc.TargetUnreachableError(f"target accuracy must be a fraction in (0, 1), got {t:g}")
    curve = fit_ensemble(epochs, accuracy, chance)
    e = None if epoch_energy_j is None else np.asarray(epoch_energy_j, dtype=float)
    nan = math.nan
    n_obs = np.asarray(epochs, dtype=float)
    y_obs = np.asarray(accuracy, dtype=float)
    hit = np.isfinite(y_obs) & (y_obs >= t)
    if hit.any():
        first = float(n_obs[hit].min())
        energy = nan if e is None else acc.cumulative_energy_j(e, first)[0]
        return Prediction(t, curve.n_epochs, True, first, first, first, energy, energy, energy, 1.0, curve.plateau,
                          level, "observed", curve)
    after = float(np.nanmax(n_obs)) + 1.0
    samples = np.maximum(curve.epoch_samples(t), after)
    limit = float(math.ceil(HORIZON * curve.n_epochs))
    p_reach = float(np.isfinite(samples).mean())
    tail = (1.0 - level) / 2
    if p_reach <= tail:
        return Prediction(t, curve.n_epochs, False, nan, nan, nan, nan, nan, nan, p_reach, curve.plateau, level,
                          calibration, curve)
    # the point: BIC-weighted median of the forms' own crossings (the draws of few epochs are wild)
    own = []
    for m in curve.members:
        grid = np.arange(1, int(limit) + 1, dtype=float)
        with np.errstate(all="ignore"):
            reach = m.predict(np.maximum(grid - curve.offset, 1e-9)) >= t
        own.append(max(float(grid[np.argmax(reach)]), after) if reach.any() else math.inf)
    order = np.argsort(own)
    w = np.cumsum(np.array([curve.members[i].weight for i in order]))
    epoch = float(np.asarray(own)[order][np.searchsorted(w, 0.5)])
    if not math.isfinite(epoch):  # most weight never reaches: the median of the draws that do
        epoch = float(np.quantile(samples[np.isfinite(samples)], 0.5, method="inverted_cdf"))
    lo = float(np.quantile(samples, tail, method="inverted_cdf"))
    hi = float(np.quantile(samples, 1 - tail, method="inverted_cdf"))
    if calib is not None:
        shift, q_lo, q_hi = calib
        epoch = max(after, epoch * math.exp(-shift))
        lo, hi = epoch * math.exp(q_lo), epoch * math.exp(q_hi)
    epoch = float(min(math.ceil(epoch - 1e-9), limit))
    hi = min(hi, limit) if math.isfinite(hi) else limit
    lo = float(max(after, math.floor(lo)))
    hi = float(max(lo, epoch, math.ceil(hi)))
    lo = min(lo, epoch)
    energies = [nan] * 3 if e is None else [acc.cumulative_energy_j(e, x)[0] for x in (epoch, lo, hi)]
    return Prediction(t, curve.n_epochs, True, epoch, lo, hi, *energies, p_reach, curve.plateau, level, calibration,
                      curve)


# --------------------------------------------------------------------------- validation and calibration


def _cases(rows: pd.DataFrame, ks: Sequence[int], fraction_of_best: float):
    """(run keys, k, head rows, target, measured epoch, measured energy) for every recorded run and k."""
    for _, r in acc.runs(rows).iterrows():
        sel = acc.run_rows(rows, r)
        target = fraction_of_best * float(sel.test_accuracy.max())
        measured_epoch = int(sel[sel.test_accuracy >= target].n_epochs.iloc[0])
        measured_energy = acc.cumulative_energy_j(sel.epoch_energy_j.to_numpy(dtype=float), measured_epoch)[0]
        for k in ks:
            if k < len(sel):
                yield r, k, sel.iloc[:k], target, measured_epoch, measured_energy, len(sel)


def early_stop_validation(rows: pd.DataFrame, ks: Sequence[int] = KS, fraction_of_best: float = 0.99,
                          level: float = LEVEL) -> pd.DataFrame:
    """The ensemble fitted on the first ``k`` epochs of every recorded run, compared with the epochs that followed.

    Same cases as :func:`greenai.accuracy.early_stop_validation` (target: ``fraction_of_best`` × the run's
    best measured accuracy). The interval of each run is calibrated on the *other* runs at the same k
    (leave-one-run-out), so ``covered`` tests it honestly.
    """
    cases = []
    for r, k, head, target, m_epoch, m_energy, recorded in _cases(rows, ks, fraction_of_best):
        line = {c: r[c] for c in ("experiment", "gpu_name", "model", "dataset", "precision", "batch_size")}
        line |= {"source_file": r.source_file, "k": k, "recorded_epochs": recorded, "target_accuracy": target,
                 "measured_epoch": m_epoch, "measured_energy_j": m_energy, "reached_within_fit": m_epoch <= k}
        try:
            p = predict_target(head.n_epochs, head.test_accuracy, target, head.epoch_energy_j,
                               acc.chance_accuracy(head), level=level)
        except acc.AccuracyError as exc:
            cases.append((line | {"reachable": False, "error": str(exc)}, head, None))
            continue
        line |= {"reachable": p.reachable, "p_reach": p.p_reach, "plateau_k": p.plateau, "error": "",
                 "forms": " ".join(f"{m.form}:{m.weight:.2f}" for m in p.curve.members if m.weight >= 0.01)}
        if p.reachable:
            line["log_ratio"] = math.log(p.epoch / m_epoch)
        cases.append((line, head, p))
    frame = pd.DataFrame([c[0] for c in cases])
    out = []
    for i, (line, head, p) in enumerate(cases):
        if p is None or not p.reachable:
            out.append(line)
            continue
        others = frame[(frame.index != i) & (frame.k == line["k"])].get("log_ratio", pd.Series(dtype=float))
        q = conformal_quantiles(others.dropna().to_numpy(), level)
        p2 = predict_target(head.n_epochs, head.test_accuracy, line["target_accuracy"], head.epoch_energy_j,
                            acc.chance_accuracy(head), calib=q, level=level)
        m_epoch, m_energy = line["measured_epoch"], line["measured_energy_j"]
        out.append(line | {"predicted_epoch": p2.epoch, "predicted_epoch_low": p2.epoch_low,
                           "predicted_epoch_high": p2.epoch_high,
                           "covered": bool(p2.epoch_low <= m_epoch <= p2.epoch_high),
                           "predicted_energy_j": p2.energy_j, "energy_low_j": p2.energy_low_j,
                           "energy_high_j": p2.energy_high_j, "epoch_error": p2.epoch - m_epoch,
                           "energy_error_pct": 100.0 * (p2.energy_j - m_energy) / m_energy})
    return pd.DataFrame(out)


def conformal_quantiles(log_ratios: np.ndarray, level: float) -> tuple[float, float, float] | None:
    """(shift, q_lo, q_hi) from log(predicted / measured epoch) of recorded runs (None: fewer than 3).

    shift: their median; q_lo ≤ 0 ≤ q_hi: finite-sample conformal ends of the residuals around it, turned
    into factors on the shifted prediction (the truth is at prediction × exp(−residual)).
    """
    if len(log_ratios) < 3:
        return None
    shift = float(np.median(log_ratios))
    r = np.asarray(log_ratios) - shift
    tail = (1.0 - level) / 2
    m = len(r)
    lo = np.quantile(r, max(0.0, math.floor(tail * (m + 1)) / m - 1e-12), method="inverted_cdf")
    hi = np.quantile(r, min(1.0, math.ceil((1 - tail) * (m + 1)) / m), method="inverted_cdf")
    return shift, float(min(0.0, -hi)), float(max(0.0, -lo))


def summary(validation: pd.DataFrame, targets: dict[int, float] | None = None) -> pd.DataFrame:
    """Per k: runs, reachable, median |energy error| [%] (all runs, and those whose target the first k epochs had
    not reached yet), median |epoch error|, interval coverage (of all runs: an unreachable verdict covers none),
    and each target met or not (energy error at k = 5 and 10; coverage ≥ 80 %)."""
    targets = {5: 20.0, 10: 10.0} if targets is None else targets
    out = []
    for k, g in validation.groupby("k"):
        ok = g[g.reachable.astype(bool)]
        cov = float(ok.covered.astype(bool).sum() / len(g)) if len(g) else math.nan
        err = float(ok.energy_error_pct.abs().median()) if len(ok) else math.nan
        goal = targets.get(int(k), math.nan)
        open_ = ok[~ok.reached_within_fit.astype(bool)]
        out.append({"k": int(k), "runs": len(g), "reachable": len(ok),
                    "median_abs_energy_error_pct": err,
                    "not_yet_reached": int((~g.reached_within_fit.astype(bool)).sum()),
                    "median_abs_energy_error_pct_not_yet_reached":
                        float(open_.energy_error_pct.abs().median()) if len(open_) else math.nan,
                    "median_abs_epoch_error": float(ok.epoch_error.abs().median()) if len(ok) else math.nan,
                    "interval_coverage": cov, "median_interval_width_epochs":
                        float((ok.predicted_epoch_high - ok.predicted_epoch_low).median()) if len(ok) else math.nan,
                    "target_energy_error_pct": goal, "energy_target_met": bool(err <= goal) if goal == goal else None,
                    "target_coverage": 0.8, "coverage_target_met": bool(cov >= 0.8)})
    return pd.DataFrame(out)


def summaries(validations: dict[str, pd.DataFrame], targets: dict[int, float] | None = None) -> pd.DataFrame:
    """:func:`summary` of each validation, one block of lines per method: ``method`` (its key) first."""
    out = pd.concat([summary(v, targets).assign(method=name) for name, v in validations.items()], ignore_index=True)
    return out[["method", *[c for c in out if c != "method"]]]


def residuals_by(validation: pd.DataFrame, keys: Sequence[str] = ("prior", "k", "dataset")) -> pd.DataFrame:
    """Per group of ``keys``: the runs not yet at the target after k epochs that got an energy prediction, their
    signed median energy error [%] (negative: the prediction comes too early) and median |energy error| [%]."""
    pending = validation[~validation.reached_within_fit.astype(bool) & validation.energy_error_pct.notna()]
    return (pending.groupby(list(keys))
            .agg(runs=("energy_error_pct", "size"),
                 median_energy_error_pct=("energy_error_pct", "median"),
                 median_abs_energy_error_pct=("energy_error_pct", lambda e: e.abs().median()))
            .reset_index())



# --------------------------------------------------------------------------- the noise floor


def first_crossing_quantiles(mean_accuracy, noise_sd: float, target: float, qs: Sequence[float]) -> np.ndarray:
    """Quantiles ``qs`` of the first epoch whose measured accuracy reaches ``target`` [whole epochs, ``inf``: not
    within the epochs given], when the accuracy after epoch n is ``mean_accuracy[n − 1]`` plus independent normal
    noise of sd ``noise_sd`` (0: the first epoch whose mean reaches the target).

    P(not reached by epoch n) = Π_{m ≤ n} Φ((target − mean_m) / sd); a quantile q is the first epoch where 1 − that
    probability reaches q.
    """
    from scipy.stats import norm  # heavy: scipy

    mean = np.asarray(mean_accuracy, dtype=float)
    epochs = np.arange(1, len(mean) + 1, dtype=float)
    if noise_sd > 0:
        with np.errstate(divide="ignore"):
            reached = 1.0 - np.exp(np.cumsum(norm.logcdf((target - mean) / noise_sd)))
    else:
        reached = np.maximum.accumulate((mean >= target).astype(float))
    out = []
    for q in qs:
        hit = reached >= q - 1e-12
        out.append(epochs[np.argmax(hit)] if hit.any() else math.inf)
    return np.asarray(out, dtype=float)


def noise_sd(accuracy, fitted) -> float:
    """Robust sd of a run's measured accuracy around its fitted curve [accuracy]: 1.4826 × the median absolute
    deviation of the residuals (a dip of one bad epoch does not widen it), floored at :data:`NOISE_FLOOR`."""
    r = np.asarray(accuracy, dtype=float) - np.asarray(fitted, dtype=float)
    r = r[np.isfinite(r)]
    if len(r) == 0:
        return NOISE_FLOOR
    return max(1.4826 * float(np.median(np.abs(r - np.median(r)))), NOISE_FLOOR)


def noise_floor(rows: pd.DataFrame, ks: Sequence[int] = KS, fraction_of_best: float = 0.99,
                level: float = LEVEL) -> pd.DataFrame:
    """How well the first epoch at ``fraction_of_best`` × a run's best accuracy can be predicted at all, when the
    noise of test accuracy from epoch to epoch is the only thing unknown.

    Per recorded run whose accuracy leaves chance: its whole curve fitted (:func:`fit_ensemble` on every recorded
    epoch, extended to :data:`HORIZON` × them) and its noise (:func:`noise_sd`) are taken as known; the prediction
    is the median first epoch at which that curve plus that noise reaches the target
    (:func:`first_crossing_quantiles`), the interval its central ``level``. Energy [J]: the run's own recorded
    energy per epoch (extrapolated at its mean beyond), so the energy error is the epoch error alone. The lines have
    the columns of :func:`early_stop_validation` for the same cases (``prior`` = "noise floor"), so
    :func:`summary` applies, plus ``noise_sd`` and ``smooth_epoch`` (the first epoch at which the fitted curve
    itself reaches the target: the prediction without noise). Runs that never leave chance are left out.
    """
    tail = (1.0 - level) / 2
    out = []
    fits: dict[str, tuple] = {}
    for r, k, _head, target, m_epoch, m_energy, recorded in _cases(rows, ks, fraction_of_best):
        key = "/".join(str(r[c]) for c in (*acc.RUN_KEYS, "source_file"))
        if key not in fits:  # one fit per run, for all its k
            sel = acc.run_rows(rows, r)
            y = sel.test_accuracy.to_numpy(dtype=float)
            n = np.arange(1, len(y) + 1, dtype=float)
            try:
                curve = fit_ensemble(n, y, acc.chance_accuracy(sel))
            except acc.AccuracyError:
                fits[key] = None
            else:
                mean = curve.predict(np.arange(1, int(math.ceil(HORIZON * len(y))) + 1, dtype=float))
                mean[:len(y)] = np.where(np.isfinite(mean[:len(y)]), mean[:len(y)], y)  # epochs at chance
                fits[key] = (mean, noise_sd(y, mean[:len(y)]), sel.epoch_energy_j.to_numpy(dtype=float))
        if fits[key] is None:
            continue
        mean, sd, energy = fits[key]
        line = {c: r[c] for c in ("experiment", "gpu_name", "model", "dataset", "precision", "batch_size")}
        line |= {"source_file": r.source_file, "prior": "noise floor", "k": k, "recorded_epochs": recorded,
                 "target_accuracy": target, "measured_epoch": m_epoch, "measured_energy_j": m_energy,
                 "reached_within_fit": m_epoch <= k, "noise_sd": sd,
                 "smooth_epoch": float(first_crossing_quantiles(mean, 0.0, target, [1.0])[0])}
        if m_epoch <= k:  # the first k epochs measured it, as in every validation
            epoch = low = high = float(m_epoch)
        else:
            epoch, low, high = first_crossing_quantiles(mean, sd, target, [0.5, tail, 1.0 - tail])
        if not math.isfinite(epoch):
            out.append(line | {"reachable": False, "covered": False})
            continue
        e_hat, e_lo, e_hi = (acc.cumulative_energy_j(energy, x)[0] if math.isfinite(x) else math.inf
                             for x in (epoch, low, high))
        out.append(line | {"reachable": True, "predicted_epoch": epoch, "predicted_epoch_low": low,
                           "predicted_epoch_high": high, "covered": bool(low <= m_epoch <= high),
                           "predicted_energy_j": e_hat, "energy_low_j": e_lo, "energy_high_j": e_hi,
                           "epoch_error": epoch - m_epoch, "energy_error_pct": 100.0 * (e_hat - m_energy) / m_energy})
    return pd.DataFrame(out)

@lru_cache(maxsize=4)
def _calibration(raw_dir: str | None, level: float) -> dict[int, tuple[float, float, float]]:
    rows = acc.load_rows(raw_dir)
    v = early_stop_validation(rows, level=level) if len(rows) else pd.DataFrame()
    out = {}
    for k in KS:
        r = v[v.k == k].log_ratio.dropna().to_numpy() if "log_ratio" in v else np.array([])
        q = conformal_quantiles(r, level)
        if q is not None:
            out[k] = q
    return out


def calibration(raw_dir: str | Path | None = None, level: float = LEVEL) -> dict[int, tuple[float, float, float]]:
    """(shift, q_lo, q_hi) per early-stop window k from every recorded run (see :func:`conformal_quantiles`)."""
    return _calibration(None if raw_dir is None else str(raw_dir), level)


def predict_observed(observed: pd.DataFrame, target_accuracy: float, raw_dir: str | Path | None = None,
                     level: float = LEVEL, num_classes: int | None = None) -> Prediction:
    """A user's first epochs (``epoch``, ``accuracy`` and optionally ``energy_j`` per epoch) → :class:`Prediction`.

    The interval is calibrated by the recorded runs at the largest window k ≤ the observed epochs
    (the smallest k when fewer).
    """
    obs = observed.sort_values("epoch")
    cal = calibration(raw_dir, level)
    n = len(obs)
    k = max([k for k in cal if k <= n], default=min(cal) if cal else None)
    q = cal.get(k) if k is not None else None
    note = (f"interval calibrated on recorded runs fitted on their first {k} epochs" if q is not None
            else "no recorded runs to calibrate on: posterior interval only")
    energy = obs["energy_j"] if "energy_j" in obs else None
    return predict_target(obs["epoch"], obs["accuracy"], target_accuracy, energy,
                          chance=None if num_classes is None else 1.0 / num_classes, calib=q,
                          level=level, calibration=note)
