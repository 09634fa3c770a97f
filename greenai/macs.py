"""Multiply-accumulate operations (MACs) and parameters per model (thesis 3.2.4).

Three counts of the same forward pass, all per sample (one image):

``macs`` (primary)
    thop (``ultralytics-thop``): convolutions and linear layers without their
    bias adds, plus batch norm and average pooling.
``macs_flop_counter`` (cross-check)
    :class:`torch.utils.flop_counter.FlopCounterMode`: convolutions and matrix
    products only (its FLOPs / 2); it differs from thop exactly by batch norm
    and average pooling.
``macs_ptflops_convention``
    The convention of ptflops' module hooks, which the thesis used: thop's
    counts plus bias adds, activations, pooling inputs and batch norm.

:func:`count_macs` counts any model (:class:`MacCount`); :func:`count_model` a
registered one, built on PyTorch's ``meta`` device (no memory, no arithmetic).
:data:`THESIS_MACS` holds the thesis' four counts [MACs]. What each convention
counts: ``docs/models.md`` ("Counting MACs"); how close the counts come to the
thesis': ``results/claims.md`` (``macs_*``).
"""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils.flop_counter import FlopCounterMode

from greenai.models import DEFAULT_IMAGE_SIZE, MODEL_NAMES, build_model, model_info
from greenai.models.on_meta import checks_answered_on_meta

__all__ = [
    "MacCount",
    "count_macs",
    "count_model",
    "conv_mac_shares",
    "model_table",
    "thesis_comparison",
    "THESIS_MACS",
]

#: MACs per sample the thesis reports (4.1.2), key (model, dataset) -> MACs.
#: A reference for tests and claims; never used to compute anything.
THESIS_MACS: dict[tuple[str, str], float] = {
    ("alexnet", "fashion_mnist"): 665.53e6,
    ("alexnet", "cifar100"): 712.39e6,
    ("vgg11", "fashion_mnist"): 7.58e9,
    ("vgg11", "cifar100"): 7.64e9,
}


@dataclass(frozen=True)
class MacCount:
    """Operation counts of one forward pass, per sample.

    Attributes
    ----------
    macs : int
        thop's count [MAC].
    params : int
        Trainable and frozen parameters [count].
    macs_flop_counter : int
        ``FlopCounterMode`` FLOPs / 2 (convolutions and matrix products) [MAC].
    macs_ptflops_convention : int
        ptflops' module-hook convention (thop + bias, activations, pooling) [MAC].
    input_shape : tuple of int
        ``(C, H, W)`` of one sample.
    """

    macs: int
    params: int
    macs_flop_counter: int
    macs_ptflops_convention: int
    input_shape: tuple[int, ...]

    def as_dict(self) -> dict:
        return asdict(self)


def count_macs(model: nn.Module, input_shape: tuple[int, ...] = (1, DEFAULT_IMAGE_SIZE, DEFAULT_IMAGE_SIZE)) -> MacCount:
    """Count MACs and parameters of ``model`` for one sample of ``input_shape``.

    Parameters
    ----------
    model : torch.nn.Module
        Any model; it is run once in eval mode (its mode is restored). A model
        on the ``meta`` device is counted without memory or arithmetic.
    input_shape : tuple of int
        ``(C, H, W)`` of one sample (no batch dimension).

    Returns
    -------
    MacCount
    """
    import thop  # heavy: thop

    input_shape = tuple(int(d) for d in input_shape)
    if len(input_shape) != 3 or min(input_shape) < 1:
        raise ValueError(f"input_shape must be (C, H, W) with positive sizes, got {input_shape}")
    try:
        device = next(model.parameters()).device
    except StopIteration:
        device = torch.device("cpu")
    x = torch.zeros((1, *input_shape), device=device) if device.type != "meta" else torch.empty(
        (1, *input_shape), device="meta"
    )
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), checks_answered_on_meta():
            conv_rules = {type(m): _count_conv_or_its_forward for m in model.modules()
                          if isinstance(m, nn.modules.conv._ConvNd)}
            thop_macs, _ = thop.profile(model, inputs=(x,), custom_ops=conv_rules, verbose=False)
            with FlopCounterMode(display=False) as counter:
                model(x)
            ptflops_macs = _ptflops_convention(model, x)
    finally:
        model.train(was_training)
    return MacCount(
        macs=int(round(float(thop_macs))),
        params=sum(p.numel() for p in model.parameters()),
        macs_flop_counter=int(counter.get_total_flops()) // 2,
        macs_ptflops_convention=ptflops_macs,
        input_shape=input_shape,
    )


