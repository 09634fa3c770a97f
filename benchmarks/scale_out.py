"""One grid on 1, 2, 4 and 8 GPUs of one host: wall time, speed-up, energy per cell, each GPU metered alone.

The grid: AlexNet, ResNet18 and VGG11 on Fashion-MNIST (real files from
``$GREENAI_DATA_DIR``; the synthetic stand-in of the same shape where they are
missing, said in the report), batch 128 and 256, 8 repeats: 48 cells, each 10
warm-up steps and 2 windows of ≥ 3 s (the ``macs`` experiment's windows).

For each GPU count of ``--gpus`` (default 1,2,4,8; a count above the host's GPUs
is skipped, said in one line; 1 always runs, it is the reference):

- 1: in this process on ``cuda:0`` (:class:`greenai.experiments.InProcess`), after
  :func:`greenai.experiments.warm_up` on that GPU (the workers' warm-up).
- n ≥ 2: on GPUs 0 … n−1 through Dask (:func:`greenai.experiments.local_gpu_cluster`:
  one worker per GPU), this process the one writer; cells are submitted longest
  first, and every worker warms up before the first cell.

Each run's start (environment, or cluster and workers), warm-up and sweep are
timed apart; the wall time compared is the sweep's. NVML's energy counters of all
GPUs are read around each sweep (for the Dask runs around ``executor.run``, which
includes the workers' warm-up).

It reports per GPU count the sweep's wall time, the speed-up over one GPU (target:
≥ 0.9 × the count) and the ratio to one GPU's wall time; per (model, batch) the
energy per epoch against one GPU and whether the ratio lies within the spread
between repeats; per GPU of each Dask run its rows against its own counter,
whether every row's meter read only that GPU (``metered_gpus``) and whether each
GPU has one UUID. Writes ``scale_out.csv`` (the rows of every run, column
``gpus``), ``scale_out.md`` and ``scale_out.meta.json`` to ``--out-dir``
(default ``results/benchmarks``, on GPUs only), replaced at each run.

Usage::

    # on a host with 4 or 8 GPUs (one GPU ≈ 6 min, each doubling about half that):
    PYTHONPATH=. python3 benchmarks/scale_out.py --gpus 1,2,4,8
    # the 12-cell grid of the first record (2 GPUs, before warm-up and longest first):
    PYTHONPATH=. python3 benchmarks/scale_out.py --gpus 1,2 --repeats 2
    # a CPU smoke test of the same code (CPU worker processes, tiny synthetic cells, no energy):
    PYTHONPATH=. python3 benchmarks/scale_out.py --quick --device cpu --gpus 1,2 --out-dir /tmp/scale_out
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from greenai import experiments as ex
from greenai import metadata, paths
from greenai.experiments.executors import worker_label

MODELS = ("alexnet", "resnet18", "vgg11")
BATCH_SIZES = (128, 256)
NAME = "scale_out"
#: target speed-up over one GPU, as a fraction of the GPU count
SPEEDUP_TARGET = 0.9
KEYS = ["model", "batch_size", "repeat", "epoch_index"]


def grid(args) -> list[ex.RunSpec]:
    if args.quick:
        return ex.expand([ex.Grid(NAME, ["mobilenet_v1"], ["fashion_mnist"], [4, 6], repeats=2,
                                  options={"epochs": 2, "max_steps": 2, "warmup_steps": 1, "source": "synthetic",
                                           "image_size": 32, "limit": 12})])
    return ex.expand([ex.Grid(NAME, list(MODELS), ["fashion_mnist"], list(BATCH_SIZES), repeats=args.repeats,
                              options={"epochs": 2, "window_s": args.window_s, "warmup_steps": 10,
                                       "source": args.source})])


def parse_counts(text: str) -> list[int]:
    """GPU counts from "1,2,4,8" (sorted, without repeats); 1 is always included (the reference)."""
    try:
        counts = sorted({int(c) for c in text.split(",") if c.strip()} | {1})
    except ValueError:
        raise ValueError(f"--gpus takes GPU counts such as 1,2,4,8, got {text!r}") from None
    if counts[0] < 1:
        raise ValueError(f"--gpus takes positive GPU counts, got {text!r}")
    return counts


def gpu_counters_j() -> dict[int, float]:
    """NVML's cumulative energy counter of every GPU of the host [J] (empty without NVML)."""
    from greenai import nvml

    try:
        nvml.init()
    except Exception:  # noqa: BLE001 - no NVML (CPU smoke test)
        return {}
    try:
        return {i: nvml.Gpu(i).total_energy_mj() / 1000.0 for i in range(nvml.device_count())}
    finally:
        nvml.shutdown()


