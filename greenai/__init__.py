"""greenai: measure, explain, predict and schedule the energy of training
deep-learning models on GPUs.

The front door::

    import greenai

    with greenai.measure() as run:      # or @greenai.measure() on a function
        train()
    run.energy_j, run.duration_s

    greenai.EnergyMeter, greenai.Measurement   # windows by name, several methods at once
    greenai.predict_run(...)                   # energy, time, cost and CO2 of a run before it starts

These names load on first use: ``import greenai`` imports neither torch nor NVML.
A research compendium reproducing the thesis "Energy Sustainability Analysis of
Machine Learning Algorithms"; the notebooks in ``notebooks/`` call into the package.
"""

import importlib

__version__ = "0.1.0"

#: public name -> the module that defines it (loaded on first use)
_EXPORTS = {"EnergyMeter": "greenai.energy.meter", "Measurement": "greenai.energy.results",
            "measure": "greenai.energy.tracker", "predict_run": "greenai.predict.runtime"}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'greenai' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
