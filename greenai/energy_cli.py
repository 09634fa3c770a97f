"""``greenai measure [--csv FILE] [--method ...] -- CMD ...``

Runs any command inside one energy window and prints its duration, GPU energy
(J and Wh), average power per GPU and the method used. ``--csv`` appends the
measurement as a row. The command's exit code is passed through. On a machine
without an NVIDIA GPU (``--method auto``, the default) it still runs the
command, reports energy as unavailable and says why.

Exit codes: the command's own; 127 if it cannot be started; 2 for a usage
mistake, among them an explicitly requested GPU method (``--method counter``)
that this machine cannot provide: the command is then not run (``--method
auto``, the default, runs it and reports energy as unavailable).
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
from pathlib import Path

from greenai.energy import METHODS, EnergyMeter, GpuEnergyUnavailable, Measurement

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
        print("greenai measure: no command given; usage: greenai measure [options] -- CMD [ARG ...]", file=sys.stderr)
        return 2
    methods = args.method or ["auto"]
    if "auto" in methods and len(methods) > 1:
        print("greenai measure: --method auto cannot be combined with other methods", file=sys.stderr)
        return 2
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
    with meter:
        if args.idle_s > 0:
            idle = meter.measure_idle(args.idle_s)
            print(f"idle: {_fmt_w(idle.power_w)} total ({idle.idle_kind})", file=sys.stderr)
        label = args.label or " ".join(cmd)
        meter.begin_window(label)
        try:
            returncode = subprocess.call(cmd)
        except OSError as exc:
            meter.end_window(label)
            print(f"greenai measure: cannot run {cmd[0]!r}: {exc}", file=sys.stderr)
            return EXIT_NOT_STARTED
        m = meter.end_window(label)
    print(report(m, returncode), file=sys.stderr)
    if args.csv is not None:
        try:
            append_row(args.csv, {**m.as_row(), "command": " ".join(cmd), "exit_code": returncode})
        except (OSError, ValueError) as exc:
            print(f"greenai measure: the row was not written: {exc}", file=sys.stderr)
            return returncode or 2
    return returncode


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
    from greenai.experiments.store import ResultsFileError
    from greenai.experiments.store import append_row as _append

    try:
        _append(path, row)
    except ResultsFileError as exc:
        raise ResultsFileError(f"{exc}; write to a new --csv file") from None


def _fmt_w(power_w: float) -> str:
    return "n/a" if math.isnan(power_w) else f"{power_w:.1f} W"
