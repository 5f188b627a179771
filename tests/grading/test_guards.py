"""Fast guards of the grader: secure defaults, bounded reads, safe writes, scrubbed feedback,
records only from the grader's own cell. No kernel runs here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from course.grading import _files, _records, _scrub

REPO = Path(__file__).resolve().parents[2]
SOLUTION = REPO / "solutions" / "00_welcome" / "00_welcome.ipynb"


def _course(*args: str, env: dict | None = None) -> tuple[subprocess.CompletedProcess, float]:
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "course", "grade", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120, env=env)  # fmt: skip
    return proc, time.monotonic() - start


# 6. Secure by default.


def test_an_empty_folder_is_a_fast_one_line_error(tmp_path: Path) -> None:
    proc, seconds = _course("m00", str(tmp_path), "--out", str(tmp_path / "out"))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: ") and "no notebooks found" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert seconds < 30, "started a cluster for nothing"


def test_without_a_sandbox_grading_refuses_unless_told(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "alice.ipynb").write_text("{}")
    env = dict(os.environ, PATH="/nonexistent")  # no bwrap, no prlimit
    proc, seconds = _course("m00", str(subs), "--out", str(tmp_path / "out"), env=env)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "cannot sandbox" in proc.stderr and "--no-sandbox" in proc.stderr
    assert not (tmp_path / "out" / "grades.csv").exists()
    assert seconds < 30


def test_a_worker_without_a_sandbox_gives_an_error_row_not_an_unsandboxed_run(monkeypatch) -> None:
    from course.grading import worker

    monkeypatch.setattr(worker, "probe", lambda: "bwrap missing on this worker")
    nb = json.loads(SOLUTION.read_text(encoding="utf-8"))
    res = worker.grade_submission(worker.Job("a", "m00", json.dumps(nb), nb, nb, sandbox=True))
    assert res.status == "error" and "sandbox unavailable" in res.error
    assert res.sandboxed is False and res.exec_seconds == 0.0


# 2 and 3. Reads of what the sandbox could write; writes of student text.


def test_bounded_reads_refuse_fifos_links_and_stop_at_the_cap(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("solution")
    (tmp_path / "link").symlink_to(secret)
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "big").write_bytes(b"x" * 5000)
    result: dict = {}

    def read_fifo() -> None:
        try:
            _files.read_bounded(tmp_path / "fifo", 100)
        except _files.Refused as exc:
            result["refused"] = str(exc)

    t = threading.Thread(target=read_fifo, daemon=True)
    t.start()
    t.join(5)
    assert not t.is_alive(), "a FIFO blocked the read"
    assert "not a regular file" in result["refused"]
    with pytest.raises(_files.Refused):
        _files.read_bounded(tmp_path / "link", 100)
    with pytest.raises(_files.Refused):
        _files.tail_bounded(tmp_path / "link", 100)
    assert len(_files.read_bounded(tmp_path / "big", 100)) == 100
    assert _files.tail_bounded(tmp_path / "big", 10) == b"x" * 10


def test_lone_surrogates_never_break_a_write(tmp_path: Path) -> None:
    _files.write_text(tmp_path / "f.txt", "a \ud800 b")
    assert (tmp_path / "f.txt").read_text(encoding="utf-8") == "a ? b"
    cleaned = _files.clean({"notes": ["\udcff"], "x": ("\ud800",)})
    json.dumps(cleaned).encode("utf-8")
    "".join([*cleaned["notes"], *cleaned["x"]]).encode("utf-8")


# 1. Records: only the grader cell's own, the last one, well formed.


def test_a_record_comes_only_from_its_own_cell_under_its_nonce() -> None:
    _, nonce = _records.record_cell([("answer", "q2")])
    _, other = _records.record_cell([("answer", "q2")])
    assert nonce != other
    good = [{"value": "b"}]
    forged = [{"type": "mlflow.entities.Run", "real": True}]

    def cell(*texts: str) -> dict:
        return {"outputs": [{"output_type": "stream", "name": "stdout", "text": t} for t in texts]}

    assert _records.read_record(cell(f"{other}{json.dumps(forged)}\n"), nonce, 1) is None
    assert _records.read_record(cell(f"{nonce}{json.dumps(good)}\n"), nonce, 1) == good
    # the last well-formed record wins; a wrong count or garbage is no record
    assert _records.read_record(cell(f"{nonce}{json.dumps(forged)}\n", f"{nonce}{json.dumps(good)}\n"), nonce, 1) == good  # fmt: skip
    assert _records.read_record(cell(f"{nonce}[{{}}, {{}}]\n"), nonce, 1) is None
    assert _records.read_record(cell(f"{nonce}not json\n"), nonce, 1) is None


def test_the_harvest_checks_real_types_not_claimed_names() -> None:
    source, nonce = _records.record_cell([("a", "fake"), ("b", "f"), ("c", "t"), ("d", "p")])
    ns: dict = {"get_ipython": lambda: None}
    fake_cls = type("Run", (dict,), {"__module__": "mlflow.entities"})
    ns.update(fake=fake_cls(), f=lambda: 1, t=(1, [2]), p=Path("/x"))
    body = source.split("_course_grader_reset()\ndel _course_grader_reset\n", 1)[1]
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        exec(body, ns)
    rec = json.loads(buf.getvalue().split(nonce)[1])
    assert {k: rec[0][k] for k in ("type", "real", "callable")} == {
        "type": "mlflow.entities.Run", "real": False, "callable": False}  # fmt: skip
    assert rec[0]["ref"] in ns["_course_grader_refs"]  # kept in the kernel for the clean check
    assert rec[1]["real"] is True and rec[1]["callable"] is True
    assert _records.untag(rec[2]["value"]) == (1, [2])
    assert rec[3] == {"value": "/x"}


# 3. Feedback scrubbing.


def test_every_hidden_line_is_masked_in_every_output() -> None:
    nb = json.loads(SOLUTION.read_text(encoding="utf-8"))
    lines = _scrub.hidden_lines(nb)
    assert lines
    line = lines[0]
    fb = {"cells": [
        {"cell_type": "code", "metadata": {}, "source": "print(x)", "outputs": [
            {"output_type": "stream", "name": "stdout", "text": f"captured:\n{line}\n"},
            {"output_type": "display_data", "data": {"text/html": f"<pre>{line}</pre>",
                                                     "text/plain": repr([line])}},
            {"output_type": "error", "ename": "E", "evalue": line, "traceback": [line]},
        ]},
    ]}  # fmt: skip
    _scrub.scrub_notebook(fb, lines)
    outs = fb["cells"][0]["outputs"]
    texts = [outs[0]["text"], *outs[1]["data"].values(), outs[2]["evalue"], *outs[2]["traceback"]]
    for text in texts:
        assert _scrub.MASK in text
        assert not any(ln in text for ln in lines), text
