"""The example script end to end on tiny synthetic data: run directory, resume, divergence."""

import json
import errno
import math
import resource
import shutil
from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from conftest import load_synthetic_example

# 120 training images split into 90 train and 30 validation: 6 full batches of 15 per epoch. Full
# batches matter: they leave the sampler unfinished at the end of each epoch.
EPOCH_LENGTH = 6


class Crash(Exception):
    """Stands in for a killed process."""

    @classmethod
    def throw(cls, *_):
        raise cls()


@pytest.fixture(scope="module")
def train_fashion():
    return load_synthetic_example()


def run(train_fashion, output_dir, *extra):
    argv = [
        "--batch-size", "15", "--lr", "0.05", "--max-misclassified", "4",
        "--output-dir", str(output_dir), "--no-download", "-q", *extra,
    ]
    return train_fashion.main(argv)


def only_run_dir(output_dir):
    (run_dir,) = Path(output_dir).iterdir()
    return run_dir


@pytest.fixture(scope="module")
def uninterrupted(train_fashion, tmp_path_factory):
    output_dir = tmp_path_factory.mktemp("uninterrupted")
    assert run(train_fashion, output_dir, "--epochs", "4") == 0
    return only_run_dir(output_dir)


def model_state(checkpoint_path):
    return torch.load(checkpoint_path, weights_only=True)["model"]


def test_run_directory_layout(uninterrupted):
    names = {path.name for path in uninterrupted.iterdir()}
    assert {"config.json", "history.json", "history.csv", "test_metrics.json", "report.html", "train.log"} <= names
    assert {"checkpoints", "tensorboard", "plots"} <= names
    checkpoints = sorted(path.name for path in (uninterrupted / "checkpoints").iterdir())
    assert "checkpoint_3.pt" in checkpoints
    assert "checkpoint_4.pt" in checkpoints
    assert len([name for name in checkpoints if name.startswith("best_checkpoint_")]) == 1
    plots = {path.name for path in (uninterrupted / "plots").iterdir()}
    assert {"loss.png", "accuracy.png", "precision_recall_f1.png"} <= plots
    for prefix in ("val", "test"):
        assert {
            f"{prefix}_confusion_matrix.png",
            f"{prefix}_confusion_matrix_normalized.png",
            f"{prefix}_misclassified.png",
        } <= plots


def test_test_metrics_use_best_checkpoint(uninterrupted):
    history = json.loads((uninterrupted / "history.json").read_text())
    best_epoch = max(history, key=lambda record: record["val_f1"])["epoch"]
    (best_file,) = (uninterrupted / "checkpoints").glob("best_checkpoint_*.pt")
    test_metrics = json.loads((uninterrupted / "test_metrics.json").read_text())

    assert best_file.name.startswith(f"best_checkpoint_{best_epoch}_")
    assert [row["class"] for row in test_metrics["per_class"]] == [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ]
    assert sum(row["support"] for row in test_metrics["per_class"]) == 40
    assert f"best_checkpoint_{best_epoch}_" in (uninterrupted / "report.html").read_text()
    assert test_metrics["source"] == {
        "checkpoint": best_file.name,
        "epoch": best_epoch,
        "validation_f1": pytest.approx(history[best_epoch - 1]["val_f1"]),
        "diverged_at_iteration": None,
    }


def test_tensorboard_has_scalars_and_images(uninterrupted):
    events = EventAccumulator(str(uninterrupted / "tensorboard"), size_guidance={"images": 0}).Reload()
    final_iteration = 4 * EPOCH_LENGTH

    history = json.loads((uninterrupted / "history.json").read_text())
    test_metrics = json.loads((uninterrupted / "test_metrics.json").read_text())
    for name in ("loss", "accuracy", "precision", "recall", "f1"):
        validation = events.Scalars(f"validation/{name}")
        assert [event.step for event in validation] == [6, 12, 18, 24], name
        assert [event.value for event in validation] == pytest.approx([record[f"val_{name}"] for record in history])
        (test,) = events.Scalars(f"test/{name}")
        assert test.step == final_iteration, name
        assert test.value == pytest.approx(test_metrics[name])
    image_tags = events.Tags()["images"]
    assert any("confusion" in tag and "val" in tag for tag in image_tags)
    assert any("misclassified" in tag and "test" in tag for tag in image_tags)


