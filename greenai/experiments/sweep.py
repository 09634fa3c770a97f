"""The sweep driver: validate once, skip what the store already holds, run the rest, free the GPU.

:func:`sweep` is the loop every runner shares (:mod:`greenai.experiments.runners`
plugs a ``pending`` and a ``run_spec`` into it; its :func:`~greenai.experiments.runners.run`
dispatches specs of one kind to their runner). :mod:`greenai.experiments.executors` spreads specs
over Dask workers: each worker runs its cell through the same runner on a
:class:`~greenai.experiments.store.MemoryStore` (``store=``) and returns the
rows, which the client appends through the one :class:`RowStore`.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from greenai.experiments.grids import RunSpec, validate
from greenai.experiments.store import RowStore


@dataclass
class SweepSummary:
    """Rows written and skipped (already present) by one call of a runner, and where the time went.

    ``seconds`` is the sweep itself [s]: under the Dask executor from the first cell submitted to the
    last row written, without ``start_s`` (the executor bringing its cluster and the workers'
    environments up, NaN in-process) and without ``warmup_s`` (the warm-up of every worker before the
    first cell, wall time [s]); ``warmup`` holds each worker's warm-up record by worker label
    (:func:`greenai.experiments.environment.warm_up`: ``seconds`` and what it did). ``order`` lists the
    run ids of the cells in the order they were submitted (longest first; a retried cell appears again).
    ``failed`` lists the cells that did not finish (:class:`~greenai.experiments.executors.CellFailure`:
    a Dask cell whose worker died or raised twice); ``cells_per_worker`` counts finished cells per GPU
    (or worker) under an executor.
    """

    written: int = 0
    skipped: int = 0
    seconds: float = 0.0
    failed: list = field(default_factory=list)
    cells_per_worker: dict = field(default_factory=dict)
    start_s: float = math.nan
    warmup_s: float = 0.0
    warmup: dict = field(default_factory=dict)
    order: list = field(default_factory=list)


def progress_bar(total: int, desc: str, enabled: bool):
    """A tqdm bar on stderr (disabled when ``enabled`` is false)."""
    from tqdm.auto import tqdm  # heavy: tqdm

    return tqdm(total=total, desc=desc, disable=not enabled, file=sys.stderr, dynamic_ncols=True)


def sweep(specs: Sequence[RunSpec], csv_path: str | Path, columns: Sequence[str], key_cols: Sequence[str],
          pending: Callable, run_spec: Callable, env=None, data_root=None, progress: bool = True,
          validate_first: bool = True, store=None, cache=None, allow_raw: bool | None = None) -> SweepSummary:
    """The loop every runner shares.

    Validates all specs before any GPU time is spent (unless the caller did,
    ``validate_first=False``), asks ``pending(spec, base_key, done_keys)`` what
    of each spec the CSV still lacks (``(units, skipped, payload)``; ``units`` =
    0 skips the spec), then for each remaining spec prepares model and data,
    calls ``run_spec(spec, prepared, payload, store, done_keys, bar)`` →
    ``(written, skipped)``, and frees the GPU memory, with a progress bar over
    the pending units. ``store`` (default a :class:`RowStore` on ``csv_path``)
    receives the rows: a Dask worker passes a :class:`~greenai.experiments.store.MemoryStore`,
    and its process-wide ``cache`` of loaded datasets (default: one for this call).
    ``allow_raw`` lets the default store write into the committed ``results/raw``
    (default: when ``env`` runs on a CUDA device, i.e. a GPU campaign).
    """
    from greenai.experiments.environment import make_environment  # torch

    specs = list(specs)
    if validate_first:
        validate(specs, data_root=data_root)
    env = env or make_environment()
    own = store is None
    if own:
        if allow_raw is None:
            allow_raw = str(env.device).startswith("cuda")
        store = RowStore(csv_path, columns, allow_raw=allow_raw,
                         declared={"precision": {s.precision for s in specs}})
    try:
        return _sweep(specs, csv_path, key_cols, pending, run_spec, env, store, cache, data_root, progress)
    finally:
        if own:
            store.close()  # the file's writer lock


def _sweep(specs, csv_path, key_cols, pending, run_spec, env, store, cache, data_root, progress) -> SweepSummary:
    from greenai.experiments.environment import DataCache, free, prepare, spec_meta_key  # torch

    done = store.keys(key_cols)
    cache = cache if cache is not None else DataCache(data_root)
    summary = SweepSummary()
    start = time.perf_counter()
    todo = []
    for spec in specs:
        units, skipped, payload = pending(spec, spec_meta_key(spec, env), done)
        summary.skipped += skipped
        if units:
            todo.append((spec, units, payload))
    bar = progress_bar(sum(units for _, units, _ in todo), Path(csv_path).stem, progress)
    try:
        for spec, _, payload in todo:
            bar.set_description(f"{spec.model}/{spec.dataset}/b{spec.batch_size}/r{spec.repeat}")
            prepared = prepare(spec, env, cache)
            try:
                written, skipped = run_spec(spec, prepared, payload, store, done, bar)
            finally:
                free(prepared, env.device)
            summary.written += written
            summary.skipped += skipped
    finally:
        bar.close()
    summary.seconds = time.perf_counter() - start
    return summary
