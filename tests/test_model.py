"""SentimentClassifier, batches, accuracy, evaluation and training (mlp.py)."""

import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import TINY_DIM
from torch import nn
from torch.utils.data import TensorDataset

import mlp

EMBED_DIM = 50


def _by_hand(model: mlp.SentimentClassifier, x: torch.Tensor, act) -> torch.Tensor:
    """Logits by explicit matrix products: act after every hidden layer, nothing after the last."""
    for linear in model.linears[:-1]:
        x = act(x @ linear.weight.T + linear.bias)
    return x @ model.linears[-1].weight.T + model.linears[-1].bias


# ----------------------------------------------------------------------------------------------
# The model


@pytest.mark.parametrize("hidden_dims", [[], [512], [512, 512], [512, 512, 512]], ids=str)
def test_layers_and_logit_shape(hidden_dims):
    """linears is an nn.ModuleList of nn.Linear with the specified sizes; logits are (batch, 2)."""
    model = mlp.SentimentClassifier(EMBED_DIM, 2, hidden_dims)
    assert isinstance(model.linears, nn.ModuleList)
    sizes = [(linear.in_features, linear.out_features) for linear in model.linears]
    assert sizes == list(itertools.pairwise([EMBED_DIM, *hidden_dims, 2]))
    assert all(isinstance(linear, nn.Linear) for linear in model.linears)
    assert isinstance(model.loss, nn.CrossEntropyLoss)
    assert model(torch.randn(5, EMBED_DIM)).shape == (5, 2)


@pytest.mark.parametrize("name", mlp.ACTIVATIONS)
def test_each_activation_follows_each_hidden_layer_only(name):
    """The forward pass is the matrix products with the activation after hidden layers only."""
    torch.manual_seed(0)
    model = mlp.SentimentClassifier(EMBED_DIM, 2, [16, 8], name.upper())  # names in any case
    x = torch.randn(5, EMBED_DIM)
    torch.testing.assert_close(model(x), _by_hand(model, x, mlp.ACTIVATIONS[name]()))


def test_forward_values_worked_out_on_paper():
    """A 2-2-2 ReLU network with set weights gives the logits computed by hand."""
    model = mlp.SentimentClassifier(2, 2, [2], "ReLU")
    with torch.no_grad():
        model.linears[0].weight.copy_(torch.tensor([[1.0, -1.0], [2.0, 0.0]]))
        model.linears[0].bias.copy_(torch.tensor([0.0, -1.0]))
        model.linears[1].weight.copy_(torch.tensor([[1.0, 1.0], [-1.0, 2.0]]))
        model.linears[1].bias.copy_(torch.tensor([-0.5, 0.0]))
    x = torch.tensor([[3.0, 1.0], [-1.0, 2.0]])
    # Row 1: hidden (2, 5), logits (2 + 5 - 0.5, -2 + 10) = (6.5, 8).
    # Row 2: hidden relu(-3, -3) = (0, 0), logits = the bias (-0.5, 0): negative, so no ReLU
    # may follow the last layer.
    torch.testing.assert_close(model(x), torch.tensor([[6.5, 8.0], [-0.5, 0.0]]))


def test_gradients_match_backpropagation_by_hand():
    """Autograd's gradients of the mean cross-entropy equal the backprop formulas."""
    torch.manual_seed(0)
    model = mlp.SentimentClassifier(3, 2, [4], "Sigmoid").double()
    x, y = torch.randn(5, 3, dtype=torch.float64), torch.tensor([0, 1, 1, 0, 1])
    model.loss(model(x), y).backward()
    first, last = model.linears
    with torch.no_grad():
        hidden = torch.sigmoid(x @ first.weight.T + first.bias)  # (5, 4)
        d_logits = ((hidden @ last.weight.T + last.bias).softmax(dim=1) - F.one_hot(y)) / len(y)
        d_pre = d_logits @ last.weight * hidden * (1 - hidden)  # sigmoid' = s (1 - s)
    expected = {"linears.1.weight": d_logits.T @ hidden, "linears.1.bias": d_logits.sum(0),
                "linears.0.weight": d_pre.T @ x, "linears.0.bias": d_pre.sum(0)}
    for name, parameter in model.named_parameters():
        torch.testing.assert_close(parameter.grad, expected[name], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["Swish", None])
def test_unknown_activation_lists_the_choices(name):
    """An unknown activation is a ValueError that names it and every valid one."""
    with pytest.raises(ValueError, match="unknown activation") as error:
        mlp.SentimentClassifier(EMBED_DIM, 2, [512], name)
    assert repr(name) in str(error.value)
    assert all(choice in str(error.value) for choice in mlp.ACTIVATIONS)


