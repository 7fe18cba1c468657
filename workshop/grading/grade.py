"""Grading students' completions of the homework: each submission found (a folder, a zip, a
Canvas export's files), each item of the rubric (rubric.toml) probed by checks in a sandbox on a
copy of it and judged here against this project's own completion, as a Score per item."""

from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import io
import json
import os
import re
import shutil
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from types import SimpleNamespace

import torch

import mlp
from workshop.files import atomic_write
from workshop.grading import canvas, checks, sandbox
from workshop.records import RunOptions
from workshop.runs.sources import DataError

RUBRIC = Path(__file__).resolve().parent / "rubric.toml"
PROJECT = Path(__file__).resolve().parents[2]  # mlp.py, main.py and workshop/
SKIPPED_FOLDERS = {"__MACOSX", "__pycache__", ".git", "venv", ".venv", "env", "node_modules"}
_OURS: list[str] = []  # this project's modules, as _project_modules lists them
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
    """One item of one submission: its status (PASS, FAIL, ERROR or NOT GRADED), points, and
    what to tell."""

    item: str
    status: str
    points: float
    most: float
    why: str
    output: str = ""


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
# One item, in its sandbox


def grade_items(items: tuple[str, ...], folder: str) -> dict:
    """In a sandbox: import the submission in folder (as mlp and main, as its own code imports
    them) and run each item's probe on it; what each observed, by item, or an "error" when it
    cannot import (or a probe could not finish: the caller then runs each item alone)."""
    torch.set_num_threads(1)  # items run side by side, each on one core
    offline_libraries()
    _forget_project()
    sys.path.insert(0, folder)
    modules = {}
    for name in dict.fromkeys(need for item in items for need in checks.ITEMS[item].needs):
        try:
            modules[name] = __import__(name)
        except Exception as error:
            return {"error": f"importing {name}.py raised "
                             f"{checks.student_error(error, Path(folder))}"}
        except BaseException as error:  # SystemExit: the module ended the program
            return {"error": f"importing {name}.py ended the program ({sandbox.describe(error)}); "
                             f"keep such code under `if __name__ == '__main__':`"}
    submission = checks.Submission(modules["mlp"], modules.get("main"), Path(folder))
    return {"observed": {item: checks.ITEMS[item].probe(submission) for item in items}}


def _forget_project() -> None:
    """Forget this project's own modules (mlp, main, its package), so that `import mlp` finds
    the submission's, and what it imports is its own; and this project's folder on sys.path.
    The grader's code goes on with the modules it holds."""
    for name in _project_modules():
        sys.modules.pop(name, None)
    sys.path[:] = [path for path in sys.path if os.path.abspath(path or ".") != str(PROJECT)]


def _project_modules() -> list[str]:
    """The names of this project's modules imported so far (not a library of a virtualenv in
    the project's folder); listed in the grader before it forks, where walking every module
    costs no copied pages."""
    if not _OURS:
        project = str(PROJECT) + os.sep
        # The name first: asking a lazy library module for its __file__ imports its parts.
        _OURS.extend(name for name, module in list(sys.modules.items())
                     if (name in ("mlp", "main") or name.split(".")[0] == "workshop")
                     and (getattr(module, "__file__", None) or "").startswith(project))
    return _OURS


def offline_libraries() -> None:
    """What the skeleton's imports do at import time, made to work with no network: nltk's
    download is a no-op, and its word_tokenize, which needs the punkt data to split sentences,
    gets punkt's algorithm untrained when the data is missing; the downloaders of word vectors
    and of IMDB say at once that nothing is downloaded while grading."""
    import datasets
    import gensim.downloader
    import nltk
    from nltk.tokenize.punkt import PunktSentenceTokenizer

    nltk.download = lambda *args, **kwargs: True
    try:
        nltk.data.find("tokenizers/punkt_tab/english/")
    except LookupError:
        splitter = PunktSentenceTokenizer()
        nltk.tokenize.sent_tokenize = lambda text, language="english": splitter.tokenize(text)

    def no_download(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"nothing is downloaded while grading ({args[0]!r} was asked for); "
                           f"load word vectors and data under `if __name__ == '__main__':`")

    gensim.downloader.load = no_download
    datasets.load_dataset = no_download


def warm_up() -> None:
    """Import what submissions import, once, before any is forked: each item then starts in
    milliseconds instead of seconds."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    import datasets  # noqa: F401
    import easydict  # noqa: F401
    import gensim.downloader  # noqa: F401
    import matplotlib.pyplot  # noqa: F401
    import nltk  # noqa: F401
    import tqdm  # noqa: F401
    from torch.utils.data import DataLoader

    # torch imports a second's worth of modules when its first optimizer and loader are made.
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])
    next(iter(DataLoader(checks.learnable(2, 0), batch_size=2)))
    _project_modules()
    # What is imported so far lives as long as the grader: the garbage collector of each forked
    # item leaves it alone instead of touching (so copying) every page of it.
    gc.freeze()


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


def reference_path() -> Path:
    """Where the reference of this version of the project's code is kept."""
    digest = hashlib.sha256(torch.__version__.encode())
    for path in sorted([PROJECT / "mlp.py", PROJECT / "main.py",
                        *(PROJECT / "workshop").rglob("*.py")]):
        digest.update(path.read_bytes())
    return RunOptions().cache_dir / f"grader-reference-{digest.hexdigest()[:32]}.json"


