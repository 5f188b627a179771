"""A second batch of hostile m00 submissions: forged verdicts and records, skipped hidden tests,
text that breaks writes, links and FIFOs in the scratch folder, leaks into feedback, outputs
and memory beyond their limits. Each case failed against the grader before it was hardened.

The batch also holds a plain solution and a blank: their scores must not change.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _attacks import DROP_HIDDEN, PATCH_CHECK

REPO = Path(__file__).resolve().parents[2]
SLUG = "00_welcome"
SOLUTION = REPO / "solutions" / SLUG / f"{SLUG}.ipynb"
RELEASE = REPO / "modules" / SLUG / f"{SLUG}.ipynb"
FULL = 8.0
EX1 = "m00_ex1_base_rates"

pytestmark = [
    pytest.mark.notebook,
    pytest.mark.skipif(
        shutil.which("bwrap") is None, reason="bubblewrap missing (make system-deps)"
    ),
]

FAKE = """
class Fake(dict):
    pass
Fake.__module__ = "mlflow.entities"
Fake.__qualname__ = "Run"
"""
FORGE_HOOK = """
import re
def _forge(result):
    tok = re.findall(r'print\\("(GRADER\\w+):done"', result.info.raw_cell or "")
    if tok:
        result.error_in_exec = None
        result.error_before_exec = None
        print(f"{tok[0]}:hidden\\n{tok[0]}:done", flush=True)
get_ipython().events.register("post_run_cell", _forge)
"""
LEAK = """
_seen = []
def _spy(lines):
    text = "".join(lines)
    _seen.append(text)
    if "_course_grader_reset" in text and "_course_grader_record" not in text:
        return ["pass\\n"]
    return lines
