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
4. Re-verify. After each test cell a grader cell records, as plain JSON, the values that cell
   handed to `course.check` / `course.quiz.check`. A fresh Python process (isolated mode, the
   same state dir, no student code) runs the unpatched checks on those values. An item passes
   only if both agree; kernel-pass / clean-fail is flagged for review.
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
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .sandbox import Limits, SandboxUnavailable, own, prefix, probe, rlimits

HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
HIDDEN_END = "### END HIDDEN TESTS"
# Values a clean process can trust to be what they look like; others are "not verifiable".
_RICH_OK = re.compile(r"^(builtins\.(function|method)|mlflow\.|sklearn\.|pandas\.|numpy\.|feast\.)")


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

_HARVEST = """def _course_grader_harvest(_item, _calls, _path):
    import json
    def plain(x, depth=0):
        t = type(x)
        if x is None or t in (bool, int, float, str):
            return x
        if hasattr(x, "__fspath__") and t.__module__ == "pathlib":
            return x.__fspath__()  # a path is its text: the checks take either
        if t.__module__ == "numpy" and hasattr(x, "item") and getattr(x, "ndim", 1) == 0:
            return plain(x.item(), depth)
        if t in (list, tuple) and depth < 8:
            return [plain(v, depth + 1) for v in x]
        if t is dict and depth < 8 and all(type(k) is str for k in x):
            return {k: plain(v, depth + 1) for k, v in x.items()}
        raise TypeError(f"{t.__module__}.{t.__qualname__}")
    out = []
    for call in _calls:
        rec = {}
        for name, expr in call["args"].items():
            try:
                rec[name] = {"value": plain(eval(expr, globals()))}
            except TypeError as exc:
                rec[name] = {"type": str(exc)}
            except Exception as exc:
                rec[name] = {"missing": type(exc).__name__}
        out.append(rec)
    with open(_path, "a") as f:
        f.write(json.dumps({"item": _item, "args": out}) + "\\n")
"""


def _instrument(nb: dict, items: list[dict], token: str, record: Path) -> dict:
    """Markers in each test cell, a recording cell after it; returns {cell index: item}."""
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
            where[len(cells)] = item
            cells.append(cell)
            calls = [{"args": c["args"]} for c in item["calls"]]
            harvest = f"_course_grader_harvest({gid!r}, {calls!r}, {str(record)!r})"
            cells.append({"cell_type": "code", "metadata": {"course_grader": True},
                          "source": harvest, "outputs": [], "execution_count": None})  # fmt: skip
        else:
            cells.append(cell)
    setup = {"cell_type": "code", "metadata": {"course_grader": True}, "source": _HARVEST,
             "outputs": [], "execution_count": None}  # fmt: skip
    nb["cells"] = [setup, *cells]
    for i, c in enumerate(nb["cells"]):
        c["id"] = f"cell-{i}"
    return {i + 1: it for i, it in where.items()}


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


def _client_class():
    from nbclient import NotebookClient

    class CappedClient(NotebookClient):
        """Cuts a cell's outputs at a byte budget; records each execute reply's status."""

        output_budget: int = 2 * 1024**2
        replies: dict[int, str]
        _spent: dict[int, int]

        def output(self, outs, msg, display_id, cell_index):  # type: ignore[no-untyped-def]
            spent = self._spent.get(cell_index, 0)
            content = msg.get("content", {})
            size = len(
                json.dumps(content.get("data") or content.get("text") or content, default=str)
            )
            self._spent[cell_index] = spent + size
            if spent + size > self.output_budget:
                if spent <= self.output_budget:
                    outs.append(
                        _stream("stdout", f"\n[grader: output cut at {self.output_budget} bytes]\n")
                    )
                return None
            return super().output(outs, msg, display_id, cell_index)

    return CappedClient


def _stream(name: str, text: str) -> Any:
    from nbformat.v4 import new_output

    return new_output("stream", name=name, text=text)


