"""Tests of mlp.py: model shapes and values, tokenizer and features, data loader, training."""

import copy
import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import make_reviews
from torch import nn
from torch.utils.data import TensorDataset

import mlp

STRUCTURES = [[], [512], [512, 512], [512, 512, 512]]
# Every activation by its canonical name, plus spellings people type.
ACTIVATION_SPELLINGS = [*mlp.ACTIVATION_NAMES, "GeLU", "sigmoid", "tanh", "relu", "gelu"]
# Functional forms of each activation, written independently of mlp.ACTIVATIONS.
REFERENCE_ACTIVATIONS = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "gelu": F.gelu,
    "leakyrelu": F.leaky_relu,
    "elu": F.elu,
    "silu": F.silu,
    "softplus": F.softplus,
}
EMBED_DIM = 50


def _manual_forward(model: mlp.SentimentClassifier, x: torch.Tensor, act) -> torch.Tensor:
    """Logits by explicit matmuls: act after every hidden layer, nothing after the last."""
    hidden = x
    for linear in model.linears[:-1]:
        hidden = act(hidden @ linear.weight.T + linear.bias)
    last = model.linears[-1]
    return hidden @ last.weight.T + last.bias


# ----------------------------------------------------------------------------------------------
# Model


@pytest.mark.parametrize("batch_size", [1, 64])
@pytest.mark.parametrize("activation", ACTIVATION_SPELLINGS)
@pytest.mark.parametrize("hidden_dims", STRUCTURES, ids=str)
def test_forward_shapes_and_layers(hidden_dims, activation, batch_size):
    """Every homework structure and activation gives (batch, 2) logits and the specified layers."""
    model = mlp.SentimentClassifier(EMBED_DIM, 2, hidden_dims, activation)
    logits = model(torch.randn(batch_size, EMBED_DIM))
    assert logits.shape == (batch_size, 2)
    assert isinstance(model.linears, nn.ModuleList)
    assert len(model.linears) == len(hidden_dims) + 1
    sizes = [EMBED_DIM, *hidden_dims, 2]
    for linear, (n_in, n_out) in zip(model.linears, itertools.pairwise(sizes), strict=True):
        assert isinstance(linear, nn.Linear)
        assert (linear.in_features, linear.out_features) == (n_in, n_out)
    assert isinstance(model.loss, nn.CrossEntropyLoss)


@pytest.mark.parametrize("activation", mlp.ACTIVATION_NAMES)
def test_forward_matches_manual_matmuls(activation):
    """The forward pass equals matmuls + the activation after hidden layers only."""
    assert set(REFERENCE_ACTIVATIONS) == {name.lower() for name in mlp.ACTIVATION_NAMES}
    torch.manual_seed(0)
    model = mlp.SentimentClassifier(EMBED_DIM, 2, [16, 8], activation)
    x = torch.randn(5, EMBED_DIM)
    expected = _manual_forward(model, x, REFERENCE_ACTIVATIONS[activation.lower()])
    torch.testing.assert_close(model(x), expected)


def test_no_activation_after_last_layer():
    """A Sigmoid model's logits leave [0, 1]: the last layer's output is not squashed."""
    model = mlp.SentimentClassifier(EMBED_DIM, 2, [512], "Sigmoid")
    with torch.no_grad():
        model.linears[-1].bias.copy_(torch.tensor([-5.0, 5.0]))
        model.linears[-1].weight.mul_(0.01)  # hidden units are in (0, 1): the bias dominates
    logits = model(torch.randn(64, EMBED_DIM))
    assert (logits[:, 0] < 0).all()
    assert (logits[:, 1] > 1).all()


def test_empty_hidden_dims_is_one_linear_layer():
    """hidden_dims=[] is homework 1's single linear layer: logits = x W^T + b."""
    model = mlp.SentimentClassifier(EMBED_DIM, 2, [], "ReLU")
    assert len(model.linears) == 1
    assert isinstance(model.linears[0], nn.Linear)
    x = torch.randn(8, EMBED_DIM)
    expected = x @ model.linears[0].weight.T + model.linears[0].bias
    torch.testing.assert_close(model(x), expected)
    assert (expected < 0).any()  # so a ReLU applied at the end would have shown


