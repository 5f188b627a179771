"""Grading one submission: rebuild, execute in the sandbox, score, re-verify, feedback.

`grade_submission(job)` is a plain function of plain data (it runs in a Dask worker, local or
remote) and never raises: whatever the submission does, it returns a result dict with a status
("graded" or "error"), a reason, the scores, the executed notebook and the feedback page.

1. Rebuild. The graded notebook is the instructor's source, cell by cell, in its order: every
   locked cell, test cell and hidden test comes from the instructor; only the student's answer
   cells (matched by grade id) and the student's own extra cells come from the submission.
   Edited, deleted, duplicated or reordered grade cells, changed points or cell types, a
   different kernel or a foreign schema_version cannot change what is run or what it is worth;
   each is listed in `notes`.
2. Execute. The kernel runs inside the OS sandbox (sandbox.py) and talks to this process over
   ZMQ ipc sockets in the submission's scratch folder; this process, outside the sandbox, keeps
   the time limits per cell and per notebook and cuts huge outputs.
3. Score. A test cell earns its points when its execute reply says ok, it shows no error, and a
   marker printed by its last line (after the hidden tests) arrives: an exception hidden by
   patching IPython or sys.excepthook never reaches that line. stderr costs nothing.
4. Re-verify. After each test cell a grader cell records the values that cell handed to
   `course.check` / `course.quiz.check` (plain JSON, or a reference the kernel keeps). Right
   then, a fresh Python process (isolated mode, its own sandbox, the same state dir, no student
   code) runs the unpatched checks on them, fetching kernel-held values and calling kernel-held
   functions over a socket (_remote.py); the item's hidden tests run there too. An item passes
   only if both agree; kernel-pass / clean-fail or unverifiable is flagged for review. Graded
   quizzes (job["quiz_keys"], the instructor's keys): the kernel runs with
   COURSE_QUIZ_MODE=graded, so the learner's check only records; the recorded answer is scored
   here against the key.
5. Feedback. Hidden tests removed from the source, everything the cell printed after the hidden
   tests began dropped, errors one line.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import copy
import json
import os
import re
import secrets
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from . import _cgroup, _files, _recheck, _records, _scrub
from .sandbox import Limits, SandboxUnavailable, own, prefix, probe, rlimits

HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
HIDDEN_END = "### END HIDDEN TESTS"
QUIZ_MODE_ENV = "COURSE_QUIZ_MODE"  # course.quiz.MODE_ENV; set when job["quiz_keys"] is given
_MAX_EXTRA_CELLS = 400  # cells a submission may add; more are dropped with a note


def _src(cell: dict) -> str:
    s = cell.get("source", "")
    return "".join(s) if isinstance(s, list) else str(s)


def _meta(cell: Any) -> dict:
    if not isinstance(cell, dict):
        return {}
    m = cell.get("metadata", {})
    m = m.get("nbgrader", {}) if isinstance(m, dict) else {}
    return m if isinstance(m, dict) else {}


# ---------------------------------------------------------------------------------------------
# 1. Rebuild


def _check_calls(source: str) -> list[dict]:
    """`course.check("id", a=x)` / `course.quiz.check("id", x)` calls in a test cell's visible part."""
    visible = source.split(HIDDEN_BEGIN)[0]
    try:
        tree = ast.parse(visible)
    except SyntaxError:
        return []
    calls = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and node.args):
            continue
        name = ast.unparse(node.func)
        first = node.args[0]
        if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
            continue
        if name == "course.check":
            args = {k.arg: ast.unparse(k.value) for k in node.keywords if k.arg}
            calls.append({"kind": "check", "id": first.value, "args": args})
        elif name == "course.quiz.check" and len(node.args) == 2:
            calls.append(
                {"kind": "quiz", "id": first.value, "args": {"answer": ast.unparse(node.args[1])}}
            )
    return calls


