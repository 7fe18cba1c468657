"""Reading IMDB and word vectors, the tokenizer and features, and the feature cache."""

import hashlib
import io
import itertools
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet
import pytest
import torch
from conftest import REPO, make_reviews, make_tiny_vectors, write_imdb, write_split

import mlp
from workshop import data as sources
from workshop import files
from workshop.runs import features

SMALL = {"dev_size": 100, "train_size": 250, "test_size": 150}


def _one_line(error: pytest.ExceptionInfo) -> str:
    """The message of a raised error, checked to be a single line."""
    message = str(error.value)
    assert "\n" not in message
    return message


# ----------------------------------------------------------------------------------------------
# The bundled copy of IMDB


def test_bundled_files_are_the_ones_data_readme_lists():
    """data/imdb/*.parquet have the sha256 sums that data/README.md gives."""
    readme = (REPO / "data" / "README.md").read_text()
    listed = dict(re.findall(r"`(\w+\.parquet)`.*`([0-9a-f]{64})`", readme))
    assert set(listed) == {"train.parquet", "test.parquet"}
    for name, digest in listed.items():
        assert hashlib.sha256((REPO / "data" / "imdb" / name).read_bytes()).hexdigest() == digest


def test_default_splits_are_the_homeworks():
    """With no source: 5,000/20,000/10,000 balanced reviews from the bundled copy; dev and
    train together are the 25,000 training reviews; the same seed gives the same splits."""
    dev, train, test = mlp.load_data_mlp()
    assert [len(split["label"]) for split in (dev, train, test)] == [5000, 20000, 10000]
    for split in (dev, train, test):
        assert 0.45 < np.mean(split["label"]) < 0.55  # the files are sorted: so it was shuffled
    whole = sources.read_imdb()["train"]
    assert Counter(zip(dev["text"] + train["text"], dev["label"] + train["label"], strict=True)) \
        == Counter(zip(whole["text"], whole["label"], strict=True))
    assert mlp.load_data_mlp(dev_size=50, train_size=50, test_size=50)[0] == \
        {key: values[:50] for key, values in dev.items()}


def test_loading_writes_nothing_outside_the_project(tmp_path):
    """Reading the bundled copy or another folder leaves the home and Hugging Face folders empty.

    (Importing matplotlib, as mlp does, builds its font list once in MPLCONFIGDIR, outside.)
    """
    folder = write_imdb(tmp_path / "imdb", ".csv")
    home = tmp_path / "home"
    env = {**os.environ, "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache"),
           "HF_HOME": str(home / "hf"), "HF_DATASETS_CACHE": str(home / "hf" / "datasets"),
           "MPLCONFIGDIR": str(tmp_path / "matplotlib")}
    env.pop(sources.DATA_ENV, None)
    home.mkdir()
    code = f"import mlp; mlp.load_data_mlp(); mlp.load_data_mlp({str(folder)!r}, **{SMALL})"
    subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, check=True)
    assert list(home.rglob("*")) == []


# ----------------------------------------------------------------------------------------------
# Other sources


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl"])
def test_other_folder_in_each_format(tmp_path, suffix):
    """A folder of parquet, csv or jsonl files gives the same shuffled, labelled splits."""
    folder = write_imdb(tmp_path / suffix[1:], suffix)
    dev, train, test = mlp.load_data_mlp(folder, **SMALL)
    assert [len(split["text"]) for split in (dev, train, test)] == [100, 250, 150]
    assert not set(dev["text"]) & set(train["text"])
    for split, source in ((dev, make_reviews(400, 0)), (train, make_reviews(400, 0)),
                          (test, make_reviews(200, 1))):
        truth = dict(zip(source["text"], source["label"], strict=True))
        assert [truth[text] for text in split["text"]] == split["label"]
    assert dev == mlp.load_data_mlp(write_imdb(tmp_path / "parquet", ".parquet"), **SMALL)[0]


