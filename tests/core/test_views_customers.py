"""crm_core.views.customers and crm_core.views.customer_360: what the two customer pages draw.

Hand-checkable numbers on the small dataset of ``test_customers`` (A: five orders, B: one, C: an order and
a partial refund, D: a buyer missing from the customer table, P: a prospect), and real numbers on the sample.
"""
from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from crm_core.customers import TableNote, UnknownCustomer, find_customers
from crm_core.dataset import Dataset, load_sample
from crm_core.features import customer_summary, default_as_of
from crm_core.views import customer_360 as c360, customers as views
from crm_core.views.customers import ListFilters
from tests.core.test_customers import AS_OF, tiny

WORDS = {
    "segmentation.segment.loyal": "Loyal", "lifecycle.stage.prospect": "Prospect", "churn.tier.high": "High",
    "churn.source.rules": "Rules", "churn.flag.complaints": "Complaints", "customers.page.list_sep": " + ",
    "customers.column.customer_id": "ID", "customers.column.segment": "Segment",
    "customers.column.predicted_value": "Value {days}d", "customers.kind.order": "Order",
    "customers.kind.call": "Call", "customers.outcome.connected": "Connected", "customers.c360.col.date": "When",
}


def text(key: str, params) -> str | None:
    """A translator with a few words: reasons read as ``key(params)``, unknown keys as None."""
    if key.startswith(("churn.reason.", "cross_sell.reason.")):
        return f"{key}({','.join(f'{k}={v}' for k, v in sorted(params.items()))})"
    found = WORDS.get(key)
    return found.format(**params) if found is not None else None


@pytest.fixture(scope="module")
def small():
    data = tiny()
    return data, views.customer_base(data, AS_OF)


@pytest.fixture(scope="module")
def sample():
    data = load_sample()
    as_of = default_as_of(data.transactions)
    return data, as_of, views.customer_base(data, as_of)


# ---------------------------------------------------------------- the overview above the table

def test_overview_counts_notes_and_choices_by_hand(small):
    data, base = small
    overview = views.table_overview(data, AS_OF, base=base)
    assert (overview.customers, overview.buyers, overview.prospects) == (5, 4, 1)
    assert overview.revenue_range == (0, 710)          # P's 0 to A's 100 + 50 + 300 + 120 + 80 + 60
    # too few customers for a churn model: the risk comes from the rules, and the page says so first
    assert overview.notes[0] == TableNote("churn", "churn.sufficiency.failed")
    assert all(note.part == "clv" for note in overview.notes[1:])
    choices = {choice.column: choice for choice in overview.filters}
    assert choices["stage"].options == ("prospect", "new", "active", "dormant")   # lifecycle order
    assert choices["owner"].options == ("张三", "李四", "李娜", "王磊") and choices["owner"].prefix is None
    segments = choices["segment"].options
    assert choices["segment"].field == "segments" and len(set(segments)) == len(segments)  # each segment once
    assert "customer_id" not in overview.columns and "churn_reasons" not in overview.columns
    assert overview.default_sort == "revenue" and "revenue" in overview.default_columns


def test_overview_without_amounts_or_optional_tables():
    lines = tiny().transactions.select("customer_id", "order_date", "order_id")
    data = Dataset(lines)
    overview = views.table_overview(data, AS_OF)
    assert not overview.has_amounts and overview.revenue_range is None and overview.default_sort == "orders"
    assert not set(overview.default_columns) & views.MONEY
    keys = [note.key for note in overview.notes]
    assert keys[:3] == ["customers.page.missing.customers", "customers.page.missing.items",
                        "customers.page.missing.interactions"]
    assert TableNote("tiers", "app.base.needs_amounts", {"analysis": "value_tiers"}) in overview.notes


# ---------------------------------------------------------------- the filtered list

