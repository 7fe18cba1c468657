"""What was uploaded, as the grader finds it: the submissions a path names (a folder or zip each,
a folder of them, a Canvas export's files), each unpacked (zips within zips too), and in each
the homework's two files located, however the student laid them out: a `hw3/` folder beside
others, a whole course repository (`hw1/` ... `hw5/`), files misnamed (`MLP.py`,
`mlp (1).py`). The Layout says which files were graded and why, for the report."""

from __future__ import annotations

import os
import re
import shutil
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from workshop.data import DataError
from workshop.grading import canvas

SKIPPED_FOLDERS = {"__MACOSX", "__pycache__", ".git", "venv", ".venv", "env", "node_modules"}
LARGEST_FILE = 20 * 2**20  # bytes: a submission's data, checkpoints and PDFs are not copied
LARGEST_ZIP = 200 * 2**20  # bytes, unpacked
HOMEWORK = re.compile(r"(?:hw|homework|assignment|a)[\s_-]*0?3\b", re.IGNORECASE)
# What each of the homework's files defines, to know a misnamed one by.
DEFINES = {"mlp": ("def featurize", "class SentimentClassifier"),
           "main": ("def explore_mlp_activations", "def explore_mlp_learning_rates")}


@dataclass(frozen=True)
class Upload:
    """A submission as it was handed in, before any of its code is loaded (that is
    checks.Submission): its id (a folder's or a zip's name, or a Canvas student's), where it
    is, and for a Canvas export its files (each under the name the student gave it), ids, late
    mark and the exported files graded."""

    id: str
    path: Path
    files: tuple[tuple[str, Path], ...] = ()
    user_id: str = ""
    submission_id: str = ""
    late: bool = False


@dataclass(frozen=True)
class Layout:
    """Where a submission's homework files were found once unpacked: the folder graded (None:
    none), the files graded from it (as the upload names them), every Python file found, and
    why a person should look ('' if nothing)."""

    home: Path | None
    graded: tuple[str, ...]
    python: tuple[str, ...]
    look: str = ""


def find_submissions(paths: Iterable[str | os.PathLike], single: bool = False) -> list[Upload]:
    """The submissions that paths name: a submission (a folder or zip holding the homework,
    anywhere inside), or a folder of submissions (a subfolder or zip each, or a Canvas export's
    files). single: each path is one submission, whatever it holds (a Gradescope upload)."""
    found = []
    for path in map(Path, paths):
        if not path.exists():
            raise DataError(f"no submission or folder {path}")
        students = canvas.exported(path) if path.is_dir() and not single else []
        found += [Upload(_id(Path(student.student)), path, student.files, student.user_id,
                        student.submission_id, student.late) for student in students]
        taken = {file for student in students for _, file in student.files}
        children = [child for child in _entries(path) if child not in taken] \
            if not single and path.is_dir() and not _holds_homework(path) else []
        if children:
            found += [Upload(_id(child), child) for child in children]
        elif not students:
            found.append(Upload(_id(path), path))
    ids = [submission.id for submission in found]
    repeated = sorted({name for name in ids if ids.count(name) > 1})
    if repeated:
        raise DataError(f"two submissions are named {repeated[0]!r}; give them different names")
    return found


def _id(path: Path) -> str:
    """A submission's id: its name without .zip, kept to letters (any alphabet), digits and
    - _ ."""
    name = path.name[:-4] if path.suffix.lower() == ".zip" else path.name
    return re.sub(r"[^\w.-]+", "_", name).strip("._") or "submission"


def _holds_homework(folder: Path) -> bool:
    """Whether the folder itself is a submission: mlp.py or main.py in it, or a folder named
    like the homework (a course repository's hw3/)."""
    return (folder / "mlp.py").is_file() or (folder / "main.py").is_file() or any(
        HOMEWORK.fullmatch(child.name) for child in folder.iterdir() if child.is_dir())


def _entries(folder: Path) -> list[Path]:
    """A folder's subfolders and zips that could be submissions, sorted (a folder of one is a
    single submission in a wrapper, not a class)."""
    children = sorted(child for child in folder.iterdir() if not child.name.startswith(".")
                      and child.name not in SKIPPED_FOLDERS
                      and (child.is_dir() or child.suffix.lower() == ".zip"))
    return children if len(children) > 1 else []