def test_where_the_reviews_come_from(imdb_dir, monkeypatch):
    """The argument, else $HW3_DATA, else the bundled copy; "bundled" ignores $HW3_DATA."""
    from_folder = mlp.load_data_mlp(imdb_dir, **SMALL)
    bundled = mlp.load_data_mlp("bundled", **SMALL)
    assert from_folder != bundled
    monkeypatch.setenv(sources.DATA_ENV, str(imdb_dir))
    assert mlp.load_data_mlp(**SMALL) == from_folder
    assert mlp.load_data_mlp("bundled", **SMALL) == bundled
    monkeypatch.delenv(sources.DATA_ENV)
    assert mlp.load_data_mlp(**SMALL) == bundled


class _FakeHub:
    """Stands in for the network: records whether the Hub was asked, answers with tiny data."""

    def __init__(self, monkeypatch, reachable: bool) -> None:
        import datasets

        self.asked = []

        def connect(address, timeout):
            if not reachable:
                raise OSError("Name or service not known")
            return io.StringIO()  # something to close

        def load_dataset(name):
            self.asked.append(name)
            return datasets.DatasetDict({
                "train": datasets.Dataset.from_dict(make_reviews(400, 0)),
                "test": datasets.Dataset.from_dict(make_reviews(200, 1))})

        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        monkeypatch.setattr(sources.socket, "create_connection", connect)
        monkeypatch.setattr(datasets, "load_dataset", load_dataset)


def test_hub_only_when_asked_or_when_the_bundled_copy_is_missing(tmp_path, monkeypatch):
    """--data hub downloads stanfordnlp/imdb; so does the default without data/imdb/."""
    hub = _FakeHub(monkeypatch, reachable=True)
    monkeypatch.delenv(sources.DATA_ENV, raising=False)
    mlp.load_data_mlp(**SMALL)
    assert hub.asked == []
    from_hub = mlp.load_data_mlp("hub", **SMALL)
    assert hub.asked == [sources.HUB_DATASET]
    monkeypatch.setattr(sources, "BUNDLED_DATA", tmp_path / "deleted")
    assert mlp.load_data_mlp(**SMALL) == from_hub
    assert len(hub.asked) == 2


def test_unreachable_hub_is_one_line_at_once(monkeypatch):
    """Offline, --data hub fails in one line naming the fix, without trying to download."""
    hub = _FakeHub(monkeypatch, reachable=False)
    with pytest.raises(sources.DataError) as error:
        mlp.load_data_mlp("hub")
    assert "use the bundled copy" in _one_line(error)
    assert hub.asked == []


# ----------------------------------------------------------------------------------------------
# Bad data


def test_missing_folder_is_named(tmp_path):
    """A --data folder that does not exist is named in the error."""
    with pytest.raises(sources.DataError) as error:
        mlp.load_data_mlp(tmp_path / "nowhere")
    assert str(tmp_path / "nowhere") in _one_line(error)


@pytest.mark.parametrize("files", [[], ["train.parquet"], ["train.txt", "test.txt"]],
                         ids=["empty", "train only", "wrong names"])
def test_folder_without_train_and_test_files_lists_the_layouts(tmp_path, files):
    """A folder without both train and test files gets the accepted layouts."""
    for name in files:
        write_split(tmp_path / name, make_reviews(20))
    with pytest.raises(sources.DataError) as error:
        mlp.load_data_mlp(tmp_path)
    assert sources.LAYOUTS in _one_line(error)


def test_unreadable_file_is_named(tmp_path):
    """A file its reader rejects is named in a one-line error."""
    write_imdb(tmp_path, ".parquet")
    (tmp_path / "test.parquet").write_bytes(b"not parquet")
    with pytest.raises(sources.DataError, match="cannot read") as error:
        mlp.load_data_mlp(tmp_path)
    assert str(tmp_path / "test.parquet") in _one_line(error)


