"""Prometheus beside MLflow: `course stack up` starts it when the machine has it.

It scrapes every model server the course starts (``course.serve`` drops a target file into
``<state>/prometheus/targets/`` and removes it on stop) and loads the alert rules in
``<state>/prometheus/rules/``. Its data lives under the state dir; it binds to 127.0.0.1 only.
Where Prometheus is not installed (Colab, a laptop without it) nothing fails: the stack says so
in one line and the exercises that query it say they are optional.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from ._errors import CourseError

DEFAULT_PORT = 9090
PORT_ENV = "COURSE_PROMETHEUS_PORT"
SCRAPE_SECONDS = 5  # short, so a learner sees a replay in the graphs within seconds
MISSING = (
    "Prometheus is not installed here (`make system-deps` installs it); its exercises are optional"
)


def binary() -> str | None:
    """The `prometheus` executable, or None where the machine has none."""
    return shutil.which("prometheus")


def root(home: Path) -> Path:
    return home / "prometheus"


def targets_dir(home: Path) -> Path:
    return root(home) / "targets"


def rules_dir(home: Path) -> Path:
    return root(home) / "rules"


def _pid_file(home: Path) -> Path:
    return home / "run" / "prometheus.pid"


def _log_file(home: Path) -> Path:
    return home / "logs" / "prometheus.log"


def port(given: int | None = None) -> int:
    """The port: the argument, else $COURSE_PROMETHEUS_PORT, else 9090."""
    if given is not None:
        if not 0 < given < 65536:
            raise CourseError(f"--prometheus-port {given} is not a port number; use e.g. 9091")
        return given
    raw = os.environ.get(PORT_ENV, str(DEFAULT_PORT)).strip()
    if not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) < 65536:
        raise CourseError(f"{PORT_ENV}={raw!r} is not a port number; set it to e.g. 9091")
    return int(raw)


def config(home: Path) -> str:
    """prometheus.yml: the model servers from their target files, the rules from rules/."""
    return (
        "# Written by `course stack up`; edits are overwritten. Rules go in rules/*.yml.\n"
        "global:\n"
        f"  scrape_interval: {SCRAPE_SECONDS}s\n"
        f"  evaluation_interval: {SCRAPE_SECONDS}s\n"
        "rule_files:\n"
        f"  - {json.dumps(str(rules_dir(home) / '*.yml'))}\n"
        "scrape_configs:\n"
        "  - job_name: model-servers\n"
        "    file_sd_configs:\n"
        f"      - files: [{json.dumps(str(targets_dir(home) / '*.json'))}]\n"
        "        refresh_interval: 2s\n"
    )


def _read_pid(home: Path) -> tuple[int | None, int | None]:
    try:
        pid_s, port_s = _pid_file(home).read_text().split()[:2]
        return int(pid_s), int(port_s)
    except (OSError, ValueError):
        return None, None


def _is_ours(pid: int) -> bool:
    try:
        return b"prometheus" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def ready(at: int, timeout: float = 0.5) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{at}/-/ready", timeout=timeout) as r:
            return r.status == 200
    except OSError:
        return False


def running(home: Path) -> tuple[int | None, int | None]:
    """(pid, port) of the Prometheus this state dir started, or (None, None)."""
    pid, at = _read_pid(home)
    if pid is None or not _is_ours(pid):
        return None, None
    return pid, at


def up(home: Path, given_port: int | None = None, timeout: float = 30.0) -> str:
    """Start Prometheus (idempotent); one line that says where, or why not."""
    from .stack import _last_line, _port_free, _stop

    exe = binary()
    if exe is None:
        return MISSING
    pid, at = running(home)
    if pid is not None:
        return f"Prometheus already running at http://127.0.0.1:{at} (pid {pid})"
    at = port(given_port)
    if not _port_free(at):
        return (
            f"Prometheus not started: port {at} on 127.0.0.1 is in use by another program; "
            f"choose another with `course stack up --prometheus-port {at + 1}` (or {PORT_ENV})"
        )
    for folder in (targets_dir(home), rules_dir(home), root(home) / "data"):
        folder.mkdir(parents=True, exist_ok=True)
    (root(home) / "prometheus.yml").write_text(config(home))
    log = _log_file(home)
    log.parent.mkdir(parents=True, exist_ok=True)
    _pid_file(home).parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        exe,
        f"--config.file={root(home) / 'prometheus.yml'}",
        f"--storage.tsdb.path={root(home) / 'data'}",
        f"--web.listen-address=127.0.0.1:{at}",
        "--web.enable-lifecycle",  # POST /-/reload picks up new rule files
        "--log.level=warn",
    ]
    with log.open("ab") as out:
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
    _pid_file(home).write_text(f"{proc.pid} {at}\n")
    deadline = time.monotonic() + timeout
    while not ready(at):
        if proc.poll() is not None or time.monotonic() > deadline:
            _stop(proc.pid, grace=5.0)
            _pid_file(home).unlink(missing_ok=True)
            raise CourseError(f"Prometheus did not start: {_last_line(log)} (log: {log})")
        time.sleep(0.2)
    return f"Prometheus healthy at http://127.0.0.1:{at} (pid {proc.pid})"


def down(home: Path) -> str | None:
    """Stop the Prometheus this state dir started; None when there was none."""
    from .stack import _stop

    pid, at = running(home)
    with contextlib.suppress(OSError):  # a state dir that cannot be written has no pid file
        _pid_file(home).unlink(missing_ok=True)
    if pid is None:
        return None
    _stop(pid, grace=10.0)
    return f"stopped Prometheus (pid {pid}, port {at})"


def status_row(home: Path) -> tuple[str, str, str]:
    if binary() is None:
        return ("prometheus", "not installed", "`make system-deps` installs it (optional)")
    pid, at = running(home)
    if pid is None:
        return ("prometheus", "stopped", "start it with `course stack up`")
    state = "running" if ready(at) else "starting"
    return ("prometheus", state, f"http://127.0.0.1:{at} (pid {pid})")


def reload(home: Path) -> bool:
    """Ask a running Prometheus to re-read its rules; False when none runs."""
    pid, at = running(home)
    if pid is None:
        return False
    request = urllib.request.Request(f"http://127.0.0.1:{at}/-/reload", method="POST")
    with urllib.request.urlopen(request, timeout=10) as r:
        return r.status == 200


def add_target(home: Path, name: str, address: str, labels: dict[str, str]) -> Path:
    """Tell Prometheus to scrape ``address`` (host:port); written whether or not it runs."""
    folder = targets_dir(home)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps([{"targets": [address], "labels": labels}]))
    tmp.replace(path)  # Prometheus never reads a half-written file
    return path


def query(home: Path, promql: str) -> list[dict]:
    """Run an instant PromQL query on the state dir's Prometheus; the result's vector."""
    pid, at = running(home)
    if pid is None:
        raise CourseError("Prometheus is not running: start it with `course stack up`")
    from urllib.parse import urlencode

    url = f"http://127.0.0.1:{at}/api/v1/query?{urlencode({'query': promql})}"
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            body = json.load(r)
    except urllib.error.HTTPError as exc:
        detail = json.loads(exc.read() or b"{}").get("error", exc.reason)
        raise CourseError(f"Prometheus refused the query {promql!r}: {detail}") from None
    return body["data"]["result"]


def load_rules(home: Path, path: Path | str, name: str = "course", wait: bool = True) -> str:
    """Install a rules file into the state dir's Prometheus and say how it took it, in one line.

    The file is copied to ``rules/<name>.yml`` (kept for the next `course stack up` too); a
    running Prometheus re-reads its rules and reports each alert's state and health (``wait``:
    until its first evaluation of them, a few seconds, so that health is known).
    """
    source = Path(path)
    if not source.is_file():
        raise CourseError(f"no rules file at {source}: run its %%writefile cell first")
    rules_dir(home).mkdir(parents=True, exist_ok=True)
    target = rules_dir(home) / f"{name}.yml"
    shutil.copyfile(source, target)
    pid, at = running(home)
    if pid is None:
        return "rules saved; Prometheus is not running here (`course stack up` starts it)"
    try:
        reload(home)
    except urllib.error.HTTPError as exc:  # a file Prometheus refuses must not block its restart
        target.unlink(missing_ok=True)
        reload(home)
        detail = exc.read().decode(errors="replace").strip().splitlines()[-1:] or [exc.reason]
        raise CourseError(f"Prometheus refused {source.name}: {detail[0][:300]}") from None
    deadline = time.monotonic() + (2 * SCRAPE_SECONDS if wait else 0)
    while True:
        url = f"http://127.0.0.1:{at}/api/v1/rules?type=alert"
        with urllib.request.urlopen(url, timeout=10) as r:
            groups = json.load(r)["data"]["groups"]
        rules = [rule for g in groups if g["file"].endswith(f"{name}.yml") for rule in g["rules"]]
        if time.monotonic() >= deadline or all(rule["health"] != "unknown" for rule in rules):
            break
        time.sleep(0.5)
    states = [f"{rule['name']} {rule['state']} (health {rule['health']})" for rule in rules]
    return f"Prometheus at http://127.0.0.1:{at} loaded: " + (", ".join(states) or "no alert rules")
