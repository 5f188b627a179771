"""The clean re-check: `python -I -m course.grading._verify MODULE < jobs.json`.

Runs after a submission's notebook, in a fresh process with no student code, against the same
state dir. Each job is one `course.check` / `course.quiz.check` call with the plain JSON values
the notebook passed, or an item's hidden tests (from the instructor's notebook) run with those
values bound to their names after the instructor's imports; prints
{"results": [{"ok": bool, "reason": str, "skipped": bool}, ...]} on its last line. A hidden
test that needs a name only the kernel had (a function, a data frame) is "skipped".
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from typing import Any


def main() -> None:
    module = sys.argv[1]
    sink = io.StringIO()
    results = []
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        # Started with the notebook: the imports overlap its run; the state is read only later.
        import course
        import course.checks
        import course.quiz

        with contextlib.suppress(Exception):
            import mlflow  # noqa: F401
        from course.grading._records import untag

        jobs = json.loads(sys.stdin.buffer.read().decode("utf-8", "replace") or "[]")
        with contextlib.suppress(Exception):
            course.setup(module, verbose=False)
        for job in jobs:
            try:
                if job["kind"] == "hidden":
                    results.append(_hidden(job, untag))
                    continue
                args = untag(job["args"])
                if job["kind"] == "quiz":
                    course.quiz.check(job["id"], args.get("answer"))
                else:
                    course.check(job["id"], **args)
                results.append({"ok": True, "reason": ""})
            except BaseException as exc:  # noqa: BLE001 - every outcome is a verdict
                results.append({"ok": False, "reason": _reason(exc)})
    print(json.dumps({"results": results}), flush=True)


def _reason(exc: BaseException) -> str:
    lines = [ln for ln in str(exc).splitlines() if ln.strip()]
    return f"{type(exc).__name__}: {lines[-1] if lines else ''}"[:300]


def _hidden(job: dict, untag: Any) -> dict:
    """The hidden tests, run on the recorded values after the instructor's imports."""
    ns: dict[str, Any] = {"__name__": "__hidden__"}
    for stmt in job.get("preamble", []):
        with contextlib.suppress(Exception):
            exec(stmt, ns)  # the instructor's own lines
    ns.update(untag(job.get("names", {})))
    try:
        exec(compile(job["code"], "<hidden tests>", "exec"), ns)
    except (NameError, ImportError) as exc:
        return {"ok": False, "skipped": True, "reason": _reason(exc)}
    except AssertionError as exc:
        return {"ok": False, "reason": _reason(exc)}
    except Exception as exc:  # noqa: BLE001 - a value the kernel held richer (an array as a list)
        return {"ok": False, "skipped": True, "reason": _reason(exc)}
    return {"ok": True, "reason": ""}


if __name__ == "__main__":
    main()