def _forward_macs(module: nn.Module, inputs: tuple) -> int:
    """MACs of the products ``module``'s own forward runs on ``inputs`` (FlopCounterMode's FLOPs / 2), its hooks
    not run again."""
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        type(module).forward(module, *inputs)
    return int(counter.get_total_flops()) // 2


def _count_conv_or_its_forward(module: nn.modules.conv._ConvNd, inputs: tuple, output) -> None:
    """thop's rule for a convolution layer; one that returns several tensors (an octave convolution's high- and
    low-frequency maps, each from a slice of its weight) is counted by the products its forward runs instead."""
    from thop.vision.basic_hooks import count_convNd, count_convtNd  # heavy: thop

    if isinstance(output, torch.Tensor):
        transposed = isinstance(module, nn.modules.conv._ConvTransposeNd)
        (count_convtNd if transposed else count_convNd)(module, inputs, output)
    else:
        module.total_ops += _forward_macs(module, inputs)


_RELU_LIKE = (nn.ReLU, nn.ReLU6, nn.PReLU, nn.ELU, nn.LeakyReLU, nn.GELU)
_POOLS = (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d,
          nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d,
          nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d)  # fmt: skip
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.GroupNorm, nn.LayerNorm)
#: torch.nn.functional calls ptflops (0.7.x, pytorch backend) patches and counts
#: by the number of input elements (F.linear is not patched in those versions).
_PTFLOPS_FUNCTIONALS = frozenset(
    ["relu", "prelu", "elu", "relu6", "gelu", "silu", "softmax"]
    + [f"{kind}_pool{d}d" for kind in ("avg", "max", "adaptive_avg", "adaptive_max") for d in (1, 2, 3)]
)


class _FunctionalCounter(TorchFunctionMode):
    """Counts ptflops' patched ``torch.nn.functional`` calls (input elements)."""

    def __init__(self) -> None:
        super().__init__()
        self.ops = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "").lstrip("_")
        if getattr(func, "__module__", "") == "torch.nn.functional" and name in _PTFLOPS_FUNCTIONALS and args:
            self.ops += int(args[0].numel())
        return func(*args, **(kwargs or {}))


def _ptflops_convention(model: nn.Module, x: torch.Tensor) -> int:
    """MACs of one sample under ptflops' convention (pytorch backend, 0.7.x).

    Module hooks as in ``ptflops/pytorch_ops.py``: convolution and linear
    layers with their bias adds, ReLU-family outputs, pooling inputs, 2 per
    affine batch-norm element. On top, ptflops patches ``F.relu``, the pooling
    functionals and ``F.softmax`` and counts their input elements; since
    ``nn.ReLU`` and ``nn.MaxPool2d`` call those functionals, activations and
    pooling are counted twice, which is what the thesis' numbers contain.
    """
    total = [0]

    def hook(module, inputs, kwargs, output):
        # a leaf called with keywords only (``self.embed(pixel_values=x)``) gets its first tensor keyword as input
        inp = inputs[0] if inputs else next((v for v in kwargs.values() if isinstance(v, torch.Tensor)), None)
        if inp is None:  # no tensor in: nothing this convention counts
            return
        if isinstance(module, nn.modules.conv._ConvNd) and not isinstance(output, torch.Tensor):
            ops = _forward_macs(module, inputs)  # several outputs (an octave convolution): the products it runs
        elif isinstance(module, nn.modules.conv._ConvNd):
            per_position = module.in_channels // module.groups * math.prod(module.kernel_size)
            ops = output.numel() * per_position + (output.numel() if module.bias is not None else 0)
        elif isinstance(module, nn.Linear):
            ops = inp.numel() * module.out_features + (module.out_features if module.bias is not None else 0)
        elif isinstance(module, _RELU_LIKE):
            ops = output.numel()
        elif isinstance(module, _POOLS):
            ops = inp.numel()
        elif isinstance(module, _NORMS):
            affine = getattr(module, "affine", False) or getattr(module, "elementwise_affine", False)
            ops = inp.numel() * (2 if affine else 1)
        else:
            ops = 0
        total[0] += int(ops)

    handles = [m.register_forward_hook(hook, with_kwargs=True) for m in model.modules() if len(list(m.children())) == 0]
    functional = _FunctionalCounter()
    try:
        with functional:
            model(x)
    finally:
        for h in handles:
            h.remove()
    return (total[0] + functional.ops) // x.shape[0]


