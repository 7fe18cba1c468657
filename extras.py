"""What the homework does not ask for, kept out of mlp.py and main.py.

- read_imdb: the IMDB splits from the bundled data/imdb/, another folder, or the Hugging Face Hub
- read_text_vectors: word vectors from a GloVe/word2vec text file (main.py --embeddings)
- cached_datasets: the featurised splits, cached in data/cache/ so that later runs skip that step
- train_and_record: every configuration of a sweep trained with each seed, side by side in
  worker processes (one per CPU core), and recorded as it finishes
- record_results: plots/results.json and results.md, rewritten after every configuration
- load_checkpoint: weights saved by mlp.train, loaded without unpickling any code
"""

from __future__ import annotations

import hashlib
import inspect
import json
import multiprocessing
import os
import platform
import shlex
import signal
import socket
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv
import pyarrow.json
import pyarrow.parquet
import torch
from torch.utils.data import TensorDataset
from tqdm import tqdm

BUNDLED_DATA = Path(__file__).resolve().parent / "data" / "imdb"
DATA_ENV = "HW3_DATA"  # names a folder to read instead of the bundled copy
HUB_DATASET = "stanfordnlp/imdb"
READERS = {".parquet": pyarrow.parquet.read_table, ".csv": pyarrow.csv.read_csv,
           ".jsonl": pyarrow.json.read_json}
LAYOUTS = "train and test files: {train,test}.parquet, .csv or .jsonl, or shards train-*.parquet"
# Labels as files hold them: 0/1 (numbers or text) or neg/pos in any case.
LABELS = {"0": 0, "1": 1, "0.0": 0, "1.0": 1, "neg": 0, "pos": 1}


class DataError(ValueError):
    """Bad input data or files: the message says what was wrong and how to fix it."""


def atomic_write(path: str | os.PathLike, write: Callable[[Path], object]) -> None:
    """Call write(tmp) on a temporary file beside path, then rename it over path.

    A crash or Ctrl-C part-way leaves the old file (or none), never a half-written one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _gist(error: BaseException) -> str:
    """An error message on one line, cut short (pyarrow's and torch's run to many lines)."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 160 else text[:157] + "..."


# ----------------------------------------------------------------------------------------------
# IMDB


def read_imdb(source: str | os.PathLike | None = None) -> dict[str, dict[str, list]]:
    """IMDB's train and test splits, each {"text": [...], "label": [0 or 1, ...]} in file order.

    source: "bundled" (data/imdb/, or the Hub when those files are missing), "hub", or a folder
    of train/test files. None means $HW3_DATA if it is set, else "bundled".
    """
    source = str(source or os.environ.get(DATA_ENV) or "bundled")
    if source == "bundled":
        bundled = all((BUNDLED_DATA / f"{split}.parquet").is_file() for split in ("train", "test"))
        source = str(BUNDLED_DATA) if bundled else "hub"
    if source == "hub":
        columns = _download_from_hub()
    else:
        folder = Path(source).expanduser()
        if not folder.is_dir():
            raise DataError(f"no data folder {folder}; pass --data DIR, a folder with {LAYOUTS}")
        columns = {split: _read_split(folder, split) for split in ("train", "test")}
    return {split: _checked(split, data) for split, data in columns.items()}


def _read_split(folder: Path, split: str) -> dict[str, list]:
    """The columns of one split, from folder/<split>.parquet (or .csv, .jsonl, or shards)."""
    for suffix, read in READERS.items():
        files = sorted(folder.glob(f"{split}{suffix}")) + sorted(folder.glob(f"{split}-*{suffix}"))
        if files:
            try:
                return pa.concat_tables([read(file) for file in files]).to_pydict()
            except (pa.ArrowException, OSError) as error:
                raise DataError(f"cannot read {', '.join(map(str, files))} ({_gist(error)}); "
                                f"fix or replace it") from None
    raise DataError(f"no {split} data in {folder}; expected {LAYOUTS}")


