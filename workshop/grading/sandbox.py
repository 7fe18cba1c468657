"""Running untrusted code (a student's): each task in a process of its own, in a folder of its
own, behind a wall the kernel enforces, under a time and memory limit, its output captured and
capped.

The boundary (`boundary()` says which holds on this machine, in one line):
- Each task is forked from a launcher process that never held anything of the grader's (no
  reference answers, no other submission, none of this project's homework code): see
  launcher.py. Its folder is made when it starts, a private copy of its source, with a private
  temporary folder beside it; both are removed when it ends. It keeps no file descriptor of the
  launcher's but its own output and result pipes.
- On Linux with Landlock (5.13 and later; landlock.py says what each ABI adds), before the
  task's first line runs: it reads only the Python installation, its packages and the system's
  libraries and settings (`reads`), writes only its folder and its temporary folder, starts no
  program, opens no TCP connection, and signals no process but its own.
- Run by root (Gradescope's autograder is), a task drops to the user nobody when that user can
  read the Python installation, and otherwise to root without any capability (no kill, mount,
  module loading or reading past file permissions).
- Everywhere, an audit hook (sys.addaudithook) refuses the same with a message a student can
  read; where there is no Landlock it is the only wall, which ctypes can climb: grade untrusted
  code on Linux 5.13 or later, or in the Gradescope autograder.
A task ends when its result arrives, and then every process it started ends too, however it
detached (each task's process is a subreaper of its descendants, and so is the launcher while
tasks run). POSIX only (fork, process groups, resource limits); Linux for the subreaper.
"""

from __future__ import annotations

import contextlib
import ctypes
import faulthandler
import io
import json
import os
import pwd
import resource
import select
import selectors
import shutil
import signal
import site
import stat
import sys
import sysconfig
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from workshop.grading import landlock

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
PR_CAPBSET_DROP, CAP_LAST = 24, 63  # prctl's option, and above the highest capability there is
CAPABILITY_VERSION_3 = 0x20080522  # linux/capability.h
RESULT_FD = 3  # where a task's result pipe is kept: every other descriptor past 2 is closed
STACK_SIGNAL = signal.SIGUSR1  # asks a task that ran out of time where it is
STACK_WAIT = 0.5  # seconds it has to say so
# Taken before any task's code runs, which may replace what the os module holds.
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None
_KILL, _WRITE, _DUMPS = os.kill, os.write, json.dumps


PROJECT = Path(__file__).resolve().parents[2]  # this project: never readable by a task
SYSTEM = ("/usr/lib", "/usr/lib64", "/lib", "/lib64", "/usr/share", "/etc", "/proc", "/sys",
          "/dev")  # shared libraries, fonts and time zones, settings, the kernel's files
WRITABLE_DEVICES = (Path(os.devnull), Path("/dev/shm"))  # shm: DataLoader workers' tensors


def system_reads() -> tuple[Path, ...]:
    """What every task may read: the Python installation and its packages (each folder on
    sys.path), the system's libraries and settings; never a folder that holds this project."""
    candidates = [*sys.path, *sysconfig.get_paths().values(), *site.getsitepackages(),
                  site.getusersitepackages(), *SYSTEM]
    found = {Path(path).resolve() for path in candidates if path and Path(path).exists()}
    inside = {path for path in found if path.is_relative_to(PROJECT)
              and "site-packages" not in path.parts}  # a virtualenv's packages may be in it
    return tuple(sorted(path for path in found - inside if not PROJECT.is_relative_to(path)))


def _readable_by_anyone(path: Path) -> bool:
    """Whether a user with no rights of its own can read path (every folder above it open)."""
    try:
        modes = [path.stat().st_mode, *(parent.stat().st_mode for parent in path.parents)]
    except OSError:
        return False
    return bool(modes[0] & stat.S_IROTH) and all(mode & stat.S_IXOTH for mode in modes[1:])


