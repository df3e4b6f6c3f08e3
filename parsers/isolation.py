"""Run a reader over a hostile file in a child process capped in wall time and memory.

Files come from strangers: one may make a reader loop, or swallow all the memory there is.
``run_isolated`` calls the reader in a child process whose address space and CPU time are
capped for that file, waits for it no longer than the wall-time cap, and turns every way
the child can fail into an ``UnreadableDocument`` with a French reason.

The child is warm: one interpreter started once (``python -c`` with this module's
``_serve``) and fed the files one after the other over a pipe, so a file costs a pickle
there and back rather than a process. The reader's module is imported by the child on
its first file. The command line's child (``warm_up``, in a process with one thread) is
a fork instead, which skips an interpreter's start. A child that overran its time (killed), died, or ran out of memory is
dropped, and the next file starts a fresh one; so is a child whose file failed (and the
file is read again in a fresh child, if the failed one was warm: an earlier file's heap
must not change a verdict); a child also retires after
``FILES_PER_CHILD`` files, or when its address space has grown past ``RETIRE_BYTES``.
Threads calling at the same time get a child each (idle children are kept for reuse).
An idle child exits when the parent closes its pipe (or dies); a busy one whose parent
died ends at its CPU-time cap.
"""

from __future__ import annotations

import atexit
import math
import os
import pickle
import resource
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from guichet.errors import GuichetError, UnreadableDocument

T = TypeVar("T")

# The readers' modules: the child imports a reader's module when it unpickles its first
# call, or at its start when named to ``warm_up``.
READERS = ("parsers.pdf_reader", "parsers.word_reader")
FILES_PER_CHILD = 500
RETIRE_BYTES = 1 << 30  # a child whose address space grew past this after a file retires
_ROOT = str(Path(__file__).resolve().parent.parent)  # where the ``parsers`` package lives


class _Child:
    """One warm reader process and the two ends of its pipes."""

    def __init__(self, preload: Sequence[str] = (), *, fork: bool = False) -> None:
        request_read, request_write = os.pipe()
        reply_read, reply_write = os.pipe()
        try:
            if fork:
                self.process: subprocess.Popen[bytes] | _Forked = _fork(
                    (request_read, reply_write), preload
                )
            else:
                self.process = _spawn((request_read, reply_write), preload)
        finally:
            os.close(request_read)
            os.close(reply_write)
        self.requests = _Pipe(request_write)
        self.replies = _Pipe(reply_read)
        self.files = 0

    def close(self, *, kill: bool = False) -> None:
        """Stop the child and release its pipes: an idle child exits when its pipe
        closes; a busy one (``kill``) is killed."""
        for end in (self.requests, self.replies):
            try:
                end.close()
            except OSError:
                pass
        if self.process.poll() is None:
            if kill:
                self.process.kill()
            try:
                self.process.wait(2)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class _Pipe:
    """One end of a pipe that carries pickled objects, each after its length (what
    ``multiprocessing.connection`` does, without the tens of modules it imports)."""

    _HEADER = struct.Struct("!Q")

    def __init__(self, fd: int) -> None:
        self.fd: int | None = fd

    def send(self, value: object) -> None:
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        view = memoryview(self._HEADER.pack(len(data)) + data)
        while view:
            view = view[os.write(self._open(), view):]

    def recv(self) -> Any:
        (size,) = self._HEADER.unpack(self._read(self._HEADER.size))
        return pickle.loads(self._read(size))

    def poll(self, timeout: float) -> bool:
        """Whether something (a value, or the other end's closing) can be read within
        ``timeout`` seconds."""
        waiting = select.poll()
        waiting.register(self._open(), select.POLLIN)
        return bool(waiting.poll(timeout * 1000))

    def close(self) -> None:
        fd, self.fd = self.fd, None
        if fd is not None:
            os.close(fd)

    def _open(self) -> int:
        if self.fd is None:
            raise OSError("pipe closed")
        return self.fd

    def _read(self, size: int) -> bytearray:
        data = bytearray(size)
        view = memoryview(data)
        done = 0
        while done < size:
            read = os.readv(self._open(), [view[done:]])
            if not read:
                raise EOFError
            done += read
        return data


