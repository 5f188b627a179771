"""The grading pipeline's pure stages, one by one: no sandbox, no kernel, no process.

The notebooks are built by hand: an instructor's source with a locked cell, an answer cell and
a test cell with hidden tests, its release (the answer stubbed), and submissions that change it.
"""

from __future__ import annotations

import json

import nbformat
import pytest

from course.grading import _feedback, _recheck, _records, _score
from course.grading._clock import Clock
from course.grading._instrument import (
    instrument,
    is_grader_cell,
    new_token,
    serve_index,
    unmark_output,
    unmark_source,
)
from course.grading._rebuild import MAX_EXTRA_CELLS, check_calls, rebuild
from course.grading._types import Call, Clean, Item, ItemScore, Outcome, Scored, Verdict

HIDDEN = "### BEGIN HIDDEN TESTS\nassert answer == 42, 'hidden says no'\n### END HIDDEN TESTS"


def _cell(kind: str, src: str, gid: str | None = None, **meta: object) -> dict:
    cell: dict = {"cell_type": kind, "metadata": {}, "source": src}
    if gid:
        cell["metadata"]["nbgrader"] = {"grade_id": gid, "schema_version": 3, **meta}
    if kind == "code":
        cell.update(outputs=[], execution_count=None)
    return cell


def _source(answer: str = "answer = 42") -> dict:
    return {"cells": [
        _cell("code", "import course", "setup", locked=True, grade=False, solution=False),
        _cell("code", answer, "ex1_answer", solution=True, grade=False, locked=False),
        _cell("code", f'course.check("m00.ex1", answer=answer)\n{HIDDEN}', "ex1_test",
              grade=True, points=2, solution=False, locked=True),
        _cell("markdown", "Why?", "q1_answer", solution=True, grade=True, points=1, locked=False),
        _cell("code", "print('a demonstration')"),
    ], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}  # fmt: skip


SOURCE = _source()
RELEASE = _source("answer = None")


def _student(**changes: str) -> dict:
    nb = json.loads(json.dumps(RELEASE))
    for cell in nb["cells"]:
        gid = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if gid in changes:
            cell["source"] = changes[gid]
    return nb


def _sources(nb: dict) -> list[str]:
    return [c["source"] for c in nb["cells"]]


# 1. Rebuild


def test_rebuild_takes_the_answers_from_the_student_and_everything_else_from_the_instructor():
    built = rebuild(SOURCE, RELEASE, _student(ex1_answer="answer = 41", setup="import os"))
    assert _sources(built.nb)[:3] == ["import course", "answer = 41", SOURCE["cells"][2]["source"]]
    assert built.notes == ("locked cell setup was edited (restored)",)
    test, manual = built.items
    assert (test.grade_id, test.points, test.auto, test.hidden) == ("ex1_test", 2.0, True, True)
    assert test.calls == (Call("check", "m00.ex1", {"answer": "answer"}),)
    assert (manual.grade_id, manual.auto) == ("q1_answer", False)


def test_rebuild_restores_missing_cells_and_notes_what_the_submission_changed():
    nb = _student()
    nb["cells"] = [c for c in nb["cells"] if "ex1_test" not in json.dumps(c)]
    nb["cells"].append(_cell("code", "answer = 42", "ex1_answer"))  # a duplicate
    nb["cells"].append(_cell("code", "x = 1", "made_up"))
    nb["cells"][2]["metadata"]["nbgrader"]["points"] = 99
    nb["metadata"] = {"kernelspec": {"name": "evil"}}
    built = rebuild(SOURCE, RELEASE, nb)
    notes = " | ".join(built.notes)
    for part in ("kernel 'evil' ignored", "duplicate ex1_answer ignored",
                 "unknown grade id 'made_up' ignored", "1 cell(s) missing, restored: ex1_test"):  # fmt: skip
        assert part in notes
    assert SOURCE["cells"][2]["source"] in _sources(built.nb)
    assert [it.points for it in built.items] == [2.0, 1.0]  # the instructor's points