def test_list_filters_sort_and_pages_by_hand(small):
    data, base = small
    everyone = views.customer_list(data, AS_OF, ListFilters(), "revenue", True, base=base)
    assert everyone.frame["customer_id"].to_list() == ["A", "B", "C", "D", "P"]
    assert everyone.total == 5 and everyone.revenue == pytest.approx(710 + 500 + 240 + 70)
    # the slider's whole range filters nothing; a narrower one keeps revenue within it (inclusive)
    assert views.customer_list(data, AS_OF, ListFilters(value_range=(0, 710)), "revenue", True, base=base).total == 5
    middle = views.customer_list(data, AS_OF, ListFilters(value_range=(240, 500)), "orders", False, base=base)
    assert middle.frame["customer_id"].to_list() == ["B", "C"] and middle.revenue == pytest.approx(740)
    found = views.customer_list(data, AS_OF, ListFilters(owners=("张三",), query=" acme "), "orders", True, base=base)
    assert found.frame["customer_id"].to_list() == ["A"]
    assert views.customer_list(data, AS_OF, ListFilters(stages=("churned",)), "orders", True, base=base).total == 0

    assert everyone.page_count(2) == 3 and everyone.page_count(50) == 1
    second = everyone.page(2, 2, ("name", "phone"))
    assert (second.ids, second.first, second.last) == (("C", "D"), 3, 4)
    assert second.rows.columns == ["customer_id", "name", "phone"]
    first = everyone.page(1, 2, ("phone",))
    assert first.rows["phone"].to_list() == ["138****5678", "139****4321"]  # masked before the browser
    assert everyone.export(("email",))["email"].to_list()[0] == "z****@acme.cn"


def test_readable_labels_reasons_flags_dates_and_headers(small):
    data, base = small
    frame = base.frame.filter(pl.col("customer_id").is_in(["A", "P"])).select(
        "customer_id", "segment", "stage", "risk_source", "churn_reason", "churn_flags", "first_order", "cluster",
        views.VALUE)
    shown = views.readable(frame, text)
    assert shown.columns[:3] == ["ID", "Segment", "stage"]  # no word for a header: the column's name
    assert "Value 365d" in shown.columns
    rows = shown.rows(named=True)
    assert rows[0]["Segment"] == "Loyal" and rows[0]["stage"] == "active"  # no word for a value: the value
    assert rows[1]["stage"] == "Prospect" and rows[1]["Segment"] is None
    assert rows[0]["risk_source"] == "Rules"
    assert rows[0]["churn_reason"].startswith("churn.reason.complaint")
    assert rows[0]["churn_flags"].startswith("Complaints + ")
    assert rows[0]["first_order"] == date(2024, 1, 5)
    assert shown["cluster"].dtype == pl.String


# ---------------------------------------------------------------- Customer 360

def test_search_lists_masked_matches(small):
    data, base = small
    found = c360.search(data, AS_OF, "a", base=base)
    assert found.total == 3 and [hit.customer_id for hit in found.hits] == ["A", "B", "C"]  # id, then names
    assert [hit.match for hit in found.hits] == ["id", "name", "name"]
    assert found.hits[1].label == "B · Beta Foods · 139****4321"  # the phone masked
    only = c360.search(data, AS_OF, "Co", base=base)  # F (Future Co) signs up after the analysis date
    assert only.total == 1 and only.hits[0].label == "P · Prospect Co · ****2100"
    assert c360.search(data, AS_OF, "nobody", base=base) == c360.Search(0, ())


