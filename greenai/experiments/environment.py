"""Where runs execute and how one run is prepared: device, meter, data, model, row metadata."""

from __future__ import annotations

import datetime as _dt
import math
import socket
import sys
import time
from dataclasses import dataclass
from typing import Sequence

import torch

from greenai import metadata, nvml
from greenai import train as _train
from greenai.energy.meter import EnergyMeter
from greenai.experiments.grids import RunSpec


@dataclass
class Environment:
    """Where runs execute: device, meter, and the metadata put in every row."""

    device: torch.device
    meter: EnergyMeter | None
    gpu_name: str
    driver: str | None
    torch_version: str
    cuda_version: str | None
    idle_power_w: float = math.nan
    idle_kind: str = ""
    #: where rows are measured (the row's ``host``, ``gpu_index``, ``gpu_uuid``): NVML's index
    #: and UUID of the metered GPU (NaN and "" on a CPU)
    host: str = ""
    gpu_index: float = math.nan
    gpu_uuid: str = ""


def make_environment(device: str | torch.device | None = None, meter="default", idle_s: float = 0.0,
                     methods: Sequence[str] | str | None = None) -> Environment:
    """Pick the device, open an energy meter and (optionally) measure idle power.

    Parameters
    ----------
    device : str or torch.device, optional
        Default ``cuda`` when available, else ``cpu``.
    meter : EnergyMeter, None or "default"
        ``"default"`` opens an :class:`greenai.energy.EnergyMeter` on the GPU
        with ``methods`` (default ``("counter", "smi")``: the counter, plus the
        thesis' 1 Hz log for comparison), or ``methods="auto"`` on a CPU
        (time only, NaN energy). ``None``: no meter.
    idle_s : float
        Seconds of idle measured after opening the meter (0 skips it) [s].
    """
    device = torch.device(device) if device is not None else torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", torch.cuda.current_device())
    env_meta = metadata.environment_metadata()  # before the meter holds NVML
    if isinstance(meter, str) and meter == "default":
        if device.type == "cuda":
            meter = EnergyMeter(gpu_indices=[nvml_index(device)], methods=methods or ("counter", "smi"))
        else:
            meter = EnergyMeter(methods="auto")
    gpu_name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    env = Environment(device=device, meter=meter, gpu_name=gpu_name, driver=env_meta.get("driver"),
                      torch_version=torch.__version__, cuda_version=torch.version.cuda,
                      host=socket.gethostname(), **gpu_placement(device))
    if meter is not None and idle_s > 0:
        if device.type == "cuda":
            torch.zeros(1, device=device)  # hold a CUDA context: the idle of a training process
        m = meter.measure_idle(idle_s)
        env.idle_power_w = m.idle_power_w
        env.idle_kind = m.idle_kind
    return env


# --------------------------------------------------------------------------- preparing a run


class DataCache:
    """Dataset splits loaded once per (dataset, source, train) within a sweep."""

    def __init__(self, data_root=None):
        self.data_root = data_root
        self._splits: dict[tuple, object] = {}

    def split(self, dataset: str, source: str, train: bool, limit: int | None = None):
        from greenai import data as _data  # heavy: numpy

        key = (dataset, source, train, limit)
        if key not in self._splits:
            self._splits[key] = _data.load_dataset(dataset, train=train, root=self.data_root,
                                                   synthetic=(source == "synthetic"), limit=limit)
        return self._splits[key]

def model_macs(model_name: str, in_channels: int, num_classes: int, image_size: int) -> tuple[float, float]:
    """(MACs per image, parameters) of a model from :func:`greenai.macs.count_model` (cached there); NaN MACs
    when the counter (thop) is missing."""
    from greenai import models as _models  # heavy: torch

    try:
        from greenai.macs import count_model  # heavy: torch

        counted = count_model(model_name, in_channels, num_classes, image_size)
        return float(counted["macs"]), float(counted["params"])
    except ImportError as exc:  # thop not installed
        print(f"MACs not counted ({exc}); recording NaN", file=sys.stderr)
        net = _models.build_model(model_name, in_channels, num_classes)
        return math.nan, float(sum(p.numel() for p in net.parameters()))


