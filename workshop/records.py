"""The records that cross the project's seams, each defined once, and the files they are kept in.

- Config, Learned: one configuration of a sweep (the homework's settings, a name, beyond's
  switches); Sweep: a sweep's configurations and what its plots say they are of
- RunOptions: how a sweep is run (epochs, seeds, device, workers, folders), defaults here
- Trial, Outcome, Run, ConfigResult, SweepResult: one run to make, what it gave, its record,
  a configuration's runs, a sweep's; results.json is their JSON (load_sweeps, save_sweep);
  Ledger: the runs one command has trained, for its sweeps to share
- Recipe, KeptModel: a kept model, what rebuilds it, and its file (save, load, format version)
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch

import mlp
from workshop.data import DataError
from workshop.files import atomic_write

PLOTS_DIR = Path("plots")  # relative, as in the course skeleton: ./plots of where it is run
CACHE_DIR = Path(__file__).resolve().parents[1] / "data" / "cache"  # the features (git-ignored)
RESULTS_FILE = "results.json"  # in the plots folder, beside its tables in results.md
MODEL_FORMAT = "hw3-sentiment-model/3"  # what a model file of this project says it is
LEARNED = 0.6  # a best dev accuracy above this: the run left chance (0.5) and learned


# ----------------------------------------------------------------------------------------------
# Configurations and how they are run


@dataclass(frozen=True)
class Learned:
    """beyond's switches: word vectors in a table that learns, instead of the frozen mean."""

    init: str  # where the words' rows start: "glove" (random where GloVe lacks one), "random"
    bigrams: bool  # a hashed row for each pair of adjacent words too
    embedding_lr: float  # SparseAdam's learning rate for the table
    neighbours: bool = False  # list some words' nearest neighbours before and after training


@dataclass(frozen=True)
class Config:
    """One configuration of a sweep: its name in plots and tables, and the homework's settings
    (with `learned`, beyond's table of word vectors under the same head)."""

    name: str
    hidden_dims: tuple[int, ...]
    activation: str
    lr: float
    batch_size: int
    learned: Learned | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden_dims", tuple(self.hidden_dims))

    def run_config(self, num_epochs: int, seed: int, save_path: Path | None = None) -> dict:
        """The configuration as mlp.run_mlp reads it (the skeleton's config)."""
        return {"hidden_dims": list(self.hidden_dims), "activation": self.activation,
                "lr": self.lr, "batch_size": self.batch_size, "num_epochs": num_epochs,
                "seed": seed, "save_path": save_path}

    def to_json(self) -> dict:
        """The configuration in results.json."""
        return {**dataclasses.asdict(self), "hidden_dims": list(self.hidden_dims)}

    @classmethod
    def from_json(cls, entry: dict) -> Config:
        """A configuration as results.json holds it."""
        learned = entry.get("learned")
        return cls(entry["name"], entry["hidden_dims"], entry["activation"], entry["lr"],
                   entry["batch_size"], Learned(**learned) if learned else None)


@dataclass(frozen=True)
class Sweep:
    """A sweep: its name (plots/<name>_*.png, results.json's entry), its configurations, the
    epochs each run trains, and what its plots' titles say the configurations are of; with
    loss_plots, a train vs dev loss plot of each configuration too."""

    name: str
    configs: list[Config]
    num_epochs: int
    subject: str
    loss_plots: bool = False


@dataclass(frozen=True)
class RunOptions:
    """How a sweep is run; num_epochs None: the sweep's own."""

    num_epochs: int | None = None
    seeds: tuple[int, ...] = tuple(range(mlp.SEED, mlp.SEED + 3))  # hw3.md's mean ± std
    device: str = mlp.DEVICE
    workers: int | None = None  # runs at a time; None: one per CPU core on the CPU, else 1
    plots_dir: Path = PLOTS_DIR  # plots, results.json and results.md
    cache_dir: Path | None = CACHE_DIR  # the featurised splits (None: featurise anew)
    command: str | None = None  # the command line that asked for the sweep, for results.json
    ledger: Ledger | None = None  # the runs this command has trained, read instead of retraining

    def __post_init__(self) -> None:
        object.__setattr__(self, "seeds", tuple(self.seeds))
        object.__setattr__(self, "plots_dir", Path(self.plots_dir))


@dataclass(frozen=True)
class Trial:
    """One run to make: a configuration with one seed, for num_epochs, on a device; the first
    seed's run keeps its best weights at save_path."""

    config: Config
    seed: int
    num_epochs: int
    device: str
    save_path: Path | None = None


@dataclass(frozen=True)
class Outcome:
    """What a runner returns: run_mlp's result, and what else it watched."""

    result: mlp.RunResult
    neighbours: dict | None = None  # beyond: some words' nearest words, before and after
    inside: dict | None = None  # diagnose: what torch's hooks saw, step by step


