"""Data: IDX checks, source order, pixel scaling, split and loaders."""

import email.message
import gzip
import io
import hashlib
import logging
import os
import math
import socket
import struct
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.datasets import FashionMNIST
from torchvision.transforms import ToTensor

import ignite_fashion.data as data
from torch.utils.data import DataLoader, Dataset

from ignite_fashion import (
    CLASS_NAMES,
    DataError,
    ImageDataset,
    build_loaders,
    collate_image_batch,
    load_fashion_mnist,
    split_indices,
)

from conftest import make_learnable_dataset

# Tiny stand-ins for the four FashionMNIST files: 12 training and 5 test images.
TRAIN_COUNT, TEST_COUNT = 12, 5


def idx_images(images: np.ndarray, magic: int = 0x803) -> bytes:
    count, rows, cols = images.shape
    return struct.pack(">IIII", magic, count, rows, cols) + images.astype(np.uint8).tobytes()


def idx_labels(labels: np.ndarray, magic: int = 0x801) -> bytes:
    return struct.pack(">II", magic, len(labels)) + labels.astype(np.uint8).tobytes()


def tiny_files() -> dict[str, bytes]:
    generator = np.random.default_rng(0)
    return {
        "train-images-idx3-ubyte": idx_images(generator.integers(0, 256, (TRAIN_COUNT, 28, 28))),
        "train-labels-idx1-ubyte": idx_labels(np.arange(TRAIN_COUNT) % 10),
        "t10k-images-idx3-ubyte": idx_images(generator.integers(0, 256, (TEST_COUNT, 28, 28))),
        "t10k-labels-idx1-ubyte": idx_labels(np.arange(TEST_COUNT) % 10),
    }


@pytest.fixture
def tiny_specs(monkeypatch):
    """Replace the real file specs by ones matching tiny_files(), so the whole flow runs in milliseconds."""
    files = tiny_files()
    specs = tuple(
        data._FileSpec(
            spec.name,
            spec.magic,
            TRAIN_COUNT if spec.name.startswith("train") else TEST_COUNT,
            hashlib.sha256(files[spec.name]).hexdigest(),
        )
        for spec in data._FILES
    )
    monkeypatch.setattr(data, "_FILES", specs)
    return files


@pytest.fixture
def no_network(monkeypatch):
    """Make every download attempt fail as an unreachable host would, and count the attempts."""
    attempts = []

    def unreachable(url, *args, **kwargs):
        attempts.append(url)
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr("torchvision.datasets.utils.download_and_extract_archive", unreachable)
    return attempts


def write_gz_dir(folder: Path, files: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (folder / f"{name}.gz").write_bytes(gzip.compress(content))
    return folder


def write_raw_dir(data_dir: Path, files: dict[str, bytes]) -> Path:
    raw_dir = data_dir / "FashionMNIST" / "raw"
    raw_dir.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (raw_dir / name).write_bytes(content)
    return raw_dir


def test_class_names_in_label_order():
    assert len(CLASS_NAMES) == 10
    assert CLASS_NAMES[0] == "T-shirt/top"
    assert CLASS_NAMES[6] == "Shirt"
    assert CLASS_NAMES[9] == "Ankle boot"


def test_pixel_row_scaled_to_unit_range():
    image, _ = ImageDataset(torch.tensor([[[0, 128, 255]]], dtype=torch.uint8), torch.tensor([0]))[0]

    assert image.dtype == torch.float32
    assert image.shape == (1, 1, 3)
    assert image.flatten().tolist() == pytest.approx([0.0, 0.501961, 1.0], abs=1e-6)


def test_pixels_equal_to_tensor_transform():
    images = torch.randint(0, 256, (8, 28, 28), dtype=torch.uint8)
    dataset = ImageDataset(images, torch.zeros(8, dtype=torch.long))

    for index in range(8):
        expected = ToTensor()(Image.fromarray(images[index].numpy(), mode="L"))
        assert torch.equal(dataset[index][0], expected)


class PerSampleDataset(Dataset):
    """An ImageDataset without ``__getitems__``, so a DataLoader converts and collates one sample at a time."""

    def __init__(self, dataset):
        self.dataset = dataset
        self.targets = dataset.targets

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, index):
        return self.dataset[index]


