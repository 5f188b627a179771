"""Stage 4 during execution: the clean check of each item, right after its recording cell.

The hook execute() calls after every cell. While the kernel still holds an item's values, the
clean process (_session.py) checks them; the jobs and results are collected for the verdicts.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any

from . import _recheck, _score, _session
from ._cells import grade_id, source
from ._instrument import Instrumented
from ._types import Clean, Item, Job, Outcome, Verdict


@dataclass
class Checker:
    """The `after` hook of execute(): right after an item's recording cell, while the kernel
    still holds its values, the clean process checks them. Collects the jobs and results."""

    job: Job
    ins: Instrumented
    session: _session.Session
    jobs: list[dict] = field(default_factory=list)
    results: list[dict] = field(default_factory=list)
    known: dict[str, Clean] = field(default_factory=dict)
    answers: dict[str, Any] = field(default_factory=dict)
    done: set[str] = field(default_factory=set)
    seconds: dict[str, float] = field(default_factory=dict)  # grade id -> its clean check

    def __post_init__(self) -> None:
        self.instructor = {grade_id(c): source(c) for c in self.job.source["cells"]}
        self.preamble = _recheck.preamble(self.job.source)
        self.records = self.ins.records

    def after(self, i: int, nb: Any, replies: dict[int, str], serve: Any) -> str:
        if self.session.proc is None:  # once the kernel runs: its imports overlap the notebook
            self.session.begin(serve.netns())
        if i not in self.records:
            return ""
        at, item = self.records[i]
        cells = {at: _coalesced(nb.cells[at]), i: _coalesced(nb.cells[i])}
        passed = _score.outcome(cells[at], self.ins.token, replies.get(at, ""), item.hidden).passed
        jobs, known = self._plan([item], cells, {item.grade_id: passed}, self.preamble)
        stopped = ""

        def serve_once(path: str) -> None:
            nonlocal stopped
            stopped = serve(path)

        limit = max(60.0, self.job.limits.cell_timeout)
        t = time.monotonic()
        self.results += self.session.verify(jobs, serve_once, limit)
        if jobs:
            self.seconds[item.grade_id] = time.monotonic() - t
        self.jobs += jobs
        self.known.update(known)
        self.done.add(item.grade_id)
        return stopped

    def _plan(self, items: list[Item], cells: Any, passed: dict[str, bool],
              pre: list[str]) -> tuple[list[dict], dict[str, Clean]]:  # fmt: skip
        return _recheck.jobs_for(items, cells, passed, self.instructor, pre, self.job.quiz_keys,
                                 self.answers)  # fmt: skip

    def verdicts(self, items: tuple[Item, ...], cells: Any,
                 outcomes: dict[str, Outcome]) -> dict[str, Clean]:  # fmt: skip
        """Every item's clean verdict; a pass the inline check never saw is not taken on trust."""
        rest = [it for it in items if it.grade_id not in self.done]
        passed = {g: o.passed for g, o in outcomes.items()}
        unchecked, known = self._plan(rest, cells, passed, [])
        known = {**self.known, **known}
        for j in unchecked:
            known[j["item"]] = Clean(Verdict.MISSING, "not re-checked outside the kernel")
        return _recheck.verdicts(self.jobs, self.results, known)


def _coalesced(cell: Any) -> Any:
    from ._client import coalesce

    cell = copy.deepcopy(cell)
    coalesce(cell)
    return cell
