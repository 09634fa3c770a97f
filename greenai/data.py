"""Datasets of the thesis (Fashion-MNIST, CIFAR-10, CIFAR-100) and a GPU-resident
batch pipeline.

Loading goes through torchvision's dataset classes from a root folder (default
:func:`greenai.paths.data_dir`, i.e. ``$GREENAI_DATA_DIR`` or ``<repo>/data``),
downloading only when asked. A synthetic stand-in of identical shape, count and
class count serves energy-only runs and tests; every split says which source it
came from (``split.source``), and accuracy must never be reported from
synthetic data.

:class:`GpuBatches` keeps a whole split on the device as ``uint8`` (the
host-to-device copy is timed on its own, the thesis' "time to device"),
shuffles once per epoch from ``(seed, epoch)``, and turns each batch into
normalised ``float32`` images resized to the model's input size on the device
(bilinear). A CPU ``DataLoader`` resizing 60,000 images to 224x224 would
dominate an epoch; this keeps the GPU fed (see ``benchmarks/data_pipeline.py``).
"""

from __future__ import annotations

import gzip
import os
import math
import pickle
import shutil
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from greenai import paths

__all__ = [
    "DATASETS",
    "DatasetSpec",
    "Split",
    "GpuBatches",
    "load_dataset",
    "synthetic_split",
    "missing_files",
    "DatasetNotFoundError",
    "UnknownDatasetError",
]


class DatasetNotFoundError(FileNotFoundError):
    """The dataset's files are not under the root and downloading was not asked for."""


class UnknownDatasetError(ValueError):
    """Raised for a dataset name not in :data:`DATASETS`."""


@dataclass(frozen=True)
class DatasetSpec:
    """Shape and statistics of one dataset.

    Attributes
    ----------
    name : str
        Registry key (``fashion_mnist``, ``cifar10``, ``cifar100``).
    display_name : str
        Name for tables and figures.
    channels : int
        Image planes (1 grey, 3 RGB).
    num_classes : int
        Number of labels.
    image_hw : tuple of int
        Native height and width [px].
    n_train, n_test : int
        Samples in the training and test splits.
    mean, std : tuple of float
        Per-channel mean and standard deviation of the training pixels on the
        [0, 1] scale, used for normalisation.
    folder : str
        Sub-folder of the root that torchvision reads.
    """

    name: str
    display_name: str
    channels: int
    num_classes: int
    image_hw: tuple[int, int]
    n_train: int
    n_test: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    folder: str

    def n_samples(self, train: bool) -> int:
        """Samples in the training (``train=True``) or test split."""
        return self.n_train if train else self.n_test


#: The three datasets of the thesis. Statistics: Fashion-MNIST and CIFAR-10
#: measured on the real training splits (the originals torchvision downloads),
#: CIFAR-100 the commonly published values.
DATASETS: dict[str, DatasetSpec] = {
    "fashion_mnist": DatasetSpec(
        "fashion_mnist", "Fashion-MNIST", 1, 10, (28, 28), 60_000, 10_000, (0.2860,), (0.3530,), "FashionMNIST"
    ),
    "cifar10": DatasetSpec(
        "cifar10", "CIFAR-10", 3, 10, (32, 32), 50_000, 10_000,
        (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616), "cifar-10-batches-py",
    ),  # fmt: skip
    "cifar100": DatasetSpec(
        "cifar100", "CIFAR-100", 3, 100, (32, 32), 50_000, 10_000,
        (0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762), "cifar-100-python",
    ),  # fmt: skip
}

_ALIASES = {"fashionmnist": "fashion_mnist", "fmnist": "fashion_mnist", "cifar_10": "cifar10", "cifar_100": "cifar100"}

