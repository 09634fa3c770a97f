"""Predict a training run's energy and duration before it starts (thesis 4.2).

Two models of the energy of one training epoch, fitted on the rows recorded in
``results/raw/`` and shipped as ``greenai/data_files/predict_coefficients.json``
(written by notebook 05): the thesis' ``HC x MACs x N`` and a static-feature
model that prices what a pass on PyTorch's ``meta`` device counts. The models,
their fits and intervals are described in ``docs/prediction.md``.

Modules: :mod:`~greenai.predict.model` (terms and predictions),
:mod:`~greenai.predict.coefficients` (the shipped JSON),
:mod:`~greenai.predict.runtime` (:func:`predict_run`; no torch or statsmodels at
import), :mod:`~greenai.predict.features` (static features, torch),
:mod:`~greenai.predict.fits` (statsmodels), :mod:`~greenai.predict.build`
(recorded rows to coefficients), :mod:`~greenai.predict.validation`, :mod:`~greenai.predict.prospective`,
:mod:`~greenai.predict.calibrate` (a card's factor from four anchors) and
:mod:`~greenai.predict.cli` (``greenai predict``). Modules of greenai import
these submodules; for notebooks the public names of every submodule are
reachable here too (``pr.predict_run``), each loaded on first use.
"""

from __future__ import annotations

import importlib

#: the submodules whose public names (their ``__all__``) this package offers, loaded on first use
_SUBMODULES = ("model", "coefficients", "runtime", "features", "fits", "build", "validation", "prospective",
               "calibrate")


def __getattr__(name: str):
    for sub in _SUBMODULES:
        module = importlib.import_module(f"{__name__}.{sub}")
        if name in module.__all__:
            return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
