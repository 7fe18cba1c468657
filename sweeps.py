"""How a sweep runs: its splits featurised once (and cached), every configuration trained with
each of its seeds, side by side in worker processes, and each recorded in results.json and
results.md as soon as it finishes.

A sweep is a list of configurations (plain dicts, as main.py writes them) and a runner: a
function run(config, data) that trains one configuration with one seed and returns its results
by name, at least RESULTS (run_homework wraps mlp.run_mlp). What a runner adds under other
names (beyond.py's nearest neighbours) is kept in the run's record.
"""

from __future__ import annotations

import ctypes
import hashlib
import inspect
import json
import multiprocessing
import multiprocessing.pool
import os
import platform
import signal
import statistics
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import TensorDataset
from tqdm import tqdm

import mlp

PLOTS_DIR = Path("plots")  # relative, as in the course skeleton: ./plots of where it is run
CACHE_DIR = Path(__file__).resolve().parent / "data" / "cache"  # featurised splits, git-ignored
# What mlp.train returns, then mlp.run_mlp (the handout's order): these names, everywhere else.
CURVES = ("train_losses", "train_accs", "dev_losses", "dev_accs")
RESULTS = (*CURVES, "test_loss", "test_acc")
PR_SET_PDEATHSIG = 1  # prctl's option (linux/prctl.h): a signal for when the parent ends


@dataclass(frozen=True)
class Options:
    """How a sweep is run. epochs, seeds and device are defaults under each configuration: one
    that sets num_epochs, seeds (or seed) or device itself keeps its own."""

    epochs: int = mlp.EPOCHS
    seeds: Sequence[int] = (mlp.SEED,)
    device: str = mlp.DEVICE
    workers: int | None = None  # runs at a time; None: one per CPU core on the CPU, else 1
    plots_dir: str | os.PathLike = PLOTS_DIR  # plots, results.json and results.md
    cache_dir: str | os.PathLike | None = CACHE_DIR  # None: featurise without a cache
    command: str | None = None  # the command line that asked for the sweep, for results.json


# ----------------------------------------------------------------------------------------------
# Features, featurised once


@dataclass(frozen=True)
class Featurised:
    """The homework's three splits as features, with the word vectors that made them."""

    embeddings: mlp.WordVectors
    dev: TensorDataset
    train: TensorDataset
    test: TensorDataset

    @property
    def sizes(self) -> list[int]:
        """Reviews in dev, train and test (those with a known word)."""
        return [len(self.dev), len(self.train), len(self.test)]


def featurise(splits: Sequence[dict], embeddings: mlp.WordVectors,
              cache_dir: str | os.PathLike | None,
              make: Callable[[dict, object], TensorDataset] = mlp.create_tensor_dataset,
              ) -> Featurised:
    """make(split, embeddings) for the (dev, train, test) splits, kept in cache_dir and loaded
    from there when the same code has already featurised the same reviews with the same vectors."""
    if cache_dir is None:
        return Featurised(embeddings, *(make(split, embeddings) for split in splits))
    key = _cache_key(make, splits, embeddings)
    path = Path(cache_dir) / f"features-{key[:32]}.pt"
    tensors = _load_cached(path, key)
    if tensors is None:
        tensors = [list(make(split, embeddings).tensors) for split in splits]
        payload = {"key": key, "checksum": _checksum(tensors), "tensors": tensors}
        mlp.atomic_write(path, lambda tmp: torch.save(payload, tmp))
    return Featurised(embeddings, *(TensorDataset(*split_tensors) for split_tensors in tensors))


def _cache_key(make: Callable, splits: Sequence[dict], embeddings: mlp.WordVectors) -> str:
    """A hash of the file that defines make (so any change to it), the vectors and reviews."""
    digest = hashlib.sha256(Path(inspect.getsourcefile(make)).read_bytes())
    digest.update(np.ascontiguousarray(embeddings.vectors).tobytes())
    digest.update("\n".join(embeddings.index_to_key).encode())
    for split in splits:
        digest.update(np.asarray(split["label"], dtype=np.int64).tobytes())
        for text in split["text"]:
            digest.update(text.encode() + b"\0")
    return digest.hexdigest()


def _checksum(tensors: list[list[torch.Tensor]]) -> str:
    """A hash of the cached tensors' bytes: a flipped bit inside them is caught on loading."""
    digest = hashlib.sha256()
    for tensor in (tensor for split_tensors in tensors for tensor in split_tensors):
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()


