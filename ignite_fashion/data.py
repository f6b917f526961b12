"""FashionMNIST: find, verify and load the files, split them, and build the DataLoaders.

The four IDX files are looked for in this order:

1. the data directory, in torchvision's layout ``<data_dir>/FashionMNIST/raw/`` (decompressed
   files, or the ``.gz`` files, which are decompressed there);
2. torchvision's download from its mirrors, with torchvision's MD5 checks;
3. the Debian package ``dataset-fashion-mnist`` (``/usr/share/datasets/fashion-mnist/``).

Every file is checked before use: IDX magic number, item count, 28x28 image size, labels 0-9 and
the SHA-256 of the decompressed bytes. A file that fails a check is never used, and it is replaced
only by a copy that passes them.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import logging
import math
import os
import shutil
import socket
import struct
import tempfile
import urllib.error
import zlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Subset, SubsetRandomSampler, default_collate

logger = logging.getLogger(__name__)

CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
"""FashionMNIST class names in label order: label 0 is "T-shirt/top", label 9 is "Ankle boot"."""

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
"""Folder of the four ``.gz`` files installed by Debian's ``dataset-fashion-mnist`` package."""

MAX_SEED = 2**32 - 1
"""Largest seed of :func:`split_indices` and :func:`build_loaders`: scikit-learn's limit for a seed."""

DEFAULT_EVAL_BATCH_SIZE = 256
"""Validation and test batch size of :func:`build_loaders` when none is given.

Evaluation keeps no activations for a backward pass, so larger batches cost little memory and
spread the per-batch overhead over more images. Of the sizes 36 to 2048, 256 evaluated the most
images per second on a shared 2-core x86-64 CPU with torch 2.14.1 (three noisy rounds).
"""

IMAGE_SIZE = 28
NUM_CLASSES = len(CLASS_NAMES)
TRAIN_IMAGES = 60_000
"""Number of images in the FashionMNIST training files (the test files contain 10,000)."""

# IDX magic numbers: two zero bytes, the element type (0x08 = unsigned byte), the number of dimensions.
_IMAGES_MAGIC = 0x00000803
_LABELS_MAGIC = 0x00000801


class _FileSpec(NamedTuple):
    name: str
    magic: int
    count: int
    sha256: str


# SHA-256 of the decompressed original files, computed once from the published FashionMNIST data.
_FILES = (
    _FileSpec(
        "train-images-idx3-ubyte",
        _IMAGES_MAGIC,
        TRAIN_IMAGES,
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    ),
    _FileSpec(
        "train-labels-idx1-ubyte",
        _LABELS_MAGIC,
        TRAIN_IMAGES,
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    ),
    _FileSpec(
        "t10k-images-idx3-ubyte",
        _IMAGES_MAGIC,
        10_000,
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    ),
    _FileSpec(
        "t10k-labels-idx1-ubyte",
        _LABELS_MAGIC,
        10_000,
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    ),
)

_DOWNLOAD_TIMEOUT_SECONDS = 30


class DataError(RuntimeError):
    """Raised when FashionMNIST cannot be found, or a file fails its checks."""


