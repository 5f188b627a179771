"""Stage 3, execute: the rebuilt, instrumented notebook in the sandboxed kernel.

The worker, outside the sandbox, keeps the time limits per cell and per notebook and cuts huge
outputs (_client.py). After each cell a hook may run the clean check of that cell's values,
while the kernel still holds them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from pathlib import Path
from typing import Any

from . import _cgroup, _records
from ._client import client_class, coalesce
from ._instrument import serve_index
from ._kernel import extra_ro, kernel_env, kill_tree, km_class, netns_of
from ._types import Execution
from .sandbox import Limits, prefix, rlimits


def execute(nb: dict, scratch: Path, limits: Limits, sandboxed: bool, log_path: Path,
            cgroup: _cgroup.Cgroup | None = None, token: str = "",
            extra_env: dict[str, str] | None = None, after: Any = None) -> Execution:  # fmt: skip
    """Run the notebook; never raises (a kernel that will not start is a `stopped` reason).

    `scratch` is the sandbox's folder; `log_path` (the kernel's stdout and stderr) lies outside
    it, where the student cannot swap it for a link or a FIFO. `after(i, nb, replies, serve)`,
    called after cell i, may run the serve cell with `serve(path)` ('' or why the kernel stopped)
    and returns '' or why the run must stop. Timings: the kernel's start, the cells, the hook."""
    import nbformat

    node = nbformat.from_dict(nb)
    run = scratch / "run"
    km = km_class()(transport="ipc", ip=str(run / "k"), connection_file=str(run / "kernel.json"))
    if sandboxed:
        cmd = prefix(scratch, limits, extra_ro())
        km.sandbox_prefix = cgroup.wrap(cmd) if cgroup else cmd
    client = client_class()(
        node, km=km, timeout=int(limits.cell_timeout), allow_errors=True, kernel_name="python3",
        startup_timeout=120, interrupt_on_timeout=False, coalesce_streams=False,
        iopub_timeout=10,
    )  # fmt: skip
    client.output_budget = limits.output_bytes
    client.output_total = limits.output_total
    client.token = token
    client.replies, client._spent = {}, {}

    def on_executed(cell, cell_index, execute_reply):  # type: ignore[no-untyped-def]
        client.replies[cell_index] = (execute_reply or {}).get("content", {}).get("status", "")

    client.on_cell_executed = on_executed
    env = {**kernel_env(scratch), **(extra_env or {})}
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    log = os.fdopen(fd, "wb")
    kwargs: dict[str, Any] = {"env": env, "cwd": str(scratch / "work"), "stdout": log,
                              "stderr": log}  # fmt: skip
    if not sandboxed:
        kwargs["preexec_fn"] = lambda: rlimits(limits)
    start = time.monotonic()
    deadline = start + limits.notebook_timeout
    stopped = ""
    timings = {"kernel start": 0.0, "cells": 0.0, "clean checks": 0.0}
    serve_at = serve_index(node.cells)

    def serve(path: str) -> str:
        cell = node.cells[serve_at]
        cell.source, cell.outputs = _records.serve_cell(path), []
        client._spent[serve_at] = 0
        client.timeout = int(limits.cell_timeout)
        try:
            client.execute_cell(cell, serve_at)
        except Exception as exc:
            return stop_reason(exc, serve_at, client.timeout, limits, limits.cell_timeout + 1)
        return ""

    def netns() -> str | None:
        """The kernel's network namespace (as root), where its model servers listen."""
        if not sandboxed or os.geteuid() != 0:
            return None
        return netns_of(getattr(getattr(km, "provisioner", None), "process", None))

    serve.netns = netns  # type: ignore[attr-defined]
    try:
        with client.setup_kernel(**kwargs):
            timings["kernel start"] = time.monotonic() - start
            for i, cell in enumerate(node.cells):
                if i == serve_at:
                    continue
                left = deadline - time.monotonic()
                if left <= 0:
                    stopped = f"stopped at cell {i}: the notebook ran over its {limits.notebook_timeout:g} s limit"
                    break
                client.timeout = max(1, int(min(limits.cell_timeout, left)))
                t = time.monotonic()
                try:
                    client.execute_cell(cell, i)
                except Exception as exc:  # timeout, dead kernel, protocol garbage
                    stopped = stop_reason(exc, i, client.timeout, limits, left)
                    break
                finally:
                    timings["cells"] += time.monotonic() - t
                if after is not None:
                    t = time.monotonic()
                    why = after(i, node, client.replies, serve)
                    timings["clean checks"] += time.monotonic() - t
                    if why:
                        stopped = f"the clean check of cell {i}'s values: {why}"
                        break
    except Exception as exc:
        if not stopped:
            stopped = (
                f"the kernel did not start or stopped: {type(exc).__name__}: {one_line(str(exc))}"
            )
    finally:
        t = time.monotonic()
        with contextlib.suppress(Exception):
            if km.has_kernel:
                asyncio.run(km.shutdown_kernel(now=True))
        kill_tree(km)
        log.close()
        timings["kernel stop"] = time.monotonic() - t
    for cell in node.cells:
        coalesce(cell)
    return Execution(node, dict(client.replies), stopped, time.monotonic() - start, timings)


def stop_reason(exc: Exception, i: int, timeout: float, limits: Limits, left: float) -> str:
    name = type(exc).__name__
    if name == "CellTimeoutError" or isinstance(exc, TimeoutError):
        if left <= limits.cell_timeout:
            return f"stopped at cell {i}: the notebook ran over its {limits.notebook_timeout:g} s limit"
        return f"stopped at cell {i}: the cell ran over its {timeout:g} s limit"
    if name == "DeadKernelError":
        return f"stopped at cell {i}: the kernel died (crash, memory or process limit)"
    return f"stopped at cell {i}: {name}: {one_line(str(exc))}"


def one_line(text: str, limit: int = 300) -> str:
    """The last non-blank line of an error message, cut: what a row or a note shows."""
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    return (lines[-1] if lines else "unknown error")[:limit]
