"""The launcher: a fresh interpreter that forks every task of a grading run, so that no task
starts with anything of the grader's in its memory.

The grader starts it (Launcher) before it computes any reference answer or stages any
submission. It imports the libraries submissions use, the checks' probes and the sandbox, and
never this project's homework (mlp.py, main.py) nor the grader: a task forked from it holds its
own copy's code, its task's inputs and nothing else worth reading. What tasks print and return
goes to the grader through pipes the grader made, never through the launcher. It talks to the
grader over a unix socket at its standard input, a JSON message at a time:

    grader -> launcher   an Order, with the task's output and result pipes (SCM_RIGHTS)
    launcher -> grader   {"started": pid}                      the task forked
                         {"ended": pid, "status": status}      the task reaped

    python -m workshop.grading.launcher          (started by Launcher, never by hand)
"""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
import gc
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
import types
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from workshop.grading import checks, sandbox

# What a submission could replace to bend what the probes read: each callable these hold, and
# their entries in sys.modules. Taken once in the launcher (BEFORE), compared in each task after
# its probes: reading them touches every page they sit on, which a forked task then copies.
WATCHED = {"builtins": builtins, "torch": torch, "torch.Tensor": torch.Tensor,
           "torch.nn.functional": torch.nn.functional, "torch.nn.Module": torch.nn.Module,
           "torch.nn.Linear": torch.nn.Linear, "numpy": np, "json": json}
BEFORE: dict[str, int] = {}
ITEM_MARK = "\x1e hw3 grader: item "  # a line in a task's output: the next item starts here
# The environment a task sees: the settings libraries read, none of the grader's own.
KEPT_ENVIRONMENT = ("PATH", "LANG", "LANGUAGE", "TZ", "PYTHONPATH", "NLTK_DATA")
KEPT_PREFIXES = ("LC_", "OPENBLAS_", "OMP_", "MKL_")


@dataclass(frozen=True)
class Order:
    """A task the grader asks for: the items to probe in a copy of source made at folder, on
    the inputs of the draw with this seed, within limits."""

    key: str  # the submission's id
    items: tuple[str, ...]
    folder: str
    source: str
    draw: int
    limits: sandbox.Limits
    private: tuple[str, ...] = ()

    @classmethod
    def read(cls, fields: dict) -> Order:
        """An Order from its JSON fields."""
        return cls(**{**fields, "items": tuple(fields["items"]),
                      "limits": sandbox.Limits(**fields["limits"]),
                      "private": tuple(fields["private"])})

    def task(self, reads: tuple[Path, ...] = ()) -> sandbox.Task:
        """The sandbox's task of this order (reads: what it may read besides its folder)."""
        return sandbox.Task(self, probe_items, (self.items, self.folder, self.draw),
                            Path(self.folder), self.limits, Path(self.source),
                            tuple(map(Path, self.private)), reads)


# ----------------------------------------------------------------------------------------------
# In the launcher


def probe_items(items: tuple[str, ...], folder: str, seed: int) -> dict:
    """In a task: import the submission in folder (as mlp and main, as its own code imports
    them) and run each item's probe on it with the draw's inputs; what each observed, by item,
    and what of the libraries it replaced; or an "error" when it cannot import (or a probe
    could not finish: the grader then runs each item alone)."""
    torch.set_num_threads(1)  # items run side by side, each on one core
    sys.path[:] = [folder] + [path for path in sys.path if path and Path(path).resolve()
                              != sandbox.PROJECT]
    modules = {}
    for name in dict.fromkeys(need for item in items for need in checks.ITEMS[item].needs):
        try:
            modules[name] = __import__(name)
        except Exception as error:
            return {"error": f"importing {name}.py raised "
                             f"{checks.student_error(error, Path(folder))}"}
        except BaseException as error:  # SystemExit: the module ended the program
            return {"error": f"importing {name}.py ended the program ({sandbox.describe(error)}); "
                             f"keep such code under `if __name__ == '__main__':`"}
    submission = checks.Submission(modules["mlp"], modules.get("main"), Path(folder))
    borrowed = [f"{name}.{attribute} (the grader's own "
                f"{getattr(value, '__qualname__', type(value).__qualname__)})"
                for name, module in modules.items() for attribute, value in vars(module).items()
                if str(getattr(value, "__module__", "")).startswith("workshop")]
    draw, observed = checks.Draw(seed), {}
    for item in items:
        mark(item)
        observed[item] = checks.ITEMS[item].probe(submission, draw)
    after = _callables()
    return {"observed": observed, "replaced": borrowed + sorted(
        name for name, value in BEFORE.items() if after.get(name) != value)}


def mark(item: str) -> None:
    """Write ITEM_MARK and the item to the output, on a line of its own, after what was
    printed before it."""
    with contextlib.suppress(Exception):  # the student's streams may be anything
        sys.stdout.flush()
        sys.stderr.flush()
    os.write(1, f"\n{ITEM_MARK}{item}\n".encode())


def outputs(output: str) -> dict[str, str]:
    """A task's output, by item: what was printed while each item ran ('' before the first:
    at import)."""
    parts = re.split(f"\n{re.escape(ITEM_MARK)}(.*)\n", output)
    return {"": parts[0], **dict(zip(parts[1::2], parts[2::2], strict=True))}


def _callables() -> dict[str, int]:
    """The identity of each function WATCHED holds, and of their modules in sys.modules."""
    found = {f"sys.modules[{name!r}]": id(sys.modules.get(name))
             for name, holder in WATCHED.items() if isinstance(holder, types.ModuleType)}
    for where, holder in WATCHED.items():
        found.update({f"{where}.{name}": id(value) for name, value in list(vars(holder).items())
                      if callable(value)})
    return found


