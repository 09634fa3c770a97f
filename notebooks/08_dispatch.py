# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 08 — Energy dispatch: when and how fast to train on solar, battery and grid (thesis 5.2–5.5)
#
# The thesis' MILP (section 5.3) picks one GPU power level per hour (Table 5.1: 100…250 W,
# the whole job taking 32…22 h) and supplies the GPU from a solar array, a 250 Wh battery
# and a time-of-use grid, minimising grid cost minus sell-back revenue. `greenai.dispatch`
# builds it in Pyomo (`create_model`) and solves it with HiGHS to a proven optimum
# (relative MIP gap ≤ 1e-6).
#
# **Our reading of the formulation's loose ends** (written down in `greenai/dispatch/model.py`
# and tested in `tests/test_dispatch_model.py`):
#
# * *Units.* Every flow is a mean power over a 1-h slot [W], i.e. Wh in that slot; prices are
#   €/kWh. The battery's "power" ESD_t is stored energy [Wh].
# * *Battery update (5.15–5.16).* `BatteryEnergy[t]` is the energy at the start of slot t, zero at
#   the window's start; `BatteryEnergy[t+1] = (1-θ)(BatteryEnergy[t] + α·charge_t − discharge_t)`
#   — the thesis' update with each slot's own flows. A slot discharges at most what was stored at
#   its start (5.18), and what is stored after charging stays within 250 Wh (5.17, 5.19 with α).
#   β applies on the way out, to the GPU and to the grid.
# * *Eq. 5.21* reuses C_t (the cost) for the GPU's draw; we read it as "the GPU draws exactly its
#   level's power and solar + grid + β·battery meets it".
# * *Pausing.* Section 5.4 says the job runs without interruption once started; eq. 5.7 forces a
#   level in every slot of the window. We keep the first: the job starts at the window's first
#   hour, runs in one block, and the GPU is **off after the job completes** (it may finish before
#   the deadline). The hours at level k complete 1/J_k each (5.22), counted exactly in integers.
# * *Solar* beyond what the GPU and battery take is sold at 0.30 €/kWh; the grid is unbounded.
# * *No buying and selling in the same hour* (beyond the thesis, which does not say): a meter nets
#   an hour's flows, so each hour either imports or exports. Without this rule the model buys at
#   0.25 €/kWh (band F3) to sell at 0.30 €/kWh in the same hour on summer mornings; in January it
#   changes no cost (`data/dispatch/README.md`).
# * *Ties* between equal-cost plans (within 1e-9 €) go to the lower-emission plan, then, among
#   interchangeable hours (e.g. two dark hours a day apart at one price and carbon intensity), to
#   the plan with the higher levels first, so every table is the same from run to run.
#
# **Solar input.** The thesis took hourly AC output for Turin from the PVWatts website. We run
# pvlib's PVWatts chain (Hay–Davies transposition, SAPM cell temperature, `pvwatts_dc`, PVWatts
# losses, `inverter.pvwatts`) on the PVGIS typical-meteorological-year file for 45° N 8° E
# (about 30 km from Turin; `data/solar/PROVENANCE.md`). The array is **3 kW DC** (20° tilt,
# south): the thesis' own Fig 5.4 excerpt (840 W DC at 319 W/m², 21 °C) implies that size, not
# the "4 m²" of its text. Our weather is not the thesis' weather, so costs differ from the
# thesis' in detail; the comparison is of the shape and the order of magnitude.

# %% tags=["parameters"]
QUICK = False
PROCESSES = 2

# %%
import time

import pandas as pd


from greenai import claims
from greenai.dispatch import cli as dispatch_cli
from greenai.dispatch import inputs as dispatch_inputs
from greenai.dispatch import report, sweep
from greenai.figures import ch5, save_figure, use_style
from greenai.tables import save_table

use_style()
NOTEBOOK = "08_dispatch"
year = dispatch_inputs.year_inputs()
solar = dispatch_inputs.solar_ac_w()

# %% [markdown]
# ## Inputs: Tables 5.1–5.3
# Table 5.1 (GPU levels), Table 5.2 (battery) and 5.3 (tariff) come from `greenai.dispatch.inputs`
# (Table 5.1 as data, the others as dataclasses); each can be replaced by the user's own.

# %%
table_5_1 = dispatch_inputs.thesis_gpu_profile().table()
table_5_2 = dispatch_inputs.Battery().table()
table_5_3 = dispatch_inputs.Tariff().table()
for name, t in (("table_5_1_gpu_levels", table_5_1), ("table_5_2_battery", table_5_2),
                ("table_5_3_tariff", table_5_3)):
    save_table(t, name)
