"""Tests of data loading (load_data_mlp) and word vectors (load_embeddings).

The fixtures are small label-sorted splits in every accepted layout; the tests marked
``real_data`` read the IMDB copy named by HW3_DATA and are skipped when it is not set.
"""

import os
from collections import Counter

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import DATA_FORMATS, make_reviews, write_imdb, write_vectors_file

import mlp

SIZES = {"dev_size": 100, "train_size": 250, "test_size": 150}
real_data = pytest.mark.skipif(not os.environ.get(mlp.DATA_ENV),
                               reason=f"{mlp.DATA_ENV} does not name a local IMDB copy")


def _positive_share(split: dict) -> float:
    """Fraction of positive labels in a split."""
    return sum(split["label"]) / len(split["label"])


# ----------------------------------------------------------------------------------------------
# load_data_mlp


@pytest.mark.parametrize("fmt", DATA_FORMATS)
def test_load_data_sizes_balance_and_disjoint_splits(tmp_path, fmt):
    """Each layout gives the requested sizes, shuffled balanced splits, and dev/train disjoint."""
    folder = write_imdb(tmp_path / fmt, fmt)
    dev, train, test = mlp.load_data_mlp(folder, **SIZES)

    for split, size in ((dev, 100), (train, 250), (test, 150)):
        assert set(split) == {"text", "label"}
        assert len(split["text"]) == len(split["label"]) == size
        assert set(split["label"]) == {0, 1}
        assert all(isinstance(label, int) for label in split["label"])
        # The files are sorted by label: balance shows the split was shuffled before slicing.
        assert 0.4 <= _positive_share(split) <= 0.6
    assert not set(dev["text"]) & set(train["text"])

    # Every review keeps its own label, and train/test come from the right files.
    source = {"train": make_reviews(400, 0), "test": make_reviews(200, 1)}
    truth = {name: dict(zip(data["text"], data["label"], strict=True))
             for name, data in source.items()}
    for split, name in ((dev, "train"), (train, "train"), (test, "test")):
        assert [truth[name][text] for text in split["text"]] == split["label"]


def test_same_seed_same_split_other_seed_differs(imdb_dir):
    """The shuffle is seeded: one seed always gives the same splits, another seed others."""
    first = mlp.load_data_mlp(imdb_dir, **SIZES, seed=1)
    assert first == mlp.load_data_mlp(imdb_dir, **SIZES, seed=1)
    other = mlp.load_data_mlp(imdb_dir, **SIZES, seed=2)
    for split, other_split in zip(first, other, strict=True):
        assert split["text"] != other_split["text"]


def test_hw3_data_env_is_the_default_source(imdb_dir, monkeypatch):
    """Without an argument the data come from $HW3_DATA; an argument overrides it."""
    monkeypatch.setenv(mlp.DATA_ENV, str(imdb_dir))
    assert mlp.load_data_mlp(**SIZES) == mlp.load_data_mlp(imdb_dir, **SIZES)
    monkeypatch.setenv(mlp.DATA_ENV, str(imdb_dir / "missing"))
    assert mlp.load_data_mlp(imdb_dir, **SIZES) == mlp.load_data_mlp(str(imdb_dir), **SIZES)


def test_missing_folder_is_a_data_error(tmp_path):
    """A folder that does not exist gives a DataError naming it."""
    missing = tmp_path / "no-such-folder"
    with pytest.raises(mlp.DataError, match="does not exist") as error:
        mlp.load_data_mlp(missing)
    assert str(missing) in str(error.value)


def test_missing_label_column_is_a_data_error(tmp_path):
    """A split without a label column names the column and lists the columns found."""
    reviews = make_reviews(40)
    for split in ("train", "test"):
        table = pa.table({"text": reviews["text"], "sentiment": reviews["label"]})
        pq.write_table(table, tmp_path / f"{split}.parquet")
    with pytest.raises(mlp.DataError, match="'label'") as error:
        mlp.load_data_mlp(tmp_path, dev_size=10, train_size=10, test_size=10)
    assert "text, sentiment" in str(error.value)


@real_data
def test_real_imdb_default_splits():
    """The real data with the default sizes give 5,000/20,000/10,000 balanced reviews."""
    dev, train, test = mlp.load_data_mlp()
    assert [len(split["text"]) for split in (dev, train, test)] == [5000, 20000, 10000]
    for split in (dev, train, test):
        assert 0.4 <= _positive_share(split) <= 0.6
    # The real train file repeats some reviews, so texts may recur across dev and train; but
    # together they must be the 25,000 train rows, each exactly once.
    _, whole_train, _ = mlp.load_data_mlp(dev_size=0, train_size=25000, test_size=1)
    assert Counter(dev["text"] + train["text"]) == Counter(whole_train["text"])


