"""The sweep driver: validate once, skip what the store already holds, run the rest, free the GPU.

:func:`sweep` is the loop every runner shares (:mod:`greenai.experiments.runners`
plugs a ``pending`` and a ``run_spec`` into it); :func:`run` dispatches specs of
one kind to their runner. An executor that spreads specs over several GPUs
(or processes) reuses :func:`sweep` per worker with its own :class:`RowStore`
file, or splits ``specs`` and calls :func:`run` per worker.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from greenai.experiments.grids import GridError, RunSpec, validate
from greenai.experiments.store import RowStore


@dataclass
class SweepSummary:
    """Rows written and skipped (already present) by one call of a runner."""

    written: int = 0
    skipped: int = 0
    seconds: float = 0.0


def progress_bar(total: int, desc: str, enabled: bool):
    """A tqdm bar on stderr (disabled when ``enabled`` is false)."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, disable=not enabled, file=sys.stderr, dynamic_ncols=True)


def sweep(specs: Sequence[RunSpec], csv_path: str | Path, columns: Sequence[str], key_cols: Sequence[str],
          pending: Callable, run_spec: Callable, env=None, data_root=None, progress: bool = True,
          validate_first: bool = True) -> SweepSummary:
    """The loop every runner shares.

    Validates all specs before any GPU time is spent (unless the caller did,
    ``validate_first=False``), asks ``pending(spec, base_key, done_keys)`` what
    of each spec the CSV still lacks (``(units, skipped, payload)``; ``units`` =
    0 skips the spec), then for each remaining spec prepares model and data,
    calls ``run_spec(spec, prepared, payload, store, done_keys, bar)`` →
    ``(written, skipped)``, and frees the GPU memory, with a progress bar over
    the pending units.
    """
    from greenai.experiments import environment as _env

    specs = list(specs)
    if validate_first:
        validate(specs, data_root=data_root)
    env = env or _env.make_environment()
    store = RowStore(csv_path, columns)
    done = store.keys(key_cols)
    cache = _env.DataCache(data_root)
    summary = SweepSummary()
    start = time.perf_counter()
    todo = []
    for spec in specs:
        units, skipped, payload = pending(spec, _env.spec_meta_key(spec, env), done)
        summary.skipped += skipped
        if units:
            todo.append((spec, units, payload))
    bar = progress_bar(sum(units for _, units, _ in todo), Path(csv_path).stem, progress)
    try:
        for spec, _, payload in todo:
            bar.set_description(f"{spec.model}/{spec.dataset}/b{spec.batch_size}/r{spec.repeat}")
            prepared = _env.prepare(spec, env, cache)
            try:
                written, skipped = run_spec(spec, prepared, payload, store, done, bar)
            finally:
                _env.free(prepared, env.device)
            summary.written += written
            summary.skipped += skipped
    finally:
        bar.close()
    summary.seconds = time.perf_counter() - start
    return summary


def runners() -> dict[str, Callable]:
    """The runner of each kind of run."""
    from greenai.experiments import runners as _r

    return {"train": _r.run_training, "phases": _r.run_phase_design, "layers": _r.run_layer_profile}


def run(specs: Sequence[RunSpec], csv_path: str | Path, **kwargs) -> SweepSummary:
    """Dispatch specs (all of one kind) to their runner."""
    kinds = {s.kind for s in specs}
    if len(kinds) != 1:
        raise GridError([f"one CSV holds one kind of run; got kinds {sorted(kinds)}"])
    return runners()[kinds.pop()](specs, csv_path, **kwargs)