def _download_from_hub() -> dict[str, dict[str, list]]:
    """Both splits of stanfordnlp/imdb through the datasets library (cached in ~/.cache)."""
    import datasets  # only this path needs it

    try:
        if not os.environ.get("HF_HUB_OFFLINE"):  # offline: fail now, not after a minute of retries
            socket.create_connection(("huggingface.co", 443), timeout=10).close()
        hub = datasets.load_dataset(HUB_DATASET)
    except Exception as error:  # every network or Hub failure has the same fix
        raise DataError(f"cannot download {HUB_DATASET} from the Hugging Face Hub "
                        f"({type(error).__name__}); use the bundled copy in data/imdb/ (the "
                        f"default) or --data DIR") from None
    return {split: hub[split].to_dict() for split in ("train", "test")}


def _checked(split: str, columns: dict[str, list]) -> dict[str, list]:
    """The text and label columns: texts as strings ("" for a missing one), labels as 0/1."""
    for column in ("text", "label"):
        if column not in columns:
            raise DataError(f"the {split} split has no {column!r} column (columns found: "
                            f"{', '.join(columns)}); name the review column 'text' and the "
                            f"sentiment column 'label'")
    labels = [LABELS.get(str(label).strip().lower()) for label in columns["label"]]
    if None in labels:
        bad = columns["label"][labels.index(None)]
        raise DataError(f"the {split} split has the label {bad!r}; labels must be 0/1 or neg/pos")
    return {"text": [text if isinstance(text, str) else "" for text in columns["text"]],
            "label": labels}


# ----------------------------------------------------------------------------------------------
# Word vectors from a text file


