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
    notes: tuple[str, ...] = ()  # e.g. that another file claimed the same student id

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
    """Safe extraction (no absolute paths, no .., no links, size-capped) into a new folder."""
    import zipfile

    try:
        with zipfile.ZipFile(archive) as z:
            infos = z.infolist()
            if sum(i.file_size for i in infos) > 2 * 1024**3 or len(infos) > 20000:
                return None, "a zip too large to unpack"
            dest.mkdir(parents=True)
            for info in infos:
                target = (dest / info.filename).resolve()
                if not str(target).startswith(str(dest.resolve()) + os.sep) or info.is_dir():
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with z.open(info) as src, target.open("xb") as out:
                    shutil.copyfileobj(src, out)
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, RuntimeError) as exc:
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
    """Notebooks under `folder`: regular files only, no link followed."""
    found = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d != ".ipynb_checkpoints")
        for name in files:
            p = Path(root) / name
            if name.endswith(".ipynb") and not p.is_symlink() and p.is_file():
                found.append(p)
    return sorted(found)


def _bulk(folder: Path) -> bool:
    """An LMS bulk download: every entry carries an LMS name (the LMS wrote it, not a student)."""
    entries = [p for p in folder.iterdir() if not p.name.startswith((".", "__MACOSX"))]
    return bool(entries) and all(
        lms_student(p.stem if p.is_file() else p.name) is not None for p in entries
    )


def discover(
    folder: Path, slug: str, unpack: Path | None = None
) -> tuple[list[Submission], list[Unattributed]]:
    """`alice.ipynb` -> alice; `bob/anything.ipynb` -> bob; Canvas and Moodle bulk-download
    names -> the student they name. A zip belongs to the student its own name gives (an LMS
    name, else the zip's name), whatever it holds, unless it is an LMS bulk download (every
    entry an LMS name). A second claim on an id gets a distinct id and a note, never another
    student's row. Links are never followed. Everything else is reported, never dropped."""
    if folder.is_symlink() or not folder.is_dir():
        raise CourseError(f"submissions folder {folder} does not exist or is not a folder")
    found: dict[str, Submission] = {}
    skipped: list[Unattributed] = []
    unpacked: set[str] = set()

    def add(sid: str, path: Path, origin: str) -> None:
        label = origin or str(path)
        if sid not in found:
            found[sid] = Submission(sid, path, origin)
            return
        n = 2
        while f"{sid}-{n}" in found:
            n += 1
        new = f"{sid}-{n}"
        note = f"student id {sid!r} is also claimed by {found[sid].label}: graded as {new!r}"
        found[new] = Submission(new, path, origin, (note,))
        first = found[sid]
        found[sid] = Submission(sid, first.path, first.origin,
                                (*first.notes, f"another file ({label}) also claims {sid!r}"))  # fmt: skip

    def unzip(entry: Path, prefix: str, origin: str) -> Path | None:
        if unpack is None:
            skipped.append(Unattributed(entry, "a zip (no folder to unpack it)", origin))
            return None
        # Its own folder, even when two zip names sanitise alike: no unpack deletes another.
        name, n = student_id(f"{prefix}{entry.stem}"), 1
        while f"{name}.{n}" in unpacked:
            n += 1
        unpacked.add(f"{name}.{n}")
        dest = unpack / f"{name}.{n}"
        shutil.rmtree(dest, ignore_errors=True)
        where, why = _unzip(entry, dest)
        if where is None:
            skipped.append(Unattributed(entry, why, origin))
        return where

    def one_owner(base: Path, who: str, prefix: str, origin: str, where: str) -> None:
        """Everything in `base` is `who`'s: the notebook named like the module, else the first."""
        nbs = _notebooks(base)
        if not nbs:
            skipped.append(Unattributed(base, f"{where} without a notebook", origin))
            return
        named = [p for p in nbs if p.stem == slug]
        pick = named[0] if named else nbs[0]
        add(who, pick, f"{prefix}{pick.relative_to(base)}" if prefix else "")
        for other in nbs:
            if other != pick:
                o = f"{prefix}{other.relative_to(base)}" if prefix else ""
                skipped.append(Unattributed(other, f"an extra notebook in {where}", o))

    def scan(base: Path, prefix: str) -> None:
        entries = sorted(base.iterdir())
        # Plain files and folders claim their ids before anything taken out of a zip.
        entries.sort(key=lambda e: e.suffix.lower() == ".zip")
        for entry in entries:
            origin = f"{prefix}{entry.name}" if prefix else ""
            if entry.name.startswith(".") or entry.name == "__MACOSX":
                continue
            if entry.is_symlink():
                skipped.append(Unattributed(entry, "a symbolic link (not followed)", origin))
            elif entry.is_file() and entry.suffix == ".ipynb":
                add(lms_student(entry.stem) or _turned_in(entry.stem, slug), entry, origin)
            elif entry.is_file() and entry.suffix.lower() == ".zip":
                dest = unzip(entry, prefix, origin)
                if dest is None:
                    continue
                inner = f"{prefix}{entry.name}!"
                who = lms_student(entry.stem)
                if who is None and _bulk(dest):
                    scan(dest, inner)
                else:
                    one_owner(dest, who or student_id(entry.stem), inner, origin, entry.name)
            elif entry.is_dir():
                who = lms_student(entry.name) or student_id(entry.name)
                one_owner(entry, who, f"{prefix}{entry.name}/" if prefix else "", origin,
                          f"{entry.name}/")  # fmt: skip
            else:
                skipped.append(Unattributed(entry, "not a notebook (.ipynb)", origin))

    scan(folder, "")
    return sorted(found.values(), key=lambda s: s.student_id), skipped