display(table_5_1, table_5_2, table_5_3)  # noqa: F821

# %% [markdown]
# ## Fig 5.4 — solar output in the first week
# The triangles are the thesis' Jan 1 excerpt (its PVWatts weather file). Same producing hours
# (9–16 local time); our Jan 1 (a 2009 day in the TMY) is sunnier. On Jan 2, 3, 6 and 7 the
# PVGIS direct-normal series drops to zero at 11 and 13 UTC between ~400 W/m² hours, a satellite
# artefact noted in the provenance: the notches at 12 and 14 h local time on those days are not
# clouds we believe in.

# %%
fig = ch5.fig_5_4_solar_first_week(solar, dispatch_inputs.THESIS_FIG_5_4_AC_W)
save_figure(fig, "fig_5_4_solar_first_week")
first_day_wh = solar["ac_w"].iloc[:24].sum()
print(f"first-day AC energy: {first_day_wh:.0f} Wh (thesis excerpt: {sum(dispatch_inputs.THESIS_FIG_5_4_AC_W.values()):.0f} Wh); "
      f"annual yield {solar['ac_w'].sum() / 1000:.0f} kWh = {solar['ac_w'].sum() / dispatch_inputs.PvArray().pdc0_w:.0f} kWh/kWp")

# %% [markdown]
# ## The sweep: start hour 0…143 × deadline {23, 25, 27, 29, 31, 32} h
# Every one of the 864 windows is solved to a proven optimum (gap ≤ 1e-6). `QUICK=True`
# solves every 12th start hour for the 23 h and 32 h deadlines only, so the headline numbers
# below are then from that subset.
#
# Handed to HiGHS as one MILP per window, this model is slow to *prove* optimal at deadlines of
# 23–25 h (seconds to minutes a window: the completion knapsack with rates 1/22…1/32 leaves many
# plans within a cent, and hours with no sun at one price are interchangeable). The sweep
# therefore uses `greenai.dispatch.decomposition`, which solves the same model exactly by its
# structure: a best-first search over the *minimal level-count patterns* bounded by LP cuts
# that are valid for all patterns at once, a small branch-and-bound inside a pattern, and
# symmetry rows that order interchangeable hours. About 12 ms of CPU a window, the rule against
# buying and selling in one hour and the tie-break included; `make benchmarks` times every solve
# of this notebook (`results/benchmarks/dispatch_notebook.csv`) and the naive MILP beside it
# (`dispatch_sweep_summary.csv`), and tests check the decomposition against the Pyomo MILP on
# random windows of every month, June windows and the thesis' windows.

# %%
starts = range(0, 144, 12) if QUICK else sweep.THESIS_START_HOURS
deadlines = (23, 32) if QUICK else sweep.THESIS_DEADLINES_H
t0 = time.perf_counter()
table = sweep.run_sweep(year, starts=starts, deadlines=deadlines, processes=PROCESSES)
print(f"{len(table)} solves in {time.perf_counter() - t0:.1f} s; largest relative gap {table['rel_gap'].max():.1e}")
save_table(table.drop(columns="solve_s"), "dispatch_sweep")  # timings vary; the plans do not

# %% [markdown]
# ## Fig 5.6 — solar supply and minimum cost, deadline 23 h
# As in the thesis, sunny days pull the cost down and a start around noon is a local maximum
# for a 23 h job: it spends the night on the grid and misses the next day's sun.

# %%
fig = ch5.fig_5_6_solar_vs_min_cost(table, solar, sweep.cheapest_start(table[table["deadline_h"] == 23]), 23)
save_figure(fig, "fig_5_6_solar_vs_min_cost_23h")

# %% [markdown]
# ## Fig 5.7 — minimum cost by start hour for each deadline
# Longer deadlines lower both the maximum and the minimum cost: the job can run at the
# energy-efficient low levels (energy per job P×J grows from 3.2 kWh at 100 W to 5.5 kWh at
# 250 W) and the window covers more daylight to sell. Beyond 24 h every start covers a full
# day, and starting around noon turns from a local maximum into a local minimum.

# %%
fig = ch5.fig_5_7_min_cost_by_start_hour(table)
save_figure(fig, "fig_5_7_min_cost_by_start_hour")

