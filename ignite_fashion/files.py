"""Writing run outputs so that a killed process never leaves a half-written file."""

from __future__ import annotations

import json
import os
import uuid
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
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Unlike tempfile.mkstemp (mode 0600), open(..., "x") honours the umask, so the file is as readable
    # as any other output of the run.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    try:
        with open(temporary, "x") as file:
            json.dump(data, file, indent=2)
            file.write("\n")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
