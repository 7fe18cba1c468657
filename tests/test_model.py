"""SentimentClassifier, batches, accuracy, evaluation and training (mlp.py)."""

import copy
import itertools
import math

import pytest
import torch
import torch.nn.functional as F
from conftest import TINY_DIM
from torch.utils.data import TensorDataset

import mlp
from workshop.records import Run

EMBED_DIM = 50


# ----------------------------------------------------------------------------------------------
# The model


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


def test_of_tied_best_epochs_train_keeps_the_first_and_the_record_names_it(monkeypatch):
    """Dev accuracies 0.6, 0.8, 0.8, 0.7: train ends with epoch 2's weights, and results.json's
    best epoch (records.Run) is the same epoch."""
    train_set, _ = _opposite_dev_task()
    scripted = iter([0.6, 0.8, 0.8, 0.7])
    monkeypatch.setattr(mlp, "evaluate", lambda model, loader: (0.5, next(scripted)))
    torch.manual_seed(0)
    model = mlp.SentimentClassifier(2, 2, [8], "Tanh")
    weights = []
    curves = mlp.train(model, torch.optim.Adam(model.parameters(), lr=0.05),
                       mlp.create_dataloader(train_set, 32), None, 4, progress=False,
                       on_epoch=lambda epoch: weights.append(copy.deepcopy(model.state_dict())))
    assert all(torch.equal(value, weights[1][name]) for name, value in model.state_dict().items())
    assert not torch.equal(weights[1]["linears.0.weight"], weights[2]["linears.0.weight"])
    run = Run(1, 4, 1.0, *curves, 0.5, 0.8)
    assert mlp.best_epoch(curves.dev_accs) == run.best_epoch == 2


def test_each_step_follows_its_own_batchs_gradient():
    """train_epoch: each step moves the weights by -lr times the gradient of that step's batch
    alone (no gradient left over from the step before: zero_grad), computed by hand here."""
    x = torch.tensor([[1.0, 2.0], [0.5, -1.0], [-2.0, 1.0], [1.5, 0.5]])
    y = torch.tensor([0, 1, 1, 0])
    torch.manual_seed(0)
    model = mlp.SentimentClassifier(2, 2, [])
    weight, bias = (parameter.detach().clone() for parameter in model.linears[0].parameters())
    mlp.train_epoch(model, torch.optim.SGD(model.parameters(), lr=0.5),
                    mlp.create_dataloader(TensorDataset(x, y), 2, shuffle=False))
    for batch in (slice(0, 2), slice(2, 4)):  # the two batches, in order
        d_logits = ((x[batch] @ weight.T + bias).softmax(dim=1) - F.one_hot(y[batch])) / 2
        weight, bias = weight - 0.5 * d_logits.T @ x[batch], bias - 0.5 * d_logits.sum(0)
    torch.testing.assert_close(model.linears[0].weight.detach(), weight)
    torch.testing.assert_close(model.linears[0].bias.detach(), bias)


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
            "num_epochs": 4, "seed": 1, **changes}


def _run(config: dict, vectors, datasets) -> mlp.RunResult:
    return mlp.run_mlp(config, vectors, *datasets, progress=False)


def test_run_mlp_learns_and_one_seed_fixes_every_number(tiny_datasets, tiny_vectors):
    """On the tiny reviews run_mlp learns; the same seed repeats every number, another differs."""
    first = _run(_config(), tiny_vectors, tiny_datasets)
    train_losses, _, _, dev_accs, _, test_acc = first  # the handout's six values, unpacked
    assert (first.dev_accs, first.test_acc) == (dev_accs, test_acc)  # and by name
    assert max(dev_accs) > 0.8 and test_acc > 0.8
    assert _run(_config(), tiny_vectors, tiny_datasets) == first
    assert _run(_config(seed=2), tiny_vectors, tiny_datasets).train_losses != train_losses


