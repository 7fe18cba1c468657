"""Predictions of a kept model: what it says of your own reviews and why, word by word, and the
dev reviews it gets most confidently wrong.

    python main.py predict "a wonderful, moving film" "a dull, boring mess"
    python main.py predict --explain "not good at all, a waste of time"
    printf 'great\\nawful\\n' | python main.py predict -      # one review per line

Each sweep of main.py keeps its best model in plots/models/<sweep>.pt (git-ignored), with what
rebuilds it: the homework's MLP on the mean of word vectors, or beyond.py's learned word vectors.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pad_sequence

import beyond
import mlp
import results
import sweeps
from features import Featurised
from sources import DataError, load_embeddings

# Words an average of word vectors cannot read in order: the sentence turns on them.
NEGATION = re.compile(r"\b(?:not|no|never|nothing|none|nobody|neither|nor)\b|n't\b")
CONTRAST = re.compile(r"\b(?:but|however|although|though|yet|whereas)\b")
SHOWN, COUNTED, CHARACTERS = 5, 100, 300  # mistakes shown each way, counted, characters shown
RESAMPLES = 1000  # bootstrap resamples for the mistakes' 95 % intervals


# ----------------------------------------------------------------------------------------------
# A kept model


@dataclass(frozen=True)
class Kept:
    """A kept model, ready to predict: the module, which tokens it knows, how a review's tokens
    become its input (None when it knows none of them), and what was saved with it."""

    model: nn.Module
    knows: Callable[[str], bool]
    encode: Callable[[list[str]], torch.Tensor | None]
    saved: dict
    path: Path

    def describe(self) -> str:
        """Which model answers: its sweep, configuration and dev accuracy."""
        return (f"{self.path}: the {self.saved['sweep']} sweep's {self.saved['name']!r} "
                f"(seed {self.saved['seed']}, epoch {self.saved['best_epoch']}), dev accuracy "
                f"{self.saved['dev_acc']:.4f}")


def _rebuild(recipe: dict, embeddings: object) -> tuple[nn.Module, dict[str, int], Callable]:
    """The module (untrained) that a recipe describes, the row of each token it knows, and how
    tokens become its input: the mean of their word vectors (those the recipe names, unless
    embeddings are given), as mlp.featurize computes it, or their ids in beyond.py's learned
    table, as its training read them."""
    if recipe["kind"] == "mean":
        model = mlp.SentimentClassifier(recipe["embed_dim"], mlp.NUM_CLASSES,
                                        recipe["hidden_dims"], recipe["activation"])
        embeddings = embeddings or load_embeddings(recipe["embeddings"])

        def encode(tokens: list[str]) -> torch.Tensor | None:
            rows = [row for row in map(embeddings.key_to_index.get, tokens) if row is not None]
            return torch.from_numpy(embeddings.vectors[rows].mean(axis=0)) if rows else None
        return model, embeddings.key_to_index, encode
    table_rows = len(recipe["vocabulary"]) + 1 + recipe["bigram_buckets"]
    model = beyond.BagClassifier(torch.zeros(table_rows, recipe["embed_dim"]),
                                 recipe["hidden_dims"], recipe["activation"])
    rows = {word: row for row, word in enumerate(recipe["vocabulary"], start=1)}

    def encode_ids(tokens: list[str]) -> torch.Tensor | None:
        ids = beyond.bag_of_ids(tokens, rows, recipe["bigram_buckets"])
        return ids if len(ids) else None
    return model, rows, encode_ids


def load_model(path: str | os.PathLike, embeddings: object = None) -> Kept:
    """The model kept at path, ready to predict; tensors only are loaded (weights_only), never
    code. A missing or damaged file, or one made with another tokenizer, is a DataError.
    embeddings: the word vectors it was trained on, when they are at hand (else loaded)."""
    path = Path(path)
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        if saved["format"] != sweeps.MODEL_FORMAT:
            raise ValueError(saved["format"])
        model, rows, encode = _rebuild(saved["recipe"], embeddings)
        model.load_state_dict(saved["state_dict"])
    except FileNotFoundError:
        raise DataError(f"no model {path}; `python main.py` trains and keeps one") from None
    except DataError:
        raise
    except Exception:  # truncated, damaged, or another program's file: the same fix
        raise DataError(f"cannot load the model {path}: it is damaged or not a model of this "
                        f"project; delete it and run `python main.py` again") from None
    if saved["tokenizer"] != sweeps.tokenizer_version():
        raise DataError(f"the model {path} was made with another tokenizer than mlp.py's; "
                        f"`python main.py {saved['sweep']}` trains it again")
    return Kept(model.eval(), rows.__contains__, encode, saved, path)


def find_model(name: str | None, plots_dir: str | os.PathLike = results.PLOTS_DIR) -> Path:
    """The model file that name gives (a path, or a sweep's name such as 'beyond'); without a
    name, the kept model with the highest dev accuracy, whichever kind."""
    folder = results.models_dir(plots_dir)
    if name is not None:
        path = Path(name)
        return path if path.suffix == ".pt" or path.exists() else folder / f"{name}.pt"
    paths = sorted(folder.glob("[!.]*.pt"))
    if not paths:
        raise DataError(f"no kept model in {folder}; `python main.py` trains the sweeps and "
                        f"keeps the best model of each")
    return max(paths, key=_dev_accuracy)


def _dev_accuracy(path: Path) -> float:
    """The dev accuracy a model file records, read without reading its weights (mmap); -1 for
    a file that is not a kept model (load_model says what is wrong with it, if it is chosen)."""
    try:
        return float(torch.load(path, map_location="cpu", weights_only=True, mmap=True)["dev_acc"])
    except Exception:
        return -1.0


# ----------------------------------------------------------------------------------------------
# Predictions


def logits(kept: Kept, inputs: list[torch.Tensor]) -> torch.Tensor:
    """The model's logits (inputs, 2), from one forward pass over all of them."""
    batch = (torch.stack(inputs) if inputs[0].is_floating_point()
             else pad_sequence(inputs, batch_first=True, padding_value=beyond.PAD))
    with torch.no_grad():
        return kept.model(batch)


def probabilities(kept: Kept, inputs: list[torch.Tensor]) -> list[float]:
    """P(positive) of each input."""
    return logits(kept, inputs).softmax(dim=1)[:, 1].tolist() if inputs else []


def predict(texts: list[str], kept: Kept) -> list[dict]:
    """For each text: its tokens, how many have a word vector (or a row), and P(positive) (None
    when none has: no guess)."""
    found = []
    for text in texts:
        tokens = mlp.tokenize(text)
        found.append({"text": text, "tokens": len(tokens), "encoded": kept.encode(tokens),
                      "known": sum(map(kept.knows, tokens))})
    scores = iter(probabilities(kept, [r["encoded"] for r in found if r["encoded"] is not None]))
    for record in found:
        record["p_positive"] = None if record.pop("encoded") is None else next(scores)
    return found


def explain(text: str, kept: Kept) -> dict:
    """Why the model says what it says of text, leave-one-out: for each distinct known word (and,
    with bigrams, each distinct pair of adjacent known words), P(positive) without it (every
    occurrence removed; None if nothing known is left), its change from P(positive) with it,
    and the change of the log-odds log(P / (1 - P)), which a confident model's P hides; the
    largest log-odds changes first."""
    tokens = mlp.tokenize(text)
    known = [token for token in tokens if kept.knows(token)]
    inputs = {("review", text): kept.encode(tokens)}
    for word in dict.fromkeys(known):
        inputs["words", word] = kept.encode([token for token in tokens if token != word])
    if kept.saved["recipe"].get("bigram_buckets") and known:
        # beyond.bag_of_ids: the known words' ids, then one id per pair of adjacent known words.
        adjacent = list(itertools.pairwise(known))
        for pair in dict.fromkeys(adjacent):
            keep = torch.tensor([True] * len(known) + [other != pair for other in adjacent])
            inputs["pairs", " ".join(pair)] = inputs["review", text][keep]
    present = [key for key, value in inputs.items() if value is not None]
    scores = logits(kept, [inputs[key] for key in present]) if present else torch.zeros(0, 2)
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


FEW = 3  # a review with fewer known tokens than this is decided by them alone: flagged


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
    parser.add_argument("--model", default=None, metavar="NAME|PATH",
                        help="a kept model: a sweep's name (structures, activations, "
                             "learning-rates, beyond, ...) or a model file (default: the kept "
                             "model with the best dev accuracy)")
    parser.add_argument("--plots-dir", type=Path, default=results.PLOTS_DIR,
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
    kept = load_model(find_model(args.model, args.plots_dir))
    print(f"model: {kept.describe()}", file=sys.stderr if args.json else sys.stdout)
    if args.explain and not args.json:
        print("(each word or pair of words: how P(positive), and its log-odds, change without it)")
    records = predict(texts, kept)
    for record in records:
        explained = explain(record["text"], kept) if args.explain else None
        if args.json:
            print(json.dumps({**record, **(explained or {})}))
            continue
        print(prediction_line(record))
        if explained is not None:
            print("\n".join(explanation_lines(explained, args.top)) or
                  "          (no word to leave out)")


# ----------------------------------------------------------------------------------------------
# Mistakes


def mistakes(kept: Kept, data: Featurised, raw_dev: dict) -> dict:
    """The kept model's dev mistakes: the SHOWN most confident each way, and how the COUNTED most
    confident ones read beside the other dev reviews (negations, contrasts, length), with 95 %
    bootstrap intervals of the differences."""
    reviews = kept_reviews(data.dev, raw_dev, data.embeddings)
    inputs, labels = data.dev.tensors
    with torch.no_grad():
        positive = kept.model(inputs).softmax(dim=1)[:, 1].numpy()  # (dev reviews,)
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
    return {"model": kept.saved["name"], "dev_acc": kept.saved["dev_acc"],
            "dev_reviews": len(labels), "mistakes": len(wrong), "counted": len(counted),
            "false_positives": shown([i for i in ranked if labels[i] == 0]),
            "false_negatives": shown([i for i in ranked if labels[i] == 1]),
            **{name: reading(pattern, *groups) for name, pattern in (("negation", NEGATION),
                                                                     ("contrast", CONTRAST))},
            "median_words": median_words(*groups)}


def kept_reviews(dev: torch.utils.data.TensorDataset, raw_dev: dict, embeddings) -> dict:
    """The dev texts and labels that dev's features are of (create_tensor_dataset skips the
    reviews with no known word)."""
    if len(dev) == len(raw_dev["text"]):
        return raw_dev
    keep = [mlp.featurize(text, embeddings) is not None for text in raw_dev["text"]]
    return {key: [value for value, kept in zip(values, keep, strict=True) if kept]
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
