"""`import course` stays light and the `course` command answers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
HEAVY = ("mlflow", "feast", "evidently", "pandas", "sklearn")

IMPORT_SCRIPT = f"""
import json
import sys

import course

heavy = {HEAVY!r}
loaded = sorted(m for m in sys.modules if m.split(".")[0] in heavy)
print(json.dumps({{"file": course.__file__, "loaded": loaded}}))
"""


def clean_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("MLFLOW_TRACKING_URI", None)
    return env


def test_import_course_loads_no_heavy_library() -> None:
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_SCRIPT],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["loaded"] == [], f"`import course` imported {report['loaded']}"
    assert Path(report["file"]).parent.name == "course"


@pytest.mark.parametrize("args", [["--help"], ["stack", "--help"]], ids=["course", "stack"])
def test_console_script_prints_help(args: list[str]) -> None:
    result = subprocess.run(
        [str(BIN / "course"), *args], env=clean_env(), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: course")
    assert "stack" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
