"""Energy per epoch (and every N steps) in the Hugging Face Trainer: ``pip install greenai[hf]``.

Three lines::

    from greenai.integrations.hf import EnergyCallback
    trainer = transformers.Trainer(..., callbacks=[EnergyCallback(csv_path="energy.csv", every_n_steps=20)])
    trainer.train()

Each window's energy [J], uncertainty [J], duration [s], power [W] and method
become an entry of ``trainer.state.log_history`` (so also of
``trainer_state.json``), with the ``step`` where the window ended; they are
also added to the ``logs`` of the next ``on_log`` so that logging callbacks
placed after this one (``trainer.add_callback`` order) report them; and, with
the warnings, they are written as one row to ``csv_path``
(:data:`greenai.integrations.common.COLUMNS`). The edges are CUDA events
(``block=False``, the default): measuring costs the training loop one event
record per edge. Without a GPU the energies are NaN, the reason logged once
(logger ``greenai``). Only the main process (``state.is_world_process_zero``)
measures.
"""

from __future__ import annotations

from greenai.integrations.common import EnergyLog, metrics

try:
    from transformers import TrainerCallback
except ImportError as exc:  # pragma: no cover - depends on the extra installed
    raise ImportError(
        "greenai.integrations.hf needs Hugging Face transformers: pip install 'greenai[hf]' "
        "(or pip install transformers accelerate)"
    ) from exc


class EnergyCallback(TrainerCallback):
    """Log GPU energy per epoch (and every ``every_n_steps`` steps) to the Trainer's log and a CSV.

    Parameters: as :class:`greenai.integrations.lightning.EnergyCallback`.
    """

    def __init__(self, csv_path=None, every_n_steps: int | None = None, block: bool = False, meter=None,
                 run: str | None = None, prefix: str = "energy", **meter_kwargs):
        self.energy_log = EnergyLog("hf", csv_path=csv_path, every_n_steps=every_n_steps, block=block, meter=meter,
                             run=run, meter_kwargs=meter_kwargs)
        self.prefix = prefix
        self._active = False
        self._unlogged: dict[str, float] = {}

    def _epoch(self, state) -> int:
        return int(state.epoch or 0)

    def on_train_begin(self, args, state, control, **kwargs):
        self._active = state.is_world_process_zero
        if self._active:
            self.energy_log.start()

    def on_epoch_begin(self, args, state, control, **kwargs):
        if self._active:
            self.energy_log.epoch_begin(self._epoch(state), state.global_step)

    def on_step_end(self, args, state, control, **kwargs):
        if self._active:
            self.energy_log.step_end(self._epoch(state), state.global_step)
            self._record(state, self.energy_log.ready())

    def on_epoch_end(self, args, state, control, **kwargs):
        if self._active:
            self.energy_log.epoch_end(self._epoch(state), state.global_step)
            self._record(state, self.energy_log.ready())

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self._active and logs is not None and self._unlogged:
            logs.update(self._unlogged)
            self._unlogged = {}

    def on_train_end(self, args, state, control, **kwargs):
        if self._active:
            self._active = False
            self._record(state, self.energy_log.finish(state.global_step))

    def _record(self, state, done) -> None:
        for window, m in done:
            numbers = metrics(window, m, self.prefix)
            state.log_history.append({**numbers, f"{self.prefix}/{window.scope}_method": m.method,
                                      "epoch": window.epoch, "step": window.step_end})
            self._unlogged.update(numbers)
