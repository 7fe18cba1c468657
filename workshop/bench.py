"""Benchmark featurisation, training, the homework's sweeps and grading, against a
straightforward completion of the homework and a floor of bare kernels.

    python -m workshop.bench            # the full homework data, about an hour on 2 cores
    python -m workshop.bench --speed    # the speed targets alone, about 15 minutes a repeat
    python -m workshop.bench --quick    # a few hundred reviews: checks that it all runs

Every row is measured in one run on one machine, the runs compared taken in turn; the README
quotes them. Writes bench.json.
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
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.optim.adam import adam
from torch.utils.data import DataLoader

import mlp
from workshop.data import load_embeddings
from workshop.records import load_sweeps
from workshop.runs import features, sweeps

HERE = Path(__file__).resolve().parents[1]
QUICK_SIZES = {"dev": 100, "train": 200, "test": 100}  # --quick: reviews per split
# A straightforward completion of the course skeleton (tests/test_grade.py grades it too): the
# homework's sweeps as most students write them, to measure this project against.
COMPLETION = HERE / "tests" / "submissions" / "completion"
CLASS = 40  # submissions graded at once


def bench_features(splits: tuple[dict, ...], embeddings, repeats: int) -> dict:
    """Featurising the three splits with a cold and a warm cache (medians), and the share of
    the reviews' tokens that have a GloVe vector."""
    seconds = {"cold": [], "warm": []}
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="hw3-bench-cache-") as cache:
            for kind in ("cold", "warm"):
                start = time.perf_counter()
                features.make_datasets(splits, embeddings, cache)
                seconds[kind].append(time.perf_counter() - start)
    tokens = [token for split in splits for text in split["text"] for token in mlp.tokenize(text)]
    return {"reviews": sum(len(split["text"]) for split in splits),
            "cold_s": statistics.median(seconds["cold"]),
            "warm_s": statistics.median(seconds["warm"]), "tokens": len(tokens),
            "vocabulary_coverage": sum(token in embeddings for token in tokens) / len(tokens)}


def size_flags(sizes: dict[str, int]) -> list[str]:
    """main.py's flags for these split sizes."""
    return [text for split, size in sizes.items() for text in (f"--{split}-size", str(size))]


def train_project(sizes: dict[str, int], epochs: int | None,
                  cache: str) -> tuple[list[dict], dict]:
    """`python main.py structures --workers 1 --seeds 1`, every run in one process: each
    structure's seconds (of training, as its results.json records them), best dev accuracy and
    settings, its epochs among them (main.py's own unless given); and the command's own
    measurements (run_main's)."""
    flags = ["--epochs", str(epochs)] if epochs else []
    run = run_main(["structures", "--workers", "1", "--seeds", "1", *size_flags(sizes), *flags],
                   cache)
    sweep = run.pop("sweeps")["structures"]
    return [{"name": result.config.name, "hidden_dims": list(result.config.hidden_dims),
             "lr": result.config.lr, "batch_size": result.config.batch_size,
             "epochs": sweep.epochs, "seconds": result.runs[0].seconds,
             "best_dev_acc": result.runs[0].best_dev_acc} for result in sweep.configs], run


def train_straightforward(datasets: list, hidden_dims: list[int], lr: float, batch_size: int,
                          epochs: int) -> dict:
    """The same structure the textbook way: DataLoaders that fetch and stack single examples,
    plain Adam, evaluation in batches of the same size."""
    torch.manual_seed(mlp.SEED)
    dev_set, train_set, _ = datasets
    model = mlp.SentimentClassifier(dev_set.tensors[0].shape[1], 2, hidden_dims, "Sigmoid")
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    start = time.perf_counter()
    _, _, _, dev_accs = mlp.train(model, optimizer,
                                  DataLoader(train_set, batch_size, shuffle=True),
                                  DataLoader(dev_set, batch_size), epochs, progress=False)
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
    """Gradients of a Sigmoid MLP's mean cross-entropy, weights then biases, worked out by hand:
    the kernels autograd runs for SentimentClassifier, without its bookkeeping."""
    *layer_inputs, logits = _sigmoid_mlp_forward(weights, biases, inputs)
    # d(mean cross-entropy)/d(logits) = (softmax - one-hot) / batch
    grad = torch.softmax(logits, dim=1).sub_(F.one_hot(labels, logits.shape[1])).div_(len(labels))
    weight_grads, bias_grads = [], []
    for layer in reversed(range(len(weights))):
        weight_grads.insert(0, grad.t().mm(layer_inputs[layer]))
        bias_grads.insert(0, grad.sum(dim=0))
        if layer > 0:  # sigmoid'(z) = s (1 - s), from the layer's output s
            grad = torch.ops.aten.sigmoid_backward(grad.mm(weights[layer]), layer_inputs[layer])
    return weight_grads + bias_grads


