"""Graded quizzes: keys from the instructor's notebook, the learner's check only records, the
grader scores against the keys. Fast tests first; one m00 batch graded end to end last."""

from __future__ import annotations

import ast
import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from course.grading import _quizkeys, _recheck, _records
from course.grading._types import Call, Item, Job, Result, Verdict

REPO = Path(__file__).resolve().parents[2]
SOLUTIONS = sorted(REPO.glob("solutions/[0-9][0-9]_*/[0-9][0-9]_*.ipynb"))
M00 = REPO / "solutions" / "00_welcome" / "00_welcome.ipynb"


def _nb(path: Path = M00) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _answer_cell(grade_id: str, body: str) -> dict:
    src = f"q9 = None\n### BEGIN SOLUTION\n{body}\n### END SOLUTION\n"
    return {"cell_type": "code", "source": src, "metadata": {"nbgrader": {"grade_id": grade_id}}}


# Key extraction


def test_m00_keys_are_read_from_the_solution_cells() -> None:
    keys = _quizkeys.extract(_nb())
    assert _quizkeys.computed(keys) == []
    assert _quizkeys.literal_keys(keys) == {
        "m00.q1": ["data", "train", "evaluate", "register", "deploy", "monitor"],
        "m00.q2": "a",
        "m00.q3": "c",
        "m00.q4": "b",
    }


def test_a_computed_key_is_marked_and_a_keyless_answer_cell_is_an_error() -> None:
    nb = {"cells": [_answer_cell("m03_q9_gain_answer", "q9 = round(gain, 3)")]}
    keys = _quizkeys.extract(nb)
    assert _quizkeys.computed(keys) == ["m03.q9"] and keys["m03.q9"].expr == "round(gain, 3)"
    with pytest.raises(ValueError, match="m03_q9_gain_answer: no `q9 = ...`"):
        _quizkeys.extract({"cells": [_answer_cell("m03_q9_gain_answer", "answer = 'b'")]})


def test_every_literal_key_agrees_with_the_package_digest() -> None:
    """On the shipped course both modes give the same quiz grades."""
    from course import quiz

    for path in SOLUTIONS:
        for qid, key in _quizkeys.literal_keys(_quizkeys.extract(_nb(path))).items():
            q = quiz._question(qid)
            value = quiz._typed(q, key)
            assert quiz.digest(qid, value, q.tolerance) == q.digest, f"{path.stem}: {qid}"


def test_computed_keys_come_from_one_run_of_the_instructors_notebook(monkeypatch) -> None:
    import course.grading.grade as grading
    from course._errors import CourseError
    from course.grading import worker

    nb = {"cells": [_answer_cell("m03_q9_gain_answer", "q9 = round(gain, 3)"),
                    _answer_cell("m03_q8_pick_answer", "q8 = 'b'")]}  # fmt: skip
    nb["cells"][1]["source"] = nb["cells"][1]["source"].replace("q9 = None", "q8 = None")
    runs: list = []

    def run(job: Job) -> Result:
        runs.append(job)
        return Result("instructor", "graded", answers={"m03.q9": 0.012})

    monkeypatch.setattr(worker, "grade_submission", run)
    keys = grading._source_keys("m03", nb, nb, {}, True, progress=False)
    assert keys == {"m03.q8": "b", "m03.q9": 0.012}
    assert len(runs) == 1 and runs[0].want_answers and runs[0].quiz_keys == {"m03.q8": "b"}
    monkeypatch.setattr(worker, "grade_submission",
                        lambda job: Result("instructor", error="stopped at cell 3"))  # fmt: skip
    with pytest.raises(CourseError, match=r"no key for m03.q9 \(stopped at cell 3\)"):
        grading._source_keys("m03", nb, nb, {}, True, progress=False)


# Scoring: the same normalisation and tolerance as course.quiz


def test_matches_normalises_like_the_check_and_keeps_its_tolerance_grid() -> None:
    from course.quiz import matches

    assert matches("m00.q2", "  A ", "a") and not matches("m00.q2", "b", "a")
    order = ["data", "train", "evaluate", "register", "deploy", "monitor"]
    assert matches("m00.q1", [s.upper() for s in order], tuple(order))
    assert not matches("m00.q1", order[::-1], order)
    # m03.q4 accepts 0.002: within one step passes, two steps away fails, like the digest.
    assert matches("m03.q4", 0.013, 0.012) and matches("m03.q4", "0.014", 0.012)
    assert not matches("m03.q4", 0.017, 0.012)


def test_the_verdict_comes_from_the_instructors_key_not_the_digest() -> None:
    keys = {"m00.q2": "c"}  # an instructor who changed the answer in their own solutions/
    assert _recheck.quiz_verdict("m00.q2", "c", keys).verdict is Verdict.PASS
    assert _recheck.quiz_verdict("m00.q2", "a", keys).verdict is Verdict.WRONG  # the digest's
    assert _recheck.quiz_verdict("m00.q2", "z", keys).verdict is Verdict.WRONG
    assert _recheck.quiz_verdict("m00.q3", "c", keys).verdict is Verdict.MISSING