@dataclass(frozen=True)
class Wall:
    """What keeps a task in: the kernel's Landlock ABI (0: none), and, when this process is
    root, whom tasks run as (nobody, or root with no capability; None: not root)."""

    landlock: int
    user: str | None

    @classmethod
    def here(cls) -> Wall:
        """This machine's wall."""
        if os.geteuid() != 0:
            return cls(landlock.abi(), None)
        python = [Path(path) for path in sysconfig.get_paths().values() if Path(path).exists()]
        nobody = all(_readable_by_anyone(path) for path in python)
        return cls(landlock.abi(), "nobody" if nobody else "root")

    def describe(self) -> str:
        """The wall in one line, for the console and each report."""
        who = {None: "as the grader's own user", "nobody": "as the user nobody",
               "root": "as root with every capability dropped (the user nobody cannot read "
                       "the Python installation)"}[self.user]
        if self.landlock:
            return (f"each task in a Landlock domain (ABI {self.landlock}) {who}: it reads only "
                    f"Python and the system's libraries and writes only its own copy")
        return ("no kernel boundary here (no Landlock on this system): a determined "
                "submission can reach the grader's files; grade untrusted code on Linux 5.13+ "
                "or in the Gradescope autograder")


WALL = Wall.here()


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
    reads: tuple[Path, ...] = ()  # what Landlock lets it read besides its folder

    @property
    def scratch(self) -> Path:
        """Its private temporary folder (TMPDIR), beside its folder."""
        return self.folder.with_name(self.folder.name + ".tmp")


@dataclass(frozen=True)
class Ran:
    """How a task ended: its value, or why there is none; and what it printed."""

    value: object
    error: str | None  # None: function returned value
    output: str
    seconds: float


# ----------------------------------------------------------------------------------------------
# Inside the task's process


def refuse_outside(folders: tuple[Path, ...], private: tuple[Path, ...] = ()
                   ) -> Callable[[str, tuple], None]:
    """An audit hook that refuses reading under private (but in folders), changes to files
    outside folders, new programs and the network, with a PermissionError that says so."""
    roots = tuple(os.path.realpath(folder) for folder in folders)
    hidden = tuple(os.path.realpath(path) for path in private)

    inside, readable = _inside(roots), _readable(roots, hidden)

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


def _inside(roots: tuple[str, ...]) -> Callable[[object], bool]:
    """Whether a path (or an open file, or none) is in one of the folders roots."""
    def inside(path: object) -> bool:
        if isinstance(path, int) or path is None:  # a file already open, or no path
            return True
        real = os.path.realpath(os.fsdecode(path))
        # /dev/shm: the shared memory of multiprocessing's Value, Array and Pool
        return real in (*roots, os.devnull) or real.startswith(
            (*(root + os.sep for root in roots), "/dev/shm/"))

    return inside


def _readable(roots: tuple[str, ...], hidden: tuple[str, ...]) -> Callable[[object], bool]:
    """Whether a path may be read: in the folders roots, or under none of the hidden ones."""
    inside = _inside(roots)

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
        _fresh_process()
        _keep_own_descriptors(output, result)
        _make_folder(task)
        memory = _address_space() + task.limits.memory_mib * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_FSIZE, (2**30, 2**30))  # no file of a GiB or more
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        os.chdir(task.folder)
        os.environ.update(HOME=str(task.folder), TMPDIR=str(task.scratch), MPLBACKEND="Agg")
        _drop_privileges(task)
        if WALL.landlock:
            landlock.confine(list(task.reads), [task.folder, task.scratch, *WRITABLE_DEVICES])
        sys.addaudithook(refuse_outside((task.folder, task.scratch), task.private))
        # Stopped for its time, it writes where every thread was to its result pipe first.
        faulthandler.register(STACK_SIGNAL, file=RESULT_FD, all_threads=True)
        outcome = {"value": task.function(*task.args)}
    except BaseException as error:  # SystemExit and KeyboardInterrupt included: the task ends
        outcome = {"error": describe(error)}
    faulthandler.unregister(STACK_SIGNAL)
    outcome["left_behind"] = _end_descendants()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:  # what the code made of its streams is its own: the result still goes
        pass
    try:
        payload = _DUMPS(outcome, default=str).encode()
    except BaseException as error:
        payload = _DUMPS({"error": f"its result could not be returned ({error!r})"}).encode()
    for start in range(0, len(payload), 65536):
        _WRITE(RESULT_FD, payload[start:start + 65536])
    os._exit(0)


def _fresh_process() -> None:
    """This forked process on its own: its own process group and session (a timeout kills
    whatever it starts too), none of the parent's signal handling, ended with its parent, and
    a subreaper of what it starts and leaves."""
    os.setsid()
    signal.set_wakeup_fd(-1)
    for signum in (signal.SIGCHLD, signal.SIGTERM):
        signal.signal(signum, signal.SIG_DFL)
    end_with_parent(signal.SIGKILL)
    if _LIBC is not None:
        _LIBC.prctl(PR_SET_CHILD_SUBREAPER, 1)


