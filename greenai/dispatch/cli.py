"""``greenai dispatch``: plan a GPU job hour by hour against solar, battery and
grid, print the plan, its cost and emissions, and write it as CSV.

The job is either a training run (``--model``, ``--dataset``, ``--epochs``,
``--batch-size``: energy [J] and duration [s] predicted by ``greenai.predict``)
or a power-level profile (``--power-w`` [W] / ``--duration-h`` [h]; default:
thesis Table 5.1). ``--start`` is an hour index of the weather year (0 … 8759)
or a local date and time (``2027-06-12T08:00``); ``--deadline`` is the window
length [h]. The clock, the CSV inputs (``--solar-csv``, ``--carbon-csv``) and
more examples: ``docs/dispatch_model.md`` ("The command line").

Examples
--------
    greenai dispatch --model resnet18 --dataset cifar10 --epochs 30 --batch-size 256 \\
        --start 2027-06-12T08:00 --deadline 36
    greenai dispatch --start 0 --deadline 60 --choose-start --out plan.csv
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from greenai.cli import Interrupted, UsageError
from greenai.dispatch import inputs as dispatch_inputs
from greenai.predict.runtime import predict_run


def register(subparsers) -> None:
    p = subparsers.add_parser("dispatch", help="plan a GPU job's power level hour by hour (thesis ch. 5)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--start", required=True,
                   help="first hour of the window: hour of the weather year (0-8759) or a local date-time "
                        "YYYY-MM-DDTHH:MM (CET, UTC+1, no daylight saving; the year is ignored)")
    p.add_argument("--deadline", type=int, required=True, help="window length [h]: the job must finish inside it")
    p.add_argument("--choose-start", action="store_true",
                   help="make the start hour a decision (cheapest start inside the window)")
    job = p.add_argument_group("a training job (energy and duration predicted by greenai.predict)")
    job.add_argument("--model", help="model name, e.g. resnet18")
    job.add_argument("--dataset", help="dataset name, e.g. cifar10")
    job.add_argument("--epochs", type=int, help="training epochs")
    job.add_argument("--batch-size", type=int, help="batch size")
    job.add_argument("--gpu", help="GPU name for the prediction (default: the predictor's)")
    job.add_argument("--precision", help="numeric precision for the prediction (default: the predictor's)")
    p.add_argument("--power-w", type=float, nargs="+", help="GPU power levels [W] (default: thesis Table 5.1)")
    p.add_argument("--duration-h", type=float, nargs="+", help="whole-job duration at each level [h]")
    p.add_argument("--solar-csv", type=Path,
                   help="CSV with a 'solar_w' column [W] for every hour of the weather year (default: pvlib); "
                        f"rows are aligned by an 'hour' column ({dispatch_inputs.HOUR_CONVENTION}), else row i is hour i "
                        f"of exactly {dispatch_inputs.HOURS_PER_YEAR}")
    p.add_argument("--carbon-csv", type=Path,
                   help="CSV with a 'carbon_g_per_kwh' column for every hour of the weather year, read like "
                        "--solar-csv")
    p.add_argument("--pdc0-w", type=float, default=dispatch_inputs.PvArray().pdc0_w,
                   help="PV array DC size [W] for the pvlib default (>= 0; 0: no array)")
    p.add_argument("--battery-wh", type=float, default=dispatch_inputs.Battery().capacity_wh, help="battery capacity [Wh]")
    p.add_argument("--objective", choices=("cost", "carbon"), default="cost")
    p.add_argument("--out", type=Path, help="write the plan as CSV here (a file, not a directory)")
    p.set_defaults(func=run)


def start_hour(text: str) -> int:
    """``--start`` as an hour of the weather year: an integer, or a local date-time
    ``YYYY-MM-DDTHH[:MM]`` (CET standard time; minutes must be 0; the year is ignored)."""
    text = str(text).strip()
    try:
        hour = int(text)
    except ValueError:
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            raise dispatch_inputs.DispatchInputError(
                f"--start {text!r} is neither an hour index (0-{dispatch_inputs.HOURS_PER_YEAR - 1}) nor a date-time "
                "YYYY-MM-DDTHH:MM") from None
        if when.tzinfo is not None:
            raise dispatch_inputs.DispatchInputError(f"--start {text!r}: give local time (CET, UTC+1) without a time zone")
        if when.minute or when.second or when.microsecond:
            raise dispatch_inputs.DispatchInputError(f"--start {text!r}: the plan runs in whole hours; give HH:00")
        if (when.month, when.day) == (2, 29):
            raise dispatch_inputs.DispatchInputError("--start: the weather is a typical year of 365 days, without 29 February")
        day_of_year = datetime(2001, when.month, when.day).timetuple().tm_yday  # 2001: a year of 365 days
        hour = (day_of_year - 1) * 24 + when.hour
    if not 0 <= hour < dispatch_inputs.HOURS_PER_YEAR:
        raise dispatch_inputs.DispatchInputError(f"--start {hour} is outside the weather year (hours 0-{dispatch_inputs.HOURS_PER_YEAR - 1})")
    return hour


def series_from_csv(path: Path, column: str) -> np.ndarray:
    """One value per hour of the weather year from ``column`` of the CSV ``path``.

    With an ``hour`` column the rows are aligned by it (any order): it must give
    every hour 0 … 8759 once, as whole numbers (:data:`~greenai.dispatch.inputs.HOUR_CONVENTION`;
    a 1-based file is refused rather than shifted by one hour). Without one, row
    ``i`` is hour ``i`` and there must be exactly 8760 rows.

    Raises
    ------
    DispatchInputError
        Naming the file, the offending row or hour, and the convention.
    """
    if not path.is_file():
        raise dispatch_inputs.DispatchInputError(f"{path}: no such file")
    try:
        table = pd.read_csv(path)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise dispatch_inputs.DispatchInputError(f"{path}: cannot read it as CSV ({' '.join(str(exc).split())})") from None
    if column not in table:
        raise dispatch_inputs.DispatchInputError(f"{path}: no column {column!r}; columns are {list(table.columns)}")
    values = _numbers(path, table[column], column)
    n = dispatch_inputs.HOURS_PER_YEAR
    if "hour" not in table:
        if len(table) != n:
            raise dispatch_inputs.DispatchInputError(
                f"{path}: {len(table)} rows, but without an 'hour' column row i is hour i of the weather year and "
                f"there must be exactly {n}; add an 'hour' column ({dispatch_inputs.HOUR_CONVENTION})")
        return dispatch_inputs.check_series(f"{path}:{column}", values)
    hours = _numbers(path, table["hour"], "hour")
    fractional = np.flatnonzero(hours != np.round(hours))
    if fractional.size:
        i = fractional[0]
        raise dispatch_inputs.DispatchInputError(f"{path}: hour {hours[i]:g} (file line {i + 2}) is not a whole hour; "
                                   f"the plan runs whole hours ({dispatch_inputs.HOUR_CONVENTION})")
    hours = hours.astype(int)
    outside = np.flatnonzero((hours < 0) | (hours >= n))
    if outside.size:
        i = outside[0]
        looks = ("; the hours run 1 … 8760, which looks 1-based: subtract 1 from each"
                 if hours.min() == 1 and hours.max() == n else "")
        raise dispatch_inputs.DispatchInputError(f"{path}: hour {hours[i]} (file line {i + 2}) is outside the weather year "
                                   f"0 … {n - 1} ({dispatch_inputs.HOUR_CONVENTION}){looks}")
    counts = np.bincount(hours, minlength=n)
    if (counts > 1).any():
        raise dispatch_inputs.DispatchInputError(f"{path}: hour {int(np.argmax(counts > 1))} appears {counts.max()} times; "
                                   "give each hour once")
    if (counts == 0).any():
        missing = np.flatnonzero(counts == 0)
        raise dispatch_inputs.DispatchInputError(f"{path}: {missing.size} hour(s) missing, first {missing[:5].tolist()}; give "
                                   f"every hour 0 … {n - 1} ({dispatch_inputs.HOUR_CONVENTION})")
    aligned = np.empty(n)
    aligned[hours] = values
    return dispatch_inputs.check_series(f"{path}:{column}", aligned)


def _numbers(path: Path, cells: pd.Series, column: str) -> np.ndarray:
    """``cells`` as floats; an empty or non-numeric cell is an error naming its file line."""
    numbers = pd.to_numeric(cells, errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(np.isnan(numbers))
    if bad.size:
        i = bad[0]
        text = cells.iloc[i]
        what = "is empty" if pd.isna(text) or not str(text).strip() else f"holds {str(text)!r}, not a number"
        raise dispatch_inputs.DispatchInputError(f"{path}: column {column!r} {what} at file line {i + 2}")
    return numbers


def _job_args(args) -> bool:
    given = [args.model, args.dataset, args.epochs, args.batch_size]
    if any(v is not None for v in given):
        if any(v is None for v in given):
            raise dispatch_inputs.DispatchInputError("a training job needs all of --model, --dataset, --epochs and --batch-size")
        if args.power_w is not None or args.duration_h is not None:
            raise dispatch_inputs.DispatchInputError("give either a training job (--model ...) or --power-w/--duration-h, not both")
        return True
    return False


def predict_job(args):
    """The prediction of :func:`greenai.predict.runtime.predict_run` for the job in ``args``."""
    try:
        return predict_run(args.model, args.dataset, args.epochs, args.batch_size, gpu=args.gpu, precision=args.precision)
    except (ValueError, OSError) as exc:  # unknown model, dataset or GPU; a missing fit: the predictor's own message
        raise dispatch_inputs.DispatchInputError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None


def _year(args) -> pd.DataFrame:
    given = {column: series_from_csv(option, column)  # read first: a bad file is told before pvlib's year is built
             for option, column in ((args.solar_csv, "solar_w"), (args.carbon_csv, "carbon_g_per_kwh")) if option}
    year = dispatch_inputs.year_inputs(dispatch_inputs.PvArray(pdc0_w=args.pdc0_w))
    for column, values in given.items():
        year[column] = values
    return year


#: start slots searched (twice: cost, then the tie-break) from which a plan shows a progress bar
#: on a stderr that is no terminal (on a terminal it always does)
LONG_PLAN_SEARCHES = 200


class _Progress:
    """A tqdm bar on stderr for one plan, opened at the solver's first report once
    the number of searches is known: on a terminal, or for a long window."""

    def __init__(self, desc: str):
        self.desc = desc
        self.bar = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = False
            if sys.stderr.isatty() or total >= LONG_PLAN_SEARCHES:
                from tqdm import tqdm  # heavy: tqdm

                self.bar = tqdm(total=total, desc=self.desc, unit="search", file=sys.stderr, leave=False,
                                dynamic_ncols=True)
        if self.bar:
            self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar:
            self.bar.close()


def _plan_window(year, start, args, gpu, battery, desc):
    progress = _Progress(desc)
    try:
        from greenai.dispatch import sweep  # heavy: numpy

        return sweep.plan_window(year, start, args.deadline, gpu, battery, args.choose_start, args.objective,
                                 progress=progress)
    finally:
        progress.close()


def plan(args) -> tuple[pd.DataFrame, float]:
    """Build the inputs from ``args``, solve, and return ``(plan, cost_eur)``."""
    table, solution, _ = _plan(args)
    return table, solution.cost_eur


def _plan(args):
    if (args.power_w is None) != (args.duration_h is None):
        raise dispatch_inputs.DispatchInputError("give both --power-w and --duration-h, or neither")
    if args.out is not None and args.out.is_dir():
        raise dispatch_inputs.DispatchInputError(f"--out {args.out} is a directory; give a file name such as {args.out / 'plan.csv'}")
    start = start_hour(args.start)
    battery = dispatch_inputs.Battery(capacity_wh=args.battery_wh)
    extra = {}
    if _job_args(args):
        prediction = predict_job(args)
        gpu, levels = dispatch_inputs.job_profile(prediction.energy_j, prediction.duration_s)
        extra = {"prediction": prediction, "levels": levels}
    else:
        gpu = dispatch_inputs.GpuProfile(tuple(args.power_w), tuple(args.duration_h)) if args.power_w else dispatch_inputs.thesis_gpu_profile()
    year = _year(args)
    table, solution = _plan_window(year, start, args, gpu, battery, "planning")
    if extra:
        p = extra["prediction"]
        ends = {}
        for name, energy in (("low", p.energy_low_j), ("high", p.energy_high_j)):
            gpu_end, _ = dispatch_inputs.job_profile(energy, p.duration_s)
            try:
                ends[name] = _plan_window(year, start, args, gpu_end, battery, f"{name} end")[1]
            except dispatch_inputs.InfeasibleDispatchError:
                ends[name] = None
        extra["ends"] = ends
    return table, solution, extra


def job_cost_eur(table: pd.DataFrame, cost_eur: float) -> float:
    """The plan's cost above the no-job reference of selling every Wh of the window's solar [€]
    (the cheapest no-job plan when storing energy to sell later loses money, as with Table 5.3:
    α·β·0.30 < 0.25 €/kWh)."""
    return float(cost_eur + (table["solar_w"] * table["sell_eur_per_kwh"]).sum() / 1000)


def _clean(x: float, digits: int) -> float:
    """Round and drop the sign of zero (no "-0.000")."""
    return round(float(x), digits) + 0.0


def run(args) -> int:
    try:
        table, solution, extra = _plan(args)
    except dispatch_inputs.DispatchInputError as exc:
        raise UsageError(str(exc)) from None
    except KeyboardInterrupt:
        raise Interrupted("interrupted before the plan was found; nothing was written") from None
    if args.out:
        try:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            table.to_csv(args.out, index=False)  # written only after a successful solve
        except OSError as exc:
            raise UsageError(f"cannot write {args.out}: {exc.strerror or exc}") from None
    if extra:
        p = extra["prediction"]
        print(f"job: {args.model} on {args.dataset}, {args.epochs} epochs, batch {args.batch_size} "
              f"(predicted for {p.gpu}, {p.precision}): {p.energy_j / 3.6e6:.3f} kWh "
              f"[90 % interval {p.energy_low_j / 3.6e6:.3f}-{p.energy_high_j / 3.6e6:.3f}] "
              f"in {p.duration_s / 3600:.2f} h at the default power limit")
        levels = extra["levels"]
        shown_levels = levels.assign(**{c: levels[c].map(lambda v: _clean(v, 2))
                                        for c in ("duration_h", "energy_wh", "mean_power_w")})
        print("per power level (Table 5.1 shape; whole hours, mean power over them):")
        print(shown_levels.to_string(index=False))
        print()
    shown = ["hour", "band", "level", "gpu_w", "solar_w", "solar_to_gpu_w", "grid_to_gpu_w", "battery_to_gpu_w",
             "solar_sold_w", "battery_end_wh", "cost_eur"]
    numeric = table[shown].select_dtypes("float").columns
    printed = table[shown].copy()
    printed[numeric] = printed[numeric].round(3) + 0.0
    print(printed.to_string(index=False))
    running = table[table["level"] > 0]
    print(f"\njob runs hours {int(running['hour'].min())}-{int(running['hour'].max())} "
          f"({len(running)} h, {running['gpu_w'].sum() / 1000:.3f} kWh); "
          f"cost {_clean(solution.cost_eur, 4):.4f} EUR; grid emissions {_clean(table['emissions_g'].sum(), 0):.0f} gCO2")
    print(f"(the cost counts the whole window's grid purchases minus its sales, eq. 5.2; it is "
          f"{_clean(job_cost_eur(table, solution.cost_eur), 4):.4f} EUR above selling all the window's solar without the job)")
    if extra:
        ends = extra["ends"]
        text = [f"{name} end: " + (f"{_clean(s.cost_eur, 4):.4f} EUR ({_clean(job_cost_eur(table, s.cost_eur), 4):.4f} above "
                                   f"solar sales), {_clean(s.emissions_g, 0):.0f} gCO2" if s is not None
                                   else "deadline not met") for name, s in ends.items()]
        print("prediction interval carried through (re-planned at each end): " + "; ".join(text))
    if args.out:
        print(f"plan written to {args.out}")
    return 0
