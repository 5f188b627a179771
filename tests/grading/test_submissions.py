"""What an instructor's download holds: every file becomes a student or a reported row."""

from __future__ import annotations

import json
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
    with zipfile.ZipFile(subs / "class.zip", "w") as z:  # an LMS bulk download
        z.writestr("Frank Ocean_333_assignsubmission_file_/nb.ipynb", '{"cells": []}')
        z.writestr("../escape.ipynb", '{"cells": []}')
    (subs / "broken.zip").write_bytes(b"not a zip")
    found, skipped = discover(subs, SLUG, unpack=tmp_path / "unpacked")
    students = {s.student_id for s in found}
    assert students == {
        "alice", "bob", "lovelaceada", "Grace_Hopper_222", "dan", "erin", "Frank_Ocean_333",
    }  # fmt: skip
    reasons = {Path(u.path).name: u.reason for u in skipped}
    assert "extra notebook" in reasons["scratch.ipynb"]
    assert "not a notebook" in reasons["essay.pdf"]
    assert "without a notebook" in reasons["empty"]
    assert "unreadable zip" in reasons["broken.zip"]
    assert not (tmp_path / "escape.ipynb").exists(), "a zip wrote outside its folder"


def test_a_second_notebook_for_one_student_gets_its_own_id_and_a_note(tmp_path: Path) -> None:
    _nb(tmp_path / "alice.ipynb")
    _nb(tmp_path / f"alice_{SLUG}.ipynb")
    found, skipped = discover(tmp_path, SLUG)
    assert [s.student_id for s in found] == ["alice", "alice-2"]
    assert "also claimed" in found[1].notes[0] and found[0].notes
    assert not skipped


def test_a_missing_folder_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(CourseError, match="does not exist or is not a folder"):
        discover(tmp_path / "nope", SLUG)


# Hostile inputs: attribution and links.


def test_a_zip_belongs_to_its_outer_name_whatever_it_holds(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    _nb(subs / "zoe.ipynb").write_text('{"cells": [], "who": "zoe"}')
    with zipfile.ZipFile(subs / "mallory.zip", "w") as z:
        z.writestr("zoe.ipynb", '{"cells": [], "who": "mallory as zoe"}')
        z.writestr(f"mallory_{SLUG}.ipynb", '{"cells": []}')
        z.writestr("alice/other.ipynb", '{"cells": []}')
    found, skipped = discover(subs, SLUG, unpack=tmp_path / "unpacked")
    by_id = {s.student_id: s for s in found}
    assert sorted(by_id) == ["mallory", "zoe"]
    assert "mallory as zoe" not in by_id["zoe"].path.read_text()
    assert "mallory.zip!" in by_id["mallory"].label
    assert all("extra notebook" in u.reason for u in skipped) and len(skipped) == 2


def test_zip_names_that_sanitise_alike_get_distinct_ids_and_folders(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    subs.mkdir()
    for name, marker in (("a b.zip", "first"), ("a_b.zip", "second")):
        with zipfile.ZipFile(subs / name, "w") as z:
            z.writestr(f"{SLUG}.ipynb", json.dumps({"cells": [], "m": marker}))
    found, _ = discover(subs, SLUG, unpack=tmp_path / "unpacked")
    assert sorted(s.student_id for s in found) == ["a_b", "a_b-2"]
    texts = sorted(s.path.read_text() for s in found)
    assert "first" in texts[0] and "second" in texts[1], "one unpack replaced the other"
    assert any("also claimed" in n for s in found for n in s.notes)


def test_links_are_never_followed(tmp_path: Path) -> None:
    secret = _nb(tmp_path / "solutions" / "secret.ipynb")
    subs = tmp_path / "subs"
    _nb(subs / "alice.ipynb")
    (subs / "eve.ipynb").symlink_to(secret)
    (subs / "frank").mkdir()
    (subs / "frank" / f"{SLUG}.ipynb").symlink_to(secret)
    (subs / "gina").symlink_to(secret.parent, target_is_directory=True)
    found, skipped = discover(subs, SLUG)
    assert [s.student_id for s in found] == ["alice"]
    reasons = {Path(u.path).name: u.reason for u in skipped}
    assert "symbolic link" in reasons["eve.ipynb"] and "symbolic link" in reasons["gina"]
    assert "without a notebook" in reasons["frank"]
