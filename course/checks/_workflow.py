"""Run a GitHub Actions workflow's shell steps here, the way a runner would, without a runner.

A workflow that only parses proves little: its commands may call scripts that do not exist or
skip the install. So the check runs every job's ``run:`` steps, job by job in ``needs`` order,
each job in a fresh copy of the learner's folder (a runner checks out a clean tree), in bash with
``-eo pipefail`` like GitHub's default shell. ``uses:`` steps are recognised, not executed: the
copy is the checkout and the course's own Python is the set-up Python. Nothing reaches the
network: pip runs with ``PIP_NO_INDEX=1`` (a requirement that is not installed here fails).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._errors import CheckError
from .._quiet import OFFLINE_ENV
from ._expect import expect

# Seconds the whole workflow may take, under nbgrader's 180 s per cell: a hung step is named.
TIMEOUT = 150
# The environment a step inherits from the notebook: what a shell needs, the course's state dir
# and offline settings, and MLflow's artifact root in embedded mode; nothing else the kernel holds.
_INHERITED = (
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TMPDIR",
    "PYTHONPATH",
    "XDG_CACHE_HOME",
    "COURSE_HOME",
    "COURSE_STUDENT_ID",
    "_MLFLOW_SERVER_ARTIFACT_ROOT",
    *OFFLINE_ENV,
)
_RUNNER_ENV = {
    "CI": "true",
    "GITHUB_EVENT_NAME": "push",
    "GITHUB_REF": "refs/heads/main",
    "GITHUB_REF_NAME": "main",
    "RUNNER_OS": "Linux",
    # Offline: install nothing new; a listed package must be installed already. No dependency
    # resolution either (seconds per step): the course's environment is complete.
    "PIP_NO_INDEX": "1",
    "PIP_NO_DEPS": "1",
    "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    "PIP_NO_INPUT": "1",
    "UV_OFFLINE": "1",
    # The venv's pytest plugins (browser, async, timeout) cost a second per run and are unused.
    "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
}
INSTALL = re.compile(
    r"\b(pip3?|uv pip|python3? -m pip) install\b|\buv sync\b|\bpoetry install\b|"
    r"\bpipenv (install|sync)\b|\bpip-sync\b|\b(conda|mamba|micromamba) (env )?(install|create|update)\b"
)
USES_PYTHON = re.compile(r"(^|[\s;&|(])(python3?|pytest)(\s|$)", re.MULTILINE)
_EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


@dataclass
class Step:
    """One ``run:`` step, ready to execute."""

    job: str
    number: int  # 1-based, among all of the job's steps (as GitHub's log numbers them)
    command: str
    env: dict[str, str] = field(default_factory=dict)
    workdir: str = ""

    @property
    def label(self) -> str:
        first = self.command.strip().splitlines()[0] if self.command.strip() else ""
        return f"job {self.job}, step {self.number} `{first[:60]}`"


def needs(job: Any) -> list[str]:
    raw = job.get("needs") if isinstance(job, dict) else None
    return [str(n) for n in raw] if isinstance(raw, list) else [str(raw)] if raw else []


def job_order(jobs: dict[str, Any]) -> list[str]:
    """Jobs in an order that respects ``needs`` (file order among equals), as a runner would."""
    for name, job in jobs.items():
        unknown = [n for n in needs(job) if n not in jobs]
        expect(not unknown, f"job {name} needs {', '.join(unknown)}, which is not a job here")
    done: list[str] = []
    while len(done) < len(jobs):
        ready = [n for n in jobs if n not in done and set(needs(jobs[n])) <= set(done)]
        expect(ready, f"the needs of {', '.join(n for n in jobs if n not in done)} form a cycle")
        done.append(ready[0])
    return done


def steps_of(job: Any) -> list[dict[str, Any]]:
    raw = job.get("steps") if isinstance(job, dict) else None
    return [s for s in raw or [] if isinstance(s, dict)]


def matrix(job: Any) -> dict[str, list[Any]]:
    """The job's ``strategy.matrix`` axes (lists only; ``include``/``exclude`` are left out)."""
    strategy = job.get("strategy") if isinstance(job, dict) else None
    axes = strategy.get("matrix") if isinstance(strategy, dict) else None
    if not isinstance(axes, dict):
        return {}
    out = {}
    for key, values in axes.items():
        if key in ("include", "exclude"):
            continue
        out[str(key)] = values if isinstance(values, list) else [values]
    return out


