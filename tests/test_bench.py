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


def _speed(completion: float, **commands: float) -> dict:
    runs = {"completion": completion, **commands}
    return {"runs": {name: {"seconds": seconds, "runs": [seconds]} for name, seconds in
                     runs.items()}, "main": None}


def test_the_table_shows_every_measurement(capsys):
    """print_table: each command against the completion with its target, met or not; a row for
    featurising, each structure (with the three ways' ratio) and grading."""
    path = {"seconds": 2.0, "best_dev_acc": 0.75, "epochs": 20}
    report = {"machine": "m", "features": {"reviews": 400, "cold_s": 1.0, "warm_s": 0.1,
                                           "tokens": 1000, "vocabulary_coverage": 0.99},
              "training": {"512": {"project": path, "straightforward": {**path, "seconds": 5.0},
                                   "kernels_only": {**path, "seconds": 1.0}}},
              "speed": _speed(280.0, homework_cold=40.0, homework_warm=35.0, main=500.0),
              "grading": {"one": 9.0, "class": 60.0, "class_size": 40}}
    bench.print_table(report)
    table = capsys.readouterr().out
    assert "| 20 epochs of 512 (best dev acc 0.7500/0.7500/0.7500) | 2.0 s | 5.0 s | 2.5x |" \
        in table
    assert "cold cache | 40.0 (40.0) | 280.0 (280.0) | 7.0x | ≥ 8x: not met |" in table
    assert "warm cache | 35.0 (35.0) | 280.0 (280.0) | 8.0x | ≥ 8x: met |" in table
    assert "| 500.0 (500.0) | 280.0 (280.0) | 1.79x as long | ≤ 1.8x as long: met |" in table
    assert "one submission / a class of 40 | 9.0 / 60.0 s |" in table


def test_the_speed_table_alone(capsys):
    """With --speed's report, the table has the commands it ran and nothing else."""
    bench.print_table({"machine": "m", "speed": _speed(280.0, homework_cold=40.0)})
    table = capsys.readouterr().out
    assert "cold cache | 40.0 (40.0) |" in table
    assert "warm cache" not in table and "featurise" not in table


def test_a_command_is_timed_and_its_failure_raised(tmp_path):
    """timed: a command's seconds; a command that fails is an error, not a time."""
    assert bench.timed([sys.executable, "-c", "pass"], cwd=tmp_path)["seconds"] > 0
    with pytest.raises(subprocess.CalledProcessError):
        bench.timed([sys.executable, "-c", "raise SystemExit(3)"], cwd=tmp_path)
