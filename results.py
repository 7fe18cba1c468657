"""The results files: each written whole or not at all, and each updated by one read-modify-write
that keeps the entries of the other sweeps.

- results.json: every run of every sweep, epoch by epoch; results.md: their tables
- mistakes.json: what each sweep's best model gets wrong on the dev reviews; mistakes.md: shown
- atomic_write, save_figure: how every file of this project is written (plots and models too)
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import statistics
from collections.abc import Callable, Sequence
from pathlib import Path

PLOTS_DIR = Path("plots")  # relative, as in the course skeleton: ./plots of where it is run
RESULTS_FILE = "results.json"  # in the plots folder, beside its tables in results.md
MISTAKES_FILE = "mistakes.json"  # beside mistakes.md


def models_dir(plots_dir: str | os.PathLike = PLOTS_DIR) -> Path:
    """The folder where each sweep keeps its best model, <sweep>.pt (git-ignored)."""
    return Path(plots_dir) / "models"


def atomic_write(path: str | os.PathLike, write: Callable[[Path], object]) -> None:
    """Call write(tmp) on a temporary file beside path, then rename it over path.

    A crash or Ctrl-C part-way leaves the old file (or none), never a half-written one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):  # the first error is the one to see
            tmp.unlink(missing_ok=True)
        raise


def save_figure(fig: object, path: str | os.PathLike) -> None:
    """Write a matplotlib figure as a PNG, whole or not at all."""
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight"))


def read_entries(path: str | os.PathLike) -> dict:
    """The entries of a results file by sweep ({} if there is none or it is unreadable)."""
    try:
        entries = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
    return entries if isinstance(entries, dict) else {}


def update_entry(path: str | os.PathLike, sweep: str, entry: dict,
                 markdown: Callable[[dict], str]) -> dict:
    """Put one sweep's entry into the JSON file at path (the other sweeps' stay) and rewrite
    the Markdown file beside it from all entries; return all entries."""
    path = Path(path)
    entries = {**read_entries(path), sweep: entry}
    text = json.dumps(entries, indent=1, allow_nan=False) + "\n"
    atomic_write(path, lambda tmp: tmp.write_text(text))
    rendered = markdown(entries)
    atomic_write(path.with_suffix(".md"), lambda tmp: tmp.write_text(rendered))
    return entries


def mean_std(values: Sequence[float | None]) -> str:
    """'0.7710 ± 0.0009' over the values that exist (one value: no ±; none: 'n/a')."""
    values = [value for value in values if value is not None]
    if len(values) < 2:
        return f"{values[0]:.4f}" if values else "n/a"
    return f"{statistics.fmean(values):.4f} ± {statistics.stdev(values):.4f}"


# ----------------------------------------------------------------------------------------------
# results.json and results.md


def recorded(folder: str | os.PathLike) -> dict:
    """The sweeps in folder/results.json, by name ({} if there is none or it is unreadable)."""
    sweeps = read_entries(Path(folder) / RESULTS_FILE).get("sweeps", {})
    return sweeps if isinstance(sweeps, dict) else {}


def record_results(folder: str | os.PathLike, sweep: str, settings: dict, configs: list[dict],
                   complete: bool) -> None:
    """Store one sweep's configurations with their runs in folder/results.json and its table in
    results.md; the other sweeps' stay."""
    sweeps = {**recorded(folder), sweep: {"settings": settings, "complete": complete,
                                          "configs": configs}}
    # results.json holds {"sweeps": ...}: one entry, rewritten whole.
    update_entry(Path(folder) / RESULTS_FILE, "sweeps", sweeps,
                 lambda entries: results_markdown(entries["sweeps"]))


