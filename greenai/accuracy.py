"""Energy to reach an accuracy: learning curves fitted to recorded epochs (thesis 4.2.3 and beyond).

A learning curve (``exp``: ``a − b·exp(−c·n)``, ``power``: ``a − b·n^(−c)``; ``auto`` keeps the better) is
fitted to test accuracy vs epochs of one recorded run and turned into the epoch, and the cumulative
training energy [J] (measured epochs summed, extrapolated beyond them and flagged), at which a target
accuracy is reached. Nothing here imports torch. The method in full: ``docs/energy_to_accuracy.md``;
the ensemble of seven forms with calibrated intervals: :mod:`greenai.learning_curves`. Example::

    r = energy_to_accuracy("alexnet", "fashion_mnist")          # 99 % of the fitted plateau
    r.epoch, r.energy_j, r.curve.plateau, r.energy_extrapolated

Every refusal is an :class:`AccuracyError` (a ``ValueError``) with a one-line message.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from greenai import paths
from greenai.predict.model import J_PER_KWH

#: learning-curve forms understood by :func:`fit_learning_curve`
FORMS: tuple[str, ...] = ("exp", "power")
#: ``form="auto"`` fits every form of :data:`FORMS` to all epochs and keeps the one with the smaller RMSE
#: over the later half of them: the forms differ in how they go on, and the later epochs show that best
AUTO = "auto"
#: the form used unless asked otherwise (notebook 06's early-stop validation table compares all three)
DEFAULT_FORM = AUTO
#: a prediction further than this many times the recorded epochs is refused (:class:`BeyondHorizonError`)
HORIZON = 10.0
#: fewest epochs a 3-parameter curve is fitted to
MIN_EPOCHS = 4
#: recorded files that may hold test accuracy per epoch, besides ``accuracy_*.csv``
EXTRA_SOURCES: tuple[str, ...] = ("kpi_epochs",)
#: columns identifying one recorded run (its epochs are the rows sharing them)
RUN_KEYS: tuple[str, ...] = ("experiment", "gpu_name", "model", "dataset", "data_source", "precision", "batch_size",
                             "repeat")


class AccuracyError(ValueError):
    """A learning curve cannot answer the question; the message says why (CLIs exit with code 2)."""


class NoCurveError(AccuracyError):
    """No recorded run with test accuracy for this model and dataset."""


class TooFewEpochsError(AccuracyError):
    """Fewer epochs than the curve has parameters (+1)."""


class TargetUnreachableError(AccuracyError):
    """The target accuracy is at or above the fitted plateau (or not in (0, 1))."""


class FitFailedError(AccuracyError):
    """The least-squares fit did not converge."""


class BeyondHorizonError(AccuracyError):
    """The curve reaches the target only far beyond the recorded epochs (more than :data:`HORIZON` times)."""


# --------------------------------------------------------------------------- curves


def _exp(n, a, b, c):
    return a - b * np.exp(-c * np.asarray(n, dtype=float))


def _power(n, a, b, c):
    return a - b * np.asarray(n, dtype=float) ** (-c)


_FUNCS = {"exp": _exp, "power": _power}


@dataclass
class LearningCurve:
    """A fitted learning curve ``acc(n)``; ``n`` = epochs trained (≥ 1).

    Attributes
    ----------
    form : {"exp", "power"}
    a, b, c : float
        Parameters (see the module docstring); ``a`` is the plateau accuracy.
    a_se, b_se, c_se : float
        Standard errors from the fit's covariance (NaN when not estimable).
    n_epochs : int
        Epochs the curve was fitted to (the first ``n_epochs`` of the run).
    rmse : float
        Root-mean-square residual of the fit [accuracy, 0-1].
    offset : float
        Leading epochs at chance accuracy before learning took off (0 when
        none, see :func:`fit_learning_curve`'s ``chance``): the curve is in
        ``n − offset`` and undefined (NaN) up to ``offset``.
    selection : str
        How ``form="auto"`` chose this form (empty when a form was asked for).
    cov : tuple of tuples, optional
        Covariance of (a, b, c) from the fit (for :meth:`epoch_interval`).
    """

    form: str
    a: float
    b: float
    c: float
    a_se: float = math.nan
    b_se: float = math.nan
    c_se: float = math.nan
    n_epochs: int = 0
    rmse: float = math.nan
    offset: float = 0.0
    selection: str = ""
    cov: tuple | None = field(default=None, repr=False)

    @property
    def plateau(self) -> float:
        """Accuracy the curve approaches as epochs → ∞ (fraction, 0-1)."""
        return self.a

    def predict(self, epochs) -> np.ndarray:
        """Accuracy after ``epochs`` epochs (array-like of n ≥ 1; NaN up to ``offset``)."""
        m = np.asarray(epochs, dtype=float) - self.offset
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(m > 0, _FUNCS[self.form](np.where(m > 0, m, 1.0), self.a, self.b, self.c), np.nan)

    def epoch_for(self, target_accuracy: float) -> float:
        """Fractional epochs ``n`` at which the curve reaches ``target_accuracy`` (may be < 1).

        Raises
        ------
        TargetUnreachableError
            The target is not below the plateau, or not in (0, 1).
        """
        t = float(target_accuracy)
        if not 0.0 < t < 1.0:
            raise TargetUnreachableError(f"target accuracy must be a fraction in (0, 1), got {t:g}")
        if t >= self.a:
            raise TargetUnreachableError(
                f"target accuracy {t:.4f} is not below the fitted plateau {self.a:.4f} ({self.form} curve on "
                f"{self.n_epochs} epochs): more epochs of this setting will not reach it; ask for less, e.g. "
                f"0.99 x plateau = {0.99 * self.a:.4f}")
        gap = self.a - t
        if self.b <= gap:  # the curve starts above the target: reached as soon as learning starts
            return self.offset
        if self.form == "exp":
            return self.offset + math.log(self.b / gap) / self.c
        return self.offset + (self.b / gap) ** (1.0 / self.c)

    def epoch_interval(self, target_accuracy: float, level: float = 0.9, draws: int = 4000,
                       seed: int = 0) -> tuple[float, float]:
        """Interval of the epochs to ``target_accuracy`` from the fit's parameter uncertainty.

        Draws (a, b, c) from a normal distribution with the fit's covariance
        (keeping draws with 0 < a ≤ 1, b ≥ 0, c > 0), computes each draw's
        crossing and returns its central ``level`` quantiles (fractional
        epochs). The upper end is ``inf`` when more than (1 − level) / 2 of
        the draws never reach the target; both are NaN without a covariance.
        """
        if self.cov is None or not np.all(np.isfinite(self.cov)):
            return math.nan, math.nan
        rng = np.random.default_rng(seed)
        p = rng.multivariate_normal([self.a, self.b, self.c], np.asarray(self.cov), size=draws,
                                    check_valid="ignore")
        a, b, c = p[:, 0], p[:, 1], p[:, 2]
        keep = (a > 0) & (a <= 1) & (b >= 0) & (c > 0)
        a, b, c = a[keep], b[keep], c[keep]
        if len(a) < draws // 4:
            return math.nan, math.nan
        gap = a - float(target_accuracy)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ratio = np.where(gap > 0, b / gap, np.inf)
            m = np.log(ratio) / c if self.form == "exp" else ratio ** (1.0 / c)
        n = np.where(gap <= 0, np.inf, np.where(ratio <= 1, 0.0, m)) + self.offset
        q = (1.0 - level) / 2
        return float(np.quantile(n, q, method="inverted_cdf")), float(np.quantile(n, 1 - q, method="inverted_cdf"))

    def as_dict(self) -> dict:
        return {"form": self.form, "a": self.a, "b": self.b, "c": self.c, "a_se": self.a_se, "b_se": self.b_se,
                "c_se": self.c_se, "plateau": self.plateau, "n_epochs": self.n_epochs, "rmse": self.rmse,
                "offset": self.offset, "selection": self.selection}


#: accuracy within this margin of chance (1 / classes) counts as "not learning yet" [fraction]
CHANCE_MARGIN = 0.02


def prepare_curve(epochs: Sequence[float], accuracy: Sequence[float],
                  chance: float | None = None) -> tuple[np.ndarray, np.ndarray, float]:
    """Checked, sorted epochs and accuracies of one run, leading epochs at chance left out.

    Returns ``(n, y, offset)``: epochs counted from ``offset`` (the last leading epoch within
    :data:`CHANCE_MARGIN` of ``chance``; 0 when none) and their accuracies.

    Raises
    ------
    TooFewEpochsError, AccuracyError
        Fewer than :data:`MIN_EPOCHS` finite points (above chance); accuracies outside [0, 1] or epochs < 1.
    """
    n = np.asarray(epochs, dtype=float)
    y = np.asarray(accuracy, dtype=float)
    ok = np.isfinite(n) & np.isfinite(y)
    n, y = n[ok], y[ok]
    if len(n) < MIN_EPOCHS:
        raise TooFewEpochsError(f"a learning curve needs at least {MIN_EPOCHS} epochs with test accuracy, "
                                f"got {len(n)}")
    if (y < 0).any() or (y > 1).any():
        raise AccuracyError("accuracy must be a fraction in [0, 1] (divide percentages by 100)")
    if (n <= 0).any():
        raise AccuracyError("epochs must be >= 1 (1 = accuracy after the first epoch)")
    order = np.argsort(n)
    n, y = n[order], y[order]
    offset = 0.0
    if chance is not None and math.isfinite(chance):
        lagging = int(np.argmax(y > chance + CHANCE_MARGIN)) if (y > chance + CHANCE_MARGIN).any() else len(y)
        if lagging:
            if len(y) - lagging < MIN_EPOCHS:
                raise TooFewEpochsError(
                    f"a learning curve needs at least {MIN_EPOCHS} epochs with test accuracy above chance "
                    f"({chance:.3f} + {CHANCE_MARGIN}), got {len(y) - lagging} of {len(y)}")
            offset = float(n[lagging - 1])
            n, y = n[lagging:] - offset, y[lagging:]
    return n, y, offset


def fit_learning_curve(epochs: Sequence[float], accuracy: Sequence[float], form: str = DEFAULT_FORM,
                       chance: float | None = None) -> LearningCurve:
    """Least-squares fit of a learning curve to test accuracy after ``epochs`` epochs.

    Parameters
    ----------
    epochs : sequence of float
        Epochs trained when each accuracy was measured (1 = after the first epoch).
    accuracy : sequence of float
        Test accuracy as a fraction in [0, 1].
    form : {"exp", "power", "auto"}
        ``"auto"``: both forms fitted to all points; the one with the smaller
        RMSE over the later half of the points is returned (``selection``
        says so).
    chance : float, optional
        Chance accuracy (1 / classes). Leading epochs at most
        :data:`CHANCE_MARGIN` above it (a network that has not started
        learning: AlexNet without normalisation can sit there for a few epochs)
        are left out and the curve starts after the last of them (``offset``).

    Raises
    ------
    AccuracyError
        Unknown form, or accuracies outside [0, 1].
    TooFewEpochsError
        Fewer than :data:`MIN_EPOCHS` finite points.
    FitFailedError
        The fit did not converge.
    """
    from scipy.optimize import curve_fit  # heavy: scipy

    if form == AUTO:
        fitted, failures = [], []
        for f in FORMS:
            try:
                fitted.append(fit_learning_curve(epochs, accuracy, form=f, chance=chance))
            except FitFailedError as exc:
                failures.append(str(exc))
        if not fitted:
            raise FitFailedError("; ".join(failures))
        n = np.asarray(epochs, dtype=float)
        y = np.asarray(accuracy, dtype=float)
        ok = np.isfinite(n) & np.isfinite(y)
        n, y = n[ok], y[ok]
        later = n >= np.sort(n)[len(n) // 2]
        scores = {c.form: float(np.sqrt(np.nanmean((c.predict(n[later]) - y[later]) ** 2))) for c in fitted}
        best = min(fitted, key=lambda c: scores[c.form])
        best.selection = ("auto: RMSE over the later half of the epochs "
                          + ", ".join(f"{f} {v:.4f}" for f, v in scores.items()))
        return best
    if form not in FORMS:
        raise AccuracyError(f"unknown learning-curve form {form!r}; choose one of {', '.join(FORMS + (AUTO,))}")
    n, y, offset = prepare_curve(epochs, accuracy, chance)
    n_all = int(np.sum(np.isfinite(np.asarray(epochs, dtype=float)) & np.isfinite(np.asarray(accuracy, dtype=float))))
    a0 = min(1.0, y.max() + 0.25 * max(y.max() - y.min(), 0.01))
    b0 = max(a0 - y[0], 1e-3)
    if form == "exp":
        b0 *= math.exp(0.5 * n[0])
    else:
        b0 *= n[0] ** 0.5
    guesses = [(a0, b0, 0.5), (min(1.0, y.max() + 0.01), b0, 0.2), (min(1.0, y.max() + 0.1), b0, 1.0)]
    best, last_exc = None, None
    for p0 in guesses:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # OptimizeWarning: covariance not estimable
                popt, pcov = curve_fit(_FUNCS[form], n, y, p0=p0, bounds=([0.0, 0.0, 1e-6], [1.0, np.inf, 50.0]),
                                       maxfev=20000)
        except (RuntimeError, ValueError) as exc:
            last_exc = exc
            continue
        sse = float(np.sum((_FUNCS[form](n, *popt) - y) ** 2))
        if best is None or sse < best[0] - 1e-15:
            best = (sse, popt, pcov)
    if best is None:
        raise FitFailedError(f"the {form} learning curve did not converge on {len(n)} epochs ({last_exc})")
    sse, popt, pcov = best
    se = np.sqrt(np.diag(pcov)) if np.all(np.isfinite(pcov)) else np.full(3, math.nan)
    return LearningCurve(form=form, a=float(popt[0]), b=float(popt[1]), c=float(popt[2]), a_se=float(se[0]),
                         b_se=float(se[1]), c_se=float(se[2]), n_epochs=n_all,
                         rmse=math.sqrt(sse / len(n)), offset=offset,
                         cov=tuple(map(tuple, pcov)) if np.all(np.isfinite(pcov)) else None)


def chance_accuracy(run: pd.DataFrame) -> float | None:
    """1 / classes of a run's rows (their ``num_classes``), None when not recorded."""
    if "num_classes" not in run or not run.num_classes.notna().any():
        return None
    return 1.0 / float(run.num_classes.dropna().iloc[0])


# --------------------------------------------------------------------------- recorded rows


def load_rows(raw_dir: str | Path | None = None, sources: Sequence[str] | None = None) -> pd.DataFrame:
    """Every recorded training epoch with a test accuracy (real data only).

    Reads ``<raw_dir>/accuracy_*.csv`` and :data:`EXTRA_SOURCES` (default
    ``results/raw``); returns the rows with ``n_epochs`` (= ``epoch_index`` + 1)
    added, ordered by run and epoch. An empty frame when nothing is recorded.
    """
    raw = Path(raw_dir) if raw_dir is not None else paths.RAW_DIR
    names = list(sources) if sources is not None else (
        sorted(p.stem for p in raw.glob("accuracy_*.csv")) + list(EXTRA_SOURCES))
    frames = []
    for name in names:
        path = raw / f"{name}.csv"
        if not path.exists():
            continue
        d = pd.read_csv(path)
        if "test_accuracy" not in d:
            continue
        d = d[d.test_accuracy.notna() & (d.get("data_source", "real") == "real")]
        if len(d):
            frames.append(d.assign(source_file=f"{name}.csv"))
    if not frames:
        return pd.DataFrame(columns=[*RUN_KEYS, "epoch_index", "n_epochs", "test_accuracy", "epoch_energy_j",
                                     "epoch_duration_s", "source_file"])
    rows = pd.concat(frames, ignore_index=True)
    rows["n_epochs"] = rows.epoch_index.astype(int) + 1
    return rows.sort_values([*RUN_KEYS, "n_epochs"], kind="stable").reset_index(drop=True)


def runs(rows: pd.DataFrame) -> pd.DataFrame:
    """One line per recorded run: its keys, ``epochs`` recorded, last and best accuracy, mean energy per epoch [J]."""
    if rows.empty:
        return pd.DataFrame(columns=[*RUN_KEYS, "epochs", "final_accuracy", "best_accuracy", "epoch_energy_j",
                                     "source_file"])
    g = rows.groupby(list(RUN_KEYS), sort=False, dropna=False)
    return g.agg(epochs=("n_epochs", "count"), final_accuracy=("test_accuracy", "last"),
                 best_accuracy=("test_accuracy", "max"), epoch_energy_j=("epoch_energy_j", "mean"),
                 source_file=("source_file", "first")).reset_index()


def _select_run(rows: pd.DataFrame, model: str, dataset: str, gpu_name: str | None, precision: str | None):
    """The rows of the recorded run for ``model`` on ``dataset`` with the most epochs (ties: accuracy_* files)."""
    sel = rows[(rows.model == model) & (rows.dataset == dataset)]
    if gpu_name is not None:
        sel = sel[sel.gpu_name == gpu_name]
    if precision is not None:
        sel = sel[sel.precision == precision]
    if sel.empty:
        table = runs(rows)
        known = ", ".join(sorted({f"{r.model}/{r.dataset} ({r.epochs} epochs, {r.precision}, {r.gpu_name})"
                                  for r in table.itertuples()})) or "none recorded yet"
        extra = "".join(f", {k} {v!r}" for k, v in (("gpu", gpu_name), ("precision", precision)) if v is not None)
        raise NoCurveError(f"no learning curve for model {model!r} on dataset {dataset!r}{extra}: no recorded run "
                           f"with test accuracy (known: {known}); record one with `python -m greenai.campaign "
                           f"-e accuracy_{dataset}` on a GPU")
    table = runs(sel)
    table["preferred"] = table.source_file.str.startswith("accuracy_")
    return run_rows(sel, table.sort_values(["epochs", "preferred"], ascending=False, kind="stable").iloc[0])


def run_rows(rows: pd.DataFrame, run) -> pd.DataFrame:
    """The epochs of one run (``run`` has the :data:`RUN_KEYS`), in order."""
    mask = np.ones(len(rows), dtype=bool)
    for k in RUN_KEYS:
        mask &= (rows[k] == run[k]).to_numpy() | (rows[k].isna().to_numpy() & pd.isna(run[k]))
    return rows[mask].sort_values("n_epochs")


def cumulative_energy_j(epoch_energy_j: Sequence[float], n_epochs: float) -> tuple[float, bool]:
    """Training energy of the first ``ceil(n_epochs)`` epochs [J] and whether it was extrapolated.

    Within the recorded epochs: their measured sum. Beyond: the measured sum
    plus the mean energy per recorded epoch for every further epoch.
    """
    e = np.asarray(epoch_energy_j, dtype=float)
    if len(e) == 0 or not np.isfinite(e).all():
        raise AccuracyError("every recorded epoch needs a finite epoch_energy_j to sum energy")
    n = int(math.ceil(n_epochs - 1e-9))
    if n <= len(e):
        return float(e[:max(n, 0)].sum()), False
    return float(e.sum() + (n - len(e)) * e.mean()), True


@dataclass
class EnergyToAccuracy:
    """Where a learning curve says a target accuracy is reached, and the energy spent until then.

    Attributes
    ----------
    epoch : int
        Whole epochs of training after which the fitted curve reaches the target (≥ 1).
    epoch_fractional : float
        The curve's exact crossing (fractional epochs).
    energy_j : float
        Cumulative training energy of ``epoch`` epochs [J] (measured sum; extrapolated
        by the mean energy per epoch beyond the recorded epochs).
    energy_extrapolated : bool
        ``epoch`` lies beyond the recorded epochs.
    duration_s : float
        Cumulative training time of ``epoch`` epochs [s] (same rule as the energy).
    observed_epoch : int or None
        First recorded epoch whose measured test accuracy reached the target.
    observed_energy_j : float
        Measured cumulative energy up to ``observed_epoch`` [J] (NaN if never reached).
    epoch_low, epoch_high : float
        Whole epochs at the ends of the ``interval_level`` interval of
        :meth:`LearningCurve.epoch_interval` (``inf``: the target may never be
        reached; NaN: no covariance), for a target held at ``target_accuracy``.
    energy_low_j, energy_high_j : float
        Cumulative training energy at ``epoch_low`` and ``epoch_high`` [J].
    """

    model: str
    dataset: str
    gpu_name: str
    precision: str
    batch_size: int
    source_file: str
    target_accuracy: float
    target_kind: str
    epoch: int
    epoch_fractional: float
    energy_j: float
    energy_extrapolated: bool
    duration_s: float
    energy_per_epoch_j: float
    recorded_epochs: int
    observed_epoch: int | None
    observed_energy_j: float
    interval_level: float
    epoch_low: float
    epoch_high: float
    energy_low_j: float
    energy_high_j: float
    curve: LearningCurve = field(repr=False)

    @property
    def energy_kwh(self) -> float:
        return self.energy_j / J_PER_KWH

    def as_dict(self) -> dict:
        """The fields as plain JSON-safe values (NaN and inf become None), the curve as a dict."""
        d = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "curve"}
        d["energy_kwh"] = self.energy_kwh
        safe = lambda v: None if isinstance(v, float) and not math.isfinite(v) else v  # noqa: E731
        d = {k: safe(v) for k, v in d.items()}
        d["curve"] = {k: safe(v) for k, v in self.curve.as_dict().items()}
        return d


