"""Put a model in a container image and run it: MLflow's Dockerfile, built FROM a chosen base.

``mlflow models generate-dockerfile`` writes ``FROM python:<version>-slim``, which an engine
pulls from Docker Hub. ``build`` keeps that base unless ``base_image=`` or $COURSE_BASE_IMAGE
names another; ``base`` makes one from Debian packages (mmdebstrap, as root) for a machine that
reaches a Debian mirror and the package index but no image registry. The engine is podman, else
docker ($COURSE_CONTAINER_ENGINE chooses).

    tag = container.build("models:/shopflow-conversion@champion", "shopflow-conversion")
    with container.run(tag) as box:
        requests.post(box.url + "/invocations", json={"dataframe_split": ...})
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

from . import _paths
from ._errors import CourseError

__all__ = ["BASE_ENV", "Container", "base", "build", "dockerfile", "engine", "run"]

BASE_ENV = "COURSE_BASE_IMAGE"
ENGINE_ENV = "COURSE_CONTAINER_ENGINE"
DEBIAN_BASE = "localhost/course-base:bookworm"
SERVING_PORT = 8080  # where MLflow's image serves (nginx in front of the scoring server)
_PATH = "/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_CA = "/etc/ssl/certs/ca-certificates.crt"


def engine() -> list[str]:
    """The engine's command with its global flags: podman, else docker, or $COURSE_CONTAINER_ENGINE.

    podman gets ``--runtime runc`` where cgroup v1 and v2 are mounted side by side (crun refuses
    such a hybrid host and runc does not)."""
    name = os.environ.get(ENGINE_ENV) or next(
        (n for n in ("podman", "docker") if shutil.which(n)), None
    )
    if not name or not shutil.which(name):
        raise CourseError(
            f"no container engine {name or '(podman or docker)'} on PATH: install podman "
            f"(apt-get install podman runc) or Docker, or set {ENGINE_ENV}"
        )
    cmd = [name]
    if Path(name).name == "podman" and os.path.ismount("/sys/fs/cgroup/unified"):
        if shutil.which("runc"):
            cmd += ["--runtime", "runc"]
    return cmd


def _limits(cmd: list[str]) -> list[str]:
    """podman gives containers more open files and processes than it may itself have; ask for
    this process's own hard limits, which a container can always have."""
    if Path(cmd[0]).name != "podman":
        return []
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    nproc = resource.getrlimit(resource.RLIMIT_NPROC)[1]
    pid_max = Path("/proc/sys/kernel/pid_max")
    if pid_max.is_file():  # podman caps its own process limit at pid_max
        nproc = min(nproc, int(pid_max.read_text()))
    limits = {"nofile": nofile, "nproc": nproc}
    return [f"--ulimit={k}={v}:{v}" for k, v in limits.items() if v != resource.RLIM_INFINITY]


def _run(args: list[str], what: str, **kw) -> subprocess.CompletedProcess:
    done = subprocess.run(args, capture_output=True, text=True, **kw)
    if done.returncode != 0:
        lines = (done.stderr or done.stdout or "").strip().splitlines() or ["(no output)"]
        raise CourseError(f"{what} failed (exit {done.returncode}): {lines[-1]}")
    return done


def _exists(cmd: list[str], tag: str) -> bool:
    return subprocess.run([*cmd, "image", "inspect", tag], capture_output=True).returncode == 0


def base(tag: str = DEBIAN_BASE, suite: str = "bookworm", rebuild: bool = False) -> str:
    """A Python base image from Debian packages, no registry needed; returns its tag.

    Debian's python3 in a venv on PATH (``python`` and ``pip`` work as in python:3.11-slim), the
    machine's own CA certificates added, so pip inside trusts what pip outside trusts. Needs root
    and mmdebstrap; an image already under ``tag`` is kept unless ``rebuild``."""
    cmd = engine()
    if not rebuild and _exists(cmd, tag):
        return tag
    if not shutil.which("mmdebstrap"):
        raise CourseError("mmdebstrap is not installed: apt-get install mmdebstrap, or set "
                          f"{BASE_ENV}=python:3.11-slim where a registry is reachable")  # fmt: skip
    if os.geteuid() != 0:
        raise CourseError(f"building a base image from Debian packages needs root; run as root "
                          f"or set {BASE_ENV}=python:3.11-slim")  # fmt: skip
    certs = (
        'if ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1; then '
        'cp /usr/local/share/ca-certificates/*.crt "$1/usr/local/share/ca-certificates/" '
        '&& chroot "$1" update-ca-certificates; fi'
    )  # fmt: skip
    changes = [f"ENV PATH={_PATH}", f"ENV PIP_CERT={_CA}", f"ENV SSL_CERT_FILE={_CA}",
               'CMD ["python3"]']  # fmt: skip
    with tempfile.TemporaryFile() as log:
        strap = subprocess.Popen(
            ["mmdebstrap", "--variant=minbase", "--include=python3,python3-venv,ca-certificates",
             f"--customize-hook={certs}", '--customize-hook=chroot "$1" python3 -m venv /opt/venv',
             suite, "-"],
            stdout=subprocess.PIPE, stderr=log,
        )  # fmt: skip
        imported = subprocess.run(
            [*cmd, "import", *(f"--change={c}" for c in changes), "-", tag],
            stdin=strap.stdout, capture_output=True, text=True,
        )  # fmt: skip
        strap.stdout.close()
        strapped = strap.wait()
        log.seek(0)
        err = log.read().decode(errors="replace").strip().splitlines() or ["no output"]
    if imported.returncode != 0:
        lines = (imported.stderr or "no output").strip().splitlines()
        raise CourseError(f"{cmd[0]} import failed: {lines[-1]}")
    if strapped != 0:  # an image of a half-written root must not pass for the base next time
        subprocess.run([*cmd, "rmi", "-f", tag], capture_output=True)
        raise CourseError(f"mmdebstrap {suite} failed: {err[-1]}")
    return tag


