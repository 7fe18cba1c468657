"""A hostile class, written for the grader's boundary: each submission is the completion with an
attack at the top of its mlp.py, run at import in every task. An attack tries every route it
knows to one goal (read a path outside its copy, write one, reach the grader's memory or
modules, signal another process, start a program, open a socket) and, should any route work,
raises "breached: <routes>" at import: its grades then differ from the completion's, and the
test that compares them says which routes got through. Write attacks leave a file or a line
behind where they succeed, for the tests' checksums to find.
"""

from __future__ import annotations

import json
from pathlib import Path

from classroom import Student

PRELUDE = """
import ctypes as _ctypes, gc as _gc, glob as _glob, importlib as _importlib, os as _os
import shutil as _shutil, signal as _signal, socket as _socket, sqlite3 as _sqlite3
import subprocess as _subprocess, sys as _sys
_T = _TARGETS
_libc = _ctypes.CDLL(None, use_errno=True)
_breached = []


def _try(route, attempt):
    try:
        if attempt() not in (None, False, 0, -1, [], ""):
            _breached.append(route)
    except BaseException:
        pass


def _try_ok(route, attempt):  # a route that returns nothing when it works
    try:
        attempt()
    except BaseException:
        return
    _breached.append(route)
"""

READS = """
for _path in _T["secrets"]:
    _try("open " + _path, lambda: open(_path, "rb").read(1) or b"-")
    _try("ctypes open " + _path, lambda: _libc.open(_path.encode(), 0) + 1)
    _try("dir fd " + _path, lambda: _os.open(_os.path.basename(_path), _os.O_RDONLY,
         dir_fd=_os.open(_os.path.dirname(_path), _os.O_RDONLY)) + 1)
    _try("listdir " + _path, lambda: _os.listdir(_os.path.dirname(_path)) or ["-"])
    _try("copy " + _path, lambda: _shutil.copy(_path, "copied"))
    _try("linecache " + _path, lambda: __import__("linecache").getlines(_path))
    _try("parent's fds", lambda: [open(f"/proc/{_os.getppid()}/fd/{fd}", "rb").read(1)
                                  for fd in _os.listdir(f"/proc/{_os.getppid()}/fd")])
    _try("parent's root " + _path, lambda: open(f"/proc/{_os.getppid()}/root{_path}").read(1))
for _folder in _T["folders"]:
    _try("glob " + _folder, lambda: _glob.glob(_folder + "/**/*.py", recursive=True))
"""

WRITES = """
for _folder in _T["folders"]:
    _new = _os.path.join(_folder, "hw3-breach")
    _try_ok("open " + _new, lambda: open(_new + "-open", "w").write("x"))
    _try("ctypes open " + _new, lambda: _libc.open((_new + "-ctypes").encode(), 0o101, 0o644) + 1)
    _try("dir fd " + _new, lambda: _os.open("hw3-breach-dirfd", _os.O_CREAT | _os.O_WRONLY,
         dir_fd=_os.open(_folder, _os.O_RDONLY)) + 1)
    _try_ok("sqlite " + _new, lambda: _sqlite3.connect(_new + "-sqlite").execute(
        "create table breach (x)"))
    _try_ok("mkdir " + _new, lambda: _os.mkdir(_new + "-mkdir"))
    _try_ok("rename into " + _new, lambda: (open("mine", "w").close(),
                                            _os.rename("mine", _new + "-renamed")))
    _try_ok("symlink out " + _new, lambda: (_os.symlink(_new + "-link", "link"),
                                            open("link", "w").write("x")))
for _path in _T["files"]:
    _try_ok("append " + _path, lambda: open(_path, "a").write("\\nbreach\\n"))
    _try("ctypes append " + _path, lambda: _libc.open(_path.encode(), 0o2001) + 1)
    _try_ok("truncate " + _path, lambda: _os.truncate(_path, 0))
    _try_ok("remove " + _path, lambda: _os.remove(_path))
    _try_ok("chmod " + _path, lambda: _os.chmod(_path, 0o777))
"""

MEMORY = """
_ours = {_os.path.realpath(path) for path in _T["reference"]}
_try("sys.modules", lambda: [name for name, module in list(_sys.modules.items())
                             if _os.path.realpath(getattr(module, "__file__", None) or "-")
                             in _ours or name.startswith(("workshop.grading.grade",
                                                          "workshop.records", "workshop.cli"))])
_try("gc", lambda: [thing for thing in _gc.get_objects() if isinstance(thing, dict)
                    and ("slips" in thing or "observed" in thing)])
_try("gc code", lambda: [thing for thing in _gc.get_objects() if callable(thing)
                         and _os.path.realpath(getattr(getattr(thing, "__code__", None),
                                                       "co_filename", "-")) in _ours])
_try("import the grader", lambda: _importlib.import_module("workshop.grading.grade"))
for _path in _T["reference"]:
    _try("load " + _path, lambda: _importlib.machinery.SourceFileLoader(
        "reference", _path).load_module())
    _try("run " + _path, lambda: __import__("runpy").run_path(_path))
_try("parent's memory", lambda: open(f"/proc/{_os.getppid()}/mem", "rb"))
_try("parent's environment", lambda: open(f"/proc/{_os.getppid()}/environ", "rb").read())
_try("ptrace", lambda: _libc.ptrace(16, _os.getppid(), 0, 0) + 1)  # PTRACE_ATTACH
"""

