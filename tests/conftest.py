"""Shared fixtures: tiny IMDB-like reviews and word vectors, the real data, the committed run.

The tiny reviews are short sentences over a small vocabulary: positive reviews mostly use
positive words and negative ones negative words, so a model learns them in a few epochs. Like
the real files, every written split is sorted by label (all negatives first).
"""

from __future__ import annotations

import csv
import json
import os
import random
import re
import subprocess
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet
import pytest
import torch

import mlp
from workshop import data as sources

if os.environ.get("PYTEST_XDIST_WORKER"):
    # Each core runs a worker of the suite (pyproject.toml): torch's own threads in each would
    # only wait for one another.
    torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[1]
POSITIVE_WORDS = ["great", "wonderful", "brilliant", "excellent", "superb", "loved", "moving"]
NEGATIVE_WORDS = ["awful", "terrible", "boring", "dull", "horrible", "hated", "waste"]
NEUTRAL_WORDS = ["the", "movie", "film", "plot", "actor", "was", "and", "a", "story", "it",
                 "scene", "director", "music", "ending", "very", "quite", "this", "i"]
VOCABULARY = POSITIVE_WORDS + NEGATIVE_WORDS + NEUTRAL_WORDS + [".", "!", "'s"]
TINY_DIM = 8
PNG = b"\x89PNG\r\n\x1a\n"
# The plots each homework sweep writes (the handout's: a train vs dev loss plot per structure
# and dev accuracy and loss across the configurations of each sweep).
PLOTS = {
    "structures": ["structures_dev_acc.png", "structures_dev_loss.png",
                   "structures_loss_none.png", "structures_loss_512.png",
                   "structures_loss_512x512.png", "structures_loss_512x512x512.png"],
    "activations": ["activations_dev_acc.png", "activations_dev_loss.png"],
    "learning-rates": ["learning_rates_dev_acc.png", "learning_rates_dev_loss.png"],
}


def make_reviews(n_rows: int, seed: int = 0) -> dict:
    """{"text", "label"}: n_rows unique reviews, half negative then half positive."""
    rng = random.Random(seed)
    texts: dict[str, int] = {}
    while len(texts) < n_rows:
        label = 0 if len(texts) < n_rows // 2 else 1
        own, other = (POSITIVE_WORDS, NEGATIVE_WORDS) if label else (NEGATIVE_WORDS, POSITIVE_WORDS)
        # Mostly words of the review's own sentiment, some of the other: learnable, not trivial.
        words = [rng.choice(own if rng.random() < 0.85 else other) for _ in range(3)]
        words += rng.choices(NEUTRAL_WORDS, k=rng.randint(4, 12))
        rng.shuffle(words)
        # Real reviews carry HTML line breaks, capitals, clitics and punctuation.
        text = " ".join(words).capitalize() + rng.choice([".", "!", ". <br /><br />It's ok."])
        texts.setdefault(text, label)
    return {"text": list(texts), "label": list(texts.values())}


def write_split(path: Path, columns: dict) -> Path:
    """Write columns as parquet, csv or jsonl, chosen by the suffix of path."""
    rows = [dict(zip(columns, values, strict=True))
            for values in zip(*columns.values(), strict=True)]
    if path.suffix == ".parquet":
        pyarrow.parquet.write_table(pa.Table.from_pylist(rows), path)
    elif path.suffix == ".csv":
        with open(path, "w", newline="", encoding="utf-8") as file:
            writer = csv.DictWriter(file, fieldnames=list(columns))
            writer.writeheader()
            writer.writerows(rows)
    else:
        path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def write_imdb(folder: Path, suffix: str = ".parquet", train_rows: int = 400,
               test_rows: int = 200) -> Path:
    """A folder with train and test files of tiny reviews, each sorted by label."""
    folder.mkdir(parents=True, exist_ok=True)
    write_split(folder / f"train{suffix}", make_reviews(train_rows, seed=0))
    write_split(folder / f"test{suffix}", make_reviews(test_rows, seed=1))
    return folder