get_ipython().input_transformers_cleanup.append(_spy)
"""


def _nb(path: Path = SOLUTION) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _cell(nb: dict, grade_id: str) -> dict:
    return next(
        c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id
    )


def _key(grade_id: str) -> str:
    """A quiz key as the solution writes it: the attacks follow the notebook, not a copy."""
    source = _cell(_nb(), grade_id)["source"]
    return re.search(r'### BEGIN SOLUTION\n\w+ = "(\w)"', source).group(1)


Q2, Q3 = _key("m00_q2_embedded_answer"), _key("m00_q3_not_attempted_answer")


def _answer(code: str, grade_id: str = f"{EX1}_answer", nb: dict | None = None) -> dict:
    nb = nb or _nb()
    _cell(nb, grade_id)["source"] = code
    return nb


def _append(nb: dict, code: str) -> dict:
    nb["cells"].append({"cell_type": "code", "metadata": {}, "source": code, "outputs": [],
                        "execution_count": None})  # fmt: skip
    return nb


def _rates() -> str:
    return (
        "from course import data\n_f = data.activity()\n_h = _f['week'].isin(data.HOLIDAY_WEEKS)\n"
        "_true = {'calm': _f.loc[~_h, data.TARGET].mean(), 'holiday': _f.loc[_h, data.TARGET].mean()}\n"
    )


QUIZZES = ["m00_q1_lifecycle", "m00_q2_embedded", "m00_q3_not_attempted", "m00_q4_holiday_weeks"]


def _ex1_zero(row: dict) -> None:
    """No points for ex1 (ex2 logs ex1's rates: it may fall with it); the quizzes untouched."""
    assert row["status"] == "graded", row
    assert float(row[EX1]) == 0 and all(float(row[q]) == 1 for q in QUIZZES), row


def _ex1_zero_review(row: dict) -> None:
    _ex1_zero(row)
    assert EX1 in row["review"], row


def _full(row: dict) -> None:
    assert row["status"] == "graded" and float(row["score"]) == FULL, row


def _corpus() -> dict[str, tuple[object, callable]]:
    cases: dict[str, tuple[object, callable]] = {}
    cases["sol"] = (_nb(), _full)
    cases["blank"] = (_nb(RELEASE), lambda r: float(r["score"]) == 0 or pytest.fail(str(r)))
    # 1. Points without the work.
    # A value whose class claims to be MLflow's, the check patched, the hidden tests dropped.
    cases["fake_type"] = (_answer(DROP_HIDDEN + PATCH_CHECK + FAKE + "base_rates = Fake()\n"),
                          _ex1_zero_review)  # fmt: skip
    # A post_run_cell hook that clears the error and prints the markers from the cell's source.
    cases["forged_verdict"] = (_answer(FORGE_HOOK + PATCH_CHECK + FAKE + "base_rates = Fake()\n"),
                               _ex1_zero)  # fmt: skip
    # A record written before the grader's, and the grader's record function replaced.
    record = json.dumps({"item": EX1, "args": [{"base_rates": {"type": "mlflow.entities.Run"}}]})
    cases["forged_record"] = (_answer(
        DROP_HIDDEN + PATCH_CHECK + "import builtins\n"
        "_course_grader_harvest = _course_grader_record = lambda *a, **k: None\n"
        "builtins._course_grader_record = _course_grader_record\n"
        f"for _p in ('../run/record.jsonl', 'run/record.jsonl'):\n"
        f"    try:\n        open(_p, 'w').write({record!r} + '\\n')\n    except OSError:\n        pass\n"
        "base_rates = None\n"), _ex1_zero_review)  # fmt: skip
    # Rates 5e-5 off pass the visible check (1e-4) but not the hidden tests (1e-6): dropped.
    cases["skips_hidden"] = (_answer(
        DROP_HIDDEN + _rates() + "base_rates = {k: v + 5e-5 for k, v in _true.items()}\n"),
        _ex1_zero_review)  # fmt: skip
    # 2. One student must not break the batch.
    surrogate = _nb()
    surrogate["cells"].insert(0, {"cell_type": "markdown", "metadata": {}, "source": "x \ud800 y"})
    _cell(surrogate, "m00_q3_not_attempted_answer")["source"] = (
        f"print('\\ud800 lone')\nq3 = {Q3!r}\n"
    )
    cases["surrogate"] = (surrogate, _full)
    cases["fifo_log"] = (_append(_nb(), (
        "import os\nfor _p in ('../kernel.log', '../../kernel.log', '../run/record.jsonl'):\n"
        "    try:\n        os.remove(_p)\n    except OSError:\n        pass\n"
        "    try:\n        os.mkfifo(_p)\n    except OSError:\n        pass\n")), _full)  # fmt: skip
    cases["long_line"] = (_answer(f"print('y' * 1_500_000)\nq3 = {Q3!r}\n",
                                  "m00_q3_not_attempted_answer"), _full)  # fmt: skip
    # 3. Confidentiality.
    cases["symlink_log"] = (_append(_nb(), (
        "import os\nfor _p in ('../kernel.log', '../../kernel.log'):\n"
        "    try:\n        os.remove(_p)\n    except OSError:\n        pass\n"
        "    try:\n"
        f"        os.symlink({str(SOLUTION)!r}, _p)\n"
        "    except OSError:\n        pass\n")), _full)  # fmt: skip
    ex1 = "".join(_cell(_nb(), f"{EX1}_answer")["source"])
    cases["leak_hook"] = (_append(_answer(LEAK + ex1), "print('\\n'.join(_seen))"), _full)
    # 5. Limits that hold.
    cases["display_update"] = (_answer(
        f"h = display('small', display_id=True)\nh.update('z' * 30_000_000)\nq3 = {Q3!r}\n",
        "m00_q3_not_attempted_answer"), _full)  # fmt: skip
    flood = _nb()
    at = flood["cells"].index(_cell(flood, "m00_q1_lifecycle_answer"))
    for _ in range(10):  # 10 cells of 1.9 MB each: past the notebook's 16 MiB, under a cell's cap
        flood["cells"].insert(at, {"cell_type": "code", "metadata": {}, "outputs": [],
                                   "execution_count": None,
                                   "source": "for _ in range(1900):\n    print('f' * 1000)\n"})  # fmt: skip
    cases["flood"] = (flood, _full)
    cases["memory_children"] = (_answer(
        "import subprocess, sys\n"
        "code = 'import time; b = bytearray(1200 * 1024**2); b[::4096] = b\"x\" * len(b[::4096]); "
        "print(\"held\", flush=True); time.sleep(8)'\n"
        "ps = [subprocess.Popen([sys.executable, '-c', code], stdout=subprocess.PIPE) for _ in range(3)]\n"
        "held = sum(p.stdout.readline().strip() == b'held' for p in ps)\n"
        f"[p.kill() for p in ps]\nq2 = {Q2!r} if held == 3 else 'x'\n",
        "m00_q2_embedded_answer"), lambda r: float(r["m00_q2_embedded"]) == 0 or pytest.fail(str(r)))  # fmt: skip
    cases["tmp_fill"] = (_answer(
        "q2 = 'x'\ntry:\n    with open('/tmp/fill', 'wb') as f:\n"
        f"        for _ in range(700):\n            f.write(b'0' * 1024**2)\n    q2 = {Q2!r}\n"
        "except OSError:\n    pass\n", "m00_q2_embedded_answer"),
        lambda r: float(r["m00_q2_embedded"]) == 0 or pytest.fail(str(r)))  # fmt: skip
    return cases


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("trust")
    subs, out = tmp / "subs", tmp / "out"
    subs.mkdir()
    cases = _corpus()
    for name, (content, _) in cases.items():
        text = json.dumps(content)  # \ud800 stays an escape: valid JSON, a lone surrogate
        (subs / f"{name}.ipynb").write_text(text, encoding="utf-8")
    env = dict(os.environ)
    env.pop("MLFLOW_TRACKING_URI", None)
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "course", "grade", "m00", str(subs), "--out", str(out),
         "--no-progress", "--cell-timeout", "90", "--memory", "3G"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=1500,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with (out / "grades.csv").open(encoding="utf-8") as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f)}
    return {"cases": cases, "rows": rows, "out": out, "seconds": time.monotonic() - start}