class ImageDataset(Dataset):
    """In-memory image classification dataset of uint8 images, returned as float tensors.

    ``dataset[i]`` returns ``(image, label)`` with ``image`` a float32 tensor of shape
    ``(1, H, W)`` scaled to [0, 1] by dividing by 255, the same values as
    ``torchvision.transforms.ToTensor()`` gives for the same 8-bit grayscale image.

    A DataLoader fetches a whole batch through ``__getitems__``, which converts all of its images
    in one tensor operation. With :func:`collate_image_batch` as the loader's ``collate_fn`` (as
    :func:`build_loaders` sets it), that batch goes to the model as is. With the default collate
    function, the batch is split into samples and stacked again, with the same values.

    Args:
        images: uint8 tensor of shape ``(N, H, W)``.
        targets: integer tensor of shape ``(N,)``.

    Example:
        >>> images = torch.tensor([[[0, 128, 255]]], dtype=torch.uint8)
        >>> image, label = ImageDataset(images, torch.tensor([3]))[0]
        >>> image
        tensor([[[0.0000, 0.5020, 1.0000]]])
        >>> label
        3
    """

    def __init__(self, images: torch.Tensor, targets: torch.Tensor) -> None:
        if images.dtype != torch.uint8 or images.ndim != 3:
            raise ValueError(
                f"images must be a uint8 tensor of shape (N, H, W), got {images.dtype} of shape "
                f"{tuple(images.shape)}"
            )
        if targets.shape != (len(images),):
            raise ValueError(
                f"targets must have shape ({len(images)},) to match the images, got {tuple(targets.shape)}"
            )
        self.images = images
        self.targets = targets

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        image = self.images[index].unsqueeze(0).to(torch.float32).div(255)
        return image, int(self.targets[index])

    def __getitems__(self, indices: Sequence[int]) -> ImageBatch:
        # torch's map-style fetcher calls this, and Subset forwards to it, with the sampler's indices.
        index = torch.as_tensor(indices, dtype=torch.long)
        images = self.images.index_select(0, index).unsqueeze(1).to(torch.float32).div(255)
        targets = self.targets.index_select(0, index).to(torch.long)
        return ImageBatch(images, targets)


class ImageBatch(Sequence):
    """A batch converted in one step: float32 ``images`` of shape ``(B, 1, H, W)`` and int64 ``targets``.

    It is also a sequence of ``(image, label)`` samples, so torch's default collate function
    turns it back into the same two tensors.
    """

    def __init__(self, images: torch.Tensor, targets: torch.Tensor) -> None:
        self.images = images
        self.targets = targets

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.images[index], int(self.targets[index])


def collate_image_batch(batch):
    """Return an :class:`ImageBatch` as ``[images, targets]`` without copying; collate anything else with ``default_collate``.

    The output has the types and values ``default_collate`` gives for the same samples.

    Example:
        >>> images = torch.tensor([[[0, 255]], [[51, 0]]], dtype=torch.uint8)
        >>> dataset = ImageDataset(images, torch.tensor([3, 1]))
        >>> loader = DataLoader(dataset, batch_size=2, collate_fn=collate_image_batch)
        >>> next(iter(loader))
        [tensor([[[[0.0000, 1.0000]]],
        <BLANKLINE>
        <BLANKLINE>
                [[[0.2000, 0.0000]]]]), tensor([3, 1])]
    """
    if isinstance(batch, ImageBatch):
        return [batch.images, batch.targets]
    return default_collate(batch)


class Loaders(NamedTuple):
    """The three DataLoaders of a run."""

    train: DataLoader
    val: DataLoader
    test: DataLoader


def load_fashion_mnist(
    data_dir: str | os.PathLike,
    *,
    download: bool = True,
    debian_dir: str | os.PathLike | None = DEBIAN_DIR,
) -> tuple[ImageDataset, ImageDataset]:
    """Find, verify and load FashionMNIST.

    Args:
        data_dir: folder that holds, or will hold, ``FashionMNIST/raw/`` with the four IDX files.
        download: try torchvision's mirrors when the data directory lacks a file.
        debian_dir: folder with the Debian package's ``.gz`` files, or None to skip that source.

    Returns:
        The 60,000 training images and the 10,000 test images.

    Raises:
        DataError: no source gave a file that passes the checks. The message names every place
            tried and the ways to supply the data.
    """
    raw_dir = prepare_fashion_mnist(data_dir, download=download, debian_dir=debian_dir)
    train = ImageDataset(
        _read_idx(raw_dir / "train-images-idx3-ubyte"), _read_idx(raw_dir / "train-labels-idx1-ubyte")
    )
    test = ImageDataset(
        _read_idx(raw_dir / "t10k-images-idx3-ubyte"), _read_idx(raw_dir / "t10k-labels-idx1-ubyte")
    )
    return train, test


