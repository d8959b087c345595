"""Checked files: each stored file gets a SHA-256 sidecar (``<name>.sha256``, in ``sha256sum`` format) written
atomically after it; a read verifies the checksum, parses the file and checks it against what the reader
expects. A damaged file is reported in one warning line and moved aside to ``<name>.damaged-<time>``, so the
caller recomputes what it held."""
from __future__ import annotations

import hashlib
import io
import json
import math
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import yaml

from .errors import warn
from .io import atomic_write_bytes, atomic_write_text

SIDECAR_SUFFIX = ".sha256"
_SIDECAR_LINE = re.compile(r"^([0-9a-f]{64})  (.+)\n?$")


class DamagedFile(Exception):
    """A stored file that is empty, truncated, altered, or does not match what its reader expects."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason


def sidecar(path: Path) -> Path:
    """The checksum file of ``path``."""
    return path.with_name(path.name + SIDECAR_SUFFIX)


def digest(data: bytes) -> str:
    """The SHA-256 of ``data`` as hex."""
    return hashlib.sha256(data).hexdigest()


def write_checked(path: str | Path, data: bytes) -> Path:
    """Write ``data`` atomically, then its checksum. The old checksum goes first, so a crash in between
    leaves a complete file without a checksum (checked by its content alone), never a false mismatch."""
    path = Path(path)
    sidecar(path).unlink(missing_ok=True)
    atomic_write_bytes(path, data)
    atomic_write_text(sidecar(path), f"{digest(data)}  {path.name}\n")
    return path


def save_json(path: str | Path, obj: Any) -> Path:
    """Write ``obj`` as indented JSON, checked."""
    return write_checked(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode("utf-8"))


def save_yaml(path: str | Path, obj: Any) -> Path:
    """Write ``obj`` as YAML, checked."""
    return write_checked(path, yaml.safe_dump(obj, sort_keys=True).encode("utf-8"))


def save_torch(path: str | Path, obj: Any) -> Path:
    """``torch.save`` ``obj`` (tensors, numbers, dicts and lists of them, for weights_only loading), checked."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return write_checked(path, buffer.getvalue())


def remove_checked(path: str | Path) -> None:
    """Delete a checked file and its checksum (either may be absent)."""
    path = Path(path)
    path.unlink(missing_ok=True)
    sidecar(path).unlink(missing_ok=True)


def read_verified(path: Path) -> bytes | None:
    """The bytes of ``path`` (None if absent), verified against its checksum when it has one."""
    try:
        data = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):  # absent, or a parent is a file (the write check says so)
        return None
    try:
        line = sidecar(path).read_text(encoding="utf-8")
    except FileNotFoundError:  # stored before checksums, or a crash between file and checksum
        return data
    except (OSError, UnicodeDecodeError) as error:
        raise DamagedFile(path, f"unreadable checksum file ({error})") from None
    match = _SIDECAR_LINE.match(line)
    if match is None or match.group(2) != path.name:
        raise DamagedFile(path, f"malformed checksum file {sidecar(path).name}")
    if not data:
        raise DamagedFile(path, "empty file")
    if digest(data) != match.group(1):
        raise DamagedFile(path, f"its {len(data)} bytes do not match its checksum: truncated or altered")
    return data


def parse_json(data: bytes) -> Any:
    """JSON from bytes."""
    return json.loads(data.decode("utf-8"))


def parse_yaml(data: bytes) -> Any:
    """YAML from bytes."""
    return yaml.safe_load(data.decode("utf-8"))


def parse_torch(data: bytes) -> Any:
    """A ``torch.save`` payload from bytes, loaded with weights_only on the CPU."""
    return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)


def read_checked(path: str | Path, parse: Callable[[bytes], Any],
                 check: Callable[[Any], None] | None = None) -> Any:
    """The parsed content of ``path`` (None if absent); DamagedFile if its checksum, parsing or ``check`` fails
    (``check`` raises ``Mismatch`` with the reason)."""
    path = Path(path)
    data = read_verified(path)
    if data is None:
        return None
    if not data:
        raise DamagedFile(path, "empty file")
    try:
        obj = parse(data)
    except Exception as error:  # noqa: BLE001 - truncated or corrupt content of any kind (zip, pickle, JSON, YAML)
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DamagedFile(path, f"unreadable ({first[:120]})") from None
    if check is not None:
        try:
            check(obj)
        except Mismatch as mismatch:
            raise DamagedFile(path, str(mismatch)) from None
    return obj


class Mismatch(Exception):
    """Raised by a content check: the file parses but does not hold what the reader expects."""


def expect(condition: bool, reason: str) -> None:
    """Raise Mismatch(reason) unless ``condition``."""
    if not condition:
        raise Mismatch(reason)


def expect_mapping(obj: Any, keys: tuple[str, ...], finite: tuple[str, ...] = ()) -> None:
    """``obj`` is a dict holding ``keys``, and the ``finite`` ones are finite numbers."""
    expect(isinstance(obj, dict), f"holds a {type(obj).__name__}, not a mapping")
    missing = [key for key in keys if key not in obj]
    expect(not missing, f"lacks {', '.join(missing)}")
    for key in finite:
        value = obj[key]
        expect(isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value),
               f"{key} is {value!r}, not a finite number")


def expect_tensor(obj: dict, key: str, shape: tuple[int, ...], floating: bool = False) -> torch.Tensor:
    """``obj[key]`` is a tensor of ``shape`` (finite floats when ``floating``); returns it."""
    value = obj.get(key)
    expect(isinstance(value, torch.Tensor), f"{key} is missing or not a tensor")
    expect(tuple(value.shape) == tuple(shape), f"{key} has shape {list(value.shape)}, expected {list(shape)}")
    if floating:
        expect(value.is_floating_point() and bool(torch.isfinite(value).all()), f"{key} holds non-finite values")
    return value


def move_aside(damage: DamagedFile, action: str, log: Callable[[str], None] | None = None) -> Path | None:
    """Report ``damage`` in one warning line (and in ``log``), and rename the file and its checksum to
    ``<name>.damaged-<time>``; returns where the file went (None if it was missing)."""
    path = damage.path
    stamp = time.strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    serial = 1
    while target.exists():
        serial += 1
        target = path.with_name(f"{path.name}.damaged-{stamp}-{serial}")
    try:
        path.rename(target)
        moved: Path | None = target
    except FileNotFoundError:
        moved = None
    side = sidecar(path)
    try:
        side.rename(target.with_name(target.name + SIDECAR_SUFFIX))
    except FileNotFoundError:
        pass
    where = f"moved to {moved.name}" if moved is not None else "nothing to move"
    message = f"damaged {path} ({damage.reason}); {where}; {action}"
    warn(message)
    if log is not None:
        log(f"warning: {message}")
    return moved
