"""Every page on every real export shape (tests/data/real/), in both languages; data without amounts; the
customer base each page states.

The expected lines, customers and sales are read from the fixtures' raw text here (not through the app's
loader), so a loader that drops a line or misreads a number fails these tests.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from crm_core.dataset import Dataset, load_sample
from crm_core.features import customer_base, default_as_of
from crm_core.io import read_table, sniff_headers
from tests.app.helpers import app_with, assert_healthy, texts
from ui.i18n import catalog

REAL = Path(__file__).resolve().parents[1] / "data" / "real"
PAGES = ["overview", "segments", "lifecycle", "cross_sell", "churn", "customers", "customer_360", "data"]
ANALYSIS_PAGES = ["overview", "segments", "lifecycle", "cross_sell", "churn", "customers"]
LANGUAGES = ["en", "zh"]
ANALYSED = {"en": "customers analysed", "zh": "分析"}
NO_AMOUNTS = {"en": "This file has no amounts", "zh": "此文件没有金额"}
CUSTOMERS = {"en": "Customers", "zh": "客户数"}
REVENUE = {"en": "Revenue", "zh": "销售额"}
# an st.error that reports a result, not a failure: the CLV holdout check's "poor" verdict
VERDICTS = tuple(catalog(language)["lifecycle.page.verdict.poor"].split("{")[0] for language in LANGUAGES)
SCALES = {"K": 1e3, "M": 1e6, "B": 1e9, "万": 1e4, "亿": 1e8}


@dataclass(frozen=True)
class Truth:
    lines: int
    customers: int
    sales: float | None  # None: the file has no amounts


def _ta_feng(head: int | None = None) -> Truth:
    raw = pl.read_csv(REAL / "ta_feng_original.csv", infer_schema=False)  # the published file, as text
    raw = raw.head(head) if head else raw
    return Truth(raw.height, raw["CUSTOMER_ID"].n_unique(), float(raw["SALES_PRICE"].cast(pl.Int64).sum()))


def _cdnow() -> Truth:
    rows = [line.split() for line in (REAL / "cdnow_master_head.txt").read_text().splitlines() if line.strip()]
    return Truth(len(rows), len({row[0] for row in rows}), round(sum(float(row[3]) for row in rows), 2))


def _baskets() -> Truth:
    rows = [line.split(",") for line in (REAL / "baskets_headerless.csv").read_text().splitlines() if line.strip()]
    return Truth(len(rows), len({row[0] for row in rows}), None)


def _by_position(path: Path, targets: list[str]) -> dict[str, str]:
    """What a user does in the mapping editor for a headerless file: name the columns in order."""
    return dict(zip(sniff_headers(path), targets))


def _load(shape: str) -> Dataset:
    if shape == "ta_feng_customers.csv":  # the customers table beside the GB18030 lines
        lines = read_table(REAL / "ta_feng_gb18030.csv").df
        return Dataset(lines, read_table(REAL / shape, kind="customers").df, name=shape)
    path = REAL / shape
    mapping = None
    if shape == "cdnow_master_head.txt":
        mapping = _by_position(path, ["customer_id", "order_date", "quantity", "amount"])
    elif shape == "baskets_headerless.csv":
        mapping = _by_position(path, ["customer_id", "order_date", "product"])
    return Dataset(read_table(path, mapping=mapping).df, name=shape)


SHAPES = {
    "ta_feng_gb18030.csv": _ta_feng,
    "ta_feng_original.csv": _ta_feng,
    "ta_feng_big5.csv": _ta_feng,
    "ta_feng.xlsx": lambda: _ta_feng(head=2_000),
    "ta_feng_customers.csv": _ta_feng,
    "cdnow_master_head.txt": _cdnow,
    "baskets_headerless.csv": _baskets,
}


def shown_number(text: str) -> tuple[float, float]:
    """A figure as displayed (``¥524.09K``, ``NT$52.41万``, ``4,394``) → ``(value, half its last digit)``."""
    match = re.search(r"(-?)\s*[^\d-]*?([\d,]+(?:\.(\d+))?)\s*([KMB万亿]?)", text)
    assert match, text
    sign, body, decimals, unit = match.groups()
    scale = SCALES.get(unit, 1.0)
    value = float(body.replace(",", "")) * scale * (-1 if sign else 1)
    return value, 0.5 * 10 ** -len(decimals or "") * scale


def metric_or_none(at, label: str) -> str | None:
    return next((m.value for m in at.metric if m.label == label), None)


def _healthy_everywhere(at, dataset: Dataset, pages=PAGES) -> dict[str, str]:
    """Open each page (Customer 360 on the customer with the most lines); no exception, no error element;
    returns each page's readable text."""
    seen = {}
    busiest = dataset.transactions["customer_id"].value_counts(sort=True)["customer_id"][0]
    for page in pages:
        if page == "customer_360":
            at.session_state["customer"] = busiest
        at.switch_page(f"pages/{page}.py").run()
        assert not at.exception, (page, [e.value + "\n" + "\n".join(e.stack_trace[-6:]) for e in at.exception])
        errors = [e.value for e in at.error if not e.value.startswith(VERDICTS)]
        assert not errors, (page, errors)
        assert at.title, page
        seen[page] = texts(at)
    return seen