def test_forward_values_by_hand():
    """A 2-2-2 ReLU network with hand-set weights gives the logits worked out on paper."""
    model = mlp.SentimentClassifier(2, 2, [2], "ReLU")
    with torch.no_grad():
        model.linears[0].weight.copy_(torch.tensor([[1.0, -1.0], [2.0, 0.0]]))
        model.linears[0].bias.copy_(torch.tensor([0.0, -1.0]))
        model.linears[1].weight.copy_(torch.tensor([[1.0, 1.0], [-1.0, 2.0]]))
        model.linears[1].bias.copy_(torch.tensor([0.5, 0.0]))
    x = torch.tensor([[3.0, 1.0], [-1.0, 2.0]])
    # Row 1: z1 = (2, 5), relu keeps it, logits = (2 + 5 + 0.5, -2 + 10) = (7.5, 8).
    # Row 2: z1 = (-3, -3), relu gives (0, 0), logits = the bias (0.5, 0).
    torch.testing.assert_close(model(x), torch.tensor([[7.5, 8.0], [0.5, 0.0]]))


def test_gradients_match_hand_derivation():
    """Autograd's gradients of the mean cross-entropy equal the backprop formulas by hand."""
    torch.manual_seed(0)
    model = mlp.SentimentClassifier(3, 2, [4], "Sigmoid").double()
    x = torch.randn(5, 3, dtype=torch.float64)
    y = torch.tensor([0, 1, 1, 0, 1])
    model.loss(model(x), y).backward()

    first, last = model.linears
    with torch.no_grad():
        hidden = torch.sigmoid(x @ first.weight.T + first.bias)  # (5, 4)
        logits = hidden @ last.weight.T + last.bias  # (5, 2)
        d_logits = (logits.softmax(dim=1) - F.one_hot(y, 2)) / len(y)  # mean over the batch
        d_hidden = d_logits @ last.weight
        d_pre = d_hidden * hidden * (1 - hidden)  # sigmoid' = s (1 - s)
        expected = {
            "linears.1.weight": d_logits.T @ hidden,
            "linears.1.bias": d_logits.sum(0),
            "linears.0.weight": d_pre.T @ x,
            "linears.0.bias": d_pre.sum(0),
        }
    for name, parameter in model.named_parameters():
        torch.testing.assert_close(parameter.grad, expected[name], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["Swish", "", "sigmoid()", None])
def test_unknown_activation_lists_choices(name):
    """An unknown activation raises ValueError naming it and every valid choice."""
    with pytest.raises(ValueError, match="unknown activation") as error:
        mlp.SentimentClassifier(EMBED_DIM, 2, [512], name)
    for choice in mlp.ACTIVATION_NAMES:
        assert choice in str(error.value)


@pytest.mark.parametrize("hidden_dims", [[0], [512, -1], [512.0]], ids=str)
def test_non_positive_hidden_size_raises(hidden_dims):
    """A hidden size that is not a positive integer raises ValueError saying what is allowed."""
    with pytest.raises(ValueError, match="positive integers") as error:
        mlp.SentimentClassifier(EMBED_DIM, 2, hidden_dims)
    assert str(hidden_dims) in str(error.value)


# ----------------------------------------------------------------------------------------------
# Tokenizer and features

REAL_LOOKING_REVIEWS = [
    "I don't think it's the WORST film ever made.<br /><br />But it's close!!",
    "Brilliant acting; the plot, however, was thin... 7/10.",
    "We'll never know what they're thinking -- I'd rather watch paint dry.",
    "A well-known director's \"masterpiece\"? Hardly. <i>Avoid</i> it (seriously).",
    "Can't recommend it. Won't watch again. 1,000 minutes of nothing at 8:30 p.m.",
]


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("The MOVIE Was Great", ["the", "movie", "was", "great"]),
        ("Good.<br /><br />Bad.", ["good", ".", "bad", "."]),
        ("I don't care", ["i", "do", "n't", "care"]),
        ("it's here, isn't it?", ["it", "'s", "here", ",", "is", "n't", "it", "?"]),
        ("they're we've i'll she'd i'm", ["they", "'re", "we", "'ve", "i", "'ll", "she", "'d",
                                          "i", "'m"]),
        ("wow!!! (really) \"yes\"", ["wow", "!", "!", "!", "(", "really", ")", '"', "yes", '"']),
        ("well-known u.s. film... 10/10", ["well-known", "u.s.", "film", "...", "10/10"]),
    ],
)
def test_tokenize(text, tokens):
    """Tokens are lower-cased, markup dropped, clitics and punctuation split as in GloVe."""
    assert mlp.tokenize(text) == tokens


def test_featurize_is_mean_of_known_word_vectors(glove):
    """featurize averages the GloVe vectors of the in-vocabulary tokens."""
    text = REAL_LOOKING_REVIEWS[0]
    known = [token for token in mlp.tokenize(text) if token in glove]
    assert "n't" in known and "'s" in known and "<br" not in known
    expected = torch.from_numpy(np.mean([glove[token] for token in known], axis=0,
                                        dtype=np.float64))
    feature = mlp.featurize(text, glove)
    assert feature.dtype == torch.float32
    assert feature.shape == (glove.vector_size,)
    torch.testing.assert_close(feature.double(), expected, rtol=0, atol=1e-6)


