"""Re-execute every notebook end to end with papermill.

Notebooks are stored as jupytext percent scripts (``notebooks/NN_name.py``)
so they diff cleanly. :func:`run_notebooks` converts each to
``notebooks/NN_name.ipynb`` (ignored by git; JupyterLab opens either form),
executes it with papermill into ``<output>/notebooks/`` and finally gathers the
claims every notebook recorded into ``<output>/claims.md`` and ``claims.csv``
(with a verdict per claim, :mod:`greenai.claims`).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

from greenai import claims, paths
from greenai.cli import UsageError


def notebook_sources(pattern: str = "[0-9][0-9]_*.py") -> list[Path]:
    """The numbered notebooks matching ``pattern``, in order: their jupytext sources (``.py``) only, never the
    ``.ipynb`` converted beside them (``05_*`` is ``05_prediction.py``)."""
    return sorted(p for p in paths.NOTEBOOKS_DIR.glob(pattern) if p.suffix == ".py")


def to_ipynb(source: Path) -> Path:
    """Convert a jupytext percent script to ``.ipynb`` beside it; returns the path."""
    import jupytext  # optional: jupytext

    target = source.with_suffix(".ipynb")
    notebook = jupytext.read(source)
    notebook.metadata.setdefault("kernelspec", {"name": "python3", "display_name": "Python 3", "language": "python"})
    jupytext.write(notebook, target)
    return target


#: numpy's dispatched loops above the x86-64-v3 level (AVX-512), switched off in the notebook kernels
_NUMPY_ABOVE_AVX2 = "X86_V4 AVX512_ICL AVX512_SPR"


def _cpu_flags() -> set[str]:
    """The processor's feature flags (``/proc/cpuinfo``; empty where it cannot be read)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    return next((set(line.split(":", 1)[1].split()) for line in text.splitlines() if line.startswith("flags")), set())


def kernel_environment(machine: str | None = None, cpu_flags: set[str] | None = None) -> dict[str, str]:
    """Environment of the notebook kernels that fixes what would otherwise vary with the processor.

    The numerical libraries choose code paths by instruction set (OpenBLAS's kernels, numpy's and torch's
    dispatched loops) and split work by core count, and their results differ in the last bits; a curve fit
    or a least-squares solve carries such a difference into the committed digits. So every kernel runs on one
    thread, and on an x86-64 processor with AVX2 and FMA (the x86-64-v3 level: processors since 2013-2015) with the
    AVX2 paths, also where AVX-512 is there: OpenBLAS's Haswell kernels, numpy without its AVX-512 loops, torch at
    ``avx2``. Elsewhere only the threads are fixed.
    """
    env = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    machine = platform.machine() if machine is None else machine
    flags = _cpu_flags() if cpu_flags is None else cpu_flags
    if machine.lower() in ("x86_64", "amd64") and {"avx2", "fma"} <= flags:
        env |= {"OPENBLAS_CORETYPE": "Haswell", "NPY_DISABLE_CPU_FEATURES": _NUMPY_ABOVE_AVX2,
                "ATEN_CPU_CAPABILITY": "avx2"}
    return env


@contextlib.contextmanager
def _environment(values: dict[str, str]):
    """``os.environ`` with ``values`` added where not set already (a value set by the caller is kept), restored
    afterwards."""
    added = {k: v for k, v in values.items() if k not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for key in added:
            os.environ.pop(key, None)


def run_notebook(source: Path, parameters: dict | None = None, output_dir: Path | None = None) -> Path:
    """Execute one notebook with papermill, its kernel in :func:`kernel_environment`; returns the executed copy's
    path.

    A failing cell raises ``papermill.PapermillExecutionError``.
    """
    import papermill  # optional: papermill

    ipynb = to_ipynb(source)
    out_dir = output_dir or paths.executed_notebooks_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    executed = out_dir / ipynb.name
    with _environment(kernel_environment()):
        papermill.execute_notebook(
            str(ipynb),
            str(executed),
            parameters=parameters or {},
            kernel_name="python3",
            cwd=str(paths.NOTEBOOKS_DIR),
            progress_bar=False,
        )
    _strip_machine_paths(executed)
    _strip_volatile_metadata(executed)
    return executed


#: papermill's per-cell and per-notebook timing fields: they change at every run
_TIMING_KEYS = ("duration", "start_time", "end_time")


def _coalesce_streams(outputs: list) -> list:
    """Join consecutive ``stream`` outputs of the same name (stdout, stderr) into one."""
    joined = []
    for output in outputs:
        previous = joined[-1] if joined else None
        if (output.get("output_type") == "stream" and previous is not None
                and previous.get("output_type") == "stream" and previous.get("name") == output.get("name")):
            previous["text"] = previous["text"] + output["text"]
        else:
            joined.append(output)
    return joined


def _strip_volatile_metadata(executed: Path) -> None:
    """Make the executed notebook the same file at every run of the same code and data.

    Cell ids (random when jupytext converts the script and when papermill injects the
    parameters) become their position (``cell-0``, ``cell-1``, ...); papermill's timings
    and the kernel's execution timestamps are dropped. What a cell prints is kept as it
    is: a notebook that prints a duration (notebook 08's solve times) stays volatile there.
    Consecutive chunks of one stream are joined: how the kernel splits what a cell prints
    depends on timing (a print before a slow call arrives as a chunk of its own).
    """
    import nbformat  # optional: nbformat

    nb = nbformat.read(executed, as_version=4)
    for key in _TIMING_KEYS:
        nb.metadata.get("papermill", {}).pop(key, None)
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i}"
        if "outputs" in cell:
            cell.outputs = _coalesce_streams(cell.outputs)
        for key in _TIMING_KEYS:
            cell.metadata.get("papermill", {}).pop(key, None)
        cell.metadata.pop("execution", None)
    nbformat.write(nb, executed)