def end_with_parent(signum: int) -> None:
    """Have the kernel send this process signum when its parent ends (PR_SET_PDEATHSIG; Linux
    only, elsewhere nothing)."""
    if _LIBC is not None:
        _LIBC.prctl(1, signum)


def _keep_own_descriptors(output: int, result: int) -> None:
    """Standard input from /dev/null; output and error to the output pipe, Python's own streams
    too, whatever the parent had made of them (pytest's capture); the result pipe at RESULT_FD;
    every other descriptor the launcher held (another task's pipes) closed."""
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(output, 1)
    os.dup2(output, 2)
    os.dup2(result, RESULT_FD)
    os.closerange(RESULT_FD + 1, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
    sys.stdout, sys.stderr = (io.TextIOWrapper(io.FileIO(fd, "w", closefd=False), "utf-8",
                                               "replace", line_buffering=True) for fd in (1, 2))


def _make_folder(task: Task) -> None:
    """The task's folder, made now: a copy of its source (its data files too), or empty; and
    its temporary folder, empty."""
    if task.source is None:
        task.folder.mkdir(parents=True, exist_ok=True)
    else:
        shutil.copytree(task.source, task.folder, symlinks=True)
    task.scratch.mkdir(parents=True, exist_ok=True)


def _drop_privileges(task: Task) -> None:
    """Run by root: become WALL.user (its folders given to it), or stay root with no
    capability at all when that user cannot read the Python installation."""
    if WALL.user is None:
        return
    if WALL.user == "root":
        for capability in range(CAP_LAST + 1):  # gone from what any later program could get
            _LIBC.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0)
        header = (ctypes.c_uint32 * 2)(CAPABILITY_VERSION_3, 0)
        if _LIBC.capset(header, (ctypes.c_uint32 * 6)()) != 0:  # effective, permitted, inherited
            raise OSError(ctypes.get_errno(), "capset failed: the task cannot drop root's powers")
        return
    user = pwd.getpwnam(WALL.user)
    for top in (task.folder, task.scratch):
        for path in (top, *top.rglob("*")):
            os.chown(path, user.pw_uid, user.pw_gid, follow_symlinks=False)
    os.setgroups([])
    os.setgid(user.pw_gid)
    os.setuid(user.pw_uid)


def _child_pids(pid: int) -> list[int]:
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
    while children := _child_pids(os.getpid()):
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


class Forker(Protocol):
    """Who starts each task's process and says when it has ended (its wait status)."""

    def start(self, task: Task, output: int, result: int) -> int:
        """Start task's process writing to the pipes output and result: its pid."""

    def ended(self, pid: int, wait: float | None) -> int | None:
        """pid's wait status once it has ended; None if it has not within wait seconds (None:
        wait for it)."""


class LocalForker:
    """Tasks forked from this process, which reaps them and, a subreaper while it is in use,
    ends what they leave behind (any child that is not a running task)."""

    def __init__(self) -> None:
        self.running: set[int] = set()
        self.statuses: dict[int, int] = {}

    def start(self, task: Task, output: int, result: int) -> int:
        """Fork task's process."""
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _child(task, output, result)
        self.running.add(pid)
        return pid

    def reap(self) -> list[tuple[int, int]]:
        """The tasks that have ended since the last call, with their wait statuses; the
        orphans that came back here killed."""
        ended = []
        for pid in list(self.running):
            with contextlib.suppress(ChildProcessError):
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    self.running.discard(pid)
                    ended.append((pid, status))
        for pid in _child_pids(os.getpid()):
            if pid not in self.running:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
                with contextlib.suppress(ChildProcessError, OSError):
                    os.waitpid(pid, os.WNOHANG)
        return ended

    def ended(self, pid: int, wait: float | None) -> int | None:
        """pid's wait status once it has ended (see Forker)."""
        deadline = None if wait is None else time.monotonic() + wait
        while pid not in self.statuses:
            self.statuses.update(self.reap())
            if pid in self.statuses or (deadline is not None and time.monotonic() >= deadline):
                break
            time.sleep(0.005)
        return self.statuses.pop(pid, None)

    def __enter__(self) -> LocalForker:
        if _LIBC is not None:
            _LIBC.prctl(PR_SET_CHILD_SUBREAPER, 1)
        return self

    def __exit__(self, *exc: object) -> None:
        if _LIBC is not None:
            _LIBC.prctl(PR_SET_CHILD_SUBREAPER, 0)