def _target(curve: LearningCurve, target_accuracy: float | None, fraction_of_plateau: float) -> tuple[float, str]:
    if target_accuracy is None:
        if not 0.0 < fraction_of_plateau < 1.0:
            raise AccuracyError(f"fraction_of_plateau must be in (0, 1), got {fraction_of_plateau:g}")
        return fraction_of_plateau * curve.plateau, f"{fraction_of_plateau:g} x fitted plateau"
    t = float(target_accuracy)
    if t > 1.0:
        raise TargetUnreachableError(f"target accuracy must be a fraction in (0, 1), got {t:g} "
                                     f"(did you mean {t / 100:g}?)")
    return t, "given"


def energy_for_curve(curve: LearningCurve, run_rows: pd.DataFrame, target_accuracy: float | None = None,
                     fraction_of_plateau: float = 0.99, horizon: float | None = HORIZON,
                     level: float = 0.9) -> dict:
    """Target, epoch and cumulative energy/time for ``curve`` over the recorded epochs ``run_rows``.

    ``run_rows`` are one run's epochs in order (``n_epochs``, ``test_accuracy``,
    ``epoch_energy_j``, ``epoch_duration_s``). Returns a dict of the
    :class:`EnergyToAccuracy` fields that do not name the run. A crossing
    beyond ``horizon`` × the recorded epochs raises :class:`BeyondHorizonError`
    (``None``: no limit).
    """
    target, kind = _target(curve, target_accuracy, fraction_of_plateau)
    frac = curve.epoch_for(target)
    recorded = len(run_rows)
    if horizon is not None and frac > horizon * recorded:
        raise BeyondHorizonError(
            f"the {curve.form} curve (plateau {curve.plateau:.4f}) reaches {target:.4f} only after ~{frac:,.0f} "
            f"epochs, more than {horizon:g} x the {recorded} recorded: too far to predict from this run; ask for "
            f"a lower target")
    epoch = max(1, int(math.ceil(frac - 1e-9)))
    e = run_rows.epoch_energy_j.to_numpy(dtype=float)
    energy, extrapolated = cumulative_energy_j(e, epoch)
    durations = run_rows.epoch_duration_s.to_numpy(dtype=float)
    duration = (float(durations[:epoch].sum()) if epoch <= len(durations)
                else float(durations.sum() + (epoch - len(durations)) * durations.mean()))
    reached = run_rows[run_rows.test_accuracy >= target]
    observed = int(reached.n_epochs.iloc[0]) if len(reached) else None
    observed_energy = cumulative_energy_j(e, observed)[0] if observed is not None else math.nan
    low, high = (_whole(x) for x in curve.epoch_interval(target, level))
    return {"target_accuracy": target, "target_kind": kind, "epoch": epoch, "epoch_fractional": frac,
            "energy_j": energy, "energy_extrapolated": extrapolated, "duration_s": duration,
            "energy_per_epoch_j": float(e.mean()), "recorded_epochs": int(len(run_rows)),
            "observed_epoch": observed, "observed_energy_j": observed_energy, "interval_level": level,
            "epoch_low": low, "epoch_high": high, "energy_low_j": _energy_or(e, low),
            "energy_high_j": _energy_or(e, high)}


