"""course.container: the model's image is built FROM the chosen base, runs, and scores over HTTP.

The Dockerfile tests need only MLflow. The image test needs a container engine that can run a
container here, and a base image: $COURSE_BASE_IMAGE (python:3.11-slim where a registry is
reachable), else one made from Debian packages with mmdebstrap (as root). Without them it skips
and says which is missing, or the engine's own error.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.request
from importlib.metadata import version
from pathlib import Path

import pytest

from course import CourseError, container


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small scikit-learn model saved with its requirements pinned to this venv's versions."""
    import mlflow.sklearn
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    x = pd.DataFrame({"sessions": np.arange(40.0), "basket_value": np.arange(40.0)[::-1]})
    model = LogisticRegression().fit(x, (x["sessions"] > 20).astype(int))
    pins = [f"{p}=={version(p)}" for p in ("scikit-learn", "numpy", "pandas", "scipy", "skops")]
    path = tmp_path_factory.mktemp("model") / "model"
    mlflow.sklearn.save_model(model, path, pip_requirements=pins, input_example=x.head(2))
    return path


def test_dockerfile_uses_the_chosen_base(model_dir: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(container.BASE_ENV, "registry.example/env-base:1")
    given = container.dockerfile(model_dir, tmp_path / "a", base_image="localhost/base:2")
    text = given.read_text()
    assert text.count("\nFROM ") + text.startswith("FROM ") == 1, text
    assert "\nFROM localhost/base:2\n" in text, text
    assert (tmp_path / "a" / "model_dir" / "model" / "MLmodel").is_file()

    from_env = container.dockerfile(model_dir, tmp_path / "b").read_text()
    assert "\nFROM registry.example/env-base:1\n" in from_env, from_env


def test_dockerfile_keeps_mlflows_base_by_default(model_dir: Path, tmp_path: Path, monkeypatch):
    monkeypatch.delenv(container.BASE_ENV, raising=False)
    text = container.dockerfile(model_dir, tmp_path / "c").read_text()
    assert "\nFROM python:3." in text, text


def test_no_engine_is_one_line(monkeypatch) -> None:
    monkeypatch.setenv(container.ENGINE_ENV, "no-such-engine")
    with pytest.raises(CourseError, match="no container engine no-such-engine on PATH"):
        container.engine()


def _base_or_skip(cmd: list[str]) -> tuple[str, float]:
    """The base image to build FROM and the seconds it took to make; skips with the reason."""
    chosen = os.environ.get(container.BASE_ENV)
    if chosen:
        return chosen, 0.0
    if not shutil.which("mmdebstrap"):
        pytest.skip(f"no base image: mmdebstrap is not installed and {container.BASE_ENV} unset")
    if os.geteuid() != 0:
        pytest.skip(f"no base image: mmdebstrap needs root here and {container.BASE_ENV} is unset")
    start = time.monotonic()
    return container.base(), time.monotonic() - start


def _engine_runs_or_skip(cmd: list[str], image: str) -> None:
    probe = subprocess.run(
        [*cmd, "run", "--rm", *container._limits(cmd), image, "python", "-c", "print(42)"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    if probe.returncode != 0 or probe.stdout.strip() != "42":
        lines = (probe.stderr or probe.stdout).strip().splitlines() or ["no output"]
        pytest.skip(f"{cmd[0]} cannot run a container here: {lines[-1]}")


@pytest.mark.slow
@pytest.mark.server
@pytest.mark.timeout(2400)
def test_image_builds_runs_and_scores(model_dir: Path) -> None:
    try:
        cmd = container.engine()
    except CourseError as e:
        pytest.skip(str(e))
    base, base_s = _base_or_skip(cmd)
    _engine_runs_or_skip(cmd, base)
    tag = "localhost/course-test-model:latest"
    start = time.monotonic()
    container.build(model_dir, tag, base_image=base)
    build_s = time.monotonic() - start
    try:
        start = time.monotonic()
        with container.run(tag, timeout=300) as box:
            run_s = time.monotonic() - start
            payload = json.loads((model_dir / "serving_input_example.json").read_text())
            rows = payload["dataframe_split"]
            request = urllib.request.Request(
                box.url + "/invocations",
                data=json.dumps(payload).encode(),
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=60) as r:
                answer = json.loads(r.read())
        assert not box.running()
    finally:
        subprocess.run([*cmd, "rmi", "-f", tag], capture_output=True)

    import mlflow.pyfunc
    import pandas as pd

    local = mlflow.pyfunc.load_model(str(model_dir)).predict(
        pd.DataFrame(rows["data"], columns=rows["columns"])
    )
    assert answer["predictions"] == [int(v) for v in local], answer
    print(f"\nbase image {base_s:.0f} s, model image {build_s:.0f} s, serving after {run_s:.0f} s")
