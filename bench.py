"""Benchmark this project's featurisation and training against the straightforward paths.

    python bench.py                 # full homework data, about 10 minutes on 2 cores
    python bench.py --quick         # a few hundred reviews, seconds: checks that it all runs

Every row is measured in the same run on the same machine; the ratios are what the README
quotes. Training is also timed as a floor: the same kernels with no framework around them.
Writes bench.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.optim.adam import adam
from torch.utils.data import DataLoader

from main import SWEEPS
from mlp import (
    CACHE_ENV,
    DATA_ENV,
    SentimentClassifier,
    accuracy,
    create_tensor_dataset,
    featurize,
    load_data_mlp,
    load_embeddings,
    run_mlp,
    set_seed,
    tokenize,
    train,
)

# The structures sweep's models (all Sigmoid, batch 64), each with its learning rate.
STRUCTURES = {config["name"]: (config["hidden_dims"], config["lr"])
              for config in SWEEPS["structures"].configs}


def median_seconds(work: Callable[[], object], repeats: int) -> float:
    """Median wall time of repeats calls of work()."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_features(splits: tuple[dict, ...], embeddings, sample: int, repeats: int) -> dict:
    """Per-review featurize() vs create_tensor_dataset, then cold and warm featurisation."""
    reviews = {key: values[:sample] for key, values in splits[0].items()}
    per_review = median_seconds(lambda: [featurize(t, embeddings) for t in reviews["text"]],
                                repeats)
    vectorised = median_seconds(
        lambda: create_tensor_dataset(reviews, embeddings, cache_dir=None, progress=False),
        repeats,
    )
    tokens = [token for text in (t for s in splits for t in s["text"]) for token in tokenize(text)]
    coverage = sum(token in embeddings for token in tokens) / len(tokens)

    cache = Path(tempfile.mkdtemp(prefix="hw3-bench-cache-"))
    try:
        def featurise_all() -> list:
            return [create_tensor_dataset(s, embeddings, cache_dir=cache, progress=False)
                    for s in splits]

        def cold() -> list:
            shutil.rmtree(cache, ignore_errors=True)
            return featurise_all()

        cold_seconds = median_seconds(cold, repeats)
        warm_seconds = median_seconds(featurise_all, repeats)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return {
        "sample_reviews": len(reviews["text"]),
        "featurize_loop_s": per_review,
        "create_tensor_dataset_s": vectorised,
        "featurize_speedup": per_review / vectorised,
        "reviews": sum(len(s["text"]) for s in splits),
        "cold_s": cold_seconds,
        "warm_s": warm_seconds,
        "tokens": len(tokens),
        "vocabulary_coverage": coverage,
    }


def _train_project(datasets: list, embeddings, dims: list[int], lr: float, epochs: int) -> dict:
    """One structure (Sigmoid, batch 64) through the project's run_mlp."""
    config = {"hidden_dims": dims, "activation": "Sigmoid", "lr": lr, "batch_size": 64,
              "num_epochs": epochs, "seed": 0, "device": "cpu", "progress": False}
    start = time.perf_counter()
    _, _, _, dev_accs, _, _ = run_mlp(config, embeddings, *datasets)
    return {"seconds": time.perf_counter() - start, "best_dev_acc": max(dev_accs)}


def _train_straightforward(datasets: list, dims: list[int], lr: float, epochs: int) -> dict:
    """The same structure the textbook way: default DataLoaders that stack single examples,
    plain Adam, evaluation in batches of 64."""
    set_seed(0)
    dev_set, train_set, _ = datasets
    model = SentimentClassifier(dev_set.tensors[0].shape[1], 2, dims, "Sigmoid")
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    train_loader = DataLoader(train_set, batch_size=64, shuffle=True)
    dev_loader = DataLoader(dev_set, batch_size=64)
    start = time.perf_counter()
    _, _, _, dev_accs = train(model, optimizer, train_loader, dev_loader, epochs, progress=False)
    return {"seconds": time.perf_counter() - start, "best_dev_acc": max(dev_accs)}


def _sigmoid_mlp_forward(weights: list[torch.Tensor], biases: list[torch.Tensor],
                         inputs: torch.Tensor) -> list[torch.Tensor]:
    """The input of each linear layer of a Sigmoid MLP, then its logits."""
    outputs = [inputs]  # (batch, width) each
    for weight, bias in zip(weights[:-1], biases[:-1], strict=True):
        outputs.append(torch.sigmoid(torch.addmm(bias, outputs[-1], weight.t())))
    outputs.append(torch.addmm(biases[-1], outputs[-1], weights[-1].t()))
    return outputs