def read_text_vectors(path: str | os.PathLike) -> tuple[list[str], np.ndarray]:
    """Words and vectors (vocab, dim) of a GloVe/word2vec text file: 'word v1 ... vd' per line,
    after an optional word2vec header line 'count dim'."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"no word-vector file {path}; pass a GloVe/word2vec text file")
    words, rows, dim = [], [], None
    with open(path, "rb") as lines:  # bytes: a binary file is reported at its first bad line
        for number, line in enumerate(lines, start=1):
            parts = line.split()
            if not parts or (number == 1 and len(parts) == 2 and all(map(bytes.isdigit, parts))):
                continue  # a blank line, or the word2vec header
            dim = dim or len(parts) - 1
            try:
                word, vector = parts[0].decode(), np.array(parts[1:], dtype=np.float32)
            except (UnicodeDecodeError, ValueError):
                vector = None
            if vector is None or len(vector) != dim or not np.isfinite(vector).all():
                raise DataError(f"{path}, line {number}: expected a word and {dim} finite "
                                f"numbers; fix or remove that line")
            words.append(word)
            rows.append(vector)
    if not rows:
        raise DataError(f"{path} holds no word vectors")
    return words, np.stack(rows)


# ----------------------------------------------------------------------------------------------
# Feature cache


def cached_datasets(featurise: Callable[[dict, object], TensorDataset], splits: Sequence[dict],
                    embeddings, cache_dir: str | os.PathLike | None) -> list[TensorDataset]:
    """featurise(split, embeddings) for every split, kept in cache_dir and loaded from there
    when the same code has already featurised the same reviews with the same word vectors."""
    if cache_dir is None:
        return [featurise(split, embeddings) for split in splits]
    key = _cache_key(featurise, splits, embeddings)
    path = Path(cache_dir) / f"features-{key[:32]}.pt"
    tensors = _load_cached(path, key)
    if tensors is None:
        tensors = [list(featurise(split, embeddings).tensors) for split in splits]
        payload = {"key": key, "checksum": _checksum(tensors), "tensors": tensors}
        atomic_write(path, lambda tmp: torch.save(payload, tmp))
    return [TensorDataset(*split_tensors) for split_tensors in tensors]


def _cache_key(featurise: Callable, splits: Sequence[dict], embeddings) -> str:
    """A hash of the file that defines featurise (so any change to it), the vectors and reviews."""
    digest = hashlib.sha256(Path(inspect.getsourcefile(featurise)).read_bytes())
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
        reason = "made for other data or damaged"
    except Exception as error:  # a torn or foreign file is rebuilt, never trusted
        reason = _gist(error)
    print(f"warning: rebuilding the feature cache {path} ({reason})", file=sys.stderr)
    return None


# ----------------------------------------------------------------------------------------------
# Results files


def mean_std(values: Sequence[float | None], digits: int = 4) -> str:
    """'0.7710 ± 0.0009' over the values that exist (one value: no ±; none: 'n/a')."""
    values = [value for value in values if value is not None]
    if len(values) < 2:
        return f"{values[0]:.{digits}f}" if values else "n/a"
    return f"{statistics.fmean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def record_results(folder: str | os.PathLike, sweep: str, settings: dict, results: list[dict],
                   complete: bool) -> None:
    """Store one sweep's results in folder/results.json and results.md; other sweeps' stay."""
    json_path = Path(folder) / "results.json"
    try:
        sweeps = json.loads(json_path.read_text())["sweeps"]
    except (OSError, ValueError, KeyError, TypeError):  # no earlier results, or unreadable ones
        sweeps = {}
    command = shlex.join(["python", *sys.argv])
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}"
    settings = {**settings, "command": command, "machine": machine}
    sweeps[sweep] = {"settings": settings, "complete": complete, "configs": results}
    text = json.dumps({"sweeps": sweeps}, indent=1, allow_nan=False) + "\n"
    atomic_write(json_path, lambda tmp: tmp.write_text(text))
    markdown = results_markdown(sweeps)
    atomic_write(Path(folder) / "results.md", lambda tmp: tmp.write_text(markdown))


def results_markdown(sweeps: dict) -> str:
    """One table per sweep: mean ± std over seeds of each configuration's headline numbers."""
    lines = ["# Results", ""]
    for sweep, entry in sweeps.items():
        settings = entry["settings"]
        lines += [f"## {sweep}" + ("" if entry["complete"] else " (incomplete)"), "",
                  f"`{settings['command']}` on {settings['machine']}: {settings['epochs']} "
                  f"epochs, seeds {settings['seeds']}, dev/train/test {settings['sizes']} "
                  f"reviews; mean ± std over seeds.", "",
                  "| config | best dev acc | best epoch | final dev loss | test acc | seconds |",
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


# ----------------------------------------------------------------------------------------------
# Runs side by side

_worker_args: tuple = ()


def _start_worker(shared_args: tuple) -> None:
    """Set up a worker: keep the shared arguments, leave Ctrl-C to the parent, use one thread."""
    global _worker_args
    _worker_args = shared_args
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    torch.set_num_threads(1)  # the workers are the parallelism: one core each
    # tqdm's lock, made by the parent before the fork, is shared with it: a worker terminated
    # while it held the lock (the pool is terminated when a run fails) would leave every later
    # progress bar of the parent waiting for it forever. Each worker takes a lock of its own.
    tqdm.set_lock(threading.RLock())


def _call_in_worker(call: tuple) -> tuple[int, object]:
    """Run one job in a worker: (its index, function(*job, *shared_args))."""
    index, function, args = call
    return index, function(*args, *_worker_args)


def map_side_by_side(function: Callable, jobs: Sequence[tuple], shared_args: tuple,
                     workers: int) -> Iterator[tuple[int, object]]:
    """(index, function(*jobs[index], *shared_args)) for every job, as each one finishes.

    With workers > 1 the jobs run that many at a time in worker processes, which get
    shared_args once, when they start; with workers == 1 they run here, in order. One training
    run at batch 64 cannot keep two cores busy, so one run per core finishes sooner.
    """
    if workers == 1:
        for index, job in enumerate(jobs):
            yield index, function(*job, *shared_args)
        return
    # On Linux the workers are forked: they start with this process's modules and data, copied
    # rather than imported and pickled again (Python 3.14 would otherwise use forkserver). Other
    # systems start them afresh (spawn), which is safe there and slower.
    context = multiprocessing.get_context("fork" if sys.platform == "linux" else None)
    # torch imports about a second's worth of modules when the first optimizer is made: made
    # here first, they are copied into every forked worker instead of imported again in each.
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])
    # Leaving the with-block (done, an error, Ctrl-C) terminates the workers at once.
    with context.Pool(min(workers, len(jobs)), _start_worker, (shared_args,)) as pool:
        calls = [(index, function, job) for index, job in enumerate(jobs)]
        yield from pool.imap_unordered(_call_in_worker, calls)


