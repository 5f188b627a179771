"""One memory and process limit for a whole sandbox, and a size-limited scratch folder.

`prlimit --as` caps each process on its own: three children under a 3 GiB limit hold 9 GiB. A
cgroup (v1 here: /sys/fs/cgroup/memory and /sys/fs/cgroup/pids, writable as root) counts every
process of the sandbox together, tmpfs pages included (they are charged to the writer). The
scratch folder becomes a tmpfs of a fixed size, so a submission cannot fill the host's disk.
Both need root; without it grading keeps the per-process limits and says so in the row.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import time
from pathlib import Path

MEMORY_ROOT = Path("/sys/fs/cgroup/memory")
PIDS_ROOT = Path("/sys/fs/cgroup/pids")
_GROUP = "course-grader"


class Cgroup:
    """A memory (+ pids) cgroup v1 for one submission's sandboxes."""

    def __init__(self, memory: int, processes: int) -> None:
        self.name = f"{_GROUP}/{os.getpid()}-{secrets.token_hex(4)}"
        self.dirs: list[Path] = []
        mem = MEMORY_ROOT / self.name
        mem.mkdir(parents=True)
        self.dirs.append(mem)
        (mem / "memory.limit_in_bytes").write_text(str(memory))
        with contextlib.suppress(OSError):  # swap counted too, where the kernel accounts it
            (mem / "memory.memsw.limit_in_bytes").write_text(str(memory))
        with contextlib.suppress(OSError):
            pids = PIDS_ROOT / self.name
            pids.mkdir(parents=True)
            self.dirs.append(pids)
            (pids / "pids.max").write_text(str(processes))

    def wrap(self, cmd: list[str]) -> list[str]:
        """`cmd`, started inside this cgroup (it joins before exec, so its children do too)."""
        joins = " && ".join(f"echo $$ > {d / 'cgroup.procs'}" for d in self.dirs)
        return ["/bin/sh", "-c", f'{joins} && exec "$@"', "sh", *cmd]

    def peak(self) -> int:
        with contextlib.suppress(OSError, ValueError):
            return int((self.dirs[0] / "memory.max_usage_in_bytes").read_text())
        return 0

    def remove(self) -> None:
        """Kill what is left and remove the groups."""
        for d in self.dirs:
            for _ in range(50):
                try:
                    pids = (d / "cgroup.procs").read_text().split()
                except OSError:
                    break
                if not pids:
                    break
                for pid in pids:
                    with contextlib.suppress(OSError, ValueError):
                        os.kill(int(pid), 9)
                time.sleep(0.05)
            with contextlib.suppress(OSError):
                d.rmdir()


def available() -> bool:
    """Can this process create cgroups (root, cgroup v1 memory controller writable)?"""
    if os.geteuid() != 0 or not (MEMORY_ROOT / "cgroup.procs").exists():
        return False
    try:
        (MEMORY_ROOT / _GROUP).mkdir(exist_ok=True)
        with contextlib.suppress(OSError):
            (PIDS_ROOT / _GROUP).mkdir(exist_ok=True)
        return os.access(MEMORY_ROOT / _GROUP, os.W_OK)
    except OSError:
        return False


def mount_scratch(path: Path, size: int) -> bool:
    """Make `path` a tmpfs of `size` bytes (as root); False where that is not possible."""
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755,nosuid,nodev", "tmpfs", str(path)],
        capture_output=True,
        timeout=20,
    )
    return proc.returncode == 0


def unmount_scratch(path: Path) -> None:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=20)
