"""Safe output directories: nothing the user had is overwritten unless they said --force.

A run writes into a hidden staging directory beside the target and moves it into place only
when every stage succeeded, so a failed or interrupted run leaves an earlier result intact.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import QTError


def check_output(out: Path, force: bool) -> None:
    """Fail early (before any training) if ``out`` cannot be written or would be clobbered."""
    if out.exists() and not out.is_dir():
        raise QTError(f"output path {out} exists and is not a directory")
    if out.exists() and any(out.iterdir()) and not force:
        raise QTError(f"output directory {out} already exists; pass --force to replace it or "
                      "--output to choose another")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out.parent, prefix=".qt-write-test-"):
            pass
    except OSError as exc:
        raise QTError(f"cannot write output directory {out}: {exc.strerror or exc}") from None


def staging_dir(out: Path) -> Path:
    """A fresh hidden directory beside ``out`` to build the run in. ``mkdtemp`` makes it
    ``0700``; it becomes the published directory, so it gets the mode any ``mkdir`` would have
    (``0777`` less the umask)."""
    stage = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.partial-"))
    stage.chmod(0o777 & ~current_umask())
    return stage


def current_umask() -> int:
    """The process's umask (read by setting it and setting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def publish(staging: Path, out: Path) -> None:
    """Move a finished staging directory to ``out``, replacing the old one only now."""
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        out.rename(old)
    staging.rename(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def discard(staging: Path) -> None:
    shutil.rmtree(staging, ignore_errors=True)


@contextmanager
def staged(out: Path) -> Iterator[Path]:
    """Build in a staging directory; publish it to ``out`` on success, discard it on any
    error (the error propagates, and whatever ``out`` held is untouched)."""
    stage = staging_dir(out)
    try:
        yield stage
    except BaseException:
        discard(stage)
        raise
    publish(stage, out)
