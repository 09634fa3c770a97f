"""The three runners: ``train`` (epochs or windows), ``phases`` (design windows), ``layers`` (profiles).

``train`` (:func:`run_training`)
    Warm-up steps (excluded), then ``epochs`` measured windows. A window is a
    full epoch (default), a fixed ``max_steps`` or an automatically sized
    window of at least ``window_s`` seconds (steps chosen from the warm-up's
    step time; recorded). Per-epoch energy of a partial window is extrapolated
    linearly by samples and flagged (``epoch_energy_extrapolated``).
    Multi-epoch runs checkpoint model, optimiser and RNG state after every
    epoch so that a resumed run continues exactly where it stopped.
``phases`` (:func:`run_phase_design`)
    The windows of :func:`greenai.train.phase_energy_by_design`, one row each.
``layers`` (:func:`run_layer_profile`)
    :func:`greenai.profile.profile_layers`: one row per layer type and per layer.

:data:`RUNNERS` maps each kind to its runner; :func:`run` dispatches specs of one kind.
"""

from __future__ import annotations

import copy
import math
import os
from pathlib import Path
from typing import Callable, Sequence

import torch

from greenai import train as _train
from greenai.experiments.environment import Environment, Prepared, now
from greenai.experiments.grids import GridError, RunSpec
from greenai.experiments.store import (KEY_COLUMNS, LAYER_COLUMNS, PHASE_COLUMNS, TRAIN_COLUMNS, RowStore,
                                      measurement_fields, row_key)
from greenai.experiments.sweep import SweepSummary, sweep


def run_training(specs: Sequence[RunSpec], csv_path: str | Path, env: Environment | None = None,
                 data_root=None, checkpoint_dir: str | Path | None = None, progress: bool = True,
                 log: Callable[[str], None] | None = None, validate_first: bool = True, store=None,
                 cache=None, allow_raw: bool | None = None) -> SweepSummary:
    """Run ``train`` specs, appending one row per measured epoch/window to ``csv_path``.

    Parameters
    ----------
    specs : sequence of RunSpec
        Validated as a whole first (see :func:`validate`).
    csv_path : path
        Results CSV (created with a header, or appended to; rows already there are skipped).
    env : Environment, optional
        Device and meter; default :func:`make_environment` ().
    checkpoint_dir : path, optional
        Where multi-epoch runs keep their state between epochs (default
        ``<csv folder>/.checkpoints``); a finished run deletes its checkpoint.
    log : callable, optional
        Receives one line per written row (for device logs).
    store : RowStore or MemoryStore, optional
        Where rows go (default a :class:`RowStore` on ``csv_path``; a Dask worker's memory).
    cache : DataCache, optional
        Loaded datasets to reuse (a Dask worker keeps one for all its cells).
    allow_raw : bool, optional
        Let the default store write into the committed ``results/raw`` (default:
        on a CUDA device; see :func:`~greenai.experiments.sweep.sweep`).
    """
    specs = list(specs)
    if any(s.kind != "train" for s in specs):
        raise GridError([f"{s.describe()}: kind {s.kind!r} given to run_training" for s in specs if s.kind != "train"])
    key_cols = KEY_COLUMNS["train"]
    ckpt_dir = Path(checkpoint_dir) if checkpoint_dir is not None else Path(csv_path).parent / ".checkpoints"

    def run_spec(spec, prepared, missing, writer, done, bar):
        return _run_one_training(spec, prepared, missing, writer, ckpt_dir, log, bar), 0

    return sweep(specs, csv_path, TRAIN_COLUMNS, key_cols, PENDING["train"], run_spec, env, data_root, progress,
                 validate_first, store, cache, allow_raw)


def _pending_train(spec: RunSpec, base: dict, done: set) -> tuple[int, int, list[int]]:
    """(windows missing, windows present, the missing epoch indices) of a ``train`` spec."""
    key_cols = KEY_COLUMNS["train"]
    missing = [e for e in range(spec.epochs) if row_key({**base, "epoch_index": e}, key_cols) not in done]
    return len(missing), spec.epochs - len(missing), missing


def _pending_phases(spec: RunSpec, base: dict, done: set) -> tuple[int, int, None]:
    """(1, 0) when a ``phases`` spec lacks any of its windows, else (0, present)."""
    key_cols = KEY_COLUMNS["phases"]
    wanted = [row_key({**base, "window": w, "window_repeat": r}, key_cols)
              for r in range(spec.epochs) for w in _train.DESIGN_WINDOWS]
    present = sum(k in done for k in wanted)
    return (0, present, None) if present == len(wanted) else (1, 0, None)


def _pending_layers(spec: RunSpec, base: dict, done: set) -> tuple[int, int, None]:
    """(1, 0) when a ``layers`` spec has no rows yet, else (0, 1)."""
    key_cols = KEY_COLUMNS["layers"]
    profiled = row_key(base, key_cols[:8]) in {k[:8] for k in done}
    return (0, 1, None) if profiled else (1, 0, None)


