"""GPU energy of named windows of work, measured several ways at once (thesis 2.1-2.2).

:class:`~greenai.energy.meter.EnergyMeter` opens windows (``begin_window``/
``end_window``, or the ``window`` context manager) over one or more GPUs and
returns a :class:`~greenai.energy.results.Measurement` per window. Methods,
usable together on the same window: ``counter`` (NVML's energy counter, the
default where present), ``sampled`` (polled power, integrated), ``smi`` (1 Hz
power × duration, the thesis' way) and ``tdp`` (rated power × duration).
Edges are blocking (synchronise, then read) or non-blocking (CUDA events read
by a background thread). Details, costs and biases: ``docs/energy.md``.

Submodules: :mod:`~greenai.energy.results` (result types, the flat row),
:mod:`~greenai.energy.arithmetic` (each method's arithmetic),
:mod:`~greenai.energy.poller`, :mod:`~greenai.energy.edges`,
:mod:`~greenai.energy.meter`. Modules of greenai import those directly.
"""

from greenai.energy.edges import EDGE_POLL_PERIOD_S, EDGE_TIMEOUT_S, Edge
from greenai.energy.meter import EnergyMeter, measured_window
from greenai.energy.results import (METHODS, EdgeTimeoutError, GpuEnergyUnavailable, Measurement, PendingMeasurement,
                                    Window, WindowError, measurement_row)

__all__ = ["EDGE_POLL_PERIOD_S", "EDGE_TIMEOUT_S", "Edge", "EnergyMeter", "measured_window", "METHODS",
           "EdgeTimeoutError", "GpuEnergyUnavailable", "Measurement", "PendingMeasurement", "Window", "WindowError",
           "measurement_row"]
