"""Figures of chapter 5: the power-limit profile (5.1, notebook 07) and the energy dispatch (5.2-5.4, notebook 08).

Each function takes the tables of :mod:`greenai.dispatch` (or Table 5.1 of
:func:`greenai.dispatch.inputs.thesis_gpu_table`) and returns a matplotlib
figure; thesis numbers appear only as labelled references passed in.
``fig_5_x_*`` are figures beyond the thesis.
"""

from __future__ import annotations

import pandas as pd


def fig_5_1_power_limit_profile(table: pd.DataFrame):
    """Table 5.1 drawn: job duration and energy per job against the power limit."""
    import matplotlib.pyplot as plt  # matplotlib

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


def fig_5_4_solar_first_week(solar: pd.DataFrame, reference_ac_w: dict[int, float], hours: int = 168):
    """Fig 5.4 regenerated: hourly AC output [W] over the first week, with the thesis' Jan 1
    excerpt (its PVWatts weather; ``reference_ac_w``: hour -> AC output [W]) as labelled reference points."""
    import matplotlib.pyplot as plt  # matplotlib

    fig, ax = plt.subplots(figsize=(10, 3.8))
    part = solar.iloc[:hours]
    ax.plot(part.index, part["ac_w"], color="tab:red", lw=1.2, label="pvlib PVWatts, PVGIS TMY near Turin, 3 kW DC")
    ax.plot(list(reference_ac_w), list(reference_ac_w.values()), "k^", ms=5, label="thesis Fig 5.4, Jan 1 (reference)")
    for day in range(hours // 24 + 1):
        ax.axvline(24 * day, color="0.85", lw=0.8, zorder=0)
    ax.set_xlabel("hour of the year (local standard time)")
    ax.set_ylabel("AC output [W]")
    ax.set_title("Solar AC output, first week")
    ax.legend(loc="upper right", fontsize=8)
    return fig


def fig_5_6_solar_vs_min_cost(table: pd.DataFrame, solar: pd.DataFrame, best: pd.Series,
                              deadline_h: int = 23):
    """Fig 5.6 regenerated: solar output [W] (red) and the minimum cost [€] of a job started at each
    hour (blue) for one deadline [h]; ``best`` is the row of the cheapest start, annotated."""
    import matplotlib.pyplot as plt  # matplotlib

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
    ax2.annotate(f"best start {int(best.start_hour)} h: {best.cost_eur:.2f} €", (best.start_hour, best.cost_eur),
                 xytext=(10, -15), textcoords="offset points", fontsize=8, color="tab:blue")
    ax.set_title(f"Solar supply vs minimum cost, deadline {deadline_h} h")
    return fig


def fig_5_7_min_cost_by_start_hour(table: pd.DataFrame):
    """Fig 5.7 regenerated: minimum cost against start hour, one line per deadline."""
    import matplotlib.pyplot as plt  # matplotlib

    fig, ax = plt.subplots(figsize=(10, 4.5))
    for deadline, sub in table.sort_values("start_hour").groupby("deadline_h"):
        ax.plot(sub["start_hour"], sub["cost_eur"], marker=".", ms=3, lw=1, label=f"{deadline} h")
    ax.axhline(0, color="0.4", lw=0.6, ls=":")
    ax.set_xlabel("start hour of the job (hour of the year)")
    ax.set_ylabel("minimum cost [€]")
    ax.legend(title="deadline", ncol=3, fontsize=8)
    ax.set_title("Minimum cost by start hour and deadline")
    return fig


def fig_5_x_dispatch_plan(plan: pd.DataFrame, title: str):
    """One plan hour by hour: GPU draw stacked by source, solar, battery energy."""
    import matplotlib.pyplot as plt  # matplotlib

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


def fig_5_x_cost_vs_co2(curve: pd.DataFrame):
    """The cost/CO2 trade-off (ε-constraint points)."""
    import matplotlib.pyplot as plt  # matplotlib

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(curve["emissions_g"] / 1000, curve["cost_eur"], "o-")
    ax.set_xlabel("grid emissions of the plan [kgCO2]")
    ax.set_ylabel("minimum cost [€]")
    ax.set_title("Cost vs CO2 (each point: cheapest plan under an emission cap)")
    return fig