CASES = ["sol", "blank", "fake_type", "forged_verdict", "forged_record", "skips_hidden",
         "surrogate", "fifo_log", "long_line", "symlink_log", "leak_hook", "display_update",
         "memory_children", "tmp_fill", "flood"]  # fmt: skip


@pytest.mark.parametrize("case", CASES)
def test_each_attack_has_its_expected_outcome(batch, case: str) -> None:
    batch["cases"][case][1](batch["rows"][case])


def test_one_row_per_input_every_row_sandboxed(batch) -> None:
    assert sorted(batch["rows"]) == sorted(CASES)
    assert all(r["sandboxed"] == "yes" for r in batch["rows"].values())


def test_no_log_holds_the_solution(batch) -> None:
    for log in (batch["out"] / "logs").glob("*.log"):
        assert "### BEGIN SOLUTION" not in log.read_text(errors="replace"), log.name


def _hidden_lines() -> list[str]:
    from course.grading._scrub import hidden_lines

    return hidden_lines(_nb())


def test_feedback_never_shows_hidden_tests_whatever_was_printed(batch) -> None:
    lines = _hidden_lines()
    assert lines
    for page in (batch["out"] / "feedback").glob("*.html"):
        text = page.read_text(errors="replace")
        for line in lines:
            assert line not in text, f"{page.name} shows {line!r}"


def test_feedback_stays_small_whatever_the_outputs(batch) -> None:
    page = batch["out"] / "feedback" / "display_update.html"
    assert page.stat().st_size < 8 * 1024**2
    page = batch["out"] / "feedback" / "flood.html"
    assert page.stat().st_size < 24 * 1024**2
