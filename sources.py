"""Where the reviews and word vectors come from: IMDB from the bundled data/imdb/, another
folder or the Hugging Face Hub, and word vectors from a GloVe/word2vec text file.

- read_imdb: the train and test splits, with their texts as strings and their labels as 0/1
- read_text_vectors: the words and vectors of a text file (main.py --embeddings PATH)
- DataError: what every reader here raises for bad input, in one line that says how to fix it
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv
import pyarrow.json
import pyarrow.parquet

BUNDLED_DATA = Path(__file__).resolve().parent / "data" / "imdb"
DATA_ENV = "HW3_DATA"  # names a folder to read instead of the bundled copy
HUB_DATASET = "stanfordnlp/imdb"
READERS = {".parquet": pyarrow.parquet.read_table, ".csv": pyarrow.csv.read_csv,
           ".jsonl": pyarrow.json.read_json}
LAYOUTS = "train and test files: {train,test}.parquet, .csv or .jsonl, or shards train-*.parquet"
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


def read_imdb(source: str | os.PathLike | None = None) -> dict[str, dict[str, list]]:
    """IMDB's train and test splits, each {"text": [...], "label": [0 or 1, ...]} in file order.

    source: "bundled" (data/imdb/, or the Hub when those files are missing), "hub", or a folder
    of train/test files. None means $HW3_DATA if it is set, else "bundled".
    """
    source = str(source or os.environ.get(DATA_ENV) or "bundled")
    if source == "bundled":
        bundled = all((BUNDLED_DATA / f"{split}.parquet").is_file() for split in ("train", "test"))
        source = str(BUNDLED_DATA) if bundled else "hub"
    if source == "hub":
        columns = _download_from_hub()
    else:
        folder = Path(source).expanduser()
        if not folder.is_dir():
            raise DataError(f"no data folder {folder}; pass --data DIR, a folder with {LAYOUTS}")
        columns = {split: _read_split(folder, split) for split in ("train", "test")}
    return {split: _checked(split, data) for split, data in columns.items()}


def _read_split(folder: Path, split: str) -> dict[str, list]:
    """The columns of one split, from folder/<split>.parquet (or .csv, .jsonl, or shards)."""
    for suffix, read in READERS.items():
        files = sorted(folder.glob(f"{split}{suffix}")) + sorted(folder.glob(f"{split}-*{suffix}"))
        if files:
            try:
                return pa.concat_tables([read(file) for file in files]).to_pydict()
            except (pa.ArrowException, OSError) as error:
                raise DataError(f"cannot read {', '.join(map(str, files))} ({_gist(error)}); "
                                f"fix or replace it") from None
    raise DataError(f"no {split} data in {folder}; expected {LAYOUTS}")


def _download_from_hub() -> dict[str, dict[str, list]]:
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
    return {split: hub[split].to_dict() for split in ("train", "test")}


def _checked(split: str, columns: dict[str, list]) -> dict[str, list]:
    """The text and label columns: texts as strings ("" for a missing one), labels as 0/1."""
    for column in ("text", "label"):
        if column not in columns:
            raise DataError(f"the {split} split has no {column!r} column (columns found: "
                            f"{', '.join(columns)}); name the review column 'text' and the "
                            f"sentiment column 'label'")
    labels = [LABELS.get(str(label).strip().lower()) for label in columns["label"]]
    if None in labels:
        bad = columns["label"][labels.index(None)]
        raise DataError(f"the {split} split has the label {bad!r}; labels must be 0/1 or neg/pos")
    return {"text": [text if isinstance(text, str) else "" for text in columns["text"]],
            "label": labels}


# ----------------------------------------------------------------------------------------------
# Word vectors from a text file


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