def test_missing_column_is_named_with_the_columns_found(tmp_path):
    """A file without a label column: the error names it and lists the columns it has."""
    reviews = make_reviews(40)
    for split in ("train", "test"):
        write_split(tmp_path / f"{split}.csv", {"text": reviews["text"],
                                                "sentiment": reviews["label"]})
    with pytest.raises(sources.DataError, match="no 'label' column") as error:
        mlp.load_data_mlp(tmp_path, dev_size=10, train_size=10, test_size=10)
    assert f"{tmp_path / 'train.csv'} has no 'label' column (columns found: text, sentiment)" \
        in _one_line(error)


def test_a_text_that_is_not_utf8_is_named_by_file_and_row(tmp_path):
    """One byte that is not UTF-8 in a CSV's text column (pyarrow then reads every cell of it
    as bytes): the error names the file, the row and the byte, not the vocabulary."""
    write_imdb(tmp_path, ".csv")
    rows = (tmp_path / "train.csv").read_bytes().split(b"\n")
    rows[3] = rows[3].replace(b" ", b" caf\xe9 ", 1)  # Latin-1's e-acute
    (tmp_path / "train.csv").write_bytes(b"\n".join(rows))
    with pytest.raises(sources.DataError) as error:
        sources.read_imdb(tmp_path)
    message = _one_line(error)
    assert message.startswith(f"{tmp_path / 'train.csv'}, row 3: the text is not UTF-8 (byte 0xe9")
    assert message.endswith("save the file as UTF-8")


def test_texts_that_are_bytes_are_decoded_and_numbers_refused(tmp_path):
    """A text column stored as UTF-8 bytes reads as strings; one of numbers is an error naming
    the file and row, never a split of empty reviews."""
    reviews = make_reviews(40)
    binary = {"text": [text.encode() for text in reviews["text"]], "label": reviews["label"]}
    pyarrow.parquet.write_table(pa.table(binary), tmp_path / "train.parquet")
    pyarrow.parquet.write_table(pa.table(binary), tmp_path / "test.parquet")
    assert sources.read_imdb(tmp_path)["train"]["text"] == reviews["text"]
    write_split(tmp_path / "test.parquet", {"text": [7, 8], "label": [0, 1]})
    with pytest.raises(sources.DataError) as error:
        sources.read_imdb(tmp_path)
    assert _one_line(error).startswith(f"{tmp_path / 'test.parquet'}, row 1: the text is 7, not "
                                       f"a string")


def _write_acl_imdb(folder, train: dict, test: dict) -> None:
    """The official download's layout: a file per review in <split>/neg and <split>/pos, with
    the files it has besides (urls, bag-of-words counts, the unlabelled unsup/)."""
    for split, reviews in (("train", train), ("test", test)):
        for number, (text, label) in enumerate(zip(reviews["text"], reviews["label"],
                                                   strict=True)):
            rating = 8 if label else 3
            path = folder / split / ("pos" if label else "neg") / f"{number}_{rating}.txt"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        (folder / split / "urls_pos.txt").write_text("http://www.imdb.com/title/tt0000001/\n")
        (folder / split / "labeledBow.feat").write_text("0 0:1\n")
    (folder / "train" / "unsup").mkdir()
    (folder / "train" / "unsup" / "0_0.txt").write_text("not labelled")
    (folder / "imdb.vocab").write_text("the\n")


def test_the_official_download_is_read_from_its_folders(tmp_path):
    """--data aclImdb/: train/{neg,pos}/*.txt and test/..., labelled by folder, unsup/ and the
    other files left alone; the homework's splits come out of it as from any other copy."""
    train, test = make_reviews(400, 0), make_reviews(200, 1)
    _write_acl_imdb(tmp_path / "aclImdb", train, test)
    read = sources.read_imdb(tmp_path / "aclImdb")
    for split, reviews in (("train", train), ("test", test)):
        assert Counter(zip(read[split]["text"], read[split]["label"], strict=True)) == \
            Counter(zip(reviews["text"], reviews["label"], strict=True))
    dev, _, _ = mlp.load_data_mlp(tmp_path / "aclImdb", **SMALL)
    truth = dict(zip(train["text"], train["label"], strict=True))
    assert [truth[text] for text in dev["text"]] == dev["label"]
    bad = tmp_path / "aclImdb" / "test" / "pos" / "0_8.txt"
    bad.write_bytes(b"caf\xe9")
    with pytest.raises(sources.DataError) as error:
        sources.read_imdb(tmp_path / "aclImdb")
    assert _one_line(error).startswith(f"{bad}: the text is not UTF-8")


