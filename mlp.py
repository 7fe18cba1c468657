"""Sentiment of IMDB movie reviews with a multi-layer perceptron: the homework's library.

A review becomes one vector, the mean of the GloVe vectors of its words; an MLP maps that vector
to two logits (negative = 0, positive = 1). In the handout's order: the data, the features, the
batches, SentimentClassifier, training and evaluation, the plots. Where the reviews and word
vectors come from is workshop/data.py's job; how main.py's sweeps run many configurations,
workshop/runs/sweeps.py's.
"""

from __future__ import annotations

import copy
import itertools
import math
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import NamedTuple

import numpy as np
import torch
from matplotlib.figure import Figure  # the object API draws to files, with no GUI backend
from matplotlib.lines import Line2D
from torch import nn
from torch.utils.data import (
    BatchSampler,
    DataLoader,
    RandomSampler,
    SequentialSampler,
    TensorDataset,
)
from tqdm import tqdm

from workshop.data import DataError, WordVectors, read_imdb
from workshop.files import atomic_write, save_figure

SEED = 42  # the data split, and each run's initialisation and batch order
SPLIT_SIZES = {"dev": 5000, "train": 20000, "test": 10000}  # reviews, as the homework splits them
NUM_CLASSES = 2  # negative (0), positive (1)
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"

# ----------------------------------------------------------------------------------------------
# Data


class Splits(NamedTuple):
    """The homework's three splits, each {"text": [...], "label": [...]}: by name or unpacked."""

    dev: dict
    train: dict
    test: dict


def load_data_mlp(source: str | os.PathLike | None = None, *,
                  dev_size: int = SPLIT_SIZES["dev"], train_size: int = SPLIT_SIZES["train"],
                  test_size: int = SPLIT_SIZES["test"], seed: int = SEED) -> Splits:
    """IMDB as the homework's (dev, train, test) dicts of "text" and "label" lists.

    Each file is shuffled with the seed first (the files are sorted by label); dev is then the
    first dev_size reviews of the train file, train the next train_size, and test the first
    test_size reviews of the test file. source: where the reviews come from (default: the
    bundled data/imdb/; see workshop.data.read_imdb).
    """
    at_least = {"train": dev_size + train_size, "test": test_size}
    shuffled = {}
    for file, columns in read_imdb(source, at_least=at_least).items():
        # The permutation of the datasets library's shuffle(seed=seed), which split it before.
        order = np.random.default_rng(seed).permutation(len(columns["label"]))
        shuffled[file] = {name: [values[i] for i in order] for name, values in columns.items()}

    def part(file: str, start: int, stop: int) -> dict:
        return {name: values[start:stop] for name, values in shuffled[file].items()}

    return Splits(dev=part("train", 0, dev_size),
                  train=part("train", dev_size, dev_size + train_size),
                  test=part("test", 0, test_size))


# ----------------------------------------------------------------------------------------------
# Features

MARKUP = re.compile(r"</?[a-z]+\s*/?>")  # <br />, <i>, </i>: HTML left in the reviews
_CLITIC = r"(?:s|re|ve|ll|d|m)\b"
# GloVe 6B was built from Stanford-tokenised, lower-cased text: clitics are their own tokens
# ("it's" -> "it 's"), and so is each punctuation mark.
TOKEN = re.compile(
    rf"""
      (?:[^\W\d_]\.){{2,}}                        # abbreviations: u.s. e.g.
    | n't\b | '{_CLITIC}                           # clitics
    | \d+(?:[.,:/]\d+)+                           # 3.5  1,000  10/10  8:30
    | [^\W_]+(?:(?:-|'(?!{_CLITIC}))[^\W_]+)*    # words: well-known, o'brien, café
    | \.\.\.|--|\S                                # ellipsis, dash, any other symbol
    """,
    re.VERBOSE,
)


def tokenize(text: str) -> list[str]:
    """Split a review into lower-cased GloVe-style tokens, dropping HTML markup."""
    text = MARKUP.sub(" ", text.lower()).replace("n't", " n't")  # don't -> do n't
    tokens = []
    for chunk in text.split():
        # Most chunks are plain words: only the rest pay for the (much slower) regex.
        if chunk.isalpha():
            tokens.append(chunk)
        else:
            tokens.extend(TOKEN.findall(chunk))
    return tokens


