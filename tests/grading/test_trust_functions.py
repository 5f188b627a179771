"""Hostile m01 submissions whose answers are functions: the kernel says "pass" (the check is
patched, the hidden tests dropped), and only the clean process can say otherwise.

Against a grader that kept the kernel's verdict for a real function, each of these earned the
item's points. Now the clean process calls the function where it lives (the kernel) and checks
what comes back; a value that cannot cross as data (an object of the student's own class, a
pickle that names os.system) scores 0 and goes to review. The plain solution keeps full marks.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from _attacks import DROP_HIDDEN, PATCH_CHECK

REPO = Path(__file__).resolve().parents[2]
SLUG = "01_reproducible_training"
SOLUTION = REPO / "solutions" / SLUG / f"{SLUG}.ipynb"
EX5 = "m01_ex5_fingerprint"

pytestmark = [
    pytest.mark.notebook,
    pytest.mark.skipif(
        shutil.which("bwrap") is None, reason="bubblewrap missing (make system-deps)"
    ),
]

# The kernel's verdict forged: the check patched away, the hidden tests dropped from the cell,
# and the grader's cells that put IPython back turned into no-ops.
FORGE = PATCH_CHECK + DROP_HIDDEN
ATTACKS = {
    # A constant instead of a hash.
    "wrong_function": "def fingerprint(frame):\n    return '0' * 16\n",
    # The untouched stub.
    "stub": "def fingerprint(frame):\n    raise NotImplementedError\n",
    # A str that equals everything: only the student's own class can do that.
    "equals_all": (
        "class _S(str):\n    __eq__ = lambda self, other: True\n    __ne__ = lambda self, other: False\n"
        "    __hash__ = str.__hash__\n"
        "def fingerprint(frame):\n    return _S('0' * 16)\n"
    ),
    # A value whose pickle runs a command where it is loaded.
    "runs_code": (
        "import os\nclass _Evil:\n    def __reduce__(self):\n"
        "        return (os.system, ('touch ../shared/pwned',))\n"
        "def fingerprint(frame):\n    return _Evil()\n"
    ),
}
REVIEW = {
    "wrong_function": "failed the clean check",
    "stub": "failed the clean check",
    "equals_all": "refused to load __main__._S",
    "runs_code": "refused to load posix.system",
}


def _with_answer(code: str) -> dict:
    nb = json.loads(SOLUTION.read_text(encoding="utf-8"))
    cell = next(
        c
        for c in nb["cells"]
        if c["metadata"].get("nbgrader", {}).get("grade_id") == f"{EX5}_answer"
    )
    cell["source"] = FORGE + code
    return nb


@pytest.fixture(scope="module")
def rows(tmp_path_factory) -> dict[str, dict]:
    tmp = tmp_path_factory.mktemp("trust-functions")
    subs, out = tmp / "subs", tmp / "out"
    subs.mkdir()
    shutil.copyfile(SOLUTION, subs / "sol.ipynb")
    for name, code in ATTACKS.items():
        (subs / f"{name}.ipynb").write_text(json.dumps(_with_answer(code)), encoding="utf-8")
    env = dict(os.environ)
    env.pop("MLFLOW_TRACKING_URI", None)
    proc = subprocess.run(
        [sys.executable, "-m", "course", "grade", "m01", str(subs), "--out", str(out),
         "--no-progress"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=1200,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with (out / "grades.csv").open(encoding="utf-8") as f:
        return {r["student_id"]: r for r in csv.DictReader(f)}


def test_the_solution_keeps_full_marks_every_function_checked_outside(rows) -> None:
    row = rows["sol"]
    assert row["status"] == "graded" and float(row["score"]) == float(row["max_score"]), row
    assert "trusted" not in row["notes"] and not row["review"], row


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_a_forged_pass_on_a_function_scores_zero_and_goes_to_review(rows, attack) -> None:
    row = rows[attack]
    assert row["status"] == "graded", row
    assert float(row[EX5]) == 0, row
    assert EX5 in row["review"] and REVIEW[attack] in row["review"], row["review"]
    others = [k for k in row if k.startswith("m01_ex") and k != EX5]
    assert all(float(row[k]) > 0 for k in others), row  # the other items are untouched
