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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from types import SimpleNamespace

import mlp
from workshop.data import DataError
from workshop.grading import checks, sandbox
from workshop.grading.launcher import Launcher, Order, outputs
from workshop.grading.uploads import Layout, Upload, unpack
from workshop.records import RunOptions

RUBRIC = Path(__file__).resolve().parent / "rubric.toml"
PROJECT = Path(__file__).resolve().parents[2]  # mlp.py, main.py and workshop/


class Status(StrEnum):
    """What became of one item of one submission."""

    PASS = "PASS"
    FAIL = "FAIL"  # some cases failed: points for the cases that passed
    ERROR = "ERROR"  # the code raised, timed out or broke the boundary
    NOT_GRADED = "NOT GRADED"  # no points in the rubric, or the files it needs are missing
    NEEDS_LOOK = "NEEDS A LOOK"  # the grader could not judge; a person should


@dataclass(frozen=True)
class Rubric:
    """Each item's points (0: not graded), the limits each runs under, who sees each item's
    results on Gradescope (an item not named: visible), and who sees what the grader printed."""

    points: dict[str, float]
    limits: sandbox.Limits
    visibility: dict[str, str] = field(default_factory=dict)
    stdout_visibility: str = "visible"


@dataclass(frozen=True)
class Score:
    """One item of one submission: its status, points, what to tell, what the code printed
    while it ran, why a person should look at it too ('' if nothing), its failed cases as
    records, and a TA's regrade."""

    item: str
    status: Status
    points: float
    most: float
    why: str
    output: str = ""
    look: str = ""
    failures: tuple[checks.Failure, ...] = ()
    regraded: str = ""  # a TA's reason for the points, where a TA changed them


VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")  # Gradescope's


def load_rubric(path: str | os.PathLike = RUBRIC) -> Rubric:
    """The rubric file: [points] of each item of checks.ITEMS, [limits], and, optionally,
    [visibility] of items (Gradescope's values) and its stdout_visibility."""
    try:
        rubric = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        points = {item: float(rubric["points"][item]) for item in checks.ITEMS}
        limits = rubric["limits"]
        shown = dict(rubric.get("visibility", {}))
        stdout = shown.pop("stdout_visibility", "visible")
        wrong = [f"{name} = {value!r}" for name, value in [*shown.items(), ("stdout", stdout)]
                 if value not in VISIBILITIES or name not in (*checks.ITEMS, "stdout")]
        if wrong:
            raise ValueError(f"[visibility] {wrong[0]}: name an item, and one of {VISIBILITIES}")
        return Rubric(points, sandbox.Limits(seconds=float(limits["seconds"]),
                                             memory_mib=int(limits["memory_mib"]),
                                             output_bytes=int(limits["output_kib"]) * 1024),
                      shown, stdout)
    except OSError as error:
        raise DataError(f"cannot read the rubric {path} ({error.strerror})") from None
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as error:
        raise DataError(f"the rubric {path} is not valid ({error}); it needs a [points] table "
                        f"with a number for each of: {', '.join(checks.ITEMS)}, and [limits] "
                        f"of seconds, memory_mib and output_kib") from None


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