def train_and_record(sweep: str, configs: list[dict], run: Callable, data: tuple, *,
                     epochs: int, seeds: Sequence[int], device: str, workers: int | None,
                     plots_dir: str | os.PathLike, sizes: list[int]) -> list[dict]:
    """Each configuration with its runs, one per seed of run(config, *data) (mlp.run_mlp's
    signature and results), trained side by side and put into results.json as it finishes.

    workers: runs at a time, in worker processes (None: one per CPU core on the CPU, else 1).
    """
    settings = {"epochs": epochs, "seeds": list(seeds), "sizes": sizes}
    workers = workers or (os.cpu_count() if device == "cpu" else 1)
    # Largest models first, so that no worker is left alone with a big one at the end.
    order = sorted(range(len(configs)), key=lambda i: -sum(configs[i]["hidden_dims"]))
    jobs = [(run, configs[i], epochs, list(seeds), device, workers == 1) for i in order]
    results = [None] * len(configs)
    for job, result in map_side_by_side(train_seeds, jobs, data, workers):
        results[order[job]] = result
        done = [result for result in results if result is not None]
        record_results(plots_dir, sweep, settings, done, complete=len(done) == len(configs))
        runs = result["runs"]
        print(f"{sweep:>14} | {result['name']:<18} "
              f"| best dev acc {mean_std([run['best_dev_acc'] for run in runs])} "
              f"| test acc {mean_std([run['test_acc'] for run in runs])}", flush=True)
    return results


def train_seeds(run: Callable, config: dict, epochs: int, seeds: Sequence[int], device: str,
                progress: bool, *data) -> dict:
    """The configuration with one record per seed of run(config, *data): its per-epoch lists,
    best epoch, test scores, whether it diverged, and its seconds."""
    runs = []
    for seed in seeds:
        start = time.perf_counter()
        run_config = {**config, "num_epochs": epochs, "seed": seed, "device": device,
                      "progress": progress}
        # (beyond.py's runs add a dict of other findings as a seventh item)
        train_losses, train_accs, dev_losses, dev_accs, test_loss, test_acc, *more = run(
            run_config, *data)
        finished = len(dev_accs)  # fewer than epochs if the loss diverged
        best = dev_accs.index(max(dev_accs)) if finished else None
        runs.append({
            "seed": seed, "seconds": time.perf_counter() - start,
            "train_losses": train_losses, "train_accs": train_accs,
            "dev_losses": dev_losses, "dev_accs": dev_accs,
            "best_epoch": best + 1 if finished else None,
            "best_dev_acc": dev_accs[best] if finished else None,
            "test_loss": test_loss if finished else None,
            "test_acc": test_acc if finished else None,
            "diverged": finished < epochs,
            "diverged_epoch": finished + 1 if finished < epochs else None,
        })
        runs[-1].update(*more)
    return {**config, "runs": runs}


# ----------------------------------------------------------------------------------------------
# Checkpoints


def load_checkpoint(model: torch.nn.Module, path: str | os.PathLike) -> torch.nn.Module:
    """Load weights saved by mlp.train(save_path=...) into model: tensors only, never code."""
    try:
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    except Exception as error:  # damaged, foreign or another model's: the same fix
        raise DataError(f"cannot load the checkpoint {path} ({_gist(error)}); delete it and "
                        f"train again") from None
    return model