# ----------------------------------------------------------------------------------------------
# load_embeddings


def test_default_embeddings_are_glove_6b_50d(glove):
    """The default vectors are GloVe 6B 50d: 400,000 words of 50 numbers, lookups consistent."""
    assert glove.vector_size == 50
    assert len(glove) == len(glove.index_to_key) == len(glove.key_to_index) == 400_000
    assert glove.vectors.shape == (400_000, 50)
    assert glove.vectors.dtype == np.float32
    assert "the" in glove and "n't" in glove and "'s" in glove
    assert glove["the"].shape == (50,)
    for word in ("the", "movie", "n't", "great"):
        index = glove.key_to_index[word]
        assert glove.index_to_key[index] == word
        assert np.array_equal(glove[word], glove.vectors[index])
    assert np.isfinite(glove.vectors).all()


@pytest.mark.parametrize("header", [False, True], ids=["glove", "word2vec-header"])
def test_text_vector_file_loads(tmp_path, tiny_vectors, header):
    """A GloVe text file, with or without a 'count dim' header, loads to the same vectors."""
    path = write_vectors_file(tmp_path / "vectors.txt", tiny_vectors, header=header)
    loaded = mlp.load_embeddings(path)
    assert loaded.index_to_key == tiny_vectors.index_to_key
    assert loaded.vector_size == tiny_vectors.vector_size
    np.testing.assert_array_equal(loaded.vectors, tiny_vectors.vectors)


@real_data
def test_glove_covers_real_review_tokens(glove):
    """More than 97 % of the tokens of 500 real reviews have a GloVe vector."""
    sample, _, _ = mlp.load_data_mlp(dev_size=500, train_size=1, test_size=1, seed=0)
    tokens = [token for text in sample["text"] for token in mlp.tokenize(text)]
    coverage = sum(token in glove for token in tokens) / len(tokens)
    assert coverage > 0.97


# ----------------------------------------------------------------------------------------------
# The Hugging Face Hub, when no local source is given (no network is used: the Hub is faked)


def test_hub_is_used_when_no_local_source_is_given(monkeypatch):
    """Without an argument or HW3_DATA, the splits come from load_dataset("stanfordnlp/imdb")."""
    import datasets

    rows = make_reviews(400)
    fake_hub = datasets.DatasetDict({
        "train": datasets.Dataset.from_dict(rows),
        "test": datasets.Dataset.from_dict(make_reviews(200, seed=1)),
    })
    asked = []
    monkeypatch.delenv(mlp.DATA_ENV, raising=False)
    monkeypatch.setattr(mlp, "_hub_reachable", lambda: True)
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: asked.append(a) or fake_hub)
    dev, train, test = mlp.load_data_mlp(**SIZES)
    assert asked == [(mlp.HUB_DATASET,)]
    assert (len(dev["text"]), len(train["text"]), len(test["text"])) == (100, 250, 150)
    assert set(dev["text"] + train["text"]) <= set(rows["text"])


def test_unreachable_hub_fails_at_once_with_the_fix(monkeypatch):
    """No network and no local source: one line naming --data and HW3_DATA, no retry loop."""
    import datasets

    def no_network(*args, **kwargs):
        raise OSError("Name or service not known")

    monkeypatch.delenv(mlp.DATA_ENV, raising=False)
    monkeypatch.setattr(mlp.socket, "create_connection", no_network)
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: pytest.fail("Hub was tried"))
    with pytest.raises(mlp.DataError) as error:
        mlp.load_data_mlp()
    message = str(error.value)
    assert "\n" not in message
    assert "--data DIR" in message and mlp.DATA_ENV in message


def test_hub_failure_after_connecting_is_one_clear_line(monkeypatch):
    """A Hub error during the download (the host answered) also ends in the one-line fix."""
    import datasets

    def broken_download(*args, **kwargs):
        raise ConnectionError("Couldn't reach 'stanfordnlp/imdb' on the Hub\nretry later")

    monkeypatch.delenv(mlp.DATA_ENV, raising=False)
    monkeypatch.setattr(mlp, "_hub_reachable", lambda: True)
    monkeypatch.setattr(datasets, "load_dataset", broken_download)
    with pytest.raises(mlp.DataError, match=r"ConnectionError.*--data DIR") as error:
        mlp.load_data_mlp()
    assert "\n" not in str(error.value)
