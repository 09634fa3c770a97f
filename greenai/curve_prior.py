"""Energy to accuracy from a few epochs with a prior learned from a population of recorded curves.

Each recorded run's whole curve (test accuracy per epoch, extended beyond its last epoch by its own
:func:`greenai.learning_curves.fit_ensemble`) is a *reference*. A new run's first epochs are matched by
every reference under an affine change of accuracy and a stretch of time, ``y(n) ≈ a + b · y_ref(s · n)``
(``s`` in :data:`SCALES`, ``b`` in :data:`GAINS` with a log-normal prior of sd :data:`GAIN_SD`, ``a`` least
squares); each match says at which epoch the target is first reached. The matches are weighted by how well
they fit (a kernel or the nearest references, :data:`CONFIGS`), and the weighted median epoch, among those
that reach the target within the horizon, is the prediction: nearest-curve regression in the spirit of
LC-PFN (Adriaensen et al. 2023), which learns its prior over curves from a population.
:func:`early_stop_validation` is strictly leave-one-run-out (optionally leave-the-model-out): the held-out
run is never a reference, nor used to choose the weighting (nested leave-one-out) or to calibrate its
conformal interval. :func:`fresh_validation` predicts runs that were never references from a prior built on the
reference runs alone. Energy [J]: observed epochs, then their mean energy per epoch. Nothing imports torch.

Variants behind parameters, not the default: ``same_dataset`` (C1) and ``time_in_steps`` (C2); a rule fixed before
a fresh test chose C0, the method above. Candidate C4 (:func:`anchored_validation`), under test since the sixth fresh
set: the dataset's typical epoch moved toward the prior's. In full: ``docs/energy_to_accuracy.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Callable, Collection, Sequence

import numpy as np
import pandas as pd

from greenai import accuracy as acc
from greenai import learning_curves as lc

#: time stretches s tried for every reference (the new run at epoch n is the reference at epoch s·n)
SCALES = np.exp(np.linspace(math.log(1 / 3), math.log(3), 49))
#: accuracy gains b tried for every reference (the new run moves b times as far as the reference)
GAINS = np.exp(np.linspace(math.log(0.25), math.log(4), 25))
#: prior standard deviation of log(b)
GAIN_SD = 0.5
#: weightings of the matches, chosen by (nested) leave-one-out: ("nearest", K) keeps the K best-fitting
#: references, each weighting its matches at its own residual scale; ("kernel", q) weights every match by
#: exp(−SSE / (2 k h²)), h² the q-quantile of the references' best SSE / k
CONFIGS: tuple[tuple[str, float], ...] = (("nearest", 3), ("nearest", 5), ("nearest", 8), ("kernel", 0.25),
                                         ("kernel", 0.5), ("kernel", 1.0))
#: floor of the kernel's residual scale h [accuracy]
SCALE_FLOOR = lc.NOISE_FLOOR
#: epochs a reference is extended to by its fitted ensemble
EXTENT = 400
#: candidate C1: a run is matched only against references of its own dataset when at least this many are usable
MIN_SAME_DATASET = 3
#: the candidates compared before the fresh test: (same_dataset, time_in_steps) of each
CANDIDATES: dict[str, tuple[bool, bool]] = {"C0": (False, False), "C1": (True, False), "C2": (False, True),
                                            "C3": (True, True)}
#: candidate C4's weights β of the prior against the dataset's typical epoch (:func:`anchored_validation`)
ANCHOR_WEIGHTS: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)
#: the defaults of ``same_dataset`` and ``time_in_steps`` (the candidate chosen, see the module docstring)
SAME_DATASET, TIME_IN_STEPS = CANDIDATES["C0"]
#: source files of curves recorded after the method above was frozen, in the order they were chosen: each is a fresh
#: test (:func:`fresh_validation`) predicted from the runs recorded before it, and all are kept out of the references
#: whenever the method is validated on the runs it was chosen on
FRESH_SOURCES: tuple[str, ...] = ("accuracy_curves_fresh.csv", "accuracy_curves_fresh2.csv",
                                  "accuracy_curves_fresh3.csv", "accuracy_curves_fresh4.csv",
                                  "accuracy_curves_fresh5.csv", "accuracy_curves_fresh6.csv",
                                  "accuracy_curves_fresh7.csv")


@dataclass(frozen=True)
class Reference:
    """One recorded run's curve: ``accuracy[n]`` after ``n`` epochs (``accuracy[0]`` = chance), recorded up to
    ``recorded_epochs`` and extended by its fitted ensemble (shifted to the mean of its last 5 epochs) beyond;
    ``steps_per_epoch``: optimiser steps per epoch [steps] (None: not recorded)."""

    name: str
    model: str
    dataset: str
    accuracy: np.ndarray
    recorded_epochs: int
    steps_per_epoch: float | None = None


def reference(name: str, model: str, dataset: str, accuracy: Sequence[float], chance: float | None) -> Reference:
    """A :class:`Reference` from a whole recorded curve (accuracy after epochs 1, 2, …, fractions)."""
    y = np.asarray(accuracy, dtype=float)
    n = np.arange(1, len(y) + 1, dtype=float)
    curve = lc.fit_ensemble(n, y, chance)
    last = np.arange(max(1, len(y) - 4), len(y) + 1, dtype=float)
    shift = float(np.mean(y[-len(last):]) - np.nanmean(curve.predict(last)))
    tail = curve.predict(np.arange(len(y) + 1, EXTENT + 1, dtype=float)) + shift
    start = chance if chance is not None else max(0.0, 2 * y[0] - y[1])
    return Reference(name, model, dataset, np.concatenate([[start], y, tail]), len(y))


def references(rows: pd.DataFrame) -> list[Reference]:
    """A :class:`Reference` for every recorded run of ``rows`` (:func:`greenai.accuracy.load_rows`) it can fit."""
    out = []
    for _, r in acc.runs(rows).iterrows():
        sel = acc.run_rows(rows, r)
        try:
            ref = reference(run_name(r), r.model, r.dataset, sel.test_accuracy, acc.chance_accuracy(sel))
        except acc.AccuracyError:
            continue
        out.append(replace(ref, steps_per_epoch=steps_per_epoch(sel)))
    return out


def steps_per_epoch(run: pd.DataFrame) -> float | None:
    """Optimiser steps per epoch [steps] of one run's rows: their ``steps``, else ceil(``samples`` (or
    ``n_train``) / ``batch_size``); None when the rows record neither."""
    if "steps" in run and run.steps.notna().any():
        return float(run.steps.dropna().median())
    for col in ("samples", "n_train"):
        if col in run and "batch_size" in run and run[col].notna().any() and run.batch_size.notna().any():
            return float(math.ceil(float(run[col].dropna().iloc[0]) / float(run.batch_size.dropna().iloc[0])))
    return None


def time_ratio(run_steps_per_epoch: float | None, ref: Reference, time_in_steps: bool = TIME_IN_STEPS) -> float:
    """Reference epochs per epoch of the run: its steps per epoch / the reference's with ``time_in_steps`` (1 when
    either is unknown or time is in epochs)."""
    if not time_in_steps or not run_steps_per_epoch or not ref.steps_per_epoch:
        return 1.0
    return float(run_steps_per_epoch) / ref.steps_per_epoch


def usable_references(refs: Sequence[Reference], dataset: str | None, excluded: Collection[int] = (),
                      same_dataset: bool = SAME_DATASET) -> list[Reference]:
    """The references a run of ``dataset`` is matched against: every one not in ``excluded`` (indices), and with
    ``same_dataset`` only those of its own dataset when at least :data:`MIN_SAME_DATASET` of them are left."""
    use = [r for j, r in enumerate(refs) if j not in excluded]
    same = [r for r in use if r.dataset == dataset]
    return same if same_dataset and len(same) >= MIN_SAME_DATASET else use


def run_name(run) -> str:
    """A recorded run's name, unique among runs: its :data:`greenai.accuracy.RUN_KEYS` and source file."""
    return "/".join(str(run[k]) for k in (*acc.RUN_KEYS, "source_file"))


