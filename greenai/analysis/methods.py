"""Energy methods compared on the same windows (thesis 2.1-2.2, notebook 01): pandas only, no torch.

Rows are one per window with an ``energy_<method>_j`` column per method that
measured it (:func:`greenai.energy.results.measurement_row`).
"""

from __future__ import annotations

import pandas as pd

from greenai.energy.results import METHODS


def method_errors(rows: pd.DataFrame, reference: str = "counter") -> pd.DataFrame:
    """Relative error of every method against ``reference`` on the same windows.

    Parameters
    ----------
    rows : pandas.DataFrame
        One row per window with ``energy_<method>_j`` columns [J] plus any
        grouping columns.
    reference : str
        The method the others are compared with.

    Returns
    -------
    pandas.DataFrame
        Long form: the input's non-energy columns, ``compared_method``,
        ``reference_energy_j`` and ``method_energy_j`` [J], and
        ``relative_error`` = (E_method − E_reference) / E_reference [−].
    """
    ref_col = f"energy_{reference}_j"
    if ref_col not in rows:
        raise ValueError(f"no column {ref_col!r}: the reference method was not recorded")
    id_cols = [c for c in rows.columns if not (c.startswith("energy_") and c.endswith("_j"))]
    frames = []
    for method in METHODS:
        col = f"energy_{method}_j"
        if method == reference or col not in rows:
            continue
        frame = rows[id_cols].copy()
        frame["compared_method"] = method
        frame["reference_energy_j"] = rows[ref_col]
        frame["method_energy_j"] = rows[col]
        frame["relative_error"] = (rows[col] - rows[ref_col]) / rows[ref_col]
        frames.append(frame)
    if not frames:
        raise ValueError("no method besides the reference was recorded")
    return pd.concat(frames, ignore_index=True)


def summarize_errors(errors: pd.DataFrame, by=("workload", "compared_method"),
                     min_duration_s: float = 0.0) -> pd.DataFrame:
    """Median, quartiles and count of ``relative_error`` [−] per group.

    Windows shorter than ``min_duration_s`` [s] are left out (the reference
    counter itself is uncertain by ~2 steps there).
    """
    kept = errors[errors["duration_s"] >= min_duration_s]
    grouped = kept.groupby(list(by))["relative_error"]
    out = grouped.agg(
        median="median",
        q25=lambda s: s.quantile(0.25),
        q75=lambda s: s.quantile(0.75),
        n="count",
    )
    return out.reset_index()
