"""Running untrusted code (a student's): each task in a process of its own, forked from this one
so that it starts with the libraries already imported, in a folder of its own, under a time and
memory limit, its output captured and capped.

A task's folder is made when it starts, a private copy of its source: nothing of another task
is there before it runs. Inside, an audit hook (sys.addaudithook, which the code it watches
cannot remove) refuses what a homework never needs: reading the other tasks' folders (private
paths), writing, renaming or deleting files outside its own folder, starting other programs, and
the network. A task ends when its result arrives, and then every process it started ends too,
however it detached (each task's process is a subreaper of its descendants, and so is this one
while tasks run). It stops a submission's accidents and habits (rm -rf of the wrong folder, a
download at import time, a classmate's copy), not a determined attacker, who could reach the
operating system through ctypes: grade untrusted strangers' code in a container or a VM.
POSIX only (fork, process groups, resource limits); Linux for the subreaper.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import json
import os
import resource
import select
import selectors
import shutil
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

# Audit events (https://docs.python.org/3/library/audit_events.html) that change files: the
# index of each path argument. Open is checked only when it writes.
FILE_EVENTS = {"os.remove": (0,), "os.rmdir": (0,), "os.rename": (0, 1), "os.mkdir": (0,),
               "os.chmod": (0,), "os.chown": (0,), "os.link": (0, 1), "os.symlink": (1,),
               "os.truncate": (0,), "os.utime": (0,), "shutil.rmtree": (0,)}
PROGRAM_EVENTS = ("os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.forkpty",
                  "subprocess.Popen", "pty.spawn")
NETWORK_EVENTS = ("socket.connect", "socket.getaddrinfo", "socket.sendto", "urllib.Request")
READ_EVENTS = {"open": 0, "os.listdir": 0, "os.scandir": 0}  # the index of the path argument
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
PR_SET_CHILD_SUBREAPER = 36  # prctl's option (linux/prctl.h): orphaned descendants come here
# Taken before any task's code runs, which may replace what the os module holds.
_LIBC = ctypes.CDLL(None) if sys.platform == "linux" else None
_KILL, _WRITE, _DUMPS = os.kill, os.write, json.dumps


@dataclass(frozen=True)
class Limits:
    """What one task may use (a grading's come from its rubric's [limits])."""

    seconds: float
    memory_mib: int  # on top of this process's own address space, which it inherits
    output_bytes: int  # of its standard output and error, kept (the rest counted)


@dataclass(frozen=True)
class Task:
    """function(*args), called in folder (made when the task starts: a copy of source, or
    empty): what it returns must be JSON. Paths under private may not be read from it."""

    key: object  # the caller's name for it
    function: Callable
    args: tuple
    folder: Path
    limits: Limits
    source: Path | None = None
    private: tuple[Path, ...] = ()


@dataclass(frozen=True)
class Ran:
    """How a task ended: its value, or why there is none; and what it printed."""

    value: object
    error: str | None  # None: function returned value
    output: str
    seconds: float


# ----------------------------------------------------------------------------------------------
# Inside the task's process


def refuse_outside(folder: Path, private: tuple[Path, ...] = ()
                   ) -> Callable[[str, tuple], None]:
    """An audit hook that refuses reading under private (but in folder), changes to files
    outside folder, new programs and the network, with a PermissionError that says so."""
    root = os.path.realpath(folder)
    hidden = tuple(os.path.realpath(path) for path in private)

    inside, readable = _inside(root), _readable(root, hidden)

    def hook(event: str, args: tuple) -> None:
        if event in READ_EVENTS and not readable(args[READ_EVENTS[event]]):
            raise PermissionError(f"the grader runs a submission alone: reading "
                                  f"{os.fsdecode(args[READ_EVENTS[event]])} is refused")
        if event == "open" and args[0] is not None:
            mode, flags = args[1] or "", args[2] or 0
            writes = any(letter in str(mode) for letter in "wax+") or flags & WRITE_FLAGS
            if writes and not inside(args[0]):
                raise PermissionError(f"the grader runs a submission in its own folder: "
                                      f"writing {os.fsdecode(args[0])} is refused")
        elif event in FILE_EVENTS and not all(inside(args[i]) for i in FILE_EVENTS[event]):
            raise PermissionError(f"the grader runs a submission in its own folder: {event} of "
                                  f"{os.fsdecode(args[FILE_EVENTS[event][0]])} is refused")
        elif event in ("os.kill", "os.killpg") and not _own_group(args[0], event):
            raise PermissionError(f"the grader lets a submission signal its own processes only "
                                  f"({event} of {args[0]} is refused)")
        elif event.startswith(PROGRAM_EVENTS):
            raise PermissionError(f"the grader runs no other program ({event} is refused)")
        elif event.startswith(NETWORK_EVENTS):
            raise PermissionError("nothing is downloaded while grading (the network is refused)")

    return hook


def _inside(root: str) -> Callable[[object], bool]:
    """Whether a path (or an open file, or none) is in the folder root."""
    def inside(path: object) -> bool:
        if isinstance(path, int) or path is None:  # a file already open, or no path
            return True
        real = os.path.realpath(os.fsdecode(path))
        # /dev/shm: the shared memory of multiprocessing's Value, Array and Pool
        return real in (root, os.devnull) or real.startswith((root + os.sep, "/dev/shm/"))

    return inside


def _readable(root: str, hidden: tuple[str, ...]) -> Callable[[object], bool]:
    """Whether a path may be read: in the folder root, or under none of the hidden ones."""
    inside = _inside(root)

    def readable(path: object) -> bool:
        if isinstance(path, int) or path is None or inside(path):
            return True
        real = os.path.realpath(os.fsdecode(path))
        return not any(real == top or real.startswith(top + os.sep) for top in hidden)

    return readable


def _own_group(target: int, event: str) -> bool:
    """Whether a signal sent to target (a pid, or with os.killpg a group) stays in this process's
    own process group, where the task's processes are."""
    try:
        group = target if event == "os.killpg" else os.getpgid(target) if target > 0 else -target
    except OSError:  # no such process: sending to it fails anyway
        return True
    return group in (0, os.getpgrp())


