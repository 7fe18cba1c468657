"""Batches for the sweeps: mlp.create_dataloader's batches, cut without its Python around each one.

mlp.create_dataloader is the lesson: a DataLoader whose BatchSampler turns each batch's indices
into a Python list, and the dataset turns the list back into a tensor. The sweeps train hundreds
of runs of thousands of steps, and that costs a run of one small layer about a quarter of its
time. Batches gives the same batches in the same order: it draws the same random numbers from
torch's global generator that a DataLoader over a RandomSampler draws, then slices one
permutation. tests/test_homework.py holds mlp.run_mlp with it to mlp.run_mlp without it.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import Dataset


def _draw_seed() -> int:
    """One 64-bit number from torch's global generator, as the DataLoader machinery draws it."""
    return int(torch.empty((), dtype=torch.int64).random_().item())


class Batches:
    """mlp.create_dataloader(dataset, batch_size, shuffle)'s batches: dataset[indices] for each
    batch_size slice of the order, a new random permutation each epoch (or 0, 1, 2, ...)."""

    def __init__(self, dataset: Dataset, batch_size: int, shuffle: bool = True) -> None:
        self.dataset, self.batch_size, self.shuffle = dataset, batch_size, shuffle

    def __len__(self) -> int:
        return -(-len(self.dataset) // self.batch_size)

    def __iter__(self) -> Iterator:
        size = len(self.dataset)
        _draw_seed()  # a DataLoader's iterator draws a base seed for its workers (it has none)
        if self.shuffle:
            # RandomSampler draws the seed of a generator of its own, and permutes with it.
            generator = torch.Generator().manual_seed(_draw_seed())
            order = torch.randperm(size, generator=generator)
        else:
            order = torch.arange(size)
        for indices in order.split(self.batch_size):
            yield self.dataset[indices]
