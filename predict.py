"""Use a trained model: each homework sweep's best model, kept with what rebuilds it; what it says
of your own reviews; the dev reviews it gets most confidently wrong.

    python main.py predict "a wonderful, moving film" "a dull, boring mess"
    printf 'great\\nawful\\n' | python main.py predict -      # one review per line

A sweep of main.py keeps its best configuration's model in plots/models/<sweep>.pt (git-ignored)
and writes that model's mistakes on the dev reviews to plots/mistakes.md and mistakes.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import TensorDataset

import mlp
import sweeps
from sources import DataError

FORMAT = "hw3-sentiment-model/1"  # what a model file of this project says it is
MODELS = "models"  # the folder of kept models, inside the plots folder
# Words an average of word vectors cannot read in order: the sentence turns on them.
NEGATION = re.compile(r"\b(?:not|no|never|nothing|none|nobody|neither|nor)\b|n't\b")
CONTRAST = re.compile(r"\b(?:but|however|although|though|yet|whereas)\b")
SHOWN, COUNTED, CHARACTERS = 5, 100, 300  # mistakes shown each way, counted, characters shown


# ----------------------------------------------------------------------------------------------
# Keeping and loading a model


def keep_best(sweep: str, results: list[dict], data: sweeps.Featurised, folder: Path,
              command: str | None) -> Path | None:
    """Save the model of the sweep's best configuration (highest mean best dev accuracy; its
    first seed's best epoch) as folder/<sweep>.pt, with what rebuilds and uses it, and remove
    the weights the sweep's other configurations kept. None if no first run finished."""
    kept = [Path(result.get("save_path") or sweeps.weights_path(folder, sweep, index))
            for index, result in enumerate(results)]
    try:
        finished = [index for index, result in enumerate(results)
                    if result["runs"][0]["best_dev_acc"] is not None]
        if not finished:
            return None
        best = max(finished, key=lambda index: statistics.fmean(
            run["best_dev_acc"] for run in results[index]["runs"] if run["best_dev_acc"]))
        result, run = results[best], results[best]["runs"][0]
        checkpoint = {
            "format": FORMAT, "state_dict": torch.load(kept[best], weights_only=True),
            "sweep": sweep, "name": result["name"], "hidden_dims": list(result["hidden_dims"]),
            "activation": result["activation"], "embeddings": data.embeddings.name,
            "embed_dim": data.embeddings.vector_size, "tokenizer": mlp.TOKENIZER_VERSION,
            "seed": run["seed"], "best_epoch": run["best_epoch"], "dev_acc": run["best_dev_acc"],
            "test_acc": run["test_acc"], "command": command}
        path = Path(folder) / f"{sweep}.pt"
        mlp.atomic_write(path, lambda tmp: torch.save(checkpoint, tmp))
        return path
    finally:
        for path in kept:
            if path.name.startswith("."):  # the sweep's own, not a path a configuration set
                path.unlink(missing_ok=True)


def load_model(path: str | os.PathLike) -> tuple[mlp.SentimentClassifier, dict]:
    """The model saved at path, ready to predict, and what was saved with it; tensors only are
    loaded (weights_only), never code."""
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        if checkpoint["format"] != FORMAT:
            raise ValueError(checkpoint["format"])
        model = mlp.SentimentClassifier(checkpoint["embed_dim"], mlp.NUM_CLASSES,
                                        checkpoint["hidden_dims"], checkpoint["activation"])
        model.load_state_dict(checkpoint["state_dict"])
    except FileNotFoundError:
        raise DataError(f"no model {path}; `python main.py` trains and keeps one") from None
    except Exception:  # truncated, damaged, or another program's file: the same fix
        raise DataError(f"cannot load the model {path}: it is damaged or not a model of this "
                        f"project; delete it and run `python main.py` again") from None
    return model.eval(), checkpoint


def best_model(folder: str | os.PathLike) -> Path:
    """The kept model with the highest dev accuracy in folder (one per sweep)."""
    paths = sorted(Path(folder).glob("[!.]*.pt"))
    if not paths:
        raise DataError(f"no saved model in {folder}; `python main.py` trains the sweeps and "
                        f"keeps the best model of each")
    return max(paths, key=lambda path: load_model(path)[1]["dev_acc"])


