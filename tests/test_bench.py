"""bench.py runs end to end on a small fixture and writes the report it prints."""

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import write_imdb

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
        assert row["project"]["seconds"] > 0 and row["straightforward"]["seconds"] > 0
        assert row["speedup"] == row["straightforward"]["seconds"] / row["project"]["seconds"]
        assert 0 <= row["project"]["best_dev_acc"] <= 1

    main_run = report["main"]
    assert main_run["command"] == "python main.py --quick"
    assert main_run["seconds"] > 0 and main_run["peak_rss_gib"] > 0.05
    # The printed table is the same report.
    assert f"{main_run['seconds']:.1f} s" in completed.stdout
    assert f"{features['vocabulary_coverage']:.2%}" in completed.stdout
