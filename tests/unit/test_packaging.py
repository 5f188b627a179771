"""Packaging: one set of pins everywhere, an install that re-runs only when they change, and
git ignoring what the course writes."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib

from conftest import REPO


def _lock() -> dict[str, str]:
    pins = {}
    for line in (REPO / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.lower().replace("_", "-")] = version
    return pins


def test_lock_is_exact_and_resolves_the_stack() -> None:
    pins = _lock()
    assert all(re.fullmatch(r"[\w.+-]+", v) for v in pins.values())
    assert pins["pandas"].split(".")[0] == "2"  # evidently 0.7 does not import with pandas 3
    for name in ("mlflow", "feast", "evidently", "nbgrader", "jupyterlab", "scikit-learn"):
        assert name in pins


def test_pyproject_pins_agree_with_the_lock() -> None:
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = _lock()
    for dep in deps:
        if "==" in dep:
            name, version = dep.split("==")
            assert pins[name.lower()] == version, dep


def test_environment_yml_carries_the_same_pins() -> None:
    text = (REPO / "environment.yml").read_text()
    listed = dict(re.findall(r"^\s+- ([\w.+-]+)==([\w.+-]+)$", text, re.M))
    assert {k.lower().replace("_", "-"): v for k, v in listed.items()} == _lock()
    assert "python=3.11" in text


def test_install_reruns_only_when_the_lock_changes(tmp_path) -> None:
    for name in ("Makefile", "requirements.lock", "pyproject.toml"):
        shutil.copy2(REPO / name, tmp_path / name)
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    stamp = tmp_path / ".venv" / ".installed"
    stamp.touch()

    def up_to_date() -> bool:
        return subprocess.run(["make", "-q", "install"], cwd=tmp_path).returncode == 0

    assert up_to_date()
    os.utime(stamp, (0, 0))  # the lock is now newer than the last install
    assert not up_to_date()


def test_git_ignores_what_the_course_writes() -> None:
    paths = [".venv/bin/python", "workspace/00_welcome/00_welcome.ipynb", ".mlops-course/x",
             "grading-out/grades.csv", "mlruns/0/meta.yaml", "mlflow.db"]  # fmt: skip
    result = subprocess.run(
        ["git", "check-ignore", *paths], cwd=REPO, capture_output=True, text=True
    )
    assert sorted(result.stdout.split()) == sorted(paths)