def _whole(n: float) -> float:
    """Fractional epochs -> whole epochs (≥ 1); inf and NaN pass through."""
    return n if not math.isfinite(n) else float(max(1, math.ceil(n - 1e-9)))


def _energy_or(epoch_energy_j, n: float) -> float:
    return n if not math.isfinite(n) else cumulative_energy_j(epoch_energy_j, n)[0]


def energy_to_accuracy(model: str, dataset: str, target_accuracy: float | None = None,
                       fraction_of_plateau: float = 0.99, form: str = DEFAULT_FORM, gpu_name: str | None = None,
                       precision: str | None = None, raw_dir: str | Path | None = None,
                       rows: pd.DataFrame | None = None, horizon: float | None = HORIZON) -> EnergyToAccuracy:
    """Epochs and training energy for ``model`` on ``dataset`` to reach a test accuracy.

    A learning curve (``form``) is fitted to every recorded epoch of the
    longest recorded run of ``model`` on ``dataset`` (optionally on
    ``gpu_name`` / in ``precision``); the target is ``target_accuracy`` (a
    fraction, e.g. 0.9) or, when None, ``fraction_of_plateau`` × the fitted
    plateau. Energy is that run's measured cumulative training energy [J].

    Raises
    ------
    NoCurveError
        No recorded run with test accuracy for this model and dataset (the
        message lists the known ones).
    TooFewEpochsError, FitFailedError, TargetUnreachableError, BeyondHorizonError
        Too few epochs, no convergence, a target at/above the plateau, or
        reached only beyond ``horizon`` × the recorded epochs.
    """
    rows = load_rows(raw_dir) if rows is None else rows
    sel = _select_run(rows, model, dataset, gpu_name, precision)
    curve = fit_learning_curve(sel.n_epochs, sel.test_accuracy, form=form, chance=chance_accuracy(sel))
    first = sel.iloc[0]
    return EnergyToAccuracy(model=model, dataset=dataset, gpu_name=str(first.gpu_name),
                            precision=str(first.precision), batch_size=int(first.batch_size),
                            source_file=str(first.source_file), curve=curve,
                            **energy_for_curve(curve, sel, target_accuracy, fraction_of_plateau, horizon))