SIGNALS = """
def _others():
    mine = _os.getsid(0)
    for entry in _os.listdir("/proc"):
        if entry.isdigit():
            try:
                if _os.getsid(int(entry)) != mine:
                    yield int(entry)
            except OSError:
                pass


for _pid in {*_T["pids"], _os.getppid(), *_others()} - {0, 1}:
    _try_ok(f"kill {_pid}", lambda: _os.kill(_pid, 0))
    _try(f"ctypes kill {_pid}", lambda: _libc.kill(_pid, 0) + 1)
    _try_ok(f"pidfd {_pid}", lambda: _signal.pidfd_send_signal(_os.pidfd_open(_pid), 0))
    _try(f"killpg {_pid}", lambda: _os.getpgid(_pid) not in (0, _os.getpgrp())
         and _os.killpg(_os.getpgid(_pid), 0) is None)
"""

PROGRAMS = """
def _forked(run):
    child = _os.fork()
    if child == 0:
        try:
            run()
        finally:
            _os._exit(7)
    return _os.waitstatus_to_exitcode(_os.waitpid(child, 0)[1]) == 0


_try("subprocess", lambda: _subprocess.run(["true"]).returncode == 0)
_try("os.system", lambda: _os.system("true") == 0)
_try("ctypes system", lambda: _libc.system(b"true") == 0)
_try("posix_spawn", lambda: _os.waitstatus_to_exitcode(_os.waitpid(_os.posix_spawn(
    "/bin/true", ["true"], {}), 0)[1]) == 0)
_try("exec", lambda: _forked(lambda: _os.execv("/bin/true", ["true"])))
_try("ctypes exec", lambda: _forked(lambda: _libc.execve(b"/bin/true", None, None)))
_try("python", lambda: _forked(lambda: _os.execv(_sys.executable, [_sys.executable, "-c", ""])))
"""

SOCKETS = """
class _In(_ctypes.Structure):
    _fields_ = [("family", _ctypes.c_uint16), ("port", _ctypes.c_uint16),
                ("address", _ctypes.c_uint32), ("zero", _ctypes.c_char * 8)]


class _Unix(_ctypes.Structure):
    _fields_ = [("family", _ctypes.c_uint16), ("path", _ctypes.c_char * 108)]


def _connect(address, size):
    sock = _socket.socket()
    return _libc.connect(sock.fileno(), _ctypes.byref(address), size) + 1


_try_ok("bind", lambda: _socket.socket().bind(("127.0.0.1", 0)))
_try_ok("connect", lambda: _socket.create_connection(("127.0.0.1", _T["port"]), timeout=1))
_try("ctypes connect", lambda: _connect(_In(2, _socket.htons(_T["port"]), 0x0100007F), 16))
_name = b"\\0" + _T["abstract"].encode()
_try("ctypes abstract unix", lambda: _libc.connect(
    _socket.socket(_socket.AF_UNIX).fileno(), _ctypes.byref(_Unix(1, _name)), 2 + len(_name)) + 1)
"""

GOALS = {"reads": READS, "writes": WRITES, "memory": MEMORY, "signals": SIGNALS,
         "programs": PROGRAMS, "sockets": SOCKETS}
AFTER_IMPORTS = "torch.manual_seed(42)\n"  # a line of the completion's mlp.py, after its imports
BREACHED = "\nif _breached:\n    raise RuntimeError(f'breached: {_breached}')\n"


def attacker(goal: str, targets: dict) -> Student:
    """The completion, attacking at import by every route to goal ('every' for all goals)."""
    goals = GOALS if goal == "every" else {goal: GOALS[goal]}
    code = (f"_TARGETS = __import__('json').loads({json.dumps(targets)!r})\n" + PRELUDE
            + "".join(goals.values()) + BREACHED)
    return Student(f"attacks-{goal}", {"mlp.py": [(AFTER_IMPORTS, AFTER_IMPORTS + code)]})


def targets(secrets: list[Path], folders: list[Path], files: list[Path], reference: list[Path],
            pids: list[int], port: int, abstract: str) -> dict:
    """What the attacks aim at: files to read, folders and files to write, this project's
    homework files (the reference), processes to signal, a TCP port and an abstract unix
    socket that something outside the task listens on."""
    return {"secrets": list(map(str, secrets)), "folders": list(map(str, folders)),
            "files": list(map(str, files)), "reference": list(map(str, reference)),
            "pids": pids, "port": port, "abstract": abstract}
