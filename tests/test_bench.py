"""bench.py: its floor computes the project's gradients, and its quick mode measures every row."""

import json
import subprocess
import sys

import pytest
import torch
from conftest import REPO

import bench
import mlp


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


def test_quick_bench_measures_every_row(tmp_path):
    """`python bench.py --quick` times each path of each structure, the floor learning what the
    project learns, and main.py; it prints the table it writes to its JSON file."""
    report_path = tmp_path / "bench.json"
    done = subprocess.run([sys.executable, "bench.py", "--quick", "--json", str(report_path)],
                          cwd=REPO, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    report = json.loads(report_path.read_text())
    features = report["features"]
    assert features["reviews"] == 400
    assert "| featurise all 400 reviews, cold cache |" in done.stdout
    assert 0.9 < features["vocabulary_coverage"] <= 1
    assert report["training"]
    for name, row in report["training"].items():
        assert set(row) == {"project", "straightforward", "kernels_only"}
        # The same weights and batches: the floor's dev accuracy is the project's.
        assert row["kernels_only"]["best_dev_acc"] == pytest.approx(
            row["project"]["best_dev_acc"], abs=0.02)
        assert f"2 epochs of {name} " in done.stdout
    command = ("python main.py structures --workers 1 --dev-size 100 --train-size 200 "
               "--test-size 100 --epochs 2")  # --quick: the training rows' own main.py
    assert report["main"]["command"] == command and report["main"]["cache"] == "warm"
    assert report["main"]["peak_rss_gib"] > 0.05
    assert f"| `{command}`, warm cache |" in done.stdout