def featurize(sentence: str, embeddings: WordVectors) -> torch.FloatTensor | None:
    """The mean vector of the sentence's tokens that have one, or None if none has.

    embeddings: gensim's KeyedVectors, or workshop.data.WordVectors (the same attributes).
    """
    rows = [row for row in map(embeddings.key_to_index.get, tokenize(sentence)) if row is not None]
    if not rows:
        return None
    return torch.from_numpy(embeddings.vectors[rows].mean(axis=0))  # (embed_dim,)


def create_tensor_dataset(raw_data: dict, embeddings: WordVectors) -> TensorDataset:
    """(features, labels) of the reviews that have a known word; the others are skipped."""
    features, labels = [], []
    texts = tqdm(raw_data["text"], desc="featurize", unit="review", leave=False, disable=None)
    for text, label in zip(texts, raw_data["label"], strict=True):
        feature = featurize(text, embeddings)
        if feature is not None:
            features.append(feature)
            labels.append(label)
    skipped = len(raw_data["label"]) - len(labels)
    if not labels:
        raise DataError(f"none of the {skipped} reviews has a word in the vocabulary of "
                        f"{embeddings!r}; check the text column and the word vectors")
    if skipped:
        print(f"skipped {skipped} of {len(raw_data['label'])} reviews with no known word",
              file=sys.stderr)
    return TensorDataset(torch.stack(features), torch.tensor(labels))  # (n, embed_dim), (n,)


def create_dataloader(dataset: TensorDataset, batch_size: int, shuffle: bool = True) -> DataLoader:
    """Batches of (inputs, labels), each cut from the dataset's tensors in one indexing step.

    The shuffled order is drawn anew each epoch from torch's generator: torch.manual_seed fixes it.
    """
    order = RandomSampler(dataset) if shuffle else SequentialSampler(dataset)
    # batch_size=None: each list of indices from the BatchSampler goes to dataset[indices]
    # whole, instead of batch_size single examples being fetched and stacked.
    return DataLoader(dataset, sampler=BatchSampler(order, batch_size, drop_last=False),
                      batch_size=None)


# ----------------------------------------------------------------------------------------------
# Model

# The activations SentimentClassifier accepts, by name in any case: one line adds another.
ACTIVATIONS: dict[str, type[nn.Module]] = {
    "Sigmoid": nn.Sigmoid,
    "Tanh": nn.Tanh,
    "ReLU": nn.ReLU,
    "GELU": nn.GELU,
    "LeakyReLU": nn.LeakyReLU,
    "ELU": nn.ELU,
    "SiLU": nn.SiLU,
    "Softplus": nn.Softplus,
}


class SentimentClassifier(nn.Module):
    """MLP embed_dim -> hidden_dims... -> num_classes; the activation follows each hidden layer."""

    def __init__(self, embed_dim: int, num_classes: int, hidden_dims: list[int],
                 activation: str = "Sigmoid") -> None:
        super().__init__()
        sizes = [embed_dim, *hidden_dims, num_classes]
        if not all(isinstance(size, int) and size > 0 for size in sizes):
            raise ValueError(f"layer sizes must be positive integers, got embed_dim={embed_dim}, "
                             f"hidden_dims={hidden_dims}, num_classes={num_classes}")
        by_name = {name.lower(): module for name, module in ACTIVATIONS.items()}
        if str(activation).lower() not in by_name:
            raise ValueError(f"unknown activation {activation!r}; choose one of: "
                             f"{', '.join(ACTIVATIONS)}")
        self.linears = nn.ModuleList(nn.Linear(n_in, n_out)
                                     for n_in, n_out in itertools.pairwise(sizes))
        self.activation = by_name[activation.lower()]()
        self.loss = nn.CrossEntropyLoss()

    def forward(self, inp: torch.Tensor) -> torch.Tensor:
        """Logits (batch, num_classes) for inputs (batch, embed_dim)."""
        hidden = inp
        for linear in self.linears[:-1]:
            hidden = self.activation(linear(hidden))  # (batch, hidden_dim)
        return self.linears[-1](hidden)  # raw logits: the loss applies the softmax