def weight_layers(model: nn.Module) -> int:
    """Number of convolution and linear layers (a depth measure) [count]."""
    return sum(isinstance(m, (nn.modules.conv._ConvNd, nn.Linear)) for m in model.modules())


def conv_mac_shares(model: nn.Module | str, input_shape: tuple[int, ...] = (1, DEFAULT_IMAGE_SIZE, DEFAULT_IMAGE_SIZE)
                    ) -> dict[str, float]:
    """How a model's 2-D convolution MACs split by kernel shape, over one forward pass of one sample.

    Each :class:`torch.nn.Conv2d` does ``output elements x in_channels / groups x kh x kw`` MACs. Returns the
    fractions [0-1] of those MACs in dilated convolutions (``dilated``: a dilation above 1 on either axis) and in
    non-square kernels (``non_square``: ``kh != kw``, the 3x1 / 1x3 factorised convolutions), and ``conv_macs``,
    their total [MACs per sample]. The model runs on whatever device its parameters are (``meta`` works); a
    registered model's name builds it on ``meta`` for ``input_shape``'s planes and 10 classes.
    """
    if isinstance(model, str):
        with torch.device("meta"):
            model = build_model(model, in_channels=input_shape[0], num_classes=10)
    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    macs = {"all": 0, "dilated": 0, "non_square": 0}

    def hook(module: nn.Conv2d, inputs, output) -> None:
        kh, kw = module.kernel_size
        if isinstance(output, torch.Tensor):
            n = output.numel() // output.shape[0] * (module.in_channels // module.groups) * kh * kw
        else:  # several maps (an octave convolution): the products its forward runs, for the one sample
            n = _forward_macs(module, inputs)
        macs["all"] += n
        macs["dilated"] += n if max(module.dilation) > 1 else 0
        macs["non_square"] += n if kh != kw else 0

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.Conv2d)]
    was_training = model.training
    try:
        with torch.no_grad():
            model.eval()(torch.zeros((1, *input_shape), device=device))
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    total = macs["all"]
    return {"dilated": macs["dilated"] / total if total else 0.0,
            "non_square": macs["non_square"] / total if total else 0.0, "conv_macs": float(total)}


def count_model(
    name: str, in_channels: int = 1, num_classes: int = 10, image_size: int = DEFAULT_IMAGE_SIZE
) -> dict:
    """Counts for a registered model, built on the ``meta`` device.

    Returns
    -------
    dict
        ``model``, ``in_channels``, ``num_classes``, ``image_size``, the fields
        of :class:`MacCount` (except ``input_shape``), ``weight_layers`` and the
        fields of :func:`greenai.models.model_info`. Results are cached per
        process (a model's counts depend only on these arguments).
    """
    return dict(_count_model(model_info(name)["name"], int(in_channels), int(num_classes), int(image_size)))


