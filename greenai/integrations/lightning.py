"""Energy per epoch (and every N steps) in PyTorch Lightning: ``pip install greenai[lightning]``.

Three lines::

    from greenai.integrations.lightning import EnergyCallback
    trainer = lightning.pytorch.Trainer(..., callbacks=[EnergyCallback(csv_path="energy.csv", every_n_steps=20)])
    trainer.fit(model)

Each window's energy [J], its uncertainty [J], duration [s] and power [W] go
to the trainer's loggers (``energy/epoch_j``, ``energy/steps_j``, …) and, with
the method and the warnings, as one row to ``csv_path``
(:data:`greenai.integrations.common.COLUMNS`). The edges are CUDA events
(``block=False``); without a GPU the energies are NaN. ``EnergyCallback.energy_log``
holds every row written and is saved with each checkpoint; only global rank 0
measures. ``EnergyCallback`` subclasses ``lightning.pytorch.Callback`` (else
``pytorch_lightning.Callback``; ``PLEnergyCallback`` is that one where both are).
Logging, checkpoints and multi-process runs in full: ``docs/integrations.md``.
"""

from __future__ import annotations

from greenai.integrations.common import EnergyLog, metrics

try:
    import lightning.pytorch as _lightning
except ImportError:  # pragma: no cover - depends on the extra installed
    _lightning = None
try:
    import pytorch_lightning as _pl
except ImportError:  # pragma: no cover
    _pl = None
if _lightning is None and _pl is None:
    raise ImportError(
        "greenai.integrations.lightning needs PyTorch Lightning: pip install 'greenai[lightning]' "
        "(or pip install lightning)"
    )


class _EnergyHooks:
    """The hooks, shared by the ``lightning`` and ``pytorch_lightning`` callbacks."""

    def __init__(self, csv_path=None, every_n_steps: int | None = None, block: bool = False, meter=None,
                 run: str | None = None, prefix: str = "energy", **meter_kwargs):
        super().__init__()
        self.energy_log = EnergyLog("lightning", csv_path=csv_path, every_n_steps=every_n_steps, block=block,
                             meter=meter, run=run, meter_kwargs=meter_kwargs)
        self.prefix = prefix
        self._active = False

    def on_train_start(self, trainer, pl_module) -> None:
        self._active = trainer.is_global_zero
        if self._active:
            self.energy_log.start()

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        if self._active:
            self.energy_log.epoch_begin(trainer.current_epoch, trainer.global_step)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self._active:
            self.energy_log.step_end(trainer.current_epoch, trainer.global_step)
            self._send(trainer, self.energy_log.ready())

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        if self._active:
            self.energy_log.epoch_end(trainer.current_epoch, trainer.global_step)
            self._send(trainer, self.energy_log.ready())

    def on_train_end(self, trainer, pl_module) -> None:
        if self._active:
            self._active = False
            self._send(trainer, self.energy_log.finish(trainer.global_step))
            for logger in trainer.loggers:
                logger.save()

    def on_exception(self, trainer, pl_module, exception) -> None:
        if self._active:
            self._active = False
            self.energy_log.close()

    def state_dict(self) -> dict:
        """Saved with each checkpoint (like Lightning's ``Timer``): the counters of :attr:`energy_log`."""
        return self.energy_log.state_dict()

    def load_state_dict(self, state_dict: dict) -> None:
        """Restored from a checkpoint: a resumed run goes on numbering windows and summing energy."""
        self.energy_log.load_state_dict(state_dict)

    def _send(self, trainer, done) -> None:
        for window, m in done:
            for logger in trainer.loggers:
                logger.log_metrics(metrics(window, m, self.prefix), step=window.step_end)


_Base = (_lightning or _pl).Callback


class EnergyCallback(_EnergyHooks, _Base):
    """Log GPU energy per epoch (and every ``every_n_steps`` steps) to the loggers and a CSV.

    Parameters
    ----------
    csv_path : path, optional
        CSV to append one row per window to.
    every_n_steps : int, optional
        Also a window every this many training batches (back to back).
    block : bool
        ``True``: synchronising edges instead of CUDA events (costs throughput).
    meter : greenai.energy.EnergyMeter, optional
        Use this meter; default ``EnergyMeter(methods="auto", **meter_kwargs)``.
    run : str, optional
        The CSV's ``run`` column (default the start time).
    prefix : str
        Logger metric names are ``{prefix}/epoch_j``, ``{prefix}/steps_j``, …
    """


if _lightning is not None and _pl is not None:

    class PLEnergyCallback(_EnergyHooks, _pl.Callback):
        """:class:`EnergyCallback` for ``pytorch_lightning.Trainer``."""
