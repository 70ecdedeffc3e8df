"""Saved datasets: round trip, atomic writes, listing, rename, delete, bad ids."""
import json
from datetime import datetime

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