def warm_up(env: Environment, specs: Sequence[RunSpec], cache: DataCache) -> dict:
    """Pay, before any timed cell, what the first cell on a device would otherwise pay; say what was done.

    1. The CUDA context of ``env.device`` (a one-element tensor, synchronised).
    2. The libraries' first kernels: a tiny convolution network (conv, ReLU,
       pooling, linear) forward and backward once per precision the specs use,
       under :func:`greenai.train.precision_mode`: this loads cuDNN and cuBLAS and
       makes their handles. ``torch.backends.cudnn.benchmark`` is left as it is
       (greenai never sets it, so no algorithm search), and the RNG state is
       restored (the cells' seeds see no difference).
    3. The dataset splits the specs need, loaded into ``cache`` (the one the
       cells then use) and copied to the device once (a throwaway copy: each cell
       copies its split itself, as in-process, and one batch transformed).
    4. The MAC count of each model (:func:`model_macs`, cached per process;
       every row records it).

    On a CPU the same steps run (no CUDA context; the kernels are torch's CPU ones).

    Returns
    -------
    dict
        ``device``, ``cuda`` (bool), ``context_s``, ``kernels_s``, ``data_s``,
        ``macs_s`` and ``seconds`` (the whole warm-up) [s], ``precisions``,
        ``datasets`` (one entry per split: ``dataset``, ``source``, ``train``,
        ``samples``, ``h2d_s`` [s], ``h2d_bytes`` [B]) and ``models``.
    """

    from greenai import data as _data  # heavy: numpy
    from torch import nn  # heavy: torch

    device = env.device
    cuda = device.type == "cuda"

    def sync():
        if cuda:
            torch.cuda.synchronize(device)

    t_all = time.perf_counter()
    record: dict = {"device": str(device), "cuda": cuda}
    t = time.perf_counter()
    if cuda:
        torch.zeros(1, device=device)
        sync()
    record["context_s"] = time.perf_counter() - t

    t = time.perf_counter()
    precisions = sorted({s.precision for s in specs}) or ["default"]
    with torch.random.fork_rng(devices=[device.index or 0] if cuda else []):
        for precision in precisions:
            with _train.precision_mode(precision, device) as autocast:
                net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                    nn.Linear(8, 10)).to(device)
                x = torch.ones(4, 3, 16, 16, device=device)
                with autocast():
                    loss = nn.functional.cross_entropy(net(x), torch.zeros(4, dtype=torch.int64, device=device))
                loss.backward()
                del net, x, loss
        sync()
    record["kernels_s"], record["precisions"] = time.perf_counter() - t, precisions

    t = time.perf_counter()
    splits: dict[tuple, int] = {}  # (dataset, source, train, limit) -> image size of the first spec needing it
    for s in specs:
        splits.setdefault((s.dataset, s.source, True, s.limit), s.image_size)
        if s.evaluate:
            splits.setdefault((s.dataset, s.source, False, s.limit), s.image_size)
    record["datasets"] = []
    for (dataset, source, train, limit), image_size in splits.items():
        split = cache.split(dataset, source, train, limit)
        batches = _data.GpuBatches(split, min(256, len(split)), device, image_size=image_size, shuffle=False)
        next(iter(batches))
        sync()
        record["datasets"].append({"dataset": dataset, "source": getattr(split, "source", source), "train": train,
                                   "samples": len(split), "h2d_s": batches.h2d_s, "h2d_bytes": batches.h2d_bytes})
        del batches
    record["data_s"] = time.perf_counter() - t

    t = time.perf_counter()
    models = sorted({(s.model, s.dataset, s.image_size) for s in specs})
    for model, dataset, image_size in models:
        ds = _data.DATASETS[dataset]
        model_macs(model, int(ds.channels), int(ds.num_classes), int(image_size))
    record["macs_s"], record["models"] = time.perf_counter() - t, sorted({m for m, _, _ in models})
    if cuda:
        torch.cuda.empty_cache()
    record["seconds"] = time.perf_counter() - t_all
    return record


@dataclass
class Prepared:
    trainer: _train.Trainer
    meta: dict
    n_train: int
    steps_per_epoch: float


