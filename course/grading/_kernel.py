"""The sandboxed kernel: its environment, its command line, and what is left of it afterwards.

The kernel runs inside the OS sandbox (sandbox.py) and talks to the worker over ZMQ ipc sockets
in the submission's scratch folder.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Any


def kernel_env(scratch: Path) -> dict[str, str]:
    from .._quiet import OFFLINE_ENV

    venv_bin = str(Path(sys.executable).parent)
    env = {
        "PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(scratch / "userhome"),
        "COURSE_HOME": str(scratch / "home"),
        "IPYTHONDIR": str(scratch / "userhome" / ".ipython"),
        "MPLCONFIGDIR": str(scratch / "userhome" / ".mpl"),
        "MPLBACKEND": "Agg",
        "LANG": "C.UTF-8",
        "PYTHONNOUSERSITE": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        "JUPYTER_PLATFORM_DIRS": "1",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        **OFFLINE_ENV,
    }
    # A test aid (tests/netguard): network attempts are logged from inside the sandbox too.
    for var in ("PYTHONPATH", "NETGUARD_LOG"):
        if os.environ.get(var):
            env[var] = os.environ[var]
    return env


def extra_ro() -> list[str]:
    return [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]


def km_class():
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import List

    class SandboxedKernelManager(AsyncKernelManager):
        sandbox_prefix = List()

        def format_kernel_cmd(self, extra_arguments=None):  # type: ignore[no-untyped-def]
            # In its own pid namespace the kernel's parent is pid 1, which ipykernel's parent
            # poller reads as "orphaned": bwrap --die-with-parent does that job instead.
            unset = ["env", "-u", "JPY_PARENT_PID"] if self.sandbox_prefix else []
            cmd = [*unset, sys.executable, "-m", "ipykernel_launcher", "-f", self.connection_file,
                   "--IPKernelApp.log_level=ERROR", "--HistoryManager.enabled=False",
                   *(extra_arguments or [])]  # fmt: skip
            if self.sandbox_prefix:
                from .sandbox import sandbox_uid

                uid = sandbox_uid()
                if uid is not None:  # the kernel reads it after dropping to its own uid
                    os.chown(self.connection_file, uid, uid)
            return [*self.sandbox_prefix, *cmd]

    return SandboxedKernelManager


def netns_of(proc: Any) -> str | None:
    """/proc/PID/ns/net of a process under `proc` in another network namespace than ours."""
    try:
        import psutil

        ours = os.readlink("/proc/self/ns/net")
        for child in psutil.Process(proc.pid).children(recursive=True):
            path = f"/proc/{child.pid}/ns/net"
            if os.readlink(path) != ours:
                return path
    except Exception:  # gone, or not ours to read: the checker keeps a network of its own
        return None
    return None


def kill_tree(km: Any) -> None:
    """The sandbox's pid namespace dies with bwrap; unsandboxed, kill what we can find."""
    proc = getattr(getattr(km, "provisioner", None), "process", None)
    pid = getattr(proc, "pid", None)
    if not pid:
        return
    try:
        import psutil

        root = psutil.Process(pid)
        for p in [*root.children(recursive=True), root]:
            with contextlib.suppress(psutil.Error):
                p.kill()
    except Exception:
        pass
