"""A class's summary, from every submission's results.json in a grades folder: summary.md (the
totals, each item's share of full, partial and zero scores, and each item's most frequent
failures, grouped by their records' kind and hint, never by their wording, with how many
submissions share each and one of them) and summary.png (a histogram of the totals, a bar of
shares per item)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from workshop.files import atomic_write, save_figure

SHOWN = 5  # kinds of failure listed per item


@dataclass(frozen=True)
class Graded:
    """One submission's results: its id, total, and each item's (score, most, the kinds of its
    failures)."""

    id: str
    total: float
    most: float
    items: dict[str, tuple[float, float, list[str]]]


def read(out: Path) -> list[Graded]:
    """Every submission graded into out (its results.json), by id."""
    found = []
    for path in sorted(out.glob("*/results.json")):
        try:
            tests = json.loads(path.read_text())["tests"]
        except (OSError, ValueError, KeyError):
            continue
        items = {test["name"]: (test["score"], test["max_score"],
                                [kind(failure) for failure in test.get("failures", [])])
                 for test in tests}
        found.append(Graded(path.parent.name, sum(score for score, _, _ in items.values()),
                            sum(most for _, most, _ in items.values()), items))
    return found


def kind(failure: dict) -> str:
    """A failure's kind, as its record gives it: its kind, and the slip or hint it matches."""
    depends = f" (see {', '.join(failure['depends_on'])})" if failure.get("depends_on") else ""
    return failure["kind"] + (f": {failure['hint']}" if failure.get("hint") else "") + depends


def failures(graded: list[Graded], item: str) -> list[tuple[str, int, str]]:
    """The kinds of failure of an item: (kind, how many submissions, one of them), the most
    frequent first."""
    seen: dict[str, list[str]] = {}
    for submission in graded:
        score, most, kinds = submission.items.get(item, (0, 0, []))
        if score >= most:
            continue
        for found in dict.fromkeys(kinds):
            seen.setdefault(found, []).append(submission.id)
    ranked = sorted(seen.items(), key=lambda pair: (-len(pair[1]), pair[0]))
    return [(found, len(ids), ids[0]) for found, ids in ranked]


def shares(graded: list[Graded], item: str) -> tuple[int, int, int]:
    """How many submissions got full, partial and zero points on the item."""
    scores = [submission.items[item][:2] for submission in graded if item in submission.items]
    full = sum(score >= most for score, most in scores)
    zero = sum(score == 0 < most for score, most in scores)
    return full, len(scores) - full - zero, zero


def markdown(graded: list[Graded], items: list[str]) -> str:
    """summary.md."""
    totals = [submission.total for submission in graded]
    lines = [f"# Class summary: {len(graded)} submissions", "",
             f"Totals: mean {sum(totals) / len(totals):.1f}, median "
             f"{sorted(totals)[len(totals) // 2]:g}, lowest {min(totals):g}, highest "
             f"{max(totals):g} (of {max(s.most for s in graded):g}); "
             f"{sum(t >= s.most for t, s in zip(totals, graded, strict=True))} full marks.", "",
             "![totals and items](summary.png)", "",
             "| item | full | partial | zero |", "| --- | --- | --- | --- |"]
    lines += [f"| {item} | " + " | ".join(map(str, shares(graded, item))) + " |"
              for item in items]
    for item in items:
        listed = failures(graded, item)[:SHOWN]
        if listed:
            lines += ["", f"## {item}", "", "| submissions | what went wrong | for example |",
                      "| --- | --- | --- |"]
            lines += [f"| {count} | {found.replace('|', '/')} | {example} |"
                      for found, count, example in listed]
    return "\n".join(lines) + "\n"


def plot(graded: list[Graded], items: list[str], path: Path) -> None:
    """summary.png: a histogram of the totals, and a bar per item of its shares."""
    fig = Figure(figsize=(12, 4.2), layout="constrained")  # the item names clear of the totals
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.4]})
    most = max(submission.most for submission in graded)
    left.hist([submission.total for submission in graded], bins=range(0, int(most) + 6, 5),
              color="C0", edgecolor="white")
    left.set(xlabel="total points", ylabel="submissions", title="Totals")
    left.yaxis.set_major_locator(MaxNLocator(integer=True))  # no half a submission
    counts = [shares(graded, item) for item in items]
    start = [0] * len(items)
    for index, (label, color) in enumerate((("full", "C2"), ("partial", "C1"), ("zero", "C3"))):
        values = [row[index] / max(sum(row), 1) for row in counts]
        right.barh(items, values, left=start, color=color, label=label)
        start = [a + b for a, b in zip(start, values, strict=True)]
    right.invert_yaxis()
    right.set(xlim=(0, 1), xlabel="share of submissions", title="Each item")
    right.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
    save_figure(fig, path)


def write(out: Path, items: list[str]) -> bool:
    """summary.md and summary.png in out, from every submission graded there (two or more);
    whether they were written."""
    graded = read(out)
    if len(graded) < 2:
        return False
    text = markdown(graded, items)
    atomic_write(out / "summary.md", lambda tmp: tmp.write_text(text))
    plot(graded, items, out / "summary.png")
    return True
