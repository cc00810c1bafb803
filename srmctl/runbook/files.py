"""Writing files safely where others may have planted symlinks (see docs/architecture.md, "Files").

A file is written to a fresh temporary name beside it, created with ``O_CREAT | O_EXCL`` (``mkstemp``: a
symlink planted at that name makes the create fail instead of being followed), then renamed over the target.
``rename`` replaces a symlink at the target instead of writing through it, so the file a symlink points to is
never changed; the user named the target, and it ends as a regular file of srmctl's.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(path: Path, data: str | bytes, *, mode: int = 0o600, durable: bool = True) -> Path:
    """Replace ``path`` with ``data`` (text as UTF-8) in one rename, file mode ``mode``. ``durable`` fsyncs the
    file and its folder before returning. OSError (disk full, read-only folder, ...) leaves the old file as it
    was and no temporary file behind."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(data.encode() if isinstance(data, str) else data)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if durable:
        fsync_dir(path.parent)
    return path


def fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
