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
# # 07 — GPU power limit, speed and energy (thesis 5.1)
#
# The thesis capped an RTX 3060 at 40…95 W with GreenWithEnvy, trained AlexNet (10 epochs,
# batch 128) under each cap, and found speed rising linearly with the cap between 45 and 70 W
# and saturating above, energy per run rising with the cap, and accuracy unchanged
# (Figs 5.1–5.2). Those measurements are not published as numbers, so they cannot be redrawn
# here. What the dispatch model uses is Table 5.1, a profile the thesis takes from its
# reference [16]: seven power levels and the time one training job takes at each.
#
# `greenai.dispatch.inputs.thesis_gpu_table()` holds Table 5.1 as data and adds the energy per job
# P × J (an upper bound: the GPU is assumed to draw its limit throughout). In this profile a
# lower limit is always slower *and* cheaper in energy — 3.2 kWh per job at 100 W against
# 5.5 kWh at 250 W — which is why the dispatch model (notebook 08) runs long and low when
# the deadline allows.
#
# **On your own GPU**: `greenai.power.power_limit_sweep(step, limits_w, enable=True)` sets each
# NVML power limit in turn, runs your training step, measures time and energy with NVML's
# energy counter and restores the original limit whatever happens (exception, Ctrl-C). It
# needs root rights and refuses to run unless enabled (`enable=True` or
# `GREENAI_ALLOW_POWER_LIMIT=1`). Never run it on a shared or rented GPU: the `MEASURE` cell
# below only runs when both `MEASURE=True` and that variable are set.

# %% tags=["parameters"]
MEASURE = False
QUICK = False

# %%
import os

from greenai import claims, power
from greenai.dispatch.inputs import thesis_gpu_table
from greenai.figures import ch5, save_figure, use_style

use_style()
NOTEBOOK = "07_power_limit"
profile = thesis_gpu_table()  # Table 5.1; its CSV is written once, by notebook 08 (table_5_1_gpu_levels)
display(profile)  # noqa: F821

# %% [markdown]
# ## Table 5.1 drawn
# Duration falls steeply from 100 to 150 W and flattens above 175 W — the saturation the
# thesis saw on its RTX 3060 above 70 W — while energy per job rises almost linearly with
# the limit.

# %%
fig = ch5.fig_5_1_power_limit_profile(profile)
save_figure(fig, "fig_5_1_power_limit_profile")
saving = 1 - profile["energy_per_job_wh"].iloc[0] / profile["energy_per_job_wh"].iloc[-1]
slowdown = profile["duration_h"].iloc[0] / profile["duration_h"].iloc[-1] - 1
print(f"100 W instead of 250 W: {saving:.0%} less energy per job, {slowdown:.0%} longer")

# %% [markdown]
# ## Optional: sweep the power limit of your own GPU
# A matrix-multiply step stands in for a training step. Runs only with `MEASURE=True` *and*
# `GREENAI_ALLOW_POWER_LIMIT=1` on a machine where you may change the limit.

# %%
if MEASURE and os.environ.get(power.ENABLE_ENV) == "1":
    import torch

    a = torch.randn(8192, 8192, device="cuda")

    def step():
        a @ a

    device = power.NvmlPowerLimits()
    low, high = device.constraints_w()
    limits = [low + (high - low) * f for f in (0.25, 0.5, 0.75, 1.0)]
    measured = power.power_limit_sweep(step, limits, steps_per_limit=20 if QUICK else 200, enable=True,
                                       device=device, synchronize=torch.cuda.synchronize)
    display(measured)  # noqa: F821
else:
    print("power-limit sweep skipped (opt-in: MEASURE=True and GREENAI_ALLOW_POWER_LIMIT=1, own GPU only)")

# %%
claims.record(NOTEBOOK, [
    dict(claim_id="energy_rises_with_limit", section="5.1",
         description="energy per job at 250 W over 100 W (Table 5.1, P×J)",
         thesis_value=float("nan"), our_value=float(profile["energy_per_job_wh"].iloc[-1]
                                                     / profile["energy_per_job_wh"].iloc[0]),
         unit="ratio", note="thesis states the trend (Fig 5.2) without numbers; ours from Table 5.1"),
    dict(claim_id="5.1-speed-vs-power-limit", section="5.1",
         description="running speed at 250 W over 100 W (Table 5.1, 1 / duration)",
         thesis_value=float("nan"), our_value=float(slowdown + 1), unit="ratio",
         note="thesis: speed rises linearly from 45 to 70 W on its RTX 3060, then saturates (Fig 5.1)"),
])