def test_rebuild_keeps_the_students_own_cells_after_the_cell_they_follow_but_not_copies():
    nb = _student()
    nb["cells"].insert(2, _cell("code", "print('mine')"))
    nb["cells"].insert(3, _cell("code", "print('a demonstration')"))  # the instructor's, again
    built = rebuild(SOURCE, RELEASE, nb)
    assert _sources(built.nb)[:3] == ["import course", "answer = None", "print('mine')"]
    assert _sources(built.nb).count("print('a demonstration')") == 1


def test_rebuild_caps_added_cells():
    nb = _student()
    nb["cells"] += [_cell("code", f"x = {i}") for i in range(MAX_EXTRA_CELLS + 5)]
    built = rebuild(SOURCE, RELEASE, nb)
    assert "5 added cell(s) beyond 400 dropped" in built.notes
    assert len(built.nb["cells"]) == len(SOURCE["cells"]) + MAX_EXTRA_CELLS


@pytest.mark.parametrize("student", [[], {"cells": "no"}, "text", None])
def test_rebuild_refuses_what_is_not_a_notebook(student):
    with pytest.raises(ValueError, match="no list of cells"):
        rebuild(SOURCE, RELEASE, student)


def test_rebuild_drops_cells_that_are_not_objects_and_odd_grade_ids():
    nb = _student()
    nb["cells"] += [17, _cell("code", "y = 2", None)]
    nb["cells"][-1]["metadata"]["nbgrader"] = {"grade_id": ["a", "list"], "schema_version": 3}
    built = rebuild(SOURCE, RELEASE, nb)
    assert "a cell that is not an object was dropped" in built.notes
    assert "y = 2" in _sources(built.nb)


def test_check_calls_reads_the_visible_part_only():
    src = 'course.check("m01.ex2", fn=fingerprint, frame=train.head())\ncourse.quiz.check("m01.q1", q1)\n'
    assert check_calls(src + HIDDEN.replace("assert", 'course.check("m09.ex1", x=1)\nassert')) == (
        Call("check", "m01.ex2", {"fn": "fingerprint", "frame": "train.head()"}),
        Call("quiz", "m01.q1", {"answer": "q1"}),
    )
    assert check_calls("def broken(:") == ()


# 2. Instrument


def _instrumented():
    built = rebuild(SOURCE, RELEASE, _student(ex1_answer="answer = 42"))
    return built, instrument(built.nb, built.items, "GRADERt0k")


def test_instrument_puts_a_reset_before_and_a_record_after_each_test_cell():
    built, ins = _instrumented()
    [(at, item)] = ins.by_cell.items()
    cells = ins.nb["cells"]
    assert is_grader_cell(cells[at - 1]) and "_course_grader_reset" in cells[at - 1]["source"]
    assert item.record_at == at + 1 and item.nonce and item.nonce in cells[at + 1]["source"]
    assert ins.records == {at + 1: (at, item)}
    src = cells[at]["source"]
    assert src.index('print("GRADERt0k:hidden"') < src.index("### BEGIN HIDDEN TESTS")
    assert src.endswith('print("GRADERt0k:done", flush=True)')
    assert unmark_source(src, "GRADERt0k") == SOURCE["cells"][2]["source"]
    assert serve_index(cells) == len(cells) - 1 and cells[-1]["metadata"]["course_serve"]
    assert [c["id"] for c in cells] == [f"cell-{i}" for i in range(len(cells))]
    assert built.nb["cells"][2]["source"] == SOURCE["cells"][2]["source"]  # the input is kept


def test_tokens_are_fresh_and_markers_come_out_of_printed_text():
    assert new_token() != new_token()
    assert unmark_output("a\nGRADERx:done\nb\n", "GRADERx") == "a\nb\n"


# 5. Score


def _stream(text: str) -> dict:
    return {"output_type": "stream", "name": "stdout", "text": text}


@pytest.mark.parametrize(
    ("outputs", "reply", "hidden", "expected"),
    [
        ([_stream("ok\nT:hidden\nT:done\n")], "ok", True, Outcome(True)),
        ([_stream("T:done\n")], "ok", True, Outcome(False, "the cell did not run to its end (an exception was hidden?)")),
        ([_stream("T:hidden\n")], "ok", True, Outcome(False, "the cell did not run to its end (an exception was hidden?)")),
        ([], "", False, Outcome(False, "not run")),
        ([_stream("T:done\n")], "error", False, Outcome(False, "the cell failed")),
        ([{"output_type": "error", "ename": "CheckError", "evalue": "m00.ex1: no\nreally no"}],
         "error", False, Outcome(False, "CheckError: really no")),
    ],
)  # fmt: skip
def test_a_test_cell_passes_only_with_its_markers_and_no_error(outputs, reply, hidden, expected):
    assert _score.outcome({"outputs": outputs}, "T", reply, hidden) == expected


