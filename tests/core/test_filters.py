"""Global filters: dimensions from lines or the customer table, inclusive date window."""
from datetime import date, datetime

import polars as pl

from crm_core.dataset import Dataset
from crm_core.filters import FilterSpec, apply_filters, date_bounds, dimension_values


def lines():
    return pl.DataFrame({
        "customer_id": ["A", "A", "B", "C"],
        "order_date": [datetime(2024, 1, 1, 9), datetime(2024, 1, 31, 23, 59), datetime(2024, 2, 1),
                       datetime(2024, 3, 1)],
        "amount": [1.0, 2.0, 3.0, 4.0],
        "channel": ["门店", "线上", "线上", "门店"],
    })


def customers():
    return pl.DataFrame({"customer_id": ["A", "B", "C", "P"], "region": ["华东", "华南", "华东", "华东"]})


def test_date_window_is_inclusive_of_whole_days():
    ds = Dataset(lines())
    narrowed = apply_filters(ds, FilterSpec(start=date(2024, 1, 1), end=date(2024, 1, 31)))
    assert narrowed.transactions["amount"].to_list() == [1.0, 2.0]


def test_dimension_on_lines_and_on_customer_table():
    ds = Dataset(lines(), customers())
    by_channel = apply_filters(ds, FilterSpec(channels=("线上",)))
    assert by_channel.transactions["amount"].to_list() == [2.0, 3.0]
    assert sorted(by_channel.customers["customer_id"]) == ["A", "B"]
    by_region = apply_filters(ds, FilterSpec(regions=("华东",)))
    assert sorted(by_region.transactions["customer_id"].unique()) == ["A", "C"]
    assert sorted(by_region.customers["customer_id"]) == ["A", "C", "P"]  # the prospect stays


def test_empty_result_and_fingerprints():
    ds = Dataset(lines(), customers())
    none = apply_filters(ds, FilterSpec(channels=("不存在",)))
    assert none.transactions.height == 0
    a = apply_filters(ds, FilterSpec(channels=("线上",)))
    b = apply_filters(ds, FilterSpec(channels=("门店",)))
    assert a.fingerprint != b.fingerprint != ds.fingerprint
    assert apply_filters(ds, FilterSpec()) is ds


def test_values_and_bounds():
    ds = Dataset(lines(), customers())
    assert dimension_values(ds, "region") == ["华东", "华南"]
    assert dimension_values(ds, "channel") == ["线上", "门店"]
    assert dimension_values(ds, "category") == []
    assert date_bounds(ds) == (date(2024, 1, 1), date(2024, 3, 1))


def test_a_filter_without_dates_is_a_view_of_the_whole_data_and_one_with_dates_is_not():
    from crm_core.dataset import load_sample

    whole = load_sample()
    region = whole.transactions["region"].drop_nulls().unique().sort()[0]
    by_region = apply_filters(whole, FilterSpec(regions=(region,)))
    assert by_region.view_of is whole
    assert apply_filters(by_region, FilterSpec(channels=("x",))).view_of is whole  # a view of a view: the whole
    ids = by_region.selected_customers()
    assert ids.is_unique().all() and ids.len() == by_region.transactions["customer_id"].n_unique()
    assert set(ids) < set(whole.transactions["customer_id"])
    dated = apply_filters(whole, FilterSpec(start=date(2025, 1, 1), regions=(region,)))
    assert dated.view_of is None  # a date window changes the lines a model learns from
    assert apply_filters(whole, FilterSpec(start=date(2025, 1, 1)), dates=False).view_of is whole