def test_customer_view_of_a_rich_customer_by_hand(small):
    data, base = small
    view = c360.customer_view(data, AS_OF, "A", base=base)
    assert view.name == "Acme 北京科技" and view.place == ("华北",) and view.orders == 5 and not view.is_prospect
    assert view.fields == ("phone", "email", "region", "owner", "signup_date")
    assert view.field_value("phone") == "138****5678" and view.field_value("phone", revealed=True) == "13812345678"
    assert view.field_value("signup_date") == datetime(2023, 1, 1)
    assert view.interactions == 3 and len(view.events) == 8 and view.events[0]["kind"] == "order"
    assert set(view.kinds) == {"order", "call", "Complaint", "email"}
    assert [orders for _, orders, _ in view.spend] == [1, 1, 1, 1, 1]
    assert sum(revenue for _, _, revenue in view.spend) == pytest.approx(710)
    assert view.level == "product" and 1 <= len(view.picks) <= 5
    assert {pick.item for pick in view.picks}.isdisjoint({"pen", "paper", "chair", "ink"})
    assert all(pick.reason is None or pick.reason[0].startswith("cross_sell.reason.") for pick in view.picks)
    assert [other.customer_id for other in view.similar] and "A" not in [o.customer_id for o in view.similar]
    assert view.churn_flags and all(key.startswith("churn.reason.") for key, _ in view.churn_reasons)

    table = c360.timeline_table(view, text)
    assert table.columns[0] == "When" and "source" not in table.columns
    assert table["When"].is_sorted(descending=True)
    assert set(table["kind"]) == {"Order", "Call", "Complaint", "email"}  # no word for a type: the type
    assert "Connected" in table["outcome"].to_list()


def test_customer_view_of_a_prospect_and_an_unknown_id(small):
    data, base = small
    view = c360.customer_view(data, AS_OF, "P", base=base)
    assert view.is_prospect and view.orders == 0 and view.spend == () and view.similar == ()
    assert view.kinds == ("visit",) and view.churn_reasons == ()
    with pytest.raises(UnknownCustomer):
        c360.customer_view(data, AS_OF, "F", base=base)  # signs up after the analysis date


# ---------------------------------------------------------------- the sample

def test_the_sample_table_and_its_views(sample):
    data, as_of, base = sample
    summary = customer_summary(data.transactions, as_of)
    overview = views.table_overview(data, as_of, base=base)
    assert (overview.customers, overview.buyers) == (data.customers.height, summary.height) == (5000, 4721)
    assert not [note for note in overview.notes if note.key == "churn.sufficiency.failed"]  # the model runs
    champions = views.customer_list(data, as_of, ListFilters(segments=("champions",)), "revenue", True, base=base)
    expected = base.frame.filter(pl.col("segment") == "champions")
    assert champions.total == expected.height > 0
    assert champions.revenue == pytest.approx(expected["revenue"].sum())
    assert champions.frame["revenue"].is_sorted(descending=True)
    rich = summary.sort(["orders", "customer_id"], descending=[True, False])["customer_id"][0]
    view = c360.customer_view(data, as_of, rich, base=base)
    assert view.orders == summary.filter(pl.col("customer_id") == rich)["orders"].item()
    assert len(view.picks) == 5 and len(view.similar) == 5
    assert c360.search(data, as_of, rich, base=base).hits[0].customer_id == rich
    assert find_customers(base.frame, rich).height == 1


def test_the_churn_pages_scores_handed_over_give_the_table_it_would_score_itself():
    """The customer table reads the Churn page's risk view instead of scoring everyone again."""
    from crm_core.churn import train_when_sufficient
    from crm_core.views import churn as churn_views

    sample = load_sample()
    as_of = default_as_of(sample.transactions)
    model = train_when_sufficient(sample, as_of, views.CHURN_HORIZON_DAYS)
    assert model is not None
    scored = churn_views.risk_view(sample, as_of, views.CHURN_HORIZON_DAYS, model=model).scored
    itself = views.customer_base(sample, as_of, churn_model=model).frame
    handed = views.customer_base(sample, as_of, churn_model=model, churn_scored=scored).frame
    assert handed.columns == itself.columns
    churn = [c for c in handed.columns if c.startswith("churn_") or c in ("risk_tier", "risk_source", "value_at_risk")]
    assert len(churn) >= 8
    assert handed.select(churn).equals(itself.select(churn), null_equal=True)
    assert_frame_equal(handed, itself, rel_tol=1e-9)  # (polars' threaded sums may differ in the last bit)
    assert handed["churn_probability"].drop_nulls().len() > 1000
