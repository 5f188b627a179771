"""Reading what a submission could have touched, and writing what it said, without surprises.

A path the sandbox (or an unsandboxed kernel) could write may now be a FIFO that blocks an
open() for ever, a symlink to the solutions, or a file of many gigabytes; student text may hold
lone surrogates that a strict UTF-8 write refuses. These helpers never block, never follow a
link, never read past a cap and never raise on odd text.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class Refused(OSError):
    """The path is not a regular file we may read."""


@contextlib.contextmanager
def _regular(path: str | Path) -> Iterator[tuple[int, os.stat_result]]:
    """An open descriptor of a regular file: no symlink followed, no FIFO or device opened."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise Refused(f"{Path(path).name}: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise Refused(f"{Path(path).name} is not a regular file")
        yield fd, st
    finally:
        os.close(fd)


def read_bounded(path: str | Path, cap: int) -> bytes:
    """At most `cap` bytes of a regular file; no symlink followed, no FIFO or device opened."""
    with _regular(path) as (fd, _):
        chunks, left = [], cap
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)


def tail_bounded(path: str | Path, cap: int) -> bytes:
    """The last `cap` bytes of a regular file (the same refusals as read_bounded)."""
    with _regular(path) as (fd, st):
        os.lseek(fd, max(0, st.st_size - cap), os.SEEK_SET)
        return os.read(fd, cap)


def safe_text(text: Any) -> str:
    """`text` as a str that encodes to UTF-8 (lone surrogates become U+FFFD)."""
    s = text if isinstance(text, str) else str(text)
    return s.encode("utf-8", "replace").decode("utf-8")


def clean(value: Any) -> Any:
    """Every str in a JSON-like value made safe_text (for results that leave the worker)."""
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, dict):
        return {clean(k): clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean(v) for v in value]
    if isinstance(value, tuple):
        return tuple(clean(v) for v in value)
    return value


def write_text(path: Path, text: str) -> None:
    """Write student-derived text; never fails on its content."""
    path.write_text(safe_text(text), encoding="utf-8")
