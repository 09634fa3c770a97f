"""Any torchvision classification model, adapted to a dataset's channels and classes.

The 20 zoo models of :mod:`greenai.models` are built from this project's own
layouts; every other name of
``torchvision.models.list_models(module=torchvision.models)`` (DenseNet,
EfficientNet, RegNet, ShuffleNet, SqueezeNet, MnasNet, ConvNeXt, ResNeXt,
Wide ResNet, MobileNetV3, ViT, Swin, MaxViT, Inception v3, and the deeper
ResNets and VGGs) is built here with random weights (``weights=None``):

- the head: the builder's own ``num_classes`` argument;
- the input planes: the model's first :class:`torch.nn.Conv2d` (its stem, in
  module order) is replaced by one with ``in_channels`` input planes and the
  same output planes, kernel, stride, padding, dilation and bias;
- auxiliary heads (Inception v3) are switched off, so training returns logits.

ViT, Swin and MaxViT expect 224x224 inputs; the convolutional models accept
any size from about 64x64 up (32x32 for most).
"""

from __future__ import annotations

import functools
import re

from torch import nn

__all__ = ["torchvision_names", "is_torchvision_model", "build_torchvision_model", "torchvision_family",
           "replace_first_conv"]


@functools.lru_cache(maxsize=1)
def torchvision_names() -> tuple[str, ...]:
    """Names of torchvision's image classification models (installed version)."""
    import torchvision  # heavy: torchvision

    return tuple(sorted(torchvision.models.list_models(module=torchvision.models)))


def is_torchvision_model(name: str) -> bool:
    """Whether ``name`` is one of :func:`torchvision_names`."""
    return str(name) in torchvision_names()


_FAMILY = re.compile(r"^(wide_resnet|resnext|[a-z]+(?:_v\d)?)")


def torchvision_family(name: str) -> str:
    """The architecture family of a torchvision model name.

    ``densenet121`` -> ``densenet``, ``efficientnet_b0`` -> ``efficientnet``,
    ``efficientnet_v2_s`` -> ``efficientnet_v2``, ``mobilenet_v3_large`` ->
    ``mobilenet_v3``, ``regnet_y_800mf`` -> ``regnet``, ``vit_b_16`` -> ``vit``,
    ``resnext50_32x4d`` -> ``resnext``, ``wide_resnet50_2`` -> ``wide_resnet``,
    ``vgg11_bn`` -> ``vgg``.
    """
    match = _FAMILY.match(str(name))
    return match.group(1) if match else str(name)


def replace_first_conv(model: nn.Module, in_channels: int) -> None:
    """Rebuild ``model``'s first :class:`torch.nn.Conv2d` (in module order) for ``in_channels`` input planes: the same
    output planes, kernel, stride, padding, dilation and bias, on the same device; nothing when it has those planes.

    Raises
    ------
    ValueError
        If that convolution is grouped, or the model has no Conv2d.
    """
    for parent_name, parent in model.named_modules():
        for child_name, child in parent.named_children():
            if isinstance(child, nn.Conv2d):
                if child.in_channels == in_channels:
                    return
                if child.groups != 1:
                    raise ValueError(f"the first convolution ({parent_name}.{child_name}) is grouped; "
                                     "cannot adapt its input planes")
                new = nn.Conv2d(in_channels, child.out_channels, child.kernel_size, stride=child.stride,
                                padding=child.padding, dilation=child.dilation, bias=child.bias is not None,
                                padding_mode=child.padding_mode, device=child.weight.device,
                                dtype=child.weight.dtype)
                setattr(parent, child_name, new)
                return
    raise ValueError("the model has no Conv2d whose input planes could be adapted")


def build_torchvision_model(name: str, in_channels: int = 3, num_classes: int = 1000) -> nn.Module:
    """Build torchvision's ``name`` with random weights for ``in_channels`` planes and ``num_classes`` outputs.

    Raises
    ------
    KeyError
        If ``name`` is not a torchvision classification model (callers turn this
        into :class:`greenai.models.UnknownModelError`).
    """
    import torchvision  # heavy: torchvision

    if not is_torchvision_model(name):
        raise KeyError(name)
    kwargs: dict = {"weights": None, "num_classes": int(num_classes)}
    if name in ("inception_v3", "googlenet"):
        kwargs.update(aux_logits=False, init_weights=True)
    try:
        model = torchvision.models.get_model(name, **kwargs)
    except NotImplementedError:
        # under ``with torch.device("meta")``: RegNet's builder computes its widths with tensors
        # and reads them back; build on the CPU and move the parameters to the meta device
        import torch

        if torch.empty(0).device.type != "meta":
            raise
        with torch.device("cpu"):
            model = torchvision.models.get_model(name, **kwargs)
        model = model.to("meta")
    replace_first_conv(model, int(in_channels))
    return model
