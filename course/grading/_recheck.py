"""The worker's side of the clean re-check: what to verify, and the verdict per item.

For each test cell the kernel passed, the recording cell's record (read from that cell's own
output) gives the values its `course.check` calls received: plain JSON, or a reference to a
value the kernel keeps (a function, a data frame, a model). Each item's jobs go to the clean
process (_verify.py) right after its record cell (`Session`): it runs the unpatched checks on
the values, fetching or calling the kernel-held ones over a socket (_remote.py), and re-runs the
item's hidden tests with the values bound to their names. A value that cannot cross makes the
item "unverifiable": 0 and review, unless the instructor trusts the kernel (`--trust-kernel`)
for a value whose type really is a function or a library class.

Graded quizzes (`keys` given): a quiz answer is not sent to the clean process, whose only key is
the package's digest; it is scored here against the instructor's key (course.quiz.matches).
"""

from __future__ import annotations

import ast
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

from . import _records
from ._remote import REF_TAG
from .sandbox import Limits, prefix

HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
HIDDEN_END = "### END HIDDEN TESTS"


def hidden_code(source: str) -> str:
    """The hidden tests of a test cell's source, as one block of code."""
    blocks = []
    while HIDDEN_BEGIN in source:
        _, rest = source.split(HIDDEN_BEGIN, 1)
        block, _, source = rest.partition(HIDDEN_END)
        blocks.append(block)
    return "\n".join(blocks)


def preamble(source_nb: dict) -> list[str]:
    """The instructor's imports and `x = course.setup(...)` lines: what hidden tests may use
    besides the checked values, rebuilt in the clean process from the instructor's notebook."""
    stmts: list[str] = []
    for cell in source_nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        src = cell.get("source", "")
        src = "".join(src) if isinstance(src, list) else str(src)
        try:
            tree = ast.parse(src.split(HIDDEN_BEGIN)[0])
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                stmts.append(ast.unparse(node))
            elif (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Call)
                and ast.unparse(node.value.func) == "course.setup"
            ):
                stmts.append(ast.unparse(node))
    return list(dict.fromkeys(stmts))


def jobs_for(items: list[dict], cells: list[Any], passed: dict[str, bool],
             instructor: dict[str, str], pre: list[str], keys: dict[str, Any] | None = None,
             answers: dict[str, Any] | None = None) -> tuple[list[dict], dict[str, dict]]:  # fmt: skip
    """(jobs for the clean process, verdicts already known without it).

    With `keys` (graded quizzes), quiz answers are scored here and collected into `answers`."""
    jobs: list[dict] = []
    known: dict[str, dict] = {}
    for it in items:
        gid = it["grade_id"]
        if not it["auto"] or not passed.get(gid):
            continue  # manual, or the kernel already says no
        if not it["calls"]:
            known[gid] = _unverifiable("no course.check call to re-run", real=False)
            continue
        exprs = [e for c in it["calls"] for e in c["args"].values()]
        at = it.get("record_at")
        rec = _records.read_record(cells[at], it["nonce"], len(exprs)) if at is not None else None
        if rec is None:
            known[gid] = {"verdict": "missing", "reason": "no record of the values checked"}
            continue
        names: dict[str, Any] = {}
        odd: list[str] = []
        real, remote = True, False
        i = 0
        for call in it["calls"]:
            values, complete = {}, True
            for name, expr in call["args"].items():
                r = rec[i]
                i += 1
                if "value" in r or ("ref" in r and call["kind"] != "quiz"):
                    value = r["value"] if "value" in r else {REF_TAG: _ref(r)}
                    remote = remote or "ref" in r
                    real = real and bool(r.get("real", True))
                    values[name] = value
                    if expr.isidentifier():
                        names[expr] = value
                elif "type" in r and call["kind"] != "quiz":
                    odd.append(f"{name} is a {str(r['type'])[:80]}")
                    real = real and bool(r.get("real"))
                    complete = False
                elif "type" in r:
                    known[gid] = {"verdict": "fail",
                                  "reason": f"the answer is a {str(r['type'])[:80]}, not a plain value"}  # fmt: skip
                    complete = False
                else:
                    known.setdefault(gid, {"verdict": "missing",
                                           "reason": f"{name}: {str(r.get('missing'))[:80]}"})  # fmt: skip
                    complete = False
            if complete and call["kind"] == "quiz" and keys is not None:
                if answers is not None:
                    answers[call["id"]] = values.get("answer")
                verdict = quiz_verdict(call["id"], values.get("answer"), keys)
                if verdict["verdict"] != "pass" or gid not in known:
                    known[gid] = verdict
            elif complete:
                jobs.append({"item": gid, "kind": call["kind"], "id": call["id"], "args": values,
                             "remote": remote, "real": real})  # fmt: skip
        if odd and gid not in known:
            known[gid] = _unverifiable("; ".join(odd), real)
        code = hidden_code(instructor.get(gid, "")) if it["hidden"] else ""
        if code.strip():
            jobs.append({"item": gid, "kind": "hidden", "code": code, "names": names,
                         "preamble": pre, "remote": True, "real": real})  # fmt: skip
    return jobs, known


