"""Grading students' completions of the homework: each submission found (a folder, a zip, a
Canvas export's files), each item of the rubric (rubric.toml) probed by checks in a sandbox on a
copy of it (a task the launcher forks) and judged here against this project's own completion on
the same draw of inputs, as a Score per item."""

from __future__ import annotations

import contextlib
import functools
import io
import os
import re
import shutil
import tempfile
import tomllib
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from types import SimpleNamespace

import mlp
from workshop.grading import canvas, checks, sandbox
from workshop.grading.launcher import Launcher, Order, outputs
from workshop.records import RunOptions
from workshop.runs.sources import DataError

RUBRIC = Path(__file__).resolve().parent / "rubric.toml"
PROJECT = Path(__file__).resolve().parents[2]  # mlp.py, main.py and workshop/
SKIPPED_FOLDERS = {"__MACOSX", "__pycache__", ".git", "venv", ".venv", "env", "node_modules"}
NEEDS_LOOK = "NEEDS A LOOK"  # a status: the grader could not judge; a person should
LARGEST_FILE = 20 * 2**20  # bytes: a submission's data, checkpoints and PDFs are not copied
LARGEST_ZIP = 200 * 2**20  # bytes, unpacked


@dataclass(frozen=True)
class Rubric:
    """Each item's points (0: not graded), and the limits each runs under."""

    points: dict[str, float]
    limits: sandbox.Limits


@dataclass(frozen=True)
class Found:
    """A submission: its id (a folder's or a zip's name, or a Canvas student's), where it is,
    and for a Canvas export its files (each under the name the student gave it) and ids."""

    id: str
    path: Path
    files: tuple[tuple[str, Path], ...] = ()
    user_id: str = ""
    submission_id: str = ""


@dataclass(frozen=True)
class Score:
    """One item of one submission: its status (PASS, FAIL, ERROR or NOT GRADED), points, what
    to tell, what the code printed while it ran, why a person should look at it too ('' if
    nothing), and its failed cases as records."""

    item: str
    status: str
    points: float
    most: float
    why: str
    output: str = ""
    look: str = ""
    failures: tuple[checks.Failure, ...] = ()


def load_rubric(path: str | os.PathLike = RUBRIC) -> Rubric:
    """The rubric file: [points] of each item of checks.ITEMS, and [limits]."""
    try:
        rubric = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        points = {item: float(rubric["points"][item]) for item in checks.ITEMS}
        limits = rubric["limits"]
        return Rubric(points, sandbox.Limits(seconds=float(limits["seconds"]),
                                             memory_mib=int(limits["memory_mib"]),
                                             output_bytes=int(limits["output_kib"]) * 1024))
    except OSError as error:
        raise DataError(f"cannot read the rubric {path} ({error.strerror})") from None
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as error:
        raise DataError(f"the rubric {path} is not valid ({error!r}); it needs a [points] table "
                        f"with a number for each of: {', '.join(checks.ITEMS)}, and [limits] "
                        f"of seconds, memory_mib and output_kib") from None


# ----------------------------------------------------------------------------------------------
# Finding submissions and copying them


def find_submissions(paths: Iterable[str | os.PathLike]) -> list[Found]:
    """The submissions that paths name: a submission (a folder or zip holding mlp.py, perhaps
    in a subfolder), or a folder of submissions (a subfolder or zip each)."""
    found = []
    for path in map(Path, paths):
        if not path.exists():
            raise DataError(f"no submission or folder {path}")
        students = canvas.exported(path) if path.is_dir() else []
        found += [Found(_id(Path(student.student)), path, student.files, student.user_id,
                        student.submission_id) for student in students]
        if path.is_dir() and not _holds_homework(path) and _children(path):
            found += [Found(_id(child), child) for child in _children(path)]
        elif students:
            continue
        else:
            found.append(Found(_id(path), path))
    ids = [submission.id for submission in found]
    repeated = sorted({name for name in ids if ids.count(name) > 1})
    if repeated:
        raise DataError(f"two submissions are named {repeated[0]!r}; give them different names")
    return found


def _id(path: Path) -> str:
    """A submission's id: its name without .zip, kept to letters, digits and - _ ."""
    name = path.name[:-4] if path.suffix.lower() == ".zip" else path.name
    return re.sub(r"[^\w.-]+", "_", name).strip("._") or "submission"


def _holds_homework(folder: Path) -> bool:
    """Whether the folder itself is a submission: mlp.py or main.py in it."""
    return (folder / "mlp.py").is_file() or (folder / "main.py").is_file()


