"""Kept for old imports: the figure helpers live in :mod:`greenai.figures`."""

from greenai.figures import save_figure, use_style  # noqa: F401
