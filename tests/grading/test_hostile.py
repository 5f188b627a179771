"""One batch of hostile and broken m00 submissions, graded by `course grade` in the sandbox.

Every case has its expected outcome; every case also shares the batch with a plain solution and
a blank, which must still earn full marks and zero. Built from the m00 solution at test time.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SLUG = "00_welcome"
SOLUTION = REPO / "solutions" / SLUG / f"{SLUG}.ipynb"
RELEASE = REPO / "modules" / SLUG / f"{SLUG}.ipynb"
FULL = 8.0

pytestmark = [
    pytest.mark.notebook,
    pytest.mark.skipif(
        shutil.which("bwrap") is None, reason="bubblewrap missing (make system-deps)"
    ),
]


def _nb(path: Path = SOLUTION) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _cell(nb: dict, grade_id: str) -> dict:
    return next(
        c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id
    )


def _key(grade_id: str) -> str:
    """A quiz key as the solution writes it: the corpus follows the notebook, not a copy."""
    source = _cell(_nb(), grade_id)["source"]
    return re.search(r'### BEGIN SOLUTION\n\w+ = "(\w)"', source).group(1)


Q2, Q3 = _key("m00_q2_embedded_answer"), _key("m00_q3_not_attempted_answer")
NOT_Q2 = next(letter for letter in "abcd" if letter != Q2)  # a wrong answer


def _with_answer(grade_id: str, code: str, base: Path = SOLUTION) -> dict:
    """The solution with one answer cell replaced."""
    nb = _nb(base)
    _cell(nb, grade_id)["source"] = code
    return nb


def _corpus(tmp: Path, port: int, out: Path) -> dict[str, tuple[object, callable]]:
    """name -> (notebook dict or raw text, check(row) -> None)."""
    secret = REPO / "solutions" / SLUG / f"{SLUG}.ipynb"

    def full(row):
        assert row["status"] == "graded" and float(row["score"]) == FULL, row

    def q2_zero(row):
        assert row["status"] == "graded" and float(row["m00_q2_embedded"]) == 0, row
        assert float(row["score"]) == FULL - 1, row

    cases: dict[str, tuple[object, callable]] = {}
    cases["sol"] = (_nb(), full)
    cases["blank"] = (_nb(RELEASE), lambda r: float(r["score"]) == 0 or pytest.fail(str(r)))
    # A correct answer that warns on stderr: full marks.
    cases["noisy"] = (
        _with_answer("m00_q2_embedded_answer", "import sys, warnings\nwarnings.warn('old', UserWarning)\n"
                     f"print('noise', file=sys.stderr)\nq2 = {Q2!r}"), full)  # fmt: skip
    # Reading the instructor's solutions/ to copy the answer: the file is not there.
    cases["reads_solutions"] = (_with_answer("m00_q2_embedded_answer", (
        "q2 = None\ntry:\n"
        f"    import json; nb = json.load(open({str(secret)!r}))\n"
        f"    q2 = {Q2!r}\nexcept Exception:\n    q2 = 'x'\n")), q2_zero)  # fmt: skip
    # Reading the instructor's home.
    cases["reads_home"] = (_with_answer("m00_q2_embedded_answer", (
        f"import os\nq2 = {Q2!r} if os.path.exists('/root/.bashrc') or os.path.exists(os.path.expanduser('~root/.profile')) and os.access('/root', os.R_OK) else 'x'\n")),
        q2_zero)  # fmt: skip
    # Writing grade storage: the output folder is not in the sandbox.
    cases["writes_grades"] = (_with_answer("m00_q2_embedded_answer", (
        "q2 = 'x'\ntry:\n"
        f"    open({str(out / 'grades.csv')!r}, 'a').write('cheat,m00,8,8,graded\\n'); q2 = {Q2!r}\n"
        "except Exception:\n    pass\n")), q2_zero)  # fmt: skip
    # Outside network: a server on the host's loopback is unreachable from the sandbox.
    cases["network"] = (_with_answer("m00_q2_embedded_answer", (
        "import socket\nq2 = 'x'\ntry:\n"
        f"    socket.create_connection(('127.0.0.1', {port}), timeout=3).close(); q2 = {Q2!r}\n"
        "except OSError:\n    pass\n")), q2_zero)  # fmt: skip
    # Patching the checks from inside the kernel: the clean re-check disagrees -> 0 + review.
    cases["patched_check"] = (_with_answer("m00_q2_embedded_answer",
        f"import course, course.quiz\ncourse.quiz.check = lambda *a, **k: print('✓ ok')\nq2 = {NOT_Q2!r}\n"),
        lambda r: (q2_zero(r), r["review"] or pytest.fail("not flagged")))  # fmt: skip
    # Hiding exceptions: a custom exception handler swallows the failing check.
    cases["hidden_exception"] = (_with_answer("m00_q2_embedded_answer",
        f"get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)\nq2 = {NOT_Q2!r}\n"),
        q2_zero)  # fmt: skip
    # An object that equals anything.
    cases["always_equal"] = (_with_answer("m00_q2_embedded_answer",
        f"class Any(str):\n    def __eq__(self, o): return True\n    __hash__ = str.__hash__\nq2 = Any({NOT_Q2!r})\n"),
        q2_zero)  # fmt: skip
    # An endless loop: the cell limit stops it; the answers before it still count.
    cases["endless"] = (_with_answer("m00_q4_holiday_weeks_answer", "while True:\n    pass\n"),
        lambda r: (float(r["score"]) == FULL - 1 or pytest.fail(str(r)), "limit" in r["error"] or pytest.fail(r["error"])))  # fmt: skip
    # Memory exhaustion: a MemoryError under the address-space limit, not a dead machine.
    cases["memory"] = (_with_answer("m00_q2_embedded_answer",
        f"q2 = {Q2!r}\nhog = []\ntry:\n    while True:\n        hog.append(bytearray(256 * 1024**2))\n"
        "except MemoryError:\n    hog = None\n    q2 = 'x'\n"), q2_zero)  # fmt: skip
    # Process exhaustion: forks stop at the process limit.
    cases["fork_bomb"] = (_with_answer("m00_q2_embedded_answer",
        f"import subprocess\nps = []\nq2 = {Q2!r}\ntry:\n    for _ in range(2000):\n"
        "        ps.append(subprocess.Popen(['sleep', '30']))\nexcept OSError:\n    q2 = 'x'\n"), q2_zero)  # fmt: skip
    # An orphan that tries to outlive its grading.
    cases["orphan"] = (_with_answer("m00_q3_not_attempted_answer",
        f"import subprocess\nsubprocess.Popen(['sleep', '7777'], start_new_session=True)\nq3 = {Q3!r}\n"), full)  # fmt: skip
    # A huge output: cut, the rest still graded.
    cases["huge_output"] = (_with_answer("m00_q3_not_attempted_answer",
        f"for _ in range(300):\n    print('x' * 100_000)\nq3 = {Q3!r}\n"), full)  # fmt: skip
    # A crashing kernel: what ran before counts.
    cases["crash"] = (_with_answer("m00_q4_holiday_weeks_answer", "import os\nos._exit(3)\n"),
        lambda r: (float(r["score"]) == FULL - 1 or pytest.fail(str(r)), "died" in r["error"] or pytest.fail(r["error"])))  # fmt: skip
    # Tampered metadata and cells.
    nb = _nb()
    test = _cell(nb, "m00_q2_embedded")
    test["source"] = "print('fine')"  # an edited locked test cell
    test["metadata"]["nbgrader"]["points"] = 100
    _cell(nb, "m00_q2_embedded_answer")["source"] = f"q2 = {NOT_Q2!r}"
    nb["cells"].append(json.loads(json.dumps(_cell(nb, "m00_q1_lifecycle"))))  # duplicate
    nb["cells"].remove(_cell(nb, "m00_q3_not_attempted"))  # deleted test cell
    nb["metadata"]["kernelspec"] = {"name": "ir", "display_name": "R", "language": "R"}
    _cell(nb, "m00_q4_holiday_weeks")["metadata"]["nbgrader"]["schema_version"] = 99
    cases["tampered_cells"] = (
        nb,
        lambda r: (q2_zero(r), "edited" in r["notes"] or pytest.fail(r["notes"])),
    )
    reordered = _nb()
    reordered["cells"] = list(reversed(reordered["cells"]))
    cases["reordered"] = (reordered, full)
    # Malformed files.
    cases["not_json"] = ("{not json", lambda r: r["status"] == "error" or pytest.fail(str(r)))
    cases["no_cells"] = (
        json.dumps({"nbformat": 4}),
        lambda r: (
            (r["status"] == "error" and "not a valid notebook" in r["error"]) or pytest.fail(str(r))
        ),
    )
    return cases


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    subs, out = tmp / "subs", tmp / "out"
    subs.mkdir()
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    threading.Thread(target=lambda: [server.accept() for _ in range(8)], daemon=True).start()
    cases = _corpus(tmp, server.getsockname()[1], out)
    for name, (content, _) in cases.items():
        text = content if isinstance(content, str) else json.dumps(content)
        (subs / f"{name}.ipynb").write_text(text, encoding="utf-8")
    env = dict(os.environ)
    env.pop("MLFLOW_TRACKING_URI", None)
    proc = subprocess.run(
        [sys.executable, "-m", "course", "grade", "m00", str(subs), "--out", str(out),
         "--no-progress", "--cell-timeout", "60", "--memory", "3G"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=1200,
    )  # fmt: skip
    server.close()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with (out / "grades.csv").open() as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f)}
    return {"cases": cases, "rows": rows, "out": out, "subs": subs}


CASES = ["sol", "blank", "noisy", "reads_solutions", "reads_home", "writes_grades", "network",
         "patched_check", "hidden_exception", "always_equal", "endless", "memory", "fork_bomb",
         "orphan", "huge_output", "crash", "tampered_cells", "reordered", "not_json", "no_cells"]  # fmt: skip


@pytest.mark.parametrize("case", CASES)
def test_each_case_has_its_expected_outcome(batch, case: str) -> None:
    row = batch["rows"][case]
    batch["cases"][case][1](row)


def test_every_input_file_has_a_row(batch) -> None:
    assert sorted(batch["rows"]) == sorted(batch["cases"])


def test_grade_storage_was_not_written(batch) -> None:
    text = (batch["out"] / "grades.csv").read_text()
    assert "cheat,m00" not in text


def test_no_process_outlives_its_grading(batch) -> None:
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            assert b"7777" not in cmdline.read_bytes().split(b"\0"), "an orphan survived"
        except OSError:
            continue


def test_feedback_never_shows_hidden_tests(batch) -> None:
    hidden = [ln.strip() for c in _nb()["cells"] for ln in "".join(c["source"]).split("### BEGIN HIDDEN TESTS")[-1].splitlines()
              if "### BEGIN HIDDEN TESTS" in "".join(c["source"]) and len(ln.strip()) > 12 and "END HIDDEN" not in ln]  # fmt: skip
    assert hidden
    for page in (batch["out"] / "feedback").glob("*.html"):
        text = page.read_text()
        for line in hidden:
            assert line not in text, f"{page.name} shows {line!r}"


def test_summary_and_gradebook_export_exist(batch) -> None:
    out = batch["out"]
    assert "m00_q2_embedded" in (out / "summary.md").read_text()
    assert (out / "scores.png").stat().st_size > 1000
    assert "sol" in (out / "nbgrader-export.csv").read_text()
