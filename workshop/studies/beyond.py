"""Beyond the homework: word vectors that learn, against the homework's frozen averages.

    python main.py beyond          # four models on the homework's splits, three seeds each

The homework reads every review through the mean of fixed GloVe vectors. Here the vectors are
parameters: nn.EmbeddingBag(mode="mean") averages the rows of a review's token ids, and
training moves those rows, under the homework's MLP head (the activations sweep's ReLU
configuration: one 512-unit ReLU layer). Four models (main.py's explore_beyond configures them),
on the homework's splits and tokenizer, trained and scored like the homework's:

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
from typing import NamedTuple

import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch.utils.data import Dataset

import mlp
from workshop.data import WordVectors
from workshop.files import save_figure
from workshop.models import PAD, BagClassifier, bag_of_ids
from workshop.records import Config, ConfigResult, Outcome, Recipe, RunOptions, Sweep, Trial
from workshop.runs import homework, sweeps
from workshop.runs.batches import Batches
from workshop.runs.features import Featurised, make_datasets
from workshop.runs.plots import per_seed

BIGRAM_BUCKETS = 2**20  # hashed rows that all pairs of adjacent words share
QUERIES = ["good", "bad", "boring", "masterpiece"]  # words whose nearest neighbours are listed
NEIGHBOURS, AMONG = 5, 5000  # that many neighbours, among that many most frequent words


def run_beyond(sweep: Sweep, splits: mlp.Splits, embeddings: WordVectors,
               options: RunOptions | None = None) -> list[ConfigResult]:
    """Train the sweep's models like the homework's sweeps (results.json, one line each), plot
    them, keep the best, and return one result per model: a configuration with `learned` has a
    table of word vectors that learns, one without is the homework's frozen mean (its run_mlp);
    the runs of one with learned.neighbours list QUERIES' nearest words before and after."""
    options = options or RunOptions()
    data = bag_datasets(splits, make_datasets(splits, embeddings, options.cache_dir))
    trained = sweeps.train_sweep(sweep.name, sweep.configs, run_model, data, options,
                               options.num_epochs or sweep.num_epochs,
                               sizes=[len(bags) for bags in data.words], keep_weights=True)
    plot_beyond(trained, options)
    sweeps.keep_best(sweep.name, trained, options, lambda config: recipe(config, data))
    return trained


def recipe(config: Config, data: BagData) -> Recipe:
    """What rebuilds a model of this experiment: the homework's (frozen), or a learned table
    with its vocabulary and bigram rows."""
    if config.learned is None:
        return homework.recipe(config, data.features.embeddings)
    return Recipe(data.features.embeddings.name, data.features.embeddings.vector_size,
                  config.hidden_dims, config.activation, tuple(data.vocabulary),
                  BIGRAM_BUCKETS if config.learned.bigrams else 0)


# ----------------------------------------------------------------------------------------------
# Reviews as bags of ids


class Bags(Dataset):
    """Reviews as bags of ids, one after another: bags[indices] (a tensor of indices, as
    Batches cuts them) is a batch (ids padded with PAD, labels), built without a Python loop."""

    def __init__(self, ids: list[torch.Tensor], labels: list[int]) -> None:
        self.lengths = torch.tensor([len(bag) for bag in ids], dtype=torch.int64)
        self.starts = self.lengths.cumsum(dim=0) - self.lengths  # where each bag's ids begin
        self.flat = torch.cat([*ids, torch.zeros(0, dtype=torch.int64)])
        self.labels = torch.tensor(labels)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        lengths = self.lengths[indices]  # (batch,)
        rows = torch.arange(len(lengths)).repeat_interleave(lengths)  # each id's bag in the batch
        columns = torch.arange(len(rows)) - (lengths.cumsum(dim=0) - lengths)[rows]
        ids = torch.full((len(lengths), int(lengths.max())), PAD)
        ids[rows, columns] = self.flat[self.starts[indices][rows] + columns]
        return ids, self.labels[indices]  # (batch, longest bag), (batch,)


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


class Optimizers:
    """Optimizers that mlp.train steps as one (it calls zero_grad and step): RowAdam for the
    table's sparse gradients, Adam for the head's."""

    def __init__(self, *optimizers: torch.optim.Optimizer) -> None:
        self.optimizers = optimizers

    def zero_grad(self) -> None:
        for optimizer in self.optimizers:
            optimizer.zero_grad()

    def step(self) -> None:
        for optimizer in self.optimizers:
            optimizer.step()