#: Fashion-MNIST's four files as torchvision reads them (extracted).
_FMNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def dataset_spec(name: str) -> DatasetSpec:
    """The :class:`DatasetSpec` for ``name`` (case and ``-``/``_`` insensitive)."""
    key = str(name).strip().lower().replace("-", "_")
    key = _ALIASES.get(key, key)
    if key not in DATASETS:
        raise UnknownDatasetError(f"unknown dataset {name!r}; valid names are: {', '.join(DATASETS)}")
    return DATASETS[key]


@dataclass
class Split:
    """One split of a dataset held in host memory.

    Attributes
    ----------
    name : str
        Dataset key (see :data:`DATASETS`).
    train : bool
        Training split (True) or test split.
    images : torch.Tensor
        ``uint8 [N, C, H, W]`` on the CPU.
    labels : torch.Tensor
        ``int64 [N]`` on the CPU.
    source : str
        ``"real"`` or ``"synthetic"``.
    root : pathlib.Path or None
        Folder the real files were read from (None for synthetic data).
    """

    name: str
    train: bool
    images: torch.Tensor
    labels: torch.Tensor
    source: str
    root: Path | None = None
    spec: DatasetSpec = field(init=False)

    def __post_init__(self) -> None:
        self.spec = dataset_spec(self.name)
        if self.images.dtype != torch.uint8 or self.images.ndim != 4:
            raise ValueError(f"images must be uint8 [N, C, H, W], got {self.images.dtype} {tuple(self.images.shape)}")
        if self.labels.dtype != torch.int64 or self.labels.shape != (self.images.shape[0],):
            raise ValueError(f"labels must be int64 [N] matching images, got {self.labels.dtype} {tuple(self.labels.shape)}")
        if self.source not in ("real", "synthetic"):
            raise ValueError(f"source must be 'real' or 'synthetic', got {self.source!r}")

    def __len__(self) -> int:
        return int(self.images.shape[0])


def load_dataset(
    name: str,
    train: bool = True,
    root: str | Path | None = None,
    synthetic: bool = False,
    download: bool = False,
    *,
    limit: int | None = None,
) -> Split:
    """Load a split as ``uint8`` images and ``int64`` labels on the CPU.

    Parameters
    ----------
    name : str
        ``fashion_mnist``, ``cifar10`` or ``cifar100``.
    train : bool
        Training split (True) or test split (False).
    root : str or Path, optional
        Folder in torchvision's layout (``FashionMNIST/raw/``,
        ``cifar-10-batches-py/``, ``cifar-100-python/``). Default
        :func:`greenai.paths.data_dir` (``$GREENAI_DATA_DIR`` or ``<repo>/data``).
        A root holding Fashion-MNIST only as ``.gz`` files (possibly read-only)
        is fine: the files are extracted into the writable cache
        :func:`greenai.paths.data_dir` and read from there.
    synthetic : bool
        Return the synthetic stand-in (see :func:`synthetic_split`) instead.
    download : bool
        Let torchvision download missing files into ``root`` (needs internet).
    limit : int, optional
        Keep only the first ``limit`` samples (tests, quick runs, and CIFAR-10
        runs on part of its training set: then only the training batches those
        samples lie in are read, and need to exist).

    Returns
    -------
    Split

    Raises
    ------
    DatasetNotFoundError
        Files missing and ``download=False``; the message says where they go.
    UnknownDatasetError
        Unknown ``name``.
    """
    spec = dataset_spec(name)
    if synthetic:
        return synthetic_split(spec.name, train=train, limit=limit)
    root = Path(root).expanduser() if root is not None else paths.data_dir()
    import torchvision.datasets as tvd  # heavy: torchvision

    if spec.name == "fashion_mnist":
        read_root = _fashion_mnist_root(root, download)
        ds = tvd.FashionMNIST(str(read_root), train=train, download=download)
        images = ds.data.unsqueeze(1).contiguous()
        labels = torch.as_tensor(ds.targets, dtype=torch.int64)
    elif spec.name == "cifar10" and limit is not None and _cifar10_batches_needed(train, limit) is not None:
        # the first ``limit`` training samples lie in the first batches: read only those, so that a copy
        # holding only them serves a limited run (torchvision's reader insists on all five)
        read_root = root
        images, labels = _read_cifar10_batches(root / spec.folder, _cifar10_batches_needed(train, limit))
    else:
        cls = tvd.CIFAR10 if spec.name == "cifar10" else tvd.CIFAR100
        read_root = root
        try:
            ds = cls(str(root), train=train, download=download)
        except RuntimeError as exc:  # torchvision: "Dataset not found or corrupted."
            raise DatasetNotFoundError(_missing_message(spec, root)) from exc
        images = torch.from_numpy(np.ascontiguousarray(ds.data.transpose(0, 3, 1, 2)))
        labels = torch.as_tensor(ds.targets, dtype=torch.int64)
    if limit is not None:
        images, labels = images[:limit].contiguous(), labels[:limit].contiguous()
    return Split(spec.name, train, images, labels, "real", root=Path(read_root))


