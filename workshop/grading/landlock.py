"""Landlock, the Linux kernel's unprivileged sandbox, through its three system calls (ctypes).

confine(read, write) puts the calling process, and every process it starts from then on, in a
Landlock domain that it cannot leave, undo or widen. What it guarantees, by the kernel's ABI
version (`abi()`; kernels 5.13 and later have one, these machines 7):

- ABI 1 (Linux 5.13) and later: files and folders under `read` can be read (not executed);
  under `write` read, written, made, renamed within and removed; nothing else in the file
  system can be opened, listed, written, made or removed, whatever route the code takes (open,
  a directory's file descriptor, sqlite, a library's C code, a system call through ctypes), and
  no program can be started at all (no path grants the right to execute). No process outside
  the domain can be traced or have its memory read (ptrace, /proc/PID/mem, /proc/PID/environ).
- ABI 2 (5.19): files cannot be linked or renamed from one granted folder into another.
- ABI 3 (6.2): files outside `write` cannot be truncated.
- ABI 4 (6.7): no TCP port can be bound or connected to.
- ABI 5 (6.10): no ioctl on a device file (/dev/null included is granted none).
- ABI 6 (6.12): no signal can be sent to a process outside the domain, nor an abstract unix
  socket outside it connected to.

What it does not cover, at any ABI: UDP and unix sockets by path (the granted folders hold
none of another process's), reading the identity of other processes through /proc (their
command lines, not their memory), and files opened before confine() (the caller closes them).
"""

from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path

# linux/landlock.h: the system calls (the same number on every architecture) and flags.
CREATE_RULESET, ADD_RULE, RESTRICT_SELF = 444, 445, 446
CREATE_RULESET_VERSION = 1
RULE_PATH_BENEATH = 1
PR_SET_NO_NEW_PRIVS = 38
# The rights to files, by the ABI that brought them.
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR, MAKE_REG = 1 << 4, 1 << 5, 1 << 6, 1 << 7, 1 << 8
MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = 1 << 9, 1 << 10, 1 << 11, 1 << 12
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
FILE_RIGHTS = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 4: (1 << 15) - 1,
               5: (1 << 16) - 1}
BIND_TCP, CONNECT_TCP = 1 << 0, 1 << 1  # ABI 4
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1  # ABI 6
# Rights that only make sense on a folder: a rule on a file may not name them.
FOLDER_ONLY = READ_DIR | REMOVE_DIR | REMOVE_FILE | MAKE_CHAR | MAKE_DIR | MAKE_REG | \
    MAKE_SOCK | MAKE_FIFO | MAKE_BLOCK | MAKE_SYM | REFER


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1  # packed in the kernel's header
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None


def _syscall(number: int, *args: object) -> int:
    """A system call; OSError when it fails."""
    result = _LIBC.syscall(ctypes.c_long(number), *args)
    if result < 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))
    return result


def abi() -> int:
    """The kernel's Landlock ABI version: 0 where there is none (not Linux, a kernel before
    5.13, or Landlock turned off at boot)."""
    if _LIBC is None:
        return 0
    try:
        return _syscall(CREATE_RULESET, None, ctypes.c_size_t(0),
                        ctypes.c_uint32(CREATE_RULESET_VERSION))
    except OSError:
        return 0


def confine(read: list[Path], write: list[Path]) -> int:
    """Confine this process and its future children to reading `read` and reading and writing
    `write` (paths that do not exist are skipped), with no program started, no TCP and no
    signal leaving the domain, as far as the kernel's ABI goes: that ABI. OSError where
    Landlock is missing or refuses."""
    version = abi()
    if not version:
        raise OSError("Landlock is not available on this kernel")
    handled = FILE_RIGHTS[min(version, 5)]
    attr = _RulesetAttr(handled, BIND_TCP | CONNECT_TCP if version >= 4 else 0,
                        SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if version >= 6 else 0)
    ruleset = _syscall(CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr)),
                       ctypes.c_uint32(0))
    try:
        readable = READ_FILE | READ_DIR
        writable = handled & ~(EXECUTE | MAKE_CHAR | MAKE_BLOCK)
        for paths, rights in ((read, readable), (write, writable)):
            for path in paths:
                _allow(ruleset, Path(path), rights)
        if _LIBC.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
        _syscall(RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0))
    finally:
        os.close(ruleset)
    return version


def _allow(ruleset: int, path: Path, rights: int) -> None:
    """One rule: rights beneath path (on a file, its file rights alone)."""
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # nothing there to grant
    try:
        if not path.is_dir():
            rights &= ~FOLDER_ONLY
        rule = _PathBeneathAttr(rights, fd)
        _syscall(ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(RULE_PATH_BENEATH),
                 ctypes.byref(rule), ctypes.c_uint32(0))
    finally:
        os.close(fd)
