"""Derived tables are written in one format: floats at ten significant digits."""

from __future__ import annotations

import math

import pandas as pd

from greenai import tables
from greenai.predict.coefficients import portable_coefficients


def test_save_table_rounds_floats_to_ten_significant_digits(tmp_path, monkeypatch):
    monkeypatch.setenv("GREENAI_OUTPUT_DIR", str(tmp_path))
    frame = pd.DataFrame({"model": ["a", "b"], "energy_j": [0.1 + 0.2, 1234.5678901234567], "n": [3, 4],
                          "ratio": [math.nan, 2.5e-11 * (1 + 1e-15)]})
    path = tables.save_table(frame, "t.csv")
    assert path == tmp_path / "tables" / "t.csv"
    assert path.read_text() == "model,energy_j,n,ratio\na,0.3,3,\nb,1234.56789,4,2.5e-11\n"
    back = pd.read_csv(path)
    assert abs(back["energy_j"][1] / frame["energy_j"][1] - 1) < 1e-9


def test_portable_coefficients_round_every_float_and_equal_their_json_reading():
    import json

    coefficients = {"features": {"alexnet": (1.0 / 3.0, 7, "x")}, "fit": {"h100": {"coef": [2.0 / 3.0, math.nan]}}}
    portable = portable_coefficients(coefficients)
    assert portable == {"features": {"alexnet": [0.333333333333, 7, "x"]},
                        "fit": {"h100": {"coef": [0.666666666667, None]}}}
    assert json.loads(json.dumps(portable)) == portable
    # a refit that differs from the shipped one in the last bits only is the same shipped file
    assert portable_coefficients({"c": 1.0 / 3.0 * (1 + 1e-15)}) == portable_coefficients({"c": 1.0 / 3.0})