def test_resume_matches_uninterrupted_run(train_fashion, uninterrupted, tmp_path, monkeypatch):
    real_attach = train_fashion.attach_checkpoints

    def attach_then_crash_after_epoch_2(trainer, *args, **kwargs):
        handlers = real_attach(trainer, *args, **kwargs)

        @trainer.on(train_fashion.Events.EPOCH_COMPLETED(once=2))
        def crash(_):
            raise Crash()

        return handlers

    monkeypatch.setattr(train_fashion, "attach_checkpoints", attach_then_crash_after_epoch_2)
    with pytest.raises(Crash):
        run(train_fashion, tmp_path / "first", "--epochs", "4")
    monkeypatch.undo()
    crashed = only_run_dir(tmp_path / "first")
    assert len(json.loads((crashed / "history.json").read_text())) == 2

    assert run(train_fashion, tmp_path / "second", "--resume", str(crashed)) == 0

    resumed = only_run_dir(tmp_path / "second")
    history = json.loads((resumed / "history.json").read_text())
    assert [record["epoch"] for record in history] == [1, 2, 3, 4]
    assert history == json.loads((uninterrupted / "history.json").read_text())
    expected_state = model_state(uninterrupted / "checkpoints" / "checkpoint_4.pt")
    resumed_state = model_state(resumed / "checkpoints" / "checkpoint_4.pt")
    for name, tensor in expected_state.items():
        assert torch.equal(resumed_state[name], tensor), name
    trainer_state = torch.load(resumed / "checkpoints" / "checkpoint_4.pt", weights_only=True)["trainer"]
    assert trainer_state["iteration"] == 4 * EPOCH_LENGTH
    assert (resumed / "checkpoints" / "checkpoint_3.pt").exists()
    assert not (resumed / "checkpoints" / "checkpoint_2.pt").exists()
    events = EventAccumulator(str(resumed / "tensorboard")).Reload()
    assert [event.step for event in events.Scalars("validation/f1")] == [18, 24]


@pytest.fixture(scope="module")
def two_epoch_run(train_fashion, tmp_path_factory):
    output_dir = tmp_path_factory.mktemp("two_epochs")
    assert run(train_fashion, output_dir, "--epochs", "2") == 0
    return only_run_dir(output_dir)


def test_resume_extends_finished_run(train_fashion, two_epoch_run, tmp_path):
    assert run(train_fashion, tmp_path, "--resume", str(two_epoch_run), "--epochs", "4") == 0

    resumed = only_run_dir(tmp_path)
    history = json.loads((resumed / "history.json").read_text())
    assert [record["epoch"] for record in history] == [1, 2, 3, 4]
    assert history[:2] == json.loads((two_epoch_run / "history.json").read_text())
    assert [record["iteration"] for record in history[2:]] == [3 * EPOCH_LENGTH, 4 * EPOCH_LENGTH]


def test_resume_complete_run_trains_nothing(train_fashion, two_epoch_run, tmp_path, capsys):
    before = files_and_bytes(two_epoch_run)

    assert run(train_fashion, tmp_path, "--resume", str(two_epoch_run), "--epochs", "2") == 0

    assert files_and_bytes(two_epoch_run) == before

    assert "Run already complete" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--epochs", "1"], "--epochs 1 is less than the 2 epochs checkpoint"),
        (["--lr", "0.1"], "--lr 0.1 differs from 0.05 in checkpoint"),
    ],
)
def test_resume_rejects_changed_settings(train_fashion, two_epoch_run, tmp_path, capsys, extra, message):
    with pytest.raises(SystemExit) as raised:
        run(train_fashion, tmp_path, "--resume", str(two_epoch_run), *extra)

    assert raised.value.code == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_diverged_run_exits_1(train_fashion, tmp_path, capsys):
    assert run(train_fashion, tmp_path, "--epochs", "2", "--lr", "1e20") == 1

    run_dir = only_run_dir(tmp_path)
    assert "Training diverged at iteration" in capsys.readouterr().err
    # The loss explodes within the first epoch, so no epoch finishes: no history, checkpoint or test.
    assert not (run_dir / "history.json").exists()
    assert list((run_dir / "checkpoints").iterdir()) == []
    assert not (run_dir / "test_metrics.json").exists()
    report = (run_dir / "report.html").read_text()
    assert "Training diverged at iteration" in report
    assert "no best checkpoint and no test" in report
    assert "Training diverged at iteration" in (run_dir / "train.log").read_text()


