"""Writing run outputs so that a killed process never leaves a half-written file."""

from __future__ import annotations

import csv
import io
import json
import os
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def write_json(path: str | os.PathLike, data: Any) -> Path:
    """Write ``data`` as indented JSON, atomically: readers see the old file or the new one, never a part.

    Example:
        >>> import tempfile
        >>> path = write_json(Path(tempfile.mkdtemp()) / "a.json", {"epoch": 1})
        >>> json.loads(path.read_text())
        {'epoch': 1}
    """
    return write_text(path, json.dumps(data, indent=2) + "\n")


def write_csv(path: str | os.PathLike, rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> Path:
    """Write ``rows`` as CSV with a header of ``columns``, atomically; a value missing in a row stays empty.

    Example:
        >>> import tempfile
        >>> path = write_csv(Path(tempfile.mkdtemp()) / "a.csv", [{"epoch": 1, "loss": 0.5}], ["epoch", "loss"])
        >>> path.read_text().splitlines()
        ['epoch,loss', '1,0.5']
    """
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return write_text(path, buffer.getvalue())


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` as UTF-8 to ``path`` atomically, creating the parent folders."""
    return write_bytes(path, text.encode("utf-8"))


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically, creating the parent folders.

    The bytes go to a temporary file in the same folder, which then replaces ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Unlike tempfile.mkstemp (mode 0600), open(..., "xb") honours the umask, so the file is as readable
    # as any other output of the run.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    try:
        with open(temporary, "xb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path
