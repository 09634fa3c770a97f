"""Passes of a model on PyTorch's ``meta`` device (shapes only: no memory, no arithmetic) where the model reads its
own values: :func:`checks_answered_on_meta`."""

from __future__ import annotations

import warnings

__all__ = ["checks_answered_on_meta"]


def checks_answered_on_meta():
    """A ``TorchDispatchMode`` under which a boolean read of a ``meta`` tensor's value (``bool(isfinite(x).all())``:
    a model checking its activations, which ``meta`` cannot answer) is answered True, the path a run with sound values
    takes. ``answered`` counts them, and leaving the mode warns when there were any. Any other value read on ``meta``
    (an ``.item()`` of a count, say) still fails. Every pass on ``meta`` (:func:`greenai.operator_times.step_operators`,
    :func:`greenai.predict.features.static_features`, :func:`greenai.macs.count_macs`) runs under it."""
    import torch  # heavy: torch
    from torch.utils._python_dispatch import TorchDispatchMode  # heavy: torch

    scalar = torch.ops.aten._local_scalar_dense

    class Answering(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.answered = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            if func.overloadpacket is scalar and args[0].device.type == "meta" and args[0].dtype == torch.bool:
                self.answered += 1
                return True
            return func(*args, **(kwargs or {}))

        def __exit__(self, *exc):
            if self.answered:
                warnings.warn(f"{self.answered} check(s) of tensor values answered True on meta: what is counted is "
                              "a run whose checks pass", stacklevel=2)
            return super().__exit__(*exc)

    return Answering()
