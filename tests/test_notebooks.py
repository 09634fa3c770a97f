"""Every numbered notebook executes end to end with ``QUICK=True`` (on the
recorded results, CPU only), so a notebook cannot rot unnoticed."""

import pytest

from greenai import reproduce

NOTEBOOKS = reproduce.notebook_sources()


@pytest.mark.slow
@pytest.mark.parametrize("source", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(source, tmp_path):
    executed = reproduce.run_notebook(source, {"QUICK": True}, output_dir=tmp_path)
    assert executed.exists()
