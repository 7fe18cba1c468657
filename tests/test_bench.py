"""bench.py: its floor computes the project's gradients; its table and its timer."""

import subprocess
import sys

import pytest
import torch

import mlp
from workshop import bench


@pytest.mark.parametrize("hidden_dims", [[], [7], [7, 5, 3]])
def test_hand_written_gradients_match_autograd(hidden_dims):
    """The kernels-only floor trains the same model: its gradients are autograd's."""
    torch.manual_seed(0)
    model = mlp.SentimentClassifier(4, 2, hidden_dims, "Sigmoid").double()
    inputs, labels = torch.randn(6, 4, dtype=torch.float64), torch.tensor([0, 1, 1, 0, 1, 1])
    model.loss(model(inputs), labels).backward()
    expected = [linear.weight.grad for linear in model.linears]
    expected += [linear.bias.grad for linear in model.linears]
    with torch.no_grad():
        grads = bench.sigmoid_mlp_gradients([linear.weight for linear in model.linears],
                                            [linear.bias for linear in model.linears],
                                            inputs, labels)
    assert [grad.shape for grad in grads] == [grad.shape for grad in expected]
    for grad, reference in zip(grads, expected, strict=True):
        torch.testing.assert_close(grad, reference, rtol=1e-12, atol=1e-12)


def test_the_table_shows_every_measurement(capsys):
    """print_table: a row for featurising, each structure (with the three ways' ratio), the
    sweeps against the straightforward completion, each main.py run, and grading."""
    path = {"seconds": 2.0, "best_dev_acc": 0.75, "epochs": 20}
    report = {"machine": "m", "features": {"reviews": 400, "cold_s": 1.0, "warm_s": 0.1,
                                           "tokens": 1000, "vocabulary_coverage": 0.99},
              "training": {"512": {"project": path, "straightforward": {**path, "seconds": 5.0},
                                   "kernels_only": {**path, "seconds": 1.0}}},
              "homework": {"completion": {"seconds": 250.0}, "project": {"seconds": 50.0}},
              "main": [{"command": "python main.py", "cache": "warm", "seconds": 600.0,
                        "peak_rss_gib": 0.9, "peak_rss_all_processes_gib": 2.0}],
              "grading": {"one": 9.0, "class": 60.0, "class_size": 40}}
    bench.print_table(report)
    table = capsys.readouterr().out
    assert "| 20 epochs of 512 (best dev acc 0.7500/0.7500/0.7500) | 2.0 s | 5.0 s | 2.5x |" \
        in table
    assert "straightforward completion | 50.0 s | 250.0 s | 5.0x |" in table
    assert "| `python main.py` (warm cache; peak memory 0.90 GiB" in table
    assert "one submission / a class of 40 | 9.0 / 60.0 s |" in table


def test_a_command_is_timed_and_its_failure_raised(tmp_path):
    """timed: a command's seconds; a command that fails is an error, not a time."""
    assert bench.timed([sys.executable, "-c", "pass"], cwd=tmp_path)["seconds"] > 0
    with pytest.raises(subprocess.CalledProcessError):
        bench.timed([sys.executable, "-c", "raise SystemExit(3)"], cwd=tmp_path)
