"""Saved datasets: round trip, atomic writes, listing, rename, delete, bad ids."""
import json
import os
from datetime import datetime, timedelta

import polars as pl
import pytest

from crm_core import store
from crm_core.dataset import Dataset


def dataset() -> Dataset:
    lines = pl.DataFrame({"customer_id": ["A", "B"], "order_date": [datetime(2024, 1, 5), datetime(2024, 2, 1)],
                          "amount": [10.5, -2.0]})
    customers = pl.DataFrame({"customer_id": ["A", "B", "C"], "name": ["甲公司", "乙公司", "丙公司"]})
    return Dataset(lines, customers)


def test_round_trip_keeps_content_and_fingerprint(tmp_path):
    original = dataset()
    dataset_id = store.save(original, tmp_path, "华东 2024", created=datetime(2026, 1, 2, 3, 4, 5), extra={"k": 1})
    loaded, meta = store.load(tmp_path, dataset_id)
    assert loaded.transactions.equals(original.transactions)
    assert loaded.customers.equals(original.customers)
    assert loaded.interactions is None
    assert loaded.fingerprint == original.fingerprint
    assert meta["name"] == "华东 2024" and meta["extra"] == {"k": 1}
    assert meta["rows"] == {"transactions": 2, "customers": 3}


def test_ids_are_unguessable_and_distinct(tmp_path):
    ids = {store.save(dataset(), tmp_path, "x", created=datetime(2026, 1, 1)) for _ in range(5)}
    assert len(ids) == 5
    assert all(store.ID_PATTERN.match(i) and len(i) >= 20 for i in ids)


@pytest.mark.parametrize("bad", ["", "../etc", "short", "a" * 65, "has space in it!!!!", None])
def test_malformed_id_is_a_store_error(tmp_path, bad):
    with pytest.raises(store.StoreError) as info:
        store.load(tmp_path, bad)
    assert info.value.key == "store.error.malformed_id"


def test_unknown_and_damaged_ids(tmp_path):
    with pytest.raises(store.StoreError) as info:
        store.load(tmp_path, "A" * 22)
    assert info.value.key == "store.error.not_found"
    dataset_id = store.save(dataset(), tmp_path, "x", created=datetime(2026, 1, 1))
    (tmp_path / dataset_id / "transactions.parquet").write_bytes(b"not parquet")
    with pytest.raises(store.StoreError) as info:
        store.load(tmp_path, dataset_id)
    assert info.value.key == "store.error.damaged"


def test_a_crash_while_saving_leaves_nothing_listed(tmp_path, monkeypatch):
    def explode(*_args, **_kwargs):
        raise OSError("disk full")
    monkeypatch.setattr(store, "_write_json", explode)
    with pytest.raises(OSError):
        store.save(dataset(), tmp_path, "x", created=datetime(2026, 1, 1))
    assert store.list_saved(tmp_path) == []
    assert list(tmp_path.iterdir()) == []


def test_list_rename_delete(tmp_path):
    first = store.save(dataset(), tmp_path, "first", created=datetime(2026, 1, 1))
    second = store.save(dataset(), tmp_path, "second", created=datetime(2026, 2, 1))
    assert [i.dataset_id for i in store.list_saved(tmp_path)] == [second, first]
    store.rename(tmp_path, first, "renamed")
    assert json.loads((tmp_path / first / "meta.json").read_text("utf-8"))["name"] == "renamed"
    store.delete(tmp_path, second)
    assert [i.name for i in store.list_saved(tmp_path)] == ["renamed"]
    with pytest.raises(store.StoreError):
        store.delete(tmp_path, second)


def test_currency_is_stored_with_the_dataset(tmp_path):
    lines = dataset().transactions
    dataset_id = store.save(Dataset(lines, currency="TWD"), tmp_path, "台北", created=datetime(2026, 1, 1))
    assert json.loads((tmp_path / dataset_id / "meta.json").read_text("utf-8"))["currency"] == "TWD"
    loaded, _ = store.load(tmp_path, dataset_id)
    assert loaded.currency == "TWD"
    store.set_currency(tmp_path, dataset_id, "USD")
    assert store.load(tmp_path, dataset_id)[0].currency == "USD"
    with pytest.raises(ValueError):
        store.set_currency(tmp_path, dataset_id, "dollars")
    unknown = store.save(Dataset(lines), tmp_path, "no currency", created=datetime(2026, 1, 1))
    assert store.load(tmp_path, unknown)[0].currency is None


def test_meta_written_before_currency_was_stored_opens_without_one(tmp_path):
    dataset_id = store.save(Dataset(dataset().transactions, currency="CNY"), tmp_path, "old",
                            created=datetime(2026, 1, 1))
    meta_path = tmp_path / dataset_id / "meta.json"
    meta = json.loads(meta_path.read_text("utf-8"))
    del meta["currency"]
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    assert store.load(tmp_path, dataset_id)[0].currency is None
    meta["currency"] = "../../etc"
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    assert store.load(tmp_path, dataset_id)[0].currency is None


def leftover(root, name: str, age: timedelta, now: datetime):
    """A folder a crashed save (or delete) left behind, last changed ``age`` before ``now``."""
    folder = root / name
    folder.mkdir()
    (folder / "transactions.parquet").write_bytes(b"half written")
    changed = (now - age).timestamp()
    os.utime(folder, (changed, changed))
    return folder