def quiz_verdict(question_id: str, answer: Any, keys: dict[str, Any]) -> dict:
    """A quiz answer against the instructor's key: "pass", "wrong" (0, no review: the kernel
    never said right or wrong), or "missing" (no key: 0 and review, the instructor's gap)."""
    from ..quiz import matches

    if question_id not in keys:
        return {
            "verdict": "missing",
            "reason": f"no key for {question_id} in the instructor's notebook",
        }
    try:
        ok = matches(question_id, _records.untag(answer), _records.untag(keys[question_id]))
    except AssertionError as exc:  # NotAttempted / CheckError: an answer of the wrong form
        return {"verdict": "wrong", "reason": f"Incorrect: {_one_line(exc)}"}
    except Exception as exc:  # a broken key: the instructor's to fix, never the learner's 0
        return {"verdict": "missing", "reason": f"{type(exc).__name__}: {_one_line(exc)}"}
    if ok:
        return {"verdict": "pass", "reason": ""}
    return {"verdict": "wrong", "reason": "Incorrect (scored against the instructor's key)"}


def _one_line(exc: BaseException) -> str:
    lines = [ln for ln in str(exc).splitlines() if ln.strip()]
    return (lines[-1] if lines else "")[:200]


def _ref(record: dict) -> dict:
    return {k: record.get(k) for k in ("ref", "type", "callable", "name")}


def _unverifiable(reason: str, real: bool) -> dict:
    return {"verdict": "unverifiable", "reason": reason, "real": real}


def verdicts(jobs: list[dict], results: list[dict], known: dict[str, dict]) -> dict[str, dict]:
    """{grade_id: {"verdict": "pass"|"fail"|"wrong"|"missing"|"unverifiable", "reason", "notes"}}."""
    out = {g: dict(v, notes=[]) for g, v in known.items()}
    for job, res in zip(jobs, results, strict=False):
        v = out.setdefault(job["item"], {"verdict": "pass", "reason": "", "notes": []})
        if v["verdict"] in ("fail", "wrong"):
            continue
        if res.get("unverifiable") and job["kind"] != "hidden":
            out[job["item"]] = dict(_unverifiable(str(res.get("reason", "")), bool(job.get("real"))),
                                    notes=v["notes"])  # fmt: skip
        elif res.get("skipped") or res.get("unverifiable"):
            v["notes"].append(f"hidden tests not re-run outside the kernel ({res.get('reason')})")
        elif not res.get("ok"):
            what = "hidden tests" if job["kind"] == "hidden" else "check"
            out[job["item"]] = {"verdict": "fail", "reason": f"{what}: {res.get('reason', '')}",
                                "notes": v["notes"]}  # fmt: skip
    for job in jobs[len(results) :]:
        out[job["item"]] = {"verdict": "fail", "reason": "the clean check did not finish",
                            "notes": []}  # fmt: skip
    return out


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
        if not self.ready and self._answer("ready", _START_TIMEOUT) is None:
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
