"""The `course` command: the stack, releasing and grading, and `course lab`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from ._errors import CourseError


def _stack(args: argparse.Namespace) -> int:
    from . import stack

    if args.action == "up":
        print(
            stack.up(
                port=args.port,
                timeout=args.timeout,
                db=args.db,
                prometheus_port=args.prometheus_port,
            )
        )
    elif args.action == "down":
        print(stack.down())
    elif args.action == "reset":
        print(stack.reset(yes=args.yes))
    else:
        rows = stack.status()
        width = max(len(r[0]) for r in rows)
        for name, state, where in rows:
            print(f"{name:<{width}}  {state:<28}  {where}")
    return 0


def _release(args: argparse.Namespace) -> int:
    from .grading.release import release

    changed = release(args.modules or None, check=args.check)
    if args.check:
        if changed:
            print("modules/ is out of date with solutions/; run `make release`:")
            for path in changed:
                print(f"  {path}")
            return 1
        print("modules/ matches solutions/")
        return 0
    print(
        f"released {len(changed)} changed notebook(s)" if changed else "modules/ already up to date"
    )
    for path in changed:
        print(f"  {path}")
    return 0


def _grade(args: argparse.Namespace) -> int:
    from .grading.grade import grade

    result = grade(
        args.module,
        args.submissions,
        args.out,
        cell_timeout=args.cell_timeout,
        notebook_timeout=args.notebook_timeout,
        memory=args.memory,
        students=args.student,
        progress=not args.no_progress,
        workers=args.workers,
        scheduler=args.scheduler,
        sandbox=not args.no_sandbox,
        trust_unverifiable=args.trust_kernel,
        disk=args.disk,
        quiz_keys=args.quiz_keys,
    )
    print(result.summary())
    return 0


def _lab(args: argparse.Namespace) -> int:
    from .lab import run

    workspace = Path(args.workspace) if args.workspace else None
    extra = args.jupyter_args[1:] if args.jupyter_args[:1] == ["--"] else args.jupyter_args
    return run(
        args.port,
        args.no_stack,
        not args.no_browser,
        workspace,
        extra,
        mlflow_port=args.mlflow_port,
        instructor=args.instructor,
    )


def _modules(args: argparse.Namespace) -> int:
    from ._catalog import MODULES

    for m in MODULES:
        state = "ready" if m.ready else "planned"
        print(f"{m.id}  {m.slug:<28} {m.title:<40} ~{m.minutes} min  {state}")
    return 0


def _port_number(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1-65535), e.g. 8899")
    return int(text)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="course", description="MLOps in Practice: the course tool.")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("stack", help="start, stop, inspect or wipe the local MLOps stack")
    s.add_argument("action", choices=["up", "down", "status", "reset"])
    s.add_argument("--port", type=int, default=None, help="MLflow port (default 5000)")
    s.add_argument(
        "--prometheus-port", type=int, default=None, help="Prometheus port (default 9090)"
    )
    s.add_argument("--timeout", type=float, default=90.0, help="seconds to wait for health")
    s.add_argument("--yes", action="store_true", help="confirm `reset`")
    s.add_argument("--db", help="classroom: a shared database URL, e.g. postgresql://...")
    s.set_defaults(func=_stack)

    r = sub.add_parser("release", help="regenerate modules/ from solutions/ with nbgrader")
    r.add_argument("modules", nargs="*", help="module ids (default: all)")
    r.add_argument(
        "--check", action="store_true", help="only report notebooks that are out of date"
    )
    r.set_defaults(func=_release)

    g = sub.add_parser("grade", help="autograde a folder of submissions for one module")
    g.add_argument("module", help="module id, e.g. m02")
    g.add_argument("submissions", help="folder of notebooks (one per student) or student folders")
    g.add_argument("--out", default="grading-out", help="output folder (default: grading-out)")
    g.add_argument(
        "--cell-timeout", type=float, default=None, help="seconds per cell (default 180)"
    )
    g.add_argument(
        "--notebook-timeout", type=float, default=None, help="seconds per notebook (default 1800)"
    )
    g.add_argument("--memory", default=None, help="memory per kernel, e.g. 4G (default 4G)")
    g.add_argument(
        "--workers", type=int, default=None, help="parallel submissions (default: cores)"
    )
    g.add_argument("--scheduler", default=None, help="Dask scheduler, e.g. tcp://HOST:8786")
    g.add_argument(
        "--no-sandbox", action="store_true", help="run kernels without bubblewrap (warns loudly)"
    )
    g.add_argument(
        "--trust-kernel",
        action="store_true",
        help="keep the kernel's verdict for a function or library object the clean re-check "
        "cannot fetch (listed in notes); default: score it 0 and list it for review",
    )
    g.add_argument(
        "--quiz-keys",
        choices=["source", "digest"],
        default="digest",
        help="digest (default): score quizzes against the package's digests, which learners can "
        "brute-force (self-study); source: against the keys in your solutions/ notebook, "
        "learners' checks only record answers (graded quizzes)",
    )
    g.add_argument("--disk", default=None, help="scratch size per submission (default 2G)")
    g.add_argument("--student", action="append", help="grade only this student (repeatable)")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")
    g.set_defaults(func=_grade)

    lab = sub.add_parser(
        "lab",
        help="start the stack and JupyterLab on your workspace",
        description="Start the MLflow server and JupyterLab on your workspace; Ctrl-C stops what "
        "it started. From make: `make lab LAB_PORT=8899 MLFLOW_PORT=5055`.",
    )
    lab.add_argument(
        "--port",
        type=_port_number,
        default=8888,
        metavar="PORT",
        help="JupyterLab's port on 127.0.0.1 (default 8888; make: LAB_PORT=...)",
    )
    lab.add_argument(
        "--mlflow-port",
        type=_port_number,
        default=None,
        metavar="PORT",
        help="the MLflow server's port on 127.0.0.1 (default 5000, or $COURSE_MLFLOW_PORT; "
        "make: MLFLOW_PORT=...)",
    )
    lab.add_argument(
        "--instructor",
        action="store_true",
        help="keep nbgrader's instructor tools (Create Assignment, Formgrader, Courses)",
    )
    lab.add_argument("--no-stack", action="store_true", help="embedded MLflow, no server")
    lab.add_argument("--no-browser", action="store_true", help="do not open a browser")
    lab.add_argument("--workspace", help="notebook folder (default: workspace/ in the repo)")
    lab.add_argument(
        "jupyter_args", nargs=argparse.REMAINDER, help="after --: passed to jupyter lab"
    )
    lab.set_defaults(func=_lab)

    m = sub.add_parser("modules", help="list the modules")
    m.set_defaults(func=_modules)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except CourseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