def test_batch_equal_to_tensor_transform():
    images = torch.randint(0, 256, (8, 28, 28), dtype=torch.uint8)
    dataset = ImageDataset(images, torch.arange(8, dtype=torch.uint8))
    loader = DataLoader(dataset, batch_size=8, collate_fn=collate_image_batch)

    batch_images, batch_targets = next(iter(loader))

    expected = torch.stack([ToTensor()(Image.fromarray(image.numpy(), mode="L")) for image in images])
    assert torch.equal(batch_images, expected)
    assert batch_targets.dtype == torch.int64
    assert batch_targets.tolist() == list(range(8))


def test_batch_path_equals_default_collate(tiny_dataset):
    fast = DataLoader(tiny_dataset, batch_size=7, collate_fn=collate_image_batch)
    default = DataLoader(tiny_dataset, batch_size=7)

    for (fast_images, fast_targets), (images, targets) in zip(fast, default, strict=True):
        assert torch.equal(fast_images, images)
        assert torch.equal(fast_targets, targets)
        assert fast_targets.dtype == targets.dtype
        assert fast_images.is_contiguous()


def test_loaders_batch_path_same_order_and_values(tiny_dataset):
    test_set = make_learnable_dataset(30, seed=1)
    fast = build_loaders(tiny_dataset, test_set, batch_size=36, eval_batch_size=16, seed=3)
    per_sample = build_loaders(
        PerSampleDataset(tiny_dataset), PerSampleDataset(test_set), batch_size=36, eval_batch_size=16, seed=3
    )

    for fast_loader, slow_loader in zip(fast, per_sample, strict=True):
        for epoch in range(2):
            fast_batches = list(fast_loader)
            slow_batches = list(slow_loader)
            assert len(fast_batches) == len(slow_batches)
            for (fast_images, fast_targets), (images, targets) in zip(fast_batches, slow_batches):
                assert torch.equal(fast_images, images), f"epoch {epoch}"
                assert torch.equal(fast_targets, targets), f"epoch {epoch}"


def test_loaders_eval_batch_size_default(tiny_dataset):
    default = build_loaders(tiny_dataset, tiny_dataset, batch_size=36)
    large_train_batch = build_loaders(tiny_dataset, tiny_dataset, batch_size=300)

    assert default.val.batch_size == data.DEFAULT_EVAL_BATCH_SIZE
    assert default.test.batch_size == data.DEFAULT_EVAL_BATCH_SIZE
    assert large_train_batch.val.batch_size == 300


def test_dataset_rejects_wrong_dtype():
    with pytest.raises(ValueError, match="uint8 tensor of shape"):
        ImageDataset(torch.zeros(2, 28, 28), torch.zeros(2))


def test_data_dir_used_without_network(tmp_path, tiny_specs, no_network, caplog):
    write_raw_dir(tmp_path, tiny_specs)

    with caplog.at_level(logging.INFO, logger="ignite_fashion"):
        train, test = load_fashion_mnist(tmp_path, debian_dir=None)

    assert no_network == []
    assert len(train) == TRAIN_COUNT
    assert len(test) == TEST_COUNT
    assert train.targets.tolist() == (np.arange(TRAIN_COUNT) % 10).tolist()
    assert "found in the data directory" in caplog.text


def test_gz_files_in_data_dir_decompressed(tmp_path, tiny_specs, no_network):
    write_gz_dir(tmp_path / "FashionMNIST" / "raw", tiny_specs)

    train, _ = load_fashion_mnist(tmp_path, debian_dir=None)

    assert no_network == []
    assert (tmp_path / "FashionMNIST" / "raw" / "train-images-idx3-ubyte").read_bytes() == tiny_specs[
        "train-images-idx3-ubyte"
    ]
    assert len(train) == TRAIN_COUNT


def test_debian_files_used_when_download_fails(tmp_path, tiny_specs, no_network, caplog):
    debian_dir = write_gz_dir(tmp_path / "debian", tiny_specs)

    with caplog.at_level(logging.INFO, logger="ignite_fashion"):
        train, test = load_fashion_mnist(tmp_path / "data", debian_dir=debian_dir)

    assert len(no_network) == 1
    assert "fashion-mnist" in no_network[0]
    assert len(train) == TRAIN_COUNT
    assert "taken from the Debian package files" in caplog.text
    raw_files = sorted(path.name for path in (tmp_path / "data" / "FashionMNIST" / "raw").iterdir())
    assert raw_files == sorted(tiny_specs)


