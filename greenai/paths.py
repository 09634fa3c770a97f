"""Every path the project uses, built from the package root, never from the
current directory.

Environment variables
---------------------
GREENAI_DATA_DIR
    Dataset cache (default ``<repo>/data``). Torchvision downloads go here.
GREENAI_OUTPUT_DIR
    Where derived outputs are written (figures, tables, executed notebooks,
    claims). Default ``<repo>/results``. Tests point it at a temporary folder so
    that running the suite never touches committed results. Recorded GPU
    measurements (``RAW_DIR``) are always read from the repository.
GREENAI_CACHE_DIR
    What belongs to this machine rather than to a checkout (the card
    calibration of ``greenai predict --calibrate``). Default
    ``$XDG_CACHE_HOME/greenai``, else ``~/.cache/greenai``.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT: Path = Path(__file__).resolve().parent.parent
PACKAGE_DIR: Path = REPO_ROOT / "greenai"
NOTEBOOKS_DIR: Path = REPO_ROOT / "notebooks"
RESULTS_DIR: Path = REPO_ROOT / "results"
#: Measurements recorded on GPUs (CSV + ``.meta.json``); immutable inputs.
RAW_DIR: Path = RESULTS_DIR / "raw"
#: Rows of trial runs (``greenai campaign --quick`` or on a CPU): never mixed with ``RAW_DIR``; not committed.
SCRATCH_DIR: Path = RESULTS_DIR / "scratch"
#: Benchmark outputs recorded by ``benchmarks/*.py``.
BENCHMARKS_DIR: Path = RESULTS_DIR / "benchmarks"
#: Small committed inputs (solar weather file, ...).
COMMITTED_DATA_DIR: Path = REPO_ROOT / "data"


def data_dir() -> Path:
    """Dataset cache directory (``$GREENAI_DATA_DIR`` or ``<repo>/data``)."""
    return Path(os.environ.get("GREENAI_DATA_DIR", COMMITTED_DATA_DIR)).expanduser()


def output_dir() -> Path:
    """Root for derived outputs (``$GREENAI_OUTPUT_DIR`` or ``<repo>/results``)."""
    return Path(os.environ.get("GREENAI_OUTPUT_DIR", RESULTS_DIR)).expanduser()


def cache_dir() -> Path:
    """Per-user cache (``$GREENAI_CACHE_DIR``, else ``$XDG_CACHE_HOME/greenai``, else ``~/.cache/greenai``);
    not created here (a reader of a missing cache needs no folder)."""
    if os.environ.get("GREENAI_CACHE_DIR"):
        return Path(os.environ["GREENAI_CACHE_DIR"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "greenai"


def figures_dir() -> Path:
    """Folder for figures; created on first use."""
    return _ensure(output_dir() / "figures")


def tables_dir() -> Path:
    """Folder for derived tables (CSV); created on first use."""
    return _ensure(output_dir() / "tables")


def executed_notebooks_dir() -> Path:
    """Folder for papermill's executed copies of the notebooks."""
    return _ensure(output_dir() / "notebooks")


def claims_dir() -> Path:
    """Folder where each notebook records its thesis-claim comparisons."""
    return _ensure(output_dir() / "claims")


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path