ITEMS = (Item("ex1", 2.0, True), Item("ex2", 3.0, True), Item("essay", 1.0, False))


@pytest.mark.parametrize(
    ("clean", "trust", "scores", "in_review"),
    [
        (Clean(Verdict.PASS), False, [2.0, 3.0], ""),
        (Clean(Verdict.FAIL, "check: no"), False, [0.0, 3.0], "failed the clean check (check: no)"),
        (Clean(Verdict.MISSING, "no record"), False, [0.0, 3.0], "failed the clean check (no record)"),
        (Clean(Verdict.UNVERIFIABLE, "fn is a X", real=True), False, [0.0, 3.0], "not verifiable"),
        (Clean(Verdict.UNVERIFIABLE, "fn is a X", real=True), True, [2.0, 3.0], ""),
        (Clean(Verdict.UNVERIFIABLE, "fn is a X", real=False), True, [0.0, 3.0], "not verifiable"),
        (Clean(Verdict.WRONG, "Incorrect (key)"), False, [0.0, 3.0], ""),
    ],
)  # fmt: skip
def test_the_kernels_pass_counts_only_when_the_clean_check_agrees(clean, trust, scores, in_review):
    outcomes = {"ex1": Outcome(True), "ex2": Outcome(True)}
    scored = _score.score(ITEMS, outcomes, {"ex1": clean}, trust)
    assert [scored.items[g].score for g in ("ex1", "ex2")] == scores
    assert scored.items["essay"] == ItemScore(0.0, 1.0)
    assert "essay needs manual grading" in scored.notes
    assert (in_review in " ".join(scored.review)) and (bool(scored.review) == bool(in_review))
    assert scored.max_score == 6.0 and scored.score == sum(scores)
    if clean.verdict is Verdict.WRONG:
        assert scored.items["ex1"].why == "Incorrect (key)"


def test_a_failed_cell_stays_failed_whatever_the_clean_check_says():
    scored = _score.score(ITEMS[:1], {"ex1": Outcome(False, "CheckError: no")}, {})
    assert scored.items["ex1"] == ItemScore(0.0, 2.0, "CheckError: no", "")
    assert not scored.review


# 4. Verification planning


def _recorded(item: Item, values: list[dict]) -> list[dict]:
    return [{"outputs": [_stream(f"{item.nonce}{json.dumps(values)}\n")]}]


def test_planning_sends_recorded_values_and_hidden_tests_to_the_clean_process():
    _, nonce = _records.record_cell([("answer", "answer")])
    item = Item("ex1", 2.0, True, (Call("check", "m00.ex1", {"answer": "answer"}),), True, 0, nonce)
    instructor = {"ex1": SOURCE["cells"][2]["source"]}
    jobs, known = _recheck.jobs_for([item], _recorded(item, [{"value": 42}]), {"ex1": True},
                                    instructor, ["import course"])  # fmt: skip
    assert not known
    assert jobs[0] == {"item": "ex1", "kind": "check", "id": "m00.ex1", "args": {"answer": 42},
                       "remote": False, "real": True}  # fmt: skip
    assert jobs[1]["kind"] == "hidden" and jobs[1]["names"] == {"answer": 42}
    assert "hidden says no" in jobs[1]["code"] and jobs[1]["preamble"] == ["import course"]
    # The clean process's results decide.
    ok, bad = {"ok": True}, {"ok": False, "reason": "hidden says no"}
    assert _recheck.verdicts(jobs, [ok, ok], known)["ex1"].verdict is Verdict.PASS
    failed = _recheck.verdicts(jobs, [ok, bad], known)["ex1"]
    assert failed == Clean(Verdict.FAIL, "hidden tests: hidden says no")
    assert _recheck.verdicts(jobs, [ok], known)["ex1"].reason == "the clean check did not finish"