def test_graded_quiz_answers_never_reach_the_clean_process() -> None:
    _, nonce = _records.record_cell([("answer", "q2")])
    cell = {"outputs": [{"output_type": "stream", "name": "stdout",
                         "text": f"{nonce}{json.dumps([{'value': 'b'}])}\n"}]}  # fmt: skip
    item = Item("m00_q2_embedded", 1.0, auto=True, calls=(Call("quiz", "m00.q2", {"answer": "q2"}),),
                record_at=0, nonce=nonce)  # fmt: skip
    passed = {"m00_q2_embedded": True}
    jobs, known = _recheck.jobs_for([item], [cell], passed, {}, [])
    assert [j["kind"] for j in jobs] == ["quiz"] and not known  # digest mode: the clean check
    answers: dict = {}
    jobs, known = _recheck.jobs_for([item], [cell], passed, {}, [], {"m00.q2": "a"}, answers)
    assert jobs == [] and known["m00_q2_embedded"].verdict is Verdict.WRONG
    assert answers == {"m00.q2": "b"}
    out = _recheck.verdicts(jobs, [], known)
    assert out["m00_q2_embedded"].verdict is Verdict.WRONG


# The learner's side


def test_in_graded_mode_the_check_records_and_raises_nothing(
    course_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from course import quiz
    from course._errors import CheckError, NotAttempted

    monkeypatch.setenv(quiz.MODE_ENV, "graded")
    quiz.check("m00.q2", "a")
    right = capsys.readouterr().out
    quiz.check("m00.q2", "d")
    wrong = capsys.readouterr().out
    assert right == wrong and "recorded" in right and "correct" not in right
    with pytest.raises(NotAttempted):  # the form of an answer says nothing about the key
        quiz.check("m00.q2", None)
    with pytest.raises(CheckError, match="one of"):
        quiz.check("m00.q2", "z")
    monkeypatch.delenv(quiz.MODE_ENV)
    with pytest.raises(CheckError, match="not quite"):  # self-study stays as it was
        quiz.check("m00.q2", "d")


# No key leaves the instructor


def _package_text() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in (REPO / "course").rglob("*.py"))


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_no_quiz_key_reaches_the_package_or_the_released_notebook(path: Path) -> None:
    released = _nb(REPO / "modules" / path.parent.name / path.name)
    keys = _quizkeys.extract(_nb(path))
    assert keys, "every module has quiz questions"
    package = _package_text()
    for qid, key in keys.items():
        var = qid.split(".")[1]
        # The released answer cell only ever assigns the stub.
        cell = next(
            c for c in released["cells"]
            if str(c["metadata"].get("nbgrader", {}).get("grade_id", "")).startswith(qid.replace(".", "_") + "_")
            and c["metadata"]["nbgrader"].get("solution")
        )  # fmt: skip
        src = "".join(cell["source"])
        for node in ast.walk(ast.parse(src)):
            if isinstance(node, ast.Assign) and any(
                getattr(t, "id", "") == var for t in node.targets
            ):
                assert ast.unparse(node.value) == "None", f"{qid}: released {ast.unparse(node)}"  # fmt: skip
        # The key's statement, in either quote style, is in neither place.
        for stmt in {f"{var} = {key.expr}", f"{var} = {key.expr}".replace("'", '"')}:
            assert stmt not in package, f"package contains {stmt!r}"
            assert stmt not in json.dumps(released) and stmt not in src, f"{qid} released"
        if isinstance(key.value, list):
            joined = ", ".join(json.dumps(v) for v in key.value)
            assert joined not in package and joined.replace('"', "'") not in package, qid


# End to end: an m00 batch graded with the instructor's keys


@pytest.mark.notebook
@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap missing (make system-deps)")
def test_graded_mode_scores_quizzes_from_the_instructors_keys(tmp_path: Path) -> None:
    subs, out = tmp_path / "subs", tmp_path / "out"
    subs.mkdir()
    right = _nb()
    wrong = _nb()
    forged = _nb()
    answers = {"m00_q2_embedded_answer": "q2 = 'd'", "m00_q3_not_attempted_answer": "q3 = 'a'"}
    for cell in wrong["cells"] + forged["cells"]:
        gid = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if gid in answers:
            cell["source"] = answers[gid]
    # A kernel that claims every quiz answer is right changes nothing.
    forged["cells"].insert(1, {"cell_type": "code", "metadata": {}, "outputs": [],
                               "execution_count": None, "source":
                               "import course.quiz\ncourse.quiz.check = lambda q, a: print(f'✓ {q} correct')\n"})  # fmt: skip
    for name, nb in (("right", right), ("wrong", wrong), ("forged", forged)):
        (subs / f"{name}.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    env = dict(os.environ)
    env.pop("MLFLOW_TRACKING_URI", None)
    env.pop("COURSE_QUIZ_MODE", None)
    proc = subprocess.run(
        [sys.executable, "-m", "course", "grade", "m00", str(subs), "--out", str(out),
         "--no-progress", "--cell-timeout", "90", "--memory", "3G", "--quiz-keys", "source"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with (out / "grades.csv").open(encoding="utf-8") as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f)}
    assert float(rows["right"]["score"]) == 8.0, rows["right"]
    for name in ("wrong", "forged"):
        row = rows[name]
        assert row["status"] == "graded" and float(row["score"]) == 6.0, row
        assert float(row["m00_q2_embedded"]) == 0 and float(row["m00_q3_not_attempted"]) == 0
        assert float(row["m00_q1_lifecycle"]) == 1 and float(row["m00_q4_holiday_weeks"]) == 1
        assert "m00_q2" not in row["review"], row  # a wrong answer, not a suspicious one
    feedback = (out / "feedback" / "wrong.html").read_text(encoding="utf-8")
    assert "answer recorded" in feedback and "not quite" not in feedback
