"""Reading in a capped child process: the result comes back, and running out of memory or time is a
translated DataError, never the end of the caller's process."""
from __future__ import annotations

import time

import polars as pl
import pytest

from crm_core.io import DataError, read_table
from crm_core.io.isolated import read_table_isolated, run_isolated

CSV = "客户编号,下单时间,金额\nK1,2024-01-05,10\nK2,2024-01-06,12.5\nK1,2024-02-01,8\n".encode()


def allocate(megabytes: int) -> int:
    return len(bytearray(megabytes * 1024 * 1024))


def polars_allocate(rows: int) -> int:
    return pl.repeat(1.0, rows, eager=True).len()   # Rust aborts (no MemoryError) when the cap is hit


def sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def refuse() -> None:
    raise DataError("io.error.empty")


def test_the_result_is_the_same_as_reading_in_process():
    isolated, direct = read_table_isolated(CSV), read_table(CSV)
    assert isolated.df.equals(direct.df) and isolated.report.mapping == direct.report.mapping


def test_a_data_error_in_the_child_reaches_the_caller_with_its_key():
    with pytest.raises(DataError) as raised:
        run_isolated(refuse)
    assert raised.value.key == "io.error.empty"
    with pytest.raises(DataError) as unreadable:
        read_table_isolated(b"")
    assert unreadable.value.key == read_table_error(b"")


def read_table_error(raw: bytes) -> str:
    try:
        read_table(raw)
    except DataError as error:
        return error.key
    raise AssertionError("expected a DataError")


def test_python_running_out_of_memory_is_out_of_memory():
    assert run_isolated(allocate, 10, memory_mb=1536) == 10 * 1024 * 1024
    with pytest.raises(DataError) as raised:
        run_isolated(allocate, 4096, memory_mb=1024)
    assert raised.value.key == "io.error.out_of_memory" and raised.value.params == {"mb": 1024}


def test_rust_aborting_at_the_cap_is_out_of_memory_and_the_caller_lives_on():
    with pytest.raises(DataError) as raised:
        run_isolated(polars_allocate, 2_000_000_000, memory_mb=512)   # 16 GB of floats
    assert raised.value.key == "io.error.out_of_memory"
    assert run_isolated(polars_allocate, 1000, memory_mb=1536) == 1000   # the next read works


def test_a_read_past_its_time_is_stopped():
    started = time.monotonic()
    with pytest.raises(DataError) as raised:
        run_isolated(sleep, 30, seconds=1)
    assert raised.value.key == "io.error.out_of_time" and raised.value.params == {"seconds": 1}
    assert time.monotonic() - started < 10


def broken() -> None:
    raise KeyError("a bug, not a full memory")


def modules_loaded() -> tuple[bool, str | None]:
    import sys

    return "streamlit" in sys.modules, getattr(sys.modules["__main__"], "__file__", None)


def test_a_bug_in_the_child_is_a_bug_with_its_traceback_not_out_of_memory():
    with pytest.raises(RuntimeError) as raised:
        run_isolated(broken)
    assert "KeyError" in str(raised.value) and "a bug, not a full memory" in str(raised.value)


def test_the_child_does_not_run_the_parents_main_script(tmp_path, monkeypatch):
    """Inside Streamlit ``__main__`` is the app's script; multiprocessing would have each child run it
    first (importing Streamlit and the whole app before reading a byte)."""
    import sys
    import types

    marker = tmp_path / "ran.txt"
    script = tmp_path / "app_script.py"
    script.write_text(f"open({str(marker)!r}, 'w').write('the child ran the script')\n")
    main = types.ModuleType("__main__")
    main.__file__, main.__spec__ = str(script), None
    monkeypatch.setitem(sys.modules, "__main__", main)
    streamlit_loaded, main_file = run_isolated(modules_loaded)
    assert not streamlit_loaded and main_file != str(script)
    assert read_table_isolated(CSV).df.height == 3
    assert not marker.exists()