def _load_cached(path: Path, key: str) -> list[list[torch.Tensor]] | None:
    """The tensors cached at path if they are intact and made for key, else None."""
    if not path.exists():
        return None
    try:
        cached = torch.load(path, weights_only=True)
        if cached["key"] == key and cached["checksum"] == _checksum(cached["tensors"]):
            return cached["tensors"]
    except Exception:  # a torn or foreign file is rebuilt, never trusted
        pass
    print(f"warning: the feature cache {path} is damaged; rebuilding it", file=sys.stderr)
    return None


# ----------------------------------------------------------------------------------------------
# One configuration, each of its seeds


def run_homework(config: dict, data: Featurised) -> dict:
    """mlp.run_mlp on the featurised splits: its six results (the handout's tuple) by name."""
    results = mlp.run_mlp(config, data.embeddings, data.dev, data.train, data.test)
    return dict(zip(RESULTS, results, strict=True))


@dataclass(frozen=True)
class Job:
    """One configuration to train with each of its seeds: what a worker is sent."""

    run: Callable[[dict, object], dict]  # the sweep's runner
    config: dict  # as the sweep wrote it: it wins over the defaults below
    defaults: dict  # num_epochs, device and progress, from the sweep's options
    sweep_seeds: Sequence[int]
    save_path: Path | None = None  # where the first seed's run keeps its best weights

    @property
    def seeds(self) -> list[int]:
        """The configuration's own seeds (or seed), else the sweep's."""
        if "seeds" in self.config:
            return list(self.config["seeds"])
        return [self.config["seed"]] if "seed" in self.config else list(self.sweep_seeds)

    @property
    def epochs(self) -> int:
        """Epochs per run."""
        return {**self.defaults, **self.config}["num_epochs"]


def train_config(job: Job, data: object, on_epoch: Callable[[int], object]) -> dict:
    """The configuration with its runs: one record per seed of job.run(config, data), with its
    best epoch, whether it diverged, and its seconds. on_epoch(epoch) follows every epoch."""
    runs = []
    for seed in job.seeds:
        start = time.perf_counter()
        keep = {"save_path": job.save_path} if job.save_path and seed == job.seeds[0] else {}
        found = job.run({**job.defaults, "on_epoch": on_epoch, **keep, **job.config,
                         "seed": seed}, data)
        finished = len(found["dev_accs"])  # fewer than epochs if the loss diverged
        for epoch in range(finished + 1, job.epochs + 1):
            on_epoch(epoch)  # a diverged run's untrained epochs count as done: the bar ends full
        runs.append(_run_record(seed, time.perf_counter() - start, found, job.epochs))
    return {**job.config, "runs": runs}


def _run_record(seed: int, seconds: float, found: dict, epochs: int) -> dict:
    """What results.json keeps of one run: its results by name, and what follows from them."""
    dev_accs = found["dev_accs"]
    best = dev_accs.index(max(dev_accs)) if dev_accs else None
    diverged = len(dev_accs) < epochs
    return {"seed": seed, "seconds": seconds, **{name: found[name] for name in CURVES},
            "best_epoch": None if best is None else best + 1,
            "best_dev_acc": None if best is None else dev_accs[best],
            "test_loss": None if best is None else found["test_loss"],
            "test_acc": None if best is None else found["test_acc"],
            "diverged": diverged, "diverged_epoch": len(dev_accs) + 1 if diverged else None,
            **{name: value for name, value in found.items() if name not in RESULTS}}


# ----------------------------------------------------------------------------------------------
# A sweep: every configuration side by side, each recorded as it finishes