def test_saving_removes_staging_folders_a_crash_left_behind(tmp_path):
    now = datetime(2026, 3, 1, 12, 0)
    stale = leftover(tmp_path, ".staging-crashedAAAAAAAAAAAAAAAA", timedelta(hours=2), now)
    trash = leftover(tmp_path, ".deleted-crashedBBBBBBBBBBBBBBBB-0a1b", timedelta(days=3), now)
    running = leftover(tmp_path, ".staging-runningCCCCCCCCCCCCCCCC", timedelta(minutes=10), now)
    dataset_id = store.save(dataset(), tmp_path, "after the crash", created=now)
    assert not stale.exists() and not trash.exists()
    assert running.exists()  # may be another session's save still in progress
    assert [i.dataset_id for i in store.list_saved(tmp_path)] == [dataset_id]
    assert store.load(tmp_path, dataset_id)[0].transactions.equals(dataset().transactions)


def test_listing_removes_stale_staging_folders_only_when_given_the_time(tmp_path):
    now = datetime(2026, 3, 1, 12, 0)
    stale = leftover(tmp_path, ".staging-crashedAAAAAAAAAAAAAAAA", timedelta(minutes=90), now)
    assert store.list_saved(tmp_path) == [] and stale.exists()  # no clock, nothing removed
    assert store.list_saved(tmp_path, now=now, max_age=timedelta(hours=2)) == [] and stale.exists()
    assert store.list_saved(tmp_path, now=now) == [] and not stale.exists()
    assert store.remove_stale(tmp_path, now) == []


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="reads which file a descriptor is from /proc")
def test_every_file_and_folder_is_fsynced_before_and_after_the_rename(tmp_path, monkeypatch):
    events = []
    real_fsync, real_rename = os.fsync, os.rename

    def fsync(descriptor):
        events.append(("fsync", os.readlink(f"/proc/self/fd/{descriptor}")))
        real_fsync(descriptor)

    def rename(source, target):
        events.append(("rename", str(source)))
        real_rename(source, target)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "rename", rename)
    dataset_id = store.save(dataset(), tmp_path, "x", created=datetime(2026, 1, 1))
    staging = str(tmp_path / f".staging-{dataset_id}")
    synced_before = {path for kind, path in events[: events.index(("rename", staging))] if kind == "fsync"}
    assert {f"{staging}/transactions.parquet", f"{staging}/customers.parquet", staging} <= synced_before
    assert any(path.startswith(f"{staging}/.meta.json.") for path in synced_before)  # the temporary meta.json
    assert events[-1] == ("fsync", str(tmp_path))  # the rename itself is on disk
    events.clear()
    store.rename(tmp_path, dataset_id, "renamed")
    assert events[-1] == ("fsync", str(tmp_path / dataset_id)) and len(events) == 2


def test_an_owner_lists_and_changes_only_their_own_datasets(tmp_path):
    mine = store.save(dataset(), tmp_path, "mine", created=datetime(2026, 1, 1), owner="alice")
    theirs = store.save(dataset(), tmp_path, "theirs", created=datetime(2026, 1, 2), owner="bob",
                        owner_name="bob@example.com")
    legacy = store.save(dataset(), tmp_path, "before owners", created=datetime(2025, 1, 1))
    assert [i.dataset_id for i in store.list_saved(tmp_path, owner="alice")] == [mine]
    assert [i.owner for i in store.list_saved(tmp_path)] == ["bob", "alice", None]  # no owner: all (an admin)
    assert store.list_saved(tmp_path)[0].owner_name == "bob@example.com"
    for change in (lambda: store.rename(tmp_path, theirs, "taken", owner="alice"),
                   lambda: store.set_currency(tmp_path, theirs, "EUR", owner="alice"),
                   lambda: store.delete(tmp_path, theirs, owner="alice"),
                   lambda: store.delete(tmp_path, legacy, owner="alice")):
        with pytest.raises(store.StoreError) as refused:
            change()
        assert refused.value.key == "store.error.not_owner"
    untouched = store.read_meta(tmp_path, theirs)
    assert untouched["name"] == "theirs" and untouched["currency"] is None
    loaded, _ = store.load(tmp_path, theirs)  # the link is the permission to read
    assert loaded.transactions.height == dataset().transactions.height
    store.rename(tmp_path, mine, "still mine", owner="alice")
    store.delete(tmp_path, theirs)  # an administrator (no owner given)
    assert {i.name for i in store.list_saved(tmp_path)} == {"still mine", "before owners"}


def test_a_saved_dataset_keeps_its_fingerprint_without_hashing_again(tmp_path):
    original = dataset()
    dataset_id = store.save(original, tmp_path, "x", created=datetime(2026, 1, 1))
    loaded, meta = store.load(tmp_path, dataset_id)
    assert loaded.derived_key == meta["fingerprint"] == original.fingerprint == loaded.fingerprint
    meta["fingerprint"] = "not a hash"  # a hand-edited meta.json: hashed again
    (tmp_path / dataset_id / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    again, _ = store.load(tmp_path, dataset_id)
    assert again.derived_key is None and again.fingerprint == original.fingerprint
