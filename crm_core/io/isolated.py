"""Read a file in a separate process with a memory cap and a time limit, so a hostile or huge file fails
that process only.

A 1.6 KB workbook once made the Excel reader ask for 549 GB and abort the whole server (every session
lost); the workbook checks of :mod:`crm_core.io.archive` catch the shapes found so far, and this is the
fence behind them for the shapes nobody has found yet. :func:`read_table_isolated` runs
:func:`crm_core.io.read_table` in a child forked from a clean ``forkserver`` process (no threads of the
server's, ``crm_core.io`` already imported) with ``RLIMIT_AS`` at ``memory_mb``; a child that runs out of
memory or time is ended and the caller gets a :class:`DataError` to translate
(``io.error.out_of_memory`` / ``io.error.out_of_time``), never a crash.
"""
from __future__ import annotations

import multiprocessing
import resource
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from crm_core.io.report import DataError, LoadResult

MEMORY_MB = 2048     # default cap on the reading process's address space (a 2-core, 4 GB server)
SECONDS = 300        # default time limit for one file
_CONTEXT: Any = None
_LOCK = threading.Lock()


def _context() -> Any:
    global _CONTEXT
    with _LOCK:
        if _CONTEXT is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["crm_core.io"])
            _CONTEXT = context
        return _CONTEXT


def _child(send: Connection, memory_mb: int, function: Callable[..., Any], args: tuple, kwargs: dict) -> None:
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        outcome: tuple[str, Any] = ("ok", function(*args, **kwargs))
    except DataError as error:
        outcome = ("data_error", (error.key, error.params))
    except MemoryError:
        outcome = ("memory", None)
    send.send(outcome)
    send.close()


def run_isolated(function: Callable[..., Any], *args: Any, memory_mb: int = MEMORY_MB, seconds: float = SECONDS,
                 **kwargs: Any) -> Any:
    """``function(*args, **kwargs)`` in a capped child process; its result, or the :class:`DataError` it raised.

    ``io.error.out_of_memory`` (params ``mb``) when the child hit the memory cap (a ``MemoryError`` or an
    abort: Rust's allocator aborts instead of raising), ``io.error.out_of_time`` (``seconds``) when it ran
    longer than ``seconds``. Any other failure of the child is a bug and raises ``RuntimeError``.
    """
    context = _context()
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(send, memory_mb, function, args, kwargs), daemon=True)
    child.start()
    send.close()
    try:
        if not receive.poll(seconds):
            if child.is_alive():
                child.kill()
                child.join()
                raise DataError("io.error.out_of_time", {"seconds": int(seconds)})
        try:
            status, value = receive.recv()
        except EOFError:  # died without a word: the allocator aborted at the cap, or the kernel killed it
            child.join()
            raise DataError("io.error.out_of_memory", {"mb": memory_mb}) from None
    finally:
        receive.close()
    child.join()
    if status == "ok":
        return value
    if status == "data_error":
        raise DataError(*value)
    raise DataError("io.error.out_of_memory", {"mb": memory_mb})


def read_table_isolated(source: Any, *, memory_mb: int = MEMORY_MB, seconds: float = SECONDS,
                        **options: Any) -> LoadResult:
    """:func:`crm_core.io.read_table` of ``source`` (bytes, a named BytesIO or a path) in a capped child process."""
    from crm_core.io.read import read_table

    return run_isolated(read_table, source, memory_mb=memory_mb, seconds=seconds, **options)
