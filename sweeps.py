"""How a sweep runs: every configuration trained with each of its seeds, side by side in worker
processes, each recorded in results.json as soon as it finishes; then the sweep's best model
kept with what rebuilds it.

A sweep is a list of configurations (dicts of the homework's settings, as main.py writes them)
and a runner: run(config, data, device=..., on_epoch=...) trains one configuration with one seed
and returns an Outcome (run_homework wraps mlp.run_mlp).
"""

from __future__ import annotations

import ctypes
import hashlib
import inspect
import math
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
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm import tqdm

import mlp
import results
from features import Featurised

LEARNED = 0.6  # a best dev accuracy above this: the run left chance (0.5) and learned
MODEL_FORMAT = "hw3-sentiment-model/2"  # what a model file of this project says it is
PR_SET_PDEATHSIG = 1  # prctl's option (linux/prctl.h): a signal for when the parent ends


@dataclass(frozen=True)
class Options:
    """How a sweep is run. num_epochs and seeds are defaults under each configuration: one that
    sets num_epochs, seeds (or seed) itself keeps its own."""

    num_epochs: int
    seeds: Sequence[int] = (mlp.SEED,)
    device: str = mlp.DEVICE
    workers: int | None = None  # runs at a time; None: one per CPU core on the CPU, else 1
    plots_dir: str | os.PathLike = results.PLOTS_DIR  # plots, results.json and results.md
    cache_dir: str | os.PathLike | None = None  # the feature cache (None: featurise anew)
    command: str | None = None  # the command line that asked for the sweep, for results.json


@dataclass(frozen=True)
class Outcome:
    """What a runner returns for one run: run_mlp's result, and what else it saw, by name (kept
    as it is in the run's record in results.json: beyond's "neighbours", diagnose's "inside")."""

    result: mlp.RunResult
    seen: dict = field(default_factory=dict)


def run_homework(config: dict, data: Featurised, *, device: str,
                 on_epoch: Callable[[int], object]) -> Outcome:
    """The homework's runner: mlp.run_mlp on the featurised splits."""
    found = mlp.run_mlp(config, data.embeddings, data.dev, data.train, data.test,
                        device=device, progress=False, on_epoch=on_epoch)
    return Outcome(mlp.RunResult(*found))


# ----------------------------------------------------------------------------------------------
# One configuration, each of its seeds


@dataclass(frozen=True)
class Job:
    """One configuration to train with each of its seeds: what a worker is sent."""

    run: Callable[..., Outcome]  # the sweep's runner
    config: dict  # as the sweep wrote it
    seeds: list[int]
    num_epochs: int
    device: str
    save_path: Path | None = None  # where the first seed's run keeps its best weights

    @classmethod
    def of(cls, run: Callable[..., Outcome], config: dict, options: Options,
           save_path: Path | None) -> Job:
        """The job of a configuration: its own seeds (or seed) and num_epochs, else the sweep's."""
        seeds = config.get("seeds", [config["seed"]] if "seed" in config else options.seeds)
        return cls(run, config, list(seeds), config.get("num_epochs", options.num_epochs),
                   options.device, save_path)


def train_config(job: Job, data: object, on_epoch: Callable[[int], object]) -> dict:
    """The configuration with its runs: one record per seed of job.run(config, data), with its
    best epoch, whether it diverged, and its seconds. on_epoch(epoch) follows every epoch."""
    runs = []
    settings = {key: value for key, value in job.config.items() if key not in ("seeds", "seed")}
    for seed in job.seeds:
        start = time.perf_counter()
        first = job.save_path and seed == job.seeds[0] and "save_path" not in job.config
        keep = {"save_path": job.save_path} if first else {}
        config = {**settings, "num_epochs": job.num_epochs, "seed": seed, **keep}
        found = job.run(config, data, device=job.device, on_epoch=on_epoch)
        finished = len(found.result.dev_accs)  # fewer than num_epochs if the loss diverged
        for epoch in range(finished + 1, job.num_epochs + 1):
            on_epoch(epoch)  # a diverged run's untrained epochs count as done: the bar ends full
        runs.append(_run_record(seed, time.perf_counter() - start, found, job.num_epochs))
    return {**job.config, "runs": runs}


def _run_record(seed: int, seconds: float, found: Outcome, num_epochs: int) -> dict:
    """What results.json keeps of one run: its results by name, and what follows from them."""
    result = found.result
    best = result.dev_accs.index(max(result.dev_accs)) if result.dev_accs else None
    diverged = len(result.dev_accs) < num_epochs
    return {"seed": seed, "seconds": seconds, "train_losses": result.train_losses,
            "train_accs": result.train_accs, "dev_losses": result.dev_losses,
            "dev_accs": result.dev_accs, "best_epoch": None if best is None else best + 1,
            "best_dev_acc": None if best is None else result.dev_accs[best],
            "test_loss": _finite(result.test_loss) if best is not None else None,
            "test_acc": _finite(result.test_acc) if best is not None else None,
            "diverged": diverged, "diverged_epoch": len(result.dev_accs) + 1 if diverged else None,
            **found.seen}


def _finite(value: float) -> float | None:
    """The value, or None where it is NaN or infinite (JSON holds neither)."""
    return value if math.isfinite(value) else None


