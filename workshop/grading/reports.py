"""What grading prints and writes: the run's record (grading.json: the draw of inputs, so that
a regrade into the same folder gives the same verdicts), a submission's lines on the console,
its report.md, its results.json in Gradescope's format (partial, as its items finish, or
whole), and its row of grades.csv (the other rows kept, each naming the run that graded it)."""

from __future__ import annotations

import csv
import dataclasses
import datetime
import io
import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from workshop.data import DataError
from workshop.files import atomic_write
from workshop.grading import checks
from workshop.grading.grade import Rubric, Score, Status
from workshop.grading.uploads import Layout, Upload

SHOWN_OUTPUT = 4000  # characters of what an item printed, kept in its report


@dataclass(frozen=True)
class GradingRun:
    """One run of the grader: when it started (its id in grades.csv), the seed its inputs are
    drawn from, and the boundary its tasks ran behind."""

    started: str
    draw: int
    boundary: str


def start_run(out: Path, boundary: str) -> GradingRun:
    """This run: the draw recorded in out/grading.json by an earlier run (a regrade gives the
    same verdicts), or a new one drawn from a secret and recorded there."""
    record = out / "grading.json"
    try:
        draw = int(json.loads(record.read_text())["draw"])
    except FileNotFoundError:
        draw = secrets.randbits(62)
        write_json(record, {"draw": draw})
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise DataError(f"{record} is not the grader's record ({error!r}); move it away to "
                        f"grade with a new draw of inputs") from None
    started = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return GradingRun(started, draw, boundary)


def earlier_rows(out: Path, run: GradingRun) -> list[dict]:
    """The rows of out/grades.csv that another run graded."""
    return [row for row in read_grades(out) if row.get("run") != run.started]


def summary_lines(submission: Upload, scores: list[Score]) -> list[str]:
    """The console's lines for one submission: its total, then a line per item."""
    total, most = sum(s.points for s in scores), sum(s.most for s in scores)
    lines = [f"{submission.id}: {total:g} / {most:g}"]
    for s in scores:
        first = " ".join(s.why.split("\n- ", 1)[-1].split())  # its first case, on one line
        why = "" if s.status == Status.PASS else f"  {shortened(first, 150)}"
        lines.append(f"  {s.status:<12} {s.points:>5g} / {s.most:<3g} {s.item}{why}")
    return lines


def shortened(text: str, most: int) -> str:
    """text in at most about most characters, cut between words ("..." where it was cut)."""
    return text if len(text) <= most else text[:most].rsplit(" ", 1)[0] + " ..."


def _printed(s: Score) -> str:
    """What an item that lost points printed, for its report ('' if nothing)."""
    shown = s.status != Status.PASS and s.output.strip()
    return s.output.rstrip()[-SHOWN_OUTPUT:] if shown else ""


def report_markdown(submission: Upload, layout: Layout, scores: list[Score],
                    run: GradingRun) -> str:
    """report.md: the files graded, the points of each item, then for each that lost points (or
    asks a person to look, or was regraded) what was wrong and what the submission printed
    meanwhile; notes on style that changes nothing."""
    total, most = sum(s.points for s in scores), sum(s.most for s in scores)
    graded = ", ".join(layout.graded) or "none (see below)"
    lines = [f"# {submission.id}: {total:g} / {most:g}", "",
             f"Graded by `python main.py grade` from {submission.path.name} at {run.started}"
             f"{' (handed in late)' * submission.late}: {graded}. Each item calls the "
             f"submission's own functions on tiny inputs drawn for this run and compares what "
             f"comes back with what this project's own completion gives.", "",
             f"Boundary: {run.boundary}.", "",
             *([f"NEEDS A LOOK: {layout.look}.", ""] if layout.look else []),
             "| item | status | points |", "| --- | --- | --- |",
             *(f"| {s.item} | {s.status}{' (needs a look)' * bool(s.look)} | "
               f"{s.points:g} / {s.most:g} |" for s in scores)]
    for s in scores:
        if s.status != Status.PASS or "\nNote: " in s.why or s.look:
            lines += ["", f"## {s.item}: {s.status}", "", s.why]
            lines += [f"\nNEEDS A LOOK: {s.look}"] if s.look else []
            if _printed(s):
                lines += ["", "What it printed:", "", "```", _printed(s), "```"]
    return "\n".join(lines) + "\n"


def gradescope(scores: list[Score], seconds: float, rubric: Rubric,
               pending: list[str] = ()) -> dict:
    """results.json in Gradescope's autograder format (pending: items not graded yet), each
    item with the rubric's visibility; the output every student sees names the visible items
    alone."""
    total, most = sum(s.points for s in scores), sum(s.most for s in scores)
    shown = [s for s in scores if rubric.visibility.get(s.item, "visible") == "visible"]
    said = (f"**{total:g} / {most:g}**" + (f" so far; still grading {len(pending)} items"
                                          if pending else "") + "\n\n" + "\n".join(
        f"- {s.item}: {s.status}, {s.points:g} / {s.most:g}" for s in shown))
    return {"score": total, "execution_time": round(seconds, 1), "output": said,
            "output_format": "md", "test_output_format": "md", "visibility": "visible",
            "stdout_visibility": rubric.stdout_visibility,
            "tests": [{"name": s.item, "score": s.points, "max_score": s.most,
                       "status": "passed" if s.status == Status.PASS else "failed",
                       "output": s.why + (f"\n\nNEEDS A LOOK: {s.look}" if s.look else "")
                       + (f"\n\nWhat it printed:\n\n```\n{_printed(s)}\n```"
                          if _printed(s) else ""),
                       "output_format": "md",
                       "visibility": rubric.visibility.get(s.item, "visible"),
                       "failures": [dataclasses.asdict(failure) for failure in s.failures],
                       "needs_a_look": s.look} for s in scores]}