def expand(text: str, where: str, context: dict[str, Callable[[str], str | None]]) -> str:
    """Replace ``${{ ... }}`` the way GitHub would for the contexts the check knows."""

    def one(match: re.Match[str]) -> str:
        expr = match.group(1)
        head, _, key = expr.partition(".")
        found = context[head](key) if head in context and key else None
        if found is None:
            raise CheckError(
                f"{where} uses ${{{{ {expr} }}}}, which the check cannot evaluate here: use "
                "matrix, env, secrets, vars or github.ref"
            )
        return found

    return _EXPR.sub(one, text)


def _version_ok(value: str) -> bool:
    """3.11 or newer, as setup-python reads it: '3.12', '3.x', '3', '>=3.11', '3.13-dev'."""
    match = re.match(r"\s*(?:[>=^~]=?\s*)?(?:cpython-?)?(\d+)(?:\.(\d+|x))?", value)
    if not match:
        return False
    major, minor = int(match.group(1)), match.group(2)
    return major > 3 or (major == 3 and (minor in (None, "x") or int(minor) >= 11))


def _version_file(root: Path, name: str) -> str | None:
    path = root / name
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".toml":
        found = re.search(r"requires-python\s*=\s*[\"']([^\"']+)", text)
        return found.group(1) if found else None
    lines = [ln.split()[-1] for ln in text.splitlines() if ln.strip() and ln.split()]
    return lines[0] if lines else None


def check_python(name: str, job: Any, root: Path) -> None:
    """The job selects Python 3.11+ with setup-python: a version, a matrix of them or a file."""
    setup = [s for s in steps_of(job) if str(s.get("uses", "")).startswith("actions/setup-python")]
    advice = "add - uses: actions/setup-python@v5 with python-version: '3.11' (or newer)"
    expect(setup, f"job {name} does not set up Python: {advice}")
    given = setup[0].get("with") if isinstance(setup[0].get("with"), dict) else {}
    if "python-version-file" in given and "python-version" not in given:
        file = str(given["python-version-file"])
        found = _version_file(root, file)
        expect(
            found is not None, f"job {name} reads python-version-file {file}: not in your folder"
        )
        expect(_version_ok(str(found)), f"job {name} selects Python {found} from {file}: use 3.11+")
        return
    raw = given.get("python-version")
    expect(raw is not None, f"job {name} does not say which Python: {advice}")
    ref = _EXPR.fullmatch(raw.strip()) if isinstance(raw, str) else None
    if ref:
        key = ref.group(1).removeprefix("matrix.")
        axes = matrix(job)
        expect(
            ref.group(1).startswith("matrix.") and key in axes,
            f"job {name} sets python-version to ${{{{ {ref.group(1)} }}}}, not a list in its "
            "strategy.matrix",
        )
        values = axes[key]
    elif isinstance(raw, str):  # setup-python takes several versions, one per line
        values = [line for line in raw.splitlines() if line.strip()] or [raw]
    else:
        values = raw if isinstance(raw, list) else [raw]
    for value in values:
        number = (
            " (YAML reads an unquoted 3.10 as 3.1: quote it)" if isinstance(value, float) else ""
        )
        expect(
            _version_ok(str(value)),
            f"job {name} sets up Python {value}: the course needs 3.11 or newer{number}",
        )