def test_download_used_before_debian(tmp_path, tiny_specs, monkeypatch, caplog):
    requested = []

    def fake_download(url, download_root, filename, md5):
        requested.append((url, md5))
        name = filename.removesuffix(".gz")
        (Path(download_root) / name).write_bytes(tiny_specs[name])

    monkeypatch.setattr("torchvision.datasets.utils.download_and_extract_archive", fake_download)
    debian_dir = write_gz_dir(tmp_path / "debian", tiny_specs)

    with caplog.at_level(logging.INFO, logger="ignite_fashion"):
        train, test = load_fashion_mnist(tmp_path / "data", debian_dir=debian_dir)

    assert len(requested) == 4
    assert requested[0] == (FashionMNIST.mirrors[0] + "train-images-idx3-ubyte.gz", FashionMNIST.resources[0][1])
    assert "taken from the torchvision download" in caplog.text
    assert "Debian" not in caplog.text
    assert len(train) == TRAIN_COUNT
    assert len(test) == TEST_COUNT


def test_no_download_makes_no_attempt(tmp_path, tiny_specs, no_network):
    debian_dir = write_gz_dir(tmp_path / "debian", tiny_specs)

    load_fashion_mnist(tmp_path / "data", download=False, debian_dir=debian_dir)

    assert no_network == []


def test_no_source_error_names_places_and_fixes(tmp_path, tiny_specs, no_network):
    with pytest.raises(DataError) as raised:
        load_fashion_mnist(tmp_path / "data", debian_dir=tmp_path / "no-debian")

    message = str(raised.value)
    assert str(tmp_path / "data" / "FashionMNIST" / "raw" / "train-images-idx3-ubyte") + ": not found" in message
    assert "http://fashion-mnist" in message
    assert str(tmp_path / "no-debian" / "t10k-labels-idx1-ubyte.gz") + " not found" in message
    assert "apt-get install dataset-fashion-mnist" in message
    assert "internet access" in message
    assert "copy the four original files" in message
    assert "drop --no-download" not in message


def test_no_source_error_names_disabled_sources(tmp_path, tiny_specs, no_network):
    with pytest.raises(DataError) as raised:
        load_fashion_mnist(tmp_path / "data", download=False, debian_dir=None)

    message = str(raised.value)
    assert "torchvision download: skipped (download=False)" in message
    assert "download is off: drop --no-download, or pass download=True" in message
    assert "this source is off: pass debian_dir" in message


def test_good_gz_replaces_damaged_file(tmp_path, tiny_specs, no_network):
    damaged = dict(tiny_specs)
    damaged["t10k-labels-idx1-ubyte"] = idx_labels(np.array([0, 1, 2, 3, 200]))
    raw_dir = write_raw_dir(tmp_path, damaged)
    write_gz_dir(raw_dir, tiny_specs)

    _, test = load_fashion_mnist(tmp_path, download=False, debian_dir=None)

    assert test.targets.tolist() == [0, 1, 2, 3, 4]
    assert (raw_dir / "t10k-labels-idx1-ubyte").read_bytes() == tiny_specs["t10k-labels-idx1-ubyte"]


def test_damaged_file_replaced_from_debian(tmp_path, tiny_specs, no_network, caplog):
    damaged = dict(tiny_specs)
    damaged["train-labels-idx1-ubyte"] = idx_labels(np.full(TRAIN_COUNT, 3))
    raw_dir = write_raw_dir(tmp_path / "data", damaged)
    debian_dir = write_gz_dir(tmp_path / "debian", tiny_specs)

    with caplog.at_level(logging.WARNING, logger="ignite_fashion"):
        train, _ = load_fashion_mnist(tmp_path / "data", debian_dir=debian_dir)

    assert "SHA-256" in caplog.text
    assert (raw_dir / "train-labels-idx1-ubyte").read_bytes() == tiny_specs["train-labels-idx1-ubyte"]
    assert train.targets.tolist() == (np.arange(TRAIN_COUNT) % 10).tolist()


