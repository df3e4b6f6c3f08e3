"""Run a reader over a hostile file in a child process capped in wall time and memory.

Files come from strangers: one may make a reader loop, or swallow all the memory there is.
``run_isolated`` calls the reader in a child process whose address space and CPU time are
capped, waits for it no longer than the wall-time cap, and turns every way the child can
fail into an ``UnreadableDocument`` with a French reason. The child comes from a forkserver,
so (as with any start method but fork) the program's main module must be importable without
side effects: keep the ``if __name__ == "__main__":`` guard in scripts.
"""

from __future__ import annotations

import math
import multiprocessing
import resource
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from guichet.errors import GuichetError, UnreadableDocument

T = TypeVar("T")

# The readers' modules, imported once by the forkserver for all the children (whichever
# reader starts it first: the preload is fixed when the forkserver starts).
READERS = ("parsers.pdf_reader", "parsers.word_reader")


def run_isolated(
    func: Callable[..., T],
    args: tuple[Any, ...],
    *,
    seconds: float,
    memory_bytes: int,
    task: str,
    preload: Sequence[str] = (),
) -> T:
    """Call ``func(*args)`` in a child process capped in wall time and address space.

    ``task`` names the work in the French messages ("Lecture du PDF"); ``preload`` lists
    the modules the forkserver imports once for all its children (ignored once it runs).
    ``GuichetError`` raised by ``func`` reaches the caller as it is.
    """
    context = multiprocessing.get_context("forkserver")
    if preload:
        context.set_forkserver_preload(list(preload))
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(
        target=_serve_child, args=(sender, func, args, seconds, memory_bytes, task), daemon=True
    )
    child.start()
    sender.close()
    try:
        if not receiver.poll(seconds):
            raise UnreadableDocument(
                f"{task} abandonnée après {seconds:g} s : fichier trop complexe ou endommagé."
            )
        outcome, value = receiver.recv()
    except EOFError:
        child.join(5)
        raise UnreadableDocument(
            f"{task} interrompue : le processus de lecture s’est arrêté (code {child.exitcode})."
        ) from None
    finally:
        receiver.close()
        if child.is_alive():
            child.kill()
        child.join()
    if outcome == "error":
        raise value
    return value


def _serve_child(
    sender: Connection,
    func: Callable[..., Any],
    args: tuple[Any, ...],
    seconds: float,
    memory_bytes: int,
    task: str,
) -> None:
    """The child side of ``run_isolated``: cap, run, send back the result or the error."""
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    cpu_seconds = math.ceil(seconds) + 5  # in case the parent is gone
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
    try:
        sender.send(("ok", func(*args)))
    except GuichetError as e:
        sender.send(("error", e))
    except MemoryError:
        sender.send(
            (
                "error",
                UnreadableDocument(
                    f"{task} abandonnée : plus de {_amount(memory_bytes)} de mémoire nécessaires "
                    "(fichier trop complexe ou endommagé)."
                ),
            )
        )
    except Exception as e:  # noqa: BLE001 - a bug here must still reach the parent
        sender.send(("error", UnreadableDocument(f"{task} impossible ({type(e).__name__}).")))
    finally:
        sender.close()


def _amount(size: int) -> str:
    """« 2 Go », « 1,5 Go », « 512 Mo »: a memory size in French."""
    if size >= 1 << 30:
        return f"{size / (1 << 30):g} Go".replace(".", ",")
    return f"{size / (1 << 20):.0f} Mo"