def results_markdown(sweeps: dict) -> str:
    """One table per sweep: mean ± std over seeds of each configuration's headline numbers."""
    lines = ["# Results", ""]
    for sweep, entry in sweeps.items():
        settings = entry["settings"]
        command = f"`{settings['command']}`" if settings["command"] else "Run from Python"
        lines += [f"## {sweep}" + ("" if entry["complete"] else " (incomplete)"), "",
                  f"{command} on {settings['machine']}: {settings['epochs']} epochs, seeds "
                  f"{settings['seeds']} (unless a configuration sets its own), dev/train/test "
                  f"{settings['sizes']} reviews. Accuracies and losses: mean ± std over the "
                  f"seeds; best epochs: each seed's; seconds: all seeds' runs added up.", "",
                  "| config | best dev acc | best epoch, per seed | dev loss at the last "
                  "epoch | test acc | seconds, all seeds together |",
                  "| --- | --- | --- | --- | --- | --- |"]
        for config in entry["configs"]:
            runs = config["runs"]
            diverged = [run["diverged_epoch"] for run in runs if run["diverged"]]
            name = config["name"] + (f" (diverged in epoch {diverged})" if diverged else "")
            lines.append(
                f"| {name} | {mean_std([run['best_dev_acc'] for run in runs])} "
                f"| {'/'.join(str(run['best_epoch']) for run in runs)} "
                f"| {mean_std([run['dev_losses'][-1] for run in runs if run['dev_losses']])} "
                f"| {mean_std([run['test_acc'] for run in runs])} "
                f"| {sum(run['seconds'] for run in runs):.1f} |")
        lines.append("")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# mistakes.json and mistakes.md


def record_mistakes(folder: str | os.PathLike, sweep: str, found: dict) -> None:
    """Store one sweep's mistakes in folder/mistakes.json and mistakes.md; other sweeps' stay."""
    update_entry(Path(folder) / MISTAKES_FILE, sweep, found, mistakes_markdown)


def plain(text: str) -> str:
    """A review's text as one line of plain text: no HTML line breaks, no table bars."""
    return " ".join(re.sub(r"<br\s*/?>", " ", text).split()).replace("|", "/")


def _number(value: float | None, digits: str) -> str:
    return "n/a" if value is None else f"{value:{digits}}"


def _interval(bounds: list | None, digits: str) -> str:
    return "n/a" if bounds is None else f"{bounds[0]:{digits}} to {bounds[1]:{digits}}"


def mistakes_markdown(every: dict) -> str:
    """Each sweep's best model and the dev reviews it gets most confidently wrong, and how the
    surest mistakes read beside the other dev reviews."""
    lines = ["# Mistakes", ""]
    for sweep, found in every.items():
        if "others" not in found.get("negation", {}):  # written by an earlier version
            lines += [f"## {sweep}", "", f"From an earlier version of this code: `python main.py "
                                         f"{sweep}` writes it anew.", ""]
            continue
        lines += [f"## {sweep}: {found['model']}", "",
                  f"Best dev accuracy {found['dev_acc']:.4f}: {found['mistakes']} of "
                  f"{found['dev_reviews']} dev reviews wrong.", "",
                  f"| the {found['counted']} most confident mistakes against the other dev "
                  f"reviews | mistakes | the others | difference, 95 % bootstrap interval |",
                  "| --- | --- | --- | --- |"]
        for key, words in (("negation", "a negation (not, no, never, n't...)"),
                           ("contrast", "a contrast (but, however, though...)")):
            group = {part: found[key][part] or {} for part in ("mistakes", "others")}
            lines += [f"| share with {words} | {_number(group['mistakes'].get('share'), '.0%')} "
                      f"| {_number(group['others'].get('share'), '.0%')} | |",
                      f"| {key}s per 100 words "
                      f"| {_number(group['mistakes'].get('per_100_words'), '.2f')} "
                      f"| {_number(group['others'].get('per_100_words'), '.2f')} "
                      f"| {_interval(found[key]['difference_95'], '+.2f')} |"]
        length = found["median_words"]
        lines += [f"| median length in words | {_number(length['mistakes'], 'g')} "
                  f"| {_number(length['others'], 'g')} "
                  f"| {_interval(length['difference_95'], '+g')} |", ""]
        for way, title in (("false_positives", "negative reviews called positive"),
                           ("false_negatives", "positive reviews called negative")):
            lines += [f"### {title.capitalize()}", "", "| P(positive) | review (its start) |",
                      "| --- | --- |"]
            lines += [f"| {item['p_positive']:.3f} | {plain(item['text'])} |"
                      for item in found[way]]
            lines.append("")
    return "\n".join(lines)