def prepare_fashion_mnist(
    data_dir: str | os.PathLike,
    *,
    download: bool = True,
    debian_dir: str | os.PathLike | None = DEBIAN_DIR,
) -> Path:
    """Make sure ``<data_dir>/FashionMNIST/raw/`` contains the four verified IDX files.

    Returns:
        The ``raw`` folder.

    Raises:
        DataError: as in :func:`load_fashion_mnist`.
    """
    data_dir = Path(data_dir).expanduser()
    if data_dir.exists() and not data_dir.is_dir():
        raise DataError(f"data directory {data_dir} is not a folder: pass a folder, for example --data-dir data")
    raw_dir = data_dir / "FashionMNIST" / "raw"
    problems: list[str] = []

    missing = _files_needing_a_source(raw_dir, problems)
    if not missing:
        logger.info("FashionMNIST found in the data directory %s", raw_dir)
        return raw_dir

    try:
        raw_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DataError(f"cannot create {raw_dir}: {error}. Pass a writable folder as the data directory") from error

    sources = []
    if download:
        sources.append(("torchvision download", _fetch_by_download))
    else:
        problems.append("torchvision download: skipped (download=False)")
    if debian_dir is not None:
        sources.append((f"Debian package files in {debian_dir}", _debian_fetcher(Path(debian_dir))))

    for source_name, fetch in sources:
        missing = _fill_from_source(raw_dir, missing, source_name, fetch, problems)
        if not missing:
            return raw_dir

    raise DataError(_no_source_message(raw_dir, missing, problems, download=download, debian_dir=debian_dir))


def _files_needing_a_source(raw_dir: Path, problems: list[str]) -> list[_FileSpec]:
    """Check the data directory, decompress ``.gz`` copies found there, and list what is still missing."""
    missing = []
    for spec in _FILES:
        path = raw_dir / spec.name
        if path.exists():
            try:
                _verify_file(path, spec)
                continue
            except DataError as error:
                problems.append(f"{path}: {error}")
                logger.warning("Not using %s: %s; looking for a good copy elsewhere", path, error)

        gz_path = raw_dir / (spec.name + ".gz")
        if not path.exists() and not gz_path.exists():
            problems.append(f"{path}: not found")
        if gz_path.exists():
            try:
                _decompress_verified(gz_path, spec, raw_dir)
                logger.info("Decompressed %s", gz_path)
                continue
            except DataError as error:
                problems.append(f"{gz_path}: {error}")
                logger.warning("Not using %s: %s", gz_path, error)
        missing.append(spec)
    return missing


def _fill_from_source(
    raw_dir: Path,
    missing: list[_FileSpec],
    source_name: str,
    fetch: Callable[[Path, Sequence[_FileSpec]], None],
    problems: list[str],
) -> list[_FileSpec]:
    """Fetch the missing files from one source into a staging folder, and move the good ones into place."""
    logger.info("Fetching %s from the %s", ", ".join(spec.name for spec in missing), source_name)
    still_missing = []
    with tempfile.TemporaryDirectory(dir=raw_dir.parent, prefix=".staging-") as staging:
        staging_dir = Path(staging)
        # A source that fails for some files may still have provided the others.
        failed = False
        try:
            fetch(staging_dir, missing)
        except Exception as error:  # noqa: BLE001 - any failure of a source means trying the next one
            failed = True
            problems.append(f"{source_name}: {error}".strip())
            logger.info("%s failed, trying the next source: %s", source_name, error)
        for spec in missing:
            fetched = staging_dir / spec.name
            if failed and not fetched.exists():
                still_missing.append(spec)
                continue
            try:
                if not fetched.exists():
                    raise DataError("the source did not provide this file")
                _verify_file(fetched, spec)
            except DataError as error:
                problems.append(f"{source_name}, {spec.name}: {error}")
                logger.warning("%s gave a bad %s: %s", source_name, spec.name, error)
                still_missing.append(spec)
                continue
            try:
                _move_into_place(fetched, raw_dir / spec.name)
            except DataError as error:
                problems.append(f"{raw_dir / spec.name}: {error}")
                still_missing.append(spec)
                continue
            logger.info("FashionMNIST %s taken from the %s", spec.name, source_name)
    return still_missing