# --------------------------------------------------------------------------- tables for notebook 06


def fit_table(rows: pd.DataFrame, forms: Sequence[str] = (*FORMS, AUTO),
              fraction_of_plateau: float = 0.99) -> pd.DataFrame:
    """One line per recorded run and curve form: fitted parameters, plateau and the energy to reach
    ``fraction_of_plateau`` × plateau (NaN columns and ``error`` where the fit cannot answer)."""
    out = []
    for _, r in runs(rows).iterrows():
        sel = run_rows(rows, r)
        for form in forms:
            line = {k: r[k] for k in RUN_KEYS} | {"source_file": r.source_file, "epochs": int(r.epochs),
                                                 "final_accuracy": r.final_accuracy, "form": form}
            try:
                curve = fit_learning_curve(sel.n_epochs, sel.test_accuracy, form=form, chance=chance_accuracy(sel))
                line |= {f"fit_{k}": v for k, v in curve.as_dict().items()}
                line |= energy_for_curve(curve, sel, None, fraction_of_plateau) | {"error": ""}
            except AccuracyError as exc:
                line |= {"error": str(exc)}
            out.append(line)
    return pd.DataFrame(out)


def early_stop_validation(rows: pd.DataFrame, ks: Sequence[int] = (5, 10, 15), form: str = DEFAULT_FORM,
                          fraction_of_best: float = 0.99, level: float = 0.9) -> pd.DataFrame:
    """Fit on the first ``k`` epochs of each run, predict when a target is reached, compare with the rows.

    The target of a run is ``fraction_of_best`` × its best measured test
    accuracy (a number a user could have named). Measured: the first recorded
    epoch whose accuracy reaches it, and the cumulative energy up to there.
    Predicted from the first ``k`` epochs only: the curve's epoch for the target
    and energy = measured energy of those ``k`` epochs + further epochs × their
    mean energy per epoch. Errors: predicted − measured, in epochs and joules
    (and %). Also the accuracy RMSE of the k-epoch curve on the epochs after k,
    and its plateau beside the plateau fitted to all epochs; ``predicted_epoch_low``/``_high``
    are the ``level`` interval of :meth:`LearningCurve.epoch_interval` and ``covered`` says
    whether it holds the measured epoch. ``k`` ≥ a run's
    length is skipped; a target above the k-epoch plateau is reported as
    ``reachable = False``. No :data:`HORIZON` is applied: the table shows how
    far off long extrapolations are.
    """
    out = []
    for _, r in runs(rows).iterrows():
        sel = run_rows(rows, r)
        target = fraction_of_best * float(sel.test_accuracy.max())
        reached = sel[sel.test_accuracy >= target]
        measured_epoch = int(reached.n_epochs.iloc[0])
        e_all = sel.epoch_energy_j.to_numpy(dtype=float)
        measured_energy = cumulative_energy_j(e_all, measured_epoch)[0]
        try:
            plateau_all = fit_learning_curve(sel.n_epochs, sel.test_accuracy, form=form,
                                             chance=chance_accuracy(sel)).plateau
        except AccuracyError:
            plateau_all = math.nan
        for k in ks:
            if k >= len(sel):
                continue
            head, rest = sel.iloc[:k], sel.iloc[k:]
            line = {k_: r[k_] for k_ in ("experiment", "gpu_name", "model", "dataset", "precision", "batch_size")}
            line |= {"form": form, "k": k, "recorded_epochs": len(sel), "target_accuracy": target,
                     "measured_epoch": measured_epoch, "measured_energy_j": measured_energy,
                     "reached_within_fit": measured_epoch <= k, "plateau_all": plateau_all}
            try:
                curve = fit_learning_curve(head.n_epochs, head.test_accuracy, form=form, chance=chance_accuracy(head))
            except AccuracyError as exc:
                out.append(line | {"reachable": False, "error": str(exc)})
                continue
            resid = curve.predict(rest.n_epochs) - rest.test_accuracy.to_numpy(dtype=float)
            line |= {"chosen_form": curve.form, "plateau_k": curve.plateau,
                     "rmse_rest": float(np.sqrt(np.nanmean(resid ** 2)))}
            try:
                frac = curve.epoch_for(target)
            except TargetUnreachableError as exc:
                out.append(line | {"reachable": False, "error": str(exc)})
                continue
            epoch = max(1, int(math.ceil(frac - 1e-9)))
            energy = cumulative_energy_j(head.epoch_energy_j.to_numpy(dtype=float), epoch)[0]
            low, high = (_whole(x) for x in curve.epoch_interval(target, level))
            out.append(line | {"reachable": True, "error": "", "predicted_epoch": epoch,
                               "predicted_epoch_low": low, "predicted_epoch_high": high,
                               "covered": bool(low <= measured_epoch <= high),
                               "predicted_energy_j": energy, "epoch_error": epoch - measured_epoch,
                               "energy_error_j": energy - measured_energy,
                               "energy_error_pct": 100.0 * (energy - measured_energy) / measured_energy})
    cols = ["experiment", "gpu_name", "model", "dataset", "precision", "batch_size", "form", "chosen_form", "k",
            "recorded_epochs",
            "target_accuracy", "measured_epoch", "measured_energy_j", "reached_within_fit", "reachable",
            "predicted_epoch", "predicted_epoch_low", "predicted_epoch_high", "covered", "predicted_energy_j",
            "epoch_error", "energy_error_j", "energy_error_pct",
            "plateau_k", "plateau_all", "rmse_rest", "error"]
    return pd.DataFrame(out, columns=cols)