def train_kernels_only(datasets: list, hidden_dims: list[int], lr: float, batch_size: int,
                       epochs: int) -> dict:
    """A floor for the same arithmetic: the kernels called directly (the backward pass by hand,
    Adam's fused update), no nn.Module, autograd or per-step metrics. The same initial weights
    and batches (the project's DataLoaders) as the project's run, which has the same seed."""
    torch.manual_seed(mlp.SEED)
    dev_set, train_set, _ = datasets
    model = mlp.SentimentClassifier(dev_set.tensors[0].shape[1], 2, hidden_dims, "Sigmoid")
    weights = [linear.weight.detach() for linear in model.linears]
    biases = [linear.bias.detach() for linear in model.linears]
    params = weights + biases
    exp_avgs, exp_avg_sqs = ([torch.zeros_like(param) for param in params] for _ in range(2))
    steps = [torch.zeros(()) for _ in params]
    train_loader = mlp.create_dataloader(train_set, batch_size)
    dev_loader = mlp.create_dataloader(dev_set, batch_size, shuffle=False)
    best_dev_acc, start = 0.0, time.perf_counter()
    with torch.no_grad():
        for _ in range(epochs):
            for inputs, labels in train_loader:
                grads = sigmoid_mlp_gradients(weights, biases, inputs, labels)
                adam(params, grads, exp_avgs, exp_avg_sqs, [], steps, fused=True, amsgrad=False,
                     beta1=0.9, beta2=0.999, lr=lr, weight_decay=0.0, eps=1e-8, maximize=False)
            correct = sum(mlp.accuracy(_sigmoid_mlp_forward(weights, biases, inputs)[-1],
                                       labels).sum().item() for inputs, labels in dev_loader)
            best_dev_acc = max(best_dev_acc, correct / len(dev_set))
    return {"seconds": time.perf_counter() - start, "best_dev_acc": best_dev_acc}


def bench_training(splits: tuple[dict, ...], embeddings, sizes: dict[str, int],
                   epochs: int | None,
                   repeats: int) -> tuple[dict, dict]:
    """Each structure through the project, the straightforward way and the floor: medians of
    repeats runs, the three taken in turn so that the machine's drift hits them alike; and
    the first project run's own measurements (run_main's)."""
    runs: dict[str, dict[str, list]] = {}
    with tempfile.TemporaryDirectory(prefix="hw3-bench-cache-") as cache:  # shared with main.py
        featurised = features.make_datasets(splits, embeddings, cache)
        commands = [_train_in_turn(runs, [featurised.dev, featurised.train, featurised.test],
                                   sizes, epochs, cache) for _ in range(repeats)]
    return {name: {path: {"seconds": statistics.median(run["seconds"] for run in path_runs),
                          "best_dev_acc": path_runs[0]["best_dev_acc"],
                          "epochs": path_runs[0].get("epochs"), "runs": path_runs}
                   for path, path_runs in row.items()} for name, row in runs.items()}, commands[0]


def _train_in_turn(runs: dict, datasets: list, sizes: dict[str, int], epochs: int | None,
                   cache: str) -> dict:
    """One repeat: each structure through the project, then the other two ways, into runs;
    the project command's measurements."""
    results, command = train_project(sizes, epochs, cache)
    for result in results:
        row = runs.setdefault(result["name"], {"project": [], "straightforward": [],
                                               "kernels_only": []})
        row["project"].append({key: result[key] for key in ("seconds", "best_dev_acc", "epochs")})
        for path, train in (("straightforward", train_straightforward),
                            ("kernels_only", train_kernels_only)):
            row[path].append(train(datasets, result["hidden_dims"], result["lr"],
                                   result["batch_size"], result["epochs"]))
    return command


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


