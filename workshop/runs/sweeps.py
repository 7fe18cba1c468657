"""How a sweep runs: every configuration trained with each of its seeds, the runs side by side in
worker processes (or read from the command's ledger, where another sweep trained them), each
configuration recorded in results.json as its last run finishes; then the sweep's best model
kept with what rebuilds it.

A sweep is a list of configurations (records.Config) and a runner: run(trial, data, on_epoch)
trains one configuration with one seed and returns a records.Outcome (run_homework wraps
mlp.run_mlp; beyond and diagnose have their own).
"""

from __future__ import annotations

import ctypes
import dataclasses
import itertools
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

import torch
from tqdm import tqdm

import mlp
from workshop.records import (
    Config,
    ConfigResult,
    KeptModel,
    Outcome,
    Recipe,
    Run,
    RunOptions,
    SweepResult,
    Trial,
)
from workshop.runs import results
from workshop.runs.batches import Batches
from workshop.runs.features import Featurised

PR_SET_PDEATHSIG = 1  # prctl's option (linux/prctl.h): a signal for when the parent ends
Runner = Callable[[Trial, object, Callable[[int], object]], Outcome]


def run_homework(trial: Trial, data: Featurised, on_epoch: Callable[[int], object]) -> Outcome:
    """The homework's runner: mlp.run_mlp on the featurised splits."""
    config = trial.config.run_config(trial.num_epochs, trial.seed, trial.save_path)
    result = mlp.run_mlp(config, data.embeddings, data.dev, data.train, data.test,
                        device=trial.device, progress=False, on_epoch=on_epoch,
                        make_batches=Batches)
    return Outcome(mlp.RunResult(*result))  # by name, whatever run_mlp it was (a 6-tuple)


# ----------------------------------------------------------------------------------------------
# One run


@dataclass(frozen=True)
class Job:
    """One run to make, and the runner that makes it: what a worker is sent."""

    run: Runner
    trial: Trial


def train_trial(job: Job, data: object, on_epoch: Callable[[int], object]) -> Run:
    """The record of job.run(trial, data, on_epoch), with its seconds."""
    start = time.perf_counter()
    outcome = job.run(job.trial, data, on_epoch)
    for epoch in range(len(outcome.result.dev_accs) + 1, job.trial.num_epochs + 1):
        on_epoch(epoch)  # a diverged run's untrained epochs count as done: the bar ends full
    return Run.of(job.trial, outcome, time.perf_counter() - start)


# ----------------------------------------------------------------------------------------------
# A sweep: every run side by side, each configuration recorded as its last run finishes


def train_sweep(sweep: str, configs: list[Config], run: Runner, data: object,
                options: RunOptions, num_epochs: int, sizes: list[int],
                keep_weights: bool = False, reads_ledger: bool = True) -> list[ConfigResult]:
    """Each configuration with its runs of run(trial, data), trained side by side and put into
    results.json as its last run finishes, under a progress bar of the epochs done (in a
    terminal). keep_weights: each configuration's first run keeps its best weights, at
    weights_path(options.plots_dir, sweep, index of the configuration), for keep_best.
    reads_ledger: a run that options.ledger holds is read, not trained again (a runner that
    watches more than run_mlp gives passes False); every run trained goes into it."""
    trials = [[Trial(config, seed, num_epochs, options.device,
                     weights_path(options.plots_dir, sweep, index)
                     if keep_weights and seed == options.seeds[0] else None)
               for seed in options.seeds] for index, config in enumerate(configs)]
    recorded = SweepResult(num_epochs, list(options.seeds), sizes, options.command,
                           f"{platform.machine()}, {cpu_name()}, {os.cpu_count()} CPUs, "
                           f"torch {torch.__version__}")
    runs: list[list[Run | None]] = [[None] * len(options.seeds) for _ in configs]
    done: list[ConfigResult | None] = [None] * len(configs)

    def finish(at: tuple[int, int], run_record: Run) -> None:
        runs[at[0]][at[1]] = run_record
        if all(seed_run is not None for seed_run in runs[at[0]]):
            done[at[0]] = ConfigResult(configs[at[0]], runs[at[0]])
            finished = [result for result in done if result is not None]
            results.record(options.plots_dir, sweep, dataclasses.replace(
                recorded, configs=finished, complete=len(finished) == len(configs)))
            tqdm.write(results.summary_line(sweep, done[at[0]]))

    try:
        _train_all(sweep, trials, run, data, options, reads_ledger, finish)
    except BaseException:  # stopped or failed: the weights kept so far are no use to anyone
        remove_weights(options.plots_dir, sweep, len(configs))
        raise
    return done


