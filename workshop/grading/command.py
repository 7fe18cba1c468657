"""`python main.py grade`: a folder of submissions (or a few, or a Canvas export) graded into a
grades folder, with the class's summary and the pairs that share far more code than chance; or,
with --autograder, this grader as a Gradescope autograder; with --gradescope, Gradescope's
results.json of one submission, written as its items finish.

    python main.py grade submissions/ --out grades        # a class
    python main.py grade hw3.zip --out my-grade           # a student, before handing in
    python main.py grade --autograder autograder.zip      # for Gradescope
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from workshop.data import DataError
from workshop.grading import autograder, canvas, checks, reports, sandbox, similarity, summary
from workshop.grading.grade import RUBRIC, Score, grade, load_rubric
from workshop.grading.uploads import Upload, find_submissions, unpack

SUMMARY = "Grade students' completions of the homework: points and feedback for each item."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """python main.py grade's command line."""
    parser.add_argument("paths", nargs="*", metavar="PATH",
                        help="a submission (a folder or .zip holding mlp.py and main.py, perhaps "
                             "in a subfolder) or a folder of submissions (a subfolder or .zip "
                             "each, or the files of a Canvas export)")
    parser.add_argument("--out", type=Path, default=Path("grades"),
                        help="folder for grades.csv, each submission's report.md and "
                             "results.json, and a class's summary and similarity")
    parser.add_argument("--rubric", type=Path, default=RUBRIC,
                        help="each item's points, and the time and memory each may take")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="items graded at a time")
    parser.add_argument("--similar", action="store_true",
                        help="compare the submissions' code pair by pair even when the paths "
                             "are not one folder of them (a folder always is)")
    parser.add_argument("--skeleton", type=Path, default=None,
                        help="the skeleton as handed out (a folder or file): its code never "
                             "counts as shared (default: none)")
    parser.add_argument("--autograder", type=Path, default=None, metavar="FILE.zip",
                        help="write this grader as a Gradescope autograder zip, and grade "
                             "nothing (default: none)")
    parser.add_argument("--gradescope", type=Path, default=None, metavar="RESULTS.json",
                        help="grade PATH as one submission, whatever it holds, and also write "
                             "Gradescope's results.json of it here, as each item finishes "
                             "(run_autograder's; default: none)")
    parser.add_argument("--regrades", type=Path, default=None, metavar="FILE.csv",
                        help="a TA's regrades, a CSV of submission, item, points, reason, "
                             "applied over the grader's scores (default: none)")
    parser.add_argument("--assignment", default="HW3",
                        help="the assignment's column in gradebook.csv, as Canvas names it: "
                             "'Name (id)'")


def run(args: argparse.Namespace, sweeps: dict[str, Callable]) -> None:
    """Build the autograder, or grade every submission the paths name against this project's
    sweeps (main.py's): print and write each as it finishes, then the class's summary and
    similarity."""
    if args.autograder is not None:
        names = autograder.build(args.autograder, args.rubric)
        print(f"written {args.autograder}: {len(names)} files, setup.sh and run_autograder at "
              f"its root")
        return
    if not args.paths:
        raise DataError("name the submissions to grade (PATH...), or --autograder FILE.zip")
    try:
        graded = grade_all(args, sweeps)
    except BaseException as error:
        if args.gradescope is not None:  # a grade and its reason, whatever happened
            reports.write_json(args.gradescope, failed(error))
        raise
    whole = len(args.paths) == 1 and Path(args.paths[0]).is_dir() and len(graded) > 1
    if summary.write(args.out, list(checks.ITEMS)):
        print(f"written {args.out / 'summary.md'} and summary.png")
    if whole or (args.similar and len(graded) > 1):
        pairs = compare(graded, args.out, args.skeleton)
        print(f"written {args.out / 'similarity.md'}: {len(pairs)} pair"
              f"{'s' * (len(pairs) != 1)} for a person to read")


def grade_all(args: argparse.Namespace, sweeps: dict[str, Callable]) -> list[Upload]:
    """Grade the submissions the paths name into args.out (and, with --gradescope, the one
    submission's results there as its items finish); the submissions graded."""
    rubric = load_rubric(args.rubric)
    if args.gradescope is not None and len(args.paths) != 1:
        raise DataError(f"--gradescope grades one submission; name one PATH, not "
                        f"{len(args.paths)}")
    submissions = find_submissions(args.paths, single=args.gradescope is not None)
    overrides = {} if args.regrades is None else reports.read_overrides(args.regrades, rubric)
    skip_list(args.paths)
    run = reports.start_run(args.out, sandbox.WALL.describe())
    print(f"grading {len(submissions)} submission{'s' * (len(submissions) > 1)}: "
          f"{len(checks.ITEMS)} items each, {args.jobs} at a time, up to "
          f"{rubric.limits.seconds:g} s each\n{run.boundary}", flush=True)
    start = time.monotonic()

    def progress(submission: Upload, scores: dict[str, Score]) -> None:
        if args.gradescope is not None:
            pending = [item for item in checks.ITEMS if item not in scores]
            reports.write_json(args.gradescope, reports.gradescope(
                list(scores.values()), time.monotonic() - start, rubric, pending))

    for submission, layout, scores in grade(submissions, rubric, max(args.jobs, 1),
                                            sweeps, checks.Draw(run.draw), progress):
        scores = reports.regrade(submission, scores, overrides)
        reports.write_grades(args.out, submission, layout, scores, time.monotonic() - start,
                             run, rubric)
        if args.gradescope is not None:
            reports.write_json(args.gradescope, reports.gradescope(
                scores, time.monotonic() - start, rubric))
        print("\n".join(reports.summary_lines(submission, scores)), flush=True)
    written(args, run)
    return submissions


def written(args: argparse.Namespace, run: reports.GradingRun) -> None:
    """Say what was written for the class, write Canvas's gradebook, and name the rows of
    grades.csv that earlier runs graded."""
    print(f"written {args.out / 'grades.csv'} and a report.md and results.json for each in "
          f"{args.out}/")
    if reports.write_gradebook(args.out, args.assignment):
        print(f"written {args.out / 'gradebook.csv'}, Canvas's gradebook import")
    earlier = reports.earlier_rows(args.out, run)
    if earlier:
        print(f"grades.csv keeps {len(earlier)} rows graded by earlier runs (its 'run' column): "
              + ", ".join(f"{row['submission']} ({row['run'] or 'unknown'})"
                          for row in earlier[:10]) + " ..." * (len(earlier) > 10))


def skip_list(paths: list[str]) -> None:
    """Say which files of a Canvas export no submission takes, and why."""
    for path in map(Path, paths):
        students = canvas.exported(path) if path.is_dir() else []
        for name, why in canvas.skipped(path, students) if students else []:
            print(f"skipped {path / name}: {why}")


def failed(error: BaseException) -> dict:
    """Gradescope's results.json when grading itself failed: 0 points, and why."""
    gist = "".join(traceback.format_exception_only(type(error), error)).strip()
    return {"score": 0, "output": f"The autograder could not grade this submission: {gist}. "
                                  f"Your instructor can rerun it.", "output_format": "md",
            "tests": []}


def compare(submissions: list[Upload], out: Path, skeleton: Path | None) -> list:
    """similarity.md in out, each submission's code read from a fresh unpacking."""
    with tempfile.TemporaryDirectory(prefix="hw3-similar-") as scratch:
        homes = {}
        for index, submission in enumerate(submissions):
            try:
                homes[submission.id] = unpack(submission, Path(scratch) / str(index)).home
            except DataError:
                homes[submission.id] = None
        return similarity.write(out, homes, skeleton)
