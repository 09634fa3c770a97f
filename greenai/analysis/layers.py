"""Chapter 2 analysis of recorded layer rows (thesis 2.2): per layer type, per layer. No torch."""

from __future__ import annotations

import pandas as pd

#: layer types of the thesis' Fig 2.2, plus normalisation and other, in the order of every table and figure
LAYER_TYPES: tuple[str, ...] = ("convolution", "activation", "pooling", "linear", "dropout", "flatten",
                                "normalisation", "other")


def layer_type_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Average the ``level == "type"`` rows of a layer-profile CSV over repeats.

    Returns one row per (GPU, model, batch size, layer type) with the mean
    ``time_per_epoch_s`` [s], ``share_of_forward``, ``energy_thesis_per_epoch_j``
    and ``energy_measured_per_epoch_j`` [J], ``replay_power_w`` and
    ``window_power_w`` [W], ``measured_over_thesis`` (ratio of the two
    energies) and ``repeats``; ordered as :data:`LAYER_TYPES`.
    """
    types = rows[rows["level"] == "type"]
    keys = ["gpu_name", "model", "batch_size", "layer"]
    table = types.groupby(keys, sort=False).agg(
        time_per_epoch_s=("time_per_epoch_s", "mean"), time_per_epoch_s_std=("time_per_epoch_s", "std"),
        share_of_forward=("share_of_forward", "mean"),
        energy_thesis_per_epoch_j=("energy_thesis_per_epoch_j", "mean"),
        energy_measured_per_epoch_j=("energy_measured_per_epoch_j", "mean"),
        replay_power_w=("replay_power_w", "mean"), window_power_w=("window_power_w", "mean"),
        layer_params=("layer_params", "first"), modules=("modules", "first"), repeats=("repeat", "nunique"),
    ).reset_index().rename(columns={"layer": "layer_type"})
    table["measured_over_thesis"] = table.energy_measured_per_epoch_j / table.energy_thesis_per_epoch_j
    order = {t: i for i, t in enumerate(LAYER_TYPES)}
    return table.sort_values(keys[:3] + ["layer_type"], key=lambda c: c.map(order) if c.name == "layer_type" else c,
                             ignore_index=True)


def per_layer_time(rows: pd.DataFrame) -> pd.DataFrame:
    """Per leaf layer (``level == "layer"`` rows): mean forward time per epoch [s] and its parameters."""
    return rows[rows["level"] == "layer"].groupby(["layer", "layer_type"], sort=False).agg(
        time_per_epoch_s=("time_per_epoch_s", "mean"), layer_params=("layer_params", "first")).reset_index()