#: what of a spec the rows ``done`` still lack, per kind: ``pending(spec, base_key, done)`` →
#: ``(units, skipped, payload)`` (``units`` = 0: nothing to run); the executors ask it too
PENDING: dict[str, Callable] = {"train": _pending_train, "phases": _pending_phases, "layers": _pending_layers}


def _run_one_training(spec: RunSpec, prep: Prepared, missing: list[int], writer: RowStore, ckpt_dir: Path,
                      log, bar) -> int:
    trainer = prep.trainer
    full_epochs = spec.max_steps is None and spec.window_s is None
    written = 0
    if full_epochs:
        ckpt = ckpt_dir / f"{spec.run_id()}.pt"
        start_epoch = 0
        if ckpt.exists() and spec.epochs > 1:
            state = torch.load(ckpt, map_location=trainer.device, weights_only=False)
            if state["epoch"] + 1 <= missing[0]:
                trainer.load_state_dict(state["trainer"])
                start_epoch = state["epoch"] + 1
        # warm-up is excluded and leaves no trace: restore weights, optimiser and RNG afterwards
        saved = copy.deepcopy(trainer.state_dict())
        trainer.warmup(spec.warmup_steps, epoch=start_epoch)
        trainer.load_state_dict(saved)
        del saved
        for epoch in range(start_epoch, max(missing) + 1):
            result = trainer.train_epoch(epoch)
            if spec.evaluate:
                result.test_accuracy = trainer.evaluate()
            if epoch in missing:
                writer.append([_train_row(spec, prep, result, mode="epoch")])
                written += 1
                bar.update(1)
                if log:
                    log(_log_line(spec, result))
            if spec.epochs > 1 and epoch < spec.epochs - 1:
                ckpt.parent.mkdir(parents=True, exist_ok=True)
                tmp = ckpt.with_suffix(".tmp")
                torch.save({"epoch": epoch, "trainer": trainer.state_dict()}, tmp)
                os.replace(tmp, ckpt)
        if ckpt.exists() and max(missing) >= spec.epochs - 1:
            ckpt.unlink()
        return written
    # fixed-length windows after warm-up, over one continuing batch stream
    step_s = _train.timed_warmup(trainer, spec.warmup_steps)
    if spec.max_steps is not None:
        steps = spec.max_steps
    else:
        steps = _train.steps_for_duration(step_s, spec.window_s, min_steps=5)
    stream = _train.cycle_batches(trainer.train_batches, start_epoch=0)
    for index in missing:  # windows are interchangeable: run only the missing ones
        result = trainer.train_epoch(index, max_steps=steps, batch_iter=stream)
        writer.append([_train_row(spec, prep, result, mode="window")])
        written += 1
        bar.update(1)
        if log:
            log(_log_line(spec, result))
    return written


def _train_row(spec: RunSpec, prep: Prepared, result: _train.EpochResult, mode: str) -> dict:
    row = {**prep.meta, **measurement_fields(result.measurement), **result.as_row(), "mode": mode,
           "timestamp_utc": now()}
    fraction = result.samples / prep.n_train
    row.update({
        "epoch_fraction": fraction,
        "epoch_duration_s": result.duration_s / fraction,
        "epoch_energy_j": result.energy_j / fraction,
        "epoch_energy_extrapolated": not (mode == "epoch" and abs(fraction - 1.0) < 0.01),
    })
    return row


def _log_line(spec: RunSpec, r: _train.EpochResult) -> str:
    return (f"{spec.experiment} {spec.model} {spec.dataset} b{spec.batch_size} {spec.precision} r{spec.repeat} "
            f"e{r.epoch_index}: {r.steps} steps {r.duration_s:.2f} s {r.energy_j:.1f} J {r.power_w:.0f} W "
            f"loss {r.train_loss:.3f}")


