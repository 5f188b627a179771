"""Run a learner's pytest file against datasets or models the check chooses, in a subprocess.

The check writes its own conftest.py next to a copy of the learner's file: fixtures parametrized
over named cases (a clean dataset, a corrupted one, a broken model). One pytest run then says,
per case, which of the learner's tests failed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .._errors import CheckError, NotAttempted

_STUB = "raise NotImplementedError()"


def learner_file(path: Any, name: str) -> Path:
    """The learner's test file: one-line errors for a missing file, NotAttempted for the stub."""
    if path is None:
        raise NotAttempted(f"`{name}` is None: pass the path of your test file")
    if not isinstance(path, str | Path):
        raise CheckError(f"`{name}` should be a path, not a {type(path).__name__}")
    file = Path(path)
    if not file.is_file():
        raise CheckError(f"no file at {file}: run the %%writefile cell first")
    text = file.read_text(encoding="utf-8", errors="replace")
    if "def test_" not in text:
        if _STUB in text:
            raise NotAttempted(f"{file.name} is still the stub: write your tests in that cell")
        raise CheckError(f"{file.name} has no test functions (def test_...): pytest finds none")
    return file


def run(
    test_file: Path, prepare: Callable[[Path], None], conftest: str, cases: list[str]
) -> dict[str, dict[str, bool]]:
    """{case: {test name: passed}} for every test that took a parametrized fixture."""
    with tempfile.TemporaryDirectory(prefix="course-check-") as tmp:
        folder = Path(tmp)
        shutil.copyfile(test_file, folder / test_file.name)
        (folder / "conftest.py").write_text(conftest, encoding="utf-8")
        prepare(folder)
        report = folder / "report.xml"
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--no-header"]
        cmd += ["-o", "addopts=", f"--junitxml={report}", test_file.name]
        env_cases = {"COURSE_CHECK_CASES": ",".join(cases), "COURSE_CHECK_DIR": str(folder)}
        # The venv's pytest plugins (playwright, anyio, timeout) cost a second per run, unused.
        env_cases["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        import os

        try:
            proc = subprocess.run(
                cmd,
                cwd=folder,
                env={**os.environ, **env_cases},
                capture_output=True,
                text=True,
                timeout=300,
            )
        except subprocess.TimeoutExpired:
            raise CheckError(f"pytest ran over 5 minutes on {test_file.name}") from None
        if not report.exists() or proc.returncode in (2, 3, 4):
            lines = [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.strip()]
            errors = [ln for ln in lines if ln.startswith("E ")] or lines[-1:]
            raise CheckError(
                f"pytest could not run {test_file.name}: {errors[0][:200] if errors else '?'}"
            )
        return _outcomes(report)


def _outcomes(report: Path) -> dict[str, dict[str, bool]]:
    results: dict[str, dict[str, bool]] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        name = case.get("name", "")
        if "[" not in name:
            continue
        test, param = name[:-1].split("[", 1)
        failed = any(child.tag in ("failure", "error") for child in case)
        skipped = any(child.tag == "skipped" for child in case)
        if not skipped:
            results.setdefault(param, {})[test] = not failed
    return results