def sigmoid_mlp_gradients(weights: list[torch.Tensor], biases: list[torch.Tensor],
                          inputs: torch.Tensor, labels: torch.Tensor) -> list[torch.Tensor]:
    """Gradients of a Sigmoid MLP's mean cross-entropy, weights then biases, worked out by hand.

    The same kernels autograd runs for SentimentClassifier, without its bookkeeping.
    """
    *layer_inputs, logits = _sigmoid_mlp_forward(weights, biases, inputs)
    # d(mean cross-entropy)/d(logits) = (softmax - one-hot) / batch
    grad = torch.softmax(logits, dim=1).sub_(F.one_hot(labels, logits.shape[1])).div_(len(labels))
    weight_grads, bias_grads = [], []
    for layer in reversed(range(len(weights))):
        weight_grads.insert(0, grad.t().mm(layer_inputs[layer]))
        bias_grads.insert(0, grad.sum(dim=0))
        if layer > 0:  # sigmoid'(z) = s * (1 - s), from the layer's output s
            grad = torch.ops.aten.sigmoid_backward(grad.mm(weights[layer]), layer_inputs[layer])
    return weight_grads + bias_grads


def _train_kernels_only(datasets: list, dims: list[int], lr: float, epochs: int) -> dict:
    """A floor for the same arithmetic: the training kernels called directly (backward pass by
    hand, Adam's fused kernel through torch.optim.adam.adam), no nn.Module, autograd or
    per-step metrics; dev accuracy after each epoch, in one batch."""
    set_seed(0)
    dev_set, train_set, _ = datasets
    model = SentimentClassifier(dev_set.tensors[0].shape[1], 2, dims, "Sigmoid")
    weights = [linear.weight.detach() for linear in model.linears]
    biases = [linear.bias.detach() for linear in model.linears]
    params = weights + biases
    exp_avgs = [torch.zeros_like(param) for param in params]
    exp_avg_sqs = [torch.zeros_like(param) for param in params]
    steps = [torch.zeros(()) for _ in params]
    (features, labels), (dev_features, dev_labels) = train_set.tensors, dev_set.tensors
    generator = torch.Generator().manual_seed(0)
    best_dev_acc = 0.0
    start = time.perf_counter()
    with torch.no_grad():
        for _ in range(epochs):
            for batch in torch.randperm(len(labels), generator=generator).split(64):
                grads = sigmoid_mlp_gradients(weights, biases, features[batch], labels[batch])
                adam(params, grads, exp_avgs, exp_avg_sqs, [], steps, fused=True, amsgrad=False,
                     beta1=0.9, beta2=0.999, lr=lr, weight_decay=0.0, eps=1e-8, maximize=False)
            dev_logits = _sigmoid_mlp_forward(weights, biases, dev_features)[-1]
            dev_acc = accuracy(dev_logits, dev_labels).sum().item() / len(dev_labels)
            best_dev_acc = max(best_dev_acc, dev_acc)
    return {"seconds": time.perf_counter() - start, "best_dev_acc": best_dev_acc}


def bench_training(datasets: list, embeddings, epochs: int, repeats: int) -> dict:
    """Each structure for `epochs` epochs: this project's path, the straightforward one and the
    kernels-only floor, each the median of `repeats` runs taken in turn (the machine's drift
    hits all three alike)."""
    rows = {}
    for name, (dims, lr) in STRUCTURES.items():
        runs = {"project": [], "straightforward": [], "kernels_only": []}
        for _ in range(repeats):
            runs["project"].append(_train_project(datasets, embeddings, dims, lr, epochs))
            runs["straightforward"].append(_train_straightforward(datasets, dims, lr, epochs))
            runs["kernels_only"].append(_train_kernels_only(datasets, dims, lr, epochs))
        # Every repeat trains from the same seed: its best dev accuracy is in "runs" too.
        row = {path: {"seconds": statistics.median(run["seconds"] for run in path_runs),
                      "best_dev_acc": path_runs[0]["best_dev_acc"], "runs": path_runs}
               for path, path_runs in runs.items()}
        row["speedup"] = row["straightforward"]["seconds"] / row["project"]["seconds"]
        row["over_floor"] = row["project"]["seconds"] / row["kernels_only"]["seconds"]
        rows[name] = row
    return rows


