"""One training step on the CPU, the check every synthetic draw's models pass (imported by its tests)."""

from __future__ import annotations

import torch
from torch.nn import functional as F


def assert_trains_one_cpu_step(net: torch.nn.Module, planes: int, classes: int, size: int = 64) -> None:
    """``net`` in training mode maps 2 random ``planes x size x size`` samples to ``classes`` logits; their
    cross-entropy loss is finite and so is the gradient it gives every parameter."""
    out = net.train()(torch.randn(2, planes, size, size))
    assert out.shape == (2, classes)
    loss = F.cross_entropy(out, torch.tensor([1, 2]))
    loss.backward()
    assert torch.isfinite(loss)
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())
