"""The shipped coefficients of :mod:`greenai.predict`: read, write, and their portable form (no torch, no statsmodels).

``greenai/data_files/predict_coefficients.json`` (:data:`COEFFICIENTS_PATH`) is
written by notebook 05 (:func:`write_coefficients` of
:func:`greenai.predict.build.build_coefficients`) and read by
:func:`greenai.predict.runtime.predict_run` (:func:`load_coefficients`).
"""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path

from greenai import paths

__all__ = ["COEFFICIENTS_PATH", "COEFFICIENT_DIGITS", "load_coefficients", "write_coefficients",
           "portable_coefficients", "jsonable"]

#: where the fitted coefficients ship (written by notebook 05 with :func:`write_coefficients`)
COEFFICIENTS_PATH: Path = paths.PACKAGE_DIR / "data_files" / "predict_coefficients.json"
#: significant digits of a float in the shipped coefficients: the digits beyond are the last bits of
#: the fit's arithmetic, which differ between BLAS kernels and processors
COEFFICIENT_DIGITS = 12


def write_coefficients(coefficients: dict, path: str | Path | None = None) -> Path:
    """Write the mapping of :func:`greenai.predict.build.build_coefficients` as JSON (:func:`portable_coefficients`)."""
    path = Path(path) if path is not None else COEFFICIENTS_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(portable_coefficients(coefficients), indent=1, sort_keys=True) + "\n")
    load_coefficients.cache_clear()
    return path


def portable_coefficients(coefficients: dict) -> dict:
    """The mapping of :func:`greenai.predict.build.build_coefficients` as it is shipped: JSON types, floats at
    :data:`COEFFICIENT_DIGITS` significant digits (the same on every machine); compare a refit
    with :func:`load_coefficients` through it."""
    def rounded(obj):
        if isinstance(obj, dict):
            return {k: rounded(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [rounded(v) for v in obj]
        if isinstance(obj, float):
            return float(f"{obj:.{COEFFICIENT_DIGITS}g}")
        return obj

    return rounded(jsonable(coefficients))


def jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if hasattr(obj, "item"):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


@functools.lru_cache(maxsize=4)
def load_coefficients(path: str | None = None) -> dict:
    """The shipped coefficients (no torch, no statsmodels needed)."""
    p = Path(path) if path is not None else COEFFICIENTS_PATH
    if not p.exists():
        raise FileNotFoundError(f"{p} is missing; run notebooks/05_prediction.py to fit and write it")
    return json.loads(p.read_text())
