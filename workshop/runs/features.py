"""The homework's three splits as features, made once: mlp.create_tensor_dataset of each split,
kept in a cache on disk and loaded from there when the same code has already featurised the same
reviews with the same word vectors (featurising all 35,000 reviews takes seconds; loading, a
fraction of one).
"""

from __future__ import annotations

import hashlib
import inspect
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import TensorDataset

import mlp
from workshop.data import WordVectors
from workshop.files import atomic_write

SPLITS = ("dev", "train", "test")  # the order of load_data_mlp's splits, and of results' sizes


@dataclass(frozen=True)
class Featurised:
    """The homework's three splits as features, with the word vectors that made them."""

    embeddings: WordVectors
    dev: TensorDataset
    train: TensorDataset
    test: TensorDataset

    @property
    def sizes(self) -> list[int]:
        """Reviews in dev, train and test (those with a known word), in that order."""
        return [len(getattr(self, split)) for split in SPLITS]


def make_datasets(splits: mlp.Splits, embeddings: WordVectors, cache_dir: str | os.PathLike | None,
              make: Callable[[dict, object], TensorDataset] = mlp.create_tensor_dataset,
              ) -> Featurised:
    """make(split, embeddings) for each of the three splits, kept in cache_dir (None: no cache)
    and loaded from there when the same code has already featurised the same reviews with the
    same vectors."""
    splits = mlp.Splits(*splits)  # by name, whether load_data_mlp's or a plain (dev, train, test)
    if cache_dir is None:
        return Featurised(embeddings, *(make(getattr(splits, split), embeddings)
                                        for split in SPLITS))
    key = _cache_key(make, splits, embeddings)
    path = Path(cache_dir) / f"features-{key[:32]}.pt"
    tensors = _load_cached(path, key)
    if tensors is None:
        tensors = {split: list(make(getattr(splits, split), embeddings).tensors)
                   for split in SPLITS}
        payload = {"key": key, "checksum": _checksum(tensors), "tensors": tensors}
        atomic_write(path, lambda tmp: torch.save(payload, tmp))
    return Featurised(embeddings, **{split: TensorDataset(*tensors[split]) for split in SPLITS})


def _cache_key(make: Callable, splits: mlp.Splits, embeddings: WordVectors) -> str:
    """A hash of the file that defines make (so any change to it), the vectors and reviews."""
    digest = hashlib.sha256(Path(inspect.getsourcefile(make)).read_bytes())
    digest.update(np.ascontiguousarray(embeddings.vectors).tobytes())
    digest.update("\n".join(embeddings.index_to_key).encode())
    for split in SPLITS:
        digest.update(np.asarray(getattr(splits, split)["label"], dtype=np.int64).tobytes())
        for text in getattr(splits, split)["text"]:
            digest.update(text.encode() + b"\0")
    return digest.hexdigest()


def _checksum(tensors: dict[str, list[torch.Tensor]]) -> str:
    """A hash of the cached tensors' bytes: a flipped bit inside them is caught on loading."""
    digest = hashlib.sha256()
    for split in SPLITS:
        for tensor in tensors[split]:
            digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()


def _load_cached(path: Path, key: str) -> dict[str, list[torch.Tensor]] | None:
    """The tensors cached at path if they are intact and made for key, else None."""
    if not path.exists():
        return None
    try:
        cached = torch.load(path, weights_only=True)
        if cached["key"] == key and cached["checksum"] == _checksum(cached["tensors"]):
            return cached["tensors"]
    except Exception:  # a torn or foreign file is rebuilt, never trusted
        pass
    print(f"warning: the feature cache {path} is damaged; rebuilding it", file=sys.stderr)
    return None
