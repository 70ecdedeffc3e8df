"""Read a file in a separate process with a memory cap and a time limit, so a hostile or huge file fails
that process only.

A 1.6 KB workbook once made the Excel reader ask for 549 GB and abort the whole server (every session
lost); the workbook checks of :mod:`crm_core.io.archive` catch the shapes found so far, and this is the
fence behind them for the shapes nobody has found yet. :func:`read_table_isolated` runs
:func:`crm_core.io.read_table` in a child forked from a clean ``forkserver`` process (no threads of the
server's, ``crm_core.io`` already imported) with ``RLIMIT_AS`` at ``memory_mb``; a child that runs out of
memory or time is ended and the caller gets a :class:`DataError` to translate
(``io.error.out_of_memory`` / ``io.error.out_of_time``), never a crash.

The child does not re-run the parent's main script. ``multiprocessing`` sends every child the path of
``sys.modules["__main__"]`` to import first, and inside Streamlit that is the app's script: each child
ran ``app.py`` in bare mode, importing Streamlit and the whole app (1,100 modules, 8 threads, 800 MB of
address space before reading a byte), so a 600 MB cap refused a three-line file. Children started here
get that entry removed (:func:`_preparation_data`; the target lives in this importable module).

Neither the file nor the table crosses the pipe: :func:`read_table_isolated` writes an upload's bytes to a
private temporary folder and gives the child the path (which it reads in blocks, see
:func:`crm_core.io.readers._read_csv_streamed`); the child writes the loaded lines and the rejected rows
there as Parquet files and sends back only the report. Pickling the frames instead cost 3 s of a 4.5 s
upload at 1M lines and two more copies of the table (the pickle on each side); uncompressed Arrow files
(2.5 GB at 10M lines) cost more in disk writes than Parquet's compression does.
"""
from __future__ import annotations

import dataclasses
import multiprocessing
import multiprocessing.spawn
import resource
import shutil
import tempfile
import threading
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import polars as pl

from crm_core.io.report import DataError, LoadReport, LoadResult
from crm_core.io.source import _read_bytes, _source_name

MEMORY_MB = 2048     # default cap on the reading process's address space (a 2-core, 4 GB server)
SECONDS = 300        # default time limit for one file
_CONTEXT: Any = None
_LOCK = threading.Lock()
_STARTING = threading.local()  # set while this thread starts one of our children
_ORIGINAL_PREPARATION = multiprocessing.spawn.get_preparation_data


def _preparation_data(name: str) -> dict[str, Any]:
    """What ``multiprocessing`` sends a new child, without the main script for the children started here."""
    data = _ORIGINAL_PREPARATION(name)
    if getattr(_STARTING, "lean", False):
        data.pop("init_main_from_path", None)
        data.pop("init_main_from_name", None)
    return data


def _context() -> Any:
    global _CONTEXT
    with _LOCK:
        if _CONTEXT is None:
            multiprocessing.spawn.get_preparation_data = _preparation_data  # (only ours are changed: _STARTING)
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
    except Exception:  # noqa: BLE001 - a bug in reading: the parent raises it, with this traceback
        outcome = ("bug", traceback.format_exc())
    try:
        send.send(outcome)
    except BaseException:  # noqa: BLE001 - read, but pickling the result crossed the cap (MemoryError, or
        send.send(("memory", None))  # polars' PanicException when its serializer's allocation failed)
    send.close()


def run_isolated(function: Callable[..., Any], *args: Any, memory_mb: int = MEMORY_MB, seconds: float = SECONDS,
                 **kwargs: Any) -> Any:
    """``function(*args, **kwargs)`` in a capped child process; its result, or the :class:`DataError` it raised.

    ``io.error.out_of_memory`` (params ``mb``) when the child hit the memory cap (a ``MemoryError`` or an
    abort: Rust's allocator aborts instead of raising, or the kernel's kill), ``io.error.out_of_time``
    (``seconds``) when it ran longer than ``seconds``. Any other failure of the child is a bug and raises
    ``RuntimeError`` with the child's traceback.
    """
    context = _context()
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(send, memory_mb, function, args, kwargs), daemon=True)
    _STARTING.lean = True
    try:
        child.start()
    finally:
        _STARTING.lean = False
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
            if child.exitcode in (-6, -9):  # SIGABRT (Rust's allocator), SIGKILL (the kernel's OOM killer)
                raise DataError("io.error.out_of_memory", {"mb": memory_mb}) from None
            raise RuntimeError(f"the reading process ended with exit code {child.exitcode}") from None
    finally:
        receive.close()
    child.join()
    if status == "ok":
        return value
    if status == "data_error":
        raise DataError(*value)
    if status == "bug":
        raise RuntimeError("reading failed in the child process:\n" + value)
    raise DataError("io.error.out_of_memory", {"mb": memory_mb})


def read_table_isolated(source: Any, *, memory_mb: int = MEMORY_MB, seconds: float = SECONDS,
                        **options: Any) -> LoadResult:
    """:func:`crm_core.io.read_table` of ``source`` (bytes, a named BytesIO or a path) in a capped child process.

    Bytes are written to a private temporary folder first (removed afterwards), so the child reads a file;
    the frames come back through Parquet files in that folder, the report through the pipe.
    """
    from crm_core.io.limits import MAX_BYTES

    folder = Path(tempfile.mkdtemp(prefix="crm-read-"))
    try:
        if isinstance(source, (str, Path)):
            path = Path(source)
        else:
            path = folder / "upload"
            path.write_bytes(_read_bytes(source, options.get("max_bytes", MAX_BYTES)))
        report = run_isolated(_read_into, path, _source_name(source), folder, memory_mb=memory_mb, seconds=seconds,
                              **options)
        return LoadResult(pl.read_parquet(folder / "lines.parquet"), report,
                          pl.read_parquet(folder / "rejected.parquet"))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _read_into(path: Path, name: str, folder: Path, **options: Any) -> LoadReport:
    """In the child: read ``path``, write its lines and rejected rows into ``folder``, return the report
    (under the upload's own ``name``)."""
    from crm_core.io.read import read_table

    result = read_table(path, **options)
    result.df.write_parquet(folder / "lines.parquet")
    result.rejected.write_parquet(folder / "rejected.parquet")
    return dataclasses.replace(result.report, source_name=name)