def test_featurize_agrees_with_create_tensor_dataset(glove):
    """The vectorised create_tensor_dataset gives featurize's vector for every review."""
    raw = {"text": REAL_LOOKING_REVIEWS, "label": [0, 1, 0, 0, 1]}
    dataset = mlp.create_tensor_dataset(raw, glove, cache_dir=None, progress=False)
    features, labels = dataset.tensors
    assert features.shape == (len(REAL_LOOKING_REVIEWS), glove.vector_size)
    assert labels.tolist() == raw["label"]
    expected = torch.stack([mlp.featurize(text, glove) for text in REAL_LOOKING_REVIEWS])
    torch.testing.assert_close(features, expected, rtol=0, atol=1e-5)


def test_review_without_known_word_is_skipped(glove, capsys):
    """featurize returns None for no known word; create_tensor_dataset drops it and says so."""
    unknown = "Zzxqv qqwwzz<br /><br />XKCDQQ"  # no punctuation: GloVe knows every mark
    assert mlp.featurize(unknown, glove) is None
    assert mlp.featurize("", glove) is None
    raw = {"text": [REAL_LOOKING_REVIEWS[0], unknown, REAL_LOOKING_REVIEWS[1], ""],
           "label": [0, 1, 1, 0]}
    features, labels = mlp.create_tensor_dataset(raw, glove, cache_dir=None,
                                                 progress=False).tensors
    assert labels.tolist() == [0, 1]  # the labels of the two kept reviews, in order
    torch.testing.assert_close(features[1], mlp.featurize(REAL_LOOKING_REVIEWS[1], glove),
                               rtol=0, atol=1e-5)
    err_lines = capsys.readouterr().err.strip().splitlines()
    assert len(err_lines) == 1
    assert "skipped 2 of 4 reviews" in err_lines[0]


class _TokenizeCalled(Exception):
    """Raised by the patched tokenizer: featurisation ran, so the cache was missed."""


def _forbid_tokenize(monkeypatch):
    """Make any featurisation fail, so only a cache hit can succeed."""

    def tokenize(text):
        raise _TokenizeCalled(text)

    monkeypatch.setattr(mlp, "tokenize", tokenize)


def test_feature_cache_hit_returns_identical_tensors(tmp_path, tiny_vectors, monkeypatch):
    """The second call loads the cached file without tokenising and returns equal tensors."""
    raw = make_reviews(50)
    first = mlp.create_tensor_dataset(raw, tiny_vectors, cache_dir=tmp_path, progress=False)
    assert len(list(tmp_path.glob("features-*.pt"))) == 1
    _forbid_tokenize(monkeypatch)
    second = mlp.create_tensor_dataset(raw, tiny_vectors, cache_dir=tmp_path, progress=False)
    for cached, fresh in zip(second.tensors, first.tensors, strict=True):
        assert torch.equal(cached, fresh)


@pytest.mark.parametrize("change", ["text", "label", "embeddings"])
def test_feature_cache_key_follows_the_data(tmp_path, tiny_vectors, monkeypatch, change):
    """Changed reviews, labels or word vectors miss the cache instead of reusing stale features."""
    raw = make_reviews(50)
    mlp.create_tensor_dataset(raw, tiny_vectors, cache_dir=tmp_path, progress=False)
    vectors = tiny_vectors
    if change == "text":
        raw = {**raw, "text": [*raw["text"][:-1], raw["text"][-1] + " great"]}
    elif change == "label":
        raw = {**raw, "label": [1 - raw["label"][0], *raw["label"][1:]]}
    else:
        vectors = mlp.WordVectors(tiny_vectors.index_to_key, tiny_vectors.vectors + 1, "tiny+1")
    _forbid_tokenize(monkeypatch)
    with pytest.raises(_TokenizeCalled):
        mlp.create_tensor_dataset(raw, vectors, cache_dir=tmp_path, progress=False)


# ----------------------------------------------------------------------------------------------
# Accuracy, evaluation, training


def test_accuracy_on_hand_made_logits():
    """accuracy is 1.0 where the arg-max logit is the label, else 0.0, one value per example."""
    logits = torch.tensor([[2.0, 1.0], [-1.0, 3.0], [0.2, 0.1], [-5.0, -4.0]])
    labels = torch.tensor([0, 0, 0, 1])
    result = mlp.accuracy(logits, labels)
    assert result.dtype == torch.float32
    assert result.tolist() == [1.0, 0.0, 1.0, 1.0]


