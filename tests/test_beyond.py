"""beyond: bags of ids, the bag model, nearest neighbours, and the experiment end to end."""

import pytest
import torch
from conftest import PNG

import main
import mlp
from workshop.models import PAD, BagClassifier, bag_of_ids
from workshop.records import Config, Learned, RunOptions, Trial, load_sweeps
from workshop.runs import features
from workshop.studies import beyond
from workshop.studies.beyond import Bags, bag_datasets, nearest_neighbours

ROWS = {"good": 1, "film": 2, "bad": 3}


def test_bag_of_ids_of_hand_made_reviews():
    """Known words give their rows, unknown words nothing; with buckets, each pair of adjacent
    known words adds a hashed row after the word rows, the same pair always the same row."""
    assert bag_of_ids([], ROWS).tolist() == []
    assert bag_of_ids(["zzz", "qqq"], ROWS).tolist() == []
    assert bag_of_ids(["good", "zzz", "film"], ROWS).tolist() == [1, 2]
    # (1 * 1000003 + 2) % 10 = 5 and (2 * 1000003 + 3) % 10 = 9, after rows 0 (PAD) to 3.
    assert bag_of_ids(["good", "zzz", "film", "bad"], ROWS, buckets=10).tolist() == [1, 2, 3,
                                                                                    9, 13]
    assert bag_of_ids(["film", "good"], ROWS, buckets=10).tolist() == [2, 1, 11]  # order counts
    assert bag_of_ids(["good"], ROWS, buckets=10).tolist() == [1]  # no pair


def test_a_batch_of_bags_is_padded_with_pad():
    """bags[indices] pads the bags to the longest with PAD; an empty bag is all PAD."""
    bags = Bags([torch.tensor([3, 1]), torch.tensor([], dtype=torch.long), torch.tensor([2])],
                [1, 0, 1])
    ids, labels = bags[[0, 1, 2]]
    assert ids.tolist() == [[3, 1], [PAD, PAD], [2, PAD]]
    assert labels.tolist() == [1, 0, 1]
    ids, labels = bags[torch.tensor([2, 0])]  # as Batches cuts them from a permutation
    assert ids.tolist() == [[2, PAD], [3, 1]]
    assert labels.tolist() == [1, 1]


def test_bag_model_averages_the_rows_of_a_reviews_words():
    """The head sees the mean of the rows of each bag's ids, PAD left out (none: zeros)."""
    torch.manual_seed(0)
    table = torch.randn(6, 4)
    model = BagClassifier(table, [8], "ReLU")
    logits = model(torch.tensor([[1, 2, 2], [3, PAD, PAD], [PAD, PAD, PAD]]))
    means = torch.stack([(table[1] + 2 * table[2]) / 3, table[3], torch.zeros(4)])
    assert logits.shape == (3, 2)
    torch.testing.assert_close(logits, model.head(means))


def test_nearest_neighbours_by_cosine_among_the_frequent_words():
    """Neighbours are ranked by cosine similarity (not length), without the word itself, among
    the `among` most frequent words only."""
    vocabulary = ["good", "great", "bad", "awful", "rare"]
    table = torch.tensor([[0.0, 0.0], [1.0, 0.0], [2.0, 0.1], [-1.0, 0.0], [-1.0, -0.2],
                          [1.0, 0.01]])  # PAD, then one row per word
    found = nearest_neighbours(table, vocabulary, ["good", "bad"], count=2, among=4)
    assert found == {"good": ["great", "awful"], "bad": ["awful", "great"]}


@pytest.mark.parametrize("init", ["glove", "random"])
def test_bag_models_learn_the_tiny_reviews(tiny_splits, tiny_vectors, init):
    """From the tiny word vectors or from random ones, with or without bigrams, a bag model
    learns the tiny reviews; the same seed gives the same numbers."""
    data = bag_datasets(mlp.Splits(*tiny_splits),
                        features.make_datasets(tiny_splits, tiny_vectors, None))
    for bags in (data.words, data.bigrams):
        learned = Learned(init, bigrams=bags is data.bigrams, embedding_lr=0.05)
        trial = Trial(Config("bags", [16], "ReLU", lr=0.01, batch_size=32, learned=learned),
                      seed=1, num_epochs=4, device="cpu")
        result = beyond.run_bags(trial, tiny_vectors, data.vocabulary, bags).result
        assert max(result.dev_accs) > 0.8 and result.test_acc > 0.8, learned
        assert beyond.run_bags(trial, tiny_vectors, data.vocabulary, bags).result == result


def test_the_experiment_end_to_end(tmp_path, tiny_splits, tiny_vectors, monkeypatch):
    """explore_beyond trains the four models, records them in results.json (with the nearest
    neighbours before and after learning) and draws its two plots."""
    monkeypatch.setattr(beyond, "QUERIES", ["great", "awful"])
    options = RunOptions(num_epochs=2, seeds=[1], workers=1, plots_dir=tmp_path, cache_dir=None)
    results = main.explore_beyond(*tiny_splits, tiny_vectors, options)
    recorded = load_sweeps(tmp_path)["beyond"]
    assert recorded.complete and recorded.configs == results
    assert len(results) == 4 and all(len(r.runs[0].dev_accs) == 2 for r in results)
    (neighbours,) = (run.neighbours for result in results for run in result.runs
                     if run.neighbours is not None)
    assert set(neighbours) == {"before", "after"}
    assert all(len(words) == beyond.NEIGHBOURS for words in neighbours["before"].values())
    assert set(neighbours["after"]) == {"great", "awful"}
    for name in ("beyond_dev_acc.png", "beyond_test_acc.png"):
        assert (tmp_path / name).read_bytes().startswith(PNG)