@dataclass(frozen=True)
class Matches:
    """Every (s, b) match of one reference to a run's first epochs: SSE, log prior and first epoch reaching the
    target (``inf``: not within the horizon)."""

    reference: str
    sse: np.ndarray
    log_prior: np.ndarray
    epoch: np.ndarray


def matches(epochs, accuracy, target: float, ref: Reference, horizon: float = lc.HORIZON,
            time_ratio: float = 1.0) -> Matches:
    """Match ``ref`` to the observed epochs (see the module docstring); epochs (of the run) after the last observed
    one. ``time_ratio``: reference epochs per epoch of the run at s = 1 (:func:`time_ratio`)."""
    n = np.asarray(epochs, dtype=float)
    y = np.asarray(accuracy, dtype=float)
    grid = np.arange(len(ref.accuracy), dtype=float)
    ahead = np.arange(n.max() + 1, math.ceil(horizon * n.max()) + 1, dtype=float)
    scales = SCALES * time_ratio
    f = np.interp(scales[:, None] * n[None, :], grid, ref.accuracy)        # scale × observed
    g = np.interp(scales[:, None] * ahead[None, :], grid, ref.accuracy)    # scale × ahead
    b = GAINS[None, :, None]
    a = (y[None, None, :] - b * f[:, None, :]).mean(-1)                    # scale × gain
    sse = ((y[None, None, :] - a[..., None] - b * f[:, None, :]) ** 2).sum(-1)
    hit = (a[..., None] + b * g[:, None, :]) >= target
    first = np.where(hit.any(-1), ahead[np.argmax(hit, -1)], np.inf)
    log_prior = np.broadcast_to(-np.log(GAINS)[None, :] ** 2 / (2 * GAIN_SD ** 2), sse.shape)
    return Matches(ref.name, sse.ravel(), log_prior.ravel(), first.ravel())