def delta(end: dict, begin: dict) -> dict[int, float]:
    return {i: end[i] - begin[i] for i in begin if i in end}


@dataclass
class Run:
    """One GPU count's run: where, its rows, and its times [s] and counters [J]."""

    gpus: int
    description: str
    csv: Path
    summary: ex.SweepSummary
    start_s: float
    warmup_s: float
    warmup: dict
    counters_j: dict
    workers: list = field(default_factory=list)

    @property
    def sweep_s(self) -> float:
        return self.summary.seconds


def run_in_process(specs, csv: Path, cpu: bool, data_root) -> Run:
    """The reference: every cell in this process on one GPU (or the CPU), after the same warm-up as a worker's."""
    t0 = time.perf_counter()
    env = ex.make_environment("cpu" if cpu else "cuda:0", idle_s=0)
    start_s = time.perf_counter() - t0
    cache = ex.DataCache(data_root)
    t0 = time.perf_counter()
    record = ex.warm_up(env, specs, cache)
    warmup_s = time.perf_counter() - t0
    info = {"address": "in-process", "host": env.host, "gpu_name": env.gpu_name, "gpu_index": env.gpu_index,
            "gpu_uuid": env.gpu_uuid, "device": str(env.device), "pid": os.getpid()}
    print(f"[1] in-process on {env.device} ({env.gpu_name}): {len(specs)} cells", flush=True)
    c0 = gpu_counters_j()
    summary = ex.InProcess().run(specs, csv, env=env, data_root=data_root, cache=cache, progress=True,
                                 validate_first=False)
    counters = delta(gpu_counters_j(), c0)
    if env.meter is not None and hasattr(env.meter, "close"):
        env.meter.close()
    return Run(1, f"in-process on {env.device} ({env.gpu_name})", csv, summary, start_s, warmup_s,
               {worker_label(info): record}, counters, [info])


def run_dask(specs, csv: Path, n: int, cpu: bool, data_root, notes: list[str]) -> Run:
    """The cells on ``n`` GPUs (GPUs 0 … n−1; CPU worker processes in the smoke test) through Dask."""
    t0 = time.perf_counter()
    try:
        cluster = ex.local_cpu_cluster(n) if cpu else ex.local_gpu_cluster(list(range(n)))
        executor = ex.DaskExecutor(cluster, device="cpu" if cpu else None, close_cluster=True)
        workers = executor.start()
    except Exception as exc:  # noqa: BLE001 - a dask-cuda that does not fit this distributed: say so, go on
        if cpu:
            raise
        notes.append(f"{n} GPUs: dask-cuda's LocalCUDACluster failed ({type(exc).__name__}: {exc}); one "
                     f"distributed Nanny per GPU instead")
        print(notes[-1], file=sys.stderr, flush=True)
        cluster = ex.local_gpu_cluster(list(range(n)), dask_cuda=False)
        executor = ex.DaskExecutor(cluster, close_cluster=True)
        workers = executor.start()
    start_s = time.perf_counter() - t0
    description = getattr(cluster, "description", type(cluster).__name__)
    with executor:
        print(f"[{n}] {description}: {len(workers)} worker(s) up in {start_s:.1f} s", flush=True)
        for info in workers.values():
            print(f"      {info['host']} {info['device']} {info['gpu_name']} NVML {info['gpu_index']} "
                  f"{info['gpu_uuid']}", flush=True)
        c0 = gpu_counters_j()
        summary = executor.run(specs, csv, data_root=data_root, progress=True, validate_first=False)
        counters = delta(gpu_counters_j(), c0)
    return Run(n, description, csv, summary, start_s, summary.warmup_s, summary.warmup, counters,
               list(workers.values()))