def test_extended_cosine_run_anneals_again(train_fashion, two_epoch_run, tmp_path):
    assert run(train_fashion, tmp_path, "--resume", str(two_epoch_run), "--epochs", "4") == 0

    history = json.loads((only_run_dir(tmp_path) / "history.json").read_text())
    # A new cycle over the 2 added epochs (12 iterations): the last iteration of each epoch uses
    # event 5 and event 11 of ignite's cosine, start 0.05, end 0.
    expected = [0.025 * (1 + math.cos(math.pi * event / 12)) for event in (5, 11)]
    assert [record["lr"] for record in history[2:]] == pytest.approx(expected)
    assert "new cosine cycle" in (only_run_dir(tmp_path) / "report.html").read_text()


def test_resume_from_best_file_keeps_history(train_fashion, uninterrupted, tmp_path):
    (best_file,) = (uninterrupted / "checkpoints").glob("best_checkpoint_*.pt")
    best_epoch = int(best_file.name.split("_")[2])

    assert run(train_fashion, tmp_path, "--resume", str(best_file), "--epochs", "5") == 0

    resumed = only_run_dir(tmp_path)
    history = json.loads((resumed / "history.json").read_text())
    assert [record["epoch"] for record in history] == [1, 2, 3, 4, 5]
    assert history[:best_epoch] == json.loads((uninterrupted / "history.json").read_text())[:best_epoch]
    best_files = sorted(path.name for path in (resumed / "checkpoints").glob("best_checkpoint_*.pt"))
    assert len(best_files) == 1
    best_score = max(record["val_f1"] for record in history)
    assert f"val_f1={best_score:.4f}" in best_files[0]


def test_garbage_newest_checkpoint_skipped(train_fashion, two_epoch_run, tmp_path, capsys):
    copy = tmp_path / "copy"
    shutil.copytree(two_epoch_run, copy)
    (copy / "checkpoints" / "checkpoint_3.pt").write_text("hello\n")

    assert run(train_fashion, tmp_path / "out", "--resume", str(copy), "--epochs", "2") == 0

    assert "Run already complete" in capsys.readouterr().out