# %% [markdown]
# ## Headline numbers beside the thesis'
# The thesis reports, for 23 h, a minimum of about 0.20 € at start hour 115 and a maximum of
# 1.32 €; for 32 h a maximum of 0.68 € and a minimum of −1.5 €. Our costs are lower at 23 h,
# and the weather is what drives it: our first week is sunnier than the thesis' (Jan 1: 6.1 vs
# 3.8 kWh). Scaling our solar by 3.8/6.1 (next cell) brings the 23 h costs close to the thesis'.
# Two other differences of reading do not explain it: at 23 h no plan stops before the deadline
# (our GPU may switch off once the job is done, which changes plans only at long deadlines,
# counted below), and reading α in eq. 5.19 on the energy sent rather than stored
# (ESD + R ≤ ESD_max) moves the 23 h costs by about 0.001 € a window (checked with the
# decomposition's charge rows; not re-run here).
# The window's solar sales count in the cost (eq. 5.2 sums over the whole window), which is why
# long deadlines on sunny days go negative, in the thesis and here.

# %%
head = sweep.headline(table)
beside = report.headline_beside_thesis(head)
save_table(beside, "dispatch_headline")
display(beside.round(3))  # noqa: F821
early = table[table["run_hours"] < table["deadline_h"]].groupby("deadline_h").size()
print("windows whose plan stops before the deadline, by deadline:",
      {int(d): int(early.get(d, 0)) for d in sorted(table["deadline_h"].unique())})
thesis_sun = year.assign(solar_w=year["solar_w"] * sum(dispatch_inputs.THESIS_FIG_5_4_AC_W.values()) / first_day_wh)
dim = sweep.run_sweep(thesis_sun, starts=starts[::6], deadlines=(23,), processes=PROCESSES)  # every 6th start: a check
print(f"23 h, every 6th start hour, with our solar scaled to the thesis' Jan 1 ({sum(dispatch_inputs.THESIS_FIG_5_4_AC_W.values()) / first_day_wh:.2f}x): "
      f"min {dim['cost_eur'].min():.2f} EUR at start {int(sweep.cheapest_start(dim)['start_hour'])}, "
      f"max {dim['cost_eur'].max():.2f} EUR (thesis: 0.20 and 1.32)")
note = ("QUICK subset (every 12th start hour)" if QUICK else "all 144 start hours") + "; our weather (PVGIS TMY), 3 kW DC"
by_deadline = head.set_index("deadline_h")
claims.record(NOTEBOOK, report.headline_claims(head, note) + [
    dict(claim_id=f"5.4-{key[:3]}-cost-falls", section="5.4",
         description=f"{key[:3]} cost over start hours, deadline 32 h − 23 h",
         thesis_value=float(report.THESIS_HEADLINE[32][key] - report.THESIS_HEADLINE[23][key]),
         our_value=float(by_deadline.loc[32, key] - by_deadline.loc[23, key]), unit="EUR", note=note)
    for key in ("min_cost_eur", "max_cost_eur")
] + [
    dict(claim_id="solar_jan1_ac_wh", section="5.2.3", description="AC energy of Jan 1 (hours 9-16)",
         thesis_value=float(sum(dispatch_inputs.THESIS_FIG_5_4_AC_W.values())), our_value=float(first_day_wh), unit="Wh",
         note="different weather year; same 3 kW DC array the excerpt implies"),
])

# %% [markdown]
# ## Beyond the thesis (1): the start hour as a decision
# Instead of sweeping start hours and picking the cheapest by eye, the start becomes a decision
# inside a window in which the job must start *and* finish, here the first 48 hours of the year
# (24 h in QUICK mode would leave no choice, so QUICK uses 30 h). The decomposition solves it
# exactly as the minimum over start slots, each cut off by the best plan so far; tests check it
# against the Pyomo MILP with its start binaries.

# %%
window_end = 30 if QUICK else 48
t0 = time.perf_counter()
start, cost, plan = sweep.best_start(year, 0, window_end)
print(f"solved in {time.perf_counter() - t0:.1f} s")
print(f"cheapest start inside hours 0-{window_end}: hour {start}, {cost:.3f} EUR "
      f"({(plan['level'] > 0).sum()} h of running)")
save_table(plan, "dispatch_best_start_plan")
fig = ch5.fig_5_x_dispatch_plan(plan, f"Cheapest plan, start chosen in hours 0-{window_end}: start {start} h, {cost:.2f} €")
save_figure(fig, "fig_5_x_best_start_plan")

