"""Figures by chapter, and the helpers every notebook shares: one style, the
``agg`` backend, and one way to save a figure under ``results/figures`` named
after the thesis figure it regenerates (``fig_4_7_macs_vs_energy.png``).

Chapters: :mod:`greenai.figures.ch2` to :mod:`greenai.figures.ch5`; ch4 holds thesis 4.1
(energy per epoch) and 4.2 (prediction, Figs 4.14-4.16; energy to accuracy, Figs 4.17-4.20).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("agg")  # headless: notebooks run under papermill and in CI
import matplotlib.pyplot as plt  # noqa: E402

from greenai import paths  # noqa: E402


def use_style() -> None:
    """Apply the project's plotting style (seaborn whitegrid, readable fonts)."""
    import seaborn as sns  # heavy: seaborn

    sns.set_theme(style="whitegrid", context="notebook")


def save_figure(fig: "plt.Figure", name: str, dpi: int = 150) -> Path:
    """Save ``fig`` as ``<output>/figures/<name>.png`` and return the path.

    ``name`` should say which thesis figure it regenerates, e.g.
    ``"fig_2_2_time_per_layer_type"``; a ``.png`` suffix is optional.
    """
    stem = name[:-4] if name.endswith(".png") else name
    path = paths.figures_dir() / f"{stem}.png"
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return path