# ----------------------------------------------------------------------------------------------
# A sweep: every configuration side by side, each recorded as it finishes


def train_sweep(sweep: str, configs: list[dict], run: Callable[..., Outcome], data: object,
                options: Options, sizes: list[int], keep_weights: bool = False) -> list[dict]:
    """Each configuration with its runs of run(config, data), trained side by side and put into
    results.json as it finishes, under a progress bar of the epochs done (in a terminal).
    keep_weights: each configuration's first run keeps its best weights, at
    weights_path(options.plots_dir, sweep, index of the configuration), for keep_best."""
    workers = options.workers or (os.cpu_count() if options.device == "cpu" else 1)
    # Largest models first, so that no worker is left alone with a big one at the end.
    order = sorted(range(len(configs)), key=lambda i: -sum(configs[i]["hidden_dims"]))
    jobs = [Job.of(run, configs[i], options,
                   weights_path(options.plots_dir, sweep, i) if keep_weights else None)
            for i in order]
    settings = {"epochs": options.num_epochs, "seeds": list(options.seeds), "sizes": sizes,
                "command": options.command, "machine": f"{platform.machine()}, {cpu_name()}, "
                f"{os.cpu_count()} CPUs, torch {torch.__version__}"}
    print(f"{sweep}: {len(jobs)} configurations, {sum(len(job.seeds) for job in jobs)} runs, "
          f"{min(workers, len(jobs))} at a time", flush=True)
    done = [None] * len(jobs)
    total = sum(len(job.seeds) * job.num_epochs for job in jobs)
    try:
        with tqdm(total=total, desc=sweep, unit="epoch", disable=None, dynamic_ncols=True) as bar:
            for index, result in side_by_side(jobs, data, workers, bar):
                done[order[index]] = result
                finished = [result for result in done if result is not None]
                results.record_results(options.plots_dir, sweep, settings, finished,
                                       len(finished) == len(jobs))
                bar.write(summary_line(sweep, result))
    except BaseException:  # stopped or failed: the weights kept so far are no use to anyone
        remove_weights(options.plots_dir, sweep, len(configs))
        raise
    return done


def cpu_name() -> str:
    """The processor's model name: another kind of CPU rounds differently, and its runs drift
    apart from the committed ones in the fourth decimal."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:  # not Linux
        pass
    return platform.processor() or "unknown CPU"


def weights_path(plots_dir: str | os.PathLike, sweep: str, index: int) -> Path:
    """Where the first run of a sweep's configuration (by its index) keeps its best weights
    until keep_best keeps the best configuration's (hidden: the sweep removes them)."""
    return results.models_dir(plots_dir) / f".{sweep}-{index}.weights.pt"


def summary_line(sweep: str, result: dict) -> str:
    """The line printed as a configuration finishes: its best dev and test accuracy."""
    runs = result["runs"]
    return (f"{sweep:>14} | {result['name']:<18} "
            f"| best dev acc {results.mean_std([run['best_dev_acc'] for run in runs])} "
            f"| test acc {results.mean_std([run['test_acc'] for run in runs])}")


# ----------------------------------------------------------------------------------------------
# The sweep's best model, kept


def tokenizer_version() -> str:
    """A hash of mlp's tokenizer, its code and patterns: a kept model records the one it used."""
    source = inspect.getsource(mlp.tokenize) + mlp.MARKUP.pattern + mlp.TOKEN.pattern
    return hashlib.sha256(source.encode()).hexdigest()[:12]


def keep_best(sweep: str, configs: list[dict], plots_dir: str | os.PathLike,
              recipe: Callable[[dict], dict], command: str | None) -> Path | None:
    """Save the model of the sweep's best configuration (highest mean best dev accuracy; its
    first seed's best epoch) as models/<sweep>.pt, with recipe(configuration): what rebuilds
    it. The weights the other configurations kept are removed. None if no first run finished."""
    kept = [Path(config.get("save_path") or weights_path(plots_dir, sweep, index))
            for index, config in enumerate(configs)]
    try:
        finished = [index for index, config in enumerate(configs)
                    if config["runs"][0]["best_dev_acc"] is not None and kept[index].exists()]
        if not finished:
            return None
        best = max(finished, key=lambda index: statistics.fmean(
            run["best_dev_acc"] for run in configs[index]["runs"] if run["best_dev_acc"]))
        config, run = configs[best], configs[best]["runs"][0]
        checkpoint = {
            "format": MODEL_FORMAT, "state_dict": torch.load(kept[best], weights_only=True),
            "recipe": recipe(config), "sweep": sweep, "name": config["name"],
            "tokenizer": tokenizer_version(), "seed": run["seed"],
            "best_epoch": run["best_epoch"], "dev_acc": run["best_dev_acc"],
            "test_acc": run["test_acc"], "command": command}
        path = results.models_dir(plots_dir) / f"{sweep}.pt"
        results.atomic_write(path, lambda tmp: torch.save(checkpoint, tmp))
        return path
    finally:
        remove_weights(plots_dir, sweep, len(configs))


def remove_weights(plots_dir: str | os.PathLike, sweep: str, count: int) -> None:
    """Remove the hidden weights that the sweep's count configurations kept (not a save_path
    that a configuration set itself)."""
    for index in range(count):
        weights_path(plots_dir, sweep, index).unlink(missing_ok=True)


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