def _address_space() -> int:
    """This process's virtual memory size in bytes (Linux's /proc; 0 elsewhere)."""
    try:
        status = Path("/proc/self/status").read_text()
        return int(status.split("VmSize:")[1].split()[0]) * 1024
    except (OSError, IndexError):
        return 0


def _child(task: Task, output: int, result: int) -> None:
    """Run task in this freshly forked process and write its outcome to the result pipe; never
    return (os._exit: no atexit handler, thread or buffer of the parent's is run here)."""
    try:
        os.setsid()  # its own process group: a timeout kills whatever it starts too
        if _LIBC is not None:  # it ends if the grader is killed (PR_SET_PDEATHSIG), and what it
            _LIBC.prctl(1, signal.SIGKILL)  # starts and leaves comes back to it (a subreaper)
            _LIBC.prctl(PR_SET_CHILD_SUBREAPER, 1)
        _redirect(output)
        _make_folder(task)
        memory = _address_space() + task.limits.memory_mib * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_FSIZE, (2**30, 2**30))  # no file of a GiB or more
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        os.chdir(task.folder)
        os.environ.update(HOME=str(task.folder), TMPDIR=str(task.folder), MPLBACKEND="Agg")
        sys.addaudithook(refuse_outside(task.folder, task.private))
        outcome = {"value": task.function(*task.args)}
    except BaseException as error:  # SystemExit and KeyboardInterrupt included: the task ends
        outcome = {"error": describe(error)}
    outcome["left_behind"] = _end_descendants()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        payload = _DUMPS(outcome, default=str).encode()
    except BaseException as error:
        payload = _DUMPS({"error": f"its result could not be returned ({error!r})"}).encode()
    for start in range(0, len(payload), 65536):
        _WRITE(result, payload[start:start + 65536])
    os._exit(0)