@functools.lru_cache(maxsize=None)
def _count_model(name: str, in_channels: int, num_classes: int, image_size: int) -> tuple:
    with torch.device("meta"):
        model = build_model(name, in_channels=in_channels, num_classes=num_classes)
    count = count_macs(model, (in_channels, image_size, image_size))
    info = model_info(name)
    row = {"model": info["name"], "display_name": info["display_name"], "family": info["family"]}
    row.update(in_channels=in_channels, num_classes=num_classes, image_size=image_size)
    row.update({k: v for k, v in count.as_dict().items() if k != "input_shape"})
    row.update(branch_count=info["branch_count"], weight_layers=weight_layers(model), block=info["block"])
    row["description"] = info["description"]
    return tuple(row.items())


def model_table(datasets=None, models=None, image_size: int = DEFAULT_IMAGE_SIZE, head: str = "dataset"):
    """MACs, parameters, branch count and depth of models x datasets.

    Parameters
    ----------
    datasets : iterable of str, optional
        Keys of :data:`greenai.data.DATASETS` (default all three).
    models : iterable of str, optional
        Model names (default all of :data:`greenai.models.MODEL_NAMES`).
    image_size : int
        Input height and width [px] (224 in the thesis).
    head : {"dataset", "ten"}
        Output classes: the dataset's class count, or 10 for every dataset
        (what the thesis' CIFAR-100 MAC figures imply).

    Returns
    -------
    pandas.DataFrame
        One row per (model, dataset), columns of :func:`count_model` plus
        ``dataset``; MACs and params are per sample.

    Raises
    ------
    ValueError
        ``image_size`` is too small for a model (its feature maps shrink to nothing).
    """
    import pandas as pd  # heavy: pandas

    from greenai.data import DATASETS, dataset_spec  # heavy: numpy

    if head not in ("dataset", "ten"):
        raise ValueError(f"head must be 'dataset' or 'ten', got {head!r}")
    specs = [dataset_spec(d) for d in (datasets or DATASETS)]
    names = list(models or MODEL_NAMES)
    rows = []
    for name in names:
        for spec in specs:
            classes = spec.num_classes if head == "dataset" else 10
            try:
                row = count_model(name, spec.channels, classes, image_size)
            except RuntimeError as exc:  # a shape error on the meta device: the input is too small for the model
                raise ValueError(f"{name} cannot take {image_size}x{image_size} px inputs "
                                 f"({str(exc).splitlines()[0]})") from exc
            rows.append({"dataset": spec.name, **row})
    return pd.DataFrame(rows)


def thesis_comparison(image_size: int = DEFAULT_IMAGE_SIZE):
    """Our counts beside the thesis' four MAC figures (thesis 4.1.2).

    Each row is counted with a 10-class head (what the thesis' CIFAR-100
    figure implies) and, for CIFAR-100, also with the dataset's own 100-class
    head (``macs_ptflops_100_class_head``).

    Returns
    -------
    pandas.DataFrame
        ``model``, ``dataset``, ``thesis_macs``, the three counts, their
        relative differences to the thesis (``rel_diff_*``), and
        ``macs_ptflops_100_class_head`` (NaN where not CIFAR-100).
    """
    import pandas as pd  # heavy: pandas

    from greenai.data import dataset_spec  # heavy: numpy

    rows = []
    for (model, dataset), thesis in THESIS_MACS.items():
        spec = dataset_spec(dataset)
        row = count_model(model, spec.channels, 10, image_size)
        out = {"model": model, "dataset": dataset, "thesis_macs": thesis}
        for col in ("macs", "macs_flop_counter", "macs_ptflops_convention"):
            out[col] = row[col]
            out[f"rel_diff_{col}"] = row[col] / thesis - 1
        own_head = count_model(model, spec.channels, spec.num_classes, image_size)
        out["macs_ptflops_100_class_head"] = (
            own_head["macs_ptflops_convention"] if spec.num_classes != 10 else float("nan")
        )
        rows.append(out)
    return pd.DataFrame(rows)