def _tree_rss_bytes(pid: int) -> int:
    """Resident memory of a process and all its descendants, from /proc (0 where there is none)."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += int(status.split("VmRSS:")[1].split()[0]) * 1024
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += map(int, (task / "children").read_text().split())
        except (OSError, IndexError):  # the process ended, or has no resident memory
            continue
    return total


def bench_main(data: str | None, quick: bool) -> dict:
    """python main.py end to end in a subprocess, with a cold feature cache."""
    with tempfile.TemporaryDirectory(prefix="hw3-bench-") as scratch:
        env = {**os.environ, CACHE_ENV: str(Path(scratch) / "cache")}
        if data:
            env[DATA_ENV] = data
        command = [sys.executable, "main.py", "--plots-dir", str(Path(scratch) / "plots")]
        command += ["--quick"] if quick else []
        start = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                                   cwd=Path(__file__).resolve().parent)
        peak_tree = 0
        while process.poll() is None:  # main.py and its worker processes, together
            peak_tree = max(peak_tree, _tree_rss_bytes(process.pid))
            time.sleep(0.2)
        seconds = time.perf_counter() - start
        if process.returncode:
            raise subprocess.CalledProcessError(process.returncode, command)
    # ru_maxrss of waited-for children, in KiB on Linux: the largest single process.
    peak_process = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    return {"command": " ".join(["python", "main.py", *command[4:]]), "seconds": seconds,
            "peak_rss_gib": peak_process / 2**30, "peak_rss_all_processes_gib": peak_tree / 2**30}


def print_table(report: dict) -> None:
    """The report as a Markdown table."""
    features, main_run = report["features"], report["main"]
    print(f"\n{report['machine']}\n")
    print("| what | this project | straightforward | ratio | kernels only (floor) |")
    print("| --- | --- | --- | --- | --- |")
    print(f"| featurise {features['sample_reviews']} reviews: create_tensor_dataset vs "
          f"featurize per review | {features['create_tensor_dataset_s']:.2f} s "
          f"| {features['featurize_loop_s']:.2f} s | {features['featurize_speedup']:.1f}x | |")
    print(f"| featurise all {features['reviews']} reviews, cold cache "
          f"| {features['cold_s']:.2f} s | | | |")
    print(f"| the same, warm cache | {features['warm_s']:.3f} s | | | |")
    for name, row in report["training"].items():
        accs = "/".join(f"{row[path]['best_dev_acc']:.4f}"
                        for path in ("project", "straightforward", "kernels_only"))
        print(f"| {report['epochs']} epochs of {name} (best dev acc {accs}) "
              f"| {row['project']['seconds']:.1f} s | {row['straightforward']['seconds']:.1f} s "
              f"| {row['speedup']:.1f}x | {row['kernels_only']['seconds']:.1f} s |")
    print(f"| `{main_run['command']}`, cold cache | {main_run['seconds']:.1f} s | | | |")
    print(f"| its peak memory (RSS): main process / with its workers "
          f"| {main_run['peak_rss_gib']:.2f} / {main_run['peak_rss_all_processes_gib']:.2f} GiB "
          f"| | | |")
    print(f"\nvocabulary coverage: {features['vocabulary_coverage']:.2%} of "
          f"{features['tokens']} IMDB tokens are GloVe words")


def main() -> None:
    """Run every measurement, print the table and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None,
                        help=f"IMDB folder (default: ${DATA_ENV}, else the Hugging Face Hub)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="runs of each timing but main.py's; the median is reported "
                             "(default: 3)")
    parser.add_argument("--quick", action="store_true",
                        help="100/200/100 reviews, 2 epochs, 1 repeat, main.py --quick")
    parser.add_argument("--json", type=Path, default=Path("bench.json"),
                        help="output file (default: bench.json)")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")

    # main.py first: ru_maxrss of children must not include anything else this script starts.
    main_run = bench_main(args.data, args.quick)
    sizes = (100, 200, 100) if args.quick else (5000, 20000, 10000)
    splits = load_data_mlp(args.data, dev_size=sizes[0], train_size=sizes[1], test_size=sizes[2])
    embeddings = load_embeddings()
    repeats, epochs = (1, 2) if args.quick else (args.repeats, 20)
    features = bench_features(splits, embeddings, sample=min(5000, sizes[0]), repeats=repeats)
    datasets = [create_tensor_dataset(s, embeddings, cache_dir=None, progress=False)
                for s in splits]
    report = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {torch.get_num_threads()} "
                   f"torch threads, torch {torch.__version__}, Python {platform.python_version()}",
        "epochs": epochs,
        "features": features,
        "training": bench_training(datasets, embeddings, epochs, repeats),
        "main": main_run,
    }
    args.json.write_text(json.dumps(report, indent=1) + "\n")
    print_table(report)
    print(f"\nwritten {args.json}")


if __name__ == "__main__":
    main()