def timed(command: list[str], cwd: Path = HERE) -> dict:
    """Run a command (which finds this project's modules from any folder): its wall time, and
    the peak memory of it with its child processes."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, cwd=cwd,
                               env={**os.environ, "PYTHONPATH": str(HERE)})
    peak_tree = 0
    while process.poll() is None:
        peak_tree = max(peak_tree, _tree_rss_bytes(process.pid))
        time.sleep(0.2)
    if process.returncode:
        raise subprocess.CalledProcessError(process.returncode, command)
    return {"seconds": time.perf_counter() - start, "peak_rss_all_processes_gib": peak_tree / 2**30}


def run_main(args: list[str], cache: str | None = None) -> dict:
    """`python main.py ARGS` in a subprocess (its own plots folder; cache: its feature cache,
    None: a new, cold one): wall time, peak memory of the main process and of it with its
    workers, and the sweeps its results.json recorded."""
    with tempfile.TemporaryDirectory(prefix="hw3-bench-") as scratch:
        run = timed([sys.executable, "main.py", *args, "--plots-dir", f"{scratch}/plots",
                     "--cache-dir", cache or f"{scratch}/cache"])
        recorded = load_sweeps(Path(scratch) / "plots")
    # ru_maxrss of waited-for children, in KiB on Linux: the largest single process.
    peak_process = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    return {"command": " ".join(["python", "main.py", *args]), **run,
            "cache": "warm" if cache else "cold", "peak_rss_gib": peak_process / 2**30,
            "sweeps": recorded}


# ----------------------------------------------------------------------------------------------
# The homework's sweeps against a straightforward completion of the skeleton


def completion_main(sizes: dict[str, int]) -> None:
    """In this process: the straightforward completion's three sweeps, one seed, on the
    homework's splits of these sizes and GloVe as gensim KeyedVectors (its plots and model
    files go to the current folder)."""
    import gensim

    from workshop.grading import launcher

    launcher.offline_libraries()  # its nltk.download('punkt'), with no network
    splits = mlp.load_data_mlp(**{f"{split}_size": size for split, size in sizes.items()})
    glove = load_embeddings()
    vectors = gensim.models.KeyedVectors(glove.vector_size)
    vectors.add_vectors(glove.index_to_key, glove.vectors)
    sys.path.insert(0, str(COMPLETION))
    for name in ("mlp", "main"):  # the completion's own modules, not this project's
        sys.modules.pop(name, None)
    completion = __import__("main")
    for explore in ("explore_mlp_structures", "explore_mlp_activations",
                    "explore_mlp_learning_rates"):
        getattr(completion, explore)(*splits, vectors)


def completion_seconds(sizes: dict[str, int]) -> float:
    """One run of the straightforward completion's three sweeps, one seed, in a scratch folder."""
    with tempfile.TemporaryDirectory(prefix="hw3-bench-completion-") as scratch:
        return timed([sys.executable, "-m", "workshop.bench", "--completion",
                      *size_flags(sizes)], cwd=Path(scratch))["seconds"]


# The speed targets (issue 41): each command's time against the completion's one seed.
# A target below 1: the command may take up to 1 / target times as long.
TARGETS = {"homework_cold": ("`python main.py homework --seeds 1`, cold cache", 8.0),
           "homework_warm": ("`python main.py homework --seeds 1`, warm cache", 8.0),
           "main": ("`python main.py` (all of hw3.md, three seeds), warm cache", 1 / 1.8)}


def bench_speed(sizes: dict[str, int], repeats: int, cache: str, full: bool) -> dict:
    """The straightforward completion's one seed of the three sweeps, then `python main.py
    homework --seeds 1` with a cold cache and with the warm one given, then (full) `python
    main.py`: taken in turn repeats times. Each command's seconds, every run and the median,
    and the last `python main.py`'s memory."""
    runs: dict[str, list[float]] = {"completion": [], "homework_cold": [], "homework_warm": [],
                                    "main": []}
    homework = ["homework", "--seeds", "1", *size_flags(sizes)]
    memory = None
    for _ in range(repeats):
        runs["completion"].append(completion_seconds(sizes))
        runs["homework_cold"].append(run_main(homework)["seconds"])
        runs["homework_warm"].append(run_main(homework, cache)["seconds"])
        if full:
            memory = {key: value for key, value in run_main([], cache).items() if key != "sweeps"}
            runs["main"].append(memory["seconds"])
    return {"runs": {name: {"seconds": statistics.median(seconds), "runs": seconds}
                     for name, seconds in runs.items() if seconds}, "main": memory}


# ----------------------------------------------------------------------------------------------
# Grading


def bench_grading(class_size: int) -> dict:
    """`python main.py grade` of one submission (the completion), and of a folder of
    class_size copies of it, each command's seconds (its start-up included)."""
    with tempfile.TemporaryDirectory(prefix="hw3-bench-grade-") as scratch:
        folder = Path(scratch) / "class"
        for index in range(class_size):
            shutil.copytree(COMPLETION, folder / f"student-{index:02d}")
        one = timed([sys.executable, "main.py", "grade", str(folder / "student-00"), "--out",
                     f"{scratch}/one"])
        every = timed([sys.executable, "main.py", "grade", str(folder), "--out",
                       f"{scratch}/class"])
    return {"one": one["seconds"], "class": every["seconds"], "class_size": class_size}


# ----------------------------------------------------------------------------------------------
# The report


def print_table(report: dict) -> None:
    """The report as Markdown tables: the speed targets, then (unless --speed) the rest."""
    print(f"\n{report['machine']}\n")
    print_speed(report["speed"])
    if "features" in report:
        print_details(report)


