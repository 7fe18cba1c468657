"""What makes the sweeps fast gives the lesson's numbers: Batches cuts mlp.create_dataloader's
batches, RowAdam makes SparseAdam's updates, and the ledger hands a run to each sweep that needs
it, trained once."""

import dataclasses
import functools

import pytest
import torch
from torch.utils.data import TensorDataset

import mlp
from workshop.records import Config, Ledger, Run, RunOptions, Sweep
from workshop.runs import features, homework, sweeps
from workshop.runs.batches import Batches
from workshop.studies import diagnose
from workshop.studies.beyond import RowAdam


def _epochs(loader, count: int = 3) -> list:
    """Each epoch's batches, as lists, then a number drawn from torch's generator."""
    seen = [[[tensor.tolist() for tensor in batch] for batch in loader] for _ in range(count)]
    return [seen, torch.rand(1).item()]


@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("batch_size", [4, 10, 64])
def test_batches_are_the_dataloaders_batches(shuffle, batch_size):
    """Epoch after epoch, Batches gives create_dataloader's batches in its order, and leaves
    torch's generator where the DataLoader leaves it (the next run's numbers depend on it)."""
    dataset = TensorDataset(torch.randn(10, 3), torch.arange(10))
    torch.manual_seed(5)
    plain = _epochs(mlp.create_dataloader(dataset, batch_size, shuffle))
    torch.manual_seed(5)
    assert _epochs(Batches(dataset, batch_size, shuffle)) == plain
    assert len(Batches(dataset, batch_size)) == len(mlp.create_dataloader(dataset, batch_size))


def test_run_mlp_with_batches_is_run_mlp(tiny_datasets, tiny_vectors):
    """Every number of a run, each epoch's and the test's, is the same with Batches."""
    config = {"hidden_dims": [8, 8], "activation": "Tanh", "lr": 0.01, "batch_size": 32,
              "num_epochs": 3, "seed": 4}
    plain = mlp.run_mlp(config, tiny_vectors, *tiny_datasets, progress=False)
    fast = mlp.run_mlp(config, tiny_vectors, *tiny_datasets, progress=False,
                       make_batches=Batches)
    assert fast == plain


def test_row_adam_makes_sparse_adams_updates():
    """Step after step, with rows repeated within a batch and rows left out, RowAdam's table is
    SparseAdam's, bit for bit."""
    torch.manual_seed(0)
    start = torch.randn(200, 6)
    tables = [torch.nn.Parameter(start.clone()) for _ in range(2)]
    optimizers = [torch.optim.SparseAdam([tables[0]], lr=0.01), RowAdam([tables[1]], lr=0.01)]
    for _ in range(10):
        ids, target = torch.randint(0, 100, (60,)), torch.randn(6)
        for table, optimizer in zip(tables, optimizers, strict=True):
            optimizer.zero_grad()
            bags = torch.nn.functional.embedding_bag(ids, table, torch.arange(0, 60, 6),
                                                     mode="mean", sparse=True)
            (bags @ target).pow(2).sum().backward()
            optimizer.step()
    assert torch.equal(tables[0], tables[1])
    assert not torch.equal(tables[1][:100], start[:100])
    assert torch.equal(tables[1][100:], start[100:])  # never in a batch, never moved


def _tiny(name: str, lr: float) -> Config:
    return Config(name, [4], "ReLU", lr=lr, batch_size=32)


def test_a_run_the_ledger_holds_is_read_not_trained_again(tmp_path, tiny_splits, tiny_vectors,
                                                          monkeypatch):
    """A second sweep with a configuration of the first (by another name) trains only its
    others; the run it reads is the first sweep's, and its kept model comes with it."""
    trained = []
    train_trial = sweeps.train_trial
    monkeypatch.setattr(sweeps, "train_trial", lambda job, *rest: (
        trained.append(job.trial), train_trial(job, *rest))[1])
    options = RunOptions(num_epochs=2, seeds=(1, 2), workers=1, plots_dir=tmp_path,
                         cache_dir=None, ledger=Ledger())
    first = homework.run_sweep(Sweep("first", [_tiny("a", 0.01), _tiny("b", 0.02)], 2, "x"),
                               tiny_splits, tiny_vectors, options)
    assert len(trained) == 4
    second = homework.run_sweep(Sweep("second", [_tiny("c", 0.05), _tiny("a again", 0.01)], 2,
                                      "x"), tiny_splits, tiny_vectors, options)
    assert [(trial.config.name, trial.seed) for trial in trained[4:]] == [("c", 1), ("c", 2)]
    assert second[1].runs == first[0].runs
    assert (tmp_path / "models" / "second.pt").exists()
    data = features.make_datasets(tiny_splits, tiny_vectors, None)
    sweeps.train_sweep("watched", [_tiny("a", 0.01)], sweeps.run_homework, data, options, 2,
                       data.sizes, reads_ledger=False)  # as diagnose, whose runs are watched
    without = dataclasses.replace(options, ledger=None)
    homework.run_sweep(Sweep("third", [_tiny("a", 0.01)], 2, "x"), tiny_splits, tiny_vectors,
                       without)
    assert len(trained) == 10  # each time: trained again


def test_the_ledger_gives_a_run_without_what_was_watched_and_only_with_weights_asked_for():
    """A run read from the ledger has no watched extras (a sweep that watches its runs trains
    them); a run whose weights were not kept is not read by a trial that asks for them."""
    ledger, config = Ledger(), _tiny("a", 0.01)
    trial = sweeps.Trial(config, 1, 2, "cpu")
    run = Run(1, 2, 0.5, [0.7, 0.6], [0.5, 0.6], [0.7, 0.6], [0.5, 0.6], 0.6, 0.6,
              inside={"steps": [0]})
    ledger.add(trial, run)
    assert ledger.find(dataclasses.replace(trial, config=_tiny("b", 0.01))) == \
        dataclasses.replace(run, inside=None)
    assert ledger.find(dataclasses.replace(trial, seed=2)) is None
    assert ledger.find(dataclasses.replace(trial, save_path="weights.pt")) is None


def test_map_in_workers_gives_a_loops_results_in_order():
    """Side by side in two worker processes, each item's result, in the items' order: here
    XOR trained from three seeds, the same weights as one after another."""
    seeds = range(3)
    apart = sweeps.map_in_workers(functools.partial(diagnose.train_xor, width=2), seeds, 2)
    for seed, model in zip(seeds, apart, strict=True):
        alone = diagnose.train_xor(seed, width=2)
        assert all(torch.equal(a, b) for a, b in zip(model.parameters(), alone.parameters(),
                                                      strict=True))
