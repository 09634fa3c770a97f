"""Experiment grids, run resumably, one CSV row per measured epoch, window or layer (thesis 2.3, 4.1).

A package split along its seams; each concept has one home:

- :mod:`~greenai.experiments.grids`: :class:`RunSpec`, :class:`Grid`, YAML grids, :func:`validate`;
- :mod:`~greenai.experiments.store`: the row store (:class:`RowStore`, the one writer), :func:`load_results`;
- :mod:`~greenai.experiments.environment`: device, meter and row metadata (:func:`make_environment`);
- :mod:`~greenai.experiments.sweep`: the sweep driver every runner shares;
- :mod:`~greenai.experiments.runners`: :func:`run_training`, :func:`run_phase_design`,
  :func:`run_layer_profile`, the registry :data:`RUNNERS` and :func:`run`;
- :mod:`~greenai.experiments.cost`: a cell's expected duration [s] (:func:`cell_cost_s`), :func:`longest_first`;
- :mod:`~greenai.experiments.executors`: where the cells run (:class:`InProcess`, :class:`DaskExecutor`).

Only the environment and the runners import torch; names are loaded lazily, so
``from greenai import experiments as ex; ex.load_results(...)`` does not.
The analysis of recorded rows lives in :mod:`greenai.analysis`, the figures in
:mod:`greenai.figures`. The package and the row store in full: ``docs/experiments.md``.
"""

from __future__ import annotations

import importlib

_HOMES = {
    "greenai.experiments.grids": ("KINDS", "SOURCES", "GridError", "RunSpec", "Grid", "grid_from_dict", "load_grids",
                                  "expand", "validate", "missing_real_data"),
    "greenai.experiments.store": ("KEY_COLUMNS", "TRAIN_COLUMNS", "PHASE_COLUMNS", "LAYER_COLUMNS", "COLUMNS",
                                  "ResultsFileError", "UnknownColumnsError", "SchemaWarning", "RowStore", "MemoryStore",
                                  "WriterBusyError", "ProtectedResultsError", "MixedResultsError",
                                  "DroppedRowsWarning", "check_compatible",
                                  "PLACEMENT_COLUMNS",
                                  "append_row", "read_rows", "load_results", "MissingResultsError", "kind_of"),
    "greenai.experiments.environment": ("Environment", "make_environment", "model_macs", "DataCache", "warm_up"),
    "greenai.experiments.cost": ("cell_cost_s", "longest_first"),
    "greenai.experiments.sweep": ("SweepSummary", "sweep"),
    "greenai.experiments.executors": ("InProcess", "DaskExecutor", "CellFailure", "local_gpu_cluster",
                                      "local_cpu_cluster"),
    "greenai.experiments.runners": ("RUNNERS", "run", "run_training", "run_phase_design", "run_layer_profile"),
}
_WHERE = {name: module for module, names in _HOMES.items() for name in names}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'greenai.experiments' has no attribute {name!r}")


def __dir__():
    return __all__
