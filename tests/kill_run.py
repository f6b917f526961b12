"""Run examples/train_fashion.py on synthetic data and kill the process with SIGKILL at a chosen moment.

test_kill_resume.py starts this file as a child process::

    python tests/kill_run.py KILL_POINT [train_fashion flags...]

KILL_POINT is one of:

- ``iteration:N``: after training iteration N.
- ``saved:PREFIX``: right after the checkpoint file whose name starts with PREFIX is written.
- ``writing:PREFIX``: halfway through writing the bytes of that checkpoint file.
- ``replacing:NAME:N``: between writing the temporary file of NAME with N history records and the
  rename that replaces NAME.
- ``test``: during the final test phase, after test_metrics.json and before the test plots.
- ``none``: never; the parent process kills the child itself.

SIGKILL cannot be caught, so no ``finally`` block or exit handler runs: the run directory is left as
a real kill leaves it.
"""

from __future__ import annotations

import io
import json
import os
import signal
import sys
from pathlib import Path

import torch
from ignite.engine import Events
from ignite.handlers import DiskSaver

from conftest import load_synthetic_example



def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def arm(module, kill_point: str) -> None:
    """Patch ``module`` and the libraries it calls so that the process dies at ``kill_point``."""
    kind, _, where = kill_point.partition(":")
    if kind == "iteration":
        real_build_trainer = module.build_trainer

        def build_trainer(*args, **kwargs):
            trainer = real_build_trainer(*args, **kwargs)
            trainer.add_event_handler(Events.ITERATION_COMPLETED(once=int(where)), lambda _: die())
            return trainer

        module.build_trainer = build_trainer
    elif kind in ("saved", "writing"):
        real_call = DiskSaver.__call__
        real_save = torch.save

        def save_half_then_die(obj, file, *args, **kwargs):
            # An atomic DiskSaver passes its open temporary file, a plain one the checkpoint's path.
            buffer = io.BytesIO()
            real_save(obj, buffer, *args, **kwargs)
            data = buffer.getvalue()
            if isinstance(file, (str, os.PathLike)):
                file = open(file, "wb")
            file.write(data[: len(data) // 2])
            # flush() hands the bytes to the kernel, which keeps them in the file after the kill.
            file.flush()
            die()

        def call(self, checkpoint, filename, metadata=None):
            if not filename.startswith(where):
                return real_call(self, checkpoint, filename, metadata)
            if kind == "writing":
                torch.save = save_half_then_die
            real_call(self, checkpoint, filename, metadata)
            die()

        DiskSaver.__call__ = call
    elif kind == "replacing":
        name, _, records = where.partition(":")
        real_replace = os.replace

        def replace(source, target, *args, **kwargs):
            if Path(target).name == name and len(json.loads(Path(source).read_text())) == int(records):
                die()
            return real_replace(source, target, *args, **kwargs)

        os.replace = replace
    elif kind == "test":
        real_plots = module.save_evaluation_plots

        def save_evaluation_plots(*args, prefix, **kwargs):
            if prefix == "test":
                die()
            return real_plots(*args, prefix=prefix, **kwargs)

        module.save_evaluation_plots = save_evaluation_plots
    elif kind != "none":
        raise ValueError(f"invalid kill point {kill_point!r}")


if __name__ == "__main__":
    example = load_synthetic_example()
    arm(example, sys.argv[1])
    sys.exit(example.main(sys.argv[2:]))
