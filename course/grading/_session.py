"""The worker's end of the clean process: started once the kernel runs, one request per item.

The clean process (_verify.py: `python -I`, its own sandbox, the submission's state dir, no
student code) runs the unpatched checks on the values an item's record names, fetching or
calling kernel-held ones over a socket the kernel serves (_remote.py).
"""

from __future__ import annotations

import contextlib
import json
import queue
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from .sandbox import Limits, prefix


def start(module: str, scratch: Path, limits: Limits, sandboxed: bool, env: dict[str, str],
          wrap: Any = None, netns: str | None = None) -> subprocess.Popen:  # fmt: skip
    """The clean checker: imports, then waits for requests on stdin. `netns`: the kernel's
    network namespace (root only), so that it reaches the model server the notebook started."""
    cmd = [sys.executable, "-I", "-m", "course.grading._verify", module]
    if sandboxed:
        cmd = prefix(scratch, limits, share_net=bool(netns)) + cmd
        if netns:
            cmd = [shutil.which("nsenter") or "nsenter", f"--net={netns}", "--", *cmd]
        cmd = wrap(cmd) if wrap else cmd
    return subprocess.Popen(
        cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        env=env, cwd=str(scratch / "run"),
    )  # fmt: skip


_START_TIMEOUT = 300.0  # seconds for the clean process's imports and setup, under load


class Session:
    """The worker's end of the clean process: one request per item, sent right after the item's
    record cell, while the kernel (which may hold the values) still runs. The process starts
    once the kernel runs (`begin`), in its network namespace where that is possible."""

    def __init__(self, launch: Any, scratch: Path) -> None:
        self.launch, self.scratch, self.count = launch, scratch, 0
        self.proc: subprocess.Popen | None = None
        self.ready = False
        self.waited = 0.0  # seconds the notebook waited for the process's start
        self._lines: queue.Queue[str] = queue.Queue()

    def begin(self, netns: str | None) -> None:
        if self.proc is None:
            self.proc = self.launch(netns)
            threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        out = self.proc.stdout if self.proc is not None else None
        while out is not None:
            line = out.readline(1 << 22)
            if not line:
                break
            self._lines.put(line.decode("utf-8", "replace"))
        self._lines.put("")

    def _answer(self, key: str, timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                break
            if not line:
                self._lines.put("")  # the process ended: every later wait ends too
                break
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if isinstance(message, dict) and key in message:
                return message[key]
        return None

    def verify(self, jobs: list[dict], serve: Any, timeout: float) -> list[dict]:
        """The results of `jobs`; `serve(path)` runs the kernel's end of the socket."""
        if not jobs:
            return []
        self.begin(None)
        assert self.proc is not None
        # Its start (imports, the state dir) is the grader's cost, not a limit on the work.
        if not self.ready:
            t = time.monotonic()
            ready = self._answer("ready", _START_TIMEOUT)
            self.waited += time.monotonic() - t
            if ready is None:
                return [{"ok": False, "reason": "the clean check did not start"}] * len(jobs)
        self.ready = True
        self.count += 1
        remote = any(j.get("remote") for j in jobs)
        path = str(self.scratch / "run" / f"rpc-{self.count}.sock") if remote else None
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write((json.dumps({"jobs": jobs, "socket": path}) + "\n").encode())
            self.proc.stdin.flush()
        except (OSError, AssertionError):
            return [{"ok": False, "reason": "the clean check is not running"}] * len(jobs)
        if path is not None:
            if self._answer("listening", 60.0) is None:
                return [{"ok": False, "reason": "the clean check did not start"}] * len(jobs)
            serve(path)
        results = self._answer("results", timeout)
        if not isinstance(results, list) or len(results) != len(jobs):
            return [{"ok": False, "reason": "the clean check did not finish"}] * len(jobs)
        return [r if isinstance(r, dict) else {"ok": False, "reason": "?"} for r in results]

    def close(self) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(Exception):
            self.proc.kill()
        with contextlib.suppress(Exception):
            self.proc.wait(timeout=10)
