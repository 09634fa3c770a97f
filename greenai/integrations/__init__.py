"""Energy logging inside training frameworks.

- :mod:`greenai.integrations.lightning`: a PyTorch Lightning ``Callback``
  (``pip install greenai[lightning]``);
- :mod:`greenai.integrations.hf`: a Hugging Face ``transformers``
  ``TrainerCallback`` (``pip install greenai[hf]``).

Both measure with :class:`greenai.energy.EnergyMeter` (``methods="auto"`` by
default: the energy counter on a GPU, time only with NaN energy and its
reason elsewhere), one window per epoch and optionally one every N steps,
with non-blocking (CUDA-event) edges, and write one CSV row per window
(:data:`greenai.integrations.common.COLUMNS`).
"""