def _identity_model() -> mlp.SentimentClassifier:
    """A one-layer model whose logits are its 2-d inputs."""
    model = mlp.SentimentClassifier(2, 2, [])
    with torch.no_grad():
        model.linears[0].weight.copy_(torch.eye(2))
        model.linears[0].bias.zero_()
    return model


def test_evaluate_weights_every_example_equally():
    """With 10 examples in batches of 4, 4, 2 the result is the mean over examples."""
    # Eight confident correct examples, then a last batch of two wrong ones.
    logits = torch.tensor([[3.0, 0.0], [0.0, 2.0], [1.0, 0.0], [0.0, 4.0], [2.0, 1.0],
                           [0.0, 0.5], [5.0, 0.0], [0.0, 1.0], [0.0, 3.0], [2.0, 0.0]])
    labels = torch.tensor([0, 1, 0, 1, 0, 1, 0, 1, 0, 1])
    loader = mlp.create_dataloader(TensorDataset(logits, labels), 4, shuffle=False)
    loss, acc = mlp.evaluate(_identity_model(), loader)

    assert acc == pytest.approx(0.8)
    assert loss == pytest.approx(F.cross_entropy(logits, labels).item())
    # The mean of batch means would weight the two-example batch like the others.
    assert acc != pytest.approx((1.0 + 1.0 + 0.0) / 3)
    batch_losses = [F.cross_entropy(logits[i:i + 4], labels[i:i + 4]).item() for i in (0, 4, 8)]
    assert loss != pytest.approx(sum(batch_losses) / 3)


def test_train_keeps_best_dev_epoch_and_checkpoint(tmp_path, monkeypatch):
    """train ends with the weights of the best dev epoch and saves them to save_path."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(256, 2, generator=generator)
    y = (x[:, 0] > 0).long()
    # Dev labels are the opposite of train's: the better the model fits train, the worse dev
    # gets, so dev accuracy peaks before the last epoch.
    train_loader = mlp.create_dataloader(TensorDataset(x, y), 32, seed=0)
    dev_loader = mlp.create_dataloader(TensorDataset(x, 1 - y), 64, shuffle=False)

    snapshots = []  # (weights, (dev loss, dev acc)) after each epoch
    real_evaluate = mlp.evaluate

    def recording_evaluate(model, dataloader):
        result = real_evaluate(model, dataloader)
        snapshots.append((copy.deepcopy(model.state_dict()), result))
        return result

    monkeypatch.setattr(mlp, "evaluate", recording_evaluate)
    torch.manual_seed(0)
    model = mlp.SentimentClassifier(2, 2, [8], "Tanh")
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    save_path = tmp_path / "best.pt"
    train_losses, train_accs, dev_losses, dev_accs = mlp.train(
        model, optimizer, train_loader, dev_loader, 6, save_path, progress=False
    )
    monkeypatch.undo()

    assert all(len(stats) == 6 for stats in (train_losses, train_accs, dev_losses, dev_accs))
    assert [snapshot[1] for snapshot in snapshots] == list(zip(dev_losses, dev_accs, strict=True))
    best = dev_accs.index(max(dev_accs))
    assert best < 5, "the scenario needs a dev peak before the last epoch"
    # Training went on after the best epoch, so keeping its weights took a restore.
    assert any(not torch.equal(tensor, snapshots[-1][0][name])
               for name, tensor in snapshots[best][0].items())
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, snapshots[best][0][name])
    assert mlp.evaluate(model, dev_loader) == (dev_losses[best], dev_accs[best])

    fresh = mlp.load_checkpoint(mlp.SentimentClassifier(2, 2, [8], "Tanh"), save_path)
    with torch.no_grad():
        assert torch.equal(fresh(x), model(x))


def test_train_ties_keep_the_earliest_epoch(monkeypatch):
    """When several epochs share the best dev accuracy, the first one's weights are kept."""
    snapshots = []

    def constant_evaluate(model, dataloader):
        snapshots.append(copy.deepcopy(model.state_dict()))
        return 0.5, 0.75  # every epoch ties

    monkeypatch.setattr(mlp, "evaluate", constant_evaluate)
    x = torch.randn(64, 2, generator=torch.Generator().manual_seed(0))
    loader = mlp.create_dataloader(TensorDataset(x, (x[:, 0] > 0).long()), 16, seed=0)
    model = mlp.SentimentClassifier(2, 2, [])
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    *_, dev_accs = mlp.train(model, optimizer, loader, loader, 3, progress=False)
    assert dev_accs == [0.75] * 3
    # main.py reports the first best epoch too: the weights must be that epoch's.
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, snapshots[0][name])
        assert not torch.equal(tensor, snapshots[-1][name])


