"""The dispatch sweep's headline numbers beside the thesis' (section 5.4, notebook 08).

Thesis numbers appear only here, as labelled references; the figures of
chapter 5 are drawn by :mod:`greenai.figures.ch5`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Section 5.4's headline numbers [€] and best start hour, as published.
THESIS_HEADLINE = {
    23: {"min_cost_eur": 0.20, "best_start_hour": 115, "max_cost_eur": 1.32},
    32: {"min_cost_eur": -1.5, "max_cost_eur": 0.68},
}


def headline_beside_thesis(head: pd.DataFrame) -> pd.DataFrame:
    """The headline table with the thesis' published values beside ours."""
    out = head.copy()
    for col in ("min_cost_eur", "max_cost_eur", "best_start_hour"):
        out[f"thesis_{col}"] = [THESIS_HEADLINE.get(int(d), {}).get(col, np.nan) for d in out["deadline_h"]]
    return out


def headline_claims(head: pd.DataFrame, note: str = "") -> list[dict]:
    """Claims rows (greenai.claims.record) for the thesis' section 5.4 numbers."""
    rows = []
    by_deadline = head.set_index("deadline_h")
    for deadline, published in THESIS_HEADLINE.items():
        if deadline not in by_deadline.index:
            continue
        ours = by_deadline.loc[deadline]
        for key, unit in (("min_cost_eur", "EUR"), ("max_cost_eur", "EUR"), ("best_start_hour", "h")):
            if key in published:
                rows.append(dict(
                    claim_id=f"dispatch_{deadline}h_{key}", section="5.4",
                    description=f"deadline {deadline} h: {key.replace('_', ' ')}",
                    thesis_value=float(published[key]), our_value=float(ours[key]), unit=unit, note=note))
    return rows
