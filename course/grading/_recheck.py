"""Stage 4, verification planning: what the clean process checks, and the verdict per item.

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
from typing import Any

from . import _records
from ._cells import HIDDEN_BEGIN, hidden_blocks
from ._remote import REF_TAG
from ._types import Clean, Item, Verdict


def hidden_code(source: str) -> str:
    """The hidden tests of a test cell's source, as one block of code."""
    return "\n".join(hidden_blocks(source))


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


def jobs_for(items: tuple[Item, ...] | list[Item], cells: list[Any], passed: dict[str, bool],
             instructor: dict[str, str], pre: list[str], keys: dict[str, Any] | None = None,
             answers: dict[str, Any] | None = None) -> tuple[list[dict], dict[str, Clean]]:  # fmt: skip
    """(jobs for the clean process, verdicts already known without it).

    With `keys` (graded quizzes), quiz answers are scored here and collected into `answers`."""
    jobs: list[dict] = []
    known: dict[str, Clean] = {}
    for it in items:
        gid = it.grade_id
        if not it.auto or not passed.get(gid):
            continue  # manual, or the kernel already says no
        if not it.calls:
            known[gid] = Clean(Verdict.UNVERIFIABLE, "no course.check call to re-run")
            continue
        at = it.record_at
        rec = None
        if at is not None and it.nonce is not None:
            rec = _records.read_record(cells[at], it.nonce, len(it.exprs))
        if rec is None:
            known[gid] = Clean(Verdict.MISSING, "no record of the values checked")
            continue
        names: dict[str, Any] = {}
        odd: list[str] = []
        real, remote = True, False
        i = 0
        for call in it.calls:
            values, complete = {}, True
            for name, expr in call.args.items():
                r = rec[i]
                i += 1
                if "value" in r or ("ref" in r and call.kind != "quiz"):
                    value = r["value"] if "value" in r else {REF_TAG: _ref(r)}
                    remote = remote or "ref" in r
                    real = real and bool(r.get("real", True))
                    values[name] = value
                    if expr.isidentifier():
                        names[expr] = value
                elif "type" in r and call.kind != "quiz":
                    odd.append(f"{name} is a {str(r['type'])[:80]}")
                    real = real and bool(r.get("real"))
                    complete = False
                elif "type" in r:
                    known[gid] = Clean(Verdict.FAIL, f"the answer is a {str(r['type'])[:80]}, "
                                                     "not a plain value")  # fmt: skip
                    complete = False
                else:
                    known.setdefault(gid, Clean(Verdict.MISSING,
                                                f"{name}: {str(r.get('missing'))[:80]}"))  # fmt: skip
                    complete = False
            if complete and call.kind == "quiz" and keys is not None:
                if answers is not None:
                    answers[call.id] = values.get("answer")
                verdict = quiz_verdict(call.id, values.get("answer"), keys)
                if verdict.verdict is not Verdict.PASS or gid not in known:
                    known[gid] = verdict
            elif complete:
                jobs.append({"item": gid, "kind": call.kind, "id": call.id, "args": values,
                             "remote": remote, "real": real})  # fmt: skip
        if odd and gid not in known:
            known[gid] = Clean(Verdict.UNVERIFIABLE, "; ".join(odd), real)
        code = hidden_code(instructor.get(gid, "")) if it.hidden else ""
        if code.strip():
            jobs.append({"item": gid, "kind": "hidden", "code": code, "names": names,
                         "preamble": pre, "remote": True, "real": real})  # fmt: skip
    return jobs, known


def quiz_verdict(question_id: str, answer: Any, keys: dict[str, Any]) -> Clean:
    """A quiz answer against the instructor's key: PASS, WRONG (0, no review: the kernel never
    said right or wrong), or MISSING (no key: 0 and review, the instructor's gap)."""
    from ..quiz import matches

    if question_id not in keys:
        return Clean(Verdict.MISSING, f"no key for {question_id} in the instructor's notebook")
    try:
        ok = matches(question_id, _records.untag(answer), _records.untag(keys[question_id]))
    except AssertionError as exc:  # NotAttempted / CheckError: an answer of the wrong form
        return Clean(Verdict.WRONG, f"Incorrect: {_one_line(exc)}")
    except Exception as exc:  # a broken key: the instructor's to fix, never the learner's 0
        return Clean(Verdict.MISSING, f"{type(exc).__name__}: {_one_line(exc)}")
    if ok:
        return Clean(Verdict.PASS)
    return Clean(Verdict.WRONG, "Incorrect (scored against the instructor's key)")


def _one_line(exc: BaseException) -> str:
    lines = [ln for ln in str(exc).splitlines() if ln.strip()]
    return (lines[-1] if lines else "")[:200]


def _ref(record: dict) -> dict:
    return {k: record.get(k) for k in ("ref", "type", "callable", "name")}


def verdicts(jobs: list[dict], results: list[dict], known: dict[str, Clean]) -> dict[str, Clean]:
    """Each item's verdict: what was known without the clean process, then its results in
    order; a job without a result did not finish."""
    out = dict(known)
    for job, res in zip(jobs, results, strict=False):
        gid = job["item"]
        v = out.get(gid, Clean(Verdict.PASS))
        if v.verdict in (Verdict.FAIL, Verdict.WRONG):
            continue
        if res.get("unverifiable") and job["kind"] != "hidden":
            v = Clean(Verdict.UNVERIFIABLE, str(res.get("reason", "")), bool(job.get("real")),
                      v.notes)  # fmt: skip
        elif res.get("skipped") or res.get("unverifiable"):
            note = f"hidden tests not re-run outside the kernel ({res.get('reason')})"
            v = Clean(v.verdict, v.reason, v.real, (*v.notes, note))
        elif not res.get("ok"):
            what = "hidden tests" if job["kind"] == "hidden" else "check"
            v = Clean(Verdict.FAIL, f"{what}: {res.get('reason', '')}", notes=v.notes)
        out[gid] = v
    for job in jobs[len(results) :]:
        out[job["item"]] = Clean(Verdict.FAIL, "the clean check did not finish")
    return out
