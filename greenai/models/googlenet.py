"""GoogLeNet and the modified-Inception variants of thesis 4.1.5 (Fig. 4.8).

The base network is torchvision's GoogLeNet layout (Szegedy et al. 2015,
without the auxiliary classifiers, ``transform_input=False``), with the first
convolution rebuilt for ``in_channels``. Note that torchvision's "5x5" branch
uses a 3x3 kernel (pytorch/vision#906); the base model keeps that layout.

The thesis names three of its variants (``mod1`` with one branch, ``mod8`` and
``mod12`` with four; the latter two have slightly fewer MACs than ``mod1``
yet cost more energy) but does not print their layouts (Fig. 4.8 is an image).
The ten variants below are therefore our design, chosen to reproduce what the
thesis says about them: each replaces every Inception block by a block with
1 to 4 branches and scaled inner (reduction) widths, and every block keeps the
original block's output width, so the network around the blocks is unchanged.
Several variants have similar MACs and different branch counts: ``mod1``
(1 branch), ``mod6`` (3), ``mod8`` and ``mod12`` (4), the 4-branch ones below
``mod1``, as in the thesis (their counts: ``results/tables/models.csv``). The names
are ``mod1`` to ``mod9`` and ``mod12`` (the thesis' numbering reaches 12 but
the count of variants is ten; ``mod10`` and ``mod11`` are not defined).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import torch
from torch import nn
from torchvision.models.googlenet import BasicConv2d, GoogLeNet, InceptionAux

#: Branch kinds of a modified Inception block.
BRANCH_KINDS = ("1x1", "3x3", "5x5", "pool")


@dataclass(frozen=True)
class InceptionVariant:
    """Layout of a modified Inception block.

    Attributes
    ----------
    branches : tuple of str
        Branches kept, from ``BRANCH_KINDS``: ``"1x1"`` (1x1 conv), ``"3x3"``
        (1x1 reduction then 3x3), ``"5x5"`` (1x1 reduction then a true 5x5),
        ``"pool"`` (3x3 max-pool then 1x1 projection).
    reduce_scale : float
        Multiplier on the reduction widths of the ``3x3`` and ``5x5`` branches
        (``ch3x3red``, ``ch5x5red`` of the original block).
    description : str
        One line for tables and figures.
    """

    branches: tuple[str, ...]
    reduce_scale: float = 1.0
    description: str = ""

    def __post_init__(self) -> None:
        unknown = [b for b in self.branches if b not in BRANCH_KINDS]
        if unknown or not self.branches:
            raise ValueError(f"branches must be a non-empty subset of {BRANCH_KINDS}, got {self.branches}")
        if self.reduce_scale <= 0:
            raise ValueError(f"reduce_scale must be > 0, got {self.reduce_scale}")


#: The ten modified-Inception variants (names follow the thesis' numbering).
VARIANTS: dict[str, InceptionVariant] = {
    "googlenet_mod1": InceptionVariant(("3x3",), 1.0, "1 branch: 1x1 reduce -> 3x3"),
    "googlenet_mod2": InceptionVariant(("1x1",), 1.0, "1 branch: 1x1 only"),
    "googlenet_mod3": InceptionVariant(("1x1", "3x3"), 1.0, "2 branches: 1x1 | 3x3"),
    "googlenet_mod4": InceptionVariant(("3x3", "5x5"), 1.0, "2 branches: 3x3 | 5x5"),
    "googlenet_mod5": InceptionVariant(("1x1", "3x3", "pool"), 1.0, "3 branches: 1x1 | 3x3 | pool"),
    "googlenet_mod6": InceptionVariant(("3x3", "5x5", "pool"), 1.2, "3 branches: 3x3 | 5x5 | pool, reductions x1.2"),
    "googlenet_mod7": InceptionVariant(("1x1", "3x3", "5x5", "pool"), 0.5, "4 branches, reductions x0.5"),
    "googlenet_mod8": InceptionVariant(("1x1", "3x3", "5x5", "pool"), 1.4, "4 branches, reductions x1.4"),
    "googlenet_mod9": InceptionVariant(("1x1", "3x3", "5x5", "pool"), 2.0, "4 branches, reductions x2"),
    "googlenet_mod12": InceptionVariant(("1x1", "3x3", "5x5", "pool"), 1.45, "4 branches, reductions x1.45"),
}


class ModifiedInception(nn.Module):
    """Inception block with a configurable set of branches.

    Takes torchvision's ``Inception`` arguments; the output width is always
    ``ch1x1 + ch3x3 + ch5x5 + pool_proj`` (that of the original block), split
    among the kept branches in proportion to their original widths.
    """

    def __init__(
        self,
        in_channels: int,
        ch1x1: int,
        ch3x3red: int,
        ch3x3: int,
        ch5x5red: int,
        ch5x5: int,
        pool_proj: int,
        *,
        variant: InceptionVariant,
    ) -> None:
        super().__init__()
        original = {"1x1": ch1x1, "3x3": ch3x3, "5x5": ch5x5, "pool": pool_proj}
        total_out = sum(original.values())
        kept = sum(original[b] for b in variant.branches)
        widths = [round(total_out * original[b] / kept) for b in variant.branches]
        widths[-1] = total_out - sum(widths[:-1])
        red3 = max(1, round(ch3x3red * variant.reduce_scale))
        red5 = max(1, round(ch5x5red * variant.reduce_scale))
        branches = []
        for kind, out in zip(variant.branches, widths):
            if kind == "1x1":
                branches.append(BasicConv2d(in_channels, out, kernel_size=1))
            elif kind == "3x3":
                branches.append(
                    nn.Sequential(
                        BasicConv2d(in_channels, red3, kernel_size=1),
                        BasicConv2d(red3, out, kernel_size=3, padding=1),
                    )
                )
            elif kind == "5x5":
                branches.append(
                    nn.Sequential(
                        BasicConv2d(in_channels, red5, kernel_size=1),
                        BasicConv2d(red5, out, kernel_size=5, padding=2),
                    )
                )
            else:  # pool
                branches.append(
                    nn.Sequential(
                        nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
                        BasicConv2d(in_channels, out, kernel_size=1),
                    )
                )
        self.branches = nn.ModuleList(branches)
        self.out_channels = total_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if len(self.branches) == 1:
            return self.branches[0](x)
        return torch.cat([branch(x) for branch in self.branches], dim=1)


def _googlenet(in_channels: int, num_classes: int, inception_block) -> nn.Module:
    model = GoogLeNet(
        num_classes=num_classes,
        aux_logits=False,
        transform_input=False,
        init_weights=True,
        blocks=[BasicConv2d, inception_block, InceptionAux],
    )
    model.conv1 = BasicConv2d(in_channels, 64, kernel_size=7, stride=2, padding=3)
    return model


def googlenet(in_channels: int = 1, num_classes: int = 10) -> nn.Module:
    """torchvision's GoogLeNet layout (4-branch Inception blocks, no aux heads)."""
    from torchvision.models.googlenet import Inception  # heavy: torchvision

    return _googlenet(in_channels, num_classes, Inception)


def googlenet_variant(name: str, in_channels: int = 1, num_classes: int = 10) -> nn.Module:
    """GoogLeNet with every Inception block replaced by ``VARIANTS[name]``."""
    variant = VARIANTS[name]
    return _googlenet(in_channels, num_classes, partial(ModifiedInception, variant=variant))