def posterior(found: Sequence[Matches], n_observed: int, config: tuple[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """(epochs, weights) of the matches under a weighting of :data:`CONFIGS` (weights sum to 1)."""
    kind, par = config
    best = np.array([m.sse.min() for m in found])
    epochs, weights = [], []
    if kind == "nearest":
        for j in np.argsort(best, kind="stable")[:int(par)]:
            m = found[j]
            w = np.exp(m.log_prior - (m.sse - best[j]) / (2 * max(best[j] / n_observed, SCALE_FLOOR ** 2)))
            epochs.append(m.epoch)
            weights.append(w / w.sum())
    elif kind == "kernel":
        h2 = max(float(np.quantile(best, par)) / n_observed, SCALE_FLOOR ** 2)
        for m in found:
            epochs.append(m.epoch)
            weights.append(np.exp(m.log_prior - (m.sse - best.min()) / (2 * h2)))
    else:
        raise ValueError(f"unknown weighting {kind!r}")
    w = np.concatenate(weights)
    return np.concatenate(epochs), w / w.sum()


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """The smallest value whose cumulative weight reaches ``q`` (weights need not sum to 1)."""
    order = np.argsort(values, kind="stable")
    c = np.cumsum(weights[order]) / weights.sum()
    return float(values[order][min(int(np.searchsorted(c, q - 1e-12)), len(values) - 1)])


def point(epochs: np.ndarray, weights: np.ndarray) -> tuple[float, float]:
    """(predicted epoch, probability of reaching within the horizon): the weighted median of the matches that
    reach the target (``inf`` when none does)."""
    ok = np.isfinite(epochs)
    if not ok.any():
        return math.inf, 0.0
    w = weights[ok] if weights[ok].sum() > 0 else np.ones(int(ok.sum()))  # reached only where weight underflowed
    return weighted_quantile(epochs[ok], w, 0.5), float(weights[ok].sum() / weights.sum())


def predict_epoch(epochs, accuracy, target: float, refs: Sequence[Reference], config: tuple[str, float],
                  horizon: float = lc.HORIZON, steps_per_epoch: float | None = None,
                  time_in_steps: bool = TIME_IN_STEPS) -> tuple[float, float]:
    """(epoch, p_reach) of :func:`point` from the references ``refs`` (uncalibrated, fractional epochs allowed);
    ``steps_per_epoch`` [steps] of the run puts time in optimiser steps with ``time_in_steps``."""
    if not refs:
        raise acc.FitFailedError("no recorded reference curve to learn the prior from")
    found = [matches(epochs, accuracy, target, r, horizon, time_ratio(steps_per_epoch, r, time_in_steps))
             for r in refs]
    return point(*posterior(found, len(np.asarray(epochs)), config))


# --------------------------------------------------------------------------- leave-one-out validation


@dataclass(frozen=True)
class _Case:
    run: int
    model: str
    dataset: str
    steps_per_epoch: float | None
    k: int
    target: float
    measured_epoch: int
    within: bool


def _excluded(refs: Sequence[Reference], case: _Case, model_out: bool) -> set[int]:
    """Indices of references that may not inform ``case``: its own run, and with ``model_out`` its model's runs."""
    return {j for j, r in enumerate(refs) if j == case.run or (model_out and r.model == case.model)}


def _found(match: Callable, heads: dict, c: _Case, use: Sequence[Reference], time_in_steps: bool):
    """(matches of every reference of ``use`` to the case's first k epochs, those epochs)."""
    n, y = heads[(c.run, c.k)]
    return [match(n, y, c.target, r, time_ratio=time_ratio(c.steps_per_epoch, r, time_in_steps)) for r in use], n


def _loo_log_ratios(heads: dict, cases: Sequence[_Case], refs: Sequence[Reference], config, held_out: set[int],
                    model_out: bool, match: Callable, how: tuple[bool, bool]) -> np.ndarray:
    """log(predicted / measured epoch) of the ``cases`` not yet reached, each predicted from the references
    other than itself (its model with ``model_out``) and ``held_out`` (``how`` = (same_dataset, time_in_steps));
    unreached predictions left out."""
    out = []
    for c in cases:
        if c.within or c.run in held_out:
            continue
        use = usable_references(refs, c.dataset, _excluded(refs, c, model_out) | held_out, how[0])
        found, n = _found(match, heads, c, use, how[1])
        e, _ = point(*posterior(found, len(n), config))
        if math.isfinite(e):
            out.append(math.log(e / c.measured_epoch))
    return np.asarray(out)


def _cached_match(cache: dict):
    def match(n, y, target, ref, time_ratio=1.0):
        key = (ref.name, tuple(n), tuple(y), float(target), float(time_ratio))
        if key not in cache:
            cache[key] = matches(n, y, target, ref, time_ratio=time_ratio)
        return cache[key]
    return match


#: the columns of a validation line that name its run (with ``source_file``)
LINE_KEYS: tuple[str, ...] = ("experiment", "gpu_name", "model", "dataset", "precision", "batch_size")


def leaves_chance(validation: pd.DataFrame, rows: pd.DataFrame) -> pd.Series:
    """Per line of a validation (:func:`early_stop_validation`, :func:`fresh_validation`) of runs of ``rows``:
    whether its run's test accuracy leaves chance, i.e. at least :data:`greenai.accuracy.MIN_EPOCHS` epochs lie
    above chance + :data:`greenai.accuracy.CHANCE_MARGIN`, as a learning curve (and a :func:`reference`) needs."""
    keys = [*LINE_KEYS, "source_file"]
    learning = set()
    for _, r in acc.runs(rows).iterrows():
        sel = acc.run_rows(rows, r)
        try:
            acc.prepare_curve(sel.n_epochs, sel.test_accuracy, acc.chance_accuracy(sel))
        except acc.AccuracyError:
            continue
        learning.add(tuple(str(r[k]) for k in keys))
    return pd.Series([tuple(str(line[k]) for k in keys) in learning for _, line in validation.iterrows()],
                     index=validation.index, dtype=bool)


def _cases(rows: pd.DataFrame, ids: dict[str, int], ks: Sequence[int], fraction_of_best: float):
    """(cases, first-k epochs and accuracies per (run id, k), table lines) of every run of ``rows`` named in
    ``ids`` (run name → id; a reference's id is its index)."""
    cases, heads, lines = [], {}, []
    for _, r in acc.runs(rows).iterrows():
        if run_name(r) not in ids:
            continue
        sel = acc.run_rows(rows, r)
        i = ids[run_name(r)]
        steps = steps_per_epoch(sel)
        target = fraction_of_best * float(sel.test_accuracy.max())
        m_epoch = int(sel[sel.test_accuracy >= target].n_epochs.iloc[0])
        m_energy = acc.cumulative_energy_j(sel.epoch_energy_j.to_numpy(dtype=float), m_epoch)[0]
        for k in ks:
            if k >= len(sel):
                continue
            head = sel.iloc[:k]
            heads[(i, k)] = (head.n_epochs.to_numpy(dtype=float), head.test_accuracy.to_numpy(dtype=float))
            cases.append(_Case(i, r.model, r.dataset, steps, k, target, m_epoch, m_epoch <= k))
            line = {c: r[c] for c in LINE_KEYS}
            lines.append(line | {"source_file": r.source_file, "k": k, "recorded_epochs": len(sel),
                                 "target_accuracy": target, "measured_epoch": m_epoch, "measured_energy_j": m_energy,
                                 "reached_within_fit": m_epoch <= k,
                                 "_energy": head.epoch_energy_j.to_numpy(dtype=float)})
    return cases, heads, lines


def _spread(log_ratios: np.ndarray) -> float:
    """Median |log ratio − their median|: how far the predictions scatter once their bias is removed."""
    lr = np.asarray(log_ratios)
    return float(np.median(np.abs(lr - np.median(lr)))) if len(lr) >= 3 else math.inf


def _choose(heads: dict, cases: Sequence[_Case], refs: Sequence[Reference], configs, held_out: set[int],
            model_out: bool, level: float, match: Callable, how: tuple[bool, bool]):
    """(weighting of ``configs`` whose leave-one-out log ratios over ``cases`` scatter least, their conformal
    (shift, q_lo, q_hi) or None), every case predicted without itself and without ``held_out``."""
    ratios = {cf: _loo_log_ratios(heads, cases, refs, cf, held_out, model_out, match, how) for cf in configs}
    config = min(configs, key=lambda cf: _spread(ratios[cf]))
    return config, lc.conformal_quantiles(ratios[config], level)


def _line(c: _Case, line: dict, heads: dict, use: Sequence[Reference], config, calib, match: Callable,
          time_in_steps: bool) -> dict:
    """One validation line: the case predicted from the references ``use`` under ``config``, calibrated."""
    energy = line.pop("_energy")
    if c.within:
        return _observed_line(c, line, energy)
    found, n = _found(match, heads, c, use, time_in_steps)
    raw, p_reach = point(*posterior(found, len(n), config))
    line |= {"config": f"{config[0]}:{config[1]:g}", "p_reach": p_reach, "error": ""}
    if not math.isfinite(raw):
        return line | {"reachable": False, "covered": False}
    return _predicted_line(c, line, energy, raw, calib, n.max())


def _observed_line(c: _Case, line: dict, energy: np.ndarray) -> dict:
    """A validation line whose first k epochs measured the target: the answer itself."""
    m = float(c.measured_epoch)
    e = acc.cumulative_energy_j(energy, m)[0]
    return line | {"reachable": True, "p_reach": 1.0, "config": "observed", "error": "", "predicted_epoch": m,
                   "predicted_epoch_low": m, "predicted_epoch_high": m, "covered": True, "predicted_energy_j": e,
                   "energy_low_j": e, "energy_high_j": e, "epoch_error": 0.0,
                   "energy_error_pct": 100.0 * (e - line["measured_energy_j"]) / line["measured_energy_j"]}


def _predicted_line(c: _Case, line: dict, energy: np.ndarray, raw: float, calib, last_observed: float) -> dict:
    """A validation line from a raw predicted epoch, calibrated (:func:`calibrated`); energy [J] of the run's own
    first epochs, their mean beyond (:func:`greenai.accuracy.cumulative_energy_j`)."""
    epoch, lo, hi = calibrated(raw, calib, last_observed)
    e_hat, e_lo, e_hi = (acc.cumulative_energy_j(energy, x)[0] for x in (epoch, lo, hi))
    m_epoch, m_energy = c.measured_epoch, line["measured_energy_j"]
    return line | {"reachable": True, "log_ratio": math.log(raw / m_epoch), "predicted_epoch": epoch,
                   "predicted_epoch_low": lo, "predicted_epoch_high": hi, "covered": bool(lo <= m_epoch <= hi),
                   "predicted_energy_j": e_hat, "energy_low_j": e_lo, "energy_high_j": e_hi,
                   "epoch_error": epoch - m_epoch, "energy_error_pct": 100.0 * (e_hat - m_energy) / m_energy}


def early_stop_validation(rows: pd.DataFrame, ks: Sequence[int] = lc.KS, fraction_of_best: float = 0.99,
                          level: float = lc.LEVEL, model_out: bool = False,
                          configs: Sequence[tuple[str, float]] = CONFIGS, match: Callable | None = None,
                          same_dataset: bool = SAME_DATASET, time_in_steps: bool = TIME_IN_STEPS) -> pd.DataFrame:
    """The population prior validated like :func:`greenai.learning_curves.early_stop_validation` (same cases,
    targets and columns, so :func:`greenai.learning_curves.summary` applies), strictly leave-one-run-out.

    For each held-out run and k: the weighting (of ``configs``) with the smallest median |log ratio − its
    median| over the *other* runs, each predicted without itself and without the held-out run (nested
    leave-one-out); the prediction from every reference but the held-out run; its interval calibrated
    (:func:`greenai.learning_curves.conformal_quantiles`) on the other runs' log ratios, predicted without the
    held-out run. ``model_out``: every run of the held-out run's model is left out as well.
    ``same_dataset`` (candidate C1) and ``time_in_steps`` (C2): see the module docstring.
    ``match``: the matching function, called as ``match(epochs, accuracy, target, ref, time_ratio=…)`` (a test
    may wrap :func:`matches` to watch which references are used).
    """
    refs = references(rows)
    how = (same_dataset, time_in_steps)
    cases, heads, lines = _cases(rows, {r.name: j for j, r in enumerate(refs)}, ks, fraction_of_best)
    match = _cached_match({}) if match is None else match
    out = []
    for c, line in zip(cases, lines):
        line["prior"] = "leave-model-out" if model_out else "leave-run-out"
        held = _excluded(refs, c, model_out)
        config, calib = (None, None) if c.within else _choose(
            heads, [o for o in cases if o.k == c.k], refs, configs, held, model_out, level, match, how)
        use = usable_references(refs, c.dataset, held, same_dataset)
        out.append(_line(c, line, heads, use, config, calib, match, time_in_steps))
    return pd.DataFrame(out)


def typical_epoch(pool: Sequence[_Case], k: int, models_out: Collection[str], dataset: str,
                  same_dataset: bool) -> float:
    """The typical epoch [epochs] at which the runs of ``pool`` not yet at their target after ``k`` epochs reached
    it: the geometric median of their measured epochs, runs of ``models_out`` left out; with ``same_dataset`` only
    the runs of ``dataset`` when at least :data:`MIN_SAME_DATASET` are left (else all). NaN when none is left."""
    others = [o for o in pool if o.k == k and not o.within and o.model not in models_out]
    same = [o for o in others if o.dataset == dataset]
    epochs = [o.measured_epoch for o in (same if same_dataset and len(same) >= MIN_SAME_DATASET else others)]
    return float(np.exp(np.median(np.log(epochs)))) if epochs else math.nan


def typical_epoch_validation(rows: pd.DataFrame, ks: Sequence[int] = lc.KS, fraction_of_best: float = 0.99,
                             level: float = lc.LEVEL, fresh_rows: pd.DataFrame | None = None,
                             same_dataset: bool = False) -> pd.DataFrame:
    """A yardstick, not a predictor: each case predicted without looking at its curve, at the typical epoch of
    the other models' runs.

    For a run not yet at its target after k epochs the raw prediction is the geometric median of the measured epochs
    of every other model's runs not yet at theirs after k; its interval is calibrated as the prior's (the other
    models' runs, each predicted the same way without its own model and the held-out run's, give the conformal
    log ratios) and :func:`calibrated` puts it after the observed epochs. Without ``fresh_rows`` the cases are
    those of :func:`early_stop_validation` with ``model_out=True`` (``prior`` = "typical epoch, leave-model-out");
    with it, those of :func:`fresh_validation`, the typical epoch and its calibration drawn from ``rows`` alone
    (``prior`` = "typical epoch, fresh"). The columns of :func:`early_stop_validation`, so
    :func:`greenai.learning_curves.summary` applies: a method that does not beat it has learned little from a
    run's first epochs beyond when runs of this length usually reach their target.
    ``same_dataset``: the typical epoch of the other models' runs of the case's own dataset, when at least
    :data:`MIN_SAME_DATASET` of them are not yet at their target after k (else of all; ``prior`` gains
    ", same dataset"): what a run's dataset alone says.
    """
    fresh_names = set() if fresh_rows is None else {run_name(r) for _, r in acc.runs(fresh_rows).iterrows()}
    refs = [r for r in references(rows) if r.name not in fresh_names]
    pool, heads, lines = _cases(rows, {r.name: j for j, r in enumerate(refs)}, ks, fraction_of_best)
    cases, label = pool, "typical epoch, leave-model-out"
    if fresh_rows is not None:
        cases, heads, lines = _cases(fresh_rows, {n: len(refs) + i for i, n in enumerate(sorted(fresh_names))},
                                     ks, fraction_of_best)
        label = "typical epoch, fresh"

    label += ", same dataset" if same_dataset else ""

    def typical(k: int, models_out: set[str], dataset: str) -> float:
        return typical_epoch(pool, k, models_out, dataset, same_dataset)

    out = []
    for c, line in zip(cases, lines):
        line["prior"] = label
        energy = line.pop("_energy")
        raw = typical(c.k, {c.model}, c.dataset)
        if c.within:
            out.append(_observed_line(c, line, energy))
            continue
        line |= {"config": "typical epoch", "p_reach": 1.0, "error": ""}
        if not math.isfinite(raw):
            out.append(line | {"reachable": False, "covered": False})
            continue
        others = [o for o in pool if o.k == c.k and not o.within and o.model != c.model]
        ratios = np.array([math.log(typical(o.k, {c.model, o.model}, o.dataset) / o.measured_epoch)
                           for o in others])
        calib = lc.conformal_quantiles(ratios[np.isfinite(ratios)], level)
        out.append(_predicted_line(c, line, energy, raw, calib, heads[(c.run, c.k)][0].max()))
    return pd.DataFrame(out)


def calibrated(raw_epoch: float, calib: tuple[float, float, float] | None, last_observed: float,
               horizon: float = lc.HORIZON) -> tuple[float, float, float]:
    """(epoch, low, high) in whole epochs: ``raw_epoch`` divided by exp(shift), the interval epoch × exp([q_lo,
    q_hi]) (:func:`greenai.learning_curves.conformal_quantiles`; the point alone when None), all after the last
    observed epoch and within ``horizon`` × it."""
    after, limit = last_observed + 1.0, float(math.ceil(horizon * last_observed))
    shift, q_lo, q_hi = (0.0, 0.0, 0.0) if calib is None else calib
    epoch = max(after, raw_epoch * math.exp(-shift))
    lo, hi = epoch * math.exp(q_lo), epoch * math.exp(q_hi)
    epoch = float(min(math.ceil(epoch - 1e-9), limit))
    lo = float(min(max(after, math.floor(lo)), epoch))
    hi = float(max(min(math.ceil(hi), limit), epoch))
    return epoch, lo, hi


def _prior(rows: pd.DataFrame, refs: Sequence[Reference], ks: Sequence[int], fraction_of_best: float, level: float,
           how: tuple[bool, bool], configs=CONFIGS, match: Callable | None = None) -> dict:
    """Per k: (weighting, conformal calibration or None) chosen by leave-one-run-out over every run of ``rows``
    that is a reference, as for a new run that none of them is."""
    cases, heads, _ = _cases(rows, {r.name: j for j, r in enumerate(refs)}, ks, fraction_of_best)
    match = _cached_match({}) if match is None else match
    return {k: _choose(heads, [c for c in cases if c.k == k], refs, configs, set(), False, level, match, how)
            for k in ks}


def _fresh_references(reference_rows: pd.DataFrame, fresh_rows: pd.DataFrame) -> tuple[list[Reference], dict]:
    """(the references of ``reference_rows`` that are no run of ``fresh_rows``, each fresh run's name -> its case id,
    numbered after the references)."""
    fresh_names = {run_name(r) for _, r in acc.runs(fresh_rows).iterrows()}
    refs = [r for r in references(reference_rows) if r.name not in fresh_names]
    if not refs:
        raise acc.FitFailedError("no reference curve to learn the prior from")
    return refs, {name: len(refs) + i for i, name in enumerate(sorted(fresh_names))}


def fresh_validation(reference_rows: pd.DataFrame, fresh_rows: pd.DataFrame, ks: Sequence[int] = lc.KS,
                     fraction_of_best: float = 0.99, level: float = lc.LEVEL,
                     configs: Sequence[tuple[str, float]] = CONFIGS, match: Callable | None = None,
                     same_dataset: bool = SAME_DATASET, time_in_steps: bool = TIME_IN_STEPS) -> pd.DataFrame:
    """Every run of ``fresh_rows`` (and k below its recorded epochs) predicted from a prior built on
    ``reference_rows`` alone: the references, and per k the weighting and the conformal interval chosen by
    leave-one-run-out over the reference runs, as :func:`predict_observed` does for a user. The columns of
    :func:`early_stop_validation` (``prior`` = "fresh"; energies [J]), so :func:`greenai.learning_curves.summary`
    applies. A run in both frames (same keys and source file) is left out of the references."""
    refs, fresh_ids = _fresh_references(reference_rows, fresh_rows)
    match = _cached_match({}) if match is None else match
    prior = _prior(reference_rows, refs, ks, fraction_of_best, level, (same_dataset, time_in_steps), configs, match)
    cases, heads, lines = _cases(fresh_rows, fresh_ids, ks, fraction_of_best)
    out = []
    for c, line in zip(cases, lines):
        config, calib = prior[c.k]
        use = usable_references(refs, c.dataset, set(), same_dataset)
        out.append(_line(c, line | {"prior": "fresh"}, heads, use, config, calib, match, time_in_steps))
    return pd.DataFrame(out)


def anchor_weights(rows: pd.DataFrame, refs: Sequence[Reference], ks: Sequence[int], fraction_of_best: float,
                   level: float, prior: dict, match: Callable, weights: Sequence[float] = ANCHOR_WEIGHTS) -> dict:
    """Candidate C4's weight β per k and its conformal (shift, q_lo, q_hi), from the reference runs of ``rows``.

    Every reference run not yet at its target after k is predicted leaving its model out: the prior's epoch P (C0,
    the weighting ``prior[k]`` of :func:`_prior`) and the typical epoch T of the other models' runs of its dataset
    (:func:`typical_epoch`); β of ``weights`` is the one whose log ratios, log(T^(1−β) P^β / measured epoch), scatter
    least (:func:`_spread`; the smaller β on a tie), and they calibrate the interval. Returns {k: (β, calibration or
    None, {β: spread})}; runs whose P or T is not finite are left out."""
    cases, heads, _ = _cases(rows, {r.name: j for j, r in enumerate(refs)}, ks, fraction_of_best)
    out = {}
    for k in ks:
        logs = []
        for c in cases:
            if c.k != k or c.within:
                continue
            use = usable_references(refs, c.dataset, _excluded(refs, c, True), False)
            found, n = _found(match, heads, c, use, False)
            p_epoch, _ = point(*posterior(found, len(n), prior[k][0]))
            t_epoch = typical_epoch(cases, k, {c.model}, c.dataset, True)
            if math.isfinite(p_epoch) and math.isfinite(t_epoch):
                logs.append((math.log(t_epoch), math.log(p_epoch), math.log(c.measured_epoch)))
        lt, lp, lm = np.asarray(logs, dtype=float).reshape(-1, 3).T
        ratios = {b: (1.0 - b) * lt + b * lp - lm for b in weights}
        spreads = {b: _spread(r) for b, r in ratios.items()}
        beta = min(weights, key=lambda b: (spreads[b], b))
        out[k] = (float(beta), lc.conformal_quantiles(ratios[beta], level), spreads)
    return out


def anchored_validation(reference_rows: pd.DataFrame, fresh_rows: pd.DataFrame, ks: Sequence[int] = lc.KS,
                        fraction_of_best: float = 0.99, level: float = lc.LEVEL,
                        match: Callable | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Candidate C4 on a fresh set: each run of ``fresh_rows`` predicted at T^(1−β) · P^β, T the typical epoch of
    the reference runs of its dataset (:func:`typical_epoch`), P the prior's epoch from its first k epochs (C0, as
    :func:`fresh_validation`), β and the interval from the reference runs alone (:func:`anchor_weights`).

    Returns (validation, choice): the validation has the columns of :func:`early_stop_validation` (``prior`` =
    "anchored, fresh"; ``config`` = "anchored:β"), so :func:`greenai.learning_curves.summary` applies; ``choice``
    has one line per k and weight: its leave-model-out spread on the reference runs and whether it was chosen."""
    refs, fresh_ids = _fresh_references(reference_rows, fresh_rows)
    match = _cached_match({}) if match is None else match
    prior = _prior(reference_rows, refs, ks, fraction_of_best, level, (False, False), CONFIGS, match)
    weights = anchor_weights(reference_rows, refs, ks, fraction_of_best, level, prior, match)
    pool, _, _ = _cases(reference_rows, {r.name: j for j, r in enumerate(refs)}, ks, fraction_of_best)
    cases, heads, lines = _cases(fresh_rows, fresh_ids, ks, fraction_of_best)
    out = []
    for c, line in zip(cases, lines):
        line["prior"] = "anchored, fresh"
        energy = line.pop("_energy")
        if c.within:
            out.append(_observed_line(c, line, energy))
            continue
        beta, calib, _ = weights[c.k]
        found, n = _found(match, heads, c, refs, False)
        p_epoch, p_reach = point(*posterior(found, len(n), prior[c.k][0]))
        t_epoch = typical_epoch(pool, c.k, (), c.dataset, True)
        line |= {"config": f"anchored:{beta:g}", "p_reach": p_reach, "error": ""}
        if not (math.isfinite(p_epoch) and math.isfinite(t_epoch)):
            out.append(line | {"reachable": False, "covered": False})
            continue
        raw = math.exp((1.0 - beta) * math.log(t_epoch) + beta * math.log(p_epoch))
        out.append(_predicted_line(c, line, energy, raw, calib, n.max()))
    choice = pd.DataFrame([{"k": k, "weight": b, "spread": spread, "chosen": b == beta}
                           for k, (beta, _, spreads) in weights.items() for b, spread in spreads.items()])
    return pd.DataFrame(out), choice


# --------------------------------------------------------------------------- a user's own first epochs


@lru_cache(maxsize=4)
def _recorded(raw_dir: str | None, level: float) -> tuple[tuple[Reference, ...], dict]:
    """The recorded references and, per k of :data:`greenai.learning_curves.KS`, the weighting with the
    smallest leave-one-run-out spread over every recorded run and its conformal (shift, q_lo, q_hi)."""
    rows = acc.load_rows(raw_dir)
    refs = references(rows) if len(rows) else []
    prior = _prior(rows, refs, lc.KS, 0.99, level, (SAME_DATASET, TIME_IN_STEPS)) if refs else {}
    return tuple(refs), {k: (config, q) for k, (config, q) in prior.items() if q is not None}


def predict_observed(observed: pd.DataFrame, target_accuracy: float, raw_dir: str | Path | None = None,
                     level: float = lc.LEVEL, num_classes: int | None = None) -> lc.Prediction:
    """A user's first epochs (``epoch``, ``accuracy``, optionally ``energy_j`` [J] per epoch) →
    :class:`greenai.learning_curves.Prediction`, from the prior of the recorded curves in ``raw_dir``
    (default ``results/raw``) at the largest validated window k ≤ the observed epochs; without recorded
    curves, :func:`greenai.learning_curves.predict_observed` (the per-run ensemble)."""
    refs, cal = _recorded(None if raw_dir is None else str(raw_dir), level)
    if not refs or not cal:
        return lc.predict_observed(observed, target_accuracy, raw_dir, level, num_classes)
    obs = observed.sort_values("epoch")
    base = lc.predict_target(obs["epoch"], obs["accuracy"], target_accuracy, obs.get("energy_j"),
                             chance=None if num_classes is None else 1.0 / num_classes, level=level)
    if base.calibration == "observed":
        return base
    k = max([k for k in cal if k <= len(obs)], default=min(cal))
    config, q = cal[k]
    n, y = obs["epoch"].to_numpy(dtype=float), obs["accuracy"].to_numpy(dtype=float)
    raw, p_reach = predict_epoch(n, y, float(target_accuracy), refs, config)
    note = (f"prior of {len(refs)} recorded curves ({config[0]}:{config[1]:g}), interval calibrated on them "
            f"fitted on their first {k} epochs")
    nan = math.nan
    if not math.isfinite(raw):
        return lc.Prediction(float(target_accuracy), len(obs), False, nan, nan, nan, nan, nan, nan, p_reach,
                             base.plateau, level, note, base.curve)
    epoch, lo, hi = calibrated(raw, q, n.max())
    e = obs["energy_j"].to_numpy(dtype=float) if "energy_j" in obs else None
    energies = [nan] * 3 if e is None else [acc.cumulative_energy_j(e, x)[0] for x in (epoch, lo, hi)]
    return lc.Prediction(float(target_accuracy), len(obs), True, epoch, lo, hi, *energies, p_reach, base.plateau,
                         level, note, base.curve)
