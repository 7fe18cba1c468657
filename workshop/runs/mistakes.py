"""What a sweep's best model gets wrong on the dev reviews, found and written in one place:
mistakes.json (every sweep's, by name) and mistakes.md, shown. The SHOWN most confident mistakes
each way, and how the COUNTED most confident ones read beside the other dev reviews (negations,
contrasts, length), with 95 % bootstrap intervals of the differences."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

import mlp
from workshop.files import atomic_write
from workshop.models import Ready
from workshop.runs.features import Featurised

MISTAKES_FILE = "mistakes.json"  # beside mistakes.md
# Words an average of word vectors cannot read in order: the sentence turns on them.
NEGATION = re.compile(r"\b(?:not|no|never|nothing|none|nobody|neither|nor)\b|n't\b")
CONTRAST = re.compile(r"\b(?:but|however|although|though|yet|whereas)\b")
SHOWN, COUNTED, CHARACTERS = 5, 100, 300  # mistakes shown each way, counted, characters shown
RESAMPLES = 1000  # bootstrap resamples for the mistakes' 95 % intervals


def record(folder: str | os.PathLike, sweep: str, mistaken: dict) -> None:
    """Store one sweep's mistakes in folder/mistakes.json and mistakes.md; other sweeps' stay
    (an entry this version cannot show is left out of mistakes.md, and kept in the JSON)."""
    path = Path(folder) / MISTAKES_FILE
    try:
        entries = json.loads(path.read_text())
    except (OSError, ValueError):
        entries = {}
    entries = {**(entries if isinstance(entries, dict) else {}), sweep: mistaken}
    text = json.dumps(entries, indent=1, allow_nan=False) + "\n"
    atomic_write(path, lambda tmp: tmp.write_text(text))
    rendered = mistakes_markdown({name: entry for name, entry in entries.items()
                                  if isinstance(entry, dict) and _readable(entry)})
    atomic_write(path.with_suffix(".md"), lambda tmp: tmp.write_text(rendered))


def _readable(entry: dict) -> bool:
    """Whether an entry of mistakes.json has what this version shows."""
    return all(key in entry for key in ("model", "negation", "contrast", "median_words")) \
        and "others" in entry["negation"]


def find(ready: Ready, data: Featurised, raw_dev: dict) -> dict:
    """The kept model's dev mistakes: the SHOWN most confident each way, and how the COUNTED most
    confident ones read beside the other dev reviews (negations, contrasts, length), with 95 %
    bootstrap intervals of the differences."""
    reviews = featurised_reviews(data.dev, raw_dev, data.embeddings)
    inputs, labels = data.dev.tensors
    with torch.no_grad():
        positive = ready.model(inputs).softmax(dim=1)[:, 1].numpy()  # (dev reviews,)
    labels = labels.numpy()
    wrong = np.flatnonzero((positive > 0.5) != labels.astype(bool))
    ranked = wrong[np.argsort(-np.abs(positive[wrong] - 0.5), kind="stable")]  # surest first

    def shown(indices: list[int]) -> list[dict]:
        return [{"p_positive": float(positive[i]), "label": int(labels[i]),
                 "text": reviews["text"][i][:CHARACTERS]} for i in indices[:SHOWN]]

    counted = set(ranked[:COUNTED].tolist())
    texts = [text.lower() for text in reviews["text"]]
    groups = ([texts[i] for i in sorted(counted)],
              [text for i, text in enumerate(texts) if i not in counted])
    return {"model": ready.kept.name, "dev_acc": ready.kept.dev_acc,
            "dev_reviews": len(labels), "mistakes": len(wrong), "counted": len(counted),
            "false_positives": shown([i for i in ranked if labels[i] == 0]),
            "false_negatives": shown([i for i in ranked if labels[i] == 1]),
            **{name: reading(pattern, *groups) for name, pattern in (("negation", NEGATION),
                                                                     ("contrast", CONTRAST))},
            "median_words": median_words(*groups)}


def featurised_reviews(dev: torch.utils.data.TensorDataset, raw_dev: dict, embeddings) -> dict:
    """The dev texts and labels that dev's features are of (create_tensor_dataset skips the
    reviews with no known word)."""
    if len(dev) == len(raw_dev["text"]):
        return raw_dev
    keep = [mlp.featurize(text, embeddings) is not None for text in raw_dev["text"]]
    return {key: [value for value, known in zip(values, keep, strict=True) if known]
            for key, values in raw_dev.items()}


def _bootstrap(statistic: Callable[[np.ndarray], np.ndarray],
               *groups: np.ndarray) -> list | None:
    """The 95 % bootstrap interval of statistic(mistakes) - statistic(others): each group's
    rows resampled with replacement, RESAMPLES times (seeded); None if a group is empty."""
    if not all(len(group) for group in groups):
        return None
    rng = np.random.default_rng(mlp.SEED)
    mistakes, others = (statistic(group[rng.integers(len(group), size=(RESAMPLES, len(group)))])
                        for group in groups)
    return np.percentile(mistakes - others, [2.5, 97.5]).round(6).tolist()


def reading(pattern: re.Pattern, mistaken: list[str], others: list[str]) -> dict:
    """How each group of texts uses the pattern's words: the share of texts with one, and how
    many per 100 words; the 95 % interval of the difference in the latter."""
    counts = [np.array([[len(pattern.findall(text)), len(text.split())] for text in texts])
              for texts in (mistaken, others)]

    def per_100_words(rows: np.ndarray) -> np.ndarray:  # rows (..., texts, [count, words])
        return 100 * rows[..., 0].sum(axis=-1) / rows[..., 1].sum(axis=-1)

    return {**{name: {"share": float((rows[:, 0] > 0).mean()),
                      "per_100_words": float(per_100_words(rows))} if len(rows) else None
               for name, rows in zip(("mistakes", "others"), counts, strict=True)},
            "difference_95": _bootstrap(per_100_words, *counts)}


def median_words(mistaken: list[str], others: list[str]) -> dict:
    """The median length in words of each group, and the 95 % interval of their difference."""
    lengths = [np.array([len(text.split()) for text in texts]) for texts in (mistaken, others)]
    medians = [float(np.median(group)) if len(group) else None for group in lengths]
    return {"mistakes": medians[0], "others": medians[1],
            "difference_95": _bootstrap(lambda rows: np.median(rows, axis=-1), *lengths)}


def one_line(text: str) -> str:
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
    for sweep, entry in every.items():
        lines += [f"## {sweep}: {entry['model']}", "",
                  f"Best dev accuracy {entry['dev_acc']:.4f}: {entry['mistakes']} of "
                  f"{entry['dev_reviews']} dev reviews wrong.", "",
                  f"| the {entry['counted']} most confident mistakes against the other dev "
                  f"reviews | mistakes | the others | difference, 95 % bootstrap interval |",
                  "| --- | --- | --- | --- |"]
        for key, words in (("negation", "a negation (not, no, never, n't...)"),
                           ("contrast", "a contrast (but, however, though...)")):
            group = {part: entry[key][part] or {} for part in ("mistakes", "others")}
            lines += [f"| share with {words} | {_number(group['mistakes'].get('share'), '.0%')} "
                      f"| {_number(group['others'].get('share'), '.0%')} | |",
                      f"| {key}s per 100 words "
                      f"| {_number(group['mistakes'].get('per_100_words'), '.2f')} "
                      f"| {_number(group['others'].get('per_100_words'), '.2f')} "
                      f"| {_interval(entry[key]['difference_95'], '+.2f')} |"]
        length = entry["median_words"]
        lines += [f"| median length in words | {_number(length['mistakes'], 'g')} "
                  f"| {_number(length['others'], 'g')} "
                  f"| {_interval(length['difference_95'], '+g')} |", ""]
        for way, title in (("false_positives", "negative reviews called positive"),
                           ("false_negatives", "positive reviews called negative")):
            lines += [f"### {title.capitalize()}", "", "| P(positive) | review (its start) |",
                      "| --- | --- |"]
            lines += [f"| {item['p_positive']:.3f} | {one_line(item['text'])} |"
                      for item in entry[way]]
            lines.append("")
    return "\n".join(lines)

