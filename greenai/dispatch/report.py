"""Figures and comparison tables of notebooks 07 and 08 (thesis chapter 5).

Every figure is drawn from a table passed in (computed by the model or read
from committed rows); thesis numbers appear only as labelled references.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from greenai.dispatch import inputs as I
from greenai.dispatch.sweep import cheapest_start

#: Section 5.4's headline numbers [€] and best start hour, as published.
THESIS_HEADLINE = {
    23: {"min_cost_eur": 0.20, "best_start_hour": 115, "max_cost_eur": 1.32},
    32: {"min_cost_eur": -1.5, "max_cost_eur": 0.68},
}


def fig_power_profile(table: pd.DataFrame) -> plt.Figure:
    """Table 5.1 drawn: job duration and energy per job against the power limit."""
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(table["power_w"], table["duration_h"], "o-", color="tab:blue", label="job duration [h]")
    ax.set_xlabel("GPU power limit P [W]")
    ax.set_ylabel("whole-job duration J [h]", color="tab:blue")
    ax2 = ax.twinx()
    ax2.plot(table["power_w"], table["energy_per_job_wh"] / 1000, "s--", color="tab:red", label="energy per job")
    ax2.set_ylabel("energy per job P×J [kWh]", color="tab:red")
    ax2.grid(False)
    ax.set_title("Table 5.1: slower at a lower limit, but less energy per job")
    return fig


def fig_solar_week(solar: pd.DataFrame, hours: int = 168) -> plt.Figure:
    """Fig 5.4 regenerated: hourly AC output over the first week, with the
    thesis' Jan 1 excerpt (its PVWatts weather) as labelled reference points."""
    fig, ax = plt.subplots(figsize=(10, 3.8))
    part = solar.iloc[:hours]
    ax.plot(part.index, part["ac_w"], color="tab:red", lw=1.2, label="pvlib PVWatts, PVGIS TMY near Turin, 3 kW DC")
    ref = I.THESIS_FIG_5_4_AC_W
    ax.plot(list(ref), list(ref.values()), "k^", ms=5, label="thesis Fig 5.4, Jan 1 (reference)")
    for day in range(hours // 24 + 1):
        ax.axvline(24 * day, color="0.85", lw=0.8, zorder=0)
    ax.set_xlabel("hour of the year (local standard time)")
    ax.set_ylabel("AC output [W]")
    ax.set_title("Solar AC output, first week")
    ax.legend(loc="upper right", fontsize=8)
    return fig


def fig_solar_vs_cost(table: pd.DataFrame, solar: pd.DataFrame, deadline_h: int = 23) -> plt.Figure:
    """Fig 5.6 regenerated: solar output (red) and the minimum cost of a job
    started at each hour (blue) for one deadline."""
    sub = table[table["deadline_h"] == deadline_h].sort_values("start_hour")
    hours = int(sub["start_hour"].max()) + 1 if len(sub) else 144
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.plot(solar.index[:hours], solar["ac_w"].iloc[:hours], color="tab:red", lw=1, label="solar AC [W]")
    ax.set_ylabel("solar AC output [W]", color="tab:red")
    ax.set_xlabel("start hour of the job (hour of the year)")
    ax2 = ax.twinx()
    ax2.plot(sub["start_hour"], sub["cost_eur"], "o-", color="tab:blue", ms=3, label="minimum cost [€]")
    ax2.axhline(0, color="tab:blue", lw=0.5, ls=":")
    ax2.set_ylabel("minimum cost of the job [€]", color="tab:blue")
    ax2.grid(False)
    best = cheapest_start(sub)
    ax2.annotate(f"best start {int(best.start_hour)} h: {best.cost_eur:.2f} €", (best.start_hour, best.cost_eur),
                 xytext=(10, -15), textcoords="offset points", fontsize=8, color="tab:blue")
    ax.set_title(f"Solar supply vs minimum cost, deadline {deadline_h} h")
    return fig


def fig_cost_by_start(table: pd.DataFrame) -> plt.Figure:
    """Fig 5.7 regenerated: minimum cost against start hour, one line per deadline."""
    fig, ax = plt.subplots(figsize=(10, 4.5))
    for deadline, sub in table.sort_values("start_hour").groupby("deadline_h"):
        ax.plot(sub["start_hour"], sub["cost_eur"], marker=".", ms=3, lw=1, label=f"{deadline} h")
    ax.axhline(0, color="0.4", lw=0.6, ls=":")
    ax.set_xlabel("start hour of the job (hour of the year)")
    ax.set_ylabel("minimum cost [€]")
    ax.legend(title="deadline", ncol=3, fontsize=8)
    ax.set_title("Minimum cost by start hour and deadline")
    return fig


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


def fig_plan(plan: pd.DataFrame, title: str) -> plt.Figure:
    """One plan hour by hour: GPU draw stacked by source, solar, battery energy."""
    fig, ax = plt.subplots(figsize=(10, 4))
    h = plan["hour"].to_numpy()
    solar = plan["solar_to_gpu_w"].to_numpy()
    battery = 0.9 * plan["battery_to_gpu_w"].to_numpy() if "battery_to_gpu_w" in plan else 0
    grid = plan["grid_to_gpu_w"].to_numpy()
    ax.bar(h, solar, color="gold", label="solar → GPU")
    ax.bar(h, battery, bottom=solar, color="tab:green", label="battery → GPU")
    ax.bar(h, grid, bottom=solar + battery, color="0.5", label="grid → GPU")
    ax.plot(h, plan["solar_w"], color="tab:red", lw=1, label="solar available")
    ax.plot(h, plan["battery_end_wh"], color="tab:green", lw=1, ls="--", label="battery energy [Wh]")
    ax.set_xlabel("hour of the year")
    ax.set_ylabel("power [W] (= Wh per hour)")
    ax.legend(fontsize=8, ncol=3)
    ax.set_title(title)
    return fig


def fig_cost_carbon(curve: pd.DataFrame) -> plt.Figure:
    """The cost/CO2 trade-off (ε-constraint points)."""
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(curve["emissions_g"] / 1000, curve["cost_eur"], "o-")
    ax.set_xlabel("grid emissions of the plan [kgCO2]")
    ax.set_ylabel("minimum cost [€]")
    ax.set_title("Cost vs CO2 (each point: cheapest plan under an emission cap)")
    return fig