def rebuild(source: dict, release: dict, student: Any) -> tuple[dict, list[dict], list[str]]:
    """The notebook to execute, its graded items, and notes on what the submission changed."""
    notes: list[str] = []
    if not isinstance(student, dict) or not isinstance(student.get("cells"), list):
        raise ValueError("no list of cells")
    meta = student.get("metadata") if isinstance(student.get("metadata"), dict) else {}
    kernel = (
        (meta.get("kernelspec") or {}).get("name")
        if isinstance(meta.get("kernelspec"), dict)
        else None
    )
    if kernel and kernel != "python3":
        notes.append(f"kernel {kernel!r} ignored (graded with python3)")
    if student.get("nbformat") not in (4, None):
        notes.append(f"nbformat {student.get('nbformat')} read as 4")

    inst = {_meta(c).get("grade_id"): c for c in source["cells"] if _meta(c).get("grade_id")}
    stubs = {_meta(c).get("grade_id"): c for c in release["cells"] if _meta(c).get("grade_id")}
    answer_ids = {g for g, c in inst.items() if _meta(c).get("solution")}
    # The instructor's own ungraded cells (scaffolding, demonstrations) already run in place;
    # a submission's unchanged copies of them must not run a second time elsewhere.
    given = {
        _src(c).strip()
        for nb in (source, release)
        for c in nb["cells"]
        if not _meta(c).get("grade_id")
    }
    answers: dict[str, str] = {}
    extras: dict[str | None, list[dict]] = {}
    anchor: str | None = None
    seen: set[str] = set()
    for cell in student["cells"]:
        if not isinstance(cell, dict):
            notes.append("a cell that is not an object was dropped")
            continue
        m = _meta(cell)
        gid = m.get("grade_id")
        sv = m.get("schema_version")
        if m and sv != 3:
            notes.append(f"schema_version {sv!r} on {gid or 'a cell'} ignored")
        if gid in inst:
            if gid in seen:
                notes.append(f"duplicate {gid} ignored")
                if gid in answer_ids and cell.get("cell_type") == "code":
                    extras.setdefault(anchor, []).append(_plain_cell(cell))
                continue
            seen.add(gid)
            anchor = gid
            if gid in answer_ids:
                answers[gid] = _src(cell)
                if cell.get("cell_type") != inst[gid]["cell_type"]:
                    notes.append(
                        f"{gid}: cell type {cell.get('cell_type')!r} read as {inst[gid]['cell_type']}"
                    )
            else:
                wants = {_src(stubs.get(gid, inst[gid])).strip(), _src(inst[gid]).strip()}
                if _src(cell).strip() not in wants:
                    notes.append(f"locked cell {gid} was edited (restored)")
                if m.get("points") not in (None, _meta(inst[gid]).get("points")):
                    notes.append(f"{gid}: points {m.get('points')!r} ignored")
        elif gid:
            notes.append(f"unknown grade id {gid!r} ignored")
            extras.setdefault(anchor, []).append(_plain_cell(cell))
        elif cell.get("cell_type") in ("code", "markdown") and _src(cell).strip() not in given:
            extras.setdefault(anchor, []).append(_plain_cell(cell))
    extra_count = 0
    for key in list(extras):
        keep = max(0, _MAX_EXTRA_CELLS - extra_count)
        if len(extras[key]) > keep:
            notes.append(
                f"{len(extras[key]) - keep} added cell(s) beyond {_MAX_EXTRA_CELLS} dropped"
            )
            extras[key] = extras[key][:keep]
        extra_count += len(extras[key])
    missing = [g for g in inst if g not in seen and _meta(inst[g]).get("grade_id")]
    if missing:
        notes.append(f"{len(missing)} cell(s) missing, restored: {', '.join(missing[:5])}")
    # Student cells that followed a cell the instructor does not have (anchor None) go first.
    cells: list[dict] = list(extras.get(None, []))
    items: list[dict] = []
    for cell in source["cells"]:
        c = copy.deepcopy(cell)
        c.pop("outputs", None)
        if c["cell_type"] == "code":
            c["outputs"], c["execution_count"] = [], None
        m = _meta(c)
        gid = m.get("grade_id")
        if gid in answer_ids:
            c["source"] = answers.get(gid, _src(stubs.get(gid, c)))
        if m.get("grade"):
            items.append({"grade_id": gid, "points": float(m.get("points", 0)),
                          "auto": c["cell_type"] == "code" and not m.get("solution"),
                          "calls": _check_calls(_src(c)), "hidden": HIDDEN_BEGIN in _src(c)})  # fmt: skip
        cells.append(c)
        cells += extras.get(gid, []) if gid else []
    for i, c in enumerate(cells):
        c["id"] = f"cell-{i}"
    nb = {"cells": cells, "metadata": copy.deepcopy(source.get("metadata", {})),
          "nbformat": 4, "nbformat_minor": 5}  # fmt: skip
    nb["metadata"]["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb, items, notes


def _plain_cell(cell: dict) -> dict:
    kind = cell.get("cell_type") if cell.get("cell_type") in ("code", "markdown") else "code"
    out = {"cell_type": kind, "metadata": {}, "source": _src(cell)}
    if kind == "code":
        out.update(outputs=[], execution_count=None)
    return out


# ---------------------------------------------------------------------------------------------
# 2. Execute


def _grader_cell(source: str) -> dict:
    return {"cell_type": "code", "metadata": {"course_grader": True}, "source": source,
            "outputs": [], "execution_count": None}  # fmt: skip


def _instrument(nb: dict, items: list[dict], token: str) -> dict[int, dict]:
    """Markers in each test cell, a reset cell before it and a recording cell after it.

    Returns {test cell index: item}; each item gains "record_at" (the recording cell's index)
    and "nonce" (under which that cell prints its record)."""
    by_id = {it["grade_id"]: it for it in items}
    cells, where = [], {}
    for cell in nb["cells"]:
        gid = _meta(cell).get("grade_id")
        item = by_id.get(gid)
        if item and item["auto"]:
            src = _src(cell)
            if HIDDEN_BEGIN in src:
                src = src.replace(
                    HIDDEN_BEGIN, f'print("{token}:hidden", flush=True)\n{HIDDEN_BEGIN}', 1
                )
            cell["source"] = src.rstrip() + f'\nprint("{token}:done", flush=True)'
            cells.append(_grader_cell(_records.reset_cell()))
            where[len(cells)] = item
            cells.append(cell)
            exprs = [(n, e) for c in item["calls"] for n, e in c["args"].items()]
            if exprs:
                source, item["nonce"] = _records.record_cell(exprs)
                item["record_at"] = len(cells)
                cells.append(_grader_cell(source))
        else:
            cells.append(cell)
    # The kernel's end of the clean check's socket runs here (never in the notebook's order).
    cells.append(_grader_cell("pass"))
    cells[-1]["metadata"]["course_serve"] = True
    nb["cells"] = cells
    for i, c in enumerate(nb["cells"]):
        c["id"] = f"cell-{i}"
    return where


def _kernel_env(scratch: Path) -> dict[str, str]:
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


def _extra_ro() -> list[str]:
    return [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]


def _km_class():
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


_WRAP = 10_000  # longest stream line kept whole; longer ones are split (linear work later)
_GRADER_CAP = 4 * 1024**2  # outputs of one grader cell (its record)


def _client_class():
    from nbclient import NotebookClient

    class CappedClient(NotebookClient):
        """Output budgets per cell and per notebook (display updates included); execute
        reply statuses; streams merged by us in linear time (nbclient's own coalescing runs a
        regex that is quadratic in the line length, outside any time limit)."""

        output_budget: int = 2 * 1024**2
        output_total: int = 16 * 1024**2
        replies: dict[int, str]
        _spent: dict[int, int]
        _total: int = 0
        token: str = ""

        def _grader(self, cell_index: int) -> bool:
            cells = self.nb.cells
            return 0 <= cell_index < len(cells) and bool(
                cells[cell_index].get("metadata", {}).get("course_grader")
            )

        def _charge(self, cell_index: int, size: int) -> str:
            """'' when `size` more bytes fit (and are counted), else why not."""
            spent = self._spent.get(cell_index, 0)
            if self._grader(cell_index):
                over = "cell" if spent + size > _GRADER_CAP else ""
            elif spent + size > self.output_budget:
                over = "cell"
            elif self._total + size > self.output_total:
                over = "notebook"
            else:
                over = ""
                self._total += size
            if not over:
                self._spent[cell_index] = spent + size
            return over

        def output(self, outs, msg, display_id, cell_index):  # type: ignore[no-untyped-def]
            content = msg.get("content", {})
            size = len(
                json.dumps(content.get("data") or content.get("text") or content, default=str)
            )
            over = self._charge(cell_index, size)
            if over:
                note = f"[grader: output cut at {self.output_budget} bytes]"
                if over == "notebook":
                    note = f"[grader: output cut: the notebook passed {self.output_total} bytes]"
                if not any(o.get("text", "").strip() == note for o in outs[-2:]):
                    outs.append(_stream("stdout", f"\n{note}\n"))
                # The grader's own markers are never cut: a test's outcome is not output.
                text = str(content.get("text", "")) if msg.get("msg_type") == "stream" else ""
                marks = [ln for ln in text.split("\n") if self.token and ln.startswith(self.token)]
                if marks:
                    outs.append(_stream("stdout", "\n".join(marks[:4]) + "\n"))
                return None
            if msg.get("msg_type") == "stream" and not self._grader(cell_index):
                content["text"] = _wrap_long_lines(str(content.get("text", "")))
            return super().output(outs, msg, display_id, cell_index)

        def _update_display_id(self, display_id, msg):  # type: ignore[no-untyped-def]
            content = msg.get("content", {})
            size = len(json.dumps(content.get("data") or content, default=str))
            if size > self.output_budget or self._total + size > self.output_total:
                return None
            self._total += size
            return super()._update_display_id(display_id, msg)

    return CappedClient


def _wrap_long_lines(text: str) -> str:
    if len(text) <= _WRAP or all(len(ln) <= _WRAP for ln in text.split("\n")):
        return text
    out = []
    for ln in text.split("\n"):
        out += [ln[i : i + _WRAP] for i in range(0, len(ln), _WRAP)] or [""]
    return "\n".join(out)


def _coalesce(cell: Any) -> None:
    """Consecutive stream outputs of one name merged; carriage returns and backspaces applied
    line by line (what nbclient's coalesce_streams does, in linear time)."""
    outs, last = [], {}
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            prev = last.get(out.get("name"))
            if prev is not None and outs and outs[-1] is prev:
                prev["_parts"].append(out.get("text", ""))
                continue
            out["_parts"] = [out.get("text", "")]
            last[out.get("name")] = out
        outs.append(out)
    for out in outs:
        if "_parts" in out:
            out["text"] = _apply_controls("".join(out.pop("_parts")))
    cell["outputs"] = outs


def _apply_controls(text: str) -> str:
    if "\r" not in text and "\b" not in text:
        return text
    lines = []
    for ln in text.split("\n"):
        cut = ln.rfind("\r", 0, len(ln) - 1)
        if cut >= 0:
            ln = ln[cut + 1 :]
        if "\b" in ln:
            kept: list[str] = []
            for ch in ln:
                if ch == "\b" and kept and kept[-1] != "\b":
                    kept.pop()
                else:
                    kept.append(ch)
            ln = "".join(kept)
        lines.append(ln)
    return "\n".join(lines)


def _stream(name: str, text: str) -> Any:
    from nbformat.v4 import new_output

    return new_output("stream", name=name, text=text)


def execute(nb: dict, scratch: Path, limits: Limits, sandboxed: bool, log_path: Path,
            cgroup: _cgroup.Cgroup | None = None, token: str = "",
            extra_env: dict[str, str] | None = None, after: Any = None) -> dict:  # fmt: skip
    """Run the notebook; returns {nb, replies, stopped (reason or ''), seconds}.

    `scratch` is the sandbox's folder; `log_path` (the kernel's stdout and stderr) lies outside
    it, where the student cannot swap it for a link or a FIFO. `after(i, nb, replies, serve)`,
    called after cell i, may run the serve cell with `serve(path)` ('' or why the kernel stopped)
    and returns '' or why the run must stop."""
    import nbformat

    node = nbformat.from_dict(nb)
    km_cls = _km_class()
    run = scratch / "run"
    km = km_cls(transport="ipc", ip=str(run / "k"), connection_file=str(run / "kernel.json"))
    if sandboxed:
        cmd = prefix(scratch, limits, _extra_ro())
        km.sandbox_prefix = cgroup.wrap(cmd) if cgroup else cmd
    client = _client_class()(
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
    env = {**_kernel_env(scratch), **(extra_env or {})}
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    log = os.fdopen(fd, "wb")
    kwargs: dict[str, Any] = {
        "env": env,
        "cwd": str(scratch / "work"),
        "stdout": log,
        "stderr": log,
    }
    if not sandboxed:
        kwargs["preexec_fn"] = lambda: rlimits(limits)
    start = time.monotonic()
    deadline = start + limits.notebook_timeout
    stopped = ""
    ran_to = -1
    serve_at = next(
        (i for i, c in enumerate(node.cells) if c.get("metadata", {}).get("course_serve")), -1
    )

    def serve(path: str) -> str:
        cell = node.cells[serve_at]
        cell.source, cell.outputs = _records.serve_cell(path), []
        client._spent[serve_at] = 0
        client.timeout = int(limits.cell_timeout)
        try:
            client.execute_cell(cell, serve_at)
        except Exception as exc:
            return _stop_reason(exc, serve_at, client.timeout, limits, limits.cell_timeout + 1)
        return ""

    def netns() -> str | None:
        """The kernel's network namespace (as root), where its model servers listen."""
        if not sandboxed or os.geteuid() != 0:
            return None
        return _netns_of(getattr(getattr(km, "provisioner", None), "process", None))

    serve.netns = netns  # type: ignore[attr-defined]
    try:
        with client.setup_kernel(**kwargs):
            for i, cell in enumerate(node.cells):
                if i == serve_at:
                    continue
                left = deadline - time.monotonic()
                if left <= 0:
                    stopped = f"stopped at cell {i}: the notebook ran over its {limits.notebook_timeout:g} s limit"
                    break
                client.timeout = max(1, int(min(limits.cell_timeout, left)))
                try:
                    client.execute_cell(cell, i)
                    ran_to = i
                except Exception as exc:  # timeout, dead kernel, protocol garbage
                    stopped = _stop_reason(exc, i, client.timeout, limits, left)
                    break
                if after is not None:
                    why = after(i, node, client.replies, serve)
                    if why:
                        stopped = f"the clean check of cell {i}'s values: {why}"
                        break
    except Exception as exc:
        if not stopped:
            stopped = (
                f"the kernel did not start or stopped: {type(exc).__name__}: {_one_line(str(exc))}"
            )
    finally:
        with contextlib.suppress(Exception):
            if km.has_kernel:
                asyncio.run(km.shutdown_kernel(now=True))
        _kill_tree(km)
        log.close()
    for cell in node.cells:
        _coalesce(cell)
    return {"nb": node, "replies": client.replies, "stopped": stopped, "ran_to": ran_to,
            "seconds": time.monotonic() - start}  # fmt: skip


def _stop_reason(exc: Exception, i: int, timeout: float, limits: Limits, left: float) -> str:
    name = type(exc).__name__
    if name == "CellTimeoutError" or isinstance(exc, TimeoutError):
        if left <= limits.cell_timeout:
            return f"stopped at cell {i}: the notebook ran over its {limits.notebook_timeout:g} s limit"
        return f"stopped at cell {i}: the cell ran over its {timeout:g} s limit"
    if name == "DeadKernelError":
        return f"stopped at cell {i}: the kernel died (crash, memory or process limit)"
    return f"stopped at cell {i}: {name}: {_one_line(str(exc))}"


def _netns_of(proc: Any) -> str | None:
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


def _kill_tree(km: Any) -> None:
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


def _one_line(text: str, limit: int = 300) -> str:
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    return (lines[-1] if lines else "unknown error")[:limit]


# ---------------------------------------------------------------------------------------------
# 3. Score


def _cell_outcome(cell: Any, token: str, reply: str, hidden: bool) -> tuple[bool, str]:
    text = "".join(
        o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream"
    )
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    if errors:
        e = errors[0]
        return False, f"{e.get('ename', 'Error')}: {_one_line(e.get('evalue', ''))}"
    if reply and reply != "ok":
        return False, "the cell failed"
    if f"{token}:done" not in text or (hidden and f"{token}:hidden" not in text):
        if reply == "":
            return False, "not run"
        return False, "the cell did not run to its end (an exception was hidden?)"
    return True, ""


# ---------------------------------------------------------------------------------------------
# 5. Feedback


def _strip_token(text: str, token: str) -> str:
    return re.sub(rf"^{token}:\w+\n?", "", text, flags=re.M)


def _public_cell(cell: Any, token: str, hidden: bool) -> None:
    """Hidden tests out of the source; nothing the cell did after they began; one-line errors."""
    src = _src(cell)
    src = src.replace(f'print("{token}:hidden", flush=True)\n', "").replace(
        f'\nprint("{token}:done", flush=True)', ""
    )
    src = re.sub(rf"{HIDDEN_BEGIN}.*?{HIDDEN_END}\n?", "", src, flags=re.S).rstrip()
    cell["source"] = src
    kept, in_hidden = [], False
    for out in cell.get("outputs", []):
        if in_hidden:
            if out.get("output_type") == "error":
                msg = out.get("evalue", "") if out.get("ename") == "AssertionError" else ""
                kept.append(_error("HiddenTestFailed", msg or "a hidden test failed"))
            continue
        if out.get("output_type") == "stream":
            text = out.get("text", "")
            if f"{token}:hidden" in text:
                text = text.split(f"{token}:hidden")[0]
                in_hidden = True
            out["text"] = _strip_token(text, token)
            if out["text"]:
                kept.append(out)
        elif out.get("output_type") == "error":
            label = {"NotAttempted": "Not attempted", "CheckError": "Incorrect"}.get(
                out.get("ename"), out.get("ename")
            )
            out["traceback"] = [f"{label}: {_one_line(out.get('evalue', ''), 500)}"]
            kept.append(out)
        else:
            kept.append(out)
    cell["outputs"] = kept


def _error(ename: str, evalue: str) -> Any:
    from nbformat.v4 import new_output

    return new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def _feedback_nb(executed: Any, token: str, by_cell: dict[int, dict], scores: dict, total: float,
                 max_score: float, student: str, module: str, status: str) -> Any:  # fmt: skip
    import nbformat

    nb = copy.deepcopy(executed)
    cells = []
    for i, cell in enumerate(nb.cells):
        if cell.get("metadata", {}).get("course_grader"):
            continue
        if i in by_cell:
            _public_cell(cell, token, by_cell[i]["hidden"])
        elif cell.cell_type == "code":
            for out in cell.get("outputs", []):
                if out.get("output_type") == "stream":
                    out["text"] = _strip_token(out.get("text", ""), token)
        cells.append(cell)
    lines = [f"# Feedback: {module}, {student}", "", f"**Score: {total:g} / {max_score:g}**", ""]
    if status:
        lines += [f"> {status}", ""]
    lines += ["| item | points | max |", "|---|---|---|"]
    lines += [f"| {g} | {s['score']:g} | {s['max']:g} |" for g, s in scores.items()]
    nb.cells = [nbformat.v4.new_markdown_cell("\n".join(lines)), *cells]
    return nb


_EXPORTER = None


def _html(nb: Any) -> str:
    global _EXPORTER
    if _EXPORTER is None:  # built once per worker process
        from nbconvert import HTMLExporter

        _EXPORTER = HTMLExporter(template_name="lab")
        with contextlib.suppress(Exception):
            _EXPORTER.sanitize_html = True
    body, _ = _EXPORTER.from_notebook_node(nb)
    return body


# ---------------------------------------------------------------------------------------------


def grade_submission(job: dict) -> dict:
    """Grade one submission; never raises. See the module docstring."""
    t0 = time.monotonic()
    result: dict[str, Any] = {"student_id": job["student_id"], "status": "error", "error": "",
                              "items": {}, "notes": [], "review": [], "score": None,
                              "executed": None, "feedback": None, "seconds": 0.0,
                              "exec_seconds": 0.0, "sandboxed": False}  # fmt: skip
    root = None
    try:
        # root: this process's alone (0700), holds the kernel log; root/box: the sandbox's.
        root = Path(tempfile.mkdtemp(prefix="cg-", dir=job.get("tmp") or None))
        _grade(job, result, root)
    except Exception as exc:  # a bug or a hostile corner we did not foresee: still a row
        result["status"] = "error"
        result["error"] = (
            result["error"] or f"grader error: {type(exc).__name__}: {_one_line(str(exc))}"
        )
    finally:
        if root is not None:
            if result.pop("_mounted", False):
                _cgroup.unmount_scratch(root / "box")
            shutil.rmtree(root, ignore_errors=True)
        result["seconds"] = time.monotonic() - t0
    return _files.clean(result)


def _grade(job: dict, result: dict, root: Path) -> None:
    limits = Limits(**job.get("limits", {}))
    try:
        student = json.loads(job["content"])
    except (ValueError, UnicodeDecodeError) as exc:
        result["error"] = f"not a valid notebook ({type(exc).__name__}: {_one_line(str(exc))})"
        return
    source, release = job["source"], job["release"]
    try:
        nb, items, notes = rebuild(source, release, student)
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
        result["error"] = f"not a valid notebook ({type(exc).__name__}: {_one_line(str(exc))})"
        return
    result["notes"] = notes
    want_sandbox = job.get("sandbox", True)
    reason = probe() if want_sandbox else ""
    if reason:  # never fall back to running student code unsandboxed on this worker
        result["error"] = f"sandbox unavailable on this worker: {reason}"
        return
    sandboxed = bool(want_sandbox)
    result["sandboxed"] = sandboxed
    scratch = root / "box"
    scratch.mkdir()
    group = None
    if sandboxed and _cgroup.available():
        result["_mounted"] = _cgroup.mount_scratch(scratch, limits.disk)
        group = _cgroup.Cgroup(limits.memory, limits.processes)
    if sandboxed and not group:
        result["notes"].append("no cgroup here: memory limited per process only")
    try:
        _run_and_score(job, result, limits, nb, items, scratch, root, sandboxed, group)
    finally:
        if group is not None:
            group.remove()


def _run_and_score(job: dict, result: dict, limits: Limits, nb: dict, items: list[dict],
                   scratch: Path, root: Path, sandboxed: bool,
                   group: _cgroup.Cgroup | None) -> None:  # fmt: skip
    for sub in ("home", "run", "work", "userhome", "shared"):
        (scratch / sub).mkdir()
    token = "GRADER" + secrets.token_hex(8)
    by_cell = _instrument(nb, items, token)
    if sandboxed:
        own(scratch)
        os.chmod(scratch, 0o755)
    env = _kernel_env(scratch)
    # Graded quizzes: the learner's check records the answer and says nothing about it.
    mode = {QUIZ_MODE_ENV: "graded"} if job.get("quiz_keys") is not None else {}
    checked: dict[str, Any] = {"jobs": [], "results": [], "known": {}, "answers": {},
                               "done": set()}  # fmt: skip
    session = None
    try:
        # The clean check's temporary files (a fixture it hands to a function) live where the
        # kernel sees them too: each sandbox has a /tmp of its own.
        shared = {"TMPDIR": str(scratch / "shared")}
        session = _recheck.Session(
            lambda netns: _recheck.start(job["module"], scratch, limits, sandboxed,
                                         {**env, **mode, **shared}, group.wrap if group else None,
                                         netns),
            scratch,
        )  # fmt: skip
        after = _inline_check(job, limits, items, by_cell, token, session, checked)
        ran = execute(nb, scratch, limits, sandboxed, root / "kernel.log", group, token, mode,
                      after)  # fmt: skip
    except SandboxUnavailable as exc:
        result["error"] = f"sandbox unavailable: {exc}"
        return
    finally:
        if session is not None:  # the clean process never outlives the kernel it checked
            session.close()
        if not sandboxed:
            from ..serving import stop_all

            with contextlib.suppress(Exception):
                stop_all(scratch / "home")
    result["exec_seconds"] = ran["seconds"]
    with contextlib.suppress(OSError):
        log = _files.tail_bounded(root / "kernel.log", 65536)
        result["log"] = log.decode("utf-8", "replace")
    # Everything after execution has its own hard limit: a row in time, whatever it holds.
    post: dict[str, Any] = {}
    worker = threading.Thread(
        target=_post, args=(job, limits, ran, items, by_cell, token, checked, post), daemon=True
    )
    worker.start()
    worker.join(limits.post_timeout)
    if worker.is_alive() or "error" in post:
        result["error"] = post.get("error") or (
            f"grading after execution ran over its {limits.post_timeout:g} s limit"
        )
        return
    result["notes"] += post["notes"]
    for key in ("items", "review", "score", "executed", "feedback"):
        result[key] = post[key]
    if "answers" in post:
        result["answers"] = post["answers"]
    result["status"] = "graded"
    result["error"] = ran["stopped"]


def _inline_check(job: dict, limits: Limits, items: list[dict], by_cell: dict[int, dict],
                  token: str, session: _recheck.Session, checked: dict) -> Any:  # fmt: skip
    """The `after` hook of execute(): right after an item's record cell, while the kernel still
    holds its values, the clean process checks them; results are collected in `checked`."""
    source = job["source"]
    instructor = {_meta(c).get("grade_id"): _src(c) for c in source["cells"]}
    pre = _recheck.preamble(source)
    records = {it["record_at"]: (i, it) for i, it in by_cell.items() if "record_at" in it}

    def after(i: int, nb: Any, replies: dict, serve: Any) -> str:
        if session.proc is None:  # once the kernel runs: its imports overlap the notebook
            session.begin(serve.netns())
        if i not in records:
            return ""
        at, item = records[i]
        test = copy.deepcopy(nb.cells[at])
        _coalesce(test)
        ok, _ = _cell_outcome(test, token, replies.get(at, ""), item["hidden"])
        record = copy.deepcopy(nb.cells[i])
        _coalesce(record)
        cells = {at: test, i: record}
        jobs, known = _recheck.jobs_for([item], cells, {item["grade_id"]: ok}, instructor, pre,
                                        job.get("quiz_keys"), checked["answers"])  # fmt: skip
        stopped = ""

        def serve_once(path: str) -> None:
            nonlocal stopped
            stopped = serve(path)

        results = session.verify(jobs, serve_once, max(60.0, limits.cell_timeout))
        checked["jobs"] += jobs
        checked["results"] += results
        checked["known"].update(known)
        checked["done"].add(item["grade_id"])
        return stopped

    return after


def _post(job: dict, limits: Limits, ran: dict, items: list[dict], by_cell: dict[int, dict],
          token: str, checked: dict, post: dict) -> None:  # fmt: skip
    """Score, build the feedback; fills `post` (or post["error"])."""
    try:
        _score(job, limits, ran, items, by_cell, token, checked, post)
    except Exception as exc:
        post["error"] = f"grader error: {type(exc).__name__}: {_one_line(str(exc))}"


def _score(job: dict, limits: Limits, ran: dict, items: list[dict], by_cell: dict[int, dict],
           token: str, checked: dict, post: dict) -> None:  # fmt: skip
    executed = ran["nb"]
    passed, why = {}, {}
    for i, item in by_cell.items():
        ok, reason = _cell_outcome(
            executed.cells[i], token, ran["replies"].get(i, ""), item["hidden"]
        )
        passed[item["grade_id"]], why[item["grade_id"]] = ok, reason
    source = job["source"]
    answers = checked["answers"]
    known = dict(checked["known"])
    done = checked["done"]
    instructor = {_meta(c).get("grade_id"): _src(c) for c in source["cells"]}
    rest = [it for it in items if it["grade_id"] not in done]
    unchecked, more = _recheck.jobs_for(rest, executed.cells, passed, instructor, [],
                                        job.get("quiz_keys"), answers)  # fmt: skip
    known.update(more)
    for j in unchecked:  # a pass the inline check never saw is not taken on trust
        known[j["item"]] = {"verdict": "missing", "reason": "not re-checked outside the kernel"}
    clean = _recheck.verdicts(checked["jobs"], checked["results"], known)
    trust = bool(job.get("trust_unverifiable"))
    scores, review, notes = {}, [], []
    for item in items:
        gid = item["grade_id"]
        ok = passed.get(gid, False)
        c = clean.get(gid, {})
        verdict = c.get("verdict", "")
        notes += [f"{gid}: {n}" for n in c.get("notes", [])]
        if verdict == "wrong":  # a graded quiz answer that is not the instructor's key
            ok = False
            why[gid] = why.get(gid) or c["reason"]
        elif ok and verdict in ("fail", "missing"):
            review.append(f"{gid}: passed in the kernel, failed the clean check ({c['reason']})")
            ok = False
        elif ok and verdict == "unverifiable":
            if trust and c.get("real"):
                notes.append(f"{gid}: kernel verdict trusted, not verified ({c['reason']})")
            else:
                review.append(f"{gid}: passed in the kernel, not verifiable outside it "
                              f"({c['reason']}): scored 0")  # fmt: skip
                ok = False
        if not item["auto"]:
            notes.append(f"{gid} needs manual grading")
        scores[gid] = {"score": item["points"] if ok else 0.0, "max": item["points"],
                       "why": why.get(gid, ""), "clean": verdict}  # fmt: skip
    post.update(items=scores, review=review, notes=notes,
                score=sum(s["score"] for s in scores.values()))  # fmt: skip
    if job.get("want_answers"):  # the instructor's own run: its answers are the computed keys
        post["answers"] = answers
    # The notebook formgrader shows: grader cells out, markers out, hidden tests kept.
    public = copy.deepcopy(executed)
    public.cells = [c for c in public.cells if not c.get("metadata", {}).get("course_grader")]
    for c in public.cells:
        if c.cell_type == "code":
            c.source = c.source.replace(f'print("{token}:hidden", flush=True)\n', "").replace(
                f'\nprint("{token}:done", flush=True)', ""
            )
            for out in c.get("outputs", []):
                if out.get("output_type") == "stream":
                    out["text"] = _strip_token(out.get("text", ""), token)
    import nbformat

    post["executed"] = nbformat.writes(public)
    max_score = sum(s["max"] for s in scores.values())
    fb = _feedback_nb(executed, token, by_cell, scores, post["score"], max_score,
                      job["student_id"], job["module"], ran["stopped"])  # fmt: skip
    _scrub.scrub_notebook(fb, _scrub.hidden_lines(source))
    post["feedback"] = _html(fb)