def write_json(path: Path, content: dict) -> None:
    """A JSON file, written whole."""
    text = json.dumps(content, indent=1) + "\n"
    atomic_write(path, lambda tmp: tmp.write_text(text))


COLUMNS = ["submission", "user_id", "submission_id", "late", "files", *checks.ITEMS, "total",
           "needs_a_look", "regraded", "failures", "run"]


def write_grades(out: Path, submission: Upload, layout: Layout, scores: list[Score],
                 seconds: float, run: GradingRun, rubric: Rubric) -> None:
    """The submission's report.md and results.json in out/<id>/, and its row of out/grades.csv
    (the rows of other submissions, from this run or an earlier one, stay, each with its
    run)."""
    folder = out / submission.id
    report = report_markdown(submission, layout, scores, run)
    atomic_write(folder / "report.md", lambda tmp: tmp.write_text(report))
    write_json(folder / "results.json", gradescope(scores, seconds, rubric))
    rows = {row["submission"]: row for row in read_grades(out)}
    exported = ", ".join(path.name for _, path in submission.files)
    rows[submission.id] = {
        "submission": submission.id, "user_id": submission.user_id,
        "submission_id": submission.submission_id, "late": "late" * submission.late,
        "files": exported or ", ".join(layout.graded),
        **{s.item: f"{s.points:g}" for s in scores},
        "total": f"{sum(s.points for s in scores):g}",
        "needs_a_look": "; ".join(s.item for s in scores
                                  if s.status == Status.NEEDS_LOOK or s.look),
        "regraded": "; ".join(f"{s.item}: {s.regraded}" for s in scores if s.regraded),
        "failures": "; ".join(dict.fromkeys(
            f"{s.item}: {failure.kind}" + (f" ({failure.hint})" if failure.hint else "")
            for s in scores for failure in s.failures)),
        "run": run.started}
    text = io.StringIO()
    writer = csv.DictWriter(text, COLUMNS, extrasaction="ignore", restval="")
    writer.writeheader()
    writer.writerows(rows.values())
    atomic_write(out / "grades.csv", lambda tmp: tmp.write_text(text.getvalue()))


def read_grades(out: Path) -> list[dict]:
    """The rows of out/grades.csv ([] if there is none)."""
    if not (out / "grades.csv").is_file():
        return []
    with open(out / "grades.csv", newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


# A TA's regrades: a CSV of submission, item, points, reason, applied over the automatic scores.
OVERRIDE_COLUMNS = ("submission", "item", "points", "reason")


def read_overrides(path: Path, rubric: Rubric) -> dict[tuple[str, str], tuple[float, str]]:
    """A regrades file: (submission, item) -> (points, reason); a one-line error for a file
    that is not one."""
    try:
        with open(path, newline="", encoding="utf-8") as file:
            rows = list(csv.DictReader(file))
        found = {}
        for number, row in enumerate(rows, start=2):
            points = float(row["points"])
            if row["item"] not in rubric.points or not 0 <= points <= rubric.points[row["item"]]:
                raise ValueError(f"line {number}: {row['item']!r} {points:g} is not an item and "
                                 f"its points (0 to the rubric's)")
            found[(row["submission"], row["item"])] = (points, row["reason"].strip())
        return found
    except OSError as error:
        raise DataError(f"cannot read the regrades {path} ({error.strerror})") from None
    except (KeyError, ValueError, TypeError, AttributeError) as error:
        raise DataError(f"the regrades {path} are not a CSV of {', '.join(OVERRIDE_COLUMNS)} "
                        f"({error})") from None


def regrade(submission: Upload, scores: list[Score],
            overrides: dict[tuple[str, str], tuple[float, str]]) -> list[Score]:
    """The scores with a TA's regrades applied, each saying so and why."""
    changed = []
    for s in scores:
        points, reason = overrides.get((submission.id, s.item), (None, ""))
        changed.append(s if points is None else dataclasses.replace(
            s, points=points, regraded=reason,
            why=f"{s.why}\nRegraded by a TA to {points:g} (the grader gave {s.points:g}): "
                f"{reason}"))
    return changed


def write_gradebook(out: Path, assignment: str) -> bool:
    """out/gradebook.csv, Canvas's gradebook import: Student, ID, SIS User ID, SIS Login ID,
    Section, then the assignment's column, for each row of grades.csv with a Canvas user id;
    whether there was any."""
    rows = [row for row in read_grades(out) if row.get("user_id")]
    if not rows:
        return False
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", assignment])
    writer.writerows([row["submission"], row["user_id"], "", "", "", row["total"]]
                     for row in rows)
    atomic_write(out / "gradebook.csv", lambda tmp: tmp.write_text(text.getvalue()))
    return True