def execute(nb: dict, scratch: Path, limits: Limits, sandboxed: bool) -> dict:
    """Run the notebook; returns {replies, stopped (reason or ''), seconds}."""
    import nbformat

    node = nbformat.from_dict(nb)
    km_cls = _km_class()
    run = scratch / "run"
    km = km_cls(transport="ipc", ip=str(run / "k"), connection_file=str(run / "kernel.json"))
    if sandboxed:
        km.sandbox_prefix = prefix(scratch, limits, _extra_ro())
    client = _client_class()(
        node, km=km, timeout=int(limits.cell_timeout), allow_errors=True, kernel_name="python3",
        startup_timeout=120, interrupt_on_timeout=False, coalesce_streams=True,
        iopub_timeout=10,
    )  # fmt: skip
    client.output_budget = limits.output_bytes
    client.replies, client._spent = {}, {}

    def on_executed(cell, cell_index, execute_reply):  # type: ignore[no-untyped-def]
        client.replies[cell_index] = (execute_reply or {}).get("content", {}).get("status", "")

    client.on_cell_executed = on_executed
    env = _kernel_env(scratch)
    log = (scratch / "kernel.log").open("wb")
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
    try:
        with client.setup_kernel(**kwargs):
            for i, cell in enumerate(node.cells):
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
# 4. Re-verify in a clean process


def _verify(items: list[dict], record: Path, proc: subprocess.Popen, limits: Limits,
            passed: dict[str, bool]) -> dict[str, dict]:  # fmt: skip
    """{grade_id: {"verdict": "pass"|"fail"|"unverifiable"|"missing", "reason": ...}}."""
    recorded: dict[str, list] = {}
    if record.exists():
        for line in record.read_text(errors="replace").splitlines()[:1000]:
            with contextlib.suppress(ValueError, TypeError, AttributeError):
                rec = json.loads(line)
                recorded.setdefault(str(rec["item"]), rec["args"])
    out: dict[str, dict] = {}
    jobs = []
    for it in items:
        gid = it["grade_id"]
        if not it["calls"] or not passed.get(gid):
            continue  # nothing to verify, or the kernel already says no
        args = recorded.get(gid)
        if not isinstance(args, list) or len(args) != len(it["calls"]):
            out[gid] = {"verdict": "missing", "reason": "no record of the values checked"}
            continue
        for call, rec in zip(it["calls"], args, strict=True):
            values, verdict = {}, "ok"
            for name in call["args"]:
                r = rec.get(name) if isinstance(rec, dict) else None
                if not isinstance(r, dict):
                    verdict = "missing"
                elif "value" in r:
                    values[name] = r["value"]
                elif "type" in r:
                    t = str(r["type"])
                    if call["kind"] == "quiz" or not _RICH_OK.match(t):
                        verdict = f"fail:{name} is a {t}, not a plain value"
                    elif verdict == "ok":
                        verdict = "unverifiable"
                else:
                    verdict = "missing"
            if verdict == "ok":
                jobs.append({"item": gid, "kind": call["kind"], "id": call["id"], "args": values})
            elif verdict.startswith("fail:"):
                out[gid] = {"verdict": "fail", "reason": verdict[5:]}
            elif verdict == "missing":
                out[gid] = {"verdict": "missing", "reason": "no record of the values checked"}
            else:
                out.setdefault(gid, {"verdict": "unverifiable", "reason": "values are objects"})
    if not jobs:
        proc.kill()
        proc.communicate()
        return out
    results = _run_clean(proc, jobs, limits)
    for job, res in zip(jobs, results, strict=False):
        gid = job["item"]
        if out.get(gid, {}).get("verdict") == "fail":
            continue
        if res.get("ok"):
            out.setdefault(gid, {"verdict": "pass", "reason": ""})
            if out[gid]["verdict"] == "unverifiable":
                out[gid] = {"verdict": "pass", "reason": ""}
        else:
            out[gid] = {"verdict": "fail", "reason": res.get("reason", "")}
    for job in jobs[len(results) :]:
        out[job["item"]] = {"verdict": "fail", "reason": "the clean check did not finish"}
    return out


def start_clean(module: str, scratch: Path, limits: Limits, sandboxed: bool) -> subprocess.Popen:
    """The clean checker starts with the notebook, imports, and waits for its jobs on stdin."""
    cmd = [sys.executable, "-I", "-m", "course.grading._verify", module]
    if sandboxed:
        cmd = prefix(scratch, limits) + cmd
    return subprocess.Popen(
        cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=_kernel_env(scratch), cwd=str(scratch / "run"),
    )  # fmt: skip


