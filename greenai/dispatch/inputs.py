"""Inputs of the energy dispatch model (thesis section 5.2), each a documented,
overridable table.

* GPU profile (Table 5.1): power levels [W] and the whole-job duration [h] at
  each level; :class:`GpuProfile`.
* Battery (Table 5.2): :class:`Battery`.
* Grid tariff (Table 5.3): :class:`Tariff`, a time-of-use buy price and a flat
  sell-back price.
* Solar: hourly AC output [W] of a PV array computed with pvlib's PVWatts chain
  from the PVGIS typical-meteorological-year file near Turin committed in
  ``data/solar/`` (:func:`solar_ac_w`). A user may pass any hourly series instead.
* Grid carbon intensity [gCO2/kWh]: a stylised typical-day default committed in
  ``data/dispatch/`` (:func:`carbon_intensity_g_per_kwh`), overridable.

Hours are counted from 00:00 local standard time (CET, UTC+1) on January 1 of a
365-day year: hour 0 … 8759, the thesis' indexing ("start hour 0 … 143")
(:data:`HOUR_CONVENTION`).
One slot lasts one hour, so a mean power of ``x`` W in a slot is ``x`` Wh.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd

from greenai import paths

HOURS_PER_YEAR = 8760
#: how an hour of the weather year is numbered, in the words of help texts and errors
HOUR_CONVENTION = ("0-based hour of the weather year: 0 is 00:00-01:00 on 1 January, 8759 is 23:00-24:00 on "
                   "31 December, local standard time (CET, UTC+1, no daylight saving)")
#: Offset of local standard time (CET) from UTC [h]; thesis hours are local.
LOCAL_UTC_OFFSET_H = 1

SOLAR_DIR: Path = paths.COMMITTED_DATA_DIR / "solar"
TMY_FILE: Path = SOLAR_DIR / "tmy_45.000_8.000_2005_2016.csv"
DISPATCH_DATA_DIR: Path = paths.COMMITTED_DATA_DIR / "dispatch"
CARBON_FILE: Path = DISPATCH_DATA_DIR / "carbon_intensity_typical_day.csv"


class DispatchInputError(ValueError):
    """An input of the dispatch model is malformed (negative or missing hours,
    a series shorter than the window, an efficiency outside (0, 1], …)."""


class InfeasibleDispatchError(DispatchInputError):
    """No schedule can finish the job inside the window (e.g. a deadline
    shorter than the fastest level's whole-job duration)."""


# --------------------------------------------------------------------------- GPU


@dataclass(frozen=True)
class GpuProfile:
    """Power levels of one GPU job and its whole-job duration at each level.

    Parameters
    ----------
    power_w : tuple of float
        GPU power at each level [W] (thesis P_k, eq. 5.6), strictly increasing.
    duration_h : tuple of float
        Time to finish the whole job at that level [h] (thesis J_k). An hour
        at level k completes ``1 / duration_h[k]`` of the job (eq. 5.22).
    """

    power_w: tuple[float, ...]
    duration_h: tuple[float, ...]

    def __post_init__(self):
        p, j = tuple(float(x) for x in self.power_w), tuple(float(x) for x in self.duration_h)
        object.__setattr__(self, "power_w", p)
        object.__setattr__(self, "duration_h", j)
        if len(p) == 0 or len(p) != len(j):
            raise DispatchInputError(f"power_w ({len(p)}) and duration_h ({len(j)}) must be non-empty and equally long")
        if any(not math.isfinite(x) or x <= 0 for x in p + j):
            raise DispatchInputError("every power [W] and duration [h] must be a positive finite number")
        if any(b <= a for a, b in zip(p, p[1:])):
            raise DispatchInputError(f"power_w must be strictly increasing, got {p}")

    @property
    def levels(self) -> int:
        """Number of power levels."""
        return len(self.power_w)

    def progress_units(self) -> tuple[tuple[int, ...], int]:
        """Exact integer progress per hour at each level and the total needed.

        Returns ``(per_level, required)`` with ``per_level[k] / required ==
        1 / duration_h[k]`` exactly (durations read to the second), so the
        completion constraint (eq. 5.22) holds without rounding error.
        """
        rates = [1 / Fraction(d).limit_denominator(3600) for d in self.duration_h]
        required = math.lcm(*(r.denominator for r in rates))
        return tuple(int(r * required) for r in rates), required

    def energy_per_job_wh(self) -> np.ndarray:
        """Energy of the whole job at each level, ``P_k × J_k`` [Wh]."""
        return np.asarray(self.power_w) * np.asarray(self.duration_h)

    def table(self) -> pd.DataFrame:
        """Table 5.1 with the energy per job: one row per level."""
        return pd.DataFrame(
            {
                "level": np.arange(1, self.levels + 1),
                "power_w": self.power_w,
                "duration_h": self.duration_h,
                "energy_per_job_wh": self.energy_per_job_wh(),
            }
        )


#: Table 5.1 as published (thesis, after its reference [16]): power limit [W] of each level ...
TABLE_5_1_POWER_W: tuple[float, ...] = (100.0, 125.0, 150.0, 175.0, 200.0, 225.0, 250.0)
#: ... and the time one whole training job takes at that limit [h]
TABLE_5_1_DURATION_H: tuple[float, ...] = (32.0, 28.0, 26.0, 25.0, 24.0, 23.0, 22.0)


def thesis_gpu_profile() -> GpuProfile:
    """Table 5.1 (thesis, after its reference [16]): 100…250 W, 32…22 h."""
    return GpuProfile(TABLE_5_1_POWER_W, TABLE_5_1_DURATION_H)


def thesis_gpu_table() -> pd.DataFrame:
    """Table 5.1 with the energy and the jobs per hour at each level.

    The one computation of Table 5.1: the energy per job is
    :meth:`GpuProfile.energy_per_job_wh` (what the dispatch model uses), so the
    table and the model cannot disagree.

    Returns
    -------
    pandas.DataFrame
        Columns ``level`` (1…), ``power_w`` [W], ``duration_h`` [h] (whole job
        at that limit), ``energy_per_job_wh`` = power × duration [Wh] (upper
        bound: the GPU runs at its limit throughout) and ``jobs_per_hour`` =
        1 / duration [1/h].
    """
    table = thesis_gpu_profile().table()
    table["jobs_per_hour"] = 1.0 / table["duration_h"]
    return table


def job_profile(energy_j: float, duration_s: float, levels: pd.DataFrame | None = None) -> tuple[GpuProfile, pd.DataFrame]:
    """A training job's profile per power level, from its energy and duration at the default limit.

    The relative shape comes from the power-limit profile (Table 5.1,
    :func:`thesis_gpu_table`; its top level, 250 W, is the
    default limit): at level k the whole job takes ``duration_s · J_k / J_top``
    and uses ``energy_j · (P_k J_k) / (P_top J_top)``. That a given job scales
    like the thesis' job is an assumption, stated here.

    The dispatch model runs whole hours (a slot at a level is a full hour), so
    each level's duration is rounded up to whole hours and its power is the
    mean over those hours: ``energy / hours`` (the GPU's idle draw in the last,
    partly used hour is not counted). Levels that another level beats on both
    time and energy are dropped.

    Parameters
    ----------
    energy_j : float
        Energy of the whole run at the default power limit [J].
    duration_s : float
        Its duration at the default power limit [s].
    levels : pandas.DataFrame, optional
        A profile with columns ``power_w`` and ``duration_h`` (default: Table 5.1).

    Returns
    -------
    (GpuProfile, pandas.DataFrame)
        The profile for :class:`~greenai.dispatch.model.DispatchInputs`, and a table
        per level: ``power_limit_w``, ``duration_h`` (exact), ``slot_hours``,
        ``energy_wh``, ``mean_power_w``, ``kept``.
    """
    if not (math.isfinite(energy_j) and energy_j > 0 and math.isfinite(duration_s) and duration_s > 0):
        raise DispatchInputError(f"a job needs a positive energy [J] and duration [s], got {energy_j!r} J, {duration_s!r} s")
    if levels is None:
        levels = thesis_gpu_table()
    limit = levels["power_w"].to_numpy(float)
    hours = levels["duration_h"].to_numpy(float)
    top = int(np.argmax(limit))
    duration_h = duration_s / 3600.0 * hours / hours[top]
    energy_wh = energy_j / 3600.0 * (limit * hours) / (limit[top] * hours[top])
    slots = np.maximum(1, np.ceil(duration_h - 1e-9)).astype(int)
    mean_w = energy_wh / slots
    # Keep the Pareto levels: no other level is at most as long and uses at most as much energy.
    kept = np.array([not any((slots[j] <= slots[i]) and (energy_wh[j] <= energy_wh[i]) and
                             (slots[j] < slots[i] or energy_wh[j] < energy_wh[i] or j < i)
                             for j in range(len(limit)) if j != i) for i in range(len(limit))])
    order = np.argsort(mean_w[kept])
    profile = GpuProfile(tuple(mean_w[kept][order]), tuple(slots[kept][order].astype(float)))
    table = pd.DataFrame({"power_limit_w": limit, "duration_h": duration_h, "slot_hours": slots,
                          "energy_wh": energy_wh, "mean_power_w": mean_w, "kept": kept})
    return profile, table


# ----------------------------------------------------------------------- battery


@dataclass(frozen=True)
class Battery:
    """Energy storage device (thesis Table 5.2).

    Parameters
    ----------
    capacity_wh : float
        Usable capacity ESD_max [Wh]; 250 Wh in the thesis.
    charge_efficiency : float
        Fraction of the energy sent to the battery that is stored (α), in (0, 1].
    discharge_efficiency : float
        Fraction of the energy taken out that is delivered (β), in (0, 1].
    self_discharge_per_h : float
        Fraction of the stored energy lost per hour (θ), in [0, 1).
    initial_wh : float
        Stored energy at the start of the window [Wh] (thesis: empty).
    """

    capacity_wh: float = 250.0
    charge_efficiency: float = 0.9
    discharge_efficiency: float = 0.9
    self_discharge_per_h: float = 0.005
    initial_wh: float = 0.0

    def __post_init__(self):
        for name in ("charge_efficiency", "discharge_efficiency"):
            value = getattr(self, name)
            if not (0 < value <= 1):
                raise DispatchInputError(f"{name} must lie in (0, 1], got {value}")
        if not (0 <= self.self_discharge_per_h < 1):
            raise DispatchInputError(f"self_discharge_per_h must lie in [0, 1), got {self.self_discharge_per_h}")
        if not (self.capacity_wh >= 0 and math.isfinite(self.capacity_wh)):
            raise DispatchInputError(f"capacity_wh must be a finite non-negative number, got {self.capacity_wh}")
        if not (0 <= self.initial_wh <= self.capacity_wh):
            raise DispatchInputError(f"initial_wh must lie in [0, capacity_wh], got {self.initial_wh}")

    def table(self) -> pd.DataFrame:
        """Table 5.2 as one row."""
        return pd.DataFrame(
            [
                {
                    "capacity_wh": self.capacity_wh,
                    "charge_efficiency": self.charge_efficiency,
                    "discharge_efficiency": self.discharge_efficiency,
                    "self_discharge_per_h": self.self_discharge_per_h,
                    "initial_wh": self.initial_wh,
                }
            ]
        )


# ------------------------------------------------------------------------ tariff


@dataclass(frozen=True)
class TariffBand:
    """One time-of-use band: buy price from ``start_hour`` (inclusive) to
    ``end_hour`` (exclusive, local time; wraps past midnight when end < start)."""

    name: str
    start_hour: int
    end_hour: int
    buy_eur_per_kwh: float

    def covers(self, hour_of_day: np.ndarray) -> np.ndarray:
        h = np.asarray(hour_of_day)
        if self.start_hour < self.end_hour:
            return (h >= self.start_hour) & (h < self.end_hour)
        return (h >= self.start_hour) | (h < self.end_hour)


@dataclass(frozen=True)
class Tariff:
    """Time-of-use grid tariff (thesis Table 5.3): buy price by band, one
    sell-back price [€/kWh]. The bands must cover every hour of the day once."""

    bands: tuple[TariffBand, ...] = field(
        default_factory=lambda: (
            TariffBand("F1", 8, 20, 0.45),
            TariffBand("F2", 20, 23, 0.35),
            TariffBand("F3", 23, 8, 0.25),
        )
    )
    sell_eur_per_kwh: float = 0.30

    def __post_init__(self):
        cover = sum(b.covers(np.arange(24)).astype(int) for b in self.bands)
        if not np.all(cover == 1):
            raise DispatchInputError(f"tariff bands must cover each hour of the day exactly once, got counts {cover}")
        if any(b.buy_eur_per_kwh < 0 for b in self.bands) or self.sell_eur_per_kwh < 0:
            raise DispatchInputError("tariff prices must be non-negative [€/kWh]")

    def buy_eur_per_kwh(self, hours: np.ndarray) -> np.ndarray:
        """Buy price at each hour of the year [€/kWh]."""
        hod = np.asarray(hours) % 24
        price = np.full(hod.shape, np.nan)
        for band in self.bands:
            price[band.covers(hod)] = band.buy_eur_per_kwh
        return price

    def band(self, hours: np.ndarray) -> np.ndarray:
        """Band name at each hour of the year."""
        hod = np.asarray(hours) % 24
        name = np.empty(hod.shape, dtype=object)
        for band in self.bands:
            name[band.covers(hod)] = band.name
        return name

    def table(self) -> pd.DataFrame:
        """Table 5.3: one row per band."""
        return pd.DataFrame(
            [
                {
                    "band": b.name,
                    "time_slot": f"{b.start_hour:02d}:00-{b.end_hour:02d}:00",
                    "buy_eur_per_kwh": b.buy_eur_per_kwh,
                    "sell_eur_per_kwh": self.sell_eur_per_kwh,
                }
                for b in self.bands
            ]
        )


# ------------------------------------------------------------------------- solar


@dataclass(frozen=True)
class PvArray:
    """A PVWatts system description.

    Parameters
    ----------
    pdc0_w : float
        DC nameplate [W] at 1000 W/m² and 25 °C. 3000 W: the thesis' Fig. 5.4
        excerpt (840 W DC at 319 W/m² plane-of-array, 21 °C cell) implies
        about 3 kW under PVWatts' default 14 % losses, not the "4 m²" of its text.
    surface_tilt_deg, surface_azimuth_deg : float
        Orientation [°]; PVWatts' defaults (20° tilt, facing south, 180°).
    gamma_pdc_per_c : float
        Temperature coefficient of power [1/°C] (PVWatts standard module, −0.0037).
    dc_ac_ratio : float
        DC nameplate over inverter AC nameplate (PVWatts default 1.2).
    inverter_efficiency : float
        Nominal inverter efficiency (PVWatts default 0.96).
    """

    pdc0_w: float = 3000.0
    surface_tilt_deg: float = 20.0
    surface_azimuth_deg: float = 180.0
    gamma_pdc_per_c: float = -0.0037
    dc_ac_ratio: float = 1.2
    inverter_efficiency: float = 0.96

    def __post_init__(self):
        if not (math.isfinite(self.pdc0_w) and self.pdc0_w >= 0):
            raise DispatchInputError(f"the PV array's DC size pdc0_w must be a finite number of W >= 0 (0: no "
                                     f"array), got {self.pdc0_w}")
        for name in ("dc_ac_ratio", "inverter_efficiency"):
            if not (math.isfinite(getattr(self, name)) and getattr(self, name) > 0):
                raise DispatchInputError(f"{name} must be a positive number, got {getattr(self, name)}")


def read_weather(path: Path | str = TMY_FILE) -> tuple[pd.DataFrame, dict]:
    """Read the PVGIS TMY file, relabelled onto one 365-day year (2019, UTC).

    The TMY's months come from different years (see ``data/solar/PROVENANCE.md``);
    a cell-temperature model needs one continuous calendar, so the time stamps
    are rewritten to 2019 keeping month, day and hour.
    """
    import pvlib  # heavy: pvlib

    weather, meta = pvlib.iotools.read_pvgis_tmy(str(path), map_variables=True)
    idx = weather.index
    weather = weather.copy()
    weather.index = pd.DatetimeIndex(
        [pd.Timestamp(2019, t.month, t.day, t.hour, tz="UTC") for t in idx], name="time_utc"
    )
    weather = weather[~((weather.index.month == 2) & (weather.index.day == 29))].sort_index()
    if len(weather) != HOURS_PER_YEAR:
        raise DispatchInputError(f"{path}: expected {HOURS_PER_YEAR} hourly rows after relabelling, got {len(weather)}")
    return weather, meta


def solar_ac_w(array: PvArray | None = None, weather_path: Path | str = TMY_FILE) -> pd.DataFrame:
    """Hourly AC output of ``array`` over the year from pvlib's PVWatts chain.

    Chain: solar position (at mid-hour) → Hay–Davies transposition to the
    plane of array → SAPM cell temperature (open rack, glass/polymer) →
    ``pvlib.pvsystem.pvwatts_dc`` → PVWatts default system losses (14.08 %) →
    ``pvlib.inverter.pvwatts``.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``hour`` (0 … 8759, local standard time, CET), with columns
        ``time_utc``, ``ghi_w_m2``, ``poa_w_m2`` (plane of array), ``temp_cell_c``,
        ``dc_w`` (after losses) and ``ac_w`` [W] (= Wh in that hour).
    """
    import pvlib  # heavy: pvlib

    array = array or PvArray()
    weather, meta = read_weather(weather_path)
    lat, lon, alt = (meta["inputs"][k] for k in ("latitude", "longitude", "elevation"))
    # PVGIS TMY stamps label the hour they start; evaluate the sun at mid-hour.
    mid = weather.index + pd.Timedelta(minutes=30)
    sun = pvlib.solarposition.get_solarposition(mid, lat, lon, altitude=alt)
    dni_extra = pvlib.irradiance.get_extra_radiation(mid)
    poa = pvlib.irradiance.get_total_irradiance(
        array.surface_tilt_deg,
        array.surface_azimuth_deg,
        sun["apparent_zenith"].to_numpy(),
        sun["azimuth"].to_numpy(),
        dni=weather["dni"].clip(lower=0).to_numpy(),
        ghi=weather["ghi"].clip(lower=0).to_numpy(),
        dhi=weather["dhi"].clip(lower=0).to_numpy(),
        dni_extra=dni_extra.to_numpy(),
        model="haydavies",
    )
    poa_global = np.nan_to_num(np.asarray(poa["poa_global"], dtype=float)).clip(min=0)
    params = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"]["open_rack_glass_polymer"]
    temp_cell = pvlib.temperature.sapm_cell(
        poa_global, weather["temp_air"].to_numpy(), weather["wind_speed"].to_numpy(), **params
    )
    dc = pvlib.pvsystem.pvwatts_dc(poa_global, temp_cell, array.pdc0_w, array.gamma_pdc_per_c)
    dc = np.asarray(dc) * (1 - pvlib.pvsystem.pvwatts_losses() / 100)
    pac0 = array.pdc0_w / array.dc_ac_ratio
    ac = np.asarray(pvlib.inverter.pvwatts(dc, pac0 / array.inverter_efficiency, eta_inv_nom=array.inverter_efficiency))
    ac = np.nan_to_num(ac).clip(min=0)
    frame = pd.DataFrame(
        {
            "time_utc": weather.index,
            "ghi_w_m2": weather["ghi"].to_numpy(),
            "poa_w_m2": poa_global,
            "temp_cell_c": np.asarray(temp_cell),
            "dc_w": dc,
            "ac_w": ac,
        }
    )
    # Local standard time hour h is UTC hour h - 1: roll so row 0 is 00:00 CET Jan 1.
    frame = frame.iloc[np.roll(np.arange(HOURS_PER_YEAR), LOCAL_UTC_OFFSET_H)].reset_index(drop=True)
    frame.index.name = "hour"
    return frame


#: Thesis Fig. 5.4 excerpt (PVWatts, Turin, Jan 1): AC system output [W] by hour
#: of day. A reference to compare with, never an input of the model.
THESIS_FIG_5_4_AC_W = {9: 193.056, 10: 456.187, 11: 698.037, 12: 798.739, 13: 744.47, 14: 550.861, 15: 276.852,
                       16: 47.432}
#: Same excerpt: plane-of-array irradiance [W/m²], cell temperature [°C] and DC
#: output [W] at hour 12, from which the array size is inferred.
THESIS_FIG_5_4_NOON = {"poa_w_m2": 319.106, "temp_cell_c": 21.224, "dc_w": 840.409}


# ------------------------------------------------------------------------ carbon


def carbon_intensity_g_per_kwh(hours: np.ndarray | None = None, path: Path | str = CARBON_FILE) -> np.ndarray:
    """Grid carbon intensity at each hour of the year [gCO2/kWh].

    The default is the stylised typical day in ``data/dispatch/`` (see its
    README: an assumption, not a measurement), repeated every day. Pass your own
    series to the model instead for real data.
    """
    table = pd.read_csv(path, comment="#")
    if sorted(table["hour_of_day"]) != list(range(24)):
        raise DispatchInputError(f"{path}: needs one row per hour_of_day 0…23")
    by_hour = table.set_index("hour_of_day")["g_co2_per_kwh"].sort_index().to_numpy(dtype=float)
    hours = np.arange(HOURS_PER_YEAR) if hours is None else np.asarray(hours)
    return by_hour[hours % 24]


# ------------------------------------------------------------------ year table


def check_series(name: str, values, hours_needed: int | None = None, allow_negative: bool = False) -> np.ndarray:
    """Validate an hourly series: numeric, no missing hour, not negative, long enough.

    Raises
    ------
    DispatchInputError
        With the offending hour named.
    """
    if isinstance(values, pd.Series):
        index = values.index
        if not pd.api.types.is_integer_dtype(index):
            raise DispatchInputError(f"{name}: index must be integer hours, got {index.dtype}")
        if len(index) and not np.array_equal(np.asarray(index), np.arange(index[0], index[0] + len(index))):
            gaps = sorted(set(range(int(index.min()), int(index.max()) + 1)) - set(int(i) for i in index))
            raise DispatchInputError(f"{name}: hours must be consecutive; missing or repeated around hour {gaps[:5]}")
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        raise DispatchInputError(f"{name}: expected a 1-D hourly series, got shape {arr.shape}")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise DispatchInputError(f"{name}: missing value (NaN/inf) at hour {bad[:5].tolist()}; fill or drop it first")
    if not allow_negative:
        neg = np.flatnonzero(arr < 0)
        if neg.size:
            raise DispatchInputError(f"{name}: negative value at hour {neg[:5].tolist()} ({arr[neg[0]]})")
    if hours_needed is not None and arr.size < hours_needed:
        raise DispatchInputError(f"{name}: {arr.size} hours given but the window needs {hours_needed}")
    return arr


def year_inputs(array: PvArray | None = None, tariff: Tariff | None = None) -> pd.DataFrame:
    """One row per hour of the year with every default series the model reads:
    ``solar_w``, ``buy_eur_per_kwh``, ``sell_eur_per_kwh``, ``band``,
    ``carbon_g_per_kwh``."""
    tariff = tariff or Tariff()
    hours = np.arange(HOURS_PER_YEAR)
    solar = solar_ac_w(array)
    return pd.DataFrame(
        {
            "solar_w": solar["ac_w"].to_numpy(),
            "buy_eur_per_kwh": tariff.buy_eur_per_kwh(hours),
            "sell_eur_per_kwh": np.full(HOURS_PER_YEAR, tariff.sell_eur_per_kwh),
            "band": tariff.band(hours),
            "carbon_g_per_kwh": carbon_intensity_g_per_kwh(hours),
        },
        index=pd.Index(hours, name="hour"),
    )
