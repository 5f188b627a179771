"""The operating-system sandbox every submission's kernel runs in.

bubblewrap (``bwrap``) builds an empty root with read-only binds of the system, Python, the venv
and the ``course`` package only, and the submission's own scratch folder read-write at the same
path. New pid, network, IPC and UTS namespaces: no network (only a private loopback), no view of
other processes, and every process the notebook started dies with the sandbox. ``prlimit`` caps
address space, processes, file size and core dumps. As root the kernel also drops to a
per-worker uid, so ``RLIMIT_NPROC`` counts only that sandbox's processes and the instructor's
files (mode 0700 home, solutions/, the gradebook) are out of reach even by path.

As root each submission also gets a memory + pids cgroup (one limit for all its processes,
tmpfs pages included) and a scratch folder that is a tmpfs of a fixed size (_cgroup.py).

Where bwrap (or prlimit) is missing, grading refuses to start unless `--no-sandbox` is given.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

# System folders a Python kernel needs; /etc only in parts (no instructor configuration).
_SYSTEM_RO = ["/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"]
_ETC_RO = [
    "/etc/alternatives", "/etc/ssl", "/etc/ca-certificates", "/etc/localtime", "/etc/passwd",
    "/etc/group", "/etc/nsswitch.conf", "/etc/ld.so.cache", "/etc/ld.so.conf",
    "/etc/ld.so.conf.d", "/etc/fonts", "/etc/mime.types", "/etc/hosts",
]  # fmt: skip


@dataclass(frozen=True)
class Limits:
    cell_timeout: float = 180.0  # seconds per cell
    notebook_timeout: float = 1800.0  # seconds for the whole notebook
    memory: int = 4 * 1024**3  # bytes for the whole sandbox (cgroup), and per process
    processes: int = 256  # processes and threads of the sandbox
    file_size: int = 1024**3  # largest file it may write
    output_bytes: int = 2 * 1024**2  # outputs kept per cell; the rest is cut
    output_total: int = 16 * 1024**2  # outputs kept per notebook, display updates included
    disk: int = 2 * 1024**3  # size of the scratch folder (state dir, home, working dir)
    tmp: int = 512 * 1024**2  # size of the sandbox's /tmp
    post_timeout: float = 300.0  # seconds for everything after execution (checks, feedback)


class SandboxUnavailable(RuntimeError):
    pass


@functools.cache
def probe() -> str:
    """'' when bwrap works here, else why not."""
    bwrap = shutil.which("bwrap")
    if not bwrap:
        return "bubblewrap (bwrap) is not installed (Debian: apt-get install bubblewrap)"
    if not shutil.which("prlimit"):
        return "prlimit (util-linux) is not installed"
    cmd = [bwrap, *_namespaces(), "--ro-bind", "/", "/", "--", "true"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap does not start: {exc}"
    if proc.returncode != 0:
        return f"bwrap cannot create namespaces here: {proc.stderr.strip()[:200]}"
    return ""


def warn_unsandboxed(reason: str) -> None:
    msg = (
        "\n" + "!" * 78 + "\n"
        f"WARNING: grading WITHOUT the OS sandbox: {reason}.\n"
        "Student code runs with your permissions: it can read your files, use the network and\n"
        "outlive its grading. Install bubblewrap (`make system-deps`) before grading real work.\n"
        + "!"
        * 78
    )
    print(msg, file=sys.stderr, flush=True)
    warnings.warn(f"unsandboxed grading: {reason}", RuntimeWarning, stacklevel=2)


def _namespaces(share_net: bool = False) -> list[str]:
    ns = [
        "--unshare-pid",
        *([] if share_net else ["--unshare-net"]),
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
    ]
    if os.geteuid() != 0:
        ns.insert(0, "--unshare-user")  # unprivileged bwrap needs a user namespace
    return ns


def sandbox_uid() -> int | None:
    """As root: a uid of its own per worker process (RLIMIT_NPROC counts per uid)."""
    return 200_000 + os.getpid() if os.geteuid() == 0 else None


def _dirs(path: str, made: set[str]) -> list[str]:
    """--dir for every missing ancestor, world-traversable (bwrap makes them 0700)."""
    args = []
    parts = Path(path).parts
    for i in range(2, len(parts)):
        d = str(Path(*parts[:i]))
        if d not in made:
            made.add(d)
            args += ["--perms", "0755", "--dir", d]
    return args


def prefix(scratch: Path, limits: Limits, extra_ro: list[str] | None = None,
           share_net: bool = False) -> list[str]:  # fmt: skip
    """The command that goes in front of the kernel's own command line (`share_net`: keep the
    network namespace it is started in, the kernel's for the clean checker)."""
    reason = probe()
    if reason:
        raise SandboxUnavailable(reason)
    import course

    package = str(Path(course.__file__).resolve().parent)
    ro = [sys.base_prefix, sys.prefix, package, *(extra_ro or [])]
    ro = [str(Path(p).resolve()) for p in ro]
    cmd = [
        shutil.which("prlimit") or "prlimit",
        f"--as={limits.memory}",
        f"--nproc={limits.processes}",
        f"--fsize={limits.file_size}",
        "--core=0",
        "--nofile=4096",
        "--",
        shutil.which("bwrap") or "bwrap",
        *_namespaces(share_net),
        "--die-with-parent",
        "--new-session",
        "--hostname",
        "grader",
    ]
    made: set[str] = {"/"}
    for d in _SYSTEM_RO:
        if os.path.lexists(d):
            cmd += (
                ["--ro-bind", d, d] if not os.path.islink(d) else ["--symlink", os.readlink(d), d]
            )
            made.add(d)
    for f in _ETC_RO:
        if os.path.exists(f):
            cmd += _dirs(f, made) + ["--ro-bind", f, f]
    cmd += ["--proc", "/proc", "--dev", "/dev", "--perms", "01777", "--size", str(limits.tmp),
            "--tmpfs", "/tmp"]  # fmt: skip
    made |= {"/proc", "/dev", "/tmp"}
    for p in dict.fromkeys(ro):
        if os.path.exists(p) and p not in made:
            cmd += _dirs(p, made) + ["--ro-bind", p, p]
            made.add(p)
    s = str(scratch)
    cmd += _dirs(s, made) + ["--bind", s, s, "--chdir", str(scratch / "work")]
    uid = sandbox_uid()
    if uid is not None:
        cmd += ["--", "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all"]  # fmt: skip
    else:
        cmd += ["--"]
    return cmd


def own(path: Path) -> None:
    """Hand the scratch folder to the sandbox uid (as root)."""
    uid = sandbox_uid()
    if uid is None:
        return
    for root, dirs, files in os.walk(path):
        os.chown(root, uid, uid)
        for name in dirs + files:
            os.chown(os.path.join(root, name), uid, uid, follow_symlinks=False)


def rlimits(limits: Limits) -> None:
    """Unsandboxed fallback: at least the resource limits (a preexec_fn)."""
    import resource

    for res, value in (
        (resource.RLIMIT_AS, limits.memory),
        (resource.RLIMIT_FSIZE, limits.file_size),
        (resource.RLIMIT_CORE, 0),
    ):
        try:
            resource.setrlimit(res, (value, value))
        except (ValueError, OSError):
            pass