# ----------------------------------------------------------------------------------------------
# Training and evaluation


def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> torch.FloatTensor:
    """1.0 where the arg-max class is the label, else 0.0: one value per example."""
    return (logits.argmax(dim=-1) == labels).float()


def evaluate(model: SentimentClassifier, dataloader: DataLoader) -> tuple[float, float]:
    """Mean loss and accuracy over the dataloader's examples (not over its batches)."""
    model.eval()
    device = next(model.parameters()).device
    loss_sum = correct = count = 0
    with torch.no_grad():
        for inputs, labels in dataloader:
            inputs, labels = inputs.to(device), labels.to(device)
            logits = model(inputs)
            loss_sum += model.loss(logits, labels).item() * len(labels)
            correct += accuracy(logits, labels).sum().item()
            count += len(labels)
    return loss_sum / count, correct / count


def train_epoch(model: SentimentClassifier, optimizer: torch.optim.Optimizer,
                dataloader: DataLoader) -> tuple[float, float]:
    """One pass over the training data: the mean loss and accuracy of its examples, as the
    weights changed (a NaN or infinite loss ends the pass at once and is returned)."""
    model.train()
    device = next(model.parameters()).device
    loss_sum = correct = count = 0
    for inputs, labels in dataloader:
        inputs, labels = inputs.to(device), labels.to(device)
        optimizer.zero_grad()
        logits = model(inputs)
        loss = model.loss(logits, labels)
        loss.backward()
        optimizer.step()
        if not math.isfinite(loss.item()):
            return loss.item(), math.nan
        loss_sum += loss.item() * len(labels)
        correct += accuracy(logits, labels).sum().item()
        count += len(labels)
    return loss_sum / count, correct / count


def best_epoch(dev_accs: Sequence[float]) -> int:
    """The epoch (from 1) whose weights train keeps: the first with the best dev accuracy."""
    return dev_accs.index(max(dev_accs)) + 1


class Curves(NamedTuple):
    """What train returns: per-epoch lists, unpacked as the handout's four."""

    train_losses: list[float]
    train_accs: list[float]
    dev_losses: list[float]
    dev_accs: list[float]


def train(model: SentimentClassifier, optimizer: torch.optim.Optimizer,
          train_dataloader: DataLoader, dev_dataloader: DataLoader, num_epochs: int,
          save_path: str | os.PathLike | None = None, *, progress: bool = True,
          on_epoch: Callable[[int], object] | None = None) -> Curves:
    """Train for num_epochs; return the per-epoch train losses and accuracies, then dev's.

    The model ends with the weights of best_epoch, also saved to save_path. A loss that becomes
    NaN or infinite stops training: the lists end with the last finished epoch. progress: a bar
    over the epochs (in a terminal); on_epoch(epoch) is called as each epoch finishes.
    """
    curves = Curves([], [], [], [])
    best_weights = None
    epochs = range(1, num_epochs + 1)
    for epoch in tqdm(epochs, desc="epochs", leave=False, disable=None if progress else True):
        train_loss, train_acc = train_epoch(model, optimizer, train_dataloader)
        # Checked after every epoch: its last step may have broken the weights.
        dev_loss, dev_acc = evaluate(model, dev_dataloader)
        if not (math.isfinite(train_loss) and math.isfinite(dev_loss)):
            print(f"the loss is not finite in epoch {epoch}: this run stops", file=sys.stderr)
            break
        for curve, value in zip(curves, (train_loss, train_acc, dev_loss, dev_acc), strict=True):
            curve.append(value)
        if best_epoch(curves.dev_accs) == epoch:
            best_weights = copy.deepcopy(model.state_dict())
        if on_epoch is not None:
            on_epoch(epoch)
    if best_weights is not None:
        model.load_state_dict(best_weights)
        if save_path is not None:
            atomic_write(save_path, lambda tmp: torch.save(best_weights, tmp))
    return curves


class RunResult(NamedTuple):
    """What run_mlp returns: by name, or unpacked as the handout's six values."""

    train_losses: list[float]
    train_accs: list[float]
    dev_losses: list[float]
    dev_accs: list[float]
    test_loss: float
    test_acc: float