def compare(one: pd.DataFrame, many: pd.DataFrame) -> pd.DataFrame:
    """Per (model, batch): mean energy per epoch on one GPU and on n, their ratio and the repeat spreads."""
    out = []
    for (model, batch), a in one.groupby(["model", "batch_size"]):
        b = many[(many.model == model) & (many.batch_size == batch)]
        ea, eb = a.epoch_energy_j.astype(float), b.epoch_energy_j.astype(float)
        spread_a, spread_b = _spread(a), _spread(b)
        ratio = eb.mean() / ea.mean() if ea.mean() > 0 else math.nan
        allowed = max(spread_a, spread_b)
        out.append({"model": model, "batch_size": batch, "cells": a.repeat.nunique(),
                    "one_gpu_epoch_energy_j": ea.mean(), "n_gpus_epoch_energy_j": eb.mean(), "ratio": ratio,
                    "one_gpu_repeat_spread": spread_a, "n_gpus_repeat_spread": spread_b,
                    "within_spread": bool(abs(ratio - 1) <= allowed) if math.isfinite(ratio) else None,
                    "gpus_used": " ".join(sorted({_gpu(v) for v in b.gpu_index}))})
    return pd.DataFrame(out)


def _spread(rows: pd.DataFrame) -> float:
    """Range of the per-repeat means over their mean (NaN with fewer than two repeats)."""
    per_repeat = rows.groupby("repeat").epoch_energy_j.mean().astype(float)
    if len(per_repeat) < 2 or not per_repeat.mean() > 0:
        return math.nan
    return float((per_repeat.max() - per_repeat.min()) / per_repeat.mean())


def _index_text(v) -> str:
    """An NVML index list as text ("1", "0 1"), whether pandas read it as a number or a string."""
    try:
        return str(int(float(v)))
    except (TypeError, ValueError):
        return str(v)


def _gpu(v) -> str:
    return f"gpu{int(v)}" if isinstance(v, (int, float)) and v == v else "cpu"


def per_gpu(rows: pd.DataFrame, counters: dict[int, float]) -> pd.DataFrame:
    """Each GPU's rows (window energy summed) against its own NVML counter over the run; its meter and UUID."""
    out = []
    for index, own_rows in rows.groupby(rows.gpu_index.fillna(-1)):
        i = int(index)
        metered = {_index_text(m) for m in own_rows.metered_gpus}
        counter = counters.get(i, math.nan)
        energy = own_rows.energy_j.astype(float).sum(min_count=1)
        out.append({"gpu_index": i if i >= 0 else None, "gpu_uuid": own_rows.gpu_uuid.iloc[0],
                    "gpu_name": own_rows.gpu_name.iloc[0],
                    "cells": own_rows.groupby(["model", "batch_size", "repeat"]).ngroups, "rows": len(own_rows),
                    "rows_energy_j": energy, "counter_energy_j": counter,
                    "rows_share_of_counter": energy / counter if counter > 0 else math.nan,
                    "metered_only_own_gpu": metered == {str(i)} if i >= 0 else None,
                    "one_uuid": own_rows.gpu_uuid.nunique() == 1 if i >= 0 else None,
                    "rows_duration_s": own_rows.duration_s.astype(float).sum()})
    return pd.DataFrame(out)