def reference(folder: Path, sweeps: dict[str, Callable]) -> dict[str, dict]:
    """What this project's completion gives for each item (checks.reference, run in folder),
    kept in the feature cache's folder under a hash of the project's code: made once for each
    version of it."""
    cached = reference_path()
    with contextlib.suppress(OSError, ValueError):
        return json.loads(cached.read_text())
    folder.mkdir(parents=True, exist_ok=True)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        expected = checks.reference(project(folder, sweeps))  # its lines are not the grades
    with contextlib.suppress(OSError):  # a folder it cannot write: made again next time
        text = json.dumps(expected)
        atomic_write(cached, lambda tmp: tmp.write_text(text))
    return expected


def grade(submissions: list[Found], rubric: Rubric, at_once: int,
          sweeps: dict[str, Callable],
          progress: Callable[[Found, dict[str, Score]], object] | None = None
          ) -> Iterator[tuple[Found, list[Score]]]:
    """Each submission with its scores, item by item, as its last item finishes: every item
    probed in a sandbox on a copy of its own, at_once at a time, and judged here against what
    this project's completion (its mlp, and main.py's sweeps) gives. progress(submission, its
    scores so far) follows each item."""
    warm_up()
    staging = Path(tempfile.mkdtemp(prefix="hw3-grade-"))
    try:
        expected = reference(staging / "project", sweeps)
        private = (staging, *(submission.path.resolve() for submission in submissions))
        tasks, scores = [], {submission.id: {} for submission in submissions}
        for index, submission in enumerate(submissions):
            for item, found in _plan(submission, staging / str(index), rubric, private):
                if isinstance(found, Score):
                    scores[submission.id][item] = found
                else:
                    tasks.append(found)
        for submission in submissions:  # graded already: nothing found that an item could run
            if len(scores[submission.id]) == len(checks.ITEMS):
                yield submission, [scores[submission.id][name] for name in checks.ITEMS]
        by_id = {submission.id: submission for submission in submissions}
        for task, items, ran in _run(tasks, at_once):
            submission_id = task.key
            for item in items:
                scores[submission_id][item] = score(item, rubric.points[item], ran,
                                                    expected[item])
            if progress is not None:
                progress(by_id[submission_id], scores[submission_id])
            if len(scores[submission_id]) == len(checks.ITEMS):
                ordered = [scores[submission_id][name] for name in checks.ITEMS]
                yield by_id[submission_id], ordered
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _run(tasks: list[sandbox.Task], at_once: int
         ) -> Iterator[tuple[sandbox.Task, tuple[str, ...], sandbox.Ran]]:
    """Each task's items with how they ended, as each ends. A task of several items that does
    not finish (it crashed, ended the program, ran out of time) is run again, an item a task,
    so that one item's trouble costs the others nothing."""
    while tasks:
        again = []
        for task, ran in sandbox.run_many(tasks, at_once):
            items = task.args[0]
            if len(items) > 1 and ran.error:  # not an import that failed: that fails them all
                for item in items:  # each in a folder of its own, copied anew
                    folder = task.folder.with_name(re.sub(r"\W+", "_", item) + "-alone")
                    again.append(replace(task, args=((item,), str(folder)), folder=folder))
                continue
            yield task, items, ran
        tasks = again


def _plan(submission: Found, staging: Path, rubric: Rubric, private: tuple[Path, ...]
          ) -> Iterator[tuple[str, Score | sandbox.Task]]:
    """For each item: its Score if it is not graded, else the sandbox Task that grades it with
    the other items it is run with (on a copy of the submission of its own, made when it runs,
    out of reach of the others): the sweeps each alone (they run longest), the rest together."""
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
            yield item, Score(item, "NOT GRADED", 0.0, points, why)
        else:
            graded.append(item)
    together = tuple(item for item in graded if checks.ITEMS[item].needs == ("mlp",))
    for items in [together] * bool(together) + [(item,) for item in graded
                                                 if item not in together]:
        folder = staging / re.sub(r"\W+", "_", items[0])
        yield items[0], sandbox.Task(submission.id, grade_items, (items, str(folder)), folder,
                                     rubric.limits, source=home, private=private)


def score(item: str, points: float, ran: sandbox.Ran, expected: dict) -> Score:
    """An item's score: how its sandbox ended, and what its judge makes of what it observed
    (a judge that fails leaves the item to a person: NEEDS A LOOK)."""
    value = ran.value if isinstance(ran.value, dict) else {}
    error = ran.error or value.get("error")
    if error:
        return Score(item, "ERROR", 0.0, points, error, ran.output)
    try:
        verdict = checks.ITEMS[item].judge(value["observed"][item], expected)
    except Exception as error:  # the grader's own bug, or data it did not foresee
        return Score(item, NEEDS_LOOK, 0.0, points,
                     f"the grader could not judge this item ({type(error).__name__}: {error}); "
                     f"a person should look at it", ran.output)
    notes = "".join(f"\nNote: {note}" for note in dict.fromkeys(verdict.notes))
    if verdict.passed == verdict.cases:
        return Score(item, "PASS", points, points, f"all {verdict.cases} cases pass{notes}",
                     ran.output)
    feedback = verdict.feedback
    lines = [f"- {line}" + (f" ({feedback.count(line)} cases)" if feedback.count(line) > 1 else "")
             for line in dict.fromkeys(feedback)]
    return Score(item, "FAIL", round(points * verdict.passed / verdict.cases, 2), points,
                 "\n".join([f"{verdict.passed} of {verdict.cases} cases pass:", *lines]) + notes,
                 ran.output)