# ----------------------------------------------------------------------------------------------
# What runs give


def _finite(value: float) -> float | None:
    """The value, or None where it is NaN or infinite (JSON holds neither)."""
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class Run:
    """One run's record: its per-epoch lists (shorter than num_epochs if the loss diverged),
    its test numbers with the best dev epoch's weights, its seconds, what else was watched."""

    seed: int
    num_epochs: int
    seconds: float
    train_losses: list[float]
    train_accs: list[float]
    dev_losses: list[float]
    dev_accs: list[float]
    test_loss: float | None
    test_acc: float | None
    neighbours: dict | None = None
    inside: dict | None = None

    @classmethod
    def of(cls, trial: Trial, outcome: Outcome, seconds: float) -> Run:
        """The record of a trial's outcome."""
        result, done = outcome.result, bool(outcome.result.dev_accs)
        return cls(trial.seed, trial.num_epochs, seconds, *result[:4],
                   _finite(result.test_loss) if done else None,
                   _finite(result.test_acc) if done else None,
                   outcome.neighbours, outcome.inside)

    @property
    def best_epoch(self) -> int | None:
        """The epoch whose weights mlp.train kept (mlp.best_epoch); None if none finished."""
        return mlp.best_epoch(self.dev_accs) if self.dev_accs else None

    @property
    def best_dev_acc(self) -> float | None:
        """The best dev accuracy of its epochs; None if none finished."""
        return max(self.dev_accs) if self.dev_accs else None

    @property
    def diverged_epoch(self) -> int | None:
        """The epoch whose loss became NaN or infinite; None if every epoch finished."""
        return len(self.dev_accs) + 1 if len(self.dev_accs) < self.num_epochs else None

    @property
    def learned(self) -> bool:
        """Whether the run left chance."""
        return (self.best_dev_acc or 0.0) > LEARNED

    def to_json(self) -> dict:
        """The run in results.json, with what follows from it for a reader."""
        fields = {key: value for key, value in dataclasses.asdict(self).items()
                  if value is not None or key not in ("neighbours", "inside")}
        return {**fields, "best_epoch": self.best_epoch, "best_dev_acc": self.best_dev_acc,
                "diverged_epoch": self.diverged_epoch}

    @classmethod
    def from_json(cls, entry: dict) -> Run:
        """A run as results.json holds it (a KeyError if it lacks one of its fields)."""
        return cls(**{item.name: entry[item.name] if item.default is dataclasses.MISSING
                      else entry.get(item.name) for item in dataclasses.fields(cls)})


class Ledger:
    """The runs one command has trained, by what decides their numbers (the configuration but
    its name, the seed, the epochs, the device): a sweep that needs a run already trained reads
    it here instead of training it again. A run is kept as run_mlp gives it, without what a
    runner watched beside it, and with its best weights where it kept them."""

    def __init__(self) -> None:
        self._runs: dict[tuple, tuple[Run, bytes | None]] = {}

    @staticmethod
    def _key(trial: Trial) -> tuple:
        return dataclasses.replace(trial.config, name=""), trial.seed, trial.num_epochs, \
            trial.device

    def add(self, trial: Trial, run: Run) -> None:
        """Keep a finished run (and its weights, if the trial kept them at its save_path)."""
        saved = trial.save_path is not None and Path(trial.save_path).exists()
        weights = Path(trial.save_path).read_bytes() if saved else None
        if self._runs.get(self._key(trial), (None, None))[1] is None:  # weights over none
            self._runs[self._key(trial)] = (
                dataclasses.replace(run, neighbours=None, inside=None), weights)

    def find(self, trial: Trial) -> Run | None:
        """The trial's run if this command has trained it (with weights, written to the trial's
        save_path, if it asks for them), else None."""
        run, weights = self._runs.get(self._key(trial), (None, None))
        if run is None or (trial.save_path is not None and weights is None):
            return None
        if trial.save_path is not None:
            atomic_write(trial.save_path, lambda tmp: tmp.write_bytes(weights))
        return run


@dataclass(frozen=True)
class ConfigResult:
    """A configuration with its runs, one per seed."""

    config: Config
    runs: list[Run]

    def to_json(self) -> dict:
        return {**self.config.to_json(), "runs": [run.to_json() for run in self.runs]}

    @classmethod
    def from_json(cls, entry: dict) -> ConfigResult:
        return cls(Config.from_json(entry), [Run.from_json(run) for run in entry["runs"]])


@dataclass(frozen=True)
class SweepResult:
    """A sweep's finished configurations (all of them once complete), how it was run: epochs,
    seeds, the reviews in dev/train/test, the command and the machine."""

    epochs: int
    seeds: list[int]
    sizes: list[int]
    command: str | None
    machine: str
    configs: list[ConfigResult] = field(default_factory=list)
    complete: bool = False

    def to_json(self) -> dict:
        settings = {"epochs": self.epochs, "seeds": list(self.seeds), "sizes": self.sizes,
                    "command": self.command, "machine": self.machine}
        return {"settings": settings, "complete": self.complete,
                "configs": [config.to_json() for config in self.configs]}

    @classmethod
    def from_json(cls, entry: dict) -> SweepResult:
        return cls(**entry["settings"], complete=entry["complete"],
                   configs=[ConfigResult.from_json(config) for config in entry["configs"]])


