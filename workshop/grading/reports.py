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

from workshop.files import atomic_write
from workshop.grading import checks
from workshop.grading.grade import NEEDS_LOOK, Found, Score
from workshop.runs.sources import DataError

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
    with open(out / "grades.csv", newline="") as file:
        return [row for row in csv.DictReader(file) if row.get("run") != run.started]


def summary_lines(submission: Found, scores: list[Score]) -> list[str]:
    """The console's lines for one submission: its total, then a line per item."""
    total, most = sum(s.points for s in scores), sum(s.most for s in scores)
    lines = [f"{submission.id}: {total:g} / {most:g}"]
    for s in scores:
        first = " ".join(s.why.split("\n- ", 1)[-1].split())  # its first case, on one line
        why = "" if s.status == "PASS" else f"  {first[:150]}{'...' * (len(first) > 150)}"
        lines.append(f"  {s.status:<12} {s.points:>5g} / {s.most:<3g} {s.item}{why}")
    return lines


def _printed(s: Score) -> str:
    """What an item that lost points printed, for its report ('' if nothing)."""
    return s.output.rstrip()[-SHOWN_OUTPUT:] if s.status != "PASS" and s.output.strip() else ""


def report_markdown(submission: Found, scores: list[Score], run: GradingRun) -> str:
    """report.md: the points of each item, then for each that lost points (or asks a person to
    look) what was wrong and what the submission printed meanwhile; notes on style that changes
    nothing."""
    total, most = sum(s.points for s in scores), sum(s.most for s in scores)
    lines = [f"# {submission.id}: {total:g} / {most:g}", "",
             f"Graded by `python main.py grade` from {submission.path.name} at {run.started}. "
             f"Each item calls the submission's own functions on tiny inputs drawn for this run "
             f"and compares what comes back with what this project's own completion gives.", "",
             f"Boundary: {run.boundary}.", "",
             "| item | status | points |", "| --- | --- | --- |",
             *(f"| {s.item} | {s.status}{' (needs a look)' * bool(s.look)} | "
               f"{s.points:g} / {s.most:g} |" for s in scores)]
    for s in scores:
        if s.status != "PASS" or "\nNote: " in s.why or s.look:
            lines += ["", f"## {s.item}: {s.status}", "", s.why]
            lines += [f"\nNEEDS A LOOK: {s.look}"] if s.look else []
            if _printed(s):
                lines += ["", "What it printed:", "", "```", _printed(s), "```"]
    return "\n".join(lines) + "\n"


def gradescope(scores: list[Score], seconds: float, pending: list[str] = ()) -> dict:
    """results.json in Gradescope's autograder format (pending: items not graded yet)."""
    total, most = sum(s.points for s in scores), sum(s.most for s in scores)
    said = (f"**{total:g} / {most:g}**" + (f" so far; still grading {', '.join(pending)}"
                                          if pending else "") + "\n\n" + "\n".join(
        f"- {s.item}: {s.status}, {s.points:g} / {s.most:g}" for s in scores))
    return {"score": total, "execution_time": round(seconds, 1), "output": said,
            "output_format": "md", "test_output_format": "md", "visibility": "visible",
            "stdout_visibility": "visible",
            "tests": [{"name": s.item, "score": s.points, "max_score": s.most,
                       "status": "passed" if s.status == "PASS" else "failed",
                       "output": s.why + (f"\n\nNEEDS A LOOK: {s.look}" if s.look else "")
                       + (f"\n\nWhat it printed:\n\n```\n{_printed(s)}\n```"
                          if _printed(s) else ""),
                       "output_format": "md", "visibility": "visible",
                       "failures": [dataclasses.asdict(failure) for failure in s.failures],
                       "needs_a_look": s.look} for s in scores]}


def write_json(path: Path, content: dict) -> None:
    """A JSON file, written whole."""
    text = json.dumps(content, indent=1) + "\n"
    atomic_write(path, lambda tmp: tmp.write_text(text))


def write_grades(out: Path, submission: Found, scores: list[Score], seconds: float,
                 run: GradingRun) -> None:
    """The submission's report.md and results.json in out/<id>/, and its row of out/grades.csv
    (the rows of other submissions, from this run or an earlier one, stay, each with its
    run)."""
    folder = out / submission.id
    report = report_markdown(submission, scores, run)
    atomic_write(folder / "report.md", lambda tmp: tmp.write_text(report))
    write_json(folder / "results.json", gradescope(scores, seconds))
    header = ["submission", "user_id", "submission_id", *checks.ITEMS, "total", "failures",
              "run"]
    rows = {}
    if (out / "grades.csv").is_file():
        with open(out / "grades.csv", newline="") as file:
            rows = {row["submission"]: row for row in csv.DictReader(file)}
    rows[submission.id] = {"submission": submission.id, "user_id": submission.user_id,
                           "submission_id": submission.submission_id,
                           **{s.item: f"{s.points:g}" + (" (needs a look)" if s.status ==
                                                         NEEDS_LOOK or s.look else "")
                              for s in scores},
                           "total": f"{sum(s.points for s in scores):g}",
                           "failures": "; ".join(dict.fromkeys(
                               f"{s.item}: {failure.kind}" + (f" ({failure.hint})" if
                                                              failure.hint else "")
                               for s in scores for failure in s.failures)),
                           "run": run.started}
    text = io.StringIO()
    writer = csv.DictWriter(text, header, extrasaction="ignore", restval="")
    writer.writeheader()
    writer.writerows(rows.values())
    atomic_write(out / "grades.csv", lambda tmp: tmp.write_text(text.getvalue()))
