"""Datasets load (real where present, synthetic otherwise) and the GPU pipeline
yields shaped, normalised batches covering every sample once per epoch,
deterministic under a seed. Runs on the CPU device here."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from greenai import paths
from greenai.data import (
    DATASETS,
    DatasetNotFoundError,
    GpuBatches,
    Split,
    UnknownDatasetError,
    load_dataset,
    synthetic_split,
)

#: Where the README says datasets live: $GREENAI_DATA_DIR, or data/ in the checkout.
REAL_DATA = paths.data_dir()
needs_fmnist = pytest.mark.skipif(
    not (REAL_DATA / "FashionMNIST" / "raw" / "train-images-idx3-ubyte.gz").is_file(),
    reason=f"real Fashion-MNIST not in {REAL_DATA} (set GREENAI_DATA_DIR or download into data/)",
)
needs_cifar10 = pytest.mark.skipif(
    not (REAL_DATA / "cifar-10-batches-py" / "test_batch").is_file(),
    reason=f"real CIFAR-10 not in {REAL_DATA} (set GREENAI_DATA_DIR or download into data/)",
)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("GREENAI_DATA_DIR", str(folder))
    return folder


def test_specs():
    assert set(DATASETS) == {"fashion_mnist", "cifar10", "cifar100"}
    f, c10, c100 = DATASETS["fashion_mnist"], DATASETS["cifar10"], DATASETS["cifar100"]
    assert (f.channels, f.num_classes, f.image_hw, f.n_train, f.n_test) == (1, 10, (28, 28), 60_000, 10_000)
    assert (c10.channels, c10.num_classes, c10.image_hw, c10.n_train) == (3, 10, (32, 32), 50_000)
    assert (c100.num_classes, c100.n_train, c100.n_test) == (100, 50_000, 10_000)
    for spec in DATASETS.values():
        assert len(spec.mean) == len(spec.std) == spec.channels


@pytest.mark.parametrize("name", list(DATASETS))
@pytest.mark.parametrize("train", [True, False])
def test_synthetic_has_the_real_shape(name, train):
    spec = DATASETS[name]
    split = load_dataset(name, train=train, synthetic=True)
    n = spec.n_train if train else spec.n_test
    assert split.images.shape == (n, spec.channels, *spec.image_hw)
    assert split.images.dtype == torch.uint8 and split.labels.dtype == torch.int64
    assert split.source == "synthetic" and split.name == name
    counts = torch.bincount(split.labels, minlength=spec.num_classes)
    assert counts.numel() == spec.num_classes
    assert counts.min() == counts.max() == n // spec.num_classes


def test_synthetic_is_deterministic_and_seeded():
    a = synthetic_split("cifar10", limit=500)
    b = synthetic_split("cifar10", limit=500)
    c = synthetic_split("cifar10", limit=500, seed=1)
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    assert not torch.equal(a.images, c.images)
    assert not torch.equal(a.images, synthetic_split("cifar10", train=False, limit=500).images)


def test_unknown_dataset():
    with pytest.raises(UnknownDatasetError, match="fashion_mnist"):
        load_dataset("mnist", synthetic=True)
    assert load_dataset("CIFAR-10", synthetic=True, limit=3).name == "cifar10"


@pytest.mark.parametrize("name", list(DATASETS))
def test_missing_files_say_where_they_go(name, tmp_path, cache):
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset(name, root=tmp_path / "empty")
    assert isinstance(info.value, FileNotFoundError)
    msg = str(info.value)
    assert str(tmp_path / "empty") in msg and "download=True" in msg and "GREENAI_DATA_DIR" in msg


def test_default_root_is_the_cache(cache):
    with pytest.raises(DatasetNotFoundError, match=str(cache)):
        load_dataset("fashion_mnist")


def _write_idx_gz(path, array, magic):
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in array.shape)
    with gzip.open(path, "wb") as fh:
        fh.write(header + array.astype(np.uint8).tobytes())


def _gz_root(tmp_path):
    raw = tmp_path / "gz" / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    _write_idx_gz(raw / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (20, 28, 28)), 2051)
    _write_idx_gz(raw / "train-labels-idx1-ubyte.gz", np.arange(20) % 10, 2049)
    _write_idx_gz(raw / "t10k-images-idx3-ubyte.gz", rng.integers(0, 256, (5, 28, 28)), 2051)
    _write_idx_gz(raw / "t10k-labels-idx1-ubyte.gz", np.arange(5), 2049)
    return tmp_path / "gz"


def test_two_processes_extracting_at_once_both_succeed(tmp_path, cache, monkeypatch):
    """One process per GPU, same cache: while one is half-way through a file, the other extracts
    everything; neither may lose its temporary file to the other (seen on a two-GPU host)."""
    import os
    import shutil

    import greenai.data as gd

    root = _gz_root(tmp_path)
    real_copy, real_getpid = shutil.copyfileobj, os.getpid
    other_ran = []

    def copy_then_the_other_process_runs(src, dst, *args):
        real_copy(src, dst, *args)
        if not other_ran:
            other_ran.append(True)
            monkeypatch.setattr(os, "getpid", lambda: real_getpid() + 1)
            try:
                assert gd._fashion_mnist_root(root, download=False) == cache
            finally:
                monkeypatch.setattr(os, "getpid", real_getpid)

    monkeypatch.setattr(shutil, "copyfileobj", copy_then_the_other_process_runs)
    assert gd._fashion_mnist_root(root, download=False) == cache
    assert other_ran
    assert sorted(p.name for p in (cache / "FashionMNIST" / "raw").iterdir()) == sorted(gd._FMNIST_FILES)


def test_gz_only_root_is_extracted_into_the_cache(tmp_path, cache):
    raw = tmp_path / "ro" / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    train_x, test_x = rng.integers(0, 256, (20, 28, 28)), rng.integers(0, 256, (5, 28, 28))
    _write_idx_gz(raw / "train-images-idx3-ubyte.gz", train_x, 2051)
    _write_idx_gz(raw / "train-labels-idx1-ubyte.gz", np.arange(20) % 10, 2049)
    _write_idx_gz(raw / "t10k-images-idx3-ubyte.gz", test_x, 2051)
    _write_idx_gz(raw / "t10k-labels-idx1-ubyte.gz", np.arange(5), 2049)
    (tmp_path / "ro").chmod(0o555)
    try:
        split = load_dataset("fashion_mnist", root=tmp_path / "ro")
        test = load_dataset("fashion_mnist", train=False, root=tmp_path / "ro")
    finally:
        (tmp_path / "ro").chmod(0o755)
    assert (cache / "FashionMNIST" / "raw" / "train-images-idx3-ubyte").is_file()
    assert not (raw / "train-images-idx3-ubyte").exists()
    assert split.source == "real"
    assert split.images.shape == (20, 1, 28, 28)
    np.testing.assert_array_equal(split.images[:, 0].numpy(), train_x)
    np.testing.assert_array_equal(split.labels.numpy(), np.arange(20) % 10)
    assert test.labels.tolist() == [0, 1, 2, 3, 4]


@needs_fmnist
def test_real_fashion_mnist(cache):
    split = load_dataset("fashion_mnist", root=REAL_DATA)
    assert split.source == "real" and split.images.shape == (60_000, 1, 28, 28)
    assert torch.bincount(split.labels).tolist() == [6000] * 10
    pixels = split.images.float() / 255
    # PROVENANCE.md: mean 0.286041, std 0.353024 on [0, 1]
    np.testing.assert_allclose([pixels.mean().item(), pixels.std().item()], [0.286041, 0.353024], atol=2e-4)


@needs_cifar10
def test_real_cifar10_test_split():
    split = load_dataset("cifar10", train=False, root=REAL_DATA)
    assert split.images.shape == (10_000, 3, 32, 32)
    assert torch.bincount(split.labels).tolist() == [1000] * 10
    mean = (split.images.float() / 255).mean(dim=(0, 2, 3))
    np.testing.assert_allclose(mean.numpy(), [0.4942, 0.4851, 0.4504], atol=2e-4)


def _indexed_split(n=103, name="cifar10"):
    """Split whose label is the sample index, so batches reveal their indices."""
    spec = DATASETS[name]
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, spec.channels, *spec.image_hw), dtype=torch.uint8, generator=gen)
    return Split(name, True, images, torch.arange(n, dtype=torch.int64), "synthetic")


@pytest.mark.parametrize("bad", [0, -3, 2.5])
def test_batch_size_must_be_positive(bad):
    with pytest.raises(ValueError, match="batch_size"):
        GpuBatches(_indexed_split(), bad, "cpu")


def test_batches_shape_dtype_and_length():
    batches = GpuBatches(_indexed_split(103), 16, "cpu", image_size=64)
    assert len(batches) == 7
    shapes = [(x.shape, y.shape) for x, y in batches]
    assert shapes[0] == ((16, 3, 64, 64), (16,))
    assert shapes[-1] == ((7, 3, 64, 64), (7,))
    x, y = next(iter(batches))
    assert x.dtype == torch.float32 and y.dtype == torch.int64
    assert batches.h2d_s >= 0 and batches.h2d_bytes == 103 * 3 * 32 * 32 + 103 * 8
    assert len(GpuBatches(_indexed_split(103), 16, "cpu", drop_last=True)) == 6


def test_every_sample_once_per_epoch_and_reshuffled():
    batches = GpuBatches(_indexed_split(103), 10, "cpu", image_size=None)
    epochs = [torch.cat([y for _, y in batches]) for _ in range(3)]
    for seen in epochs:
        assert sorted(seen.tolist()) == list(range(103))
    assert not torch.equal(epochs[0], epochs[1])
    assert batches.epoch == 3


def test_deterministic_under_seed_and_set_epoch():
    a = GpuBatches(_indexed_split(), 8, "cpu", image_size=None, seed=7)
    b = GpuBatches(_indexed_split(), 8, "cpu", image_size=None, seed=7)
    c = GpuBatches(_indexed_split(), 8, "cpu", image_size=None, seed=8)
    order = lambda g: torch.cat([y for _, y in g])  # noqa: E731
    first = order(a)
    assert torch.equal(first, order(b))
    assert not torch.equal(first, order(c))
    a.set_epoch(0)
    assert torch.equal(order(a), first)
    no_shuffle = GpuBatches(_indexed_split(), 8, "cpu", shuffle=False)
    assert order(no_shuffle).tolist() == list(range(103))


def test_normalised_and_resized():
    split = _indexed_split(64)
    batches = GpuBatches(split, 64, "cpu", image_size=96, shuffle=False)
    x, y = next(iter(batches))
    assert x.shape == (64, 3, 96, 96)
    # reference: scale to [0, 1], resize, then normalise per channel
    mean = torch.tensor(DATASETS["cifar10"].mean).view(1, 3, 1, 1)
    std = torch.tensor(DATASETS["cifar10"].std).view(1, 3, 1, 1)
    ref = (F.interpolate(split.images.float() / 255, size=(96, 96), mode="bilinear", align_corners=False) - mean) / std
    torch.testing.assert_close(x, ref, atol=1e-5, rtol=1e-5)
    # a constant image at the dataset mean normalises to 0
    flat = Split("fashion_mnist", True, torch.full((4, 1, 28, 28), 73, dtype=torch.uint8), torch.zeros(4, dtype=torch.int64), "real")
    x0, _ = next(iter(GpuBatches(flat, 4, "cpu")))
    assert x0.shape == (4, 1, 224, 224)
    torch.testing.assert_close(x0, torch.full_like(x0, (73 / 255 - 0.2860) / 0.3530))


def test_source_is_carried():
    assert GpuBatches(synthetic_split("fashion_mnist", limit=10), 4, "cpu").source == "synthetic"


@pytest.mark.gpu
def test_on_cuda():
    batches = GpuBatches(synthetic_split("fashion_mnist", limit=1000), 256, "cuda")
    x, y = next(iter(batches))
    assert x.is_cuda and y.is_cuda and x.shape == (256, 1, 224, 224)


def test_missing_files_checks_presence_without_reading(tmp_path):
    from greenai import data

    assert "Fashion-MNIST not found under" in data.missing_files("fashion_mnist", tmp_path)
    assert "download=True" not in data.missing_files("cifar10", tmp_path)
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for name in data._FMNIST_FILES:
        (raw / f"{name}.gz").write_bytes(b"not even gzip")  # presence is all that is checked
    assert data.missing_files("fashion_mnist", tmp_path) is None
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    for name in ("train", "test"):
        (folder / name).write_bytes(b"")
    assert "CIFAR-100 not found" in data.missing_files("cifar100", tmp_path)  # meta is missing
    (folder / "meta").write_bytes(b"")
    assert data.missing_files("cifar100", tmp_path) is None


def _fake_cifar10(folder, batches, seed=0):
    """CIFAR-10's pickled layout with random pixels: ``batches`` training files and the test file."""
    import pickle

    import numpy as np

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    made = {}
    for name, n in [(f"data_batch_{i}", 10_000) for i in batches] + [("test_batch", 10_000)]:
        entry = {"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                 "labels": rng.integers(0, 10, n).tolist()}
        (folder / name).write_bytes(pickle.dumps(entry))
        made[name] = entry
    return made


def test_cifar10_with_a_limit_reads_only_the_batches_it_needs(tmp_path):
    """The first 20,000 training images are batches 1-2 in order; batches 3-5 need not exist, the test set is whole."""
    from greenai import data

    import numpy as np

    made = _fake_cifar10(tmp_path / "cifar-10-batches-py", (1, 2))
    assert data.missing_files("cifar10", tmp_path, limit=20_000) is None
    assert "CIFAR-10 not found" in data.missing_files("cifar10", tmp_path)  # the whole set needs five batches
    assert "CIFAR-10 not found" in data.missing_files("cifar10", tmp_path, limit=20_001)
    train = data.load_dataset("cifar10", True, root=tmp_path, limit=15_000)
    assert train.images.shape == (15_000, 3, 32, 32) and train.source == "real"
    first = np.concatenate([made["data_batch_1"]["data"], made["data_batch_2"]["data"]])[:15_000]
    assert np.array_equal(train.images.numpy().reshape(15_000, -1), first)
    assert train.labels[10_000].item() == made["data_batch_2"]["labels"][0]
    test = data.load_dataset("cifar10", False, root=tmp_path, limit=20_000)
    assert test.images.shape == (10_000, 3, 32, 32)
    assert test.labels.tolist() == made["test_batch"]["labels"]
    with pytest.raises(data.DatasetNotFoundError):
        data.load_dataset("cifar10", True, root=tmp_path, limit=30_000)