@pytest.mark.parametrize(("labels", "expected"), [(["neg", "POS "], [0, 1]),
                                                  (["0", "1"], [0, 1]), ([0.0, 1.0], [0, 1])])
def test_labels_as_words_or_text_become_0_and_1(tmp_path, labels, expected):
    """neg/pos in any case, and 0/1 written as text or floats, are read as 0/1."""
    for split in ("train", "test"):
        write_split(tmp_path / f"{split}.jsonl", {"text": ["bad film", "good film"] * 10,
                                                  "label": labels * 10})
    columns = sources.read_imdb(tmp_path)["train"]
    assert columns["label"] == expected * 10


@pytest.mark.parametrize("labels", [[0, 2, 1], [0, -1, 1], ["neg", "positive", "pos"],
                                    [0, None, 1]])
def test_other_labels_are_shown_in_the_error(tmp_path, labels):
    """A label that is not 0/1 or neg/pos is an error that shows it, with its file and row."""
    for split in ("train", "test"):
        write_split(tmp_path / f"{split}.jsonl", {"text": ["a", "b", "c"], "label": labels})
    with pytest.raises(sources.DataError) as error:
        sources.read_imdb(tmp_path)
    assert _one_line(error).startswith(f"{tmp_path / 'train.jsonl'}, row 2: the label "
                                       f"{labels[1]!r} is not 0/1 or neg/pos")


def test_empty_and_missing_texts_are_skipped_and_counted(tmp_path, tiny_vectors, capsys):
    """Empty, blank and null reviews become no feature (no NaN); one line counts them."""
    texts = ["great film", "", "   ", None, "awful film"]
    write_split(tmp_path / "train.jsonl", {"text": texts, "label": [1, 0, 1, 0, 0]})
    write_split(tmp_path / "test.jsonl", {"text": texts, "label": [1, 0, 1, 0, 0]})
    features, labels = mlp.create_tensor_dataset(sources.read_imdb(tmp_path)["train"],
                                                 tiny_vectors).tensors
    assert labels.tolist() == [1, 0]
    assert torch.isfinite(features).all()
    assert capsys.readouterr().err.strip().splitlines() == [
        "skipped 3 of 5 reviews with no known word"]


def test_a_failed_write_keeps_the_old_file_and_its_own_error(tmp_path, monkeypatch):
    """atomic_write: a write that fails leaves the old file whole, and the error raised is the
    write's own, even when cleaning up the temporary file fails too (a read-only disk)."""
    path = tmp_path / "results.json"
    path.write_text("old")

    def write(tmp):
        tmp.write_text("half")
        raise OSError(28, "No space left on device")

    def unlink(self, missing_ok=False):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(Path, "unlink", unlink)
    with pytest.raises(OSError, match="No space left"):
        files.atomic_write(path, write)
    assert path.read_text() == "old"


def test_split_smaller_than_asked_states_both_sizes(imdb_dir):
    """Asking for more reviews than a file has names the file, how many it has and how many
    were asked."""
    with pytest.raises(sources.DataError) as error:
        mlp.load_data_mlp(imdb_dir, dev_size=300, train_size=300, test_size=10)
    assert _one_line(error).startswith(f"{imdb_dir / 'train.parquet'} has 400 reviews but 600 "
                                       f"were asked for")


# ----------------------------------------------------------------------------------------------
# Word vectors


