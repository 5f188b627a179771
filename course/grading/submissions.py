"""Finding submissions: one notebook per student, as a file or in a student's folder."""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from .._errors import CourseError


@dataclass(frozen=True)
class Submission:
    student_id: str
    path: Path
    origin: str = ""  # "archive.zip!inner/path" for files taken out of a zip

    @property
    def label(self) -> str:
        return self.origin or str(self.path)


@dataclass(frozen=True)
class Unattributed:
    path: Path
    reason: str
    origin: str = ""

    @property
    def label(self) -> str:
        return self.origin or str(self.path)


# Canvas bulk download: login[_LATE]_userid_submissionid_original-name.ipynb
_CANVAS = re.compile(
    r"^(?P<who>[A-Za-z0-9.@-]+?)(?:_LATE|_late)?_(?P<uid>\d+)_(?P<sid>\d+)_(?P<rest>.+)$"
)
# Moodle: "First Last_123456_assignsubmission_file_name.ipynb" or that as a folder.
_MOODLE = re.compile(
    r"^(?P<who>.+?)_(?P<pid>\d+)_assignsubmission_(?:file|onlinetext)_?(?P<rest>.*)$"
)


def lms_student(name: str) -> str | None:
    """The student of an LMS bulk-download name, or None when it is not one."""
    m = _MOODLE.match(name)
    if m:
        return student_id(f"{m['who']}_{m['pid']}")
    m = _CANVAS.match(name)
    if m:
        return student_id(m["who"])
    return None


def _unzip(archive: Path, dest: Path) -> tuple[Path | None, str]:
    """Safe extraction (no absolute paths, no .., size-capped); (folder, "") or (None, why)."""
    import zipfile

    try:
        with zipfile.ZipFile(archive) as z:
            infos = z.infolist()
            if sum(i.file_size for i in infos) > 2 * 1024**3 or len(infos) > 20000:
                return None, "a zip too large to unpack"
            shutil.rmtree(dest, ignore_errors=True)
            dest.mkdir(parents=True)
            for info in infos:
                target = (dest / info.filename).resolve()
                if not str(target).startswith(str(dest.resolve()) + os.sep) or info.is_dir():
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with z.open(info) as src, target.open("wb") as out:
                    shutil.copyfileobj(src, out)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        return None, f"an unreadable zip ({type(exc).__name__})"
    return dest, ""


def _turned_in(stem: str, slug: str) -> str:
    """`course.turn_in` names files `<student>_<NN_slug>.ipynb`: the student is the prefix."""
    suffix = f"_{slug}"
    return student_id(stem[: -len(suffix)] if stem.endswith(suffix) and stem != suffix else stem)


def student_id(name: str) -> str:
    """A file or folder name as an nbgrader-safe student id."""
    sid = re.sub(r"[^A-Za-z0-9_.@-]+", "_", name.strip()).strip("._")
    return sid or "unnamed"


def _notebooks(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts and p.is_file()
    )


def discover(
    folder: Path, slug: str, unpack: Path | None = None
) -> tuple[list[Submission], list[Unattributed]]:
    """`alice.ipynb` -> alice; `bob/anything.ipynb` -> bob; Canvas and Moodle bulk-download
    names -> the student they name; a .zip is unpacked and read the same way (a zip of one
    student's folder counts as that student). Everything else is reported, never dropped."""
    if not folder.is_dir():
        raise CourseError(f"submissions folder {folder} does not exist or is not a folder")
    found: dict[str, Submission] = {}
    skipped: list[Unattributed] = []

    def add(sid: str, path: Path, origin: str) -> None:
        if sid in found:
            skipped.append(Unattributed(path, f"a second notebook for student {sid!r}", origin))
        else:
            found[sid] = Submission(sid, path, origin)

    def scan(base: Path, prefix: str, owner: str | None) -> None:
        for entry in sorted(base.iterdir()):
            origin = f"{prefix}{entry.name}" if prefix else ""
            if entry.name.startswith(".") or entry.name == "__MACOSX":
                continue
            if entry.is_file() and entry.suffix == ".ipynb":
                who = owner or lms_student(entry.stem) or _turned_in(entry.stem, slug)
                add(who, entry, origin)
            elif entry.is_file() and entry.suffix.lower() == ".zip":
                if unpack is None:
                    skipped.append(Unattributed(entry, "a zip (no folder to unpack it)", origin))
                    continue
                dest, why = _unzip(entry, unpack / student_id(f"{prefix}{entry.stem}"))
                if dest is None:
                    skipped.append(Unattributed(entry, why, origin))
                    continue
                who = owner or lms_student(entry.stem)
                inner = [p for p in dest.iterdir() if not p.name.startswith((".", "__MACOSX"))]
                # A zip holding only notebooks of one student (or named after one) is theirs.
                if who is None and all(p.is_file() for p in inner):
                    who = student_id(entry.stem) if len(_notebooks(dest)) == 1 else None
                scan(dest, f"{prefix or ''}{entry.name}!", who)
            elif entry.is_dir():
                nbs = _notebooks(entry)
                if not nbs:
                    skipped.append(Unattributed(entry, "a folder without a notebook", origin))
                    continue
                named = [p for p in nbs if p.stem == slug]
                pick = named[0] if named else nbs[0]
                who = owner or lms_student(entry.name) or student_id(entry.name)
                add(who, pick, f"{prefix}{pick.relative_to(base)}" if prefix else "")
                for other in nbs:
                    if other != pick:
                        o = f"{prefix}{other.relative_to(base)}" if prefix else ""
                        skipped.append(
                            Unattributed(other, f"an extra notebook in {entry.name}/", o)
                        )
            else:
                skipped.append(Unattributed(entry, "not a notebook (.ipynb)", origin))

    scan(folder, "", None)
    return sorted(found.values(), key=lambda s: s.student_id), skipped
