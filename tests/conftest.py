"""Shared fixtures: small IMDB-like data sets in every accepted layout and tiny word vectors.

The synthetic reviews are short sentences over a small vocabulary; positive reviews mostly use
positive words and negative reviews negative ones, so a model learns the task in two epochs.
Like the real files, every written split is sorted by label (all negatives first).
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import mlp

POSITIVE_WORDS = ["great", "wonderful", "brilliant", "excellent", "superb", "loved", "moving"]
NEGATIVE_WORDS = ["awful", "terrible", "boring", "dull", "horrible", "hated", "waste"]
NEUTRAL_WORDS = ["the", "movie", "film", "plot", "actor", "was", "and", "a", "story", "it",
                 "scene", "director", "music", "ending", "very", "quite", "this", "i"]
VOCABULARY = POSITIVE_WORDS + NEGATIVE_WORDS + NEUTRAL_WORDS + [".", ",", "!", "'s", "n't", "do"]
TINY_DIM = 8
# Enough rows for `main.py --quick` (200 dev + 200 train from train, 200 from test).
TRAIN_ROWS, TEST_ROWS = 400, 200
DATA_FORMATS = ("parquet", "csv", "jsonl", "aclimdb")


def make_reviews(n_rows: int, seed: int = 0) -> dict:
    """Return {"text", "label"} with n_rows unique balanced reviews, sorted by label (neg first)."""
    rng = random.Random(seed)
    texts: dict[str, int] = {}
    while len(texts) < n_rows:
        label = 0 if len(texts) < n_rows // 2 else 1
        own, other = (POSITIVE_WORDS, NEGATIVE_WORDS) if label else (NEGATIVE_WORDS, POSITIVE_WORDS)
        # Mostly words of the review's own sentiment, a few of the other: learnable, not trivial.
        words = [rng.choice(own if rng.random() < 0.85 else other) for _ in range(3)]
        words += rng.choices(NEUTRAL_WORDS, k=rng.randint(4, 12))
        rng.shuffle(words)
        # Real reviews carry HTML line breaks, capitals, clitics and punctuation.
        text = " ".join(words).capitalize() + rng.choice([".", "!", ". <br /><br />It's ok."])
        texts.setdefault(text, label)
    return {"text": list(texts), "label": list(texts.values())}


def write_imdb(folder: Path, fmt: str = "parquet", train_rows: int = TRAIN_ROWS,
               test_rows: int = TEST_ROWS, seed: int = 0) -> Path:
    """Write train and test splits as fmt (parquet, csv, jsonl or aclimdb) into folder."""
    folder.mkdir(parents=True, exist_ok=True)
    splits = {"train": make_reviews(train_rows, seed), "test": make_reviews(test_rows, seed + 1)}
    for split, data in splits.items():
        rows = [{"text": t, "label": y} for t, y in zip(data["text"], data["label"], strict=True)]
        if fmt == "parquet":
            pq.write_table(pa.Table.from_pylist(rows), folder / f"{split}.parquet")
        elif fmt == "csv":
            with open(folder / f"{split}.csv", "w", newline="", encoding="utf-8") as file:
                writer = csv.DictWriter(file, fieldnames=["text", "label"])
                writer.writeheader()
                writer.writerows(rows)
        elif fmt == "jsonl":
            lines = "".join(json.dumps(row) + "\n" for row in rows)
            (folder / f"{split}.jsonl").write_text(lines, encoding="utf-8")
        elif fmt == "aclimdb":
            for index, row in enumerate(rows):
                sub = folder / split / ("pos" if row["label"] else "neg")
                sub.mkdir(parents=True, exist_ok=True)
                # aclImdb names files id_rating.txt; the rating is not used.
                (sub / f"{index}_{8 if row['label'] else 2}.txt").write_text(row["text"])
        else:
            raise ValueError(f"unknown fixture format {fmt!r}")
    return folder


def make_tiny_vectors(seed: int = 0) -> mlp.WordVectors:
    """Return random TINY_DIM-d vectors for VOCABULARY whose first component carries sentiment."""
    rng = np.random.default_rng(seed)
    vectors = rng.normal(0.0, 0.5, size=(len(VOCABULARY), TINY_DIM)).astype(np.float32)
    for index, word in enumerate(VOCABULARY):
        vectors[index, 0] = 2.0 if word in POSITIVE_WORDS else -2.0 if word in NEGATIVE_WORDS else 0
    return mlp.WordVectors(list(VOCABULARY), vectors, name="tiny")


def write_vectors_file(path: Path, vectors: mlp.WordVectors, header: bool = False) -> Path:
    """Write vectors as a GloVe text file (word2vec style with header=True); return path."""
    lines = [f"{len(vectors)} {vectors.vector_size}\n"] if header else []
    lines += [word + " " + " ".join(repr(float(x)) for x in vectors[word]) + "\n"
              for word in vectors.index_to_key]
    path.write_text("".join(lines), encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def _feature_cache_in_tmp(tmp_path_factory, monkeypatch):
    """Point create_tensor_dataset's default cache at a temporary folder, never data/cache."""
    cache = tmp_path_factory.mktemp("feature_cache")
    monkeypatch.setitem(mlp.create_tensor_dataset.__kwdefaults__, "cache_dir", cache)


@pytest.fixture
def imdb_dir(tmp_path) -> Path:
    """A folder with train.parquet (400 rows) and test.parquet (200 rows), sorted by label."""
    return write_imdb(tmp_path / "imdb")


@pytest.fixture
def tiny_vectors() -> mlp.WordVectors:
    """Tiny random word vectors over the fixture vocabulary (with a sentiment component)."""
    return make_tiny_vectors()


@pytest.fixture
def tiny_vectors_file(tmp_path, tiny_vectors) -> Path:
    """The tiny word vectors as a GloVe text file (no header)."""
    return write_vectors_file(tmp_path / "tiny_vectors.txt", tiny_vectors)


@pytest.fixture(scope="session")
def glove() -> mlp.WordVectors:
    """The default embeddings (GloVe 6B 50d), loaded once per session."""
    return mlp.load_embeddings()


@pytest.fixture(scope="session")
def tiny_datasets():
    """(dev, train, test) TensorDatasets of 100/300/200 fixture reviews with the tiny vectors."""
    vectors = make_tiny_vectors()
    dev_train = make_reviews(400, seed=0)
    order = random.Random(1).sample(range(400), 400)  # shuffle: the rows are sorted by label
    shuffled = {key: [values[i] for i in order] for key, values in dev_train.items()}
    dev = {key: values[:100] for key, values in shuffled.items()}
    train = {key: values[100:] for key, values in shuffled.items()}
    test = make_reviews(200, seed=1)
    return tuple(mlp.create_tensor_dataset(split, vectors, cache_dir=None, progress=False)
                 for split in (dev, train, test))