def test_half_written_newest_checkpoint_skipped(train_fashion, two_epoch_run, tmp_path, caplog):
    copy = tmp_path / "copy"
    shutil.copytree(two_epoch_run, copy)
    newest = copy / "checkpoints" / "checkpoint_2.pt"
    newest.write_bytes(newest.read_bytes()[: newest.stat().st_size // 2])

    assert run(train_fashion, tmp_path / "out", "--resume", str(copy), "--epochs", "3") == 0

    assert f"Skipping a file that does not load: checkpoint {newest} cannot be read, it may be truncated" in caplog.text
    log = (only_run_dir(tmp_path / "out") / "train.log").read_text()
    assert f"WARNING ignite_fashion.handlers.checkpoint: Skipping a file that does not load: checkpoint {newest}" in log
    history = json.loads((only_run_dir(tmp_path / "out") / "history.json").read_text())
    assert [record["epoch"] for record in history] == [1, 2, 3]


def files_and_bytes(folder):
    return {path.relative_to(folder): path.read_bytes() for path in folder.rglob("*") if path.is_file()}


def test_fresh_run_keeps_earlier_run(train_fashion, two_epoch_run, tmp_path, monkeypatch):
    earlier = tmp_path / "20261204-120000-simplecnn"
    shutil.copytree(two_epoch_run, earlier)
    before = files_and_bytes(earlier)
    real_strftime = train_fashion.time.strftime

    def same_second(format, *args):
        return "20261204-120000" if format == "%Y%m%d-%H%M%S" and not args else real_strftime(format, *args)

    monkeypatch.setattr(train_fashion.time, "strftime", same_second)
    # Same name and second as the earlier run, then the earlier run's own folder as --output-dir.
    assert run(train_fashion, tmp_path, "--epochs", "1") == 0
    assert run(train_fashion, earlier, "--epochs", "1") == 0

    assert sorted(path.name for path in tmp_path.iterdir()) == ["20261204-120000-simplecnn", "20261204-120000-simplecnn-1"]
    assert (earlier / "20261204-120000-simplecnn" / "checkpoints" / "checkpoint_1.pt").exists()
    after = files_and_bytes(earlier)
    assert {path: after[path] for path in before} == before


class RunsCode:
    """Unpickling this touches ``marker``: the code a malicious checkpoint would run."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def with_pickled_code(checkpoint, tmp_path):
    checkpoint["model"] = RunsCode(tmp_path / "code-ran")
    return checkpoint


def with_zero_epoch_length(checkpoint, tmp_path):
    checkpoint["trainer"]["epoch_length"] = 0
    return checkpoint


def with_config_list(checkpoint, tmp_path):
    checkpoint["config"] = ["epochs", 2]
    return checkpoint


def with_five_classes(checkpoint, tmp_path):
    checkpoint["model"]["classifier.3.weight"] = checkpoint["model"]["classifier.3.weight"][:5]
    checkpoint["model"]["classifier.3.bias"] = checkpoint["model"]["classifier.3.bias"][:5]
    return checkpoint


@pytest.mark.parametrize(
    "change, message",
    [
        (with_pickled_code, "was rejected: it contains objects other than tensors and plain containers"),
        (with_five_classes, "does not fit: Error(s) in loading state_dict for SimpleCNN: size mismatch for "
         "classifier.3.weight: copying a param with shape torch.Size([5, 512])"),
        (None, "cannot be read, it may be truncated or not a checkpoint"),
        (with_zero_epoch_length, "has no run settings or trainer state: it was not written by this script"),
        (with_config_list, "has no run settings or trainer state: it was not written by this script"),
    ],
    ids=["pickled code", "other model", "truncated", "zero epoch length", "config not a dict"],
)
def test_resume_rejects_bad_checkpoint(train_fashion, two_epoch_run, tmp_path, capsys, change, message):
    source = two_epoch_run / "checkpoints" / "checkpoint_2.pt"
    path = tmp_path / "checkpoint_2.pt"
    if change is None:
        path.write_bytes(source.read_bytes()[: source.stat().st_size // 2])
    else:
        torch.save(change(torch.load(source, weights_only=True), tmp_path), path)

    with pytest.raises(SystemExit) as raised:
        run(train_fashion, tmp_path / "runs", "--resume", str(path))

    assert raised.value.code == 2
    assert f"checkpoint {path} {message}" in capsys.readouterr().err
    assert not (tmp_path / "code-ran").exists()
    assert not (tmp_path / "runs").exists()


def test_every_checkpoint_loads_weights_only(uninterrupted):
    paths = sorted((uninterrupted / "checkpoints").glob("*.pt"))

    assert len(paths) == 3
    for path in paths:
        checkpoint = torch.load(path, weights_only=True)
        assert {"model", "optimizer", "trainer", "history", "rng", "config", "lr_scheduler"} <= set(checkpoint)


def test_divergence_after_two_epochs(train_fashion, tmp_path, capsys, monkeypatch):
    # The model's training output becomes infinite, and the loss NaN, from iteration 15 (the 3rd of epoch 3) on.
    real_model = train_fashion.SimpleCNN

    class DivergesAtIteration15(real_model):
        training_calls = 0

        def forward(self, images):
            output = super().forward(images)
            if self.training:
                type(self).training_calls += 1
                if type(self).training_calls >= 2 * EPOCH_LENGTH + 3:
                    output = output * math.inf
            return output

    monkeypatch.setattr(train_fashion, "SimpleCNN", DivergesAtIteration15)

    assert run(train_fashion, tmp_path, "--epochs", "4") == 1

    run_dir = only_run_dir(tmp_path)
    assert f"Training diverged at iteration {2 * EPOCH_LENGTH + 3}" in capsys.readouterr().err
    history = json.loads((run_dir / "history.json").read_text())
    assert [record["epoch"] for record in history] == [1, 2]
    assert all(math.isfinite(value) for record in history for value in record.values() if isinstance(value, float))
    checkpoints = sorted(path.name for path in (run_dir / "checkpoints").iterdir())
    assert [name for name in checkpoints if not name.startswith("best")] == ["checkpoint_1.pt", "checkpoint_2.pt"]
    assert all(train_fashion.checkpoint_step(name) <= 2 for name in checkpoints)
    assert {"loss.png", "accuracy.png", "precision_recall_f1.png"} <= {path.name for path in (run_dir / "plots").iterdir()}
    test_metrics = json.loads((run_dir / "test_metrics.json").read_text())
    assert test_metrics["source"]["diverged_at_iteration"] == 2 * EPOCH_LENGTH + 3
    assert test_metrics["source"]["epoch"] == train_fashion.checkpoint_step(test_metrics["source"]["checkpoint"]) <= 2
    assert f"Training diverged at iteration {2 * EPOCH_LENGTH + 3}" in (run_dir / "report.html").read_text()


def test_failed_write_stops_cleanly_and_resumes(train_fashion, uninterrupted, tmp_path, monkeypatch, caplog):
    real_save = torch.save
    saves = []

    def file_size_limit_at_third_save(obj, file, *args, **kwargs):
        # The first two saves are epoch 1's best file and checkpoint. Epoch 2's checkpoint hits the limit.
        # Python ignores SIGXFSZ, so the write fails with EFBIG, as writes on a full disk fail with ENOSPC.
        saves.append(file)
        if len(saves) != 3:
            return real_save(obj, file, *args, **kwargs)
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, hard))
        try:
            return real_save(obj, file, *args, **kwargs)
        finally:
            resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))

    monkeypatch.setattr(torch, "save", file_size_limit_at_third_save)
    assert run(train_fashion, tmp_path / "first", "--epochs", "4") == 1
    monkeypatch.undo()

    stopped = only_run_dir(tmp_path / "first")
    assert "Training stopped: [Errno 27] File too large. The files saved before are intact" in caplog.text
    assert f"continue with --resume {stopped}" in caplog.text
    names = sorted(path.name for path in (stopped / "checkpoints").iterdir())
    assert len(names) == 2
    assert names[0].startswith("best_checkpoint_1_val_f1=")
    assert names[1] == "checkpoint_1.pt"
    for name in names:
        torch.load(stopped / "checkpoints" / name, weights_only=True)

    assert run(train_fashion, tmp_path / "second", "--resume", str(stopped)) == 0

    resumed = only_run_dir(tmp_path / "second")
    assert json.loads((resumed / "history.json").read_text()) == json.loads((uninterrupted / "history.json").read_text())
    expected_state = model_state(uninterrupted / "checkpoints" / "checkpoint_4.pt")
    resumed_state = model_state(resumed / "checkpoints" / "checkpoint_4.pt")
    assert all(torch.equal(resumed_state[name], tensor) for name, tensor in expected_state.items())


def test_resumed_run_resumable_immediately(train_fashion, two_epoch_run, tmp_path, monkeypatch):
    real_build_trainer = train_fashion.build_trainer

    def build_trainer_crashing_in_epoch_3(*args, **kwargs):
        trainer = real_build_trainer(*args, **kwargs)
        trainer.add_event_handler(train_fashion.Events.ITERATION_COMPLETED(once=2 * EPOCH_LENGTH + 3), Crash.throw)
        return trainer

    monkeypatch.setattr(train_fashion, "build_trainer", build_trainer_crashing_in_epoch_3)
    with pytest.raises(Crash):
        run(train_fashion, tmp_path / "first", "--resume", str(two_epoch_run), "--epochs", "4")
    monkeypatch.undo()
    crashed = only_run_dir(tmp_path / "first")
    restored = crashed / "checkpoints" / "checkpoint_2.pt"
    original = torch.load(two_epoch_run / "checkpoints" / "checkpoint_2.pt", weights_only=True)
    for name, tensor in torch.load(restored, weights_only=True)["model"].items():
        assert torch.equal(tensor, original["model"][name]), name

    # No --epochs: the restored checkpoint carries the resumed run's 4 planned epochs.
    assert run(train_fashion, tmp_path / "second", "--resume", str(crashed)) == 0

    resumed = only_run_dir(tmp_path / "second")
    assert f"Resumed from {restored} after epoch 2." in (resumed / "train.log").read_text()
    history = json.loads((resumed / "history.json").read_text())
    assert [record["iteration"] for record in history] == [EPOCH_LENGTH * epoch for epoch in (1, 2, 3, 4)]
    assert sorted(path.name for path in (resumed / "checkpoints").glob("checkpoint_*.pt")) == [
        "checkpoint_3.pt", "checkpoint_4.pt"
    ]
    assert run(train_fashion, tmp_path / "direct", "--resume", str(two_epoch_run), "--epochs", "4") == 0
    direct = model_state(only_run_dir(tmp_path / "direct") / "checkpoints" / "checkpoint_4.pt")
    for name, tensor in model_state(resumed / "checkpoints" / "checkpoint_4.pt").items():
        assert torch.equal(tensor, direct[name]), name


# TensorBoard's writer thread fails on its own when its folder is gone. Only the main job's message is checked.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_run_directory_removed_mid_run(train_fashion, tmp_path, monkeypatch, caplog):
    real_attach = train_fashion.attach_checkpoints

    def attach_then_remove_run_directory_after_epoch_1(trainer, evaluator, to_save, checkpoint_dir, **kwargs):
        handlers = real_attach(trainer, evaluator, to_save, checkpoint_dir, **kwargs)
        trainer.add_event_handler(
            train_fashion.Events.EPOCH_COMPLETED(once=1), lambda _: shutil.rmtree(Path(checkpoint_dir).parent)
        )
        return handlers

    monkeypatch.setattr(train_fashion, "attach_checkpoints", attach_then_remove_run_directory_after_epoch_1)

    assert run(train_fashion, tmp_path, "--epochs", "3") == 1

    assert "Training stopped: [Errno 2] No such file or directory" in caplog.text
    assert f"then start the run again: no checkpoint to resume from is left in {tmp_path}" in caplog.text


def test_failed_report_write_resumes_test_only(train_fashion, uninterrupted, tmp_path, monkeypatch, caplog, capsys):
    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(train_fashion, "write_report", disk_full)
    assert run(train_fashion, tmp_path / "first", "--epochs", "4") == 1
    monkeypatch.undo()

    stopped = only_run_dir(tmp_path / "first")
    assert (
        "Writing the test results stopped: [Errno 28] No space left on device. The checkpoints are intact: make room "
        f"or fix the folder, then run --resume {stopped} to test and write the report"
    ) in caplog.text
    assert not (stopped / "report.html").exists()
    capsys.readouterr()

    assert run(train_fashion, tmp_path / "second", "--resume", str(stopped)) == 0

    assert f"Training of {stopped} is complete but it has no report: testing and writing the report only." in (
        capsys.readouterr().out
    )
    resumed = only_run_dir(tmp_path / "second")
    assert json.loads((resumed / "test_metrics.json").read_text()) == json.loads(
        (uninterrupted / "test_metrics.json").read_text()
    )
    assert json.loads((resumed / "history.json").read_text()) == json.loads((uninterrupted / "history.json").read_text())
    assert (resumed / "report.html").exists()


@pytest.fixture(scope="module")
def stopped_after_epoch_2(train_fashion, tmp_path_factory):
    """A run planned for 4 epochs that stopped (Ctrl-C) after its epoch 2 checkpoint: no test, no report."""
    real_build_trainer = train_fashion.build_trainer

    def build_trainer_interrupted_after_epoch_2(*args, **kwargs):
        trainer = real_build_trainer(*args, **kwargs)
        trainer.add_event_handler(train_fashion.Events.ITERATION_COMPLETED(once=2 * EPOCH_LENGTH + 1), interrupt)
        return trainer

    def interrupt(_):
        raise KeyboardInterrupt()

    output_dir = tmp_path_factory.mktemp("stopped")
    train_fashion.build_trainer = build_trainer_interrupted_after_epoch_2
    try:
        assert run(train_fashion, output_dir, "--epochs", "4") == 130
    finally:
        train_fashion.build_trainer = real_build_trainer
    return only_run_dir(output_dir)


def test_resume_with_trained_epochs_only_tests(train_fashion, stopped_after_epoch_2, tmp_path):
    # --epochs 2 against 4 planned: no cosine cycle to restart, only the test and report are missing.
    assert run(train_fashion, tmp_path, "--resume", str(stopped_after_epoch_2), "--epochs", "2") == 0

    resumed = only_run_dir(tmp_path)
    assert [record["epoch"] for record in json.loads((resumed / "history.json").read_text())] == [1, 2]
    assert json.loads((resumed / "test_metrics.json").read_text())["source"]["epoch"] <= 2
    assert (resumed / "report.html").exists()


def test_failed_write_while_restoring_keeps_source(train_fashion, stopped_after_epoch_2, tmp_path, monkeypatch, caplog):
    before = files_and_bytes(stopped_after_epoch_2)

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("ignite_fashion.handlers.checkpoint.write_bytes", disk_full)
    assert run(train_fashion, tmp_path, "--resume", str(stopped_after_epoch_2)) == 1

    new_run = only_run_dir(tmp_path)
    assert (
        "Resuming stopped: [Errno 28] No space left on device. The run resumed from is unchanged: make room or fix "
        f"the folder, then run the same command again ({new_run} can be deleted)"
    ) in caplog.text
    assert list((new_run / "checkpoints").iterdir()) == []
    assert files_and_bytes(stopped_after_epoch_2) == before


def test_missing_best_file_named_in_report(train_fashion, stopped_after_epoch_2, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(stopped_after_epoch_2, copy)
    for path in (copy / "checkpoints").glob("best_*.pt"):
        path.unlink()

    assert run(train_fashion, tmp_path / "out", "--resume", str(copy), "--epochs", "2") == 0

    report = (only_run_dir(tmp_path / "out") / "report.html").read_text()
    assert "The best checkpoint file is missing, so there is no test." in report


def test_ctrl_c_stops_with_resume_hint(train_fashion, stopped_after_epoch_2, uninterrupted, tmp_path):
    log = (stopped_after_epoch_2 / "train.log").read_text()
    assert f"Training interrupted. Continue it with --resume {stopped_after_epoch_2}" in log

    assert run(train_fashion, tmp_path, "--resume", str(stopped_after_epoch_2)) == 0

    resumed = only_run_dir(tmp_path)
    assert json.loads((resumed / "history.json").read_text()) == json.loads((uninterrupted / "history.json").read_text())


def test_damaged_best_file_named(train_fashion, stopped_after_epoch_2, tmp_path, caplog):
    copy = tmp_path / "copy"
    shutil.copytree(stopped_after_epoch_2, copy)
    (best_file,) = (copy / "checkpoints").glob("best_*.pt")
    best_file.write_bytes(best_file.read_bytes()[:1000])

    assert run(train_fashion, tmp_path / "out", "--resume", str(copy), "--epochs", "2") == 1

    copied = only_run_dir(tmp_path / "out") / "checkpoints" / best_file.name
    assert f"checkpoint {copied} cannot be read, it may be truncated or not a checkpoint" in caplog.text