@pytest.mark.parametrize("hidden_dims", [[0], [512, -1], [512.0]], ids=str)
def test_hidden_sizes_must_be_positive_integers(hidden_dims):
    """A hidden size that is not a positive integer is a ValueError showing the sizes."""
    with pytest.raises(ValueError, match="positive integers") as error:
        mlp.SentimentClassifier(EMBED_DIM, 2, hidden_dims)
    assert str(hidden_dims) in str(error.value)


# ----------------------------------------------------------------------------------------------
# Batches, accuracy, evaluation


def test_dataloader_batches_each_example_once_per_epoch_in_a_seeded_order():
    """Batches of batch_size (the last smaller) cover the data once; the order is new each
    epoch, fixed by torch.manual_seed, and unshuffled without shuffle."""
    dataset = TensorDataset(torch.arange(10.0).unsqueeze(1), torch.arange(10))

    def epochs(loader, count=2):
        return [[labels.tolist() for _, labels in loader] for _ in range(count)]

    torch.manual_seed(0)
    first, second = epochs(mlp.create_dataloader(dataset, 4))
    assert [len(batch) for batch in first] == [4, 4, 2]
    assert sorted(itertools.chain(*first)) == list(range(10))
    assert first != second
    torch.manual_seed(0)
    assert epochs(mlp.create_dataloader(dataset, 4)) == [first, second]
    assert epochs(mlp.create_dataloader(dataset, 4, shuffle=False), 1) == [[[0, 1, 2, 3],
                                                                            [4, 5, 6, 7], [8, 9]]]
    inputs, labels = next(iter(mlp.create_dataloader(dataset, 4, shuffle=False)))
    assert inputs.shape == (4, 1) and labels.dtype == torch.long


def test_accuracy_per_example():
    """1.0 where the arg-max logit is the label, else 0.0."""
    logits = torch.tensor([[2.0, 1.0], [-1.0, 3.0], [0.2, 0.1], [-5.0, -4.0]])
    result = mlp.accuracy(logits, torch.tensor([0, 0, 0, 1]))
    assert result.dtype == torch.float32
    assert result.tolist() == [1.0, 0.0, 1.0, 1.0]


def test_evaluate_averages_over_examples_not_batches():
    """10 examples in batches of 4, 4, 2, the last two wrong: accuracy 0.8, the mean loss."""
    logits = torch.tensor([[3.0, 0.0], [0.0, 2.0], [1.0, 0.0], [0.0, 4.0], [2.0, 1.0],
                           [0.0, 0.5], [5.0, 0.0], [0.0, 1.0], [0.0, 3.0], [2.0, 0.0]])
    labels = torch.tensor([0, 1, 0, 1, 0, 1, 0, 1, 0, 1])
    model = mlp.SentimentClassifier(2, 2, [])  # made the identity: logits = inputs
    with torch.no_grad():
        model.linears[0].weight.copy_(torch.eye(2))
        model.linears[0].bias.zero_()
    loader = mlp.create_dataloader(TensorDataset(logits, labels), 4, shuffle=False)
    loss, acc = mlp.evaluate(model, loader)
    assert acc == pytest.approx(0.8)  # the mean of the three batch means would be 2/3
    assert loss == pytest.approx(F.cross_entropy(logits, labels).item())


# ----------------------------------------------------------------------------------------------
# Training


def _opposite_dev_task():
    """Train and dev sets with opposite labels: the better the fit, the worse dev gets."""
    x = torch.randn(256, 2, generator=torch.Generator().manual_seed(0))
    y = (x[:, 0] > 0).long()
    return TensorDataset(x, y), TensorDataset(x, 1 - y)


def test_train_ends_with_the_best_dev_epoch_and_saves_it(tmp_path):
    """After train, the model is the best-dev epoch's (not the last), and so is save_path."""
    train_set, dev_set = _opposite_dev_task()
    dev_loader = mlp.create_dataloader(dev_set, 64, shuffle=False)
    torch.manual_seed(0)
    model = mlp.SentimentClassifier(2, 2, [8], "Tanh")
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    train_losses, train_accs, dev_losses, dev_accs = mlp.train(
        model, optimizer, mlp.create_dataloader(train_set, 32), dev_loader, 6,
        save_path=tmp_path / "best.pt", progress=False)
    assert len(train_losses) == len(train_accs) == len(dev_losses) == len(dev_accs) == 6
    best = dev_accs.index(max(dev_accs))
    assert best < 5 and dev_accs[best] > dev_accs[-1]  # the task makes dev peak early
    assert mlp.evaluate(model, dev_loader) == pytest.approx((dev_losses[best], dev_accs[best]))
    saved = mlp.SentimentClassifier(2, 2, [8], "Tanh")
    saved.load_state_dict(torch.load(tmp_path / "best.pt", weights_only=True))
    x = dev_set.tensors[0]
    assert torch.equal(saved(x), model(x))


