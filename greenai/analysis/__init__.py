"""Analysis of recorded rows, by chapter: pure pandas/numpy/statsmodels, no torch.

:mod:`greenai.analysis.kpi` (chapter 4: per run, summaries, percent changes,
the log-log MACs fit, phase-energy tables, totals over epochs) and
:mod:`greenai.analysis.phases` (the arithmetic of phase energy from design
windows). Reading the rows: :func:`greenai.experiments.store.load_results`.
"""

from greenai.analysis.kpi import (LogLogFit, compare_with_recorded, loglog_fit, per_run, percent_change, phase_energy_table, summarize,
                                  total_energy_over_epochs)
from greenai.analysis.phases import DESIGN_WINDOWS, PHASES, DesignWindow, PhaseSplit, split_phase_energy
from greenai.experiments.store import MissingResultsError, load_results

__all__ = ["LogLogFit", "compare_with_recorded", "loglog_fit", "per_run", "percent_change", "phase_energy_table", "summarize",
           "total_energy_over_epochs", "DESIGN_WINDOWS", "PHASES", "DesignWindow", "PhaseSplit", "split_phase_energy",
           "MissingResultsError", "load_results"]