def _spawn(ends: tuple[int, int], preload: Sequence[str]) -> subprocess.Popen[bytes]:
    """A fresh interpreter serving on ``ends`` (its request and reply pipe ends)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [_ROOT, env.get("PYTHONPATH")]))
    code = (
        "import sys; from parsers.isolation import _serve; "
        "_serve(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:])"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code, *map(str, ends), *preload],
        pass_fds=ends,
        stdin=subprocess.DEVNULL,
        env=env,
        close_fds=True,
    )


def _fork(ends: tuple[int, int], preload: Sequence[str]) -> _Forked:
    """A copy of this process serving on ``ends``, which skips an interpreter's start.
    Only for a process with one thread (a thread holding a lock at the fork would leave
    it held in the copy): the command line, before it has done anything."""
    pid = os.fork()
    if pid:
        return _Forked(pid)
    code = 1  # the copy never returns into its parent's code
    try:
        low, high = sorted(ends)  # only its own pipe ends and the standard streams stay
        os.closerange(3, low)
        os.closerange(low + 1, high)
        os.closerange(high + 1, os.sysconf("SC_OPEN_MAX"))
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        _serve(*ends, preload)
        code = 0
    finally:
        os._exit(code)


class _Forked:
    """A forked child, with the part of ``subprocess.Popen`` that ``_Child`` uses."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout or 0)
            time.sleep(0.005)
        return code

    def kill(self) -> None:
        if self.poll() is None:
            os.kill(self.pid, signal.SIGKILL)


_idle: list[_Child] = []
_lock = threading.Lock()


def _take() -> _Child:
    with _lock:
        while _idle:
            child = _idle.pop()
            if child.process.poll() is None:
                return child
            child.close()
    return _Child()


def _give_back(child: _Child) -> None:
    with _lock:
        _idle.append(child)


def warm_up(*modules: str) -> None:
    """Start a child now, importing ``modules``, while this process does other work
    (the command line starts it before its own imports: both run at once). While this
    process has a single thread, the child is a fork of it, already started."""
    if not _idle:
        _give_back(_Child(modules, fork=hasattr(os, "fork") and threading.active_count() == 1))


def stop_children(*, wait: bool = True) -> None:
    """Stop the idle children: their pipes closed, they exit (waited for unless not ``wait``:
    at exit, an idle child exits on its own)."""
    with _lock:
        children = list(_idle)
        _idle.clear()
    for child in children:
        if wait:
            child.close()
        else:
            for end in (child.requests, child.replies):
                end.close()


atexit.register(stop_children, wait=False)


def run_isolated(
    func: Callable[..., T],
    args: tuple[Any, ...],
    *,
    seconds: float,
    memory_bytes: int,
    task: str,
    preload: Sequence[str] = (),
    meanwhile: Callable[[], object] | None = None,
) -> T:
    """Call ``func(*args)`` in a warm child process capped in wall time and address space.

    ``task`` names the work in the French messages ("Lecture du PDF"); ``preload`` is
    kept for compatibility (the child imports what ``func`` needs). ``meanwhile``, if
    given, is called here while the child works (its time counts in the wall-time cap).
    ``GuichetError`` raised by ``func`` reaches the caller as it is.
    """
    child = _take()
    warm = child.files > 0
    outcome, value = _run_in(child, func, args, seconds, memory_bytes, task, meanwhile)
    if outcome == "error" and warm:
        # A warm child's heap may hold what an earlier file left: the same file in a
        # fresh child gives the answer a first file gets (a failure is rare: cheap)
        outcome, value = _run_in(_Child(), func, args, seconds, memory_bytes, task)
    if outcome == "error":
        raise value
    return value