def _train_all(sweep: str, trials: list[list[Trial]], run: Runner, data: object,
               options: RunOptions, reads_ledger: bool,
               finish: Callable[[tuple[int, int], Run], None]) -> None:
    """finish((configuration, seed index), run) for every trial: read from the ledger, or
    trained side by side (longest first) and added to it."""
    ledger = options.ledger
    places = [(i, j) for i, row in enumerate(trials) for j in range(len(row))]
    found = {at: ledger.find(trials[at[0]][at[1]]) for at in places
             if ledger is not None and reads_ledger}
    to_train = sorted((at for at in places if found.get(at) is None),
                      key=lambda at: expected_cost(trials[at[0]][at[1]].config), reverse=True)
    workers = min(options.workers or (os.cpu_count() if options.device == "cpu" else 1),
                  max(len(to_train), 1))
    print(f"{sweep}: {len(trials)} configurations, {len(places)} runs, {len(to_train)} to train, "
          f"{workers} at a time", flush=True)
    with tqdm(total=len(places) * trials[0][0].num_epochs, desc=sweep, unit="epoch",
              disable=None, dynamic_ncols=True) as bar:
        for at in places:
            if found.get(at) is not None:
                bar.update(trials[at[0]][at[1]].num_epochs)
                finish(at, found[at])
        jobs = [Job(run, trials[i][j]) for i, j in to_train]
        for index, run_record in side_by_side(jobs, data, workers, bar):
            if ledger is not None:
                ledger.add(jobs[index].trial, run_record)
            finish(to_train[index], run_record)


def expected_cost(config: Config) -> tuple[int, int]:
    """How long a run of the configuration takes, roughly, to train the longest first (so that
    no worker is left alone with one at the end): the weights its examples pass through (a
    table of word vectors that learns, beyond's, the most of all), then its steps per epoch."""
    widths = [50, *config.hidden_dims, 2]
    weights = sum(a * b for a, b in itertools.pairwise(widths))
    learned = 0 if config.learned is None else 10**7 * (1 + config.learned.bigrams)
    return weights + learned, -config.batch_size


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


def models_dir(plots_dir: str | os.PathLike) -> Path:
    """The folder where each sweep keeps its best model, <sweep>.pt (git-ignored)."""
    return Path(plots_dir) / "models"


def weights_path(plots_dir: str | os.PathLike, sweep: str, index: int) -> Path:
    """Where the first run of a sweep's configuration (by its index) keeps its best weights
    until keep_best keeps the best configuration's (hidden: the sweep removes them)."""
    return models_dir(plots_dir) / f".{sweep}-{index}.weights.pt"


# ----------------------------------------------------------------------------------------------
# The sweep's best model, kept


def keep_best(sweep: str, trained: list[ConfigResult], options: RunOptions,
              recipe: Callable[[Config], Recipe]) -> Path | None:
    """Save the model of the sweep's best configuration (highest mean best dev accuracy; its
    first seed's best epoch) as models/<sweep>.pt, with recipe(configuration): what rebuilds
    it. The weights the other configurations kept are removed. None if no first run finished."""
    weights = [weights_path(options.plots_dir, sweep, index) for index in range(len(trained))]
    try:
        finished = [index for index, result in enumerate(trained)
                    if result.runs[0].best_dev_acc is not None and weights[index].exists()]
        if not finished:
            return None
        best = max(finished, key=lambda index: statistics.fmean(
            run.best_dev_acc for run in trained[index].runs if run.best_dev_acc))
        config, run = trained[best].config, trained[best].runs[0]
        path = models_dir(options.plots_dir) / f"{sweep}.pt"
        KeptModel(recipe(config), torch.load(weights[best], weights_only=True), sweep,
                  config.name, run.seed, run.best_epoch, run.best_dev_acc, run.test_acc,
                  options.command).save(path)
        return path
    finally:
        remove_weights(options.plots_dir, sweep, len(trained))


def remove_weights(plots_dir: str | os.PathLike, sweep: str, count: int) -> None:
    """Remove the hidden weights that the sweep's count configurations kept."""
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
    # Saturated Sigmoid layers make subnormal numbers (below 1.2e-38), on which an Intel CPU
    # spends up to four times as long (a three-layer run at lr 0.02: 78 s instead of 22 s).
    # Flushed to zero they change nothing a run gives: an Adam update made of them is some
    # 1e-15 of a weight, below float32's resolution (that run's numbers are the same, bit for bit).
    torch.set_flush_denormal(True)
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


def _train_in_worker(numbered_job: tuple[int, Job]) -> tuple[int, Run]:
    """train_trial in a worker: (the job's index, its run)."""
    index, job = numbered_job
    return index, train_trial(job, _in_worker["data"], _count_epoch)


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


def map_in_workers(function: Callable, items: Sequence, workers: int | None = None) -> list:
    """[function(item) for item in items], side by side in worker processes (one per CPU core
    unless workers says), in the items' order; function and items must pickle."""
    workers = min(workers or os.cpu_count() or 1, len(items))
    if workers <= 1:
        return [function(item) for item in items]
    context = multiprocessing.get_context("fork" if sys.platform == "linux" else None)
    with _pool(context, workers, (None, context.Value("q", 0), os.getpid())) as pool:
        return pool.map(function, items)


def side_by_side(jobs: Sequence[Job], data: object, workers: int,
                 bar: tqdm) -> Iterator[tuple[int, Run]]:
    """(index, train_trial(jobs[index], data)) for every job as it finishes, with bar
    following the epochs. With workers > 1 they run that many at a time in worker processes,
    which get data once, when they start: one run at batch 64 cannot keep two cores busy."""
    if workers == 1 or not jobs:
        for index, job in enumerate(jobs):
            yield index, train_trial(job, data, lambda epoch: bar.update())
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