def _start(task: Task, forker: Forker) -> _Running:
    """Start a process for task, its output and result going to two pipes that this process
    reads (the forker never sees what comes through them)."""
    task.folder.parent.mkdir(parents=True, exist_ok=True)
    output_read, output_write = os.pipe()
    result_read, result_write = os.pipe()
    try:
        pid = forker.start(task, output_write, result_write)
    finally:
        os.close(output_write)
        os.close(result_write)
    return _Running(task, pid, output_read, result_read, time.monotonic())


def _finish(running: _Running, timed_out: bool, forker: Forker) -> Ran:
    """Wait for the task's process (killing its group; one that goes on after its result, at
    once) and say how it ended."""
    status = forker.ended(running.pid, 0 if timed_out else 1.0)  # it exits as its result is
    if status is None:  # written: 1 s at most
        with contextlib.suppress(ProcessLookupError):
            os.killpg(running.pid, signal.SIGKILL)
        status = forker.ended(running.pid, None)
    with contextlib.suppress(ProcessLookupError):  # whatever it left in its group ends with it
        os.killpg(running.pid, signal.SIGKILL)
    for fd in (running.output, running.result):
        os.close(fd)
    for folder in (running.task.folder, running.task.scratch):  # no copy outlives its task
        shutil.rmtree(folder, ignore_errors=True)
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
    """What a task that ran out of time was doing, and where its own code was then."""
    limit = f"timed out after {running.task.limits.seconds:g} s"
    folder = str(running.task.folder)
    where = [line.strip().replace(folder + os.sep, "") for line in
             bytes(running.payload).decode(errors="replace").splitlines() if folder in line]
    at = "; where its code was when it was stopped, innermost first: " + " < ".join(
        where[:6]) if where else ""
    if running.dropped:
        return (f"{limit}: it printed without end ({len(running.kept) + running.dropped} bytes) "
                f"and never returned{at}")
    return (f"{limit}: it never returned (an endless loop, or far more work than the grader's "
            f"tiny inputs need){at}")


def _ask_where(selector: selectors.BaseSelector, job: _Running) -> None:
    """Have a task that ran out of time write where it is (STACK_SIGNAL), and read it."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(job.pid, STACK_SIGNAL)
    deadline = time.monotonic() + STACK_WAIT
    while job.result in selector.get_map() and time.monotonic() < deadline:
        if select.select([job.result], [], [], deadline - time.monotonic())[0]:
            _read(selector, job, "result", job.result)


def run_many(tasks: Iterable[Task], at_once: int, forker: Forker | None = None
             ) -> Iterator[tuple[Task, Ran]]:
    """Run the tasks, at_once at a time, each in its own process started by forker (default:
    forked from this one): (task, how it ended) as each ends, when its result has come (what it
    left running is ended). This process reads every task's output as it comes (a task that
    floods its output is never blocked by a full pipe) and keeps the first limits.output_bytes
    of it."""
    pending, running = list(tasks)[::-1], {}
    with contextlib.ExitStack() as stack:
        forker = forker or stack.enter_context(LocalForker())
        selector = stack.enter_context(selectors.DefaultSelector())
        stack.callback(_end_all, running, forker)  # done, an error, Ctrl-C, the caller stopping
        while pending or running:
            while pending and len(running) < at_once:
                started = _start(pending.pop(), forker)
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
                    if timed_out and not returned:
                        _ask_where(selector, job)
                    _drain(selector, job)
                    del running[pid]
                    yield job.task, _finish(job, timed_out and not returned, forker)


def _drain(selector: selectors.BaseSelector, job: _Running) -> None:
    """Read what is left in a finished task's output pipe without waiting for its end (a
    process it left may hold the pipe open), and stop watching both pipes."""
    while job.output in selector.get_map() and select.select([job.output], [], [], 0)[0]:
        _read(selector, job, "output", job.output)
    if job.result in selector.get_map():
        selector.unregister(job.result)
    if job.output in selector.get_map():
        selector.unregister(job.output)


def _end_all(running: dict[int, _Running], forker: Forker) -> None:
    """Kill the tasks still running, and wait for their ends."""
    for pid in running:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        forker.ended(pid, 5.0)


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
