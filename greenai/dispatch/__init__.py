"""Energy dispatch of a GPU training job (thesis sections 5.2-5.5).

* :mod:`greenai.dispatch.inputs` — GPU profile, battery, tariff, solar (pvlib PVWatts), carbon intensity.
* :mod:`greenai.dispatch.model` — the Pyomo MILP (``create_model``), solved by HiGHS.
* :mod:`greenai.dispatch.decomposition` — the same model solved exactly and fast by a pattern decomposition.
* :mod:`greenai.dispatch.sweep` — start hour × deadline sweeps, the start hour as a decision, cost/CO2 curve.
* :mod:`greenai.dispatch.cli` — ``greenai dispatch`` (a power profile or a training job via ``greenai.predict``).
"""

from greenai.dispatch.inputs import DispatchInputError, InfeasibleDispatchError  # noqa: F401
