"""The measurement campaign on a GPU: ``greenai campaign`` and ``python -m greenai.campaign`` (``make measure``).

Runs experiments of :data:`greenai.experiments.registry.EXPERIMENTS` (``--list``
names them; ``docs/campaign.md`` describes the campaign) and appends rows to
``<out>/<csv>.csv`` (default ``results/raw/``; ``results/scratch/`` for a
``--quick`` run or one on a CPU, which never writes into ``results/raw/``), a
``.meta.json`` beside each; a rerun measures only the missing rows. ``--gpus`` or
``--scheduler`` spread the cells over Dask workers; this process writes every row.

Every mistake is refused before a row is written (one line, exit code 2): an
unknown experiment or device, a GPU this machine lacks, a Dask address that is
none, and a trial run aimed at ``results/raw/``. Ctrl-C keeps the rows written
so far (exit code 130).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from greenai import paths
from greenai.cli import Interrupted, UsageError, run_command
from greenai.experiments.grids import GridError, validate
from greenai.experiments.executors import make_executor
from greenai.experiments.registry import DEFAULT_EXPERIMENTS, EXPERIMENTS, markdown_table, run_experiment
from greenai.experiments.store import ResultsFileError


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--experiment", "-e", action="append", choices=sorted(EXPERIMENTS),
                        help="experiment to run (repeatable; default: all but hardware_h200)")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for the CSVs (default results/raw; results/scratch with --quick or a CPU "
                             "device, which may not write into results/raw)")
    parser.add_argument("--quick", action="store_true", help="tiny synthetic grids (smoke test, CPU)")
    parser.add_argument("--device", default=None,
                        help="cuda, cuda:N (a GPU) or cpu (with --quick); default cuda if available")
    parser.add_argument("--data-root", default=None, help="dataset folder (default $GREENAI_DATA_DIR or data/)")
    parser.add_argument("--checkpoint-dir", default=None, help="where multi-epoch runs keep state between epochs")
    parser.add_argument("--model", "-m", action="append", default=None, metavar="NAME",
                        help="run only this model's cells of the experiments' grids (repeatable; default: all)")
    parser.add_argument("--idle-s", type=float, default=5.0, help="idle power measured first [s]; 0 skips")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--list", action="store_true",
                        help="list every experiment (the default set marked) and its run count, then exit")
    parser.add_argument("--markdown", action="store_true",
                        help="with --list: the table of docs/campaign.md (grids and run counts of the full runs)")
    where = parser.add_argument_group("where the cells run (default: one after another in this process)")
    where.add_argument("--gpus", default=None, metavar="all|I,J",
                       help="one Dask worker per local GPU (dask-cuda's LocalCUDACluster): all, or CUDA indices")
    where.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="a running Dask scheduler (e.g. tcp://host:8786 of a dask-jobqueue SLURMCluster); "
                            "its workers run the cells, this process writes the rows")
    where.add_argument("--cpu-workers", type=int, default=None, metavar="N",
                       help="N local CPU worker processes (a smoke test of the Dask path with --quick --device cpu)")
    where.add_argument("--gpu-kind", default=None, metavar="TEXT",
                       help="run cells only on workers whose GPU name contains TEXT (e.g. H200)")


def register(subparsers) -> None:
    """``greenai campaign ...``: the same options as ``python -m greenai.campaign``."""
    p = subparsers.add_parser("campaign", help="on a GPU: run the measurement campaign (thesis 2.3, 4.1) into results/raw")
    _add_arguments(p)
    p.set_defaults(func=_run)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m greenai.campaign", description=__doc__.split("\n\n")[0])
    _add_arguments(parser)
    return run_command("campaign", _run, parser.parse_args(argv))


def _run(args: argparse.Namespace) -> int:
    if args.markdown and not args.list:
        raise UsageError("--markdown formats the --list table; give --list too")
    if args.list:
        return _list(args)
    names = args.experiment or list(DEFAULT_EXPERIMENTS)
    distributed = bool(args.gpus or args.scheduler or args.cpu_workers)
    chosen = [f for f, v in (("--gpus", args.gpus), ("--scheduler", args.scheduler),
                             ("--cpu-workers", args.cpu_workers)) if v]
    if len(chosen) > 1:
        raise UsageError(f"choose one of {', '.join(chosen)}")
    if args.gpu_kind and not distributed:
        raise UsageError("--gpu-kind pins cells to Dask workers; give --gpus or --scheduler too")
    if args.cpu_workers is not None and args.cpu_workers < 1:
        raise UsageError(f"--cpu-workers must be at least 1, got {args.cpu_workers}")
    if args.cpu_workers and not (args.quick and args.device == "cpu"):
        raise UsageError("--cpu-workers is a smoke test of the Dask path: use it with --quick --device cpu")
    if args.gpus and args.gpus != "all" and not all(g.strip().isdigit() for g in args.gpus.split(",")):
        raise UsageError(f"--gpus takes 'all' or CUDA indices like 0,1; got {args.gpus!r}")
    _check_device(args)
    out = out_dir(args)
    # validate every grid once, before any GPU time is spent
    if args.model:
        in_grids = {s.model for n in names for s in EXPERIMENTS[n].specs(args.quick)}
        unknown = [m for m in args.model if m not in in_grids]
        if unknown:
            raise UsageError(f"--model {', '.join(unknown)}: not in the grid of {', '.join(names)} (its models: "
                             f"{', '.join(sorted(in_grids))})")
    all_specs = [s for n in names for s in EXPERIMENTS[n].specs(args.quick, args.model)]
    try:
        validate(all_specs, data_root=args.data_root)
    except GridError as exc:
        raise UsageError(str(exc)) from None
    try:
        if distributed:
            return _run_distributed(args, names, out)
        from greenai.experiments.environment import make_environment  # torch

        env = make_environment(args.device, idle_s=args.idle_s)
        print(f"device {env.device} ({env.gpu_name}), driver {env.driver}, torch {env.torch_version}, "
              f"idle {env.idle_power_w:.1f} W ({env.idle_kind}); rows go to {out}", flush=True)
        for name in names:
            t0 = time.perf_counter()
            summary = run_experiment(name, out, quick=args.quick, env=env, data_root=args.data_root,
                                     models=args.model, checkpoint_dir=args.checkpoint_dir,
                                     progress=not args.no_progress,
                                     log=lambda line: print(line, flush=True), validate_first=False)
            print(f"== {name}: {summary.written} rows written, {summary.skipped} skipped, "
                  f"{time.perf_counter() - t0:.1f} s", flush=True)
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted; the rows written so far are kept in {out}: rerun the same command to "
                          "measure only the missing ones") from None
    except ResultsFileError as exc:  # a foreign, protected or busy results file: nothing was written to it
        raise UsageError(str(exc)) from None
    return 0


def _list(args: argparse.Namespace) -> int:
    """Every experiment ``--experiment`` accepts (or those named), its CSV and run count; ``*`` marks the default set."""
    if args.markdown:
        print(markdown_table(), end="")
        return 0
    names = args.experiment or sorted(EXPERIMENTS)
    width = max(len(n) for n in names)
    for name in names:
        e = EXPERIMENTS[name]
        mark = "*" if name in DEFAULT_EXPERIMENTS else " "
        print(f"{mark} {name:{width}s} {e.csv + '.csv':26s} {len(e.specs(args.quick)):4d} runs  "
              f"{e.thesis}: {e.description}")
    print("(* the default set: what runs when no --experiment is given)")
    return 0


def _check_device(args: argparse.Namespace) -> None:
    """Refuse a ``--device`` torch does not know, or a GPU this machine lacks (with ``--quick`` too).

    With ``--scheduler`` or ``--cpu-workers`` the workers hold the devices: this
    process (e.g. a login node) needs none.
    """
    if args.device is not None:
        import torch  # heavy: torch

        try:
            kind = torch.device(args.device).type
        except (RuntimeError, ValueError):
            kind = None
        if kind not in ("cuda", "cpu"):
            raise UsageError(f"--device {args.device!r}: the campaign runs on cuda or cuda:N (a GPU), or on cpu "
                             "with --quick")
    if args.scheduler or args.cpu_workers:
        return
    wants_gpu = args.gpus or not args.quick or (args.device or "").startswith("cuda")
    no_gpu = _no_gpu(args.device) if wants_gpu else None
    if no_gpu:  # said first: nothing else matters on a machine without a GPU
        raise UsageError(f"{no_gpu}; the campaign measures GPU energy: run it on a machine with an NVIDIA GPU (or "
                         "`--quick --device cpu` for a CPU smoke test of the code)")


def is_trial(args: argparse.Namespace) -> bool:
    """A ``--quick`` run, or one on a device that is no GPU: its rows are no measurement of record."""
    return bool(args.quick) or (args.device is not None and not str(args.device).startswith("cuda"))


def out_dir(args: argparse.Namespace) -> Path:
    """Where the rows go: ``--out``, else ``paths.RAW_DIR`` for a GPU campaign and
    ``paths.SCRATCH_DIR`` for a trial (:func:`is_trial`).

    Raises
    ------
    UsageError
        A trial's ``--out`` lies inside ``paths.RAW_DIR``.
    """
    if args.out is None:
        return paths.SCRATCH_DIR if is_trial(args) else paths.RAW_DIR
    if is_trial(args) and Path(args.out).resolve().is_relative_to(paths.RAW_DIR.resolve()):
        why = "--quick" if args.quick else f"--device {args.device}"
        raise UsageError(f"--out {args.out} lies inside {paths.RAW_DIR}, the recorded GPU measurements; a {why} "
                         f"run writes elsewhere (by default {paths.SCRATCH_DIR})")
    return Path(args.out)


def _run_distributed(args: argparse.Namespace, names: list[str], out: Path) -> int:
    """The campaign on Dask workers (``--gpus``, ``--scheduler``, ``--cpu-workers``); this process writes the rows."""
    try:
        executor = make_executor(gpus=args.gpus, scheduler=args.scheduler, cpu_workers=args.cpu_workers,
                                 device=args.device, idle_s=args.idle_s, gpu_kind=args.gpu_kind)
    except ImportError as exc:
        raise UsageError(str(exc)) from None
    except (OSError, TimeoutError) as exc:
        raise UsageError(f"no Dask scheduler reached at {args.scheduler or 'the local cluster'} ({exc})") from None
    except ValueError as exc:  # an address Dask cannot parse
        raise UsageError(f"--scheduler {args.scheduler}: {exc}; give an address such as tcp://host:8786") from None
    failed = 0
    with executor:
        try:
            workers = executor.start()
        except (OSError, TimeoutError) as exc:
            raise UsageError(f"no Dask worker joined {executor.description} ({exc})") from None
        print(f"{executor.description}: {len(workers)} worker(s); rows go to {out}", flush=True)
        for info in workers.values():
            print(f"  {info['address']}: {info['host']} {info['device']} ({info['gpu_name']}) NVML index "
                  f"{info['gpu_index']} {info['gpu_uuid']}, idle {info['idle_power_w']:.1f} W", flush=True)
        for name in names:
            t0 = time.perf_counter()
            try:
                summary = run_experiment(name, out, quick=args.quick, data_root=args.data_root,
                                         models=args.model, checkpoint_dir=args.checkpoint_dir,
                                     progress=not args.no_progress,
                                         log=lambda line: print(line, flush=True), validate_first=False,
                                         executor=executor)
            except (GridError, ResultsFileError) as exc:
                raise UsageError(str(exc)) from None
            per = ", ".join(f"{k} {v}" for k, v in sorted(summary.cells_per_worker.items()))
            print(f"== {name}: {summary.written} rows written, {summary.skipped} skipped, "
                  f"{time.perf_counter() - t0:.1f} s; cells per GPU: {per or 'none'}", flush=True)
            for failure in summary.failed:
                print(f"FAILED {failure.describe()}", file=sys.stderr, flush=True)
            failed += len(summary.failed)
    if failed:
        print(f"greenai campaign: {failed} cell(s) failed twice (listed above and in the .meta.json); "
              f"rerun the same command to retry them", file=sys.stderr)
        return 1
    return 0


def _no_gpu(device: str | None) -> str | None:
    """Why ``device`` (default: the first GPU) is no usable GPU, or None."""
    if device is not None and not str(device).startswith("cuda"):
        return f"--device {device} is no GPU"
    import torch  # heavy: torch

    if not torch.cuda.is_available():
        return "no GPU found (CUDA is not available to torch on this machine)"
    index = torch.device(device).index if device is not None else None
    if index is not None and index >= torch.cuda.device_count():
        return f"--device {device}: this machine has {torch.cuda.device_count()} GPU(s) (cuda:0 …)"
    return None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