def test_bad_debian_copy_never_moved_in(tmp_path, tiny_specs, no_network):
    bad = dict(tiny_specs)
    bad["t10k-images-idx3-ubyte"] = tiny_specs["t10k-images-idx3-ubyte"][:-1]
    debian_dir = write_gz_dir(tmp_path / "debian", bad)

    with pytest.raises(DataError, match="t10k-images-idx3-ubyte: file is 3935 bytes, expected 3936"):
        load_fashion_mnist(tmp_path / "data", debian_dir=debian_dir)

    assert not (tmp_path / "data" / "FashionMNIST" / "raw" / "t10k-images-idx3-ubyte").exists()


BAD_FILES = [
    ("wrong magic", "train-images-idx3-ubyte", lambda: idx_images(np.zeros((TRAIN_COUNT, 28, 28)), magic=0x801),
     "wrong IDX magic number 0x00000801, expected 0x00000803"),
    ("wrong count", "train-labels-idx1-ubyte", lambda: idx_labels(np.zeros(TRAIN_COUNT + 1)),
     f"contains {TRAIN_COUNT + 1} items, expected {TRAIN_COUNT}"),
    ("wrong image size", "t10k-images-idx3-ubyte", lambda: idx_images(np.zeros((TEST_COUNT, 28, 27))),
     "images are 28x27, expected 28x28"),
    ("truncated", "t10k-images-idx3-ubyte", lambda: idx_images(np.zeros((TEST_COUNT, 28, 28)))[:-10],
     f"expected {16 + TEST_COUNT * 784}"),
    ("label out of range", "t10k-labels-idx1-ubyte", lambda: idx_labels(np.array([0, 1, 2, 3, 10])),
     "label 10 outside 0-9"),
    ("checksum", "t10k-labels-idx1-ubyte", lambda: idx_labels(np.array([0, 1, 2, 3, 5])),
     "does not match the original file"),
    ("no header", "t10k-labels-idx1-ubyte", lambda: b"\x00\x00",
     "too short for an IDX header"),
]


@pytest.mark.parametrize("name, content, expected", [case[1:] for case in BAD_FILES], ids=[case[0] for case in BAD_FILES])
def test_bad_idx_file_rejected(tmp_path, tiny_specs, no_network, name, content, expected):
    files = dict(tiny_specs)
    files[name] = content()
    raw_dir = write_raw_dir(tmp_path, files)

    with pytest.raises(DataError) as raised:
        load_fashion_mnist(tmp_path, debian_dir=None)

    assert expected in str(raised.value)
    assert f"{raw_dir / name}: " in str(raised.value)
    assert f"into {raw_dir}, replacing any damaged copy" in str(raised.value)
    assert (raw_dir / name).read_bytes() == files[name]


def test_unreadable_gz_rejected(tmp_path, tiny_specs, no_network):
    raw_dir = tmp_path / "FashionMNIST" / "raw"
    write_gz_dir(raw_dir, tiny_specs)
    (raw_dir / "train-images-idx3-ubyte.gz").write_bytes(b"not gzip at all")

    with pytest.raises(DataError, match="cannot decompress"):
        load_fashion_mnist(tmp_path, debian_dir=None)

    assert not (raw_dir / "train-images-idx3-ubyte").exists()


@pytest.mark.parametrize("count", [7, 10, 385, 60_000])
def test_split_sizes_cover_every_index_once(count):
    labels = np.arange(count) % 10

    train, val = split_indices(labels, val_fraction=0.25, seed=0)

    assert len(train) + len(val) == count
    assert len(np.intersect1d(train, val)) == 0
    assert sorted(np.concatenate([train, val]).tolist()) == list(range(count))


def test_split_stratified_per_class():
    labels = np.repeat(np.arange(10), 6000)
    np.random.default_rng(3).shuffle(labels)

    train, val = split_indices(labels, val_fraction=0.25, seed=0)

    assert (len(train), len(val)) == (45_000, 15_000)
    assert np.bincount(labels[train]).tolist() == [4500] * 10
    assert np.bincount(labels[val]).tolist() == [1500] * 10


def test_split_same_seed_same_indices():
    labels = np.arange(385) % 10
    first = split_indices(labels, seed=5)

    torch.rand(1000)
    np.random.rand(1000)
    second = split_indices(labels, seed=5)
    third = split_indices(labels, seed=6)

    assert np.array_equal(first[0], second[0])
    assert np.array_equal(first[1], second[1])
    assert not np.array_equal(first[1], third[1])