class RowAdam(torch.optim.Optimizer):
    """torch.optim.SparseAdam's update, made on the rows that a step's gradient holds with
    index_select and index_add_: the same numbers, where SparseAdam's sparse_mask reads the
    whole table at every step (most of a bigram model's time, its table being a million rows)."""

    def __init__(self, params: object, lr: float, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8) -> None:
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps})

    @torch.no_grad()
    def step(self) -> None:
        """One update of every parameter that has a (sparse) gradient."""
        for group in self.param_groups:
            for param in (param for param in group["params"] if param.grad is not None):
                state = self.state[param]
                if not state:
                    state.update(step=0, exp_avg=torch.zeros_like(param),
                                 exp_avg_sq=torch.zeros_like(param))
                state["step"] += 1
                self._update_rows(param, param.grad.coalesce(), state, group)

    @staticmethod
    def _update_rows(param: torch.Tensor, grad: torch.Tensor, state: dict, group: dict) -> None:
        """SparseAdam's arithmetic, step for step, on the gradient's rows (each once)."""
        (beta1, beta2), step = group["betas"], state["step"]
        rows, values = grad.indices()[0], grad.values()  # (n,), (n, dim)
        old_avg = state["exp_avg"].index_select(0, rows)
        avg_update = values.sub(old_avg).mul_(1 - beta1)  # avg += (1 - beta1) (grad - avg)
        state["exp_avg"].index_add_(0, rows, avg_update)
        old_sq = state["exp_avg_sq"].index_select(0, rows)
        sq_update = values.pow(2).sub_(old_sq).mul_(1 - beta2)
        state["exp_avg_sq"].index_add_(0, rows, sq_update)
        numer = avg_update.add_(old_avg)
        denom = sq_update.add_(old_sq).sqrt_().add_(group["eps"])
        step_size = group["lr"] * math.sqrt(1 - beta2**step) / (1 - beta1**step)
        param.index_add_(0, rows, -step_size * numer.div_(denom))


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


def run_model(trial: Trial, data: BagData, on_epoch: Callable[[int], object]) -> Outcome:
    """The sweep's runner: the homework's run_mlp for the frozen reference, run_bags for the
    learned models."""
    learned = trial.config.learned
    if learned is None:
        return sweeps.run_homework(trial, data.features, on_epoch)
    return run_bags(trial, data.features.embeddings, data.vocabulary,
                    data.bigrams if learned.bigrams else data.words, on_epoch)


def run_bags(trial: Trial, embeddings: WordVectors, vocabulary: list[str], bags: BagSplits,
             on_epoch: Callable[[int], object] | None = None,
             progress: bool = False) -> Outcome:
    """Train one bag model the way mlp.run_mlp trains the homework's (seed, then mlp.train and
    mlp.evaluate on the same batches) but for what run_mlp cannot do: build a BagClassifier and
    step its table with RowAdam. With learned.neighbours, the Outcome also holds the
    neighbours of QUERIES "before" and "after" training."""
    config, learned = trial.config, trial.config.learned
    torch.manual_seed(trial.seed)  # initialisation and batch order
    rows = len(vocabulary) + 1 + (BIGRAM_BUCKETS if learned.bigrams else 0)
    table = initial_table(learned.init, embeddings, vocabulary, rows)
    # Listed now: training moves the table's rows (the model holds the table itself).
    before = nearest_neighbours(table, vocabulary, QUERIES) if learned.neighbours else None
    model = BagClassifier(table, list(config.hidden_dims), config.activation).to(trial.device)
    optimizer = Optimizers(
        RowAdam(model.bag.parameters(), lr=learned.embedding_lr),
        torch.optim.Adam(model.head.parameters(), lr=config.lr))
    curves = mlp.train(model, optimizer, Batches(bags.train, config.batch_size),
                       Batches(bags.dev, config.batch_size, shuffle=False),
                       trial.num_epochs, trial.save_path, progress=progress, on_epoch=on_epoch)
    test_loss, test_acc = (
        mlp.evaluate(model, Batches(bags.test, config.batch_size, shuffle=False))
        if curves.dev_accs else (math.nan, math.nan))
    neighbours = None
    if before is not None:
        after = nearest_neighbours(model.bag.weight.detach().cpu(), vocabulary, QUERIES)
        neighbours = {"before": before, "after": after}
    return Outcome(mlp.RunResult(*curves, test_loss, test_acc), neighbours=neighbours)


def nearest_neighbours(table: torch.Tensor, vocabulary: list[str], queries: Sequence[str],
                       count: int = NEIGHBOURS, among: int = AMONG) -> dict[str, list[str]]:
    """For each query word, the count words whose rows are nearest to its row by cosine
    similarity, among the `among` most frequent words (rows 1 to among); a query that is not
    among them is left out."""
    rows = F.normalize(table[1:among + 1], dim=1)  # (among, dim); row 0 is PAD
    neighbours = {}
    for query in (query for query in queries if query in vocabulary[:among]):
        similarity = rows @ rows[vocabulary.index(query)]  # (among,)
        similarity[vocabulary.index(query)] = -math.inf  # not itself
        neighbours[query] = [vocabulary[i] for i in similarity.topk(count).indices.tolist()]
    return neighbours


def plot_beyond(trained: list[ConfigResult], options: RunOptions) -> None:
    """beyond_dev_acc.png, dev accuracy per epoch; beyond_test_acc.png, a bar per model from 0
    with its test accuracy (mean and std over seeds, as error bars), and chance marked (no
    times: the plot is the same at every run)."""
    names = [result.config.name for result in trained]
    mlp.visualize_configs([per_seed(result, "dev_accs") for result in trained], names,
                          "dev accuracy", options.plots_dir / "beyond_dev_acc.png",
                          title="Dev accuracy per epoch, frozen and learned word vectors")
    accs = [[run.test_acc for run in result.runs] for result in trained]
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
    save_figure(fig, options.plots_dir / "beyond_test_acc.png")