def _children(folder: Path) -> list[Path]:
    """A folder's subfolders and zips that could be submissions, sorted (a folder of one is a
    single submission in a wrapper, not a class)."""
    children = sorted(child for child in folder.iterdir() if not child.name.startswith(".")
                      and child.name not in SKIPPED_FOLDERS
                      and (child.is_dir() or child.suffix.lower() == ".zip"))
    return children if len(children) > 1 else []


def unpack(submission: Found, into: Path) -> Path | None:
    """Copy or unzip the submission's files into `into` (files over LARGEST_FILE left out);
    the folder that holds its mlp.py (the shallowest), or None if it has none."""
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
    homes = sorted((path.parent for path in into.rglob("mlp.py")
                    if not SKIPPED_FOLDERS & set(path.relative_to(into).parts)),
                   key=lambda folder: (len(folder.parts), str(folder)))
    return homes[0] if homes else None


def _unzip(path: Path, into: Path) -> None:
    """Unzip the files of a zip that a submission may need (names kept inside `into`)."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = [member for member in archive.infolist() if not member.is_dir()
                       and member.file_size <= LARGEST_FILE
                       and not SKIPPED_FOLDERS & set(Path(member.filename).parts)]
            if sum(member.file_size for member in members) > LARGEST_ZIP:
                raise DataError(f"{path} unpacks to more than {LARGEST_ZIP // 2**20} MiB")
            for member in members:
                archive.extract(member, into)  # zipfile drops absolute paths and '..'
    except (zipfile.BadZipFile, OSError) as error:
        raise DataError(f"cannot unzip {path} ({error})") from None


# ----------------------------------------------------------------------------------------------
# Every item of every submission


def project(folder: Path, sweeps: dict[str, Callable]) -> checks.Submission:
    """This project's own completion as the checks see a submission: its mlp, and main.py's two
    sweeps of the handout (one seed, their plots and models in folder, no feature cache, one
    process)."""
    options = RunOptions(seeds=RunOptions().seeds[:1], plots_dir=folder / "plots",
                         cache_dir=None, workers=1)
    return checks.Submission(mlp, SimpleNamespace(
        explore_mlp_activations=functools.partial(sweeps["activations"], options=options),
        explore_mlp_learning_rates=functools.partial(sweeps["learning-rates"], options=options)),
        folder)


def reference(folder: Path, sweeps: dict[str, Callable], draw: checks.Draw) -> dict[str, dict]:
    """What this project's completion gives for each item on the draw's inputs
    (checks.reference, run in folder, in this process: never where a submission runs)."""
    folder.mkdir(parents=True, exist_ok=True)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return checks.reference(project(folder, sweeps), draw)  # its lines are not the grades


@contextlib.contextmanager
def _staging() -> Iterator[Path]:
    """A folder for the run's copies, removed after it: a task run as another user can reach
    its own folder through it but list nothing in it."""
    staging = Path(tempfile.mkdtemp(prefix="hw3-grade-"))
    staging.chmod(0o711)
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def grade(submissions: list[Found], rubric: Rubric, at_once: int,
          sweeps: dict[str, Callable], draw: checks.Draw,
          progress: Callable[[Found, dict[str, Score]], object] | None = None
          ) -> Iterator[tuple[Found, list[Score]]]:
    """Each submission with its scores, item by item, as its last item finishes: every item
    probed on the draw's inputs in a sandbox on a copy of its own, at_once at a time, and
    judged here against what this project's completion (its mlp, and main.py's sweeps) gives
    on them. progress(submission, its scores so far) follows each item."""
    with Launcher() as launcher, _staging() as staging:  # the launcher first: it holds nothing
        expected = reference(staging / "project", sweeps, draw)
        private = (staging, *(submission.path.resolve() for submission in submissions))
        orders, scores = [], {submission.id: {} for submission in submissions}
        for index, submission in enumerate(submissions):
            for item, found in _plan(submission, staging / str(index), rubric, private, draw):
                if isinstance(found, Score):
                    scores[submission.id][item] = found
                else:
                    orders.append(found)
        for submission in submissions:  # graded already: nothing found that an item could run
            if len(scores[submission.id]) == len(checks.ITEMS):
                yield submission, [scores[submission.id][name] for name in checks.ITEMS]
        by_id = {submission.id: submission for submission in submissions}
        for order, ran in _run(launcher, orders, at_once):
            for item in order.items:
                scores[order.key][item] = score(item, rubric.points[item], ran, expected[item],
                                                draw)
            if progress is not None:
                progress(by_id[order.key], scores[order.key])
            if len(scores[order.key]) == len(checks.ITEMS):
                shutil.rmtree(Path(order.folder).parent, ignore_errors=True)  # its staged copy
                yield by_id[order.key], [scores[order.key][name] for name in checks.ITEMS]


def _run(launcher: Launcher, orders: list[Order], at_once: int
         ) -> Iterator[tuple[Order, sandbox.Ran]]:
    """Each order with how its task ended, as each ends. A task of several items that does
    not finish (it crashed, ended the program, ran out of time) is run again, an item a task,
    so that one item's trouble costs the others nothing."""
    while orders:
        again = []
        for order, ran in launcher.run(orders, at_once):
            if len(order.items) > 1 and ran.error:  # not an import that failed: that fails all
                for item in order.items:  # each in a folder of its own, copied anew
                    folder = Path(order.folder).with_name(re.sub(r"\W+", "_", item) + "-alone")
                    again.append(replace(order, items=(item,), folder=str(folder)))
                continue
            yield order, ran
        orders = again