def _strip_machine_paths(executed: Path) -> None:
    """Rewrite the executed notebook so that it carries no absolute path of this machine.

    Papermill records ``input_path``/``output_path``, and a cell whose last value
    is a path (``save_figure`` returns one) prints it: paths under the checkout
    become relative to it (``results/figures/...``), so the executed copy is the
    same on every machine.
    """
    import nbformat  # optional: nbformat

    root = str(paths.REPO_ROOT) + "/"
    nb = nbformat.read(executed, as_version=4)

    def portable(text):
        return text.replace(root, "") if isinstance(text, str) else text

    meta = nb.metadata.get("papermill", {})
    for key in ("input_path", "output_path"):
        if key in meta:
            meta[key] = portable(meta[key])
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if "text" in output:
                output["text"] = portable(output["text"])
            if "text/plain" in output.get("data", {}):
                output["data"]["text/plain"] = portable(output["data"]["text/plain"])
    nbformat.write(nb, executed)


def run_notebooks(pattern: str = "[0-9][0-9]_*.py", parameters: dict | None = None) -> Path:
    """Execute every numbered notebook matching ``pattern``, then write ``claims.md``."""
    sources = notebook_sources(pattern)
    if not sources:
        raise FileNotFoundError(f"no notebook matches {pattern!r} in {paths.NOTEBOOKS_DIR}")
    for source in sources:
        start = time.perf_counter()
        executed = run_notebook(source, parameters)
        print(f"{source.name}: executed in {time.perf_counter() - start:.1f} s -> {executed}", flush=True)
    out = claims.write_markdown()
    print(f"claims table: {out}")
    return out


#: What may differ between two runs of ``make reproduce`` on the same code, data and locked environment,
#: by committed file: a regular expression for the volatile text and what it is. Nothing else may differ.
VOLATILE: dict[str, tuple[str, str]] = {
    "results/notebooks/08_dispatch.ipynb": (r"\bin \d+(?:\.\d+)? s\b", "the solve times notebook 08 prints"),
}

#: the committed outputs a reproduce regenerates (paths relative to the checkout)
OUTPUTS: tuple[str, ...] = ("results/notebooks", "results/figures", "results/tables", "results/claims",
                            "results/claims.md", "results/claims.csv", "greenai/data_files")


def _git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(paths.REPO_ROOT), *args], capture_output=True)


def _without_volatile(path: str, content: bytes) -> bytes:
    pattern = VOLATILE.get(path)
    if pattern is None:
        return content
    return re.sub(pattern[0].encode(), b"<volatile>", content)


def differing_outputs() -> list[str]:
    """Committed outputs whose content differs from ``HEAD`` beyond :data:`VOLATILE`, and new untracked outputs.

    Raises
    ------
    RuntimeError
        The checkout is no git repository (there is nothing committed to compare with).
    """
    if _git("rev-parse", "--git-dir").returncode != 0:
        raise RuntimeError(f"{paths.REPO_ROOT} is no git checkout: nothing committed to compare the outputs with")
    status = _git("status", "--porcelain", "-z", "--untracked-files=all", "--", *OUTPUTS).stdout.decode()
    differing = []
    for entry in filter(None, status.split("\0")):
        code, path = entry[:2], entry[3:]
        if code.strip() == "M":
            committed = _git("show", f"HEAD:{path}").stdout
            current = (paths.REPO_ROOT / path).read_bytes()
            if _without_volatile(path, committed) == _without_volatile(path, current):
                continue
        differing.append(f"{code.strip() or '?'} {path}")
    return differing


def register(subparsers) -> None:
    p = subparsers.add_parser("reproduce", help="re-execute every notebook and regenerate figures, tables and claims")
    p.add_argument("--only", default="[0-9][0-9]_*.py", help="glob of notebooks to run (default: all numbered ones)")
    p.add_argument("--quick", action="store_true", help="pass QUICK=True to every notebook (smaller grids)")
    p.add_argument("--check", action="store_true",
                   help="then fail (exit 1) if a committed output differs beyond the volatile fields "
                        "(greenai.reproduce.VOLATILE), naming each")
    p.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    if not notebook_sources(args.only):
        names = ", ".join(p.name for p in notebook_sources())
        raise UsageError(f"no notebook matches --only {args.only!r}; the notebooks are {names} "
                         "(--only takes a glob such as '04_*.py')")
    if args.check and args.quick:
        raise UsageError("--check compares with the committed outputs, which a --quick run does not make")
    run_notebooks(args.only, {"QUICK": True} if args.quick else None)
    if not args.check:
        return 0
    differing = differing_outputs()
    for line in differing:
        print(f"differs from the committed output: {line}", file=sys.stderr)
    volatile = "; ".join(f"{path}: {what}" for path, (_, what) in VOLATILE.items())
    print(f"{len(differing)} output(s) differ from the committed ones (volatile and ignored: {volatile})")
    return 1 if differing else 0