def run_mlp(config: Mapping, embeddings: WordVectors, dev_dataset: TensorDataset,
            train_dataset: TensorDataset, test_dataset: TensorDataset, *,
            device: str | None = None, progress: bool = True,
            on_epoch: Callable[[int], object] | None = None,
            make_batches: Callable[..., Iterable] = create_dataloader) -> RunResult:
    """Train one configuration: its four per-epoch lists, then test loss and accuracy.

    config (a dict or the skeleton's EasyDict): hidden_dims, activation, lr, batch_size,
    num_epochs, and optionally num_classes (2), seed (SEED) and save_path. Beside it: where to
    train (default DEVICE), how to show it (train's progress and on_epoch), how to cut batches
    (make_batches; the sweeps pass a faster one with the same batches). Test is scored with the
    best-dev weights, and is NaN if no epoch finished.
    """
    for key in ("lr", "batch_size", "num_epochs"):
        if not config[key] > 0:
            raise ValueError(f"config[{key!r}] must be positive, got {config[key]!r}")
    device = torch.device(device or DEVICE)
    torch.manual_seed(config.get("seed", SEED))  # initialisation and batch order
    model = SentimentClassifier(embeddings.vector_size, config.get("num_classes", NUM_CLASSES),
                                config["hidden_dims"], config["activation"]).to(device)
    # fused: one kernel updates all the weights; the same Adam in less time per step.
    optimizer = torch.optim.Adam(model.parameters(), lr=config["lr"], fused=True)
    dev, train_set, test = (TensorDataset(*(tensor.to(device) for tensor in dataset.tensors))
                            for dataset in (dev_dataset, train_dataset, test_dataset))
    batch_size = config["batch_size"]
    curves = train(model, optimizer, make_batches(train_set, batch_size),
                   make_batches(dev, batch_size, shuffle=False), config["num_epochs"],
                   config.get("save_path"), progress=progress, on_epoch=on_epoch)
    test_loss, test_acc = (evaluate(model, make_batches(test, batch_size, shuffle=False))
                           if curves.dev_accs else (math.nan, math.nan))
    return RunResult(*curves, test_loss, test_acc)


# ----------------------------------------------------------------------------------------------
# Plots: given one list per seed, the median seed's curve thick and each other seed's thin


def _per_seed(runs: Sequence) -> list[np.ndarray]:
    """Curves, one per seed: one list per seed, or a single run's list. A diverged seed's is
    shorter."""
    if len(runs) == 0 or not isinstance(runs[0], Sequence | np.ndarray):
        runs = [runs]  # a single run (maybe one that diverged before finishing an epoch)
    return [np.asarray(run, dtype=float) for run in runs]


def median_seed(runs: Sequence) -> int:
    """The index of the median seed's curve, by its mean over the epochs (of two, the lower)."""
    curves = _per_seed(runs)
    means = [curve.mean() if len(curve) else -math.inf for curve in curves]
    return sorted(range(len(curves)), key=means.__getitem__)[(len(curves) - 1) // 2]


def _plot_seeds(ax, runs: Sequence, label: str, color: str | None = None,
                thick: int | None = None) -> None:
    """One configuration over epochs 1..N: seed `thick` (default: the median seed), thick, and
    each other seed, thin. A line drawn is always a run, never an average of runs that part."""
    curves = _per_seed(runs)
    thick = median_seed(curves) if thick is None else thick
    (line,) = ax.plot(np.arange(1, len(curves[thick]) + 1), curves[thick], marker="o",
                      markersize=3, linewidth=2, label=label, color=color)
    for index, curve in enumerate(curves):
        if index != thick:
            ax.plot(np.arange(1, len(curve) + 1), curve, color=line.get_color(), linewidth=0.8,
                    alpha=0.6)


def _legend(ax, seeds: int, names: bool = True, colour: str = "grey",
            thick: str = "the median of {seeds} seeds\n(by its mean over the epochs)") -> None:
    """The legend, beside the axes so that it hides no data (names: of the lines drawn); with
    several seeds, entries in colour that say what the thick lines are (thick) and the thin."""
    handles = ax.get_legend_handles_labels()[0] if names else []
    if seeds > 1:
        handles += [Line2D([], [], color=colour, linewidth=2, marker="o", markersize=3,
                           label=thick.format(seeds=seeds)),
                    Line2D([], [], color=colour, linewidth=0.8, alpha=0.6,
                           label="each other seed")]
    if handles:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1), fontsize="small")


