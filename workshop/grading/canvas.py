"""A folder as Canvas's "download submissions" writes it, read as one submission per student.

Canvas names each file it exports lastfirst[_LATE]_userid_submissionid_filename (lastfirst in
any alphabet), and a file submitted again gets a suffix, mlp-1.py, mlp-2.py: the newest is the
one with the largest. Every other file is listed as skipped, with the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

# smithjohn_12345_67890_mlp.py, smithjohn_LATE_12345_67890_mlp-1.py
EXPORTED = re.compile(r"^(?P<student>[^\W_]+)(?P<late>_late)?_(?P<user_id>\d+)_"
                      r"(?P<submission_id>\d+)_(?P<stem>.+?)(?:-(?P<again>\d+))?"
                      r"(?P<suffix>\.[A-Za-z0-9]+)$", re.IGNORECASE)


@dataclass(frozen=True)
class Exported:
    """One student's files from a Canvas export: the newest of each, under its own name."""

    student: str
    user_id: str
    submission_id: str
    files: tuple[tuple[str, Path], ...]  # (the name the student gave it, the exported file)
    late: bool = False


def exported(folder: Path) -> list[Exported]:
    """The students of a Canvas export in folder (its loose files named as Canvas names them),
    each with the newest of each of their files; [] if none is named so."""
    newest: dict[tuple[str, str], dict[str, tuple[int, int, Path, bool]]] = {}
    for path in sorted(folder.iterdir()):
        named = EXPORTED.match(path.name) if path.is_file() else None
        if named is None:
            continue
        key = (named["student"].lower(), named["user_id"])
        original = named["stem"] + named["suffix"]
        order = (int(named["again"] or 0), int(named["submission_id"]))
        kept = newest.setdefault(key, {}).get(original)
        if kept is None or order > kept[:2]:
            newest[key][original] = (*order, path, bool(named["late"]))
    students = []
    for (student, user_id), files in sorted(newest.items()):
        submission_id = str(max(kept[1] for kept in files.values()))
        students.append(Exported(student, user_id, submission_id, tuple(
            (name, kept[2]) for name, kept in sorted(files.items())),
            any(kept[3] for kept in files.values())))
    return students


def skipped(folder: Path, students: list[Exported]) -> list[tuple[str, str]]:
    """The files of a Canvas export that no student's submission takes: (name, why)."""
    taken = {path for student in students for _, path in student.files}
    found = []
    for path in sorted(folder.iterdir()):
        if path in taken or path.is_dir():
            continue
        named = EXPORTED.match(path.name)
        found.append((path.name, "an older copy of a file handed in again" if named else
                      "not named as Canvas names a student's file"))
    return found