def test_split_falls_back_with_one_warning(caplog):
    labels = [0, 0, 0, 0, 1, 1, 1, 2]

    with caplog.at_level(logging.WARNING, logger="ignite_fashion"):
        train, val = split_indices(labels, val_fraction=0.25, seed=0)

    assert len(train) + len(val) == 8
    assert len(caplog.records) == 1
    assert "Stratified split impossible" in caplog.records[0].getMessage()


@pytest.mark.parametrize("count", [2, 3, 7, 10, 385])
@pytest.mark.parametrize("fraction", [0.01, 0.25, 0.5, 0.9, 0.99])
def test_split_any_fraction_keeps_both_parts(count, fraction):
    labels = np.arange(count) % 10
    val_count = math.ceil(fraction * count)  # scikit-learn's rounding of the validation share
    if val_count >= count:
        with pytest.raises(ValueError, match=f"val_fraction {fraction} of {count} samples leaves no sample for training"):
            split_indices(labels, val_fraction=fraction, seed=0)
        return

    train, val = split_indices(labels, val_fraction=fraction, seed=0)

    assert (len(train), len(val)) == (count - val_count, val_count)
    assert sorted(np.concatenate([train, val]).tolist()) == list(range(count))


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_split_fraction_outside_range_rejected(fraction):
    with pytest.raises(ValueError, match=f"val_fraction must be between 0 and 1 \\(exclusive\\), got {fraction}"):
        split_indices([0, 1, 0, 1], val_fraction=fraction)


@pytest.mark.parametrize("seed", [-1, 2**32])
def test_split_seed_outside_range_rejected(seed):
    with pytest.raises(ValueError, match=f"seed must be between 0 and 4294967295, got {seed}"):
        split_indices([0, 1, 0, 1], seed=seed)


def test_loaders_shuffle_train_only(tiny_dataset):
    test_set = make_learnable_dataset(30, seed=1)
    loaders = build_loaders(tiny_dataset, test_set, batch_size=36, seed=0)
    again = build_loaders(tiny_dataset, test_set, batch_size=36, seed=0)

    train_order = [targets.tolist() for _, targets in loaders.train]
    assert train_order == [targets.tolist() for _, targets in again.train]
    assert train_order != [targets.tolist() for _, targets in loaders.train]  # next epoch, new order
    assert loaders.train.batch_size == 36
    assert len(loaders.train.dataset) == 150
    assert len(loaders.val.dataset) == 50
    val_indices = loaders.val.dataset.indices
    assert val_indices == sorted(val_indices)
    assert [targets.tolist() for _, targets in loaders.test] == [test_set.targets.tolist()]


def test_loader_batches_in_unit_range(tiny_dataset):
    loaders = build_loaders(tiny_dataset, tiny_dataset, batch_size=36, seed=0)

    for loader in loaders:
        for images, _ in loader:
            assert images.dtype == torch.float32
            assert images.min() >= 0.0
            assert images.max() <= 1.0
            assert images.shape[1:] == (1, 28, 28)


def test_loaders_reject_bad_batch_size(tiny_dataset):
    with pytest.raises(ValueError, match="batch_size must be at least 1, got 0"):
        build_loaders(tiny_dataset, tiny_dataset, batch_size=0)


def test_data_dir_that_is_a_file_rejected(tmp_path, no_network):
    not_a_folder = tmp_path / "data"
    not_a_folder.write_text("")

    with pytest.raises(DataError, match=f"data directory {not_a_folder} is not a folder"):
        load_fashion_mnist(not_a_folder, debian_dir=None)

    assert no_network == []


def test_unwritable_data_dir_rejected(tmp_path, tiny_specs, no_network):
    blocker = tmp_path / "data" / "FashionMNIST"
    blocker.parent.mkdir()
    blocker.write_text("a file where the FashionMNIST folder should be")

    with pytest.raises(DataError, match="cannot create .*Pass a writable folder as the data directory"):
        load_fashion_mnist(tmp_path / "data", debian_dir=None)

    assert blocker.read_text() == "a file where the FashionMNIST folder should be"