def test_planning_knows_without_the_clean_process_what_cannot_be_checked():
    _, nonce = _records.record_cell([("answer", "answer")])
    item = Item(
        "ex1", 2.0, True, (Call("check", "m00.ex1", {"answer": "answer"}),), False, 0, nonce
    )
    jobs, known = _recheck.jobs_for([item], [{"outputs": []}], {"ex1": True}, {}, [])
    assert not jobs and known["ex1"] == Clean(Verdict.MISSING, "no record of the values checked")
    cells = _recorded(item, [{"type": "socket.socket", "real": False}])
    jobs, known = _recheck.jobs_for([item], cells, {"ex1": True}, {}, [])
    assert known["ex1"] == Clean(Verdict.UNVERIFIABLE, "answer is a socket.socket", False)
    jobs, known = _recheck.jobs_for([item], cells, {"ex1": False}, {}, [])
    assert not jobs and not known  # the kernel already said no: nothing to verify
    bare = Item("ex9", 1.0, True)
    _, known = _recheck.jobs_for([bare], [], {"ex9": True}, {}, [])
    assert known["ex9"].verdict is Verdict.UNVERIFIABLE


# 6. Feedback


def _executed(token: str) -> tuple:
    built, ins = _instrumented()
    nb = nbformat.from_dict(json.loads(json.dumps(ins.nb)))
    at = next(iter(ins.by_cell))
    nb.cells[at].outputs = [
        nbformat.v4.new_output("stream", name="stdout", text=f"checked\n{token}:hidden\nsecret 42\n"),
        nbformat.v4.new_output("error", ename="AssertionError", evalue="hidden says no", traceback=["..."]),
    ]  # fmt: skip
    nb.cells[0].outputs = [
        nbformat.v4.new_output("stream", name="stdout", text=f"x\n{token}:done\n")
    ]
    return built, ins, nb


def test_feedback_hides_the_hidden_tests_and_what_ran_after_them():
    built, ins, nb = _executed("GRADERt0k")
    scored = Scored({"ex1_test": ItemScore(0.0, 2.0)}, (), ())
    fb = _feedback.feedback_notebook(nb, "GRADERt0k", ins.by_cell, scored, "ana", "m00", "", SOURCE)
    text = json.dumps(fb)
    assert "Score: 0 / 2" in fb.cells[0].source
    assert "GRADERt0k" not in text and "BEGIN HIDDEN" not in text and "secret 42" not in text
    assert "hidden says no" in text and "HiddenTestFailed" in text  # the assertion's message only
    assert not any(is_grader_cell(c) for c in fb.cells)
    assert (
        "<html" in _feedback.html(fb)[:200].lower()
        or "<!doctype" in _feedback.html(fb)[:200].lower()
    )


def test_formgrader_keeps_the_hidden_tests_but_not_the_graders_cells():
    built, ins, nb = _executed("GRADERt0k")
    text = _feedback.formgrader_notebook(nb, "GRADERt0k")
    assert "BEGIN HIDDEN" in text and "GRADERt0k" not in text
    assert len(nbformat.reads(text, as_version=4).cells) == len(built.nb["cells"])


def test_errors_read_like_the_notebooks_own_checks():
    cell = {"source": "", "outputs": [
        {"output_type": "error", "ename": "NotAttempted", "evalue": "m00.ex1: still None", "traceback": []},
        {"output_type": "error", "ename": "CheckError", "evalue": "m00.ex1: wrong\nreally", "traceback": []},
        {"output_type": "error", "ename": "KeyError", "evalue": "'x'", "traceback": []},
    ]}  # fmt: skip
    _feedback.public_cell(cell, "T", hidden=False)
    assert [o["traceback"] for o in cell["outputs"]] == [
        ["Not attempted: m00.ex1: still None"], ["Incorrect: really"], ["KeyError: 'x'"]]  # fmt: skip


def test_the_clock_splits_a_stage_into_its_parts():
    clock = Clock()
    clock.start("a")
    clock.start("execution")
    clock.split("execution", {"cells": 0.0, "kernel start": 0.0})
    assert set(clock.seconds) == {"a", "execution, other"}
    assert all(v >= 0 for v in clock.seconds.values())