def offline_libraries() -> None:
    """What the skeleton's imports do at import time, made to work with no network: nltk's
    download is a no-op, and its word_tokenize, which needs the punkt data to split sentences,
    gets punkt's algorithm untrained when the data is missing; the downloaders of word vectors
    and of IMDB say at once that nothing is downloaded while grading."""
    import datasets
    import gensim.downloader
    import nltk
    from nltk.tokenize.punkt import PunktSentenceTokenizer

    nltk.download = lambda *args, **kwargs: True
    try:
        nltk.data.find("tokenizers/punkt_tab/english/")
    except LookupError:
        splitter = PunktSentenceTokenizer()
        nltk.tokenize.sent_tokenize = lambda text, language="english": splitter.tokenize(text)

    def no_download(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"nothing is downloaded while grading ({args[0]!r} was asked for); "
                           f"load word vectors and data under `if __name__ == '__main__':`")

    gensim.downloader.load = no_download
    datasets.load_dataset = no_download


def warm_up() -> tuple[Path, ...]:
    """Import what submissions import, once, before any task is forked (each then starts in
    milliseconds instead of seconds): what tasks may read besides their own copy."""
    import easydict  # noqa: F401
    import matplotlib.pyplot  # noqa: F401
    import nltk
    import tqdm  # noqa: F401
    from torch.utils.data import DataLoader

    offline_libraries()
    # torch imports a second's worth of modules when its first optimizer and loader are made.
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])
    next(iter(DataLoader(checks.learnable(2, 0), batch_size=2)))
    BEFORE.update(_callables())
    # What is imported so far lives as long as the launcher: the garbage collector of each
    # forked task leaves it alone instead of touching (so copying) every page of it.
    gc.freeze()
    nltk_data = tuple(Path(path) for path in nltk.data.path if Path(path).is_dir())
    return sandbox.system_reads() + nltk_data


def serve() -> None:
    """Fork a task for each order that comes through the socket at standard input, on the two
    pipes that come with it, and say its pid; say each task's end as it ends."""
    sandbox.end_with_parent(signal.SIGTERM)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    woken, wake = os.pipe()  # a byte for each signal: a child that ended wakes the loop below
    for fd in (woken, wake):
        os.set_blocking(fd, False)
    signal.set_wakeup_fd(wake)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    channel = socket.socket(fileno=os.dup(0))
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    reads = warm_up()
    with sandbox.LocalForker() as forker:
        try:
            while True:
                ready = select.select([channel, woken], [], [])[0]
                if woken in ready:
                    os.read(woken, 4096)
                if channel in ready:
                    message, fds, _, _ = socket.recv_fds(channel, 2**16, 2)
                    if not message:  # the grader is done
                        return
                    pid = forker.start(Order.read(json.loads(message)).task(reads), *fds)
                    for fd in fds:
                        os.close(fd)
                    channel.send(json.dumps({"started": pid}).encode())
                for pid, status in forker.reap():
                    channel.send(json.dumps({"ended": pid, "status": status}).encode())
        finally:
            for pid in forker.running:  # the grader stopped: so does every task
                os.killpg(pid, signal.SIGKILL)


# ----------------------------------------------------------------------------------------------
# In the grader


class Launcher:
    """The launcher process, started now, as the forker of the grader's tasks: the pipes each
    task writes to are the grader's, handed to the launcher to fork the task with, so that
    nothing a task returns ever passes through the launcher's memory, where the next task
    would find it."""

    def __init__(self) -> None:
        environment = {name: value for name, value in os.environ.items()
                       if name in KEPT_ENVIRONMENT or name.startswith(KEPT_PREFIXES)}
        self.channel, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "workshop.grading.launcher"], cwd=sandbox.PROJECT,
            stdin=theirs, env={**environment, "MPLBACKEND": "Agg",
                               "PYTHONDONTWRITEBYTECODE": "1"})
        theirs.close()
        self.statuses: dict[int, int] = {}

    def start(self, task: sandbox.Task, output: int, result: int) -> int:
        """Have the launcher fork task's process on these pipes: its pid."""
        socket.send_fds(self.channel, [json.dumps(dataclasses.asdict(task.key)).encode()],
                        [output, result])
        while True:
            message = self._next(None)
            if "started" in message:
                return message["started"]

    def ended(self, pid: int, wait: float | None) -> int | None:
        """pid's wait status once the launcher has reaped it (see sandbox.Forker)."""
        deadline = None if wait is None else time.monotonic() + wait
        while pid not in self.statuses:
            left = None if deadline is None else deadline - time.monotonic()
            if (left is not None and left <= 0) or not self._next(left):
                break
        return self.statuses.pop(pid, None)

    def _next(self, wait: float | None) -> dict:
        """The launcher's next message ({} if none came within wait seconds); an end is kept
        in statuses."""
        if not select.select([self.channel], [], [], wait)[0]:
            return {}
        message = self.channel.recv(2**16)
        if not message:
            raise RuntimeError(f"the grader's launcher ended (exit status "
                               f"{self.process.wait()}); its error is above")
        message = json.loads(message)
        if "ended" in message:
            self.statuses[message["ended"]] = message["status"]
        return message

    def run(self, orders: Iterable[Order], at_once: int) -> Iterator[tuple[Order, sandbox.Ran]]:
        """Each order's task run, at_once at a time: (order, how it ended) as each ends."""
        for task, ran in sandbox.run_many([order.task() for order in orders], at_once, self):
            yield task.key, ran

    def close(self) -> None:
        """End the launcher, and with it any task still running."""
        self.channel.close()  # it ends when its end of the socket does
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> Launcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


if __name__ == "__main__":
    serve()