def _run_clean(proc: subprocess.Popen, jobs: list[dict], limits: Limits) -> list[dict]:
    try:
        out, err = proc.communicate(json.dumps(jobs), timeout=max(60.0, limits.cell_timeout))
        for line in reversed(out.splitlines()):
            if line.startswith("{"):
                return json.loads(line)["results"]
        return [{"ok": False, "reason": f"clean check failed: {_one_line(err)}"}] * len(jobs)
    except Exception as exc:
        proc.kill()
        return [{"ok": False, "reason": f"clean check failed: {type(exc).__name__}"}] * len(jobs)


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
    scratch = None
    try:
        scratch = Path(tempfile.mkdtemp(prefix="cg-", dir=job.get("tmp") or None))
        _grade(job, result, scratch)
    except Exception as exc:  # a bug or a hostile corner we did not foresee: still a row
        result["status"] = "error"
        result["error"] = (
            result["error"] or f"grader error: {type(exc).__name__}: {_one_line(str(exc))}"
        )
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
        result["seconds"] = time.monotonic() - t0
    return result


def _grade(job: dict, result: dict, scratch: Path) -> None:
    limits = Limits(**job.get("limits", {}))
    try:
        student = json.loads(job["content"])
    except (ValueError, UnicodeDecodeError) as exc:
        result["error"] = f"not a valid notebook ({type(exc).__name__}: {_one_line(str(exc))})"
        return
    source, release = job["source"], job["release"]
    try:
        nb, items, notes = rebuild(source, release, student)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        result["error"] = f"not a valid notebook ({type(exc).__name__}: {_one_line(str(exc))})"
        return
    result["notes"] = notes
    for sub in ("home", "run", "work", "userhome"):
        (scratch / sub).mkdir()
    token = "GRADER" + secrets.token_hex(8)
    record = scratch / "run" / "record.jsonl"
    record.touch()
    by_cell = _instrument(nb, items, token, record)
    sandboxed = job.get("sandbox", True) and not probe()
    result["sandboxed"] = sandboxed
    if sandboxed:
        own(scratch)
        os.chmod(scratch, 0o755)
    try:
        checker = start_clean(job["module"], scratch, limits, sandboxed)
        ran = execute(nb, scratch, limits, sandboxed)
    except SandboxUnavailable as exc:
        result["error"] = f"sandbox unavailable: {exc}"
        return
    finally:
        if not sandboxed:
            from ..serving import stop_all

            with contextlib.suppress(Exception):
                stop_all(scratch / "home")
    result["exec_seconds"] = ran["seconds"]
    with contextlib.suppress(OSError):
        result["log"] = (scratch / "kernel.log").read_bytes()[-65536:].decode(errors="replace")
    executed = ran["nb"]
    passed, why = {}, {}
    for i, item in by_cell.items():
        ok, reason = _cell_outcome(
            executed.cells[i], token, ran["replies"].get(i, ""), item["hidden"]
        )
        passed[item["grade_id"]], why[item["grade_id"]] = ok, reason
    clean = _verify(items, record, checker, limits, passed)
    scores = {}
    for item in items:
        gid = item["grade_id"]
        ok = passed.get(gid, False)
        verdict = clean.get(gid, {}).get("verdict", "")
        if ok and verdict in ("fail", "missing"):
            result["review"].append(
                f"{gid}: passed in the kernel, failed the clean check ({clean[gid]['reason']})"
            )
            ok = False
        if not item["auto"]:
            result["notes"].append(f"{gid} needs manual grading")
        scores[gid] = {"score": item["points"] if ok else 0.0, "max": item["points"],
                       "why": why.get(gid, ""), "clean": verdict}  # fmt: skip
    result["items"] = scores
    result["score"] = sum(s["score"] for s in scores.values())
    result["status"] = "graded"
    result["error"] = ran["stopped"]
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

    result["executed"] = nbformat.writes(public)
    max_score = sum(s["max"] for s in scores.values())
    fb = _feedback_nb(executed, token, by_cell, scores, result["score"], max_score,
                      job["student_id"], job["module"], ran["stopped"])  # fmt: skip
    result["feedback"] = _html(fb)
