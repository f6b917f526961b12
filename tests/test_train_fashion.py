"""The example script: argument checks, and one end-to-end run on a subset of the real FashionMNIST."""

import functools
import importlib.util
import json
import math
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from ignite_fashion import load_fashion_mnist

SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "train_fashion.py"


@pytest.fixture(scope="module")
def train_fashion():
    spec = importlib.util.spec_from_file_location("train_fashion", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    "flag, value, message",
    [
        ("--epochs", "0", "must be at least 1, got 0"),
        ("--batch-size", "-3", "must be at least 1, got -3"),
        ("--lr", "0", "must be greater than 0, got 0.0"),
        ("--momentum", "1", "must be in [0, 1), got 1.0"),
        ("--weight-decay", "-1e-4", "must be 0 or more, got -0.0001"),
        ("--val-fraction", "1.5", "must be between 0 and 1 (exclusive), got 1.5"),
        ("--val-fraction", "0", "must be between 0 and 1 (exclusive), got 0.0"),
        ("--eval-batch-size", "0", "must be at least 1, got 0"),
        ("--lr-gamma", "0", "must be in (0, 1], got 0.0"),
        ("--subset", "0", "must be at least 1, got 0"),
        ("--batch-size", "99999999999999999999", "must be at most 2147483647, got 99999999999999999999"),
        ("--patience", "0", "must be at least 1, got 0"),
        ("--seed", "-1", "must be between 0 and 4294967295, got -1"),
        ("--seed", "4294967296", "must be between 0 and 4294967295, got 4294967296"),
        ("--epochs", "abc", "invalid int value 'abc'"),
        ("--lr", "inf", "must be a finite number, got 'inf'"),
        ("--lr", "nan", "must be a finite number, got 'nan'"),
        ("--name", "a/b", "must be a plain folder name without '/', got 'a/b'"),
    ],
)
def test_invalid_flag_exits_2(train_fashion, tmp_path, capsys, flag, value, message):
    with pytest.raises(SystemExit) as raised:
        train_fashion.main([f"{flag}={value}", "--output-dir", str(tmp_path)])

    assert raised.value.code == 2
    assert f"argument {flag}: {message}" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "device, message",
    [
        ("tpu", "invalid device 'tpu': use cpu, cuda, cuda:N, mps or auto"),
        ("cuda", "device 'cuda' requested but CUDA is not available here: use --device cpu"),
        ("cuda:1", "device 'cuda:1' requested but CUDA is not available here: use --device cpu"),
    ],
)
def test_unavailable_device_exits_2(train_fashion, tmp_path, capsys, monkeypatch, device, message):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)

    with pytest.raises(SystemExit) as raised:
        train_fashion.main(["--device", device, "--output-dir", str(tmp_path)])

    assert raised.value.code == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_output_dir_that_is_a_file_exits_2(train_fashion, tmp_path, capsys):
    output_file = tmp_path / "runs"
    output_file.write_text("keep me")

    with pytest.raises(SystemExit) as raised:
        train_fashion.main(["--output-dir", str(output_file)])

    assert raised.value.code == 2
    assert f"cannot create a run directory in --output-dir {output_file}" in capsys.readouterr().err
    assert output_file.read_text() == "keep me"


def test_unwritable_output_dir_exits_2(train_fashion, tmp_path, capsys, monkeypatch):
    # Tests may run as root, which no file mode stops, so the refusal is simulated at mkdir.
    output_dir = tmp_path / "runs"
    real_mkdir = Path.mkdir

    def reject_inside(path, *args, **kwargs):
        if Path(path).parent == output_dir:
            raise PermissionError(13, "Permission denied", str(path))
        return real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", reject_inside)
    with pytest.raises(SystemExit) as raised:
        train_fashion.main(["--output-dir", str(output_dir)])

    assert raised.value.code == 2
    assert f"cannot create a run directory in --output-dir {output_dir}: [Errno 13] Permission denied" in (
        capsys.readouterr().err
    )


def test_unreachable_data_exits_1(train_fashion, tmp_path, capsys, monkeypatch):
    def unreachable(request, *args, **kwargs):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(urllib.request, "urlopen", unreachable)
    monkeypatch.setattr(
        train_fashion, "load_fashion_mnist", functools.partial(load_fashion_mnist, debian_dir=tmp_path / "no-debian")
    )

    status = train_fashion.main(["--data-dir", str(tmp_path / "data"), "--output-dir", str(tmp_path / "runs")])

    assert status == 1
    error = capsys.readouterr().err
    assert "No good copy of FashionMNIST" in error
    assert "t10k-labels-idx1-ubyte.gz: not tried, this mirror was unreachable" in error
    assert [path for path in (tmp_path / "data").rglob("*") if path.is_file()] == []


@pytest.mark.real_data
def test_real_subset_trains_above_70_percent(train_fashion, tmp_path, capsys):
    # 4,000 images split into 3,000 train and 1,000 validation; two epochs of batch 16 take seconds.
    argv = [
        "--subset", "4000", "--epochs", "2", "--batch-size", "16", "--lr", "0.05",
        "--data-dir", str(tmp_path / "data"), "--no-download", "--output-dir", str(tmp_path / "runs"),
    ]

    assert train_fashion.main(argv) == 0

    (run_dir,) = (tmp_path / "runs").iterdir()
    history = json.loads((run_dir / "history.json").read_text())
    assert [record["epoch"] for record in history] == [1, 2]
    assert history[-1]["val_accuracy"] > 0.70
    assert len(history[-1]["val_confusion_matrix"]) == 10
    assert sum(map(sum, history[-1]["val_confusion_matrix"])) == 1000
    test_metrics = json.loads((run_dir / "test_metrics.json").read_text())
    assert sum(map(sum, test_metrics["confusion_matrix"])) == 4000
    assert test_metrics["accuracy"] > 0.70
    config = json.loads((run_dir / "config.json").read_text())
    assert config["epochs"] == 2
    assert config["seed"] == 0
    events = EventAccumulator(str(run_dir / "tensorboard")).Reload()
    # One point per 10 iterations (--log-every): 2 x 188 iterations.
    assert len(events.Scalars("training/batch_loss")) == 2 * math.ceil(3000 / 16) // 10
    assert [event.value for event in events.Scalars("validation/accuracy")] == pytest.approx(
        [record["val_accuracy"] for record in history]
    )
    assert events.Scalars("test/accuracy")[0].value == pytest.approx(test_metrics["accuracy"])
    assert "FashionMNIST" in (run_dir / "train.log").read_text()
    output = capsys.readouterr().out
    assert "epoch  2/2" in output
    assert "test  loss" in output


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--subset", "7", "--val-fraction", "0.9"], "--subset 7 with --val-fraction 0.9: val_fraction 0.9 of 7 samples "
         "leaves no sample for training: use a val_fraction of at most 0.857, or more samples"),
        (["--subset", "1"], "--subset 1 with --val-fraction 0.25: train and validation need at least 2 samples, got 1"),
        (["--data-dir", "README.md"], "--data-dir README.md is not a folder: pass a folder, for example --data-dir data"),
    ],
)
def test_data_flags_checked_before_run_directory(train_fashion, tmp_path, capsys, monkeypatch, flags, message):
    monkeypatch.chdir(Path(__file__).resolve().parents[1])

    with pytest.raises(SystemExit) as raised:
        train_fashion.main([*flags, "--output-dir", str(tmp_path)])

    assert raised.value.code == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