def plan(flow: dict[str, Any], env: dict[str, str]) -> list[Step]:
    """Every ``run:`` step of every job, in ``needs`` order, with ``${{ }}`` expanded.

    ``env`` plays the secrets and variables (and the runner's environment); a matrix job runs
    once, with the first value of each axis.
    """
    jobs = flow["jobs"]
    github = {"ref": "refs/heads/main", "ref_name": "main", "event_name": "push", "sha": "0" * 40}
    out: list[Step] = []
    for name in job_order(jobs):
        job = jobs[name]
        first = {k: str(v[0]) for k, v in matrix(job).items() if v}
        known: dict[str, str] = dict(env)  # what env.X sees: grows with each env: layer
        context: dict[str, Callable[[str], str | None]] = {
            "matrix": first.get,
            "github": github.get,
            "runner": {"os": "Linux", "temp": "/tmp"}.get,
            "secrets": lambda k: env.get(k, ""),  # a missing secret is empty on GitHub too
            "vars": lambda k: env.get(k, ""),
            "env": lambda k: known.get(k, ""),  # noqa: B023 - read while this job is planned
        }

        def layer(raw: Any, where: str, base: dict[str, str]) -> dict[str, str]:
            out = dict(base)
            for key, value in (raw if isinstance(raw, dict) else {}).items():
                out[str(key)] = expand(str(value), where, context)  # noqa: B023
                known[str(key)] = out[str(key)]  # noqa: B023
            return out

        job_env = layer(flow.get("env"), "the workflow's env", {})
        job_env = layer(job.get("env"), f"job {name}'s env", job_env)
        defaults = job.get("defaults") if isinstance(job.get("defaults"), dict) else {}
        run_defaults = defaults.get("run") if isinstance(defaults.get("run"), dict) else {}
        for number, step in enumerate(steps_of(job), 1):
            if "run" not in step or "failure()" in str(step.get("if", "")):
                continue  # a uses: step, or one that runs only after a failure
            where = f"job {name}, step {number}"
            known.clear()
            known.update({**env, **job_env})
            step_env = layer(step.get("env"), f"{where}'s env", job_env)
            command = expand(str(step["run"]), where, context)
            workdir = str(step.get("working-directory", run_defaults.get("working-directory", "")))
            out.append(Step(name, number, command, step_env, workdir))
    return out


def runner_env(forced: dict[str, str]) -> dict[str, str]:
    """A clean environment: the venv's Python first on PATH, offline pip, the check's values."""
    env = {k: os.environ[k] for k in _INHERITED if k in os.environ}
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([bin_dir, os.environ.get("PATH", "/usr/bin:/bin")])
    env["VIRTUAL_ENV"] = str(Path(sys.executable).parent.parent)
    return {**env, **_RUNNER_ENV, **forced}


_ERROR_LINE = re.compile(r"error|can't|cannot|not found|no such|failed|denied", re.IGNORECASE)


def _reason(stdout: str, stderr: str) -> str:
    """The line that says why: an error line of stderr, pytest's FAILED line, else the last."""
    err = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    out = [ln.strip() for ln in stdout.splitlines() if ln.strip()]
    for lines in (
        [ln for ln in err if _ERROR_LINE.search(ln)],
        [ln for ln in out if ln.startswith(("FAILED", "ERROR"))],
        err,
        out,
    ):
        if lines:
            return lines[-1][:200]
    return "no output"


def run(steps: list[Step], root: Path, env: dict[str, str], forced: dict[str, str]) -> None:
    """Run the steps; raise CheckError naming the first that fails.

    Each job starts in a fresh copy of ``root``. An install command that already succeeded in
    an earlier job is not repeated: it would find the same packages installed here.
    """
    bash = shutil.which("bash") or "/bin/bash"
    deadline = time.monotonic() + TIMEOUT
    installed: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="course-ci-") as tmp:
        workspace: Path | None = None
        for step in steps:
            if workspace is None or workspace.name != step.job:
                workspace = Path(tmp) / step.job
                shutil.copytree(
                    root,
                    workspace,
                    symlinks=True,
                    ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache", "mlruns"),
                )
            if INSTALL.search(step.command) and step.command in installed:
                continue
            cwd = (workspace / step.workdir).resolve() if step.workdir else workspace
            expect(cwd.is_dir(), f"{step.label}: working-directory {step.workdir} does not exist")
            step_env = {**env, **step.env, **forced, "GITHUB_WORKSPACE": str(workspace)}
            # Its own process group: on timeout the step's children stop with it.
            proc = subprocess.Popen(
                [bash, "--noprofile", "--norc", "-eo", "pipefail", "-c", step.command],
                cwd=cwd,
                env=step_env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                errors="replace",
                start_new_session=True,
            )
            try:
                stdout, stderr = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()
                raise CheckError(
                    f"{step.label} was still running when the workflow reached {TIMEOUT} s"
                ) from None
            if proc.returncode != 0:
                raise CheckError(
                    f"{step.label} failed (exit {proc.returncode}): {_reason(stdout, stderr)}"
                )
            if INSTALL.search(step.command):
                installed.add(step.command)