def _plan(submission: Found, staging: Path, rubric: Rubric, private: tuple[Path, ...],
          draw: checks.Draw) -> Iterator[tuple[str, Score | Order]]:
    """For each item: its Score if it is not graded, else the Order of the task that grades it
    with the other items it is run with (on a copy of the submission of its own, made when it
    runs, out of reach of the others): the sweeps each alone (they run longest), the rest
    together."""
    try:
        home, trouble = unpack(submission, staging / "submission"), None
    except DataError as error:
        home, trouble = None, str(error)
    graded = []
    for item, spec in checks.ITEMS.items():
        points = rubric.points[item]
        missing = [f"{name}.py" for name in spec.needs
                   if home is None or not (home / f"{name}.py").is_file()]
        if points == 0 or trouble or missing:
            why = ("0 points in the rubric" if points == 0 else trouble or
                   f"no {missing[0]} in the submission" + (" beside mlp.py" if home else ""))
            yield item, Score(item, "NOT GRADED", 0.0, points, why,
                              failures=(checks.Failure(item, "not graded", why),))
        else:
            graded.append(item)
    together = tuple(item for item in graded if checks.ITEMS[item].needs == ("mlp",))
    for items in [together] * bool(together) + [(item,) for item in graded
                                                 if item not in together]:
        folder = staging / re.sub(r"\W+", "_", items[0])
        yield items[0], Order(submission.id, items, str(folder), str(home), draw.seed,
                              rubric.limits, tuple(map(str, private)))


def score(item: str, points: float, ran: sandbox.Ran, expected: dict,
          draw: checks.Draw) -> Score:
    """An item's score: how its sandbox ended, and what its judge makes of what it observed
    (a judge that fails leaves the item to a person: NEEDS A LOOK); a person is asked to look
    too where the judge cannot tell a variant from a mistake, and where the code replaced a
    library's function, or took one of the grader's."""
    value = ran.value if isinstance(ran.value, dict) else {}
    printed = outputs(ran.output)
    output = printed.get(item, ran.output)
    replaced = value.get("replaced") or []
    look = (f"the code replaced or took {', '.join(replaced[:5])}"
            f"{' and more' * (len(replaced) > 5)}: it is graded on what its own code computed; "
            f"check that it did not bend the checks" if replaced else "")
    error = ran.error or value.get("error")
    if error:
        failure = checks.Failure(item, error_kind(error), error)
        return Score(item, "ERROR", 0.0, points, error, output, look, (failure,))
    try:
        verdict = checks.ITEMS[item].judge(value["observed"][item], expected, draw)
    except Exception as error:  # the grader's own bug, or data it did not foresee
        return Score(item, NEEDS_LOOK, 0.0, points,
                     f"the grader could not judge this item ({type(error).__name__}: {error}); "
                     f"a person should look at it", output)
    look = "; ".join([*dict.fromkeys(verdict.look), *[look] * bool(look)])
    notes = "".join(f"\nNote: {note}" for note in dict.fromkeys(verdict.notes))
    if verdict.passed >= verdict.cases - 1e-9:
        return Score(item, "PASS", points, points, f"every case passes{notes}", output, look)
    said = [failure.line for failure in verdict.failures]
    lines = [f"- {line}" + (f" ({said.count(line)} cases)" if said.count(line) > 1 else "")
             for line in dict.fromkeys(said)]
    return Score(item, "FAIL", round(points * verdict.passed / verdict.cases, 2), points,
                 "\n".join([f"{len(said)} cases fail:", *lines]) + notes, output, look,
                 tuple(verdict.failures))


def error_kind(error: str) -> str:
    """What kind of end an item's error is, whatever its wording's details."""
    for start, kind in (("timed out", "timed out"), ("importing", "import failed"),
                        ("the code was killed", "killed"), ("the code ended", "ended the process"),
                        ("ran out of memory", "out of memory")):
        if error.startswith(start):
            return kind
    return f"raised {error.split(':', 1)[0]}"
