"""kill -9 of a real training process at several moments: the run directory stays consistent, and
--resume ends with the weights and history of an uninterrupted run.

Each child process runs tests/kill_run.py, the example script on synthetic data, and dies by SIGKILL
at one moment. The resumes and the uninterrupted run happen in this process, which saves a start of
Python and torch for each.
"""

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch

from conftest import load_synthetic_example

RUNNER = Path(__file__).resolve().parent / "kill_run.py"
ROOT = RUNNER.parents[1]
EPOCHS = 4
# 120 training images split into 90 train and 30 validation: 6 full batches of 15 per epoch.
EPOCH_LENGTH = 6
# What a killed DiskSaver leaves in checkpoints/: its tempfile.NamedTemporaryFile, not yet renamed.
CHECKPOINT_TEMPORARY = re.compile(r"tmp[a-z0-9_]{8}")
# What a killed ignite_fashion.files.write_bytes leaves beside the file it writes: .<name>.<pid>.<hex>.tmp.
OUTPUT_TEMPORARY = re.compile(r"\.(?P<name>.+)\.\d+\.[0-9a-f]{32}\.tmp")
PNG_END = b"IEND\xaeB`\x82"
# The delay of the kill from this process after history.json appears at the end of epoch 1. It is
# seeded so that a failure can be repeated. Measured alone on a 2-core machine, the child trains
# epochs 2 to 4 in the next 0.2 s, then draws the plots and tests for about 3 s. Where the kill
# lands varies with the load, and the checks apply wherever it does.
RANDOM_DELAY = random.Random(11).uniform(0, 0.3)

# Test id, kill point of kill_run.py, and what the kill leaves: the epochs in history.json, the
# checkpoint files without the score in best file names, and the temporary files left behind.
# None expects nothing in particular: the random kill is checked by the general rules only.
KILLS = [
    # Iteration 3 of epoch 3: epochs 1 and 2 are done.
    ("mid_epoch", "iteration:15", 2, ["best_checkpoint_1", "checkpoint_1.pt", "checkpoint_2.pt"], []),
    # The best file of epoch 1 is written and checkpoint_1.pt not yet: the only file is a best one.
    ("after_best_file", "saved:best_checkpoint_1_", 1, ["best_checkpoint_1"], []),
    # Half of checkpoint_3.pt sits in DiskSaver's temporary file. checkpoint_1.pt, which it replaces,
    # is deleted only after checkpoint_3.pt is written, so it is still there.
    (
        "mid_checkpoint_write",
        "writing:checkpoint_3.pt",
        3,
        ["best_checkpoint_1", "checkpoint_1.pt", "checkpoint_2.pt"],
        ["checkpoints/tmp"],
    ),
    # history.json of 3 epochs is in its temporary file, not yet renamed: the old history stays.
    (
        "before_history_rename",
        "replacing:history.json:3",
        2,
        ["best_checkpoint_1", "checkpoint_1.pt", "checkpoint_2.pt"],
        ["history.json.tmp"],
    ),
    # Training is over and test_metrics.json is written, but the test plots and report.html are not.
    ("test_phase", "test", 4, ["best_checkpoint_4", "checkpoint_3.pt", "checkpoint_4.pt"], []),
    ("random_delay", "none", None, None, None),
]


def flags(output_dir, *extra):
    return [
        "--batch-size", "15", "--lr", "0.05", "--max-misclassified", "4",
        "--output-dir", str(output_dir), "--no-download", "-q", "--epochs", str(EPOCHS), *extra,
    ]


def only_run_dir(output_dir):
    (run_dir,) = Path(output_dir).iterdir()
    return run_dir