def dockerfile(
    model_dir_or_uri: str | Path, folder: str | Path, base_image: str | None = None
) -> Path:
    """Write MLflow's Dockerfile and the model into ``folder``, FROM the chosen base; its path.

    The base is ``base_image``, else $COURSE_BASE_IMAGE, else MLflow's python:<version>-slim."""
    import mlflow

    folder = Path(folder)
    env = {**os.environ, "MLFLOW_TRACKING_URI": mlflow.get_tracking_uri()}
    _run(
        [sys.executable, "-m", "mlflow", "models", "generate-dockerfile",
         "-m", str(model_dir_or_uri), "-d", str(folder), "--env-manager", "local"],
        f"mlflow models generate-dockerfile for {model_dir_or_uri}", env=env,
    )  # fmt: skip
    path = folder / "Dockerfile"
    chosen = base_image or os.environ.get(BASE_ENV)
    if chosen:
        text, n = re.subn(r"^FROM \S+", f"FROM {chosen}", path.read_text(), count=1, flags=re.M)
        if not n:
            raise CourseError(f"{path} has no FROM line to point at {chosen}")
        path.write_text(text)
    return path


def build(model_dir_or_uri: str | Path, tag: str, base_image: str | None = None) -> str:
    """Build an image that serves the model (a folder or a models:/ URI); returns ``tag``."""
    cmd = engine()
    with tempfile.TemporaryDirectory(prefix="course-image-") as tmp:
        folder = Path(tmp) / "image"
        dockerfile(model_dir_or_uri, folder, base_image)
        done = subprocess.run(
            [*cmd, "build", *_limits(cmd), "-t", tag, str(folder)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
    if done.returncode != 0:
        log = _paths.home() / "run" / "container" / (re.sub(r"[^\w.-]", "_", tag) + ".log")
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(done.stdout)
        last = (done.stdout.strip().splitlines() or ["no output"])[-1]
        raise CourseError(f"{cmd[0]} build {tag} failed: {last} (the whole log: {log})")
    return tag


@dataclass
class Container:
    """A running model container: the URL it serves on; ``stop`` removes it."""

    url: str
    name: str
    _engine: list[str]

    def logs(self) -> str:
        done = subprocess.run([*self._engine, "logs", self.name], capture_output=True, text=True)
        return done.stdout + done.stderr

    def running(self) -> bool:
        done = subprocess.run(
            [*self._engine, "inspect", "-f", "{{.State.Running}}", self.name],
            capture_output=True, text=True,
        )  # fmt: skip
        return done.stdout.strip() == "true"

    def stop(self) -> None:
        subprocess.run([*self._engine, "rm", "-f", self.name], capture_output=True)

    def __enter__(self) -> Container:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(tag: str, port: int | None = None, timeout: float = 180.0) -> Container:
    """Start the image on 127.0.0.1:port (a free one by default); returns once /ping answers."""
    cmd = engine()
    port = port or _free_port()
    name = f"course-{uuid.uuid4().hex[:8]}"
    _run(
        [*cmd, "run", "-d", "--name", name, *_limits(cmd),
         "-p", f"127.0.0.1:{port}:{SERVING_PORT}", tag],
        f"{cmd[0]} run {tag}",
    )  # fmt: skip
    box = Container(f"http://127.0.0.1:{port}", name, cmd)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(box.url + "/ping", timeout=5):
                return box
        except (urllib.error.URLError, OSError):
            if not box.running():
                logs = box.logs().strip().splitlines() or ["no output"]
                box.stop()
                raise CourseError(f"the container of {tag} exited: {logs[-1]}") from None
            time.sleep(1)
    box.stop()
    raise CourseError(f"the container of {tag} did not answer /ping within {timeout:.0f} s")