def print_speed(speed: dict) -> None:
    """Each command against the completion's one seed, with its target."""
    runs = speed["runs"]
    completion = runs["completion"]["seconds"]
    print("| command | seconds (each run) | the completion's one seed | ratio | target |")
    print("| --- | --- | --- | --- | --- |")
    def timing(name: str) -> str:  # the median, then each run's seconds
        each = " / ".join(f"{run:.1f}" for run in runs[name]["runs"])
        return f"{runs[name]['seconds']:.1f} ({each})"

    for name, (what, target) in TARGETS.items():
        if name not in runs:
            continue
        ratio = completion / runs[name]["seconds"]
        goal = f"≥ {target:.0f}x" if target >= 1 else f"≤ {1 / target:.1f}x as long"
        shown = f"{ratio:.1f}x" if target >= 1 else f"{1 / ratio:.2f}x as long"
        print(f"| {what} | {timing(name)} | {timing('completion')} | {shown} "
              f"| {goal}: {'met' if ratio >= target else 'not met'} |")
    if speed.get("main"):
        main = speed["main"]
        print(f"\n`python main.py`: peak memory {main['peak_rss_all_processes_gib']:.2f} GiB "
              f"with its workers")


def print_details(report: dict) -> None:
    """Featurising, each structure three ways, and grading."""
    features = report["features"]
    print("\n| what | this project | straightforward | ratio | kernels only (floor) |")
    print("| --- | --- | --- | --- | --- |")
    print(f"| featurise all {features['reviews']} reviews, cold cache "
          f"| {features['cold_s']:.2f} s | | | |")
    print(f"| the same, warm cache | {features['warm_s']:.3f} s | | | |")
    for name, row in report["training"].items():
        accs = "/".join(f"{row[path]['best_dev_acc']:.4f}" for path in row)
        project, plain, floor = (row[path]["seconds"] for path in row)
        print(f"| {row['project']['epochs']} epochs of {name} (best dev acc {accs}) "
              f"| {project:.1f} s | {plain:.1f} s | {plain / project:.1f}x | {floor:.1f} s |")
    grading = report["grading"]
    print(f"| `python main.py grade`: one submission / a class of {grading['class_size']} "
          f"| {grading['one']:.1f} / {grading['class']:.1f} s | | | |")
    print(f"\nvocabulary coverage: {features['vocabulary_coverage']:.2%} of "
          f"{features['tokens']} IMDB tokens are GloVe words")


def parse_args() -> argparse.Namespace:
    """`python -m workshop.bench`'s command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3,
                        help="runs of each timing compared; the median is reported")
    parser.add_argument("--speed", action="store_true",
                        help="only the speed targets: the commands against the completion")
    parser.add_argument("--quick", action="store_true",
                        help=f"{'/'.join(map(str, QUICK_SIZES.values()))} reviews, 2 epochs of "
                             f"each structure, 1 repeat, a class of 2, no `python main.py`")
    parser.add_argument("--json", type=Path, default=Path("bench.json"), help="output file")
    parser.add_argument("--completion", action="store_true", help=argparse.SUPPRESS)
    for split, size in mlp.SPLIT_SIZES.items():  # --completion's splits
        parser.add_argument(f"--{split}-size", type=int, default=size, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    return args


def main_cli() -> None:
    """Run the measurements, print the tables and write the JSON."""
    args = parse_args()
    if args.completion:  # one run of the straightforward completion, timed by its caller
        completion_main({split: getattr(args, f"{split}_size") for split in mlp.SPLIT_SIZES})
        return
    sizes = QUICK_SIZES if args.quick else mlp.SPLIT_SIZES
    splits = mlp.load_data_mlp(**{f"{split}_size": size for split, size in sizes.items()})
    embeddings = load_embeddings()
    repeats, epochs = (1, 2) if args.quick else (args.repeats, None)  # None: main.py's own
    report = {"machine": f"{platform.machine()}, {sweeps.cpu_name()}, {os.cpu_count()} CPUs, "
                         f"torch {torch.__version__}, Python {platform.python_version()}"}
    with tempfile.TemporaryDirectory(prefix="hw3-bench-cache-") as cache:  # the warm one
        features.make_datasets(splits, embeddings, cache)
        report["speed"] = bench_speed(sizes, repeats, cache, full=not args.quick)
    if not args.speed:
        report["features"] = bench_features(splits, embeddings, repeats)
        report["training"], _ = bench_training(splits, embeddings, sizes, epochs, repeats)
        report["grading"] = bench_grading(2 if args.quick else CLASS)
    args.json.write_text(json.dumps(report, indent=1) + "\n")
    print_table(report)
    print(f"\nwritten {args.json}")


if __name__ == "__main__":
    main_cli()
