"""Atomic file writes and stable hashing of configs: nothing half-written is ever read back, and a write the
disk refuses (full, read-only, no permission, over quota, folder gone) is an OSError naming the file."""
from __future__ import annotations

import errno
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

# What a user can do about each way the disk refuses a write.
WRITE_FAILURES = {
    errno.ENOSPC: "the disk is full: free space on it, or store results on another disk (--out, $COBRA_LAB_OUTPUTS)",
    errno.EDQUOT: "the disk quota is used up: free space in it, or store results elsewhere (--out, "
                  "$COBRA_LAB_OUTPUTS)",
    errno.EACCES: "no permission to write there: make the folder writable, or store results elsewhere (--out, "
                  "$COBRA_LAB_OUTPUTS)",
    errno.EPERM: "no permission to write there: make the folder writable, or store results elsewhere (--out, "
                 "$COBRA_LAB_OUTPUTS)",
    errno.EROFS: "the file system is read-only: store results on a writable disk (--out, $COBRA_LAB_OUTPUTS)",
    errno.ENOENT: "its folder was removed while writing: keep the results folder in place",
}


def write_failure(error: OSError) -> str | None:
    """One line saying which file could not be written, why and what to do; None when ``error`` is not a refused
    write (a bug, or a file that is absent when read)."""
    if error.errno not in WRITE_FAILURES or error.filename is None:
        return None
    return f"cannot write {error.filename}: {error.strerror or os.strerror(error.errno)}; {WRITE_FAILURES[error.errno]}"


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file and an atomic rename; an OSError names ``path``."""
    path = Path(path)
    try:
        return _write_then_rename(path, data)
    except OSError as error:  # write() and fsync() name no file; the temporary file's name would mislead
        raise OSError(error.errno, error.strerror, str(path)) from error


def _write_then_rename(path: Path, data: bytes) -> Path:
    """Write ``data`` to a temporary file beside ``path`` and rename it to ``path`` (removed on any failure)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file the usual permissions
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented JSON atomically."""
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def config_hash(config: dict, length: int = 12) -> str:
    """A stable short hash of a JSON-serialisable config (key order does not matter)."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]
