"""The clean re-check: `python -I -m course.grading._verify MODULE < jobs.json`.

Runs after a submission's notebook, in a fresh process with no student code, against the same
state dir. Each job is one `course.check` / `course.quiz.check` call with the plain JSON values
the notebook passed; prints {"results": [{"ok": bool, "reason": str}, ...]} on its last line.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys


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
        jobs = json.loads(sys.stdin.read() or "[]")
        with contextlib.suppress(Exception):
            course.setup(module, verbose=False)
        for job in jobs:
            try:
                if job["kind"] == "quiz":
                    course.quiz.check(job["id"], job["args"].get("answer"))
                else:
                    course.check(job["id"], **job["args"])
                results.append({"ok": True, "reason": ""})
            except BaseException as exc:  # noqa: BLE001 - every outcome is a verdict
                lines = [ln for ln in str(exc).splitlines() if ln.strip()]
                results.append(
                    {
                        "ok": False,
                        "reason": f"{type(exc).__name__}: {lines[-1] if lines else ''}"[:300],
                    }
                )
    print(json.dumps({"results": results}), flush=True)


if __name__ == "__main__":
    main()