def _fetch_by_download(staging_dir: Path, missing: Sequence[_FileSpec]) -> None:
    """Download with torchvision's FashionMNIST mirrors and MD5 list, then decompress into staging_dir.

    Every missing file is tried, so the error names every address. A mirror that cannot be reached
    is not asked again for the following files.
    """
    from torchvision.datasets import FashionMNIST
    from torchvision.datasets.utils import download_and_extract_archive

    md5_by_name = dict(FashionMNIST.resources)
    unreachable = set()
    failures = []
    with _socket_timeout(_DOWNLOAD_TIMEOUT_SECONDS):
        for spec in missing:
            archive = spec.name + ".gz"
            errors = []
            for mirror in FashionMNIST.mirrors:
                url = mirror + archive
                if mirror in unreachable:
                    errors.append(f"{url}: not tried, this mirror was unreachable")
                    continue
                try:
                    download_and_extract_archive(
                        url, download_root=str(staging_dir), filename=archive, md5=md5_by_name[archive]
                    )
                    break
                except (OSError, RuntimeError) as error:
                    errors.append(f"{url}: {_download_error(error)}")
                    if _is_unreachable(error):
                        unreachable.add(mirror)
            else:
                failures.extend(errors)
    if failures:
        raise DataError("these addresses failed:" + "".join(f"\n      {failure}" for failure in failures))


def _download_error(error: Exception) -> str:
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code} {error.reason}"
    if isinstance(error, urllib.error.URLError):
        return f"cannot connect: {error.reason}"
    if isinstance(error, RuntimeError) and "corrupted" in str(error):
        return "the download was incomplete or failed its MD5 check"
    return str(error) or type(error).__name__


def _is_unreachable(error: Exception) -> bool:
    """Tell whether the error means the host could not be reached at all, rather than one failed transfer."""
    if isinstance(error, urllib.error.HTTPError):
        return False
    if isinstance(error, urllib.error.URLError):
        return True
    return isinstance(error, (TimeoutError, ConnectionRefusedError))


def _debian_fetcher(debian_dir: Path):
    def fetch(staging_dir: Path, missing: Sequence[_FileSpec]) -> None:
        errors = []
        for spec in missing:
            gz_path = debian_dir / (spec.name + ".gz")
            if not gz_path.exists():
                errors.append(f"{gz_path} not found")
                continue
            try:
                _decompress(gz_path, staging_dir / spec.name)
            except DataError as error:
                errors.append(str(error))
        if errors:
            raise DataError("; ".join(errors))

    return fetch


def _decompress(gz_path: Path, target: Path) -> None:
    """Decompress gz_path into target. On failure, remove the partial target and raise DataError."""
    if not gz_path.is_file():
        raise DataError(f"cannot decompress {gz_path}: not a regular file")
    try:
        with gzip.open(gz_path, "rb") as source, open(target, "wb") as destination:
            shutil.copyfileobj(source, destination, length=1 << 20)
    except (OSError, EOFError, zlib.error) as error:
        target.unlink(missing_ok=True)
        raise DataError(f"cannot decompress {gz_path}: {error}") from error


def _decompress_verified(gz_path: Path, spec: _FileSpec, raw_dir: Path) -> None:
    """Decompress gz_path next to it only if the result passes the checks, so no bad file is left behind."""
    with tempfile.TemporaryDirectory(dir=raw_dir, prefix=".staging-") as staging:
        target = Path(staging) / spec.name
        _decompress(gz_path, target)
        _verify_file(target, spec)
        _move_into_place(target, raw_dir / spec.name)


def _move_into_place(source: Path, target: Path) -> None:
    try:
        os.replace(source, target)
    except OSError as error:
        raise DataError(f"cannot be replaced ({error}): remove it") from error