class Response(io.BytesIO):
    """An HTTP response carrying ``content``. With ``cut_off``, the connection drops halfway through."""

    def __init__(self, url: str, content: bytes, *, cut_off: bool = False) -> None:
        super().__init__(content[: len(content) // 2] if cut_off else content)
        self.url = url
        self.length = len(content)
        self.cut_off = cut_off

    def read(self, size: int = -1) -> bytes:
        chunk = super().read(size)
        if not chunk and self.cut_off:
            raise ConnectionResetError(104, "Connection reset by peer")
        return chunk


@pytest.fixture
def url_opener(monkeypatch):
    """Make torchvision download through ``respond(url)``, and return the requested addresses."""
    requested = []

    def install(respond):
        def urlopen(request, *args, **kwargs):
            url = getattr(request, "full_url", request)
            requested.append(url)
            return respond(url)

        monkeypatch.setattr(urllib.request, "urlopen", urlopen)
        return requested

    return install


def unreachable(url):
    raise urllib.error.URLError(socket.gaierror(-2, "Name or service not known"))


def forbidden(url):
    raise urllib.error.HTTPError(url, 403, "Forbidden", email.message.Message(), None)


def all_addresses():
    return [mirror + name for name, _ in FashionMNIST.resources for mirror in FashionMNIST.mirrors]


@pytest.mark.parametrize("respond, reason", [(unreachable, "Name or service not known"), (forbidden, "HTTP 403 Forbidden")])
def test_failed_download_names_every_address(tmp_path, tiny_specs, url_opener, respond, reason):
    url_opener(respond)

    with pytest.raises(DataError) as raised:
        load_fashion_mnist(tmp_path / "data", debian_dir=tmp_path / "no-debian")

    message = str(raised.value)
    for address in all_addresses():
        assert address in message
    assert reason in message
    assert "apt-get install dataset-fashion-mnist" in message
    assert f"into {tmp_path / 'data' / 'FashionMNIST' / 'raw'}" in message


def test_unreachable_mirror_asked_once(tmp_path, tiny_specs, url_opener):
    requested = url_opener(unreachable)

    with pytest.raises(DataError, match="train-labels-idx1-ubyte.gz: not tried, this mirror was unreachable"):
        load_fashion_mnist(tmp_path / "data", debian_dir=None)

    assert requested == [FashionMNIST.mirrors[0] + FashionMNIST.resources[0][0]]


def test_cut_off_download_leaves_no_file(tmp_path, tiny_specs, url_opener):
    archives = {f"{name}.gz": gzip.compress(content) for name, content in tiny_specs.items()}
    url_opener(lambda url: Response(url, archives[url.rsplit("/", 1)[1]], cut_off=True))

    with pytest.raises(DataError, match="Connection reset by peer"):
        load_fashion_mnist(tmp_path / "data", debian_dir=None)

    assert [path for path in (tmp_path / "data").rglob("*") if path.is_file()] == []
    # A later run without any source finds nothing it would accept.
    with pytest.raises(DataError, match="train-images-idx3-ubyte: not found"):
        load_fashion_mnist(tmp_path / "data", download=False, debian_dir=None)


def test_present_data_makes_no_network_call(tmp_path, tiny_specs, monkeypatch):
    write_raw_dir(tmp_path, tiny_specs)
    calls = []

    def no_network(*args, **kwargs):
        calls.append(args)
        raise AssertionError("network call")

    for module, name in [(socket, "create_connection"), (socket, "getaddrinfo"), (urllib.request, "urlopen")]:
        monkeypatch.setattr(module, name, no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)

    train, test = load_fashion_mnist(tmp_path)

    assert calls == []
    assert (len(train), len(test)) == (TRAIN_COUNT, TEST_COUNT)



def test_files_from_two_sources(tmp_path, tiny_specs, url_opener, monkeypatch, caplog):
    archives = {f"{name}.gz": gzip.compress(content) for name, content in tiny_specs.items()}
    monkeypatch.setattr(FashionMNIST, "resources", [(name, hashlib.md5(data).hexdigest()) for name, data in archives.items()])
    url_opener(lambda url: forbidden(url) if "t10k-labels" in url else Response(url, archives[url.rsplit("/", 1)[1]]))
    debian_dir = write_gz_dir(tmp_path / "debian", {"t10k-labels-idx1-ubyte": tiny_specs["t10k-labels-idx1-ubyte"]})

    with caplog.at_level(logging.INFO, logger="ignite_fashion"):
        train, test = load_fashion_mnist(tmp_path / "data", debian_dir=debian_dir)

    assert "train-images-idx3-ubyte taken from the torchvision download" in caplog.text
    assert "t10k-labels-idx1-ubyte taken from the Debian package files" in caplog.text
    assert (len(train), len(test)) == (TRAIN_COUNT, TEST_COUNT)


def corrupt_gzip_body(content: bytes) -> bytes:
    """Gzip ``content``, then damage the compressed data after the 10-byte header."""
    compressed = bytearray(gzip.compress(content))
    compressed[12:40] = b"\xff" * 28
    return bytes(compressed)


def test_corrupt_gz_body_replaced_from_debian(tmp_path, tiny_specs, no_network, caplog):
    raw_dir = tmp_path / "data" / "FashionMNIST" / "raw"
    write_gz_dir(raw_dir, tiny_specs)
    (raw_dir / "train-images-idx3-ubyte.gz").write_bytes(corrupt_gzip_body(tiny_specs["train-images-idx3-ubyte"]))
    debian_dir = write_gz_dir(tmp_path / "debian", tiny_specs)

    with caplog.at_level(logging.WARNING, logger="ignite_fashion"):
        train, _ = load_fashion_mnist(tmp_path / "data", debian_dir=debian_dir)

    assert f"Not using {raw_dir / 'train-images-idx3-ubyte.gz'}: cannot decompress" in caplog.text
    assert (raw_dir / "train-images-idx3-ubyte").read_bytes() == tiny_specs["train-images-idx3-ubyte"]
    assert len(train) == TRAIN_COUNT


def test_folder_in_place_of_data_file_named(tmp_path, tiny_specs, no_network):
    raw_dir = write_raw_dir(tmp_path / "data", {name: content for name, content in tiny_specs.items() if "t10k-labels" not in name})
    folder = raw_dir / "t10k-labels-idx1-ubyte"
    folder.mkdir()
    debian_dir = write_gz_dir(tmp_path / "debian", tiny_specs)

    with pytest.raises(DataError) as raised:
        load_fashion_mnist(tmp_path / "data", debian_dir=debian_dir)

    message = str(raised.value)
    assert f"{folder}: not a regular file: remove it, so that a good copy can take its place" in message
    assert f"{folder}: cannot be replaced" in message
    folder.rmdir()
    _, test = load_fashion_mnist(tmp_path / "data", debian_dir=debian_dir)
    assert len(test) == TEST_COUNT


def test_pipe_in_place_of_data_file_replaced(tmp_path, tiny_specs, no_network, caplog):
    # Opening a pipe would block until something writes to it.
    raw_dir = write_raw_dir(tmp_path / "data", {name: content for name, content in tiny_specs.items() if "t10k-labels" not in name})
    os.mkfifo(raw_dir / "t10k-labels-idx1-ubyte")
    debian_dir = write_gz_dir(tmp_path / "debian", tiny_specs)

    with caplog.at_level(logging.WARNING, logger="ignite_fashion"):
        _, test = load_fashion_mnist(tmp_path / "data", debian_dir=debian_dir)

    assert "t10k-labels-idx1-ubyte: not a regular file" in caplog.text
    assert (raw_dir / "t10k-labels-idx1-ubyte").read_bytes() == tiny_specs["t10k-labels-idx1-ubyte"]
    assert len(test) == TEST_COUNT


def test_debian_source_uses_its_good_files(tmp_path, tiny_specs, no_network, caplog):
    debian = {name: content for name, content in tiny_specs.items() if name.startswith("train")}
    debian_dir = write_gz_dir(tmp_path / "debian", debian)
    (debian_dir / "train-images-idx3-ubyte.gz").write_bytes(b"junk")
    write_raw_dir(tmp_path / "data", {name: content for name, content in tiny_specs.items() if name.startswith("t10k")})

    with pytest.raises(DataError) as raised:
        load_fashion_mnist(tmp_path / "data", debian_dir=debian_dir)

    message = str(raised.value)
    assert f"cannot decompress {debian_dir / 'train-images-idx3-ubyte.gz'}: Not a gzipped file" in message
    assert "too short for an IDX header" not in message
    raw_files = sorted(path.name for path in (tmp_path / "data" / "FashionMNIST" / "raw").iterdir())
    assert raw_files == ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", "train-labels-idx1-ubyte"]
