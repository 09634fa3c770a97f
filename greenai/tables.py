"""Derived tables under ``results/tables``: one writer, one number format.

Every table a notebook regenerates is written by :func:`save_table`, with
floats at :data:`FLOAT_FORMAT` (10 significant digits). The recorded
measurements carry at most a few significant digits of physics; the digits
beyond the tenth are the last bits of floating-point arithmetic, which differ
between BLAS kernels and processors. Rounding them at writing keeps a
reproduce byte-identical on another machine, without changing any number a
reader could use.
"""

from __future__ import annotations

from pathlib import Path

from greenai import paths

#: ``printf`` format of every float in a derived table
FLOAT_FORMAT = "%.10g"


def save_table(frame, name: str) -> Path:
    """Write ``frame`` (a pandas DataFrame) as ``<output>/tables/<name>.csv``; returns the path.

    No index column; floats as :data:`FLOAT_FORMAT`; ``name`` may end in ``.csv``.
    """
    stem = name[:-4] if name.endswith(".csv") else name
    path = paths.tables_dir() / f"{stem}.csv"
    frame.to_csv(path, index=False, float_format=FLOAT_FORMAT)
    return path
