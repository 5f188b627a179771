"""What an instructor's download holds: every file becomes a student or a reported row."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from course import CourseError
from course.grading.submissions import discover, lms_student

SLUG = "02_experiment_tracking"


def _nb(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"cells": []}')
    return path


@pytest.mark.parametrize(
    ("name", "student"),
    [
        ("lovelaceada_LATE_1234_56789_02_experiment_tracking", "lovelaceada"),
        ("turingalan_4321_98765_notebook", "turingalan"),
        ("Ada Lovelace_123456_assignsubmission_file_02_experiment_tracking", "Ada_Lovelace_123456"),
        ("alice", None),
    ],
)
def test_lms_names(name: str, student: str | None) -> None:
    assert lms_student(name) == student


def test_a_mixed_download_is_attributed_or_reported(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    _nb(subs / "alice.ipynb")
    _nb(subs / "bob" / f"{SLUG}.ipynb")
    _nb(subs / "bob" / "scratch.ipynb")
    _nb(subs / "lovelaceada_1234_56789_02_experiment_tracking.ipynb")
    _nb(subs / "Grace Hopper_222_assignsubmission_file_" / "mine.ipynb")
    _nb(subs / f"dan_{SLUG}.ipynb")  # course.turn_in's name
    (subs / "essay.pdf").write_text("%PDF")
    (subs / "empty").mkdir()
    with zipfile.ZipFile(subs / "erin.zip", "w") as z:
        z.writestr(f"{SLUG}.ipynb", '{"cells": []}')
    with zipfile.ZipFile(subs / "class.zip", "w") as z:
        z.writestr("frank/nb.ipynb", '{"cells": []}')
        z.writestr("../escape.ipynb", '{"cells": []}')
    (subs / "broken.zip").write_bytes(b"not a zip")
    found, skipped = discover(subs, SLUG, unpack=tmp_path / "unpacked")
    students = {s.student_id for s in found}
    assert students == {
        "alice", "bob", "lovelaceada", "Grace_Hopper_222", "dan", "erin", "frank",
    }  # fmt: skip
    reasons = {Path(u.path).name: u.reason for u in skipped}
    assert "extra notebook" in reasons["scratch.ipynb"]
    assert "not a notebook" in reasons["essay.pdf"]
    assert "without a notebook" in reasons["empty"]
    assert "unreadable zip" in reasons["broken.zip"]
    assert not (tmp_path / "escape.ipynb").exists(), "a zip wrote outside its folder"


def test_a_second_notebook_for_one_student_is_reported(tmp_path: Path) -> None:
    _nb(tmp_path / "alice.ipynb")
    _nb(tmp_path / f"alice_{SLUG}.ipynb")
    found, skipped = discover(tmp_path, SLUG)
    assert [s.student_id for s in found] == ["alice"]
    assert "a second notebook for student 'alice'" in skipped[0].reason


def test_a_missing_folder_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(CourseError, match="does not exist or is not a folder"):
        discover(tmp_path / "nope", SLUG)