# ----------------------------------------------------------------------------------------------
# Predictions


def predict(texts: list[str], model: mlp.SentimentClassifier,
            embeddings: mlp.WordVectors) -> list[dict]:
    """For each text: its tokens, how many have a word vector, and P(positive) (None when none
    has: no guess), from one forward pass over all of them."""
    found = [{"text": text, "tokens": len(tokens), "known": sum(t in embeddings for t in tokens)}
             for text, tokens in zip(texts, map(mlp.tokenize, texts), strict=True)]
    features = [mlp.featurize(text, embeddings) for text in texts]
    inputs = [feature for feature in features if feature is not None]
    with torch.no_grad():
        positive = (model(torch.stack(inputs)).softmax(dim=1)[:, 1].tolist() if inputs else [])
    scores = iter(positive)
    for record, feature in zip(found, features, strict=True):
        record["p_positive"] = None if feature is None else next(scores)
    return found


def prediction_line(record: dict) -> str:
    """One review's line: the label, P(positive) and the tokens known, then the review."""
    text = " ".join(record["text"].split())
    text = text if len(text) <= 60 else text[:57] + "..."
    if record["p_positive"] is None:
        return (f"{'-':<8}  no prediction: none of its {record['tokens']} tokens has a word "
                f"vector  {text!r}")
    label = "positive" if record["p_positive"] > 0.5 else "negative"
    return (f"{label:<8}  P(positive) {record['p_positive']:.3f}  {record['known']} of "
            f"{record['tokens']} tokens known  {text!r}")