# ----------------------------------------------------------------------------------------------
# Data loader


class _RecordingDataset(TensorDataset):
    """TensorDataset that records the index each __getitem__ call receives."""

    def __init__(self, *tensors):
        super().__init__(*tensors)
        self.calls = []

    def __getitem__(self, index):
        self.calls.append(index)
        return super().__getitem__(index)


def _order(loader) -> list[int]:
    """Example ids in the order one epoch of the loader yields them."""
    return [int(i) for _, ids in loader for i in ids]


def test_dataloader_batches_are_whole_tensors():
    """10 examples in batches of 4 give tensors of 4, 4, 2 rows, each example once per epoch."""
    dataset = TensorDataset(torch.randn(10, 3), torch.arange(10))
    loader = mlp.create_dataloader(dataset, 4, seed=0)
    for _ in range(2):  # every epoch, not just the first
        batches = list(loader)
        assert [len(ids) for _, ids in batches] == [4, 4, 2]
        for features, ids in batches:
            assert isinstance(features, torch.Tensor) and features.shape[1] == 3
            torch.testing.assert_close(features, dataset.tensors[0][ids])
        assert sorted(_order(loader)) == list(range(10))


def test_dataloader_indexes_once_per_batch():
    """The dataset is indexed once per batch with the list of indices, not once per example."""
    dataset = _RecordingDataset(torch.randn(10, 3), torch.arange(10))
    batches = list(mlp.create_dataloader(dataset, 4, seed=0))
    assert len(dataset.calls) == len(batches) == 3
    assert [len(index) for index in dataset.calls] == [4, 4, 2]
    assert [list(index) for index in dataset.calls] == [ids.tolist() for _, ids in batches]


def test_dataloader_order_follows_seed():
    """Same seed gives the same order, different seeds differ, no shuffle keeps the order."""
    dataset = TensorDataset(torch.randn(50, 3), torch.arange(50))
    first = _order(mlp.create_dataloader(dataset, 8, seed=1))
    assert first == _order(mlp.create_dataloader(dataset, 8, seed=1))
    assert first != _order(mlp.create_dataloader(dataset, 8, seed=2))
    assert first != list(range(50))
    assert _order(mlp.create_dataloader(dataset, 8, shuffle=False)) == list(range(50))
    # Without a seed the order comes from torch's global generator, so set_seed fixes it.
    mlp.set_seed(3)
    unseeded = _order(mlp.create_dataloader(dataset, 8))
    mlp.set_seed(3)
    assert unseeded == _order(mlp.create_dataloader(dataset, 8))


# ----------------------------------------------------------------------------------------------
# run_mlp

CONFIG = {"hidden_dims": [], "activation": "Sigmoid", "lr": 0.025, "batch_size": 64,
          "num_epochs": 2, "device": "cpu", "progress": False}


def test_run_mlp_learns_and_is_reproducible(tiny_datasets, tiny_vectors):
    """run_mlp returns two epochs of stats, learns the fixture, and repeats exactly per seed."""
    first = mlp.run_mlp(CONFIG, tiny_vectors, *tiny_datasets)
    train_losses, train_accs, dev_losses, dev_accs, test_loss, test_acc = first
    assert all(len(stats) == 2 for stats in (train_losses, train_accs, dev_losses, dev_accs))
    assert max(dev_accs) > 0.7 and test_acc > 0.7  # chance is 0.5
    assert test_loss < math.log(2)  # below the loss of predicting 50/50
    assert first == mlp.run_mlp(CONFIG, tiny_vectors, *tiny_datasets)
    assert first != mlp.run_mlp({**CONFIG, "seed": 7}, tiny_vectors, *tiny_datasets)


def test_run_mlp_scores_test_with_best_dev_weights(tmp_path, tiny_datasets, tiny_vectors):
    """The test score is that of the saved best-dev checkpoint."""
    save_path = tmp_path / "run.pt"
    config = {**CONFIG, "hidden_dims": [16], "num_epochs": 3, "save_path": save_path}
    *_, test_loss, test_acc = mlp.run_mlp(config, tiny_vectors, *tiny_datasets)
    model = mlp.load_checkpoint(mlp.SentimentClassifier(tiny_vectors.vector_size, 2, [16]),
                                save_path)
    loader = mlp.create_dataloader(tiny_datasets[2], 64, shuffle=False)
    assert mlp.evaluate(model, loader) == pytest.approx((test_loss, test_acc))