def _redirect(output: int) -> None:
    """Standard input from /dev/null; output and error to the output pipe, Python's own streams
    too, whatever the parent had made of them (pytest's capture)."""
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(output, 1)
    os.dup2(output, 2)
    sys.stdout, sys.stderr = (io.TextIOWrapper(io.FileIO(fd, "w", closefd=False), "utf-8",
                                               "replace", line_buffering=True) for fd in (1, 2))


def _make_folder(task: Task) -> None:
    """The task's folder, made now: a copy of its source (its data files too), or empty."""
    if task.source is None:
        task.folder.mkdir(parents=True, exist_ok=True)
    else:
        shutil.copytree(task.source, task.folder, symlinks=True)


def _children(pid: int) -> list[int]:
    """The processes whose parent is pid (Linux's /proc; none elsewhere)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError, ValueError):
            found += map(int, (task / "children").read_text().split())
    return found


def _end_descendants() -> int:
    """Kill every process this one started that is still there (detached ones come back to it,
    a subreaper), and reap them: how many there were."""
    ended = 0
    while children := _children(os.getpid()):
        for pid in children:
            with contextlib.suppress(OSError):
                if _LIBC is not None:  # os.kill is audited, and refused beyond the group
                    _LIBC.kill(pid, signal.SIGKILL)
                else:
                    _KILL(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(pid, 0)
            ended += 1
    return ended


def describe(error: BaseException) -> str:
    """An exception in one line: its type and message, and the last line of code it came
    from."""
    frames = traceback.extract_tb(error.__traceback__)
    where = f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno}: " \
            f"`{frames[-1].line}`)" if frames and frames[-1].line else ""
    message = " ".join(str(error).split()) or "(no message)"
    if isinstance(error, SystemExit):
        return f"the code called sys.exit({error.code!r}), ending the process{where}"
    if isinstance(error, MemoryError):
        return f"ran out of memory{where}"
    return f"{type(error).__name__}: {message[:300]}{where}"


# ----------------------------------------------------------------------------------------------
# In this process: starting tasks, following them, ending them


@dataclass
class _Running:
    """A task's process, its two pipes, and what came through them so far."""

    task: Task
    pid: int
    output: int
    result: int
    started: float
    kept: bytearray = field(default_factory=bytearray)
    dropped: int = 0
    payload: bytearray = field(default_factory=bytearray)


def _start(task: Task) -> _Running:
    """Fork a process for task, its output and result going to two pipes."""
    task.folder.parent.mkdir(parents=True, exist_ok=True)
    output_read, output_write = os.pipe()
    result_read, result_write = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        os.close(output_read)
        os.close(result_read)
        _child(task, output_write, result_write)
    os.close(output_write)
    os.close(result_write)
    return _Running(task, pid, output_read, result_read, time.monotonic())


def _finish(running: _Running, timed_out: bool) -> Ran:
    """Reap the task's process (killing its group; one that goes on after its result, at once)
    and say how it ended."""
    pid, status = 0, 0
    for _ in range(0 if timed_out else 100):  # it exits as its result is written: 1 s at most
        pid, status = os.waitpid(running.pid, os.WNOHANG)
        if pid:
            break
        time.sleep(0.01)
    if not pid:
        os.killpg(running.pid, signal.SIGKILL)
        _, status = os.waitpid(running.pid, 0)
    with contextlib.suppress(ProcessLookupError):  # whatever it left in its group ends with it
        os.killpg(running.pid, signal.SIGKILL)
    for fd in (running.output, running.result):
        os.close(fd)
    output = running.kept.decode(errors="replace")
    if running.dropped:
        output += f"\n[... {running.dropped} more bytes of output not kept]"
    seconds = time.monotonic() - running.started
    if timed_out:
        return Ran(None, _timed_out(running), output, seconds)
    try:
        outcome = json.loads(bytes(running.payload))
    except ValueError:
        signum = -os.waitstatus_to_exitcode(status)
        why = (f"was killed by signal {signal.Signals(signum).name}" if signum > 0 else
               f"ended the process (exit status {os.waitstatus_to_exitcode(status)})")
        return Ran(None, f"the code {why} before it finished", output, seconds)
    if outcome.get("left_behind"):
        output += (f"\n[the grader ended {outcome['left_behind']} process(es) that the code "
                   f"started and left running]")
    return Ran(outcome.get("value"), outcome.get("error"), output, seconds)