def test_default_vectors_are_glove_6b_50d(glove):
    """400,000 words of 50 float32 numbers, with consistent look-ups both ways."""
    assert glove.vectors.shape == (400_000, 50) and glove.vector_size == 50
    assert glove.vectors.dtype == np.float32
    for word in ("the", "movie", "n't", "'s"):
        assert glove.index_to_key[glove.key_to_index[word]] == word
        assert np.array_equal(glove[word], glove.vectors[glove.key_to_index[word]])


@pytest.mark.parametrize("header", [False, True], ids=["glove", "word2vec header"])
def test_text_vector_file_loads(tmp_path, header):
    """A GloVe text file, with or without a word2vec 'count dim' line, gives the same vectors."""
    vectors = make_tiny_vectors()
    lines = [f"{len(vectors)} {vectors.vector_size}"] if header else []
    lines += [" ".join([word, *map(repr, map(float, vectors[word]))])
              for word in vectors.index_to_key]
    (tmp_path / "vectors.txt").write_text("\n".join(lines) + "\n")
    loaded = sources.load_embeddings(tmp_path / "vectors.txt")
    assert loaded.index_to_key == vectors.index_to_key
    np.testing.assert_array_equal(loaded.vectors, vectors.vectors)


@pytest.mark.parametrize("lines", [[b"a 1 2", b"b 3"], [b"a 1 2", b"b 3 x"], [b"a 1 2", b"b nan 2"],
                                   [b"a 1 2", b"\xff\xfe 1 2"]],
                         ids=["short", "not a number", "nan", "binary"])
def test_bad_vector_line_is_named_by_its_number(tmp_path, lines):
    """A line with too few numbers, a non-number, nan or undecodable bytes: its line number."""
    path = tmp_path / "vectors.txt"
    path.write_bytes(b"\n".join(lines) + b"\n")
    with pytest.raises(sources.DataError) as error:
        sources.load_embeddings(path)
    assert f"{path}, line 2:" in _one_line(error)


# ----------------------------------------------------------------------------------------------
# Tokenizer and features


@pytest.mark.parametrize(("text", "tokens"), [
    ("The MOVIE Was Great", ["the", "movie", "was", "great"]),
    ("Good.<br /><br />Bad.", ["good", ".", "bad", "."]),
    ("I don't care", ["i", "do", "n't", "care"]),
    ("it's here, isn't it?", ["it", "'s", "here", ",", "is", "n't", "it", "?"]),
    ("they're we've i'll she'd i'm", ["they", "'re", "we", "'ve", "i", "'ll", "she", "'d", "i",
                                      "'m"]),
    ("wow!!! (really) \"yes\"", ["wow", "!", "!", "!", "(", "really", ")", '"', "yes", '"']),
    ("well-known u.s. film... 10/10", ["well-known", "u.s.", "film", "...", "10/10"]),
])
def test_tokenize_like_glove(text, tokens):
    """Lower-cased tokens, markup dropped, clitics and punctuation split as in GloVe's text."""
    assert mlp.tokenize(text) == tokens


def test_featurize_is_the_mean_of_the_known_words_vectors(glove):
    """featurize averages the vectors of the tokens GloVe has, skipping the others."""
    text = "I don't think it's the WORST film ever made.<br /><br />Zzxqv!"
    known = [token for token in mlp.tokenize(text) if token in glove]
    assert "n't" in known and "zzxqv" not in known and "<br" not in known
    expected = np.mean([glove[token] for token in known], axis=0, dtype=np.float64)
    feature = mlp.featurize(text, glove)
    assert feature.dtype == torch.float32 and feature.shape == (50,)
    np.testing.assert_allclose(feature.numpy(), expected, rtol=0, atol=1e-6)
    assert mlp.featurize("Zzxqv qqwwzz<br />", glove) is None
    assert mlp.featurize("", glove) is None


