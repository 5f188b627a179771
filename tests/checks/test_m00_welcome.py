"""m00 checks, called as the welcome notebook calls them.

Checks that read MLflow get a real embedded store (`embedded`); checks that only read ShopFlow
data or a quiz answer get a fresh state dir (`course_home`), since every embedded store costs
about a second of sqlite migrations.
"""

from __future__ import annotations

import mlflow
import pytest
from _assert import assert_one_tick, assert_wrong, scratch_experiment

import course
from course import data

STAGES = ("data", "train", "evaluate", "register", "deploy", "monitor")


def solution_base_rates() -> dict[str, float]:
    """The notebook's solution to m00.ex1."""
    frame = data.activity()
    holiday = frame["week"].isin(data.HOLIDAY_WEEKS)
    return {
        "calm": frame.loc[~holiday, data.TARGET].mean(),
        "holiday": frame.loc[holiday, data.TARGET].mean(),
    }


def all_weeks_rate() -> float:
    return float(data.activity()[data.TARGET].mean())


def log_hello_run(
    run_name: str = "hello-stack",
    learner: str = "ada",
    metric: str = "calm_base_rate",
    rate: str = "calm",
    experiment_id: str | None = None,
) -> str:
    """The notebook's solution to m00.ex2; the keywords reproduce a learner's slips."""
    with mlflow.start_run(run_name=run_name, experiment_id=experiment_id) as run:
        mlflow.log_param("learner", learner)
        mlflow.log_metric(metric, solution_base_rates()[rate])
    return run.info.run_id


# --- m00.ex1 base rates ------------------------------------------------------------------


def test_ex1_solution_passes_with_one_line(course_home, capsys):
    base_rates = solution_base_rates()
    capsys.readouterr()
    course.check("m00.ex1", base_rates=base_rates)
    assert_one_tick(capsys, "m00.ex1 correct: calm ")


@pytest.mark.parametrize(
    ("wrong", "match"),
    [
        pytest.param(
            lambda r: {k: 100 * v for k, v in r.items()}, "not a percentage", id="percentages"
        ),
        pytest.param(
            lambda r: {"calm": r["holiday"], "holiday": r["calm"]}, "are swapped", id="swapped"
        ),
        pytest.param(
            lambda r: {"calm": all_weeks_rate(), "holiday": r["holiday"]},
            r"base_rates\['calm'\] is the rate over all weeks",
            id="all-weeks",
        ),
        pytest.param(
            lambda r: {"calm": r["calm"], "holiday": r["holiday"] + 0.01},
            r"base_rates\['holiday'\] = .* does not match the data",
            id="off-by-a-point",
        ),
        pytest.param(
            lambda r: {"calm": r["calm"]}, "needs exactly the keys 'calm' and 'holiday'", id="key"
        ),
        pytest.param(
            lambda r: [r["calm"], r["holiday"]], "should be a dict .*, not a list", id="list"
        ),
        pytest.param(
            lambda r: {"calm": str(r["calm"]), "holiday": r["holiday"]},
            r"base_rates\['calm'\]` should be a number, not a str",
            id="string-rate",
        ),
    ],
)
def test_ex1_wrong_answers_fail(course_home, wrong, match):
    assert_wrong("m00.ex1", match, base_rates=wrong(solution_base_rates()))


def test_ex1_stub_is_not_attempted(course_home):
    with pytest.raises(course.NotAttempted, match="`base_rates` is still None"):
        course.check("m00.ex1", base_rates=None)


# --- m00.ex2 hello run -------------------------------------------------------------------


def test_ex2_solution_passes_with_one_line(embedded, capsys):
    embedded("m00")
    hello_run_id = log_hello_run()
    capsys.readouterr()
    course.check("m00.ex2", hello_run_id=hello_run_id)
    assert_one_tick(capsys, f"m00.ex2 correct: run {hello_run_id[:8]}")


def test_ex2_wrong_runs_fail(embedded):
    embedded("m00")
    slips = [
        ({"run_name": "hello"}, "named 'hello'; name it 'hello-stack'"),
        ({"learner": "  "}, "the param 'learner' is empty"),
        ({"metric": "calm_rate"}, r"no metric 'calm_base_rate' \(it has: calm_rate\)"),
        ({"rate": "holiday"}, "is not the calm-week base rate from exercise 1"),
        (
            {"experiment_id": scratch_experiment()},
            "in experiment 'scratch', not in this module's 'shopflow-m00'",
        ),
    ]
    for slip, match in slips:
        assert_wrong("m00.ex2", match, hello_run_id=log_hello_run(**slip))


def test_ex2_unfinished_run_or_bad_id_fails(embedded):
    """Without `with` the run is still RUNNING; a Run object or a foreign id is no answer."""
    embedded("m00")
    run = mlflow.start_run(run_name="hello-stack")
    try:
        mlflow.log_param("learner", "ada")
        mlflow.log_metric("calm_base_rate", solution_base_rates()["calm"])
        assert_wrong("m00.ex2", "status is RUNNING", hello_run_id=run.info.run_id)
    finally:
        mlflow.end_run()
    finished = mlflow.get_run(run.info.run_id)
    assert_wrong("m00.ex2", r"use run\.info\.run_id, not the Run object", hello_run_id=finished)
    assert_wrong("m00.ex2", "no run '0+' in this notebook's tracking store", hello_run_id="0" * 32)


def test_ex2_stub_is_not_attempted(course_home):
    with pytest.raises(course.NotAttempted, match="`hello_run_id` is still None"):
        course.check("m00.ex2", hello_run_id=None)


# --- quiz --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("m00.q1", list(STAGES)),
        ("m00.q2", "a"),
        ("m00.q3", "c"),
        ("m00.q4", "b"),
        pytest.param("m00.q4", " B ", id="m00.q4-normalised"),
    ],
)
def test_quiz_right_answer_passes(course_home, capsys, question, answer):
    course.quiz.check(question, answer)
    assert capsys.readouterr().out == f"✓ {question} correct\n"


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("m00.q1", ["data", "train", "register", "evaluate", "deploy", "monitor"]),
        ("m00.q2", "b"),
        ("m00.q3", "a"),
        ("m00.q3", "d"),
        ("m00.q4", "a"),
    ],
)
def test_quiz_wrong_answer_fails(course_home, question, answer):
    with pytest.raises(course.CheckError, match="not quite") as excinfo:
        course.quiz.check(question, answer)
    assert not isinstance(excinfo.value, course.NotAttempted)


@pytest.mark.parametrize(
    ("question", "answer", "match"),
    [
        ("m00.q1", "data, train, evaluate", "answer with a list"),
        ("m00.q1", [*STAGES[:-1], "ship"], "'ship' is not one of the options"),
        ("m00.q2", "e", "answer with one of 'a', 'b', 'c', 'd', not 'e'"),
        ("m00.q3", 3, "answer with one of 'a', 'b', 'c', 'd', not 3"),
        ("m00.q4", "monitor", "answer with one of 'a', 'b', 'c', 'd', not 'monitor'"),
    ],
)
def test_quiz_wrong_type_names_expected_type(course_home, question, answer, match):
    with pytest.raises(course.CheckError, match=match) as excinfo:
        course.quiz.check(question, answer)
    assert not isinstance(excinfo.value, course.NotAttempted)


@pytest.mark.parametrize("question", ["m00.q1", "m00.q2", "m00.q3", "m00.q4"])
def test_quiz_none_is_not_attempted(course_home, question):
    with pytest.raises(course.NotAttempted, match="no answer yet"):
        course.quiz.check(question, None)