def check(run: Run, one_run: Run, one: pd.DataFrame, many: pd.DataFrame, cells: pd.DataFrame,
          gpus: pd.DataFrame) -> dict:
    """The checks of one GPU count against one GPU."""
    speedup = one_run.sweep_s / run.sweep_s if run.sweep_s > 0 else math.nan
    metered = bool(run.counters_j)
    warm = [r.get("seconds", math.nan) for r in run.warmup.values()]
    return {
        "gpus": run.gpus,
        "sweep_s": round(run.sweep_s, 2), "start_s": round(run.start_s, 2), "warmup_s": round(run.warmup_s, 2),
        "warmup_per_worker_s": [round(w, 2) for w in warm],
        "speedup": round(speedup, 3), "speedup_target": round(SPEEDUP_TARGET * run.gpus, 2),
        "speedup_meets_target": bool(speedup >= SPEEDUP_TARGET * run.gpus),
        "wall_ratio": round(run.sweep_s / one_run.sweep_s, 3) if one_run.sweep_s > 0 else math.nan,
        "same_row_keys": sorted(map(tuple, one[KEYS].astype(str).values))
        == sorted(map(tuple, many[KEYS].astype(str).values)),
        "no_failed_cells": not run.summary.failed,
        "gpus_used": int(many.gpu_index.nunique()),
        "cells_within_repeat_spread": f"{int(cells.within_spread.fillna(False).sum())}/{len(cells)}",
        "median_energy_ratio": round(float(cells.ratio.median()), 4) if len(cells) else math.nan,
        "rows_metered_only_their_gpu": bool(gpus.metered_only_own_gpu.all()) if metered else None,
        "one_uuid_per_gpu": bool(gpus.one_uuid.all() and gpus.gpu_uuid.nunique() == len(gpus)) if metered else None,
        "each_gpu_rows_le_own_counter": bool((gpus.rows_energy_j <= gpus.counter_energy_j * 1.001).all())
        if metered else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gpus", default="1,2,4,8",
                        help="GPU counts to run, e.g. 1,2,4,8 (GPUs 0 … n−1; counts above the host's are skipped)")
    parser.add_argument("--out-dir", type=Path, default=None, help="default results/benchmarks (GPU runs only)")
    parser.add_argument("--quick", action="store_true", help="tiny synthetic cells (CPU smoke test)")
    parser.add_argument("--device", default=None, help="cpu for the smoke test: CPU worker processes (default: GPUs)")
    parser.add_argument("--data-root", default=None, help="dataset folder (default $GREENAI_DATA_DIR)")
    parser.add_argument("--window-s", type=float, default=3.0, help="length of each measured window [s]")
    parser.add_argument("--repeats", type=int, default=8, help="repeats of each (model, batch) cell")
    parser.add_argument("--source", choices=("real", "synthetic"), default="real",
                        help="Fashion-MNIST files (default; synthetic where they are missing) or the stand-in")
    args = parser.parse_args(argv)
    cpu = args.device == "cpu"
    if cpu and not args.quick:
        print("scale_out.py: --device cpu is the smoke test; give --quick too", file=sys.stderr)
        return 2
    if cpu and args.out_dir is None:
        print("scale_out.py: the CPU smoke test writes nothing into results/benchmarks; give --out-dir",
              file=sys.stderr)
        return 2
    try:
        counts = parse_counts(args.gpus)
    except ValueError as exc:
        print(f"scale_out.py: {exc}", file=sys.stderr)
        return 2
    if cpu:
        available, unit = os.cpu_count() or 1, "CPU core(s)"
    else:
        import torch

        if not torch.cuda.is_available():
            print("scale_out.py: no GPU found; run on a GPU host (or --quick --device cpu for a smoke test)",
                  file=sys.stderr)
            return 2
        available, unit = torch.cuda.device_count(), "GPU(s)"
    skipped = [n for n in counts if n > available]
    counts = [n for n in counts if n <= available]
    notes = []
    if skipped:
        notes.append(f"skipped {', '.join(map(str, skipped))} {'workers' if cpu else 'GPUs'}: this host has "
                     f"{available} {unit}")
        print(f"scale_out.py: {notes[-1]}", flush=True)
    if len(counts) < 2:
        print(f"scale_out.py: this host has {available} {unit}: no count above 1 to compare with one",
              file=sys.stderr)
        return 2
    if not args.quick and args.source == "real" and ex.missing_real_data("fashion_mnist", args.data_root):
        notes.append("Fashion-MNIST files not found under $GREENAI_DATA_DIR: synthetic data of the same shape")
        args.source = "synthetic"
    if args.quick:
        args.source = "synthetic"
    specs = grid(args)
    ex.validate(specs, data_root=args.data_root)
    name = NAME + ("_quick" if args.quick else "")
    out_dir = args.out_dir if args.out_dir is not None else paths.BENCHMARKS_DIR
    work = out_dir / f".{name}_work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    t_all = time.perf_counter()

    runs = {1: run_in_process(specs, work / "gpus_1.csv", cpu, args.data_root)}
    print(f"      {runs[1].summary.written} rows in {runs[1].sweep_s:.1f} s (warm-up {runs[1].warmup_s:.1f} s)",
          flush=True)
    for n in counts[1:]:
        runs[n] = run_dask(specs, work / f"gpus_{n}.csv", n, cpu, args.data_root, notes)
        s = runs[n].summary
        print(f"      {s.written} rows in {runs[n].sweep_s:.1f} s (warm-up {runs[n].warmup_s:.1f} s); "
              f"speed-up {runs[1].sweep_s / runs[n].sweep_s:.2f}; cells per GPU {s.cells_per_worker}; "
              f"failed {len(s.failed)}", flush=True)

    rows = {n: pd.read_csv(run.csv) for n, run in runs.items()}
    one = rows[1]
    results = {}
    for n in counts[1:]:
        cells = compare(one, rows[n])
        gpus = per_gpu(rows[n], runs[n].counters_j)
        results[n] = (cells, gpus, check(runs[n], runs[1], one, rows[n], cells, gpus))
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / f"{name}.csv"
    pd.concat([r.assign(gpus=n) for n, r in rows.items()], ignore_index=True).to_csv(csv_path, index=False)
    meta_path = csv_path.with_suffix(".meta.json")
    meta_path.unlink(missing_ok=True)
    checks = {n: c for n, (_, _, c) in results.items()}
    metadata.write_meta(
        csv_path, campaign=NAME, quick=args.quick, source=args.source, notes=notes, cells=len(specs),
        gpu_counts=counts, gpu_counts_skipped=skipped, total_wall_s=round(time.perf_counter() - t_all, 1),
        speedup_target_fraction=SPEEDUP_TARGET,
        per_count={n: {"executor": r.description, "sweep_s": round(r.sweep_s, 2), "start_s": round(r.start_s, 2),
                       "warmup_s": round(r.warmup_s, 2), "warmup": r.warmup, "workers": r.workers,
                       "cells_per_worker": r.summary.cells_per_worker,
                       "failed": [f.describe() for f in r.summary.failed],
                       "submission_order": r.summary.order, "counters_j": r.counters_j}
                   for n, r in runs.items()},
        checks=checks)
    write_report(out_dir / f"{name}.md", args, specs, runs, results, notes)
    shutil.rmtree(work, ignore_errors=True)
    print(f"wrote {csv_path.name}, {name}.md, {meta_path.name} in {out_dir}", flush=True)
    for n, c in checks.items():
        print(f"  {n} GPUs: speed-up {c['speedup']} (target {c['speedup_target']}), energy ratio "
              f"{c['median_energy_ratio']}, within spread {c['cells_within_repeat_spread']}, "
              f"metered only own GPU {c['rows_metered_only_their_gpu']}", flush=True)
    return 0