def _timed_out(running: _Running) -> str:
    """What a task that ran out of time was doing."""
    limit = f"timed out after {running.task.limits.seconds:g} s"
    if running.dropped:
        return (f"{limit}: it printed without end ({len(running.kept) + running.dropped} bytes) "
                f"and never returned")
    return (f"{limit}: it never returned (an endless loop, or far more work than the grader's "
            f"tiny inputs need)")


def run_many(tasks: Iterable[Task], at_once: int) -> Iterator[tuple[Task, Ran]]:
    """Run the tasks, at_once at a time, each in its own process: (task, how it ended) as each
    ends, when its result has come (what it left running is ended). This process reads every
    task's output as it comes (a task that floods its output is never blocked by a full pipe)
    and keeps the first limits.output_bytes of it."""
    pending, running = list(tasks)[::-1], {}
    with selectors.DefaultSelector() as selector, _ending(running):
        while pending or running:
            while pending and len(running) < at_once:
                started = _start(pending.pop())
                running[started.pid] = started
                selector.register(started.output, selectors.EVENT_READ, (started, "output"))
                selector.register(started.result, selectors.EVENT_READ, (started, "result"))
            deadline = min(r.started + r.task.limits.seconds for r in running.values())
            for key, _ in selector.select(timeout=max(0.0, deadline - time.monotonic())):
                _read(selector, *key.data, key.fd)
            now = time.monotonic()
            for pid, job in list(running.items()):
                returned = job.result not in selector.get_map()  # its result, or its end
                timed_out = now >= job.started + job.task.limits.seconds
                if returned or timed_out:
                    _drain(selector, job)
                    del running[pid]
                    ran = _finish(job, timed_out and not returned)
                    _end_orphans(running)
                    yield job.task, ran


def _drain(selector: selectors.BaseSelector, job: _Running) -> None:
    """Read what is left in a finished task's output pipe without waiting for its end (a
    process it left may hold the pipe open), and stop watching both pipes."""
    while job.output in selector.get_map() and select.select([job.output], [], [], 0)[0]:
        _read(selector, job, "output", job.output)
    if job.result in selector.get_map():
        selector.unregister(job.result)
    if job.output in selector.get_map():
        selector.unregister(job.output)


def _end_orphans(running: dict[int, _Running]) -> None:
    """Kill the processes that came back to this one (a subreaper) from tasks that ended or
    were killed: any child that is not a running task."""
    for pid in _children(os.getpid()):
        if pid not in running:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(pid, os.WNOHANG)


@contextlib.contextmanager
def _ending(running: dict[int, _Running]) -> Iterator[None]:
    """While tasks run, be a subreaper (what a task detaches comes back here, to be ended); on
    leaving (done, an error, Ctrl-C, the caller stopping early), kill the tasks still running."""
    if _LIBC is not None:
        _LIBC.prctl(PR_SET_CHILD_SUBREAPER, 1)
    try:
        yield
    finally:
        if _LIBC is not None:
            _LIBC.prctl(PR_SET_CHILD_SUBREAPER, 0)
        for pid in running:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


def _read(selector: selectors.BaseSelector, job: _Running, which: str, fd: int) -> None:
    """Read what a task wrote to one of its pipes; at its end, stop watching the pipe."""
    chunk = os.read(fd, 65536)
    if not chunk:
        selector.unregister(fd)
    elif which == "result":
        job.payload += chunk
    else:
        room = job.task.limits.output_bytes - len(job.kept)
        job.kept += chunk[:max(room, 0)]
        job.dropped += max(len(chunk) - max(room, 0), 0)