def _verify_file(path: Path, spec: _FileSpec) -> None:
    """Check the IDX header, size, label range and SHA-256 of one decompressed file."""
    is_images = spec.magic == _IMAGES_MAGIC
    header_size = 16 if is_images else 8
    item_size = IMAGE_SIZE * IMAGE_SIZE if is_images else 1

    # A folder or a pipe in place of the file would fail to open or block forever.
    if not path.is_file():
        raise DataError("not a regular file: remove it, so that a good copy can take its place")
    with open(path, "rb") as file:
        header = file.read(header_size)
    if len(header) < header_size:
        raise DataError(f"file too short for an IDX header ({len(header)} bytes)")
    magic, count = struct.unpack(">II", header[:8])
    if magic != spec.magic:
        raise DataError(f"wrong IDX magic number 0x{magic:08x}, expected 0x{spec.magic:08x}")
    if count != spec.count:
        raise DataError(f"contains {count} items, expected {spec.count}")
    if is_images:
        rows, cols = struct.unpack(">II", header[8:16])
        if (rows, cols) != (IMAGE_SIZE, IMAGE_SIZE):
            raise DataError(f"images are {rows}x{cols}, expected {IMAGE_SIZE}x{IMAGE_SIZE}")
    expected_size = header_size + count * item_size
    actual_size = path.stat().st_size
    if actual_size != expected_size:
        raise DataError(f"file is {actual_size} bytes, expected {expected_size}")
    if not is_images:
        labels = np.fromfile(path, dtype=np.uint8, offset=header_size)
        if labels.max() >= NUM_CLASSES:
            raise DataError(f"label {int(labels.max())} outside 0-{NUM_CLASSES - 1}")
    digest = _sha256(path)
    if digest != spec.sha256:
        raise DataError(f"SHA-256 {digest} does not match the original file's {spec.sha256}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_idx(path: Path) -> torch.Tensor:
    from torchvision.datasets.mnist import read_sn3_pascalvincent_tensor

    return read_sn3_pascalvincent_tensor(str(path))


@contextlib.contextmanager
def _socket_timeout(seconds: float) -> Iterator[None]:
    # torchvision 0.29 calls urlopen without a timeout, so an unanswered connection would hang forever.
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def _no_source_message(
    raw_dir: Path,
    missing: Sequence[_FileSpec],
    problems: Sequence[str],
    *,
    download: bool,
    debian_dir: str | os.PathLike | None,
) -> str:
    tried = "\n".join(f"  - {problem}" for problem in problems)
    names = ", ".join(spec.name for spec in missing)
    download_fix = "allow internet access, so torchvision can download the files"
    if not download:
        download_fix += " (download is off: drop --no-download, or pass download=True)"
    debian_fix = "install the Debian package: apt-get install dataset-fashion-mnist"
    if debian_dir is None:
        debian_fix += " (this source is off: pass debian_dir)"
    return (
        f"No good copy of FashionMNIST {names} was found.\n"
        f"Places tried:\n{tried}\n"
        "To fix, do one of:\n"
        f"  - {download_fix};\n"
        f"  - {debian_fix};\n"
        "  - copy the four original files (train-images-idx3-ubyte, train-labels-idx1-ubyte,"
        f" t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, decompressed or as .gz) into {raw_dir},"
        " replacing any damaged copy."
    )


def check_split(count: int, val_fraction: float) -> None:
    """Check that ``count`` samples split by ``val_fraction`` leave samples for both parts.

    Raises:
        ValueError: the fraction is outside (0, 1), or either part would be empty.

    Example:
        >>> check_split(7, 0.9)
        Traceback (most recent call last):
        ...
        ValueError: val_fraction 0.9 of 7 samples leaves no sample for training: use a val_fraction of at most 0.857, or more samples
    """
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be between 0 and 1 (exclusive), got {val_fraction}")
    if count < 2:
        raise ValueError(f"train and validation need at least 2 samples, got {count}")
    # scikit-learn rounds the validation share up, so a large fraction of a few samples leaves none to train on.
    if math.ceil(val_fraction * count) >= count:
        raise ValueError(
            f"val_fraction {val_fraction} of {count} samples leaves no sample for training: "
            f"use a val_fraction of at most {(count - 1) / count:.3g}, or more samples"
        )


def split_indices(
    targets: Sequence[int] | torch.Tensor | np.ndarray,
    *,
    val_fraction: float = 0.25,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Split dataset indices into train and validation, stratified by class.

    scikit-learn's ``train_test_split`` draws from its own generator seeded with ``seed``, so the
    global RNG does not change the split. Where stratifying is impossible (a class with a single
    sample, or fewer validation samples than classes), the split falls back to a plain seeded one and
    logs one warning.

    Args:
        targets: class label of each sample.
        val_fraction: share of samples for validation, in (0, 1).
        seed: seed of the split.

    Returns:
        ``(train_indices, val_indices)``, each sorted ascending; together they cover every index once.

    Example:
        >>> train, val = split_indices([0, 0, 0, 0, 1, 1, 1, 1], val_fraction=0.25, seed=0)
        >>> len(train), len(val)
        (6, 2)
    """
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed must be between 0 and {MAX_SEED}, got {seed}")
    labels = np.asarray(targets)
    check_split(len(labels), val_fraction)
    from sklearn.model_selection import train_test_split

    indices = np.arange(len(labels))
    try:
        train, val = train_test_split(indices, test_size=val_fraction, random_state=seed, stratify=labels)
    except ValueError as error:
        logger.warning("Stratified split impossible (%s); using a plain seeded split", error)
        train, val = train_test_split(indices, test_size=val_fraction, random_state=seed)
    return np.sort(train), np.sort(val)


def build_loaders(
    train_set: Dataset,
    test_set: Dataset,
    *,
    batch_size: int = 36,
    eval_batch_size: int | None = None,
    val_fraction: float = 0.25,
    seed: int = 0,
    num_workers: int = 0,
) -> Loaders:
    """Split ``train_set`` into train and validation, and build the three DataLoaders.

    The train loader shuffles with its own generator seeded with ``seed``, one permutation per
    epoch, so restoring the generator's state restores the batch order. The validation and test
    loaders keep dataset order. All three collate with :func:`collate_image_batch`, so an
    :class:`ImageDataset` is converted one whole batch at a time; the batches and their order are
    the same as with per-sample conversion.

    Args:
        train_set: dataset with a ``targets`` attribute, split by :func:`split_indices`.
        test_set: held-out dataset, evaluated at the end.
        batch_size: training batch size.
        eval_batch_size: validation and test batch size; ``None`` means the larger of
            ``batch_size`` and :data:`DEFAULT_EVAL_BATCH_SIZE`. Metric values do not depend on
            it, apart from float rounding in the mean loss.
        val_fraction: share of ``train_set`` used for validation.
        seed: seed of the split and of the shuffling.
        num_workers: DataLoader worker processes. With the default 0, batches are built in the
            main process, which suits an :class:`ImageDataset`: a batch is one indexing
            operation, and worker processes would compete with torch's threads for the cores.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    eval_batch_size = max(batch_size, DEFAULT_EVAL_BATCH_SIZE) if eval_batch_size is None else eval_batch_size
    if eval_batch_size < 1:
        raise ValueError(f"eval_batch_size must be at least 1, got {eval_batch_size}")

    train_indices, val_indices = split_indices(train_set.targets, val_fraction=val_fraction, seed=seed)
    generator = torch.Generator().manual_seed(seed)
    # Not shuffle=True: RandomSampler draws one more permutation once its iterator runs past the
    # last index. ignite stops at the epoch length and only finishes that iterator at the start of
    # the next epoch, after the epoch's checkpoint, so a resumed run would shuffle differently.
    # SubsetRandomSampler draws exactly one permutation per epoch, at the epoch's first batch.
    train_subset = Subset(train_set, train_indices.tolist())
    train = DataLoader(
        train_subset,
        batch_size=batch_size,
        sampler=SubsetRandomSampler(range(len(train_subset)), generator=generator),
        generator=generator,
        num_workers=num_workers,
        collate_fn=collate_image_batch,
    )
    val = DataLoader(
        Subset(train_set, val_indices.tolist()),
        batch_size=eval_batch_size,
        num_workers=num_workers,
        collate_fn=collate_image_batch,
    )
    test = DataLoader(test_set, batch_size=eval_batch_size, num_workers=num_workers, collate_fn=collate_image_batch)
    logger.info(
        "Split %d images into %d train and %d validation (seed %d); %d test images",
        len(train_set),
        len(train_indices),
        len(val_indices),
        seed,
        len(test_set),
    )
    return Loaders(train, val, test)