# ---------------------------------------------------------------- every shape, every page, both languages

@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("shape", list(SHAPES))
def test_every_page_runs_on_each_real_shape(shape, language):
    truth = SHAPES[shape]()
    dataset = _load(shape)
    lines = dataset.transactions
    assert lines.height == truth.lines
    assert lines["customer_id"].n_unique() == truth.customers
    if truth.sales is None:
        assert not dataset.has("transactions", "amount")
    else:
        assert float(lines["amount"].sum()) == pytest.approx(truth.sales, abs=0.005)

    at = app_with(dataset, query={"lang": language, "ov_period": "window"})
    assert_healthy(at)
    assert not at.error, [e.value for e in at.error]
    assert shown_number(metric_or_none(at, CUSTOMERS[language]))[0] == truth.customers
    revenue = metric_or_none(at, REVENUE[language])
    if truth.sales is None:
        assert revenue is None                                    # no card of zeros
        assert NO_AMOUNTS[language] in texts(at)
    else:
        value, tolerance = shown_number(revenue)
        assert abs(value - truth.sales) <= tolerance, (revenue, truth.sales)
    seen = _healthy_everywhere(at, dataset)
    for page in ANALYSIS_PAGES:
        assert ANALYSED[language] in seen[page], page


# ---------------------------------------------------------------- data without amounts

MONEY_ZERO = re.compile(r"(?:¥|\$|€|£|NT\$|CN¥)\s?0(?:\.0+)?(?![\d.,]|\s?[KMB万亿])")


def _without_amounts(dataset: Dataset) -> Dataset:
    nulls = dataset.transactions.with_columns(pl.lit(None, dtype=pl.Float64).alias("amount"))
    return Dataset(nulls, dataset.customers, dataset.interactions, name="sample without amounts",
                   currency=dataset.currency)  # a currency: a zero would show with its symbol


@pytest.mark.parametrize("language", LANGUAGES)
def test_sample_with_null_amounts_says_what_needs_money_and_shows_the_rest(language):
    dataset = _without_amounts(load_sample())
    assert not dataset.has("transactions", "amount")
    at = app_with(dataset, query={"lang": language})
    assert_healthy(at)
    assert metric_or_none(at, REVENUE[language]) is None
    assert metric_or_none(at, CUSTOMERS[language]) is not None  # the counts still show
    seen = _healthy_everywhere(at, dataset)
    for page in ("overview", "segments", "lifecycle", "churn", "customers"):
        assert NO_AMOUNTS[language] in seen[page], page
    for page, text in seen.items():
        assert not MONEY_ZERO.search(text), (page, MONEY_ZERO.search(text).group())
    # what works on dates and orders still works: RFM segments, lifecycle stages, rules, churn ranking
    at.switch_page("pages/segments.py").run()
    assert at.get("plotly_chart"), "segments draw on recency and frequency"
    at.switch_page("pages/lifecycle.py").run()
    assert at.get("plotly_chart"), "lifecycle stages draw"
    at.switch_page("pages/cross_sell.py").run()
    assert at.get("plotly_chart"), "cross-sell rules draw"


