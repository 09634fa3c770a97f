"""Figures by chapter, and the helpers every notebook shares: one style, the
``agg`` backend, and one way to save a figure under ``results/figures`` named
after the thesis figure it regenerates (``fig_4_7_macs_vs_energy.png``).

Chapters: :mod:`greenai.figures.ch2` to :mod:`greenai.figures.ch5`; ch4 holds thesis 4.1
(energy per epoch) and 4.2 (prediction, Figs 4.14-4.16; energy to accuracy, Figs 4.17-4.20).
"""

from __future__ import annotations

import sys
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
    announce_figure(path)
    return path


#: the key of a notebook output's metadata that names the figure a cell saved (:func:`announce_figure`)
FIGURE_METADATA_KEY = "greenai_figure"


def announce_figure(path: Path) -> None:
    """In a notebook, show the saved figure as an output of the cell that saved it.

    The output is a link to the PNG (``![name](../figures/name.png)``, where the executed copies sit in
    ``results/notebooks/``) whose metadata names the file (:data:`FIGURE_METADATA_KEY`): the executed
    notebook stays small and the same at every run, and :mod:`greenai.report` puts the image itself there.
    Outside a notebook kernel this does nothing.
    """
    if "ipykernel" not in sys.modules:
        return
    from IPython.display import display  # heavy: IPython (only inside a notebook kernel)

    display({"text/markdown": f"![{path.stem}](../figures/{path.name})", "text/plain": f"<figure {path.name}>"},
            raw=True, metadata={FIGURE_METADATA_KEY: path.name})
