"""A sweep's results as they finish: results.json (records.save_sweep) and results.md, its tables,
rewritten from every sweep recorded; the line printed as each configuration finishes."""

from __future__ import annotations

import os
import statistics
from collections.abc import Sequence
from pathlib import Path

from workshop.files import atomic_write
from workshop.records import ConfigResult, SweepResult, load_sweeps, save_sweep

MARKDOWN_FILE = "results.md"  # beside results.json


def mean_std(values: Sequence[float | None]) -> str:
    """'0.7710 ± 0.0009' over the values that exist (one value: no ±; none: 'n/a')."""
    values = [value for value in values if value is not None]
    if len(values) < 2:
        return f"{values[0]:.4f}" if values else "n/a"
    return f"{statistics.fmean(values):.4f} ± {statistics.stdev(values):.4f}"


def record(folder: str | os.PathLike, sweep: str, result: SweepResult) -> None:
    """Store one sweep in folder/results.json and rewrite results.md; the other sweeps stay."""
    save_sweep(folder, sweep, result)
    text = results_markdown(load_sweeps(folder))
    atomic_write(Path(folder) / MARKDOWN_FILE, lambda tmp: tmp.write_text(text))


def summary_line(sweep: str, result: ConfigResult) -> str:
    """The line printed as a configuration finishes: its best dev and test accuracy."""
    runs = result.runs
    return (f"{sweep:>14} | {result.config.name:<18} "
            f"| best dev acc {mean_std([run.best_dev_acc for run in runs])} "
            f"| test acc {mean_std([run.test_acc for run in runs])}")


def results_markdown(sweeps: dict[str, SweepResult]) -> str:
    """One table per sweep: mean ± std over seeds of each configuration's headline numbers."""
    lines = ["# Results", ""]
    for sweep, entry in sweeps.items():
        command = f"`{entry.command}`" if entry.command else "Run from Python"
        lines += [f"## {sweep}" + ("" if entry.complete else " (incomplete)"), "",
                  f"{command} on {entry.machine}: {entry.epochs} epochs, seeds {entry.seeds}, "
                  f"dev/train/test {entry.sizes} reviews. Accuracies and losses: mean ± std over "
                  f"the seeds; best epochs: each seed's; seconds: all seeds' runs added up.", "",
                  "| config | best dev acc | best epoch, per seed | dev loss at the last "
                  "epoch | test acc | seconds, all seeds together |",
                  "| --- | --- | --- | --- | --- | --- |"]
        for result in entry.configs:
            runs = result.runs
            diverged = [run.diverged_epoch for run in runs if run.diverged_epoch]
            name = result.config.name + (f" (diverged in epoch {diverged})" if diverged else "")
            lines.append(
                f"| {name} | {mean_std([run.best_dev_acc for run in runs])} "
                f"| {'/'.join(str(run.best_epoch) for run in runs)} "
                f"| {mean_std([run.dev_losses[-1] for run in runs if run.dev_losses])} "
                f"| {mean_std([run.test_acc for run in runs])} "
                f"| {sum(run.seconds for run in runs):.1f} |")
        lines.append("")
    return "\n".join(lines)
