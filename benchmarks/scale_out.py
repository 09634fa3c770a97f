"""One grid on one GPU in-process, then on every GPU of the host through Dask: same rows, less wall time.

The grid: AlexNet, ResNet18 and VGG11 on Fashion-MNIST (real files from
``$GREENAI_DATA_DIR``; the synthetic stand-in of the same shape where they are
missing, said in the report), batch 128 and 256, 2 repeats: 12 cells, each 10
warm-up steps and 2 windows of ≥ 3 s (the ``macs`` experiment's windows).

1. In this process on ``cuda:0`` (:class:`greenai.experiments.InProcess`).
2. On every GPU of the host (:func:`greenai.experiments.local_gpu_cluster`:
   dask-cuda's ``LocalCUDACluster``, one worker per GPU), this process the one writer;
   NVML's energy counters of all GPUs are read around the sweep (the host's total).

It then compares, per cell, the energy per epoch of the two runs (ratio, and
whether it lies within the spread between repeats), the wall times (two GPUs ≤
0.6 × one GPU?), and, for the Dask run, each GPU's rows with its own counter and
all rows with the host's total. Writes ``scale_out.csv`` (the rows of both runs,
column ``run``), ``scale_out.md`` and ``scale_out.meta.json`` to ``--out-dir``
(default ``results/benchmarks``), replaced at each run.

Usage::

    # on a host with two (or more) GPUs, ≈ 4 min:
    PYTHONPATH=. python3 benchmarks/scale_out.py
    # a CPU smoke test of the same code (2 CPU worker processes, tiny synthetic cells, no energy):
    PYTHONPATH=. python3 benchmarks/scale_out.py --quick --device cpu --out-dir /tmp/scale_out
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
import time
from pathlib import Path

import pandas as pd

from greenai import experiments as ex
from greenai import metadata, paths

MODELS = ("alexnet", "resnet18", "vgg11")
BATCH_SIZES = (128, 256)
NAME = "scale_out"
WALL_RATIO_LIMIT = 0.6


def grid(args) -> list[ex.RunSpec]:
    if args.quick:
        return ex.expand([ex.Grid(NAME, ["mobilenet_v1"], ["fashion_mnist"], [4, 6], repeats=2,
                                  options={"epochs": 2, "max_steps": 2, "warmup_steps": 1, "source": "synthetic",
                                           "image_size": 32, "limit": 12})])
    return ex.expand([ex.Grid(NAME, list(MODELS), ["fashion_mnist"], list(BATCH_SIZES), repeats=args.repeats,
                              options={"epochs": 2, "window_s": args.window_s, "warmup_steps": 10,
                                       "source": args.source})])


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


def compare(one: pd.DataFrame, two: pd.DataFrame) -> pd.DataFrame:
    """Per (model, batch): mean energy per epoch on one GPU and on all, their ratio and the repeat spreads."""
    out = []
    for (model, batch), a in one.groupby(["model", "batch_size"]):
        b = two[(two.model == model) & (two.batch_size == batch)]
        ea, eb = a.epoch_energy_j.astype(float), b.epoch_energy_j.astype(float)
        # spread between repeats: range of the per-repeat means over their mean
        spread_a = _spread(a)
        spread_b = _spread(b)
        ratio = eb.mean() / ea.mean() if ea.mean() > 0 else math.nan
        allowed = max(spread_a, spread_b)
        out.append({"model": model, "batch_size": batch, "cells": a.repeat.nunique(),
                    "one_gpu_epoch_energy_j": ea.mean(), "all_gpus_epoch_energy_j": eb.mean(), "ratio": ratio,
                    "one_gpu_repeat_spread": spread_a, "all_gpus_repeat_spread": spread_b,
                    "within_spread": bool(abs(ratio - 1) <= allowed) if math.isfinite(ratio) else None,
                    "gpus_used": " ".join(sorted({_gpu(v) for v in b.gpu_index})),
                    "one_gpu_power_w": a.power_w.astype(float).mean(), "all_gpus_power_w": b.power_w.astype(float).mean()})
    return pd.DataFrame(out)


def _index_text(v) -> str:
    """An NVML index list as text ("1", "0 1"), whether pandas read it as a number or a string."""
    try:
        return str(int(float(v)))
    except (TypeError, ValueError):
        return str(v)


def _gpu(v) -> str:
    return f"gpu{int(v)}" if isinstance(v, (int, float)) and v == v else "cpu"


def _spread(rows: pd.DataFrame) -> float:
    per_repeat = rows.groupby("repeat").epoch_energy_j.mean().astype(float)
    if len(per_repeat) < 2 or not per_repeat.mean() > 0:
        return math.nan
    return float((per_repeat.max() - per_repeat.min()) / per_repeat.mean())


def by_gpu(one: pd.DataFrame, two: pd.DataFrame) -> pd.DataFrame:
    """Row by row (same cell, repeat and window): energy per epoch on each GPU of the Dask run / on the one GPU."""
    keys = ["model", "batch_size", "repeat", "epoch_index"]
    m = two.merge(one[keys + ["epoch_energy_j"]], on=keys, suffixes=("", "_one_gpu"))
    m["ratio"] = m.epoch_energy_j.astype(float) / m.epoch_energy_j_one_gpu.astype(float)
    out = m.groupby(m.gpu_index.map(_gpu)).ratio.agg(["count", "median", "min", "max"]).reset_index()
    return out.rename(columns={"gpu_index": "gpu", "count": "rows", "median": "median_ratio", "min": "min_ratio",
                               "max": "max_ratio"})


def per_gpu(two: pd.DataFrame, counters: dict[int, float]) -> pd.DataFrame:
    """Each GPU's rows (window energy summed) against its own NVML counter over the whole Dask sweep."""
    out = []
    for index, rows in two.groupby(two.gpu_index.fillna(-1)):
        i = int(index)
        own = {_index_text(m) for m in rows.metered_gpus}
        counter = counters.get(i, math.nan)
        energy = rows.energy_j.astype(float).sum()
        out.append({"gpu_index": i if i >= 0 else None, "gpu_uuid": rows.gpu_uuid.iloc[0],
                    "gpu_name": rows.gpu_name.iloc[0], "cells": rows.groupby(["model", "batch_size", "repeat"]).ngroups,
                    "rows": len(rows), "rows_energy_j": energy, "counter_energy_j": counter,
                    "rows_share_of_counter": energy / counter if counter > 0 else math.nan,
                    "metered_only_own_gpu": own == {str(i)} if i >= 0 else None,
                    "rows_duration_s": rows.duration_s.astype(float).sum()})
    return pd.DataFrame(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", type=Path, default=paths.BENCHMARKS_DIR)
    parser.add_argument("--quick", action="store_true", help="tiny synthetic cells (CPU smoke test)")
    parser.add_argument("--device", default=None, help="cpu for the smoke test (default: the GPUs)")
    parser.add_argument("--gpus", default="all", help="GPUs of the Dask run: all, or CUDA indices 0,1")
    parser.add_argument("--data-root", default=None, help="dataset folder (default $GREENAI_DATA_DIR)")
    parser.add_argument("--window-s", type=float, default=3.0, help="length of each measured window [s]")
    parser.add_argument("--repeats", type=int, default=2, help="repeats of each (model, batch) cell")
    parser.add_argument("--source", choices=("real", "synthetic"), default="real",
                        help="Fashion-MNIST files (default; synthetic where they are missing) or the stand-in")
    args = parser.parse_args(argv)
    cpu = args.device == "cpu"
    if cpu and not args.quick:
        print("scale_out.py: --device cpu is the smoke test; give --quick too", file=sys.stderr)
        return 2
    if not cpu:
        import torch

        if not torch.cuda.is_available():
            print("scale_out.py: no GPU found; run on a GPU host (or --quick --device cpu for a smoke test)",
                  file=sys.stderr)
            return 2
    notes = []
    if not args.quick and args.source == "real" and ex.missing_real_data("fashion_mnist", args.data_root):
        notes.append("Fashion-MNIST files not found under $GREENAI_DATA_DIR: synthetic data of the same shape")
        args.source = "synthetic"
    if args.quick:
        args.source = "synthetic"
    specs = grid(args)
    ex.validate(specs, data_root=args.data_root)
    name = NAME + ("_quick" if args.quick else "")
    out_dir = args.out_dir
    work = out_dir / f".{name}_work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    t_all = time.perf_counter()

    # 1. one GPU, in this process
    env = ex.make_environment("cpu" if cpu else "cuda:0", idle_s=0)
    print(f"[1/2] in-process on {env.device} ({env.gpu_name}): {len(specs)} cells", flush=True)
    c0 = gpu_counters_j()
    t0 = time.perf_counter()
    s1 = ex.InProcess().run(specs, work / "one_gpu.csv", env=env, data_root=args.data_root, progress=True)
    wall_one = time.perf_counter() - t0
    host_one = delta(gpu_counters_j(), c0)
    print(f"      {s1.written} rows in {wall_one:.1f} s", flush=True)
    if env.meter is not None and hasattr(env.meter, "close"):
        env.meter.close()

    # 2. every GPU (or 2 CPU workers), through Dask
    t_cluster = time.perf_counter()
    try:
        cluster = ex.local_cpu_cluster(2) if cpu else ex.local_gpu_cluster(args.gpus)
        executor = ex.DaskExecutor(cluster, device="cpu" if cpu else None, close_cluster=True)
        workers = executor.start()
    except Exception as exc:  # noqa: BLE001 - a dask-cuda that does not fit this distributed: say so, go on
        if cpu:
            raise
        notes.append(f"dask-cuda's LocalCUDACluster failed ({type(exc).__name__}: {exc}); one distributed "
                     f"Nanny per GPU instead")
        print(notes[-1], file=sys.stderr, flush=True)
        cluster = ex.local_gpu_cluster(args.gpus, dask_cuda=False)
        executor = ex.DaskExecutor(cluster, close_cluster=True)
        workers = executor.start()
    description = getattr(cluster, "description", type(cluster).__name__)
    with executor:
        start_s = time.perf_counter() - t_cluster
        print(f"[2/2] {description}: {len(workers)} worker(s) up in {start_s:.1f} s", flush=True)
        for info in workers.values():
            print(f"      {info['host']} {info['device']} {info['gpu_name']} NVML {info['gpu_index']} "
                  f"{info['gpu_uuid']}", flush=True)
        c0 = gpu_counters_j()
        t0 = time.perf_counter()
        s2 = executor.run(specs, work / "all_gpus.csv", data_root=args.data_root, progress=True)
        wall_all = time.perf_counter() - t0
        host_all = delta(gpu_counters_j(), c0)
    print(f"      {s2.written} rows in {wall_all:.1f} s; cells per GPU {s2.cells_per_worker}; "
          f"failed {len(s2.failed)}", flush=True)

    one = pd.read_csv(work / "one_gpu.csv")
    two = pd.read_csv(work / "all_gpus.csv")
    cells = compare(one, two)
    gpus = per_gpu(two, host_all)
    ratios = by_gpu(one, two)
    rows = pd.concat([one.assign(run="one_gpu"), two.assign(run="all_gpus")], ignore_index=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / f"{name}.csv"
    rows.to_csv(csv_path, index=False)
    meta_path = csv_path.with_suffix(".meta.json")
    meta_path.unlink(missing_ok=True)
    wall_ratio = wall_all / wall_one
    keys = ["model", "batch_size", "repeat", "epoch_index"]
    same_keys = sorted(map(tuple, one[keys].astype(str).values)) == sorted(map(tuple, two[keys].astype(str).values))
    host_rows_j = float(two.energy_j.astype(float).sum(min_count=1))
    host_total_j = sum(host_all.values()) if host_all else math.nan
    checks = {
        "same_row_keys": same_keys,
        "no_failed_cells": not s2.failed,
        "wall_ratio": round(wall_ratio, 3),
        "wall_ratio_le_0.6": bool(wall_ratio <= WALL_RATIO_LIMIT),
        "cells_within_repeat_spread": f"{int(cells.within_spread.fillna(False).sum())}/{len(cells)}",
        "each_gpu_rows_le_own_counter": bool((gpus.rows_energy_j <= gpus.counter_energy_j * 1.001).all())
        if host_all else None,
        "rows_metered_only_their_gpu": bool(gpus.metered_only_own_gpu.all()) if host_all else None,
        "host_rows_energy_j": host_rows_j, "host_counter_energy_j": host_total_j,
        "host_rows_share": round(host_rows_j / host_total_j, 4) if host_total_j > 0 else math.nan,
    }
    metadata.write_meta(csv_path, campaign=NAME, quick=args.quick, source=args.source, notes=notes,
                        cells=len(specs), executor=description, workers=list(workers.values()),
                        wall_one_gpu_s=round(wall_one, 2), wall_all_gpus_s=round(wall_all, 2),
                        cluster_start_s=round(start_s, 2), total_wall_s=round(time.perf_counter() - t_all, 1),
                        cells_per_worker=s2.cells_per_worker, failed=[f.describe() for f in s2.failed],
                        host_counters_one_gpu_run_j=host_one, host_counters_all_gpus_run_j=host_all,
                        checks=checks)
    write_report(out_dir / f"{name}.md", args, env, description, workers, specs, wall_one, wall_all, start_s,
                 cells, gpus, host_one, host_all, checks, notes, s2, ratios)
    shutil.rmtree(work, ignore_errors=True)
    print(f"wrote {csv_path.name}, {name}.md, {meta_path.name} in {out_dir}; checks {checks}", flush=True)
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


def write_report(path: Path, args, env, description, workers, specs, wall_one, wall_all, start_s, cells, gpus,
                 host_one, host_all, checks, notes, s2, ratios) -> None:
    kinds = sorted({w["gpu_name"] for w in workers.values()})
    lines = [
        f"# Scale-out: one grid on one GPU, then on {len(workers)} {'GPUs' if not args.quick else 'CPU workers'}",
        "",
        "`PYTHONPATH=. python3 benchmarks/scale_out.py" + (" --quick --device cpu" if args.quick else "") + "`"
        + (" (CPU smoke test: tiny synthetic cells, no energy; the wall times say nothing)" if args.quick else ""),
        "",
        f"{len(specs)} cells ({', '.join(sorted({s.model for s in specs}))}; batch "
        f"{', '.join(str(b) for b in sorted({s.batch_size for s in specs}))}; "
        f"{max(s.repeat for s in specs) + 1} repeats; {specs[0].epochs} windows each"
        + (f" of ≥ {args.window_s:g} s" if not args.quick else "") + f"), Fashion-MNIST {args.source} data.",
        *[f"Note: {n}." for n in notes],
        "",
        f"- one GPU, in-process on {env.device} ({env.gpu_name}): **{wall_one:.1f} s**",
        f"- {description} ({', '.join(kinds)}): **{wall_all:.1f} s** (cluster start and worker setup "
        f"{start_s:.1f} s, not included); ratio **{checks['wall_ratio']:.2f}** "
        f"({'≤' if checks['wall_ratio_le_0.6'] else '>'} {WALL_RATIO_LIMIT})",
        f"- cells per GPU: {', '.join(f'{k} {v}' for k, v in sorted(s2.cells_per_worker.items()))}; "
        f"failed cells: {len(s2.failed)}; same row keys in both runs: {checks['same_row_keys']}",
        "",
        "## Energy per epoch, per (model, batch): all GPUs / one GPU",
        "",
        "Means over repeats and windows; spread = (max − min) / mean of the per-repeat means; "
        "`within_spread`: |ratio − 1| ≤ the larger spread.",
        "",
        _fmt(cells),
        "",
        f"Cells within the spread between repeats: {checks['cells_within_repeat_spread']}.",
        "",
        "Row by row (same cell, repeat and window), by the GPU that ran it in the Dask run "
        f"(the one-GPU run used {env.device}): energy per epoch there / on the one GPU.",
        "",
        _fmt(ratios),
        "",
        "## Each GPU's energy is its own (the Dask run)",
        "",
        "NVML's cumulative counter of each GPU read before and after the whole sweep (it includes warm-ups, "
        "model setup and idle gaps between windows); the rows' window energies summed per GPU must stay "
        "below it, and each row's meter read only its worker's GPU (`metered_gpus`).",
        "",
        _fmt(gpus),
        "",
        f"Host: rows {checks['host_rows_energy_j']:.1f} J of the {checks['host_counter_energy_j']:.1f} J "
        f"that all GPUs' counters add up to over the sweep (share {checks['host_rows_share']:.2f}). "
        f"During the one-GPU run the counters moved by "
        + (", ".join(f"gpu{i} {v:.0f} J" for i, v in sorted(host_one.items())) or "n/a (no NVML)")
        + "; during the Dask run by "
        + (", ".join(f"gpu{i} {v:.0f} J" for i, v in sorted(host_all.items())) or "n/a (no NVML)") + ".",
        "",
        "Checks: " + ", ".join(f"{k} = {v}" for k, v in checks.items()),
        "",
    ]
    path.write_text("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