def _fmt(frame: pd.DataFrame) -> str:
    """A markdown table (no tabulate needed)."""
    if not len(frame):
        return "(none)"

    def cell(v):
        if isinstance(v, float):
            return "" if math.isnan(v) else f"{v:.4g}"
        return "" if v is None else str(v)

    head = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def write_report(path: Path, args, specs, runs: dict[int, Run], results: dict, notes: list[str]) -> None:
    unit = "CPU workers" if args.quick else "GPUs"
    one = runs[1]
    summary = [{"gpus": 1, "executor": one.description, "sweep_s": one.sweep_s, "speedup": 1.0,
                "target": SPEEDUP_TARGET, "wall_ratio": 1.0, "start_s": one.start_s, "warmup_s": one.warmup_s,
                "cells_per_worker": "", "energy_ratio": 1.0, "within_spread": "", "metered_own_gpu": ""}]
    for n, (cells, gpus, c) in results.items():
        summary.append({"gpus": n, "executor": runs[n].description, "sweep_s": runs[n].sweep_s,
                        "speedup": c["speedup"], "target": c["speedup_target"], "wall_ratio": c["wall_ratio"],
                        "start_s": runs[n].start_s, "warmup_s": runs[n].warmup_s,
                        "cells_per_worker": " ".join(f"{k} {v}" for k, v in
                                                     sorted(runs[n].summary.cells_per_worker.items())),
                        "energy_ratio": c["median_energy_ratio"], "within_spread": c["cells_within_repeat_spread"],
                        "metered_own_gpu": c["rows_metered_only_their_gpu"]})
    warm = pd.DataFrame([{"gpus": n, "worker": label, **{k: r.get(k) for k in
                                                          ("seconds", "context_s", "kernels_s", "data_s", "macs_s")},
                          "error": r.get("error", "")}
                         for n, run in runs.items() for label, r in sorted(run.warmup.items())])
    lines = [
        f"# Scale-out: one grid on 1 … {max(runs)} {unit}",
        "",
        f"`PYTHONPATH=. python3 benchmarks/scale_out.py --gpus {','.join(map(str, runs))}"
        + (" --quick --device cpu" if args.quick else "") + "`"
        + (" (CPU smoke test: tiny synthetic cells, no energy; the wall times say nothing)" if args.quick else ""),
        "",
        f"{len(specs)} cells ({', '.join(sorted({s.model for s in specs}))}; batch "
        f"{', '.join(str(b) for b in sorted({s.batch_size for s in specs}))}; "
        f"{max(s.repeat for s in specs) + 1} repeats; {specs[0].epochs} windows each"
        + (f" of ≥ {args.window_s:g} s" if not args.quick else "") + f"), Fashion-MNIST {args.source} data.",
        *[f"Note: {n}." for n in notes],
        "",
        "## Wall time per GPU count",
        "",
        "`sweep_s`: the cells alone (first cell submitted to last row written), compared across counts; "
        "`start_s`: the environment (1) or the cluster and its workers' environments; `warmup_s`: the warm-up "
        "before the first cell (CUDA context, first cuDNN/cuBLAS kernels, datasets to the device, MAC counts), "
        "all workers at once. Speed-up = one GPU's `sweep_s` / this count's; target ≥ "
        f"{SPEEDUP_TARGET} × the count. Cells go longest first (expected duration from the spec).",
        "",
        _fmt(pd.DataFrame(summary)),
        "",
        "Warm-up per worker [s]:",
        "",
        _fmt(warm),
    ]
    for n, (cells, gpus, c) in results.items():
        lines += [
            "",
            f"## {n} {unit} against one",
            "",
            "Energy per epoch per (model, batch): means over repeats and windows; spread = (max − min) / mean of "
            "the per-repeat means; `within_spread`: |ratio − 1| ≤ the larger spread.",
            "",
            _fmt(cells),
            "",
            "Each GPU's rows against its own NVML counter over the run (the counter includes the warm-up, model "
            "setup and gaps between windows); each row's meter must have read only its worker's GPU "
            "(`metered_gpus`), and each GPU carry one UUID.",
            "",
            _fmt(gpus),
            "",
            "Checks: " + ", ".join(f"{k} = {v}" for k, v in c.items()),
        ]
    path.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
