"""Beyond the homework: word vectors that learn, against the homework's frozen averages.

    python main.py beyond          # four models on the homework's splits, three seeds each

The homework reads every review through the mean of fixed GloVe vectors. Here the vectors are
parameters: nn.EmbeddingBag(mode="mean") averages the rows of a review's token ids, and
training moves those rows, under the homework's MLP head (the activations sweep's ReLU
configuration: one 512-unit ReLU layer). Four models, on the homework's splits and tokenizer,
trained and scored like the homework's:

1. the frozen GloVe mean of the homework (the reference: that configuration itself);
2. an EmbeddingBag initialised from GloVe (words that GloVe lacks start random), learned;
3. the same with a hashed id for each pair of adjacent words in the bag (fastText's bigrams);
4. the same as 2 from a random start: what pretraining adds once the vectors learn.

The best of them is kept in plots/models/beyond.pt with its vocabulary, for `predict`.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import nn
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import Dataset

import mlp
import results
import sweeps
from features import Featurised, featurise
from sources import WordVectors

NUM_EPOCHS = 10  # learned vectors fit the training reviews in a few epochs; more only cost time
PAD = 0  # row 0 of every table: padding, left out of each review's mean
BIGRAM_BUCKETS = 2**20  # hashed rows that all pairs of adjacent words share
QUERIES = ["good", "bad", "boring", "masterpiece"]  # words whose nearest neighbours are listed
NEIGHBOURS, AMONG = 5, 5000  # that many neighbours, among that many most frequent words


def explore_beyond(dev_d: dict, train_d: dict, test_d: dict, embeddings: WordVectors, *,
                   reference: dict, **options) -> list[dict]:
    """Train the four models above like the homework's sweeps (results.json, one line each),
    plot them, keep the best, and return one result per model; the GloVe-initialised model's
    runs also list the nearest neighbours of QUERIES before and after training.
    reference: the homework's configuration whose head they share. options: those of
    sweeps.Options (num_epochs: NUM_EPOCHS unless given)."""
    options = sweeps.Options(**{"num_epochs": NUM_EPOCHS, **options})
    head = {"hidden_dims": reference["hidden_dims"], "activation": reference["activation"]}
    learned = {"model": "bag", "lr": 0.001, "embedding_lr": 0.003, "batch_size": 64, **head}
    configs = [
        {**reference, "name": "frozen GloVe mean", "model": "frozen"},
        {"name": "GloVe, learned", "init": "glove", "bigrams": False, "neighbours": True,
         **learned},
        {"name": "GloVe + bigrams, learned", "init": "glove", "bigrams": True, **learned},
        {"name": "random, learned", "init": "random", "bigrams": False, **learned},
    ]
    splits = mlp.Splits(dev_d, train_d, test_d)
    data = bag_datasets(splits, featurise(splits, embeddings, options.cache_dir))
    found = sweeps.train_sweep("beyond", configs, run_model, data, options,
                               sizes=[len(bags) for bags in data.words], keep_weights=True)
    plot_beyond(found, Path(options.plots_dir))
    sweeps.keep_best("beyond", found, options.plots_dir, recipe(data), options.command)
    return found


def recipe(data: BagData) -> Callable[[dict], dict]:
    """What rebuilds a model of this experiment (predict.py): the homework's MLP on the mean
    of word vectors (the reference), or a learned table with its vocabulary and bigram rows."""
    embeddings = data.features.embeddings
    return lambda config: {
        "hidden_dims": config["hidden_dims"], "activation": config["activation"],
        "embed_dim": embeddings.vector_size,
        **({"kind": "mean", "embeddings": embeddings.name} if config["model"] == "frozen" else
           {"kind": "bag", "vocabulary": data.vocabulary,
            "bigram_buckets": BIGRAM_BUCKETS if config["bigrams"] else 0})}


# ----------------------------------------------------------------------------------------------
# Reviews as bags of ids


class Bags(Dataset):
    """Reviews as bags of ids: bags[indices] is a batch (ids padded with PAD, labels)."""

    def __init__(self, ids: list[torch.Tensor], labels: list[int]) -> None:
        self.ids, self.labels = ids, torch.tensor(labels)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, indices: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        ids = pad_sequence([self.ids[i] for i in indices], batch_first=True, padding_value=PAD)
        return ids, self.labels[indices]  # (batch, longest bag), (batch,)


def bag_of_ids(tokens: list[str], rows: dict[str, int], buckets: int = 0) -> torch.Tensor:
    """A review's ids: the row of each known word, then (with buckets) a hashed bigram row for
    each pair of adjacent known words, in order (predict.py's explanations rely on it)."""
    ids = np.array([rows[token] for token in tokens if token in rows], dtype=np.int64)
    if buckets:
        # A fixed hash of the two words' rows (Python's hash() changes from run to run).
        pairs = (ids[:-1] * 1_000_003 + ids[1:]) % buckets + len(rows) + 1
        ids = np.concatenate([ids, pairs])
    return torch.from_numpy(ids)


class BagSplits(NamedTuple):
    """The homework's three splits as bags of ids."""

    dev: Bags
    train: Bags
    test: Bags


@dataclass(frozen=True)
class BagData:
    """What the four models train on: the homework's features (the frozen reference), the
    training reviews' words (word i is row i + 1), and the splits as bags of those words'
    ids, without and with bigrams."""

    features: Featurised
    vocabulary: list[str]
    words: BagSplits
    bigrams: BagSplits


def bag_datasets(splits: mlp.Splits, features: Featurised) -> BagData:
    """The splits as bags of the training reviews' words, most frequent first."""
    # Each review is tokenised where it is used, not kept: the tokens of all the reviews, as
    # Python strings, would take more memory than everything else here.
    counts = Counter(token for text in splits.train["text"] for token in mlp.tokenize(text))
    vocabulary = [word for word, _ in counts.most_common()]
    rows = {word: row for row, word in enumerate(vocabulary, start=1)}
    words, bigrams = [], []
    for split in splits:
        ids = [(bag_of_ids(tokens, rows), bag_of_ids(tokens, rows, BIGRAM_BUCKETS))
               for tokens in map(mlp.tokenize, split["text"])]
        words.append(Bags([unigram for unigram, _ in ids], split["label"]))
        bigrams.append(Bags([with_pairs for _, with_pairs in ids], split["label"]))
    return BagData(features, vocabulary, BagSplits(*words), BagSplits(*bigrams))


# ----------------------------------------------------------------------------------------------
# The model and its training


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


class Optimizers:
    """Optimizers that mlp.train steps as one (it calls zero_grad and step): SparseAdam for the
    table's sparse gradients, Adam for the head's."""

    def __init__(self, *optimizers: torch.optim.Optimizer) -> None:
        self.optimizers = optimizers

    def zero_grad(self) -> None:
        for optimizer in self.optimizers:
            optimizer.zero_grad()

    def step(self) -> None:
        for optimizer in self.optimizers:
            optimizer.step()


def initial_table(init: str, embeddings: WordVectors, vocabulary: list[str],
                  rows: int) -> torch.Tensor:
    """The table to learn (rows, dim): PAD, a row per word, then zero rows for bigrams (a pair
    means nothing until trained). Words start at their GloVe vector (init "glove"; random where
    GloVe lacks them) or at random (init "random"), on GloVe's scale."""
    table = torch.zeros(rows, embeddings.vector_size)
    scale = float(embeddings.vectors.std())
    table[1:len(vocabulary) + 1] = torch.randn(len(vocabulary), embeddings.vector_size) * scale
    if init == "glove":
        known = [row for row in range(1, len(vocabulary) + 1) if vocabulary[row - 1] in embeddings]
        glove_rows = [embeddings.key_to_index[vocabulary[row - 1]] for row in known]
        table[known] = torch.from_numpy(embeddings.vectors[glove_rows])
    return table


def run_model(config: dict, data: BagData, *, device: str,
              on_epoch: Callable[[int], object]) -> sweeps.Outcome:
    """The sweep's runner: the homework's run_mlp for the frozen reference, run_bags for the
    learned models."""
    if config["model"] == "frozen":
        return sweeps.run_homework(config, data.features, device=device, on_epoch=on_epoch)
    return run_bags(config, data.features.embeddings, data.vocabulary,
                    data.bigrams if config["bigrams"] else data.words, device=device,
                    on_epoch=on_epoch)


def run_bags(config: dict, embeddings: WordVectors, vocabulary: list[str], bags: BagSplits, *,
             device: str = mlp.DEVICE, on_epoch: Callable[[int], object] | None = None,
             progress: bool = False) -> sweeps.Outcome:
    """Train one bag model the way mlp.run_mlp trains the homework's (seed, then mlp.train and
    mlp.evaluate on the same batches) but for what run_mlp cannot do: build a BagClassifier and
    step its table with SparseAdam. With config["neighbours"], the Outcome also holds the
    "neighbours" of QUERIES "before" and "after" training."""
    torch.manual_seed(config["seed"])  # initialisation and batch order
    rows = len(vocabulary) + 1 + (BIGRAM_BUCKETS if config["bigrams"] else 0)
    table = initial_table(config["init"], embeddings, vocabulary, rows)
    # Listed now: training moves the table's rows (the model holds the table itself).
    before = nearest_neighbours(table, vocabulary, QUERIES) if config.get("neighbours") else None
    model = BagClassifier(table, config["hidden_dims"], config["activation"]).to(device)
    optimizer = Optimizers(
        torch.optim.SparseAdam(model.bag.parameters(), lr=config["embedding_lr"]),
        torch.optim.Adam(model.head.parameters(), lr=config["lr"]))
    batch_size = config["batch_size"]
    curves = mlp.train(model, optimizer, mlp.create_dataloader(bags.train, batch_size),
                       mlp.create_dataloader(bags.dev, batch_size, shuffle=False),
                       config["num_epochs"], config.get("save_path"), progress=progress,
                       on_epoch=on_epoch)
    test_loss, test_acc = (
        mlp.evaluate(model, mlp.create_dataloader(bags.test, batch_size, shuffle=False))
        if curves.dev_accs else (math.nan, math.nan))
    seen = {}
    if before is not None:
        after = nearest_neighbours(model.bag.weight.detach().cpu(), vocabulary, QUERIES)
        seen["neighbours"] = {"before": before, "after": after}
    return sweeps.Outcome(mlp.RunResult(*curves, test_loss, test_acc), seen)


def nearest_neighbours(table: torch.Tensor, vocabulary: list[str], queries: Sequence[str],
                       count: int = NEIGHBOURS, among: int = AMONG) -> dict[str, list[str]]:
    """For each query word, the count words whose rows are nearest to its row by cosine
    similarity, among the `among` most frequent words (rows 1 to among); a query that is not
    among them is left out."""
    rows = F.normalize(table[1:among + 1], dim=1)  # (among, dim); row 0 is PAD
    found = {}
    for query in (query for query in queries if query in vocabulary[:among]):
        similarity = rows @ rows[vocabulary.index(query)]  # (among,)
        similarity[vocabulary.index(query)] = -math.inf  # not itself
        found[query] = [vocabulary[i] for i in similarity.topk(count).indices.tolist()]
    return found


def plot_beyond(configs: list[dict], plots_dir: Path) -> None:
    """beyond_dev_acc.png, dev accuracy per epoch; beyond_test_acc.png, a bar per model from 0
    with its test accuracy (mean and std over seeds, as error bars), and chance marked (no
    times: the plot is the same at every run)."""
    names = [config["name"] for config in configs]
    mlp.visualize_configs([[run["dev_accs"] for run in config["runs"]] for config in configs],
                          names, "dev accuracy", plots_dir / "beyond_dev_acc.png",
                          title="Dev accuracy per epoch, frozen and learned word vectors")
    accs = [[run["test_acc"] for run in config["runs"]] for config in configs]
    means = [statistics.fmean(acc) for acc in accs]
    stds = [statistics.stdev(acc) if len(acc) > 1 else 0.0 for acc in accs]
    fig = Figure(figsize=(7.5, 2.8))
    ax = fig.subplots()
    ax.barh(names, means, xerr=stds, capsize=4, color=[f"C{i}" for i in range(len(names))])
    for row, (mean, std) in enumerate(zip(means, stds, strict=True)):
        ax.text(0.01, row, f"{mean:.4f} ± {std:.4f}", va="center", color="white",
                fontsize="small")  # inside the bar, left of the chance line
    ax.axvline(0.5, color="black", linestyle="--", linewidth=1, label="chance (0.5)")
    seeds = max(map(len, accs))
    ax.set(xlim=(0, 1), xlabel="test accuracy of the best dev epoch's weights",
           title=f"Test accuracy, mean ± std of {seeds} seeds (error bars)")
    ax.invert_yaxis()  # the reference on top
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
    results.save_figure(fig, plots_dir / "beyond_test_acc.png")