def build_parser() -> argparse.ArgumentParser:
    """python main.py predict's command line."""
    parser = argparse.ArgumentParser(
        prog="main.py predict", description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("texts", nargs="+", metavar="TEXT",
                        help="reviews to classify; - reads one review per line from stdin")
    parser.add_argument("--model", type=Path, default=argparse.SUPPRESS,
                        help="a model file (default: the best of plots/models/)")
    parser.add_argument("--models-dir", type=Path,
                        default=sweeps.PLOTS_DIR / MODELS, help="where the sweeps keep models")
    return parser


def main(argv: list[str]) -> None:
    """Print one line per review: what the kept model says of it."""
    args = build_parser().parse_args(argv)
    texts = [line.rstrip("\n") for line in sys.stdin] if args.texts == ["-"] else args.texts
    try:
        model, saved = load_model(getattr(args, "model", None) or best_model(args.models_dir))
        embeddings = mlp.load_embeddings(saved["embeddings"])
    except DataError as error:
        sys.exit(f"error: {error}")
    if saved["tokenizer"] != mlp.TOKENIZER_VERSION:
        print("warning: the tokenizer changed since this model was trained; its predictions "
              "may be off until `python main.py` trains it again", file=sys.stderr)
    for record in predict(texts, model, embeddings):
        print(prediction_line(record))


# ----------------------------------------------------------------------------------------------
# Mistakes


def kept_reviews(dev: TensorDataset, raw_dev: dict, embeddings: mlp.WordVectors) -> dict:
    """The dev texts and labels that dev's features are of (create_tensor_dataset skips the
    reviews with no known word)."""
    if len(dev) == len(raw_dev["text"]):
        return raw_dev
    keep = [mlp.featurize(text, embeddings) is not None for text in raw_dev["text"]]
    return {key: [value for value, kept in zip(values, keep, strict=True) if kept]
            for key, values in raw_dev.items()}


def mistakes(path: Path, data: sweeps.Featurised, raw_dev: dict) -> dict:
    """The kept model's dev mistakes: the SHOWN most confident each way, and how the COUNTED
    most confident ones read beside all dev reviews (negations, contrasts, length)."""
    model, saved = load_model(path)
    reviews = kept_reviews(data.dev, raw_dev, data.embeddings)
    inputs, labels = data.dev.tensors
    with torch.no_grad():
        positive = model(inputs).softmax(dim=1)[:, 1].numpy()  # (dev reviews,)
    labels = labels.numpy()
    wrong = np.flatnonzero((positive > 0.5) != labels.astype(bool))
    ranked = wrong[np.argsort(-np.abs(positive[wrong] - 0.5), kind="stable")]  # surest first

    def shown(indices: list[int]) -> list[dict]:
        return [{"p_positive": float(positive[i]), "label": int(labels[i]),
                 "text": reviews["text"][i][:CHARACTERS]} for i in indices[:SHOWN]]

    counted = [reviews["text"][i].lower() for i in ranked[:COUNTED]]
    every = [text.lower() for text in reviews["text"]]
    return {"model": saved["name"], "dev_acc": saved["dev_acc"], "dev_reviews": len(labels),
            "mistakes": len(wrong), "counted": len(counted),
            "false_positives": shown([i for i in ranked if labels[i] == 0]),
            "false_negatives": shown([i for i in ranked if labels[i] == 1]),
            **{name: {"mistakes": reading(pattern, counted), "all": reading(pattern, every)}
               for name, pattern in (("negation", NEGATION), ("contrast", CONTRAST))},
            "median_words": {"mistakes": _median_words(counted), "all": _median_words(every)}}


def reading(pattern: re.Pattern, texts: list[str]) -> dict:
    """How the texts use the pattern's words: the share of texts with one, and how many there
    are per 100 words of all the texts."""
    found = [len(pattern.findall(text)) for text in texts]
    words = sum(len(text.split()) for text in texts)
    return {"share": statistics.fmean(count > 0 for count in found) if texts else None,
            "per_100_words": 100 * sum(found) / words if words else None}


def _median_words(texts: list[str]) -> float | None:
    return statistics.median(len(text.split()) for text in texts) if texts else None


def record_mistakes(folder: str | os.PathLike, sweep: str, found: dict) -> None:
    """Store one sweep's mistakes in folder/mistakes.json and mistakes.md; other sweeps' stay."""
    path = Path(folder) / "mistakes.json"
    try:
        every = json.loads(path.read_text())
    except (OSError, ValueError):
        every = {}
    every[sweep] = found
    text = json.dumps(every, indent=1) + "\n"
    mlp.atomic_write(path, lambda tmp: tmp.write_text(text))
    markdown = mistakes_markdown(every)
    mlp.atomic_write(Path(folder) / "mistakes.md", lambda tmp: tmp.write_text(markdown))


def mistakes_markdown(every: dict) -> str:
    """Each sweep's best model and the dev reviews it gets most confidently wrong."""
    lines = ["# Mistakes", ""]
    for sweep, found in every.items():
        lines += [f"## {sweep}: {found['model']}", "",
                  f"Best dev accuracy {found['dev_acc']:.4f}: {found['mistakes']} of "
                  f"{found['dev_reviews']} dev reviews wrong.", "",
                  f"| the {found['counted']} most confident mistakes, against all dev reviews "
                  f"| mistakes | all |", "| --- | --- | --- |",
                  *(f"| {label} | {found[key]['mistakes'][part]:.{digits}} | "
                    f"{found[key]['all'][part]:.{digits}} |" for key, part, label, digits in (
                        ("negation", "share", "share with a negation (not, no, never, n't...)",
                         "0%"),
                        ("negation", "per_100_words", "negations per 100 words", "2f"),
                        ("contrast", "share", "share with a contrast (but, however, though...)",
                         "0%"),
                        ("contrast", "per_100_words", "contrasts per 100 words", "2f"))),
                  f"| median length in words | {found['median_words']['mistakes']:g} | "
                  f"{found['median_words']['all']:g} |", ""]
        for way, title in (("false_positives", "negative reviews called positive"),
                           ("false_negatives", "positive reviews called negative")):
            lines += [f"### {title.capitalize()}", "", "| P(positive) | review (its start) |",
                      "| --- | --- |"]
            lines += [f"| {item['p_positive']:.3f} | "
                      f"{' '.join(item['text'].split()).replace('|', '/')} |"
                      for item in found[way]]
            lines.append("")
    return "\n".join(lines)
