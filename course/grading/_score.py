"""Stage 5, score: what each test cell's run says, and the points once the clean check has
spoken. Pure: cells in, records out.

A test cell passes when its execute reply says ok, it shows no error, and its markers arrived
(stderr costs nothing). An item the kernel passed keeps its points only if the clean process
agrees; kernel-pass with clean-fail, or a value that could not be verified, scores 0 and is
listed for review (unless the instructor trusts the kernel for a real library object).
"""

from __future__ import annotations

from typing import Any

from ._execute import one_line
from ._instrument import marked
from ._types import Clean, Item, ItemScore, Outcome, Scored, Verdict


def outcome(cell: Any, token: str, reply: str, hidden: bool) -> Outcome:
    """A test cell's own verdict from its outputs (coalesced) and its execute reply status."""
    outputs = cell.get("outputs", [])
    errors = [o for o in outputs if o.get("output_type") == "error"]
    if errors:
        e = errors[0]
        return Outcome(False, f"{e.get('ename', 'Error')}: {one_line(e.get('evalue', ''))}")
    if reply and reply != "ok":
        return Outcome(False, "the cell failed")
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    if not marked(text, token, "done") or (hidden and not marked(text, token, "hidden")):
        if reply == "":
            return Outcome(False, "not run")
        return Outcome(False, "the cell did not run to its end (an exception was hidden?)")
    return Outcome(True)


def score(items: tuple[Item, ...], outcomes: dict[str, Outcome], clean: dict[str, Clean],
          trust: bool = False) -> Scored:  # fmt: skip
    """Points per item; `trust`: keep the kernel's pass for a real library object that cannot
    cross to the clean process (`--trust-kernel`)."""
    scores: dict[str, ItemScore] = {}
    review: list[str] = []
    notes: list[str] = []
    for item in items:
        gid = item.grade_id
        run = outcomes.get(gid, Outcome(False))
        ok, why = run.passed, run.why
        c = clean.get(gid)
        if c is not None:
            notes += [f"{gid}: {n}" for n in c.notes]
        verdict = c.verdict if c is not None else None
        if verdict is Verdict.WRONG:
            ok, why = False, why or c.reason
        elif ok and verdict in (Verdict.FAIL, Verdict.MISSING):
            review.append(f"{gid}: passed in the kernel, failed the clean check ({c.reason})")
            ok = False
        elif ok and verdict is Verdict.UNVERIFIABLE:
            if trust and c.real:
                notes.append(f"{gid}: kernel verdict trusted, not verified ({c.reason})")
            else:
                review.append(f"{gid}: passed in the kernel, not verifiable outside it "
                              f"({c.reason}): scored 0")  # fmt: skip
                ok = False
        if not item.auto:
            notes.append(f"{gid} needs manual grading")
        scores[gid] = ItemScore(item.points if ok else 0.0, item.points, why,
                                verdict.value if verdict else "")  # fmt: skip
    return Scored(scores, tuple(review), tuple(notes))