def unpack(submission: Upload, into: Path) -> Layout:
    """Copy or unzip the submission's files into `into` (files over LARGEST_FILE left out, zips
    unpacked where they are, a zip within a zip too), and locate its homework there."""
    if submission.files:  # a Canvas student's: each file under the name the student gave it
        into.mkdir(parents=True, exist_ok=True)
        for name, file in submission.files:
            if file.stat().st_size <= LARGEST_FILE:
                shutil.copyfile(file, into / name)
    elif submission.path.is_dir():
        for file in submission.path.rglob("*"):
            relative = file.relative_to(submission.path)
            if (file.is_file() and not SKIPPED_FOLDERS & set(relative.parts)
                    and file.stat().st_size <= LARGEST_FILE):
                (into / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(file, into / relative)
    else:
        _unzip(submission.path, into)
    for _ in range(2):  # zips the student put in, and zips within those
        for archive in [path for path in into.rglob("*") if path.suffix.lower() == ".zip"]:
            _unzip(archive, archive.with_suffix(""))
            archive.unlink()
    return locate(into)


def _unzip(path: Path, into: Path) -> None:
    """Unzip the files of a zip that a submission may need (names kept inside `into`)."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = [member for member in archive.infolist() if not member.is_dir()
                       and member.file_size <= LARGEST_FILE
                       and not SKIPPED_FOLDERS & set(Path(member.filename).parts)]
            if sum(member.file_size for member in members) > LARGEST_ZIP:
                raise DataError(f"{path.name} unpacks to more than {LARGEST_ZIP // 2**20} MiB")
            for member in members:
                archive.extract(member, into)  # zipfile drops absolute paths and '..'
    except (zipfile.BadZipFile, OSError) as error:
        raise DataError(f"cannot unzip {path.name} ({error})") from None


def locate(into: Path) -> Layout:
    """The folder to grade among what was unpacked in `into`: the one named like the homework
    (hw3, homework3...), else the only one holding both mlp.py and main.py, else the likeliest
    (the shallowest such, with a note to look); where no mlp.py is, the files that define the
    homework's functions, under their names (with a note)."""
    python = sorted(str(path.relative_to(into)) for path in into.rglob("*.py")
                    if not SKIPPED_FOLDERS & set(path.relative_to(into).parts))
    homes = sorted({(into / name).parent for name in python if Path(name).name == "mlp.py"},
                   key=lambda folder: (len(folder.parts), str(folder)))
    pairs = [home for home in homes if (home / "main.py").is_file()]
    named = [home for home in homes if any(HOMEWORK.fullmatch(part)
                                           for part in home.relative_to(into).parts)]
    look = ""
    if named or len(pairs) == 1 or not pairs:
        home = (named or pairs or homes or [None])[0]
    else:
        home = pairs[0]
        look = (f"{len(pairs)} folders hold mlp.py and main.py ("
                f"{', '.join(str(pair.relative_to(into)) or '.' for pair in pairs)}): the "
                f"shallowest was graded")
    if home is None:
        return _misnamed(into, python)
    graded = tuple(str((home / name).relative_to(into)) for name in ("mlp.py", "main.py")
                   if (home / name).is_file())
    return Layout(home, graded, tuple(python), look)


def _misnamed(into: Path, python: list[str]) -> Layout:
    """No mlp.py anywhere: the Python files that define the homework's functions, copied under
    the homework's names into a folder of their own, to be graded with a note; none: no home."""
    chosen = {}
    for stem, marks in DEFINES.items():
        for name in python:
            text = (into / name).read_text(errors="replace")
            if all(mark in text for mark in marks):
                chosen[stem] = name
                break
    if "mlp" not in chosen:
        return Layout(None, (), tuple(python))
    home = into / ".graded"
    shutil.copytree((into / chosen["mlp"]).parent, home, ignore=shutil.ignore_patterns(".graded"))
    for stem, name in chosen.items():
        shutil.copyfile(into / name, home / f"{stem}.py")
    said = ", ".join(f"{name!r} as {stem}.py" for stem, name in chosen.items())
    return Layout(home, tuple(chosen.values()), tuple(python),
                  f"the upload has no mlp.py: graded {said}, which define the homework's "
                  f"functions")
