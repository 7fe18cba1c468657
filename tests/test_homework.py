"""This completion of the homework, checked item by item by the grader's own checks (checks.py):
the project's tests of the homework interface and the grader's items are the same code."""

import pytest
import torch

import checks
import main
import mlp


@pytest.mark.parametrize("item", checks.ITEMS)
def test_this_completion_passes_each_item(item, tmp_path, monkeypatch):
    """Every case of every item passes on this project's mlp.py and main.py."""
    monkeypatch.chdir(tmp_path)  # the sweeps write their plots to ./plots
    verdict = checks.ITEMS[item].check(checks.Submission(mlp, main, tmp_path))
    assert verdict.passed == verdict.cases > 0, verdict.feedback


@pytest.mark.parametrize("name", mlp.ACTIVATIONS)
def test_every_activation_follows_each_hidden_layer_only(name):
    """Beyond the skeleton's list: each activation of mlp.ACTIVATIONS (by name, in any case)
    is applied after every hidden layer and never after the last, as the forward check wants."""
    torch.manual_seed(0)
    model = mlp.SentimentClassifier(4, 2, [16, 8], name.upper())
    x = torch.randn(5, 4)
    assert checks.forward_problem(model, x, mlp.ACTIVATIONS[name](), name) is None
