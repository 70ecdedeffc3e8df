"""Artefacts: computed once however many ask, kept beside a saved dataset, bounded in memory."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import polars as pl
import pytest

from crm_core import artefacts as module
from crm_core.artefacts import MISSING, Artefacts, Key


def wait_ready(store: Artefacts, key: Key, folder: Path | None, seconds: float = 10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = store.peek(key, folder)
        if value is not MISSING:
            return value
        time.sleep(0.01)
    raise AssertionError(f"{key.name} never became ready")


def test_many_threads_asking_at_once_compute_once():
    store = Artefacts()
    calls = []
    gate = threading.Event()

    def compute():
        calls.append(1)
        gate.wait(5)
        return pl.DataFrame({"x": [1, 2, 3]})

    key = Key("table", "f" * 32, (90,))
    results = []
    threads = [threading.Thread(target=lambda: results.append(store.get(key, compute, None))) for _ in range(8)]
    for thread in threads:
        thread.start()
    time.sleep(0.2)
    gate.set()
    for thread in threads:
        thread.join(10)
    assert len(calls) == 1
    assert len(results) == 8 and all(result is results[0] for result in results)  # shared, not copied
    assert store.computed["table"] == 1


def test_start_returns_at_once_and_the_worker_computes():
    store = Artefacts()
    release = threading.Event()
    key = Key("slow", "a" * 32)
    status = store.start(key, lambda: release.wait(5) and 42, None)
    assert status.state == "queued"
    assert store.peek(key, None) is MISSING
    assert store.status(key, None).state in ("queued", "running")
    assert store.start(key, lambda: 0, None).state in ("queued", "running")  # not started twice
    release.set()
    assert wait_ready(store, key, None) == 42
    assert store.status(key, None).state == "ready"
    assert store.computed["slow"] == 1


def test_none_is_a_value():
    store = Artefacts()
    key = Key("nothing", "b" * 32)
    assert store.get(key, lambda: None, None) is None
    assert store.peek(key, None) is None
    assert store.computed["nothing"] == 1


def test_a_saved_dataset_reads_its_artefacts_back_in_another_process(tmp_path):
    folder = tmp_path / "dataset-id"
    folder.mkdir()
    key = Key("model", "c" * 32, ("2026-01-01", 90))
    first = Artefacts()
    assert first.get(key, lambda: {"auc": 0.71}, folder) == {"auc": 0.71}
    first.flush()  # (written by the writer thread)
    files = list((folder / module.FOLDER).glob("*.pkl"))
    assert [f.name for f in files] == [key.file_name()]
    assert not list((folder / module.FOLDER).glob(".writing-*"))  # written whole, then renamed

    fresh = Artefacts()  # a restarted server
    assert fresh.peek(key, folder) == {"auc": 0.71}
    assert fresh.get(key, lambda: pytest.fail("computed again"), folder) == {"auc": 0.71}
    assert fresh.computed["model"] == 0 and fresh.read["model"] == 1


def test_other_parameters_and_other_data_are_other_artefacts(tmp_path):
    store = Artefacts()
    one, other_horizon, other_data = Key("m", "d" * 32, (90,)), Key("m", "d" * 32, (30,)), Key("m", "e" * 32, (90,))
    assert len({one.digest, other_horizon.digest, other_data.digest}) == 3
    store.get(one, lambda: 1, None)
    assert store.peek(other_horizon, None) is MISSING and store.peek(other_data, None) is MISSING


def test_results_of_another_code_version_are_never_read_and_are_removed(tmp_path, monkeypatch):
    folder = tmp_path / "ds"
    folder.mkdir()
    key = Key("m", "f" * 32)
    old = Artefacts()
    old.get(key, lambda: "old code", folder)
    old.flush()
    old_file = folder / module.FOLDER / key.file_name()
    assert old_file.exists()
    monkeypatch.setattr(module, "CODE_VERSION", "0123456789ab")
    fresh = Artefacts()
    assert fresh.peek(key, folder) is MISSING
    assert fresh.get(key, lambda: "new code", folder) == "new code"
    fresh.flush()
    assert not old_file.exists()
    assert [f.name for f in (folder / module.FOLDER).glob("*.pkl")] == [key.file_name()]


def test_a_damaged_file_is_computed_again(tmp_path):
    folder = tmp_path / "ds"
    folder.mkdir()
    key = Key("m", "1" * 32)
    (folder / module.FOLDER).mkdir()
    (folder / module.FOLDER / key.file_name()).write_bytes(b"not a pickle")
    store = Artefacts()
    assert store.peek(key, folder) is MISSING
    assert store.get(key, lambda: 7, folder) == 7
    store.flush()
    assert Artefacts().peek(key, folder) == 7


def test_memory_holds_at_most_its_budget_least_recently_used_out_first():
    store = Artefacts(budget_bytes=3_100_000)
    keys = [Key("blob", "2" * 32, (n,)) for n in range(4)]
    for key in keys[:2]:
        store.get(key, lambda: b"x" * 1_000_000, None)
    store.peek(keys[0], None)  # used again: the second is now the oldest
    store.flush()
    store.get(keys[2], lambda: b"x" * 1_000_000, None)
    store.flush()
    store.get(keys[3], lambda: b"x" * 1_000_000, None)
    store.flush()  # (sized by the writer thread)
    assert store.held_bytes <= 3_100_000
    assert store.peek(keys[1], None) is MISSING
    assert all(store.peek(key, None) is not MISSING for key in (keys[0], keys[2], keys[3]))


def test_values_also_on_disk_leave_memory_when_idle(tmp_path):
    folder = tmp_path / "ds"
    folder.mkdir()
    store = Artefacts(idle_seconds=0.05)
    kept, unsaved = Key("m", "3" * 32), Key("m", "4" * 32)
    store.get(kept, lambda: b"y" * 1000, folder)
    store.get(unsaved, lambda: b"z" * 1000, None)
    store.flush()
    time.sleep(0.1)
    store.sweep()
    assert store.held_bytes < 2000 and store.held_bytes > 0  # the unsaved one stays: it exists nowhere else
    assert store.peek(kept, folder) == b"y" * 1000  # read back from its file
    assert store.read["m"] == 1


def test_a_failure_reaches_whoever_asks_and_is_not_retried_at_every_run():
    store = Artefacts()
    key = Key("broken", "5" * 32)
    calls = []

    def compute():
        calls.append(1)
        raise ValueError("bad data")

    store.start(key, compute, None)
    deadline = time.monotonic() + 5
    while store.status(key, None).state != "failed" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert isinstance(store.error(key), ValueError)
    assert store.start(key, compute, None).state == "failed"
    assert len(calls) == 1
    with pytest.raises(ValueError):
        store.get(key, compute, None)  # asked for directly: tried again, and raised
    assert store.get(key, lambda: "fixed", None) == "fixed"


def test_a_computation_that_needs_a_queued_one_runs_it_instead_of_waiting_behind_it():
    store = Artefacts(workers=1)
    model, table = Key("model", "6" * 32), Key("table", "6" * 32)
    blocker_release = threading.Event()
    store.start(Key("blocker", "6" * 32), lambda: blocker_release.wait(5), None)

    def build_table():
        return ("table of", store.get(model, lambda: "model", None))

    store.start(table, build_table, None)   # queued behind the blocker
    store.start(model, lambda: "model", None)  # queued behind the table: the table would wait for it forever
    blocker_release.set()
    assert wait_ready(store, table, None) == ("table of", "model")
    assert store.computed["model"] == 1


def test_sweeping_in_the_background_gives_memory_back_when_nobody_asks(tmp_path):
    folder = tmp_path / "ds"
    folder.mkdir()
    store = Artefacts(idle_seconds=0.05)
    store.get(Key("m", "7" * 32), lambda: b"w" * 10_000, folder)
    store.flush()
    assert store.held_bytes > 10_000
    store.sweep_every(0.02)
    deadline = time.monotonic() + 5
    while store.held_bytes and time.monotonic() < deadline:
        time.sleep(0.02)
    assert store.held_bytes == 0
    store.close()


def test_a_store_that_forgets_idle_values_drops_those_on_no_disk_too():
    store = Artefacts(idle_seconds=0.05, forget_idle=True)
    key = Key("m", "8" * 32)
    store.get(key, lambda: b"v" * 1000, None)
    store.flush()
    time.sleep(0.1)
    store.sweep()
    assert store.held_bytes == 0 and store.peek(key, None) is MISSING
    assert store.get(key, lambda: b"again", None) == b"again"


class SlowToPickle:
    def __reduce__(self):
        time.sleep(0.5)
        return (SlowToPickle, ())


def test_whoever_asks_gets_the_value_before_it_is_pickled_and_written(tmp_path):
    folder = tmp_path / "ds"
    folder.mkdir()
    store = Artefacts()
    key = Key("slow", "9" * 32)
    started = time.perf_counter()
    value = store.get(key, SlowToPickle, folder)
    assert time.perf_counter() - started < 0.3 and isinstance(value, SlowToPickle)
    assert store.peek(key, folder) is value
    store.flush()
    assert (folder / module.FOLDER / key.file_name()).exists()


def test_starting_what_is_already_stored_does_not_read_its_file(tmp_path, monkeypatch):
    folder = tmp_path / "ds"
    folder.mkdir()
    key = Key("table", "a1" * 16)
    first = Artefacts()
    first.get(key, lambda: b"t" * 1000, folder)
    first.flush()
    fresh = Artefacts()
    monkeypatch.setattr(module.pickle, "loads", lambda data: pytest.fail("read a stored file"))
    assert fresh.start(key, lambda: pytest.fail("computed again"), folder).state == "ready"
    assert fresh.held_bytes == 0


def test_a_damaged_file_is_not_counted_as_ready_again(tmp_path):
    folder = tmp_path / "ds"
    (folder / module.FOLDER).mkdir(parents=True)
    key = Key("m", "b2" * 16)
    (folder / module.FOLDER / key.file_name()).write_bytes(b"broken")
    store = Artefacts()
    assert store.peek(key, folder) is MISSING
    assert store.status(key, folder).state == "missing"
    assert store.start(key, lambda: 5, folder).state in ("queued", "running", "ready")
    assert wait_ready(store, key, folder) == 5
