"""The search of :class:`~greenai.dispatch.decomposition.PatternDecomposition` for one start slot.

Best-first over the minimal level-count patterns, bounded by Kelley cuts
(:meth:`PatternSearch.cut`: every pattern's LP value bounds all patterns at
once), with a depth-first branch-and-bound inside a pattern whose LP is not a
plan, cap cuts that drop patterns that cannot meet an emission cap, and HiGHS'
MIP solver as the fallback (``NODE_BUDGET``, ``LP_BUDGET``, ``FALLBACK_BUDGET``).
The problem it searches is a ``PatternDecomposition`` with its window loaded
and configured (``docs/dispatch_decomposition.md``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import highspy
import numpy as np

from greenai.dispatch.model import MIP_REL_GAP, DispatchSolveError

_INF = highspy.kHighsInf
#: Nodes of the in-pattern branch-and-bound before handing the pattern to HiGHS' MIP solver.
NODE_BUDGET = 40
#: LPs or MIP fallbacks of one start slot's pattern search after which that slot is handed
#: whole to HiGHS' MIP solver on the hull-tightened model (sunny windows with many cheap-band
#: hours, where the relaxation of "no import and export in one hour" leaves most patterns open).
LP_BUDGET, FALLBACK_BUDGET = 150, 4
#: Tolerance when reading an LP value as integral.
INTEGRAL_TOL = 1e-7
#: Import and export both above this in one slot [W] count as simultaneous (forbidden).
SIMULTANEOUS_TOL_W = 1e-6


@dataclass
class Incumbent:
    """Best plan so far: its objective value, all columns, and its start slot."""

    value: float = math.inf
    cols: np.ndarray | None = None
    start: int = 0


class PatternSearch:
    """Best-first search over patterns with Kelley cuts, then branch-and-bound inside a pattern,
    for one start slot; ``incumbent`` is shared across start slots and improved in place."""

    def __init__(self, problem, incumbent: Incumbent, start: int = 0, candidates=None,
                 objective: str = "cost", caps=None):
        self.p = problem
        self.inc = incumbent
        self.start = start
        self.candidates = candidates
        self.objective = objective
        self.caps = {name: float(v) for name, v in (caps or {}).items() if math.isfinite(v)}  # as configured
        self.cap_bound = {}  # per capped metric: lower bound on each pattern's LP minimum of it (Kelley cuts)
        self.lps = self.nodes = self.evaluated = self.fallbacks = 0
        self.closed_bound = math.inf  # lowest bound of the subtrees pruned inside patterns
        self.bound = np.full(len(problem.patterns), math.inf)
        self.done = np.ones(len(problem.patterns), bool)

    @property
    def best(self) -> float:
        return self.inc.value

    def tol(self) -> float:
        """Pruning tolerance: a tenth of the allowed gap, plus LP round-off."""
        return MIP_REL_GAP / 10 * abs(self.best) + 1e-12 if math.isfinite(self.best) else 0.0

    def lower_bound(self) -> float:
        """Proven lower bound on every plan of this start slot."""
        open_ = np.where(self.done, np.inf, self.bound)
        return min(float(open_.min()) if len(open_) else math.inf, self.closed_bound,
                   self.best if self.evaluated or self.nodes else math.inf)

    def _offer(self, value: float, cols: np.ndarray) -> None:
        # Strictly better only: among equal plans the earlier found (earlier start) stays.
        if value < self.inc.value - (self.tol() if self.inc.cols is not None else 0.0):
            self.inc.value, self.inc.cols, self.inc.start = value, cols.copy(), self.start

    def feasible(self, levels: np.ndarray, cols: np.ndarray) -> bool:
        return is_integral(levels) and bool(self.p.simultaneous(cols).max() <= SIMULTANEOUS_TOL_W)

    def run(self) -> None:
        p = self.p
        patterns = p.patterns
        K, T = p.gpu.levels, p.hours
        # Root: counts free. Its value bounds every pattern; its counts pick the first pattern.
        p.set_counts(np.zeros(K), np.full(K, T))
        root = p.solve_lp()
        self.lps += 1
        if root is None:
            self.closed_bound = math.inf
            return
        allowed = np.ones(len(patterns), bool) if self.candidates is None else self.candidates.copy()
        allowed &= p.pattern_hours <= T - self.start
        bound = np.where(allowed, root[0], math.inf)  # lower bound on each pattern's optimum
        done = ~allowed  # pattern's optimum known (or proven >= incumbent)
        self.bound, self.done = bound, done
        if not allowed.any() or root[0] >= self.best - self.tol():
            self.closed_bound = min(self.closed_bound, root[0])
            self.done[:] = True
            return
        if self.feasible(root[2], root[3]):  # the relaxation's optimum is a plan: nothing can beat it
            self._offer(root[0], root[3])
            self.closed_bound = min(self.closed_bound, root[0])
            self.done[:] = True
            return
        lp_value = np.full(len(patterns), np.nan)
        counts_root = root[2].sum(axis=0)
        distance = np.where(allowed, np.abs(patterns - counts_root).sum(axis=1), np.inf)
        order_hint = int(np.argmin(distance))
        while True:
            if self.lps > LP_BUDGET or self.fallbacks > FALLBACK_BUDGET:
                self._whole()
                return
            if order_hint is not None:
                j, order_hint = order_hint, None
            else:
                masked = np.where(done, np.inf, bound)
                j = int(np.argmin(masked))
                if masked[j] >= self.best - self.tol():
                    break
            if np.isnan(lp_value[j]):
                p.set_pattern(patterns[j], self.start)
                res = p.solve_lp()
                self.lps += 1
                self.evaluated += 1
                if res is None:
                    lp_value[j] = math.inf
                    bound[j] = math.inf
                    done[j] = True
                    if self.caps:
                        self._cap_cut(j)
                    continue
                value, duals, levels, cols = res
                lp_value[j] = value
                # Kelley cut: F(m) >= F(n_j) + duals·(m - n_j) + (running-hours term) for every pattern m.
                bound[:] = np.maximum(bound, self.cut(value, duals, j))
                bound[j] = value
                if self.feasible(levels, cols):
                    done[j] = True
                    self._offer(value, cols)
                continue
            # LP of pattern j already solved and not a plan: branch inside it.
            p.set_pattern(patterns[j], self.start)
            self._budget = NODE_BUDGET
            self._pattern_low = math.inf
            if not self._branch(0):
                self._mip()
            done[j] = True
            bound[j] = max(bound[j], self._pattern_low)  # lowest leaf or pruned subtree: a bound on the pattern

    def cut(self, value: float, duals: np.ndarray, j: int) -> np.ndarray:
        """Lower bound on every pattern's LP value from pattern ``j``'s LP (value, count-row duals,
        and the running rows' duals left by ``solve_lp``). The LP value is a convex function of its
        right-hand sides: the counts and which hours run (1 for the pattern's hours from the start
        slot, 0 elsewhere), so with H(L) the running duals summed over the first L hours from the
        start, F(m) >= F(n_j) + duals·(m − n_j) + H(|m|) − H(|n_j|)."""
        p = self.p
        H = np.zeros(p.hours - self.start + 1)
        np.cumsum(p.level_duals[self.start:], out=H[1:])
        length = p.pattern_length if self.start == 0 else np.minimum(p.pattern_length, p.hours - self.start)
        at = p.patterns @ duals
        at += H[length]
        at += value - at[j]
        return at

    def _cap_cut(self, j: int) -> None:
        """Pattern ``j``'s LP is infeasible under the caps (the ε-constraint's emission cap, the tie
        stage's cap on the first objective). For each capped metric in turn, the pattern's LP
        minimising that metric with its own cap lifted gives a Kelley cut on that minimum, a convex
        function of the right-hand sides; every pattern the cut puts above the cap (by more than a
        margin for the duals' round-off) has no plan under the caps and is dropped at once."""
        p = self.p
        h = p.highs
        money = p.money_cols.astype(np.int32)
        for name, limit in self.caps.items():
            row = int(p.cap_rows[name])
            h.changeColsCost(len(money), money, p.metric(name))
            h.changeRowBounds(row, -_INF, _INF)
            res = p.solve_lp()
            self.lps += 1
            h.changeColsCost(len(money), money, p.metric(self.objective))
            h.changeRowBounds(row, -_INF, limit)
            margin = 1e-8 + 1e-7 * abs(limit)
            if res is None or res[0] <= limit + margin:  # this cap alone does not exclude the pattern
                continue
            cut = self.cut(res[0], res[1], j)
            self.cap_bound[name] = cut if name not in self.cap_bound else np.maximum(self.cap_bound[name], cut)
            out = (self.cap_bound[name] > limit + margin) & ~self.done
            self.done |= out
            self.bound[out] = math.inf
            return

    def _whole(self) -> None:
        """Hand this start slot whole to HiGHS (hull-tightened MIP), cut off at the incumbent."""
        if self.candidates is not None:  # tie stage: the candidates' patterns only would need a MIP each; take all
            pass
        status, value, cols, dual_bound, nodes = self.p.whole_mip(self.best)
        self.nodes += nodes
        self.fallbacks += 1
        self.whole = True
        if status == highspy.HighsModelStatus.kOptimal:
            self._offer(value, cols)
        elif status not in (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kObjectiveBound):
            raise DispatchSolveError(f"HiGHS stopped on a window without an optimum: {status}")
        low = dual_bound if math.isfinite(dual_bound) else (self.best if status != highspy.HighsModelStatus.kInfeasible else math.inf)
        self.closed_bound = min(self.closed_bound, low)
        # Every pattern's bound is now at least the MIP's proven bound.
        self.bound = np.where(self.bound < math.inf, np.maximum(self.bound, low), self.bound)
        self.done[:] = True

    def _mip(self) -> None:
        """HiGHS branch-and-cut on the Level and GridMode binaries with the counts fixed, cut off at the incumbent."""
        p = self.p
        h = p.highs
        n = len(p.int_cols)
        h.changeColsIntegrality(n, p.int_cols, np.ones(n, np.uint8))
        if math.isfinite(self.best):
            h.setOptionValue("objective_bound", self.best)
        h.run()
        self.nodes += h.getInfo().mip_node_count
        self.fallbacks += 1
        status = h.getModelStatus()
        dual_bound = h.getInfo().mip_dual_bound
        self.closed_bound = min(self.closed_bound, dual_bound if math.isfinite(dual_bound) else self.best)
        if status != highspy.HighsModelStatus.kInfeasible:
            self._pattern_low = min(self._pattern_low, dual_bound if math.isfinite(dual_bound) else self.best)
        h.setOptionValue("objective_bound", _INF)
        h.changeColsIntegrality(n, p.int_cols, np.zeros(n, np.uint8))
        if status == highspy.HighsModelStatus.kOptimal:
            self._offer(h.getInfo().objective_function_value, np.asarray(h.getSolution().col_value))
        elif status not in (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kObjectiveBound):
            raise DispatchSolveError(f"HiGHS stopped on a pattern without an optimum: {status}")

    def _branch(self, depth: int) -> bool:
        """Depth-first branch-and-bound with the counts fixed, branching on one
        hour's level (levels ≤ m vs > m, the split of its fractional mass), then
        on one hour's grid mode (import only vs export only) where a plan with
        whole levels still imports and exports in the same hour.
        Returns False when the node budget ran out (the caller falls back to HiGHS)."""
        p = self.p
        h = p.highs
        res = p.solve_lp()
        self.lps += 1
        self.nodes += 1
        self._budget -= 1
        if res is None:
            return True
        value, _, levels, cols = res
        if value >= self.best - self.tol():
            self.closed_bound = min(self.closed_bound, value)  # pruned: this subtree costs at least value
            self._pattern_low = min(self._pattern_low, value)
            return True
        spread = 1.0 - levels.max(axis=1)
        both = p.simultaneous(cols)
        if spread.max() <= INTEGRAL_TOL and is_integral(levels) and both.max() <= SIMULTANEOUS_TOL_W:
            self._pattern_low = min(self._pattern_low, value)
            self._offer(value, cols)
            return True
        if self._budget <= 0:
            return False
        if spread.max() > INTEGRAL_TOL:
            t = int(np.argmax(spread))
            if p.gpu.levels == 1:  # one level: the hour is off or on
                col = p.level_cols[t].astype(np.int32)
                hi = p.col_upper[col].copy()
                for lo_, hi_ in ((0.0, 0.0), (1.0, 1.0)):
                    h.changeColsBounds(1, col, np.array([lo_]), np.array([hi_]))
                    p.col_upper[col] = hi_
                    ok = self._branch(depth + 1)
                    h.changeColsBounds(1, col, np.array([0.0]), hi)
                    p.col_upper[col] = hi
                    if not ok:
                        return False
                return True
            cumulative = np.cumsum(levels[t])
            m = int(np.argmin(np.abs(cumulative[:-1] - cumulative[-1] / 2)))  # levels 0..m vs m+1..K-1
            K = p.gpu.levels
            cols_t = p.level_cols[t].astype(np.int32)
            lo, hi = p.col_lower[cols_t], p.col_upper[cols_t].copy()
            low_first = cumulative[m] >= cumulative[-1] - cumulative[m]  # the side with more of the hour first
            sides = ((np.arange(K) <= m), (np.arange(K) > m))
            for allowed in (sides if low_first else sides[::-1]):
                new_hi = np.where(allowed, hi, 0.0)
                h.changeColsBounds(K, cols_t, lo, new_hi)
                p.col_upper[cols_t] = new_hi
                ok = self._branch(depth + 1)
                h.changeColsBounds(K, cols_t, lo, hi)
                p.col_upper[cols_t] = hi
                if not ok:
                    return False
            return True
        t = int(np.argmax(both))
        col = np.array([p.mode_cols[t]], np.int32)
        for mode in (1.0, 0.0):  # import only, then export only
            h.changeColsBounds(1, col, np.array([mode]), np.array([mode]))
            ok = self._branch(depth + 1)
            h.changeColsBounds(1, col, np.array([0.0]), np.array([1.0]))
            if not ok:
                return False
        return True


def is_integral(values: np.ndarray) -> bool:
    """Whether every value is within :data:`INTEGRAL_TOL` of an integer."""
    return bool(np.abs(values - np.round(values)).max() <= INTEGRAL_TOL)