def run_child(kill_point, output_dir):
    """Run kill_run.py with ``kill_point`` until it ends, and return its return code, run directory and stderr."""
    output_dir.mkdir()
    stderr_path = output_dir.parent / f"{output_dir.name}.stderr"
    # The child imports this checkout's ignite_fashion, like this process.
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    with open(stderr_path, "wb") as stderr:
        child = subprocess.Popen(
            [sys.executable, str(RUNNER), kill_point, *flags(output_dir)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        if kill_point == "none":
            kill_after_random_delay(child, output_dir)
        child.wait(timeout=300)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    return child.returncode, only_run_dir(output_dir), stderr_path.read_text()


def kill_after_random_delay(child, output_dir):
    deadline = time.monotonic() + 120
    while not list(output_dir.glob("*/history.json")):
        assert child.poll() is None, "the child ended before it wrote history.json"
        assert time.monotonic() < deadline, "no history.json after 120 s"
        time.sleep(0.01)
    time.sleep(RANDOM_DELAY)
    child.kill()


@pytest.fixture(scope="module")
def killed_runs(tmp_path_factory):
    """Run the kill points one child at a time in a thread, and yield {test id: future of run_child}.

    The children run while this process trains the uninterrupted run and the resumes: two
    processes at a time, one per core of a small machine.
    """
    folder = tmp_path_factory.mktemp("killed")
    pool = ThreadPoolExecutor(max_workers=1)
    yield {test_id: pool.submit(run_child, kill_point, folder / test_id) for test_id, kill_point, *_ in KILLS}
    pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture(scope="module")
def train_fashion():
    return load_synthetic_example()


@pytest.fixture(scope="module")
def uninterrupted(train_fashion, tmp_path_factory):
    output_dir = tmp_path_factory.mktemp("uninterrupted")
    assert train_fashion.main(flags(output_dir)) == 0
    run_dir = only_run_dir(output_dir)
    history = json.loads((run_dir / "history.json").read_text())
    model = torch.load(run_dir / "checkpoints" / f"checkpoint_{EPOCHS}.pt", weights_only=True)["model"]
    test_metrics = json.loads((run_dir / "test_metrics.json").read_text())
    return history, model, test_metrics


def step(name):
    match = re.fullmatch(r"(?:best_)?checkpoint_(\d+)(?:_val_f1=.*)?\.pt", name)
    return None if match is None else int(match.group(1))


def assert_same_weights(state, expected):
    assert state.keys() == expected.keys()
    for name, tensor in expected.items():
        assert torch.equal(state[name], tensor), name


def temporary_files(run_dir):
    """List the temporary files of interrupted atomic writes, as checkpoints/tmp or <folder>/<name>.tmp."""
    found = []
    for path in run_dir.rglob("*"):
        folder = path.parent.relative_to(run_dir)
        match = OUTPUT_TEMPORARY.fullmatch(path.name)
        if match is not None:
            found.append(str(folder / f"{match.group('name')}.tmp"))
        elif folder == Path("checkpoints") and CHECKPOINT_TEMPORARY.fullmatch(path.name):
            found.append("checkpoints/tmp")
    return sorted(found)


def check_run_dir(run_dir, uninterrupted_history):
    """Check the rules every killed run directory keeps, and return its history and its checkpoints by file."""
    history_path = run_dir / "history.json"
    history = json.loads(history_path.read_text()) if history_path.exists() else []
    assert [record["epoch"] for record in history] == list(range(1, len(history) + 1))
    # Every finished epoch has the values of the uninterrupted run.
    assert history == uninterrupted_history[: len(history)]
    # history.csv is written right after history.json, so a kill between the two leaves it one epoch behind.
    csv_path = run_dir / "history.csv"
    csv_lines = csv_path.read_text().splitlines() if csv_path.exists() else ["header"]
    csv_epochs = [int(line.split(",")[0]) for line in csv_lines[1:]]
    assert csv_epochs in (list(range(1, len(history) + 1)), list(range(1, len(history))))
    # The other outputs are whole too. TensorBoard's event files are appended to, and not checked.
    for path in run_dir.glob("*.json"):
        json.loads(path.read_text())
    for path in run_dir.glob("plots/*.png"):
        assert path.read_bytes().endswith(PNG_END), path.name

    checkpoints = {}
    # DiskSaver makes the folder when the checkpoint handlers are attached: a kill before leaves none.
    folder = run_dir / "checkpoints"
    paths = sorted(folder.iterdir()) if folder.is_dir() else []
    for path in paths:
        if CHECKPOINT_TEMPORARY.fullmatch(path.name):
            continue
        assert step(path.name) is not None, f"unexpected file {path.name}"
        checkpoint = torch.load(path, weights_only=True)
        assert checkpoint["trainer"]["iteration"] == step(path.name) * EPOCH_LENGTH, path.name
        assert [record["epoch"] for record in checkpoint["history"]["items"]] == list(range(1, step(path.name) + 1))
        checkpoints[path] = checkpoint
    newest = max((step(path.name) for path in checkpoints), default=0)
    # history.json is written before the checkpoints of its epoch, so it may be one epoch ahead.
    assert len(history) >= newest
    assert len(history) <= newest + 1
    return history, checkpoints


@pytest.mark.parametrize(
    "test_id, kill_point, expected_epochs, expected_checkpoints, expected_temporary",
    KILLS,
    ids=[kill[0] for kill in KILLS],
)
def test_kill_leaves_consistent_resumable_run(
    killed_runs,
    train_fashion,
    uninterrupted,
    tmp_path,
    capsys,
    test_id,
    kill_point,
    expected_epochs,
    expected_checkpoints,
    expected_temporary,
):
    returncode, run_dir, stderr = killed_runs[test_id].result()
    uninterrupted_history, uninterrupted_model, uninterrupted_test_metrics = uninterrupted
    assert returncode == -signal.SIGKILL, f"the child was not killed; its stderr:\n{stderr}"

    history, checkpoints = check_run_dir(run_dir, uninterrupted_history)
    if expected_epochs is not None:
        assert len(history) == expected_epochs
        assert sorted(re.sub(r"_val_f1=.*", "", path.name) for path in checkpoints) == expected_checkpoints
        assert temporary_files(run_dir) == expected_temporary

    newest = max((step(path.name) for path in checkpoints), default=0)
    if newest == 0:
        # Killed before the first checkpoint: there is nothing to resume, so --resume exits with status 2.
        with pytest.raises(SystemExit) as raised:
            train_fashion.main(flags(tmp_path, "--resume", str(run_dir)))
        assert raised.value.code == 2
        return
    assert train_fashion.main(flags(tmp_path, "--resume", str(run_dir))) == 0
    if newest == EPOCHS:
        # Training was over: nothing is trained again, and the newest files contain the final weights.
        for path, checkpoint in checkpoints.items():
            if step(path.name) == EPOCHS:
                assert_same_weights(checkpoint["model"], uninterrupted_model)
        if (run_dir / "report.html").exists():
            assert "Run already complete" in capsys.readouterr().out
            assert list(tmp_path.iterdir()) == []
            return
        # Killed before the report: the resume tests the same best checkpoint and writes the report.
        resumed = only_run_dir(tmp_path)
        assert json.loads((resumed / "test_metrics.json").read_text()) == uninterrupted_test_metrics
        assert (resumed / "report.html").exists()
        assert len(list((resumed / "plots").glob("*.png"))) == 9
        return
    resumed = only_run_dir(tmp_path)
    assert json.loads((resumed / "history.json").read_text()) == uninterrupted_history
    final = torch.load(resumed / "checkpoints" / f"checkpoint_{EPOCHS}.pt", weights_only=True)
    assert_same_weights(final["model"], uninterrupted_model)
