"""Energy per training phase from design windows (thesis 2.2, 4.1): the arithmetic, no torch.

A design window runs steps that execute only the first phases of a training
step (data only; + forward; + backward; the full step).
:func:`split_phase_energy` splits the per-step energy into phases by difference
and by a non-negative least-squares fit; :func:`greenai.train.phase_energy_by_design`
measures the windows on a GPU.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # no import at run time: the analysis stays light
    from greenai.energy.results import Measurement

#: phases of a training step, in order
PHASES: tuple[str, ...] = ("h2d", "forward", "backward", "optimizer")
#: design windows: each runs the phases up to and including its name
DESIGN_WINDOWS: tuple[str, ...] = ("h2d", "forward", "backward", "optimizer")


@dataclass
class DesignWindow:
    """One window of :func:`phase_energy_by_design`: steps run up to phase ``upto``."""

    upto: str
    repeat: int
    steps: int
    duration_s: float
    energy_j: float
    phase_s: dict[str, float]
    counter_updates: float = math.nan
    uncertainty_j: float = math.nan
    #: the meter's measurement when measured here (None when rebuilt from recorded rows)
    measurement: Measurement | None = field(default=None, repr=False, compare=False)

    def as_row(self) -> dict:
        row = {"window": self.upto, "window_repeat": self.repeat, "steps": self.steps,
               "duration_s": self.duration_s, "energy_j": self.energy_j,
               "counter_updates": self.counter_updates, "uncertainty_j": self.uncertainty_j}
        for phase in PHASES:
            row[f"{phase}_s"] = self.phase_s.get(phase, 0.0)
        return row


@dataclass
class PhaseSplit:
    """Energy per training step split into phases [J per step], two ways.

    ``by_difference[k]``: energy per step of window "up to k" minus that of the
    window before it. ``by_regression[k]``: fitted power of phase k [W] times
    its mean time per full step. ``power_w``: fitted power per phase (and
    ``"other"`` for time outside the phases).
    """

    windows: list[DesignWindow]
    by_difference_j: dict[str, float] = field(default_factory=dict)
    by_regression_j: dict[str, float] = field(default_factory=dict)
    power_w: dict[str, float] = field(default_factory=dict)
    full_step_energy_j: float = math.nan
    full_step_phase_s: dict[str, float] = field(default_factory=dict)


def split_phase_energy(windows: list[DesignWindow]) -> PhaseSplit:
    """Split per-step energy into phases from design windows (difference and regression)."""
    per_step = {}
    for upto in DESIGN_WINDOWS:
        vals = [w.energy_j / w.steps for w in windows if w.upto == upto]
        per_step[upto] = float(np.mean(vals)) if vals else math.nan
    by_diff, previous = {}, 0.0
    for upto in DESIGN_WINDOWS:
        by_diff[upto] = per_step[upto] - previous
        previous = per_step[upto]
    # regression E_w = sum_k p_k t_k,w + p_other * (T_w - sum_k t_k,w), non-negative powers
    names = list(PHASES) + ["other"]
    a = np.array([[w.phase_s.get(p, 0.0) for p in PHASES]
                  + [max(w.duration_s - sum(w.phase_s.values()), 0.0)] for w in windows])
    b = np.array([w.energy_j for w in windows])
    power = dict.fromkeys(names, math.nan)
    ok = np.isfinite(b).all() and len(windows) >= len(names)
    if ok:
        from scipy.optimize import nnls  # heavy: scipy

        coef, _ = nnls(a, b)
        power = dict(zip(names, map(float, coef)))
    full = [w for w in windows if w.upto == DESIGN_WINDOWS[-1]]
    mean_phase_s = {p: float(np.mean([w.phase_s.get(p, 0.0) / w.steps for w in full])) for p in PHASES} if full else {}
    by_reg = {p: power[p] * mean_phase_s.get(p, math.nan) for p in PHASES}
    return PhaseSplit(windows=windows, by_difference_j=by_diff, by_regression_j=by_reg, power_w=power,
                      full_step_energy_j=per_step[DESIGN_WINDOWS[-1]], full_step_phase_s=mean_phase_s)