#: files torchvision reads for each CIFAR variant (under the dataset's folder)
_CIFAR_FILES = {
    "cifar10": ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch",
                "batches.meta"),
    "cifar100": ("train", "test", "meta"),
}


#: samples in each of CIFAR-10's five pickled training batches
CIFAR10_BATCH_SAMPLES = 10_000


def _cifar10_batches_needed(train: bool, limit: int | None) -> tuple[str, ...] | None:
    """The CIFAR-10 files holding the first ``limit`` samples of a split (None: every training batch)."""
    if not train:
        return ("test_batch",)
    if limit is None or limit >= 5 * CIFAR10_BATCH_SAMPLES:
        return None
    return tuple(f"data_batch_{i + 1}" for i in range(max(1, math.ceil(limit / CIFAR10_BATCH_SAMPLES))))


def _read_cifar10_batches(folder: Path, files: tuple[str, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 images ``[N, 3, 32, 32]`` and int64 labels of CIFAR-10's pickled ``files`` (in order)."""

    images, labels = [], []
    for f in files:
        try:
            with open(folder / f, "rb") as fh:
                entry = pickle.load(fh, encoding="latin1")
        except (OSError, pickle.UnpicklingError, EOFError) as exc:
            raise DatasetNotFoundError(_missing_message(DATASETS["cifar10"], folder.parent)) from exc
        images.append(np.asarray(entry["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
        labels.append(np.asarray(entry["labels"], dtype=np.int64))
    return torch.from_numpy(np.concatenate(images)), torch.from_numpy(np.concatenate(labels))


def missing_files(name: str, root: str | Path | None = None, limit: int | None = None) -> str | None:
    """Why the real files of dataset ``name`` are not usable under ``root``; None when they are there.

    Only checks that the files :func:`load_dataset` reads exist (Fashion-MNIST
    extracted or as ``.gz``; CIFAR's pickled batches; for CIFAR-10 with a
    ``limit``, only the training batches the first ``limit`` samples lie in);
    reads and decodes nothing, so a whole grid is validated in milliseconds.
    """
    spec = dataset_spec(name)
    root = Path(root).expanduser() if root is not None else paths.data_dir()
    folder = root / spec.folder
    if spec.name == "fashion_mnist":
        ok = any(all((folder / "raw" / f"{f}{ext}").is_file() for f in _FMNIST_FILES) for ext in ("", ".gz"))
    elif spec.name == "cifar10" and _cifar10_batches_needed(True, limit) is not None:
        ok = all((folder / f).is_file() for f in _cifar10_batches_needed(True, limit) + ("test_batch",))
    else:
        ok = all((folder / f).is_file() for f in _CIFAR_FILES[spec.name])
    if ok:
        return None
    return (f"{spec.display_name} not found under {folder} (put its files there in torchvision's layout, "
            f"or point GREENAI_DATA_DIR / --data-root at a folder that holds {spec.folder}/)")


def synthetic_split(name: str, train: bool = True, *, seed: int = 0, limit: int | None = None) -> Split:
    """A synthetic stand-in with the dataset's shape, sample count and classes.

    Pixels are uniform random ``uint8``; labels are balanced (each class
    ``N / num_classes`` times) in a random order. Both are deterministic for a
    given ``(name, train, seed)``. For energy-only runs and tests: it carries
    ``source="synthetic"`` and must never be used to report accuracy.
    """
    spec = dataset_spec(name)
    n = spec.n_samples(train)
    if limit is not None:
        if limit < 1:
            raise ValueError(f"limit must be >= 1, got {limit}")
        n = min(n, int(limit))
    state = np.random.SeedSequence([int(seed), int(train), zlib.crc32(spec.name.encode())]).generate_state(1)[0]
    gen = torch.Generator().manual_seed(int(state))
    images = torch.randint(0, 256, (n, spec.channels, *spec.image_hw), dtype=torch.uint8, generator=gen)
    labels = torch.arange(n, dtype=torch.int64) % spec.num_classes
    labels = labels[torch.randperm(n, generator=gen)]
    return Split(spec.name, train, images, labels, "synthetic", root=None)


def _missing_message(spec: DatasetSpec, root: Path) -> str:
    return (
        f"{spec.display_name} not found under {root / spec.folder}. Either put the files there in torchvision's "
        f"layout (torchvision.datasets.{_tv_class(spec)}(root, download=True) on a machine with internet writes "
        f"them), pass download=True, point root= or the GREENAI_DATA_DIR environment variable at a folder that "
        f"holds {spec.folder}/, or use synthetic=True for energy-only runs."
    )


def _tv_class(spec: DatasetSpec) -> str:
    return {"fashion_mnist": "FashionMNIST", "cifar10": "CIFAR10", "cifar100": "CIFAR100"}[spec.name]


def _fashion_mnist_root(root: Path, download: bool) -> Path:
    """Root from which torchvision can read extracted Fashion-MNIST files.

    ``root`` itself when it holds the extracted files; else, when it holds the
    ``.gz`` files, they are extracted into the writable cache
    (:func:`greenai.paths.data_dir`), which is returned.
    """
    spec = DATASETS["fashion_mnist"]
    raw = root / spec.folder / "raw"
    if all((raw / f).is_file() for f in _FMNIST_FILES):
        return root
    if all((raw / f"{f}.gz").is_file() for f in _FMNIST_FILES):
        cache = paths.data_dir()
        cache_raw = cache / spec.folder / "raw"
        try:
            cache_raw.mkdir(parents=True, exist_ok=True)
            for f in _FMNIST_FILES:
                target = cache_raw / f
                if target.is_file():
                    continue
                # one temporary file per process: two processes extracting at once (one per GPU)
                # each write their own, and the atomic rename lets either win
                tmp = target.with_name(f"{f}.{os.getpid()}.part")
                with gzip.open(raw / f"{f}.gz", "rb") as src, open(tmp, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                tmp.replace(target)
        except OSError as exc:
            raise DatasetNotFoundError(
                f"Fashion-MNIST is under {raw} only as .gz files and extracting them into the cache {cache_raw} "
                f"failed ({exc}); set GREENAI_DATA_DIR to a writable folder."
            ) from exc
        return cache
    if download:
        return root
    raise DatasetNotFoundError(_missing_message(spec, root))


class GpuBatches:
    """Batches of a split held whole on a device.

    Parameters
    ----------
    split : Split
        Images and labels (CPU); copied once to ``device`` as ``uint8``.
    batch_size : int
        Samples per batch (>= 1).
    device : str or torch.device
        Where the data lives and batches are produced (``"cuda"``, ``"cpu"``).
    image_size : int or None
        Output height and width [px]; each batch is resized on the device by
        bilinear interpolation (``align_corners=False``). None keeps the native
        size. Default 224, as in the thesis.
    shuffle : bool
        Draw a new permutation each epoch from ``(seed, epoch)``.
    seed : int
        Seed of the permutations.
    drop_last : bool
        Drop the last, smaller batch.

    Attributes
    ----------
    h2d_s : float
        Seconds the host-to-device copy of the whole split took (synchronised).
    h2d_bytes : int
        Bytes copied to the device.
    epoch : int
        Epoch whose order the next iteration uses; iterating advances it by one,
        :meth:`set_epoch` sets it.

    Notes
    -----
    Each batch is ``x float32 [B, C, image_size, image_size]`` normalised with
    the dataset's per-channel mean and std, and ``y int64 [B]``, both on the
    device. Normalisation is applied before the resize, which gives the same
    result (bilinear weights sum to one) on 16-64x fewer pixels.
    """

    def __init__(
        self,
        split: Split,
        batch_size: int,
        device: str | torch.device,
        image_size: int | None = 224,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        if isinstance(batch_size, bool) or int(batch_size) != batch_size or batch_size < 1:
            raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
        if image_size is not None and (int(image_size) != image_size or image_size < 1):
            raise ValueError(f"image_size must be a positive integer or None, got {image_size!r}")
        if len(split) == 0:
            raise ValueError("split is empty")
        self.split = split
        self.batch_size = int(batch_size)
        self.device = torch.device(device)
        self.image_size = None if image_size is None else int(image_size)
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
        self.drop_last = bool(drop_last)
        self.epoch = 0
        self.source = split.source
        self.num_samples = len(split)
        if self.drop_last and self.num_samples < self.batch_size:
            raise ValueError(
                f"drop_last=True with {self.num_samples} samples and batch_size={self.batch_size} gives no batch"
            )

        _synchronize(self.device)
        t0 = time.perf_counter()
        self.images = split.images.to(self.device)
        self.labels = split.labels.to(self.device)
        _synchronize(self.device)
        self.h2d_s = time.perf_counter() - t0
        self.h2d_bytes = split.images.numel() * split.images.element_size() + split.labels.numel() * 8

        spec = split.spec
        self._mean = torch.tensor(spec.mean, dtype=torch.float32, device=self.device).view(1, -1, 1, 1)
        self._scale = (1.0 / (255.0 * torch.tensor(spec.std, dtype=torch.float32, device=self.device))).view(
            1, -1, 1, 1
        )

    def __len__(self) -> int:
        if self.drop_last:
            return self.num_samples // self.batch_size
        return math.ceil(self.num_samples / self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        """Make the next iteration use the order of ``epoch``."""
        self.epoch = int(epoch)

    def order(self, epoch: int) -> torch.Tensor:
        """Sample indices (CPU, int64) in the order of ``epoch``."""
        if not self.shuffle:
            return torch.arange(self.num_samples, dtype=torch.int64)
        rng = np.random.default_rng([self.seed, int(epoch)])
        return torch.from_numpy(rng.permutation(self.num_samples).astype(np.int64))

    def transform(self, images_u8: torch.Tensor) -> torch.Tensor:
        """uint8 ``[B, C, H, W]`` on the device -> normalised, resized float32."""
        x = images_u8.float().sub_(self._mean * 255.0).mul_(self._scale)
        if self.image_size is not None and tuple(x.shape[-2:]) != (self.image_size, self.image_size):
            x = F.interpolate(x, size=(self.image_size, self.image_size), mode="bilinear", align_corners=False)
        return x

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        order = self.order(self.epoch).to(self.device)
        self.epoch += 1
        return self._batches(order)

    def _batches(self, order: torch.Tensor) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for b in range(len(self)):
            idx = order[b * self.batch_size : (b + 1) * self.batch_size]
            yield self.transform(self.images.index_select(0, idx)), self.labels.index_select(0, idx)


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
