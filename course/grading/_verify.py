"""The clean re-check: `python -I -m course.grading._verify MODULE`, one request per line.

Started with a submission's notebook, in a fresh process with no student code, against the same
state dir. Each request (a JSON line on stdin) holds an item's jobs: a `course.check` /
`course.quiz.check` call with the values the notebook passed, or the item's hidden tests (from
the instructor's notebook) run with those values bound to their names after the instructor's
imports. Values only the kernel holds come over a socket (`request["socket"]`, see _remote.py):
data by restricted unpickling, functions called where they live. Answers are JSON lines on
stdout: {"listening": true} once the socket is ready, then {"results": [{"ok", "reason",
"skipped", "unverifiable"}, ...]}. A hidden test that needs a name the kernel alone had is
"skipped".
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from pathlib import Path
from typing import Any


def main() -> None:
    module = sys.argv[1]
    answer = os.fdopen(os.dup(1), "w", encoding="utf-8")  # the worker's line; prints go to a sink
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        # Started with the notebook: the imports overlap its run; the state is read only later.
        import course
        import course.checks
        import course.quiz

        with contextlib.suppress(Exception):
            import mlflow  # noqa: F401
        _say(answer, {"ready": True})
        connected = False
        for line in sys.stdin.buffer:
            request = json.loads(line.decode("utf-8", "replace") or "{}")
            if not connected:  # after the notebook's own setup: never two migrations at once
                with contextlib.suppress(Exception):
                    course.setup(module, verbose=False)
                connected = True
            channel = None
            if request.get("socket"):
                from course.grading._remote import Channel

                channel = Channel(Path(request["socket"]))
                _say(answer, {"listening": True})
            try:
                results = [_job(job, channel) for job in request.get("jobs", [])]
            finally:
                if channel is not None:
                    channel.close()
            _say(answer, {"results": results})
            sink.seek(0)
            sink.truncate()


def _say(stream: Any, message: dict) -> None:
    stream.write(json.dumps(message) + "\n")
    stream.flush()


def _job(job: dict, channel: Any) -> dict:
    import course
    import course.quiz
    from course.grading._records import untag
    from course.grading._remote import Unverifiable, resolve

    if channel is not None:
        channel.failed = ""
    try:
        if job["kind"] == "hidden":
            return _hidden(job, channel)
        args = resolve(channel, untag(job["args"]))
        if job["kind"] == "quiz":
            course.quiz.check(job["id"], args.get("answer"))
        else:
            course.check(job["id"], **args)
        return {"ok": True, "reason": ""}
    except Unverifiable as exc:
        return {"ok": False, "unverifiable": True, "reason": str(exc)[:300]}
    except BaseException as exc:  # noqa: BLE001 - every outcome is a verdict
        if channel is not None and channel.failed:  # the kernel's value could not cross
            return {"ok": False, "unverifiable": True, "reason": channel.failed}
        return {"ok": False, "reason": _reason(exc)}


def _reason(exc: BaseException) -> str:
    lines = [ln for ln in str(exc).splitlines() if ln.strip()]
    return f"{type(exc).__name__}: {lines[-1] if lines else ''}"[:300]


def _hidden(job: dict, channel: Any) -> dict:
    """The hidden tests, run on the recorded values after the instructor's imports."""
    from course.grading._records import untag
    from course.grading._remote import kernel_names, resolve

    ns: dict[str, Any] = {"__name__": "__hidden__"}
    for stmt in job.get("preamble", []):
        with contextlib.suppress(Exception):
            exec(stmt, ns)  # the instructor's own lines
    ns.update(resolve(channel, untag(job.get("names", {}))))
    ns.update(kernel_names(channel, job["code"], ns))  # `train` and the like, from the kernel
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