class _BreakingAdam(torch.optim.Adam):
    """Adam that sets the weights to inf after step break_at."""

    def __init__(self, params, break_at: int) -> None:
        super().__init__(params, lr=0.01)
        self.steps, self.break_at = 0, break_at

    def step(self, closure=None):
        super().step(closure)
        self.steps += 1
        if self.steps == self.break_at:
            with torch.no_grad():
                for group in self.param_groups:
                    for parameter in group["params"]:
                        parameter.fill_(math.inf)


@pytest.mark.parametrize(("break_at", "finished"), [(1, 0), (8, 1)],
                         ids=["first step", "last step of epoch 2"])
def test_a_non_finite_loss_stops_training(tiny_datasets, break_at, finished):
    """Broken weights stop training at once, even after an epoch's last step (seen only on dev):
    the lists hold the finished epochs only, without a NaN."""
    dev_set, train_set, _ = tiny_datasets
    torch.manual_seed(0)
    model = mlp.SentimentClassifier(TINY_DIM, 2, [4])
    train_loader = mlp.create_dataloader(train_set, 75)  # 300 examples: 4 steps per epoch
    stats = mlp.train(model, _BreakingAdam(model.parameters(), break_at), train_loader,
                      mlp.create_dataloader(dev_set, 50, shuffle=False), 5, progress=False)
    assert [len(values) for values in stats] == [finished] * 4
    assert all(math.isfinite(value) for values in stats for value in values)


def _config(**changes) -> dict:
    return {"hidden_dims": [16], "activation": "ReLU", "lr": 0.01, "batch_size": 32,
            "num_epochs": 4, "seed": 1, "progress": False, **changes}


def test_run_mlp_learns_and_one_seed_fixes_every_number(tiny_datasets, tiny_vectors):
    """On the tiny reviews run_mlp learns; the same seed repeats every number, another differs."""
    first = mlp.run_mlp(_config(), tiny_vectors, *tiny_datasets)
    train_losses, _, _, dev_accs, _, test_acc = first
    assert max(dev_accs) > 0.8 and test_acc > 0.8
    assert mlp.run_mlp(_config(), tiny_vectors, *tiny_datasets) == first
    other_train_losses, *_ = mlp.run_mlp(_config(seed=2), tiny_vectors, *tiny_datasets)
    assert other_train_losses != train_losses


def test_run_mlp_scores_nan_when_no_epoch_finishes(tiny_datasets, tiny_vectors):
    """An absurd learning rate breaks the weights in epoch 1: empty lists, NaN test scores."""
    *curves, test_loss, test_acc = mlp.run_mlp(_config(lr=1e30), tiny_vectors, *tiny_datasets)
    assert curves == [[], [], [], []]
    assert math.isnan(test_loss) and math.isnan(test_acc)


@pytest.mark.parametrize(("key", "value"), [("lr", 0), ("lr", -0.01), ("lr", math.nan),
                                            ("batch_size", 0)])
def test_run_mlp_refuses_non_positive_settings(tiny_datasets, tiny_vectors, key, value):
    """lr <= 0 (or NaN) and batch_size <= 0 are ValueErrors naming the setting."""
    with pytest.raises(ValueError, match=key):
        mlp.run_mlp(_config(**{key: value}), tiny_vectors, *tiny_datasets)


def test_the_computation_graph_is_autograds():
    """computation_graph: hw3.md's f at (1, 3, 2), each node's value and total derivative and
    each edge's local partial, against the closed forms."""
    graph = mlp.computation_graph()
    e3 = math.exp(3)
    assert graph["values"] == pytest.approx({"x": 1, "y": 3, "z": 2, "h1": 0, "h2": e3,
                                             "h3": 2 * e3, "f": 2 * e3})
    assert graph["totals"] == pytest.approx({"x": 1, "y": 2 * e3, "z": e3, "h1": 1, "h2": 2,
                                             "h3": 1, "f": 1})
    assert graph["locals"] == pytest.approx({("x", "h1"): 1, ("y", "h2"): e3, ("h2", "h3"): 2,
                                             ("z", "h3"): e3, ("h1", "f"): 1, ("h3", "f"): 1})


def test_a_step_is_drawn_in_two_pieces():
    """_broken leaves a gap where a curve jumps (ReLU's derivative at 0), nowhere else."""
    x = torch.linspace(-1, 1, 5)
    gapped_x, gapped_y = mlp._broken(x, (x > 0).float())
    assert np.isnan(gapped_y).sum() == 1 and np.isnan(gapped_x).sum() == 1
    assert np.nanmax(np.abs(np.diff(gapped_y))) == 0
