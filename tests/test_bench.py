"""bench.py runs end to end on a small fixture and writes the report it prints."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import write_imdb

import bench
import mlp

REPO = Path(__file__).resolve().parents[1]


def test_quick_bench_writes_its_report(tmp_path):
    """`python bench.py --quick` measures every row and writes them to the JSON file."""
    data = write_imdb(tmp_path / "imdb")
    report_path = tmp_path / "bench.json"
    env = {**os.environ, mlp.CACHE_ENV: str(tmp_path / "cache")}
    completed = subprocess.run(
        [sys.executable, "bench.py", "--quick", "--data", str(data), "--json", str(report_path)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    report = json.loads(report_path.read_text())

    features = report["features"]
    assert features["sample_reviews"] == 100 and features["reviews"] == 400
    for key in ("featurize_loop_s", "create_tensor_dataset_s", "cold_s", "warm_s"):
        assert features[key] > 0
    assert features["featurize_speedup"] > 1  # the vectorised pass beats the per-review loop
    assert 0.9 < features["vocabulary_coverage"] <= 1

    assert list(report["training"]) == ["None", "512", "512 -> 512", "512 -> 512 -> 512"]
    for row in report["training"].values():
        for path in ("project", "straightforward", "kernels_only"):
            assert row[path]["runs"] == [  # --quick: one repeat
                {"seconds": row[path]["seconds"], "best_dev_acc": row[path]["best_dev_acc"]}
            ]
            assert row[path]["seconds"] > 0
            assert 0 <= row[path]["best_dev_acc"] <= 1
        assert row["speedup"] == row["straightforward"]["seconds"] / row["project"]["seconds"]
        assert row["over_floor"] == row["project"]["seconds"] / row["kernels_only"]["seconds"]

    main_run = report["main"]
    assert main_run["command"] == "python main.py --quick"
    assert main_run["seconds"] > 0 and main_run["peak_rss_gib"] > 0.05
    # The printed table is the same report.
    assert f"{main_run['seconds']:.1f} s" in completed.stdout
    assert f"{features['vocabulary_coverage']:.2%}" in completed.stdout


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