def _save(fig: Figure, save_fig_path: str | os.PathLike) -> None:
    """Write the figure as a PNG, whole or not at all, with a grid on each of its axes."""
    for ax in fig.axes:
        ax.grid(alpha=0.3)
    save_figure(fig, save_fig_path)


def _epoch_axes(ax, ylabel: str, title: str) -> None:
    """Label an axes of a metric over whole-numbered epochs."""
    ax.set(xlabel="epoch", ylabel=ylabel, title=title)
    ax.xaxis.get_major_locator().set_params(integer=True)


def visualize_epochs(epoch_train_losses: Sequence, epoch_dev_losses: Sequence,
                     save_fig_path: str | os.PathLike, *, title: str = "Train and dev loss",
                     ylim: tuple[float, float] | None = None) -> None:
    """Train and dev loss per epoch (given one list per seed: the seed with the median dev loss
    thick, for both, so that its two lines are one run's); ylim gives such plots one scale."""
    fig = Figure(figsize=(6.4, 4.2))
    ax = fig.subplots()
    _epoch_axes(ax, "cross-entropy loss", title)
    thick = median_seed(epoch_dev_losses)
    _plot_seeds(ax, epoch_train_losses, "train loss", thick=thick)
    _plot_seeds(ax, epoch_dev_losses, "dev loss", thick=thick)
    ax.set_ylim(ylim)
    _legend(ax, len(_per_seed(epoch_dev_losses)),
            thick="the seed (of {seeds}) with the median\ndev loss, by its mean over the "
                  "epochs:\nits train and dev loss")
    _save(fig, save_fig_path)


def visualize_configs(all_config_epoch_stats: Sequence, config_names: Sequence[str],
                      metric_name: str, save_fig_path: str | os.PathLike, *,
                      title: str | None = None, panels: bool = False,
                      ylim: tuple[float, float] | None = None) -> None:
    """One metric per epoch for each configuration (given one list per seed, the median seed
    thick): on one axes, or with panels one axes per configuration, the others' median seeds
    in grey behind it. ylim: the y-range (default: all the values)."""
    seeds = max(len(_per_seed(stats)) for stats in all_config_epoch_stats)
    title = title or f"{metric_name.capitalize()} per epoch"
    if not panels:
        fig = Figure(figsize=(6.4, 4.2))
        ax = fig.subplots()
        _epoch_axes(ax, metric_name, title)
        for stats, name in zip(all_config_epoch_stats, config_names, strict=True):
            _plot_seeds(ax, stats, name)
        ax.set_ylim(ylim)
        _legend(ax, seeds)
        _save(fig, save_fig_path)
        return
    columns = 3
    rows = -(-len(config_names) // columns)
    fig = Figure(figsize=(4 * columns, 3.4 * rows))
    fig.subplots_adjust(hspace=0.45, wspace=0.1)
    axes = fig.subplots(rows, columns, sharex=True, sharey=True, squeeze=False).flatten()
    medians = [_per_seed(stats)[median_seed(stats)] for stats in all_config_epoch_stats]
    for index, (ax, name) in enumerate(zip(axes, config_names, strict=False)):
        for other, curve in enumerate(medians):
            if other != index:
                ax.plot(np.arange(1, len(curve) + 1), curve, color="lightgrey", linewidth=1)
        _plot_seeds(ax, all_config_epoch_stats[index], name, color=f"C{index}")
        _epoch_axes(ax, metric_name if index % columns == 0 else "", name)
        ax.tick_params(labelbottom=True)  # epoch numbers under every panel, not the last row's
    axes[0].set_ylim(ylim)
    for ax in axes[len(config_names):]:
        ax.set_visible(False)
    fig.suptitle(f"{title} (grey: the other configurations' median seeds)")
    _legend(axes[columns - 1], seeds, names=False, colour="black", thick="in each panel's "
            "colour:\nthe median of {seeds} seeds\n(by its mean over the epochs)")
    _save(fig, save_fig_path)