def _sweep_entries(folder: str | os.PathLike) -> dict:
    """results.json's sweeps as JSON, by name ({} if there is none or it is unreadable)."""
    try:
        entries = json.loads((Path(folder) / RESULTS_FILE).read_text())
    except (OSError, ValueError):
        return {}
    sweeps = entries.get("sweeps") if isinstance(entries, dict) else None
    return sweeps if isinstance(sweeps, dict) else {}


def load_sweeps(folder: str | os.PathLike) -> dict[str, SweepResult]:
    """The sweeps in folder/results.json, by name; one this version cannot read is left out."""
    found = {}
    for name, entry in _sweep_entries(folder).items():
        try:
            found[name] = SweepResult.from_json(entry)
        except (KeyError, TypeError, AttributeError):  # written by an earlier version
            continue
    return found


def save_sweep(folder: str | os.PathLike, name: str, result: SweepResult) -> None:
    """Put one sweep into folder/results.json, written whole; the other sweeps' entries stay
    as they are, even those this version cannot read."""
    entries = {**_sweep_entries(folder), name: result.to_json()}
    text = json.dumps({"sweeps": entries}, indent=1, allow_nan=False) + "\n"
    atomic_write(Path(folder) / RESULTS_FILE, lambda tmp: tmp.write_text(text))


# ----------------------------------------------------------------------------------------------
# A kept model


def tokenizer_version() -> str:
    """A hash of mlp's tokenizer, its code and patterns: a kept model records the one it used."""
    source = inspect.getsource(mlp.tokenize) + mlp.MARKUP.pattern + mlp.TOKEN.pattern
    return hashlib.sha256(source.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Recipe:
    """What rebuilds a kept model: the homework's MLP on the mean of the named word vectors, or
    (with a vocabulary) beyond's learned table of those words' rows, bigram rows after them."""

    embeddings: str
    embed_dim: int
    hidden_dims: tuple[int, ...]
    activation: str
    vocabulary: tuple[str, ...] | None = None  # word i is the table's row i + 1
    bigram_buckets: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden_dims", tuple(self.hidden_dims))
        if self.vocabulary is not None:
            object.__setattr__(self, "vocabulary", tuple(self.vocabulary))


@dataclass(frozen=True)
class KeptModel:
    """A sweep's best model as its file holds it: the recipe and weights, where it came from,
    and how well it did."""

    recipe: Recipe
    state_dict: dict
    sweep: str
    name: str
    seed: int
    best_epoch: int
    dev_acc: float
    test_acc: float | None
    command: str | None
    tokenizer: str = field(default_factory=tokenizer_version)

    def save(self, path: str | os.PathLike) -> None:
        """Write the model file, whole or not at all: tensors and plain values only."""
        payload = {**{item.name: getattr(self, item.name) for item in dataclasses.fields(self)},
                   "recipe": dataclasses.asdict(self.recipe), "format": MODEL_FORMAT}
        atomic_write(path, lambda tmp: torch.save(payload, tmp))

    @classmethod
    def load(cls, path: str | os.PathLike) -> KeptModel:
        """The model kept at path; tensors only are loaded (weights_only), never code. A missing
        or damaged file, one of another program or version, or one made with another
        tokenizer, is a DataError that says what to do."""
        path = Path(path)
        try:
            saved = torch.load(path, map_location="cpu", weights_only=True)
            if saved.pop("format") != MODEL_FORMAT:
                raise ValueError("another format")
            kept = cls(**{**saved, "recipe": Recipe(**saved["recipe"])})
        except FileNotFoundError:
            raise DataError(f"no model {path}; `python main.py` trains and keeps one") from None
        except Exception:  # truncated, damaged, or another program's file: the same fix
            raise DataError(f"cannot load the model {path}: it is damaged or not a model of "
                            f"this version of the project; delete it and run `python main.py` "
                            f"again") from None
        if kept.tokenizer != tokenizer_version():
            raise DataError(f"the model {path} was made with another tokenizer than mlp.py's; "
                            f"`python main.py {kept.sweep}` trains it again")
        return kept

    @staticmethod
    def dev_accuracy(path: str | os.PathLike) -> float:
        """The dev accuracy a model file records, read without its weights (mmap); -1 for a
        file that is not a kept model (load says what is wrong with it)."""
        try:
            saved = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
            return float(saved["dev_acc"]) if saved.get("format") == MODEL_FORMAT else -1.0
        except Exception:
            return -1.0
