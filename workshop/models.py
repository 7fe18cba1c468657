"""The models a kept file can hold, rebuilt from their recipe and ready to predict: the
homework's SentimentClassifier on the mean of word vectors (mlp.featurize), or beyond's
BagClassifier, a learned table of word vectors under the same head."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

import mlp
from workshop.data import load_embeddings
from workshop.records import KeptModel, Recipe

PAD = 0  # row 0 of every learned table: padding, left out of each review's mean


def bag_of_ids(tokens: list[str], rows: dict[str, int], buckets: int = 0) -> torch.Tensor:
    """A review's ids: the row of each known word, then (with buckets) a hashed bigram row for
    each pair of adjacent known words, in order (predict's explanations rely on it)."""
    ids = np.array([rows[token] for token in tokens if token in rows], dtype=np.int64)
    if buckets:
        # A fixed hash of the two words' rows (Python's hash() changes from run to run).
        pairs = (ids[:-1] * 1_000_003 + ids[1:]) % buckets + len(rows) + 1
        ids = np.concatenate([ids, pairs])
    return torch.from_numpy(ids)


class BagClassifier(nn.Module):
    """The mean of a review's rows of a learned table (nn.EmbeddingBag), then the homework's MLP."""

    def __init__(self, table: torch.Tensor, hidden_dims: list[int], activation: str) -> None:
        super().__init__()
        # sparse: a step's gradient holds only the rows of its batch, not the whole table.
        self.bag = nn.EmbeddingBag.from_pretrained(table, freeze=False, mode="mean", sparse=True,
                                                   padding_idx=PAD)
        self.head = mlp.SentimentClassifier(table.shape[1], mlp.NUM_CLASSES, hidden_dims,
                                            activation)
        self.loss = self.head.loss

    def forward(self, inp: torch.Tensor) -> torch.Tensor:
        """Logits (batch, num_classes) for bags of ids (batch, longest bag) padded with PAD."""
        # The bags one after another, and where each starts: the padding (most of a batch whose
        # longest review is long) costs nothing then, in either pass.
        lengths = (inp != PAD).sum(dim=1)  # (batch,)
        offsets = lengths.cumsum(dim=0) - lengths  # (batch,)
        return self.head(self.bag(inp[inp != PAD], offsets))  # (batch, embed_dim) -> logits


@dataclass(frozen=True)
class Ready:
    """A kept model, ready to predict: the module (in eval mode), which tokens it knows, how a
    review's tokens become its input (None when it knows none of them), its file's record."""

    model: nn.Module
    knows: Callable[[str], bool]
    encode: Callable[[list[str]], torch.Tensor | None]
    kept: KeptModel
    path: Path

    def describe(self) -> str:
        """Which model answers: its sweep, configuration and dev accuracy."""
        return (f"{self.path}: the {self.kept.sweep} sweep's {self.kept.name!r} (seed "
                f"{self.kept.seed}, epoch {self.kept.best_epoch}), dev accuracy "
                f"{self.kept.dev_acc:.4f}")


def build(recipe: Recipe) -> nn.Module:
    """The module (untrained) that a recipe describes."""
    if recipe.vocabulary is None:
        return mlp.SentimentClassifier(recipe.embed_dim, mlp.NUM_CLASSES,
                                       list(recipe.hidden_dims), recipe.activation)
    table_rows = len(recipe.vocabulary) + 1 + recipe.bigram_buckets
    return BagClassifier(torch.zeros(table_rows, recipe.embed_dim), list(recipe.hidden_dims),
                         recipe.activation)


def reader(recipe: Recipe, embeddings: object = None
           ) -> tuple[Callable[[str], bool], Callable[[list[str]], torch.Tensor | None]]:
    """Which tokens the model knows, and how tokens become its input: mlp.featurize of them
    (the word vectors the recipe names, unless embeddings are given), or their ids in the
    learned table, as its training read them."""
    if recipe.vocabulary is None:
        vectors = embeddings or load_embeddings(recipe.embeddings)
        # Tokens joined by spaces tokenise to themselves (in all but 1 of IMDB's first 25,000
        # reviews, where an underscore is glued to a word): featurize reads them as they are.
        return vectors.key_to_index.__contains__, \
            lambda tokens: mlp.featurize(" ".join(tokens), vectors)
    rows = {word: row for row, word in enumerate(recipe.vocabulary, start=1)}

    def encode_ids(tokens: list[str]) -> torch.Tensor | None:
        ids = bag_of_ids(tokens, rows, recipe.bigram_buckets)
        return ids if len(ids) else None
    return rows.__contains__, encode_ids


def load(path: str | os.PathLike, embeddings: object = None) -> Ready:
    """The model kept at path, ready to predict (see KeptModel.load for its errors).
    embeddings: the word vectors it was trained on, when they are at hand (else loaded)."""
    kept = KeptModel.load(path)
    model = build(kept.recipe)
    model.load_state_dict(kept.state_dict)
    return Ready(model.eval(), *reader(kept.recipe, embeddings), kept, Path(path))