def prepare(spec: RunSpec, env: Environment, cache: DataCache) -> Prepared:
    from greenai import data as _data  # heavy: numpy
    from greenai import models as _models  # heavy: torch

    train_split = cache.split(spec.dataset, spec.source, True, spec.limit)
    ds = _data.DATASETS[spec.dataset]
    in_channels, num_classes = int(ds.channels), int(ds.num_classes)
    torch.manual_seed(spec.seed * 1000 + spec.repeat)
    model = _models.build_model(spec.model, in_channels, num_classes).to(env.device)
    batches = _data.GpuBatches(train_split, spec.batch_size, env.device, image_size=spec.image_size, shuffle=True,
                               seed=spec.seed * 1000 + spec.repeat)
    test_batches = None
    if spec.evaluate:
        test_batches = _data.GpuBatches(cache.split(spec.dataset, spec.source, False, spec.limit), max(spec.batch_size, 256),
                                        env.device, image_size=spec.image_size, shuffle=False)
    trainer = _train.Trainer(model, batches, env.device, meter=env.meter, precision=spec.precision,
                             optimizer=spec.optimizer, lr=spec.lr, test_batches=test_batches)
    macs, params = model_macs(spec.model, in_channels, num_classes, spec.image_size)
    n_train = int(len(train_split.labels))
    data_source = getattr(train_split, "source", spec.source)
    if data_source != spec.source:
        raise RuntimeError(f"{spec.describe()}: asked for {spec.source} data, the loader returned {data_source}")
    meta = {
        "experiment": spec.experiment, "gpu_name": env.gpu_name, "model": spec.model, "dataset": spec.dataset,
        "data_source": data_source, "precision": spec.precision, "batch_size": spec.batch_size,
        "repeat": spec.repeat, "driver": env.driver, "torch_version": env.torch_version,
        "cuda_version": env.cuda_version, "device": str(env.device), "image_size": spec.image_size,
        "in_channels": in_channels, "num_classes": num_classes, "n_train": n_train, "optimizer": spec.optimizer,
        "lr": spec.lr, "macs": macs, "params": params,
        "branch_count": _models.model_info(spec.model)["branch_count"], "warmup_steps": spec.warmup_steps,
        "idle_power_w": env.idle_power_w, "idle_kind": env.idle_kind,
        "host": env.host, "gpu_index": env.gpu_index, "gpu_uuid": env.gpu_uuid,
    }
    return Prepared(trainer=trainer, meta=meta, n_train=n_train, steps_per_epoch=n_train / spec.batch_size)


def spec_meta_key(spec: RunSpec, env: Environment) -> dict:
    """The key fields known before any data is loaded (data_source = spec.source)."""
    return {"experiment": spec.experiment, "gpu_name": env.gpu_name, "model": spec.model, "dataset": spec.dataset,
            "data_source": spec.source, "precision": spec.precision, "batch_size": spec.batch_size,
            "repeat": spec.repeat}


def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def free(prepared: Prepared | None, device: torch.device) -> None:
    if prepared is not None:
        del prepared.trainer
    if device.type == "cuda":
        torch.cuda.empty_cache()


def gpu_placement(device: torch.device) -> dict:
    """``gpu_index`` (NVML's) and ``gpu_uuid`` (``GPU-…``) of ``device``; NaN and "" on a CPU or without NVML."""
    if device.type != "cuda":
        return {"gpu_index": math.nan, "gpu_uuid": ""}
    bare = str(torch.cuda.get_device_properties(device).uuid)
    uuid = bare if bare.upper().startswith("GPU-") else f"GPU-{bare}"
    try:
        return {"gpu_index": nvml_index(device), "gpu_uuid": uuid}
    except Exception as exc:  # noqa: BLE001 - NVML missing: the UUID still says which GPU
        print(f"NVML index of {device} unknown ({exc}); recording NaN", file=sys.stderr)
        return {"gpu_index": math.nan, "gpu_uuid": uuid}


def nvml_index(device: torch.device) -> int:
    """NVML's index of the GPU that torch calls ``device``.

    They differ when ``CUDA_VISIBLE_DEVICES`` hides or reorders GPUs (one process per GPU):
    matched by UUID, so the meter reads the GPU that does the work.
    """
    uuid = str(torch.cuda.get_device_properties(device).uuid)
    nvml.init()
    try:
        return nvml.index_of_uuid(uuid)
    finally:
        nvml.shutdown()