def run_phase_design(specs: Sequence[RunSpec], csv_path: str | Path, env: Environment | None = None,
                     data_root=None, progress: bool = True, log=None, validate_first: bool = True,
                     store=None, cache=None, allow_raw: bool | None = None) -> SweepSummary:
    """Run ``phases`` specs: design windows (see :func:`greenai.train.phase_energy_by_design`), one row each.

    ``spec.epochs`` is the number of design repeats; each window runs
    ``max_steps`` steps, or, per window kind, enough steps to last ``window_s`` seconds.
    A spec whose rows are all present is skipped; a partially written spec is
    completed (missing windows only).
    """
    key_cols = KEY_COLUMNS["phases"]

    def run_spec(spec, prep, _, writer, done, bar):
        prep.trainer.warmup(spec.warmup_steps)
        split = _train.phase_energy_by_design(prep.trainer, steps=spec.max_steps, repeats=spec.epochs,
                                              window_s=None if spec.max_steps else spec.window_s)
        rows = [{**prep.meta, **measurement_fields(w.measurement), **w.as_row(),
                 "power_w": w.energy_j / w.duration_s if w.duration_s > 0 else math.nan, "timestamp_utc": now()}
                for w in split.windows]
        new = [row for row in rows if row_key(row, key_cols) not in done]  # complete a partly written spec
        writer.append(new)
        if log:
            log(f"{spec.describe()}: {({w.upto: w.steps for w in split.windows})} steps/window; J/step by difference "
                + ", ".join(f"{k} {v:.3f}" for k, v in split.by_difference_j.items()))
        bar.update(1)
        return len(new), len(rows) - len(new)

    return sweep(specs, csv_path, PHASE_COLUMNS, key_cols, PENDING["phases"], run_spec, env, data_root, progress,
                 validate_first, store, cache, allow_raw)


def run_layer_profile(specs: Sequence[RunSpec], csv_path: str | Path, env: Environment | None = None,
                      data_root=None, progress: bool = True, log=None, replay_window_s: float | None = 3.0,
                      validate_first: bool = True, store=None, cache=None,
                      allow_raw: bool | None = None) -> SweepSummary:
    """Run ``layers`` specs with :func:`greenai.profile.profile_layers`.

    Profiles ``max_steps`` training steps (or ``window_s`` seconds' worth) with
    hooks, replays each layer type for ``replay_window_s`` seconds, and writes
    one row per layer type (``level="type"``) and per leaf layer (``level="layer"``)
    in one append.
    """
    from greenai import profile as _profile  # heavy: pandas

    key_cols = KEY_COLUMNS["layers"]

    def run_spec(spec, prep, _, writer, done, bar):
        step_s = _train.timed_warmup(prep.trainer, max(spec.warmup_steps, 2))
        steps = spec.max_steps or _train.steps_for_duration(step_s, spec.window_s, min_steps=5)
        prof = _profile.profile_layers(prep.trainer, steps=steps, steps_per_epoch=prep.steps_per_epoch,
                                       replay_window_s=replay_window_s)
        common = {**prep.meta, "profiled_steps": prof.steps, "steps_per_epoch": prof.steps_per_epoch,
                  "window_power_w": prof.window_power_w,
                  "forward_time_per_step_s": prof.forward_time_per_step_s,
                  "unhooked_time_per_step_s": prof.unhooked_time_per_step_s,
                  "hook_overhead_fraction": prof.hook_overhead_fraction,
                  **measurement_fields(prof.window_measurement),
                  "window_energy_j": prof.window_energy_j, "window_duration_s": prof.window_duration_s,
                  "timestamp_utc": now()}
        rows = []
        for r in prof.by_type.to_dict("records"):
            rows.append({**common, **_layer_fields(r), "level": "type", "layer": r["layer_type"]})
        for r in prof.by_layer.to_dict("records"):
            rows.append({**common, **_layer_fields(r), "level": "layer", "modules": 1,
                         "calls_per_step": r["calls"] / prof.steps})
        writer.append(rows)
        if log:
            log(f"{spec.describe()}: {steps} steps profiled, hook overhead "
                f"{prof.hook_overhead_fraction:+.1%}; shares "
                + ", ".join(f"{t} {s:.1%}" for t, s in zip(prof.by_type.layer_type, prof.by_type.share_of_forward)))
        bar.update(1)
        return len(rows), 0

    return sweep(specs, csv_path, LAYER_COLUMNS, key_cols, PENDING["layers"], run_spec, env, data_root, progress,
                 validate_first, store, cache, allow_raw)



def _layer_fields(record: dict) -> dict:
    """A profile record as layer-row columns: the layer's ``params`` become ``layer_params`` (the row's
    ``params`` is the model's); ``calls`` and ``time_s`` (totals over the profiled steps) are dropped on
    purpose: the row carries them per step (``calls_per_step``, ``time_per_step_s``)."""
    out = {k: v for k, v in record.items() if k not in ("params", "calls", "time_s")}
    out["layer_params"] = record.get("params")
    return out


RUNNERS: dict[str, Callable[..., SweepSummary]] = {
    "train": run_training, "phases": run_phase_design, "layers": run_layer_profile}
"""The runner of each kind of run."""


def run(specs: Sequence[RunSpec], csv_path: str | Path, **kwargs) -> SweepSummary:
    """Dispatch specs (all of one kind) to their runner."""
    kinds = {s.kind for s in specs}
    if len(kinds) != 1:
        raise GridError([f"one CSV holds one kind of run; got kinds {sorted(kinds)}"])
    return RUNNERS[kinds.pop()](specs, csv_path, **kwargs)