def _run_in(
    child: _Child,
    func: Callable[..., Any],
    args: tuple[Any, ...],
    seconds: float,
    memory_bytes: int,
    task: str,
    meanwhile: Callable[[], object] | None = None,
) -> tuple[str, Any]:
    """One call in ``child``: ("ok", result) or ("error", exception); the child is kept
    for the next file when it ended well."""
    keep = False
    busy = True
    try:
        try:
            deadline = time.monotonic() + seconds
            child.requests.send((func, args, seconds, memory_bytes, task))
            if meanwhile is not None:
                meanwhile()
            if not child.replies.poll(max(0.0, deadline - time.monotonic())):
                raise UnreadableDocument(
                    f"{task} abandonnée après {seconds:g} s : fichier trop complexe ou endommagé."
                )
            outcome, value, healthy = child.replies.recv()
            busy = False
        except (EOFError, OSError):
            busy = False
            child.close()
            raise UnreadableDocument(
                f"{task} interrompue : le processus de lecture s’est arrêté "
                f"(code {_exit_code(child.process)})."
            ) from None
        child.files += 1
        keep = outcome == "ok" and healthy and child.files < FILES_PER_CHILD
    finally:
        if keep:
            _give_back(child)
        else:
            child.close(kill=busy)
    return outcome, value


def _exit_code(process: subprocess.Popen[bytes]) -> int | None:
    try:
        return process.wait(5)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


# --- the child ---------------------------------------------------------------------


def _serve(request_fd: int, reply_fd: int, preload: Sequence[str] = ()) -> None:
    """The child's loop: read a call, cap, run, send back the result or the error."""
    import importlib

    for module in preload:
        importlib.import_module(module)
    requests = _Pipe(request_fd)
    replies = _Pipe(reply_fd)
    while True:
        try:
            func, args, seconds, memory_bytes, task = requests.recv()
        except (EOFError, OSError):
            return  # the parent is gone or done with us
        outcome, value, healthy = _call(func, args, seconds, memory_bytes, task)
        try:
            replies.send((outcome, value, healthy))
        except MemoryError:
            replies.send(("error", _out_of_memory(task, memory_bytes), False))
        except (EOFError, OSError):
            return


def _call(
    func: Callable[..., Any], args: tuple[Any, ...], seconds: float, memory_bytes: int, task: str
) -> tuple[str, Any, bool]:
    """Run one call under this file's caps; (outcome, value, whether the child stays)."""
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = memory_bytes if hard == resource.RLIM_INFINITY else min(memory_bytes, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    # CPU time counts for the whole life of the child: allow this file its share, in
    # case the parent is gone and nobody kills us at the wall-time cap
    used = resource.getrusage(resource.RUSAGE_SELF)
    spent = math.ceil(used.ru_utime + used.ru_stime)
    _, cpu_hard = resource.getrlimit(resource.RLIMIT_CPU)
    cpu = spent + math.ceil(seconds) + 5
    if cpu_hard != resource.RLIM_INFINITY:
        cpu = min(cpu, cpu_hard)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu_hard))
    try:
        return "ok", func(*args), _address_space() < RETIRE_BYTES
    except GuichetError as e:
        return "error", e, _address_space() < RETIRE_BYTES
    except MemoryError:
        return "error", _out_of_memory(task, memory_bytes), False
    except Exception as e:  # noqa: BLE001 - a bug here must still reach the parent
        return "error", UnreadableDocument(f"{task} impossible ({type(e).__name__})."), False
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (hard, hard))


def _out_of_memory(task: str, memory_bytes: int) -> UnreadableDocument:
    return UnreadableDocument(
        f"{task} abandonnée : plus de {_amount(memory_bytes)} de mémoire nécessaires "
        "(fichier trop complexe ou endommagé)."
    )


def _address_space() -> int:
    """The child's virtual memory size (0 where /proc is missing)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _amount(size: int) -> str:
    """« 2 Go », « 1,5 Go », « 512 Mo »: a memory size in French."""
    if size >= 1 << 30:
        return f"{size / (1 << 30):g} Go".replace(".", ",")
    return f"{size / (1 << 20):.0f} Mo"
