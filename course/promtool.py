"""Alert rules evaluated by Prometheus's own rule engine, through `promtool`.

`promtool check rules` validates a rules file; `promtool test rules` evaluates rules over
given series at given times, exactly as Prometheus would, in well under a second. So a weekly
monitoring history can be replayed through an alert rule without waiting for weeks. Every call
has a time limit; a failure is reported as the line of promtool's output that names it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from . import _paths
from ._errors import CheckError

__all__ = ["available", "check_rules", "test_rules", "firing"]

TIMEOUT = 30  # seconds per promtool call; a rules test of this course takes well under one
HOURS_PER_WEEK = 168


def available() -> bool:
    return shutil.which("promtool") is not None


def _run(*args: str, cwd: Path | None = None) -> tuple[bool, str]:
    # A rules test keeps its series in a throwaway TSDB under $TMPDIR, whose write-ahead log can
    # fill a small /tmp (the grading sandbox's): give it room in the state dir instead.
    scratch = _paths.home() / "tmp" / "promtool"
    scratch.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "TMPDIR": str(scratch)}
    try:
        proc = subprocess.run(
            ["promtool", *args], cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT, env=env
        )
    except subprocess.TimeoutExpired:
        raise CheckError(f"promtool {args[0]} {args[1]} took over {TIMEOUT} s") from None
    return proc.returncode == 0, (proc.stdout + proc.stderr).strip()


def _why(output: str) -> str:
    """The line of promtool's report that names the problem."""
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    for marker in ("FAILED", "error", "Error", "alertname", "exp:", "got:"):
        found = [ln for ln in lines if marker in ln and ln not in ("FAILED:", "Unit Testing:")]
        if found:
            return " ".join(found[:3])[:300]
    return (lines[-1] if lines else "no output")[:300]


def check_rules(path: Path) -> tuple[bool, str]:
    """(valid, the reason when not) for a rules file."""
    ok, out = _run("check", "rules", str(path))
    return ok, "" if ok else _why(out)


def test_rules(path: Path) -> tuple[bool, str]:
    """(passed, the first failure) for a unit-test file; rule_files resolve from its folder."""
    ok, out = _run("test", "rules", path.name, cwd=path.parent)
    return ok, "" if ok else _why(out)


def firing(
    rules: Path | str,
    alert: str,
    series: dict[str, Sequence[float]],
    step: str = "1w",
    at: Sequence[int] | None = None,
) -> list[int]:
    """The steps at whose end ``alert`` fires, for gauges that hold one value per step.

    ``series`` maps a series (``name`` or ``name{label="v"}``) to one value per step (``"1w"``:
    a weekly monitoring job; ``"1m"``: a scraped latency). Each value holds for its step,
    sampled every hour (or minute), as Prometheus sees a gauge that a job sets once per step.
    ``at`` limits the answer to those steps (each costs one promtool run, about 0.1 s).
    """
    sample, repeat = {"1w": ("1h", HOURS_PER_WEEK), "1h": ("1m", 60), "1m": ("1m", 1)}[step]
    steps = len(next(iter(series.values())))
    inputs = [
        {"series": name, "values": " ".join(f"{float(v):g}x{repeat - 1}" for v in values)}
        if repeat > 1
        else {"series": name, "values": " ".join(f"{float(v):g}" for v in values)}
        for name, values in series.items()
    ]
    count = f'count(ALERTS{{alertname="{alert}", alertstate="firing"}}) or vector(0)'
    unit = sample[-1]

    def fires(index: int, folder: Path) -> bool:
        test = {
            "rule_files": ["rules.yml"],
            "evaluation_interval": sample,
            "tests": [
                {
                    "interval": sample,
                    "input_series": inputs,
                    "promql_expr_test": [
                        {
                            "expr": count,
                            "eval_time": f"{(index + 1) * repeat - 1}{unit}",
                            "exp_samples": [{"labels": "{}", "value": 1}],
                        }
                    ],
                }
            ],
        }
        path = folder / f"replay-{index}.yml"
        path.write_text(yaml.safe_dump(test, sort_keys=False))
        return test_rules(path)[0]

    wanted = list(range(steps) if at is None else at)
    with tempfile.TemporaryDirectory(prefix="course-promtool-") as tmp:
        shutil.copyfile(rules, Path(tmp) / "rules.yml")
        # one promtool process per step, two at a time: each preallocates a 128 MB log in $TMPDIR
        with ThreadPoolExecutor(max_workers=2) as pool:
            answers = list(pool.map(lambda i: fires(i, Path(tmp)), wanted))
    fired = [index for index, yes in zip(wanted, answers, strict=True) if yes]
    return fired
