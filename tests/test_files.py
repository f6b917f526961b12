import json
import os
import stat

import pytest

from ignite_fashion.files import write_json


def test_write_json_replaces_whole_file(tmp_path):
    path = tmp_path / "history.json"
    write_json(path, [{"epoch": 1}])

    write_json(path, [{"epoch": 1}, {"epoch": 2}])

    assert json.loads(path.read_text()) == [{"epoch": 1}, {"epoch": 2}]
    assert [entry.name for entry in tmp_path.iterdir()] == ["history.json"]


def test_write_json_honours_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        path = write_json(tmp_path / "metrics.json", {"accuracy": 0.5})
    finally:
        os.umask(previous)

    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_write_json_leaves_no_temporary_on_error(tmp_path):
    path = tmp_path / "bad.json"

    with pytest.raises(TypeError, match="not JSON serializable"):
        write_json(path, {"value": object()})

    assert list(tmp_path.iterdir()) == []