# --------------------------------------------------------------------------- summaries of notebook 06 (its figures: greenai.figures.ch4)


def early_stop_summary(validation: pd.DataFrame) -> pd.DataFrame:
    """:func:`early_stop_validation`'s cases summarised per form and k.

    Columns: runs, reachable (count), interval_covers (intervals that hold the
    measured epoch), median absolute epoch error [epochs] and energy error [%],
    median RMSE of the k-epoch curve on the later epochs [accuracy, fraction].
    """
    return validation.groupby(["form", "k"]).agg(
        runs=("model", "count"), reachable=("reachable", "sum"),
        interval_covers=("covered", lambda s: int((s == True).sum())),  # noqa: E712 (NaN where unreachable)
        median_abs_epoch_error=("epoch_error", lambda s: s.abs().median()),
        median_abs_energy_error_pct=("energy_error_pct", lambda s: s.abs().median()),
        median_rmse_rest=("rmse_rest", "median"))


def late_accuracy_gain(run_rows: pd.DataFrame) -> float:
    """Test accuracy gained over the last third of one run's recorded epochs (fraction; rows in epoch order)."""
    n = len(run_rows)
    start = run_rows.test_accuracy.iloc[n - 1 - n // 3]
    return float(run_rows.test_accuracy.iloc[-1] - start)