def test_tensor_dataset_holds_featurize_of_each_kept_review(glove, capsys):
    """create_tensor_dataset stacks featurize's vectors and the labels of the reviews it keeps."""
    raw = {"text": ["A fine film.", "Zzxqv qqwwzz", "Dull, dull, dull."], "label": [1, 1, 0]}
    features, labels = mlp.create_tensor_dataset(raw, glove).tensors
    assert labels.tolist() == [1, 0]
    torch.testing.assert_close(features, torch.stack([mlp.featurize(raw["text"][0], glove),
                                                      mlp.featurize(raw["text"][2], glove)]))
    assert "skipped 1 of 3 reviews" in capsys.readouterr().err


def test_no_review_with_a_known_word_is_a_data_error(tiny_vectors):
    """A split where no review has a known word fails with a DataError saying what to check."""
    with pytest.raises(sources.DataError, match="check the text column"):
        mlp.create_tensor_dataset({"text": ["zzz", ""], "label": [0, 1]}, tiny_vectors)


# ----------------------------------------------------------------------------------------------
# The feature cache


class _Featurise:
    """create_tensor_dataset, counting its calls (a call means the cache was missed)."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, split: dict, embeddings) -> torch.utils.data.TensorDataset:
        self.calls += 1
        return mlp.create_tensor_dataset(split, embeddings)


def _cached(featurise, splits, vectors, folder) -> list[tuple[torch.Tensor, ...]]:
    featurised = features.make_datasets(splits, vectors, folder, make=featurise.__call__)
    return [split.tensors for split in (featurised.dev, featurised.train, featurised.test)]


def _same(first: list[tuple], second: list[tuple]) -> bool:
    """Whether two lists of splits' tensors are equal."""
    pairs = zip(itertools.chain(*first), itertools.chain(*second), strict=True)
    return all(torch.equal(a, b) for a, b in pairs)


def test_cache_hit_gives_the_same_tensors_without_featurising(tmp_path, tiny_splits,
                                                               tiny_vectors):
    """The second call loads every split from the cache; a change to the reviews, the labels or
    the vectors misses it."""
    featurise = _Featurise()
    first = _cached(featurise, tiny_splits, tiny_vectors, tmp_path)
    assert featurise.calls == 3
    again = _cached(featurise, tiny_splits, tiny_vectors, tmp_path)
    assert featurise.calls == 3
    assert _same(first, again)
    dev, train, test = tiny_splits
    changed_text = {**dev, "text": [dev["text"][0] + " great", *dev["text"][1:]]}
    changed_label = {**dev, "label": [1 - dev["label"][0], *dev["label"][1:]]}
    changed_vectors = sources.WordVectors(tiny_vectors.index_to_key, tiny_vectors.vectors + 1, "+1")
    for splits, vectors in (((changed_text, train, test), tiny_vectors),
                            ((changed_label, train, test), tiny_vectors),
                            (tiny_splits, changed_vectors)):
        calls = featurise.calls
        _cached(featurise, splits, vectors, tmp_path)
        assert featurise.calls == calls + 3


@pytest.mark.parametrize("damage", ["truncate", "garbage", "flip a bit"])
def test_damaged_cache_is_rebuilt_with_one_warning(tmp_path, tiny_splits, tiny_vectors, capsys,
                                                    damage):
    """A truncated, foreign or bit-flipped cache file is noticed, said in one line, rebuilt."""
    featurise = _Featurise()
    first = _cached(featurise, tiny_splits, tiny_vectors, tmp_path)
    (path,) = tmp_path.glob("features-*.pt")
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "garbage":
        data = bytearray(b"garbage")
    else:  # inside the train features, which fill most of the file's middle
        data[len(data) // 2] ^= 0x10
    path.write_bytes(bytes(data))
    capsys.readouterr()
    rebuilt = _cached(featurise, tiny_splits, tiny_vectors, tmp_path)
    assert featurise.calls == 6
    warning = capsys.readouterr().err.strip().splitlines()
    assert warning == [f"warning: the feature cache {path} is damaged; rebuilding it"]
    assert _same(first, rebuilt)
    assert _cached(featurise, tiny_splits, tiny_vectors, tmp_path) and featurise.calls == 6