def grade(submissions: list[Upload], rubric: Rubric, at_once: int,
          sweeps: dict[str, Callable], draw: checks.Draw,
          progress: Callable[[Upload, dict[str, Score]], object] | None = None
          ) -> Iterator[tuple[Upload, Layout, list[Score]]]:
    """Each submission with where its files were found and its scores, item by item, as its
    last item finishes: every item probed on the draw's inputs in a sandbox on a copy of its
    own, at_once at a time, and judged here against what this project's completion (its mlp,
    and main.py's sweeps) gives on them. progress(submission, its scores so far) follows each
    item."""
    with Launcher() as launcher, _staging() as staging:  # the launcher first: it holds nothing
        expected = reference(staging / "project", sweeps, draw)
        private = (staging, *(submission.path.resolve() for submission in submissions))
        orders, scores, layouts = [], {s.id: {} for s in submissions}, {}
        for index, submission in enumerate(submissions):
            layouts[submission.id], planned = _plan(submission, staging / str(index), rubric,
                                                    private, draw)
            for item, found in planned:
                if isinstance(found, Score):
                    scores[submission.id][item] = found
                else:
                    orders.append(found)
        by_id = {submission.id: submission for submission in submissions}
        for submission in submissions:  # graded already: nothing found that an item could run
            if len(scores[submission.id]) == len(checks.ITEMS):
                yield submission, layouts[submission.id], _ordered(scores[submission.id])
        for order, ran in _run(launcher, orders, at_once):
            for item in order.items:
                scored = score(item, rubric.points[item], ran, expected[item], draw)
                looks = filter(None, [scored.look, layouts[order.key].look])
                scores[order.key][item] = replace(scored, look="; ".join(looks))
            if progress is not None:
                progress(by_id[order.key], scores[order.key])
            if len(scores[order.key]) == len(checks.ITEMS):
                shutil.rmtree(Path(order.folder).parent, ignore_errors=True)  # its staged copy
                yield by_id[order.key], layouts[order.key], _ordered(scores[order.key])


def _ordered(scores: dict[str, Score]) -> list[Score]:
    """The scores in the rubric's order."""
    return [scores[name] for name in checks.ITEMS]


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


def _plan(submission: Upload, staging: Path, rubric: Rubric, private: tuple[Path, ...],
          draw: checks.Draw) -> tuple[Layout, list[tuple[str, Score | Order]]]:
    """Where the submission's files are, and for each item: its Score if it is not graded, else
    the Order of the task that grades it with the other items it is run with (on a copy of the
    submission of its own, made when it runs, out of reach of the others): the sweeps each
    alone (they run longest), the rest together."""
    try:
        layout, trouble = unpack(submission, staging / "submission"), None
    except DataError as error:
        layout, trouble = Layout(None, (), ()), str(error)
    home, planned, graded = layout.home, [], []
    for item, spec in checks.ITEMS.items():
        points = rubric.points[item]
        missing = [f"{name}.py" for name in spec.needs
                   if home is None or not (home / f"{name}.py").is_file()]
        if points == 0 or trouble or missing:
            found = f"; the Python files found: {', '.join(layout.python) or 'none'}"
            why = ("0 points in the rubric" if points == 0 else trouble or
                   f"no {missing[0]} in the submission" + (" beside mlp.py" if home else "")
                   + found)
            planned.append((item, Score(item, Status.NOT_GRADED, 0.0, points, why,
                                        failures=(checks.Failure(item, "not graded", why),))))
        else:
            graded.append(item)
    together = tuple(item for item in graded if checks.ITEMS[item].needs == ("mlp",))
    for items in [together] * bool(together) + [(item,) for item in graded
                                                 if item not in together]:
        folder = staging / re.sub(r"\W+", "_", items[0])
        planned.append((items[0], Order(submission.id, items, str(folder), str(home), draw.seed,
                                        rubric.limits, tuple(map(str, private)))))
    return layout, planned


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
        return Score(item, Status.ERROR, 0.0, points, error, output, look, (failure,))
    try:
        verdict = checks.ITEMS[item].judge(value["observed"][item], expected, draw)
    except Exception as error:  # the grader's own bug, or data it did not foresee
        return Score(item, Status.NEEDS_LOOK, 0.0, points,
                     f"the grader could not judge this item ({type(error).__name__}: {error}); "
                     f"a person should look at it", output)
    look = "; ".join([*dict.fromkeys(verdict.look), *[look] * bool(look)])
    notes = "".join(f"\nNote: {note}" for note in dict.fromkeys(verdict.notes))
    if verdict.passed >= verdict.cases - 1e-9:
        return Score(item, Status.PASS, points, points, f"every case passes{notes}", output, look)
    said = [failure.line for failure in verdict.failures]
    lines = [f"- {line}" + (f" ({said.count(line)} cases)" if said.count(line) > 1 else "")
             for line in dict.fromkeys(said)]
    return Score(item, Status.FAIL, round(points * verdict.passed / verdict.cases, 2), points,
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
