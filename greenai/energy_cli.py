"""``greenai measure [--csv FILE] [--method ...] -- CMD ...``

Runs any command inside one energy window and prints its duration, GPU energy
(J and Wh), average power per GPU and the method used. ``--csv`` appends the
measurement as a row. The command's exit code is passed through. On a machine
without an NVIDIA GPU (``--method auto``, the default) it still runs the
command, reports energy as unavailable and says why.

Exit codes: the command's own; 127 if it cannot be started; 130 after Ctrl-C
(the window is not recorded); 2 for a usage mistake, checked before the command
runs: among them a ``--gpu`` or an explicitly requested GPU method (``--method
counter``) that this machine cannot provide, or a ``--csv`` that is a folder or
holds other rows (``--method auto``, the default, runs the command on a machine
without a GPU and reports energy as unavailable).
"""

from __future__ import annotations

import argparse
import csv
import math
import subprocess
import sys
from pathlib import Path

from greenai.cli import Interrupted, UsageError
from greenai.energy.meter import EnergyMeter
from greenai.energy.results import METHODS, GpuEnergyUnavailable, Measurement, measurement_row
from greenai.experiments import store

#: An explicitly requested GPU method is unavailable here: a usage error, the command is not run.
EXIT_UNAVAILABLE = 2
EXIT_NOT_STARTED = 127


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "measure",
        help="run a command and report the GPU energy it used",
        description=__doc__.split("\n\n")[1],
        usage="greenai measure [options] -- CMD [ARG ...]",
    )
    p.add_argument(
        "--method", "-m", action="append", choices=[*METHODS, "auto"], default=None,
        help="energy method; repeat to run several on the same window (the first is reported). Default: auto",
    )
    p.add_argument("--gpu", type=int, action="append", default=None, help="NVML index of a GPU to meter (repeatable; default all)")
    p.add_argument("--idle-s", type=float, default=0.0, help="measure idle power for this many seconds first [s]")
    p.add_argument("--sample-period-s", type=float, default=0.010, help="power polling period of 'sampled' [s]")
    p.add_argument("--tdp-w", type=float, default=None, help="rated power per GPU for 'tdp' [W] (default NVML's)")
    p.add_argument("--csv", type=Path, default=None, help="append the measurement as a row to this CSV file")
    p.add_argument("--label", default=None, help="window name in the CSV (default: the command line)")
    p.add_argument("cmd", nargs=argparse.REMAINDER, help="the command to run, after --")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    cmd = list(args.cmd)
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if not cmd:
        raise UsageError("no command given; usage: greenai measure [options] -- CMD [ARG ...]")
    methods = args.method or ["auto"]
    if "auto" in methods and len(methods) > 1:
        raise UsageError("--method auto cannot be combined with other methods")
    check_options(args)
    if args.csv is not None:
        check_csv(args.csv)  # before the command runs: a row that cannot be written is known now
    try:
        meter = EnergyMeter(
            gpu_indices=args.gpu,
            methods="auto" if methods == ["auto"] else tuple(methods),
            sample_period_s=args.sample_period_s,
            tdp_w=args.tdp_w,
        )
    except GpuEnergyUnavailable as exc:
        reason = " ".join(str(exc.__cause__ or exc).split())
        print(f"greenai measure: --method {' '.join(methods)} cannot be used here: {reason}; the command was not "
              "run (--method auto runs it and reports GPU energy as unavailable)", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except ValueError as exc:  # e.g. a GPU index given twice
        raise UsageError(f"{exc}; the command was not run") from None
    if args.gpu is not None and not meter.gpus:  # auto fell back to time only, but these GPUs were asked for
        reason = "; ".join(meter.notes) or "NVML sees no such GPU"
        meter.close()
        raise UsageError(f"--gpu {' '.join(str(i) for i in args.gpu)} cannot be metered here ({reason}); "
                         "the command was not run")
    label = args.label or " ".join(cmd)
    with meter:
        try:
            if args.idle_s > 0:
                idle = meter.measure_idle(args.idle_s)
                print(f"idle: {_fmt_w(idle.power_w)} total ({idle.idle_kind})", file=sys.stderr)
            meter.begin_window(label)
            try:
                returncode = subprocess.call(cmd)
            except OSError as exc:
                meter.end_window(label)
                print(f"greenai measure: cannot run {cmd[0]!r}: {exc}", file=sys.stderr)
                return EXIT_NOT_STARTED
        except KeyboardInterrupt:
            kept = f"; the rows already in {args.csv} are kept" if args.csv is not None and args.csv.exists() else ""
            raise Interrupted(f"interrupted: the command was stopped and its window not recorded{kept}") from None
        m = meter.end_window(label)
    print(report(m, returncode), file=sys.stderr)
    if args.csv is not None:
        try:
            append_row(args.csv, {**measurement_row(m), "command": " ".join(cmd), "exit_code": returncode})
        except (OSError, ValueError) as exc:
            print(f"greenai measure: the row was not written: {exc}", file=sys.stderr)
            return returncode or 2
    return returncode


def check_options(args: argparse.Namespace) -> None:
    """Refuse non-positive periods and powers and a negative idle time before anything runs.

    Raises
    ------
    UsageError
        Naming the option and its value.
    """
    for option, value, ok, wanted in (
            ("--sample-period-s", args.sample_period_s, args.sample_period_s > 0, "a positive number of seconds"),
            ("--idle-s", args.idle_s, args.idle_s >= 0, "a number of seconds >= 0"),
            ("--tdp-w", args.tdp_w, args.tdp_w is None or args.tdp_w > 0, "a positive power in W")):
        if value is not None and not (math.isfinite(value) and ok):
            raise UsageError(f"{option} must be {wanted}, got {value:g}")


#: the columns every ``greenai measure`` row has (:func:`greenai.energy.results.measurement_row` and the command's own)
MEASURE_COLUMNS = ("window", "begin_unix_s", "duration_s", "method", "energy_j", "command", "exit_code")


def check_csv(path: Path) -> None:
    """Refuse a ``--csv`` the measurement could not be appended to: a directory, a file
    that is not text, or a CSV whose header is not that of ``greenai measure`` rows.
    A missing or empty file is fine (it gets a header).

    Raises
    ------
    UsageError
        Saying why and to give a new file.
    """
    if path.is_dir():
        raise UsageError(f"--csv {path} is a directory; give a file name such as {path / 'runs.csv'}")
    if not path.exists() or path.stat().st_size == 0:
        return
    try:
        with open(path, newline="", encoding="utf-8") as f:
            header = next(csv.reader(f), [])
    except UnicodeDecodeError:
        raise UsageError(f"--csv {path} is not a text CSV file; give a new file") from None
    except (OSError, csv.Error) as exc:
        raise UsageError(f"--csv {path} cannot be read ({exc}); give a new file") from None
    missing = [c for c in MEASURE_COLUMNS if c not in header]
    if missing:
        raise UsageError(f"--csv {path} holds other rows than greenai measure writes (no column "
                         f"{', '.join(missing)}); give a new file")


def report(m: Measurement, returncode: int) -> str:
    """Human-readable summary of one measurement."""
    lines = [f"duration: {m.duration_s:.3f} s   exit code: {returncode}"]
    if math.isnan(m.energy_j):
        lines.append("GPU energy: unavailable")
    else:
        lines.append(
            f"GPU energy: {m.energy_j:.1f} J = {m.energy_j / 3600:.4f} Wh  (method: {m.method}"
            + (f", ±{m.uncertainty_j:.1f} J" if math.isfinite(m.uncertainty_j) else "")
            + (f", {m.counter_updates} counter updates" if m.counter_updates is not None else "")
            + ")"
        )
        for gpu, energy_j in sorted(m.gpu_energy_j.items()):
            lines.append(f"  GPU {gpu}: {energy_j:.1f} J, average {_fmt_w(energy_j / m.duration_s)}")
        for method, energy_j in m.energy_by_method.items():
            if method != m.method:
                lines.append(f"  by {method}: {energy_j:.1f} J")
        if math.isfinite(m.energy_above_idle_j):
            lines.append(f"  above idle ({_fmt_w(m.idle_power_w)}): {m.energy_above_idle_j:.1f} J")
    if math.isfinite(m.cpu_energy_j):
        lines.append(f"CPU package energy (RAPL): {m.cpu_energy_j:.1f} J")
    else:
        lines.append(f"CPU package energy: unavailable ({m.cpu_energy_note or 'RAPL read failed'})")
    lines.extend(f"warning: {w}" for w in m.warnings)
    return "\n".join(lines)


def append_row(path: Path, row: dict) -> None:
    """Append ``row`` to the CSV ``path`` through the row store
    (:func:`greenai.experiments.store.append_row`: one writer, flushed and fsynced,
    new keys extend the header).

    Raises
    ------
    ValueError
        The file exists with columns this row lacks (choose another file).
    """
    try:
        store.append_row(path, row)
    except store.ResultsFileError as exc:
        raise store.ResultsFileError(f"{exc}; write to a new --csv file") from None


def _fmt_w(power_w: float) -> str:
    return "n/a" if math.isnan(power_w) else f"{power_w:.1f} W"