# %% [markdown]
# ## Beyond the thesis (2): cost against CO2
# The grid's carbon intensity (default: a stylised Italian typical day, `data/dispatch/README.md`
# — an assumption, replace it with real data for your zone) weighs each kWh imported. The
# ε-constraint method gives the cheapest plan under a range of emission caps, from the
# cleanest plan to the cheapest. Here for the 32 h window starting at hour 0. The decomposition
# takes the carbon objective and the cap as one more LP row (each point proven optimal, checked
# against the MILP in the tests).

# %%
inputs = sweep.window_inputs(year, 0, 32)
t0 = time.perf_counter()
curve = sweep.cost_carbon_curve(inputs, points=3 if QUICK else 8, processes=PROCESSES)
print(f"{len(curve)} points in {time.perf_counter() - t0:.1f} s")
save_table(curve, "dispatch_cost_carbon")
display(curve.round(3))  # noqa: F821
fig = ch5.fig_5_x_cost_vs_co2(curve)
save_figure(fig, "fig_5_x_cost_vs_co2")

# %% [markdown]
# ## A training job in June and in January
# Users know their job, not a power profile. `greenai dispatch --model resnet18 --dataset cifar10
# --epochs 30 --batch-size 256 --start 2027-06-12T08:00 --deadline 36` asks `greenai.predict` for
# the run's energy and duration at the default power limit (with a 90 % interval) and spreads
# them over the power levels in the shape of Table 5.1 (`inputs.job_profile`: at level k the job
# takes J_k/J_top of its time and P_k·J_k/(P_top·J_top) of its energy, in whole hours). Here a
# stated job of **6 kWh in 10 h** at the default limit (a long single-GPU run; a prediction would
# give the same two numbers), planned with a 36 h deadline from 08:00 on 12 June and on 12 January
# (local standard time of the weather file, CET). Eq. 5.2 counts the whole window's sales, so
# the window's cost mostly says how sunny the window is; the job's own cost is the plan's cost
# above selling all the window's solar without it.

# %%
job_energy_j, job_duration_s = 6.0 * 3.6e6, 10 * 3600.0
job_gpu, job_levels = dispatch_inputs.job_profile(job_energy_j, job_duration_s)
display(job_levels.round(2))  # noqa: F821
t0 = time.perf_counter()
rows = []
for label, when, figure in (("June", "2027-06-12T08:00", "fig_5_x_job_plan_june"),
                            ("January", "2027-01-12T08:00", "fig_5_x_job_plan_january")):
    job_plan, job_solution = sweep.plan_window(year, dispatch_cli.start_hour(when), 36, job_gpu, dispatch_inputs.Battery())
    running = job_plan[job_plan["level"] > 0]
    rows.append({"month": label, "start": when, "run_hours": len(running),
                 "levels": "".join(str(k) for k in job_plan["level"]),
                 "gpu_energy_kwh": running["gpu_w"].sum() / 1000,
                 "grid_import_kwh": (job_plan["grid_to_gpu_w"] + job_plan["grid_to_battery_w"]).sum() / 1000,
                 "solar_to_gpu_kwh": job_plan["solar_to_gpu_w"].sum() / 1000,
                 "cost_eur": job_solution.cost_eur,
                 "cost_above_solar_sales_eur": dispatch_cli.job_cost_eur(job_plan, job_solution.cost_eur),
                 "emissions_g": job_solution.emissions_g})
    fig = ch5.fig_5_x_dispatch_plan(job_plan, f"6 kWh / 10 h job, 36 h from {when}: {job_solution.cost_eur:.2f} €")
    save_figure(fig, figure)
seasons = pd.DataFrame(rows)
print(f"2 plans in {time.perf_counter() - t0:.1f} s")
save_table(seasons, "dispatch_job_june_vs_january")
display(seasons.round(3))  # noqa: F821
june, january = seasons.set_index("month").loc["June"], seasons.set_index("month").loc["January"]
print(f"window cost (eq. 5.2, solar sales included): {june['cost_eur']:.2f} EUR in June, {january['cost_eur']:.2f} EUR "
      f"in January; the job itself costs {june['cost_above_solar_sales_eur']:.2f} vs "
      f"{january['cost_above_solar_sales_eur']:.2f} EUR above selling all the window's solar, emits "
      f"{june['emissions_g']:.0f} vs {january['emissions_g']:.0f} gCO2, and takes {june['solar_to_gpu_kwh']:.1f} vs "
      f"{january['solar_to_gpu_kwh']:.1f} kWh straight from the sun")