def make_tiny_vectors() -> sources.WordVectors:
    """Random TINY_DIM-d vectors for VOCABULARY whose first component carries the sentiment."""
    vectors = np.random.default_rng(0).normal(0, 0.5, (len(VOCABULARY), TINY_DIM))
    vectors = vectors.astype(np.float32)
    for index, word in enumerate(VOCABULARY):
        vectors[index, 0] = 2.0 if word in POSITIVE_WORDS else -2.0 if word in NEGATIVE_WORDS else 0
    return sources.WordVectors(VOCABULARY, vectors, name="tiny")


def committed(path: str) -> bytes:
    """A file as committed at HEAD: `python main.py` rewrites the working copies in plots/."""
    try:
        subprocess.run(["git", "rev-parse", "--verify", "HEAD"], cwd=REPO, capture_output=True,
                       check=True)
    except (OSError, subprocess.CalledProcessError) as error:
        pytest.skip(f"reads the committed {path} through git, and this is not a git checkout "
                    f"({error})")
    # "./": the path from the project's folder, which may be a folder of a larger repository.
    show = subprocess.run(["git", "show", f"HEAD:./{path}"], cwd=REPO, capture_output=True)
    assert show.returncode == 0, f"{path} is not committed: {show.stderr.decode().strip()}"
    return show.stdout


@pytest.fixture
def imdb_dir(tmp_path) -> Path:
    """A folder with train.parquet (400 tiny reviews) and test.parquet (200)."""
    return write_imdb(tmp_path / "imdb")


def write_tiny_vectors(path: Path) -> Path:
    """The tiny word vectors as a GloVe text file (main.py --embeddings PATH loads it at once)."""
    vectors = make_tiny_vectors()
    path.write_text("".join(" ".join([word, *map(str, vectors[word].tolist())]) + "\n"
                            for word in vectors.index_to_key))
    return path


@pytest.fixture
def tiny_vectors_file(tmp_path) -> Path:
    """The tiny word vectors as a GloVe text file."""
    return write_tiny_vectors(tmp_path / "tiny-vectors.txt")


@pytest.fixture(scope="session")
def tiny_vectors() -> sources.WordVectors:
    """Tiny word vectors over the tiny reviews' vocabulary."""
    return make_tiny_vectors()


@pytest.fixture(scope="session")
def tiny_splits() -> tuple[dict, dict, dict]:
    """(dev, train, test) dicts of 100/300/200 tiny reviews, shuffled."""
    reviews = make_reviews(400, seed=0)
    order = random.Random(1).sample(range(400), 400)  # the rows are sorted by label
    shuffled = {key: [values[i] for i in order] for key, values in reviews.items()}
    dev = {key: values[:100] for key, values in shuffled.items()}
    train = {key: values[100:] for key, values in shuffled.items()}
    return dev, train, make_reviews(200, seed=1)


@pytest.fixture(scope="session")
def tiny_datasets(tiny_splits, tiny_vectors) -> tuple:
    """The tiny splits as (dev, train, test) TensorDatasets."""
    return tuple(mlp.create_tensor_dataset(split, tiny_vectors) for split in tiny_splits)


@pytest.fixture(scope="session")
def glove() -> sources.WordVectors:
    """The default word vectors, GloVe 6B 50d, loaded once."""
    return sources.load_embeddings()


@pytest.fixture(scope="session")
def committed_results() -> dict:
    """plots/results.json of the committed run, which hw3.md quotes."""
    return json.loads(committed("plots/results.json"))["sweeps"]


# ----------------------------------------------------------------------------------------------
# hw3.md, read by its headings and tables


def section(title: str) -> str:
    """The text of one '## title' section of hw3.md."""
    text = (REPO / "hw3.md").read_text(encoding="utf-8")
    return text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def table(text: str, key: int = 0) -> dict[str, list[str]]:
    """Each Markdown table row of text, by its cell number key: its cells."""
    rows = {}
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("|") and not re.match(r"\|[\s:-]*-", line):
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            rows[cells[key]] = cells
    return rows
