"""``greenai dispatch``: plan a GPU job hour by hour against solar, battery and
grid, print the plan and its cost, and write it as CSV.

Examples
--------
    greenai dispatch --start 100 --deadline 25
    greenai dispatch --start 0 --deadline 60 --choose-start --out plan.csv
    greenai dispatch --power-w 100 150 200 --duration-h 30 24 20 --start 0 --deadline 30
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from greenai.dispatch import inputs as I


def register(subparsers) -> None:
    p = subparsers.add_parser("dispatch", help="plan a GPU job's power level hour by hour (thesis ch. 5)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--start", type=int, required=True, help="first hour of the window (hour of the year, local time)")
    p.add_argument("--deadline", type=int, required=True, help="window length [h]: the job must finish inside it")
    p.add_argument("--choose-start", action="store_true",
                   help="make the start hour a decision (cheapest start inside the window)")
    p.add_argument("--power-w", type=float, nargs="+", help="GPU power levels [W] (default: thesis Table 5.1)")
    p.add_argument("--duration-h", type=float, nargs="+", help="whole-job duration at each level [h]")
    p.add_argument("--solar-csv", type=Path, help="CSV with an hourly 'solar_w' column for the whole year (default: pvlib)")
    p.add_argument("--carbon-csv", type=Path, help="CSV with an hourly 'carbon_g_per_kwh' column for the whole year")
    p.add_argument("--pdc0-w", type=float, default=I.PvArray().pdc0_w, help="PV array DC size [W] for the pvlib default")
    p.add_argument("--battery-wh", type=float, default=I.Battery().capacity_wh, help="battery capacity [Wh]")
    p.add_argument("--objective", choices=("cost", "carbon"), default="cost")
    p.add_argument("--out", type=Path, help="write the plan as CSV here")
    p.set_defaults(func=run)


def _series_from_csv(path: Path, column: str) -> pd.Series:
    table = pd.read_csv(path)
    if column not in table:
        raise I.DispatchInputError(f"{path}: no column {column!r}; columns are {list(table.columns)}")
    series = table[column]
    if "hour" in table:
        series.index = table["hour"].astype(int)
    I.check_series(f"{path}:{column}", series)
    return series


def plan(args) -> tuple[pd.DataFrame, float]:
    """Build the inputs from ``args``, solve, and return ``(plan, cost_eur)``."""
    from greenai.dispatch import sweep
    from greenai.dispatch.model import create_model, schedule, solve

    if (args.power_w is None) != (args.duration_h is None):
        raise I.DispatchInputError("give both --power-w and --duration-h, or neither")
    gpu = I.GpuProfile(tuple(args.power_w), tuple(args.duration_h)) if args.power_w else I.thesis_gpu_profile()
    year = I.year_inputs(I.PvArray(pdc0_w=args.pdc0_w))
    if args.solar_csv:
        year["solar_w"] = I.check_series("solar_w", _series_from_csv(args.solar_csv, "solar_w"), len(year))[: len(year)]
    if args.carbon_csv:
        year["carbon_g_per_kwh"] = I.check_series(
            "carbon_g_per_kwh", _series_from_csv(args.carbon_csv, "carbon_g_per_kwh"), len(year))[: len(year)]
    battery = I.Battery(capacity_wh=args.battery_wh)
    latest = args.deadline - int(-(-min(gpu.duration_h) // 1)) if args.choose_start else 0
    inputs = sweep.window_inputs(year, args.start, args.deadline, gpu, battery, latest_start=max(latest, 0))
    if args.objective == "cost" and inputs.latest_start == 0:
        # The fixed-start cost plan: the exact pattern decomposition (milliseconds, same optimum).
        from greenai.dispatch.decomposition import PatternDecomposition

        solution = PatternDecomposition(inputs.hours, gpu, battery).solve(
            inputs.solar_w, inputs.buy_eur_per_kwh, inputs.sell_eur_per_kwh)
        table = solution.schedule(args.start, inputs.carbon_g_per_kwh)
        table.insert(2, "band", I.Tariff().band(table["hour"].to_numpy()))
        return table, solution.cost_eur
    model = create_model(inputs)
    if args.objective == "carbon":
        model.Cost.deactivate()
        model.Emissions.activate()
    result = solve(model)
    table = schedule(model, args.start)
    table.insert(2, "band", I.Tariff().band(table["hour"].to_numpy()))
    return table, result["cost_eur"]


def run(args) -> int:
    try:
        table, cost = plan(args)
    except I.DispatchInputError as exc:
        print(f"greenai dispatch: {exc}", file=sys.stderr)
        return 2
    shown = ["hour", "band", "level", "gpu_w", "solar_w", "solar_to_gpu_w", "grid_to_gpu_w", "battery_to_gpu_w",
             "solar_sold_w", "battery_end_wh", "cost_eur"]
    print(table[shown].round(3).to_string(index=False))
    running = table[table["level"] > 0]
    print(f"\njob runs hours {int(running['hour'].min())}-{int(running['hour'].max())} "
          f"({len(running)} h, {running['gpu_w'].sum() / 1000:.3f} kWh); "
          f"cost {cost:.4f} EUR; grid emissions {table['emissions_g'].sum():.0f} gCO2")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.out, index=False)  # written only after a successful solve
        print(f"plan written to {args.out}")
    return 0