def train_sweep(sweep: str, configs: list[dict], run: Callable[[dict, object], dict],
                data: object, options: Options, sizes: list[int],
                weights_dir: Path | None = None) -> list[dict]:
    """Each configuration with its runs of run(config, data), trained side by side and put into
    results.json as it finishes, under a progress bar of the epochs done (in a terminal).
    weights_dir: each configuration's first run keeps its best weights there, at
    weights_path(weights_dir, sweep, index of the configuration)."""
    defaults = {"num_epochs": options.epochs, "device": options.device,
                "progress": False}  # no bar per run: the sweep has one
    workers = options.workers or (os.cpu_count() if options.device == "cpu" else 1)
    # Largest models first, so that no worker is left alone with a big one at the end.
    order = sorted(range(len(configs)), key=lambda i: -sum(configs[i]["hidden_dims"]))
    jobs = [Job(run, configs[i], defaults, options.seeds,
                weights_dir and weights_path(weights_dir, sweep, i)) for i in order]
    settings = {"epochs": options.epochs, "seeds": list(options.seeds), "sizes": sizes,
                "command": options.command, "machine": f"{platform.machine()}, "
                f"{os.cpu_count()} CPUs, torch {torch.__version__}"}
    runs = sum(len(job.seeds) for job in jobs)
    print(f"{sweep}: {len(jobs)} configurations, {runs} runs, "
          f"{min(workers, len(jobs))} at a time", flush=True)
    results = [None] * len(jobs)
    total = sum(len(job.seeds) * job.epochs for job in jobs)
    with tqdm(total=total, desc=sweep, unit="epoch", disable=None, dynamic_ncols=True) as bar:
        for index, result in side_by_side(jobs, data, workers, bar):
            results[order[index]] = result
            done = [result for result in results if result is not None]
            record_results(options.plots_dir, sweep, settings, done, len(done) == len(jobs))
            bar.write(summary_line(sweep, result))
    return results


def weights_path(folder: str | os.PathLike, sweep: str, index: int) -> Path:
    """Where the first run of a sweep's configuration (by its index) keeps its best weights."""
    return Path(folder) / f".{sweep}-{index}.weights.pt"


def summary_line(sweep: str, result: dict) -> str:
    """The line printed as a configuration finishes: its best dev and test accuracy."""
    runs = result["runs"]
    return (f"{sweep:>14} | {result['name']:<18} "
            f"| best dev acc {mean_std([run['best_dev_acc'] for run in runs])} "
            f"| test acc {mean_std([run['test_acc'] for run in runs])}")


# ----------------------------------------------------------------------------------------------
# Worker processes

_in_worker: dict = {}  # in a worker process: the sweep's data and its count of epochs done


def _start_worker(data: object, epochs_done, parent: int) -> None:
    """Set up a worker: end with the parent, keep the sweep's data, leave Ctrl-C and SIGTERM to
    the parent, use one thread."""
    if sys.platform == "linux":
        # However the parent ends (kill -9, a harness's timeout, a closed terminal), the kernel
        # kills its workers: without this each would train on alone until its runs were done.
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it ended before that: nobody is left to take the results
        os._exit(1)
    _in_worker.update(data=data, epochs_done=epochs_done, parent=parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not main.py's handler: Pool.terminate uses it
    torch.set_num_threads(1)  # the workers are the parallelism: one core each
    # tqdm's lock, made by the parent before the fork, is shared with it: a worker terminated
    # while it held the lock (the pool is terminated when a run fails) would leave every later
    # progress bar of the parent waiting for it forever. Each worker takes a lock of its own.
    tqdm.set_lock(threading.RLock())


def _count_epoch(epoch: int) -> None:
    """on_epoch in a worker: one more epoch done, in the memory it shares with the parent."""
    if os.getppid() != _in_worker["parent"]:  # on systems without PR_SET_PDEATHSIG
        os._exit(1)
    epochs_done = _in_worker["epochs_done"]
    with epochs_done.get_lock():
        epochs_done.value += 1


def _train_in_worker(numbered_job: tuple[int, Job]) -> tuple[int, dict]:
    """train_config in a worker: (the job's index, its configuration with its runs)."""
    index, job = numbered_job
    return index, train_config(job, _in_worker["data"], _count_epoch)


def _pool(context: multiprocessing.context.BaseContext, workers: int,
          setup: tuple) -> multiprocessing.pool.Pool:
    """A pool of workers, each set up by _start_worker(*setup).

    On Linux they are forked: they start with this process's modules and data, copied rather
    than imported and pickled again. Forking a process with threads can deadlock a child that
    needs a lock some thread held; the threads here are torch's intra-op pool (the workers run
    on one thread and never use it) and tqdm's monitor (each worker takes a tqdm lock of its
    own). So fork is kept, as PyTorch's DataLoader keeps it on Linux, and Python 3.12's warning
    about it is silenced for this call alone. The thread-safe forkserver (Python 3.14's default)
    made `python main.py` take 38.1 s instead of 33.3 s (medians of three, taken in turn, on 2
    cores). Other systems start the workers afresh (spawn), which is safe there and slower.
    """
    # torch imports about a second's worth of modules when the first optimizer is made: made
    # here first, they are copied into every forked worker instead of imported again in each.
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", r".*use of fork\(\) may lead to deadlocks",
                                DeprecationWarning)
        return context.Pool(workers, _start_worker, setup)


