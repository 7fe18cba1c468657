"""Predictions of a kept model: what it says of your own reviews, and why, word by word.

    python main.py predict "a wonderful, moving film" "a dull, boring mess"
    python main.py predict --explain "not good at all, a waste of time"
    printf 'great\\nawful\\n' | python main.py predict -      # one review per line

Each sweep of main.py keeps its best model in plots/models/<sweep>.pt (git-ignored), with what
rebuilds it (workshop.models): the homework's MLP on the mean of word vectors, or beyond's
learned word vectors.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
from pathlib import Path

import torch
from torch.nn.utils.rnn import pad_sequence

import mlp
from workshop.data import DataError
from workshop.models import PAD, Ready, load
from workshop.records import PLOTS_DIR, KeptModel
from workshop.runs.sweeps import models_dir

SUMMARY = "Classify your own reviews with a kept model, and say why, word by word."
FEW = 3  # a review with fewer known tokens than this is decided by them alone: flagged
def find_model(name: str | None, plots_dir: str | os.PathLike = PLOTS_DIR) -> Path:
    """The model file that name gives (a path, or a sweep's name such as 'beyond'); without a
    name, the kept model with the highest dev accuracy, whichever kind."""
    folder = models_dir(plots_dir)
    if name is not None:
        path = Path(name)
        return path if path.suffix == ".pt" or path.exists() else folder / f"{name}.pt"
    paths = sorted(folder.glob("[!.]*.pt"))
    if not paths:
        raise DataError(f"no kept model in {folder}; `python main.py` trains the sweeps and "
                        f"keeps the best model of each")
    return max(paths, key=KeptModel.dev_accuracy)


# ----------------------------------------------------------------------------------------------
# Predictions


def logits(ready: Ready, inputs: list[torch.Tensor]) -> torch.Tensor:
    """The model's logits (inputs, 2), from one forward pass over all of them."""
    batch = (torch.stack(inputs) if inputs[0].is_floating_point()
             else pad_sequence(inputs, batch_first=True, padding_value=PAD))
    with torch.no_grad():
        return ready.model(batch)


def probabilities(ready: Ready, inputs: list[torch.Tensor]) -> list[float]:
    """P(positive) of each input."""
    return logits(ready, inputs).softmax(dim=1)[:, 1].tolist() if inputs else []


def predict(texts: list[str], ready: Ready) -> list[dict]:
    """For each text: its tokens, how many have a word vector (or a row), and P(positive) (None
    when none has: no guess)."""
    found = []
    for text in texts:
        tokens = mlp.tokenize(text)
        found.append({"text": text, "tokens": len(tokens), "encoded": ready.encode(tokens),
                      "known": sum(map(ready.knows, tokens))})
    scores = iter(probabilities(ready, [r["encoded"] for r in found if r["encoded"] is not None]))
    for record in found:
        record["p_positive"] = None if record.pop("encoded") is None else next(scores)
    return found


def explain(text: str, ready: Ready) -> dict:
    """Why the model says what it says of text, leave-one-out: for each distinct known word (and,
    with bigrams, each distinct pair of adjacent known words), P(positive) without it (every
    occurrence removed; None if nothing known is left), its change from P(positive) with it,
    and the change of the log-odds log(P / (1 - P)), which a confident model's P hides; the
    largest log-odds changes first."""
    tokens = mlp.tokenize(text)
    known = [token for token in tokens if ready.knows(token)]
    inputs = {("review", text): ready.encode(tokens)}
    for word in dict.fromkeys(known):
        inputs["words", word] = ready.encode([token for token in tokens if token != word])
    if ready.kept.recipe.bigram_buckets and known:
        # models.bag_of_ids: the known words' ids, then one id per pair of adjacent known words.
        adjacent = list(itertools.pairwise(known))
        for pair in dict.fromkeys(adjacent):
            keep = torch.tensor([True] * len(known) + [other != pair for other in adjacent])
            inputs["pairs", " ".join(pair)] = inputs["review", text][keep]
    present = [key for key, value in inputs.items() if value is not None]
    scores = logits(ready, [inputs[key] for key in present]) if present else torch.zeros(0, 2)
    p = dict(zip(present, scores.softmax(dim=1)[:, 1].tolist(), strict=True))
    odds = dict(zip(present, (scores[:, 1] - scores[:, 0]).tolist(), strict=True))
    review = ("review", text)
    effects = {"words": [], "pairs": []}
    for kind, name in list(inputs)[1:]:
        gone = (kind, name) not in p
        effects[kind].append({"name": name, "p_without": p.get((kind, name)),
                              "change": None if gone else p[kind, name] - p[review],
                              "log_odds_change": None if gone else odds[kind, name] - odds[review]})
    for listed in effects.values():
        listed.sort(key=lambda effect: -abs(effect["log_odds_change"] or 0))
    return {"text": text, "p_positive": p.get(review), **effects}


def prediction_line(record: dict) -> str:
    """One review's line: the label, P(positive) and the tokens known, then the review."""
    text = " ".join(record["text"].split())
    text = text if len(text) <= 60 else text[:57] + "..."
    if record["p_positive"] is None:
        return (f"{'-':<8}  no prediction: none of its {record['tokens']} tokens has a word "
                f"vector  {text!r}")
    label = "positive" if record["p_positive"] > 0.5 else "negative"
    few = (f"  (only {record['known']} known token{'s' * (record['known'] > 1)} decided it)"
           if record["known"] < FEW else "")
    return (f"{label:<8}  P(positive) {record['p_positive']:.3f}  {record['known']} of "
            f"{record['tokens']} tokens known  {text!r}{few}")


def explanation_lines(explained: dict, top: int) -> list[str]:
    """The words (and pairs) that pushed the review most toward its label and against it, each
    with how much P(positive) changes without it."""
    if explained["p_positive"] is None:
        return []
    label = "positive" if explained["p_positive"] > 0.5 else "negative"
    toward = 1 if label == "positive" else -1  # removing a word that pushed up lowers P
    lines = []
    for kind in ("words", "pairs"):
        effects = explained[kind]
        for side, sign in ((f"toward {label}", -toward), ("against it", toward)):
            shown = [e for e in effects if (e["log_odds_change"] or 0) * sign > 0][:top]
            if shown:
                items = ", ".join(f"{e['name']!r} {e['change']:+.3f} (log-odds "
                                  f"{e['log_odds_change']:+.2f})" for e in shown)
                lines.append(f"          {kind} {side}: {items}")
    return lines


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """python main.py predict's command line."""
    parser.add_argument("texts", nargs="+", metavar="TEXT",
                        help="reviews to classify; - reads one review per line from stdin")
    parser.add_argument("--model", default=argparse.SUPPRESS, metavar="NAME|PATH",
                        help="a kept model: a sweep's name (structures, activations, "
                             "learning-rates, beyond, ...) or a model file (default: the kept "
                             "model with the best dev accuracy)")
    parser.add_argument("--plots-dir", type=Path, default=PLOTS_DIR,
                        help="the folder whose models/ holds the kept models")
    parser.add_argument("--explain", action="store_true",
                        help="for each review, the words that pushed it most toward its label "
                             "and against it: how P(positive) changes without each")
    parser.add_argument("--top", type=int, default=3, help="words shown each way with --explain")
    parser.add_argument("--json", action="store_true",
                        help="one JSON object per review (with --explain, every word's effect)")


def run(args: argparse.Namespace) -> None:
    """python main.py predict: a line per review (blank ones skipped) from the kept model,
    named once above them; with --explain the words behind each; with --json JSON lines."""
    texts = sys.stdin.read().splitlines() if args.texts == ["-"] else args.texts
    texts = [text for text in texts if text.strip()]
    ready = load(find_model(getattr(args, "model", None), args.plots_dir))
    print(f"model: {ready.describe()}", file=sys.stderr if args.json else sys.stdout)
    if args.explain and not args.json:
        print("(each word or pair of words: how P(positive), and its log-odds, change without it)")
    records = predict(texts, ready)
    for record in records:
        explained = explain(record["text"], ready) if args.explain else None
        if args.json:
            print(json.dumps({**record, **(explained or {})}))
            continue
        print(prediction_line(record))
        if explained is not None:
            print("\n".join(explanation_lines(explained, args.top)) or
                  "          (no word to leave out)")