def test_run_mlp_scores_nan_when_no_epoch_finishes(tiny_datasets, tiny_vectors):
    """An absurd learning rate breaks the weights in epoch 1: empty lists, NaN test scores."""
    *curves, test_loss, test_acc = _run(_config(lr=1e30), tiny_vectors, tiny_datasets)
    assert curves == [[], [], [], []]
    assert math.isnan(test_loss) and math.isnan(test_acc)


@pytest.mark.parametrize(("key", "value"), [("lr", 0), ("lr", -0.01), ("lr", math.nan),
                                            ("batch_size", 0)])
def test_run_mlp_refuses_non_positive_settings(tiny_datasets, tiny_vectors, key, value):
    """lr <= 0 (or NaN) and batch_size <= 0 are ValueErrors naming the setting."""
    with pytest.raises(ValueError, match=key):
        _run(_config(**{key: value}), tiny_vectors, tiny_datasets)


class _DropoutClassifier(mlp.SentimentClassifier):
    """A SentimentClassifier with dropout before its last layer: it answers differently in
    training mode, so what evaluate sees shows which mode the model was in."""

    def __init__(self) -> None:
        super().__init__(TINY_DIM, 2, [16])
        self.dropout = torch.nn.Dropout(0.9)

    def forward(self, inp: torch.Tensor) -> torch.Tensor:
        hidden = inp
        for linear in self.linears[:-1]:
            hidden = self.activation(linear(hidden))
        return self.linears[-1](self.dropout(hidden))


def test_evaluate_scores_in_eval_mode_and_computes_no_gradients():
    """evaluate puts a model in training mode into eval mode (its dropout off: the same loss
    every time, that of the model's plain forward pass) and builds no graph for backward."""
    torch.manual_seed(0)
    model = _DropoutClassifier().train()
    inputs, labels = torch.randn(64, TINY_DIM), torch.randint(0, 2, (64,))
    seen = []
    model.register_forward_hook(lambda module, args, output: seen.append(output.requires_grad))
    loss, _ = mlp.evaluate(model, mlp.create_dataloader(TensorDataset(inputs, labels), 64))
    assert not model.training and seen == [False]
    with torch.no_grad():
        assert loss == pytest.approx(model.loss(model(inputs), labels).item())


def test_train_epoch_trains_in_training_mode():
    """train_epoch puts a model that evaluate left in eval mode back in training mode, so a
    layer that behaves otherwise in training (dropout here) does: the model's forward passes
    see model.training, and the weights move."""
    torch.manual_seed(0)
    model = _DropoutClassifier().eval()
    seen = []
    model.register_forward_hook(lambda module, args, output: seen.append(module.training))
    inputs, labels = torch.randn(64, TINY_DIM), torch.randint(0, 2, (64,))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    mlp.train_epoch(model, optimizer, mlp.create_dataloader(TensorDataset(inputs, labels), 32))
    assert seen == [True, True] and model.training


def test_run_mlp_shuffles_its_training_batches_anew_each_epoch(tiny_datasets, tiny_vectors,
                                                              monkeypatch):
    """run_mlp trains on batches in a random order that differs from epoch to epoch (and from
    the dataset's order); dev and test are read in order."""
    orders, real_train_epoch = [], mlp.train_epoch

    def train_epoch(model, optimizer, dataloader):  # the order of a pass over its batches
        orders.append(torch.cat([labels for _, labels in dataloader]).tolist())
        return real_train_epoch(model, optimizer, dataloader)

    monkeypatch.setattr(mlp, "train_epoch", train_epoch)
    config = {"hidden_dims": [8], "activation": "ReLU", "lr": 0.01, "batch_size": 16,
              "num_epochs": 3}
    mlp.run_mlp(config, tiny_vectors, *tiny_datasets, progress=False)
    in_order = tiny_datasets[1].tensors[1].tolist()
    assert len(orders) == 3 and len({tuple(order) for order in orders}) == 3
    assert all(sorted(order) == sorted(in_order) != order for order in orders)
