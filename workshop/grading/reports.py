"""What grading prints and writes: a submission's lines on the console, its report.md, its
results.json in Gradescope's format (partial, as its items finish, or whole), and its row of
grades.csv (the other rows kept)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from workshop.files import atomic_write
from workshop.grading import checks
from workshop.grading.grade import NEEDS_LOOK, Found, Score

SHOWN_OUTPUT = 4000  # characters of what an item printed, kept in its report


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


def report_markdown(submission: Found, scores: list[Score]) -> str:
    """report.md: the points of each item, then for each that lost points what was wrong and
    what the submission printed meanwhile; notes on style that changes nothing."""
    total, most = sum(s.points for s in scores), sum(s.most for s in scores)
    lines = [f"# {submission.id}: {total:g} / {most:g}", "",
             f"Graded by `python main.py grade` from {submission.path.name}. Each item calls "
             f"the submission's own functions on tiny inputs and compares what comes back with "
             f"what this project's own completion gives.", "",
             "| item | status | points |", "| --- | --- | --- |",
             *(f"| {s.item} | {s.status} | {s.points:g} / {s.most:g} |" for s in scores)]
    for s in scores:
        if s.status != "PASS" or "\nNote: " in s.why:
            lines += ["", f"## {s.item}: {s.status}", "", s.why]
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
                       "output": s.why + (f"\n\nWhat it printed:\n\n```\n{_printed(s)}\n```"
                                          if _printed(s) else ""),
                       "output_format": "md", "visibility": "visible"} for s in scores]}


def write_json(path: Path, content: dict) -> None:
    """A JSON file, written whole."""
    text = json.dumps(content, indent=1) + "\n"
    atomic_write(path, lambda tmp: tmp.write_text(text))


def write_grades(out: Path, submission: Found, scores: list[Score], seconds: float) -> None:
    """The submission's report.md and results.json in out/<id>/, and its row of out/grades.csv
    (the rows of other submissions, from this run or an earlier one, stay)."""
    folder = out / submission.id
    report = report_markdown(submission, scores)
    atomic_write(folder / "report.md", lambda tmp: tmp.write_text(report))
    write_json(folder / "results.json", gradescope(scores, seconds))
    header = ["submission", "user_id", "submission_id", *checks.ITEMS, "total"]
    rows = {}
    if (out / "grades.csv").is_file():
        with open(out / "grades.csv", newline="") as file:
            rows = {row["submission"]: row for row in csv.DictReader(file)}
    rows[submission.id] = {"submission": submission.id, "user_id": submission.user_id,
                           "submission_id": submission.submission_id,
                           **{s.item: f"{s.points:g}" + (" (needs a look)" if s.status ==
                                                         NEEDS_LOOK else "") for s in scores},
                           "total": f"{sum(s.points for s in scores):g}"}
    text = io.StringIO()
    writer = csv.DictWriter(text, header, extrasaction="ignore", restval="")
    writer.writeheader()
    writer.writerows(rows.values())
    atomic_write(out / "grades.csv", lambda tmp: tmp.write_text(text.getvalue()))