def side_by_side(jobs: Sequence[Job], data: object, workers: int,
                 bar: tqdm) -> Iterator[tuple[int, dict]]:
    """(index, train_config(jobs[index], data)) for every job as it finishes, with bar
    following the epochs. With workers > 1 they run that many at a time in worker processes,
    which get data once, when they start: one run at batch 64 cannot keep two cores busy."""
    if workers == 1:
        for index, job in enumerate(jobs):
            yield index, train_config(job, data, lambda epoch: bar.update())
        return
    context = multiprocessing.get_context("fork" if sys.platform == "linux" else None)
    epochs_done = context.Value("q", 0)  # counted by the workers, shown by this process
    # Leaving the with-block (done, an error, Ctrl-C) terminates the workers at once.
    with _pool(context, min(workers, len(jobs)), (data, epochs_done, os.getpid())) as pool:
        finished = pool.imap_unordered(_train_in_worker, enumerate(jobs))
        for _ in jobs:
            while True:
                try:
                    result = finished.next(timeout=0.25)
                    break
                except multiprocessing.TimeoutError:  # meanwhile, the bar follows the epochs
                    bar.update(epochs_done.value - bar.n)
            bar.update(epochs_done.value - bar.n)
            yield result


# ----------------------------------------------------------------------------------------------
# Results files


def mean_std(values: Sequence[float | None]) -> str:
    """'0.7710 ± 0.0009' over the values that exist (one value: no ±; none: 'n/a')."""
    values = [value for value in values if value is not None]
    if len(values) < 2:
        return f"{values[0]:.4f}" if values else "n/a"
    return f"{statistics.fmean(values):.4f} ± {statistics.stdev(values):.4f}"


def recorded(folder: str | os.PathLike) -> dict:
    """The sweeps in folder/results.json, by name ({} if there is none or it is unreadable)."""
    try:
        return json.loads((Path(folder) / "results.json").read_text())["sweeps"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def record_results(folder: str | os.PathLike, sweep: str, settings: dict, results: list[dict],
                   complete: bool) -> None:
    """Store one sweep's results in folder/results.json and results.md; other sweeps' stay."""
    sweeps = recorded(folder)
    sweeps[sweep] = {"settings": settings, "complete": complete, "configs": results}
    text = json.dumps({"sweeps": sweeps}, indent=1, allow_nan=False) + "\n"
    mlp.atomic_write(Path(folder) / "results.json", lambda tmp: tmp.write_text(text))
    markdown = results_markdown(sweeps)
    mlp.atomic_write(Path(folder) / "results.md", lambda tmp: tmp.write_text(markdown))


def results_markdown(sweeps: dict) -> str:
    """One table per sweep: mean ± std over seeds of each configuration's headline numbers."""
    lines = ["# Results", ""]
    for sweep, entry in sweeps.items():
        settings = entry["settings"]
        command = f"`{settings['command']}`" if settings["command"] else "Run from Python"
        lines += [f"## {sweep}" + ("" if entry["complete"] else " (incomplete)"), "",
                  f"{command} on {settings['machine']}: {settings['epochs']} epochs, seeds "
                  f"{settings['seeds']} (unless a configuration sets its own), dev/train/test "
                  f"{settings['sizes']} reviews. Accuracies and losses: mean ± std over the "
                  f"seeds; best epochs: each seed's; seconds: all seeds' runs added up.", "",
                  "| config | best dev acc | best epoch, per seed | dev loss at the last "
                  "epoch | test acc | seconds, all seeds together |",
                  "| --- | --- | --- | --- | --- | --- |"]
        for config in entry["configs"]:
            runs = config["runs"]
            diverged = [run["diverged_epoch"] for run in runs if run["diverged"]]
            name = config["name"] + (f" (diverged in epoch {diverged})" if diverged else "")
            lines.append(
                f"| {name} | {mean_std([run['best_dev_acc'] for run in runs])} "
                f"| {'/'.join(str(run['best_epoch']) for run in runs)} "
                f"| {mean_std([run['dev_losses'][-1] for run in runs if run['dev_losses']])} "
                f"| {mean_std([run['test_acc'] for run in runs])} "
                f"| {sum(run['seconds'] for run in runs):.1f} |")
        lines.append("")
    return "\n".join(lines)
