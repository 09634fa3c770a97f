"""Shared test setup: derived outputs go to a temporary folder, never into the
committed ``results/``. Tests that need real datasets look for them where the
README says datasets live (``$GREENAI_DATA_DIR``, or ``data/`` in the checkout)
and skip, saying where, when they are absent."""

from __future__ import annotations

import os

import pytest


# A row key that is no column of its CSV is an error in tests (the store warns elsewhere).
os.environ.setdefault("GREENAI_STRICT_ROWS", "1")


@pytest.fixture(autouse=True, scope="session")
def _isolated_outputs(tmp_path_factory):
    out = tmp_path_factory.mktemp("greenai-output")
    old = os.environ.get("GREENAI_OUTPUT_DIR")
    os.environ["GREENAI_OUTPUT_DIR"] = str(out)
    yield out
    if old is None:
        os.environ.pop("GREENAI_OUTPUT_DIR", None)
    else:
        os.environ["GREENAI_OUTPUT_DIR"] = old


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory):
    """The per-user cache (a stored card calibration that ``greenai predict`` would apply) is a temporary folder."""
    old = os.environ.get("GREENAI_CACHE_DIR")
    os.environ["GREENAI_CACHE_DIR"] = str(tmp_path_factory.mktemp("greenai-cache"))
    yield
    if old is None:
        os.environ.pop("GREENAI_CACHE_DIR", None)
    else:
        os.environ["GREENAI_CACHE_DIR"] = old


@pytest.fixture(scope="session")
def year():
    """The dispatch inputs of the whole year (solar from the committed TMY file, tariff, carbon)."""
    from greenai.dispatch import inputs

    return inputs.year_inputs()
