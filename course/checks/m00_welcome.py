"""Checks for m00 Welcome and the local stack."""

from __future__ import annotations

import numbers
from typing import Any

from .. import data
from . import _mlflow
from ._expect import close, expect, of_type
from ._registry import Question, exercise, question


def _rates() -> dict[str, float]:
    """Ground truth: conversion rate by period, from the generated data."""
    frame = data.activity()
    by_period = frame.groupby(frame["week"].isin(data.HOLIDAY_WEEKS))[data.TARGET].mean()
    return {
        "calm": float(by_period[False]),
        "holiday": float(by_period[True]),
        "all": float(frame[data.TARGET].mean()),
    }


@exercise(
    "m00.ex1",
    "Conversion base rates, calm vs holiday weeks",
    hints=(
        "Split the rows with `frame['week'].isin(data.HOLIDAY_WEEKS)`; the rest are the calm weeks.",
        "The base rate is the share of snapshots with a conversion: the mean of the 0/1 column "
        "`data.TARGET` over those rows.",
        "`holiday = frame['week'].isin(data.HOLIDAY_WEEKS)`, then "
        "`frame.loc[~holiday, data.TARGET].mean()` for calm and `frame.loc[holiday, ...]` for holiday.",
    ),
)
def base_rates(base_rates: Any) -> str:
    of_type(base_rates, dict, "base_rates", 'a dict like {"calm": 0.1, "holiday": 0.2}')
    expect(
        set(base_rates) == {"calm", "holiday"},
        f"`base_rates` needs exactly the keys 'calm' and 'holiday', it has {sorted(map(str, base_rates))}",
    )
    for key, value in base_rates.items():
        of_type(value, numbers.Real, f"base_rates[{key!r}]", "a number")
        expect(
            value <= 1,
            f"base_rates[{key!r}] = {value}: give a share between 0 and 1, not a percentage",
        )
        expect(value >= 0, f"base_rates[{key!r}] = {value} is negative; a rate is a share of rows")
    truth = _rates()
    calm, holiday = float(base_rates["calm"]), float(base_rates["holiday"])
    swapped = close(calm, truth["holiday"], 1e-4) and close(holiday, truth["calm"], 1e-4)
    expect(not swapped, "the calm and holiday rates are swapped")
    for key, value in (("calm", calm), ("holiday", holiday)):
        expect(
            not close(value, truth["all"], 1e-4),
            f"base_rates[{key!r}] is the rate over all weeks; keep only the {key} weeks",
        )
        expect(
            close(value, truth[key], 1e-4),
            f"base_rates[{key!r}] = {value:.4f} does not match the data; "
            f"average data.TARGET over the {key} weeks' rows",
        )
    return f"calm {calm:.1%}, holiday {holiday:.1%}: the holiday weeks convert far more often"


@exercise(
    "m00.ex2",
    "Log a first MLflow run",
    hints=(
        "Open a run with `with mlflow.start_run(run_name='hello-stack') as run:`; "
        "the run ends when the block ends.",
        "Inside the block: `mlflow.log_param('learner', ...)` and "
        "`mlflow.log_metric('calm_base_rate', base_rates['calm'])`.",
        "After the block, the run object still holds its id: `run.info.run_id` is the string the "
        "check wants.",
    ),
)
def hello_run(hello_run_id: Any) -> str:
    run = _mlflow.get_run(hello_run_id, "hello_run_id")
    _mlflow.in_module_experiment(run, "m00")
    _mlflow.finished(run)
    expect(
        run.info.run_name == "hello-stack",
        f"the run is named {run.info.run_name!r}; name it 'hello-stack' (run_name=...)",
    )
    learner = _mlflow.params(run, "learner")["learner"]
    expect(learner.strip() != "", "the param 'learner' is empty; log your name or a nickname")
    value = _mlflow.metric(run, "calm_base_rate")
    expect(
        close(value, _rates()["calm"], 1e-4),
        f"calm_base_rate = {value:.4f} is not the calm-week base rate from exercise 1",
    )
    return f"run {hello_run_id[:8]} is in the tracking store with its param and metric"


_STAGES = ("data", "deploy", "evaluate", "monitor", "register", "train")  # sorted: no hint
question(
    Question(
        "m00.q1",
        "list",
        "9ccdfab466a9c52f3731",
        "Order the ML lifecycle stages",
        _STAGES,
        hint="a model is judged before it is registered, and watched after it serves",
    )
)
question(
    Question(
        "m00.q2",
        "choice",
        "7180c70593cbcf593ed2",
        "Why accuracy alone can mislead",
        ("a", "b", "c", "d"),
    )
)
question(
    Question(
        "m00.q3",
        "choice",
        "740322d15cf1f7fac7d1",
        "A calm-week model in the holiday",
        ("a", "b", "c", "d"),
    )
)
question(
    Question(
        "m00.q4",
        "choice",
        "382535a2d3e1fb5243ed",
        "Which lifecycle stage catches decay",
        ("a", "b", "c", "d"),
    )
)