# ---------------------------------------------------------------- one customer base

def _with_a_refund_only_customer() -> Dataset:
    """A bought twice, B once, C only returned something: two customers analysed, one left out."""
    return Dataset(pl.DataFrame({
        "customer_id": ["A", "A", "B", "C"],
        "order_date": [datetime(2024, 1, 5), datetime(2024, 2, 1), datetime(2024, 1, 10), datetime(2024, 1, 20)],
        "amount": [100.0, 50.0, 200.0, -30.0],
    }), name="refunds")


@pytest.mark.parametrize("language, expected", [
    ("en", "2 customers analysed (with at least one purchase before Feb 2, 2024) · 1 with only refunds left out "
           "(listed on the Customers page)"),
    ("zh", "分析 2 位客户（2024年2月2日 之前至少购买过一次） · 1 位只有退款的客户未计入（名单见“客户列表”页）"),
])
def test_each_page_states_the_customers_it_analyses_and_the_refund_only_ones(language, expected):
    dataset = _with_a_refund_only_customer()
    at = app_with(dataset, query={"lang": language})
    seen = _healthy_everywhere(at, dataset)
    for page in ANALYSIS_PAGES:
        assert expected in seen[page], (page, seen[page])
    at.switch_page("pages/customers.py").run()
    tables = [frame.value for frame in at.dataframe]
    ids = [table.iloc[:, 0].tolist() for table in tables]
    assert ["C"] in ids, ids                                          # named in one place (an expander)
    assert sum("C" in column for column in ids) == 1, ids             # and nowhere else on the page


@pytest.mark.parametrize("language, expected", [
    ("en", "3 in the stages: 2 who bought, plus 1 from the customer table who have not bought yet (prospects)"),
    ("zh", "阶段中共 3 位：2 位购买过的客户，加上客户表中尚未购买的 1 位潜在客户"),
])
def test_lifecycle_says_why_its_count_differs_from_the_base(language, expected):
    """A and B bought, C only returned something, D is in the customer table and never bought: the base is 2,
    the stages hold 3 (the prospect D counts there, the refund-only C nowhere)."""
    lines = _with_a_refund_only_customer().transactions
    dataset = Dataset(lines, pl.DataFrame({"customer_id": ["A", "B", "C", "D"]}), name="refunds and a prospect")
    at = app_with(dataset, query={"lang": language}, page="lifecycle")
    assert_healthy(at)
    shown = texts(at)
    assert ANALYSED[language] in shown and expected in shown, shown


def test_churn_says_the_model_learns_from_the_customers_before_its_cut_off():
    """On the sample the model trains on the customers with a purchase before the analysis date − 90 days."""
    sample = load_sample()
    as_of = default_as_of(sample.transactions)
    trained = customer_base(sample.transactions, as_of - timedelta(days=90))
    assert trained.customers < customer_base(sample.transactions, as_of).customers
    at = app_with(sample, query={"lang": "en"}, page="churn")
    assert_healthy(at)
    assert (f"the model learns from the {trained.customers:,} who had bought before "
            f"{(as_of - timedelta(days=90)):%b %-d, %Y}, 90 days earlier") in texts(at)


def test_with_a_narrower_date_range_the_caption_counts_the_range():
    """From Jan 15: A's purchase of Feb 1 and C's refund are in the range, B's only purchase (Jan 10) is not."""
    at = app_with(_with_a_refund_only_customer(), query={"lang": "en"}, page="segments")
    at.session_state["dates"] = (date(2024, 1, 15), date(2024, 2, 1))
    at.run()
    assert_healthy(at)
    assert ("1 customers analysed (with at least one purchase between Jan 15, 2024 and Feb 1, 2024, before "
            "Feb 2, 2024) · 1 with only refunds left out") in texts(at)


def test_segments_without_amounts_show_no_revenue_in_their_charts():
    baskets = read_table(REAL / "baskets_headerless.csv").df
    at = app_with(Dataset(baskets), page="segments")
    assert_healthy(at)
    treemap = next(c for c in at.get("plotly_chart") if '"treemap"' in c.proto.spec)
    assert "revenue" not in treemap.proto.spec and "of customers" in treemap.proto.spec
