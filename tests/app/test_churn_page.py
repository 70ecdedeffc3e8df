"""AppTest of the Churn-risk page: the sample in both languages (model card, reasons, downloads), link
parameters, a transactions-only upload big enough for a model, a tiny upload that fails the data gate,
and filters that leave nothing.

The sample's model and backtest are computed once (the first test) and served from the cache afterwards.
"""
import re
from datetime import date
from pathlib import Path

import polars as pl

from crm_core.dataset import Dataset, load_sample
from tests.app.helpers import TINY_ORDERS, app, app_with, assert_healthy, metric, texts
from ui.i18n import catalog, translate

PAGE = "pages/churn.py"

# A tiny export (GBK, Chinese headers, only the required columns): four customers over ten weeks; K004 bought
# weekly, then nothing for 67 days (overdue against its own rhythm).
TINY = TINY_ORDERS + "K004,2024/1/2,100\nK004,2024/1/9,100\n".encode("gbk")
UPLOAD_CUSTOMERS = 1500  # the sample's first customers: enough for the gate at a 60-day horizon, quick to train


def sample_orders_only() -> bytes:
    """The sample's orders of its first customers as a CSV with only customer_id, order_date and amount."""
    lines = load_sample().transactions
    keep = lines["customer_id"].unique().sort().head(UPLOAD_CUSTOMERS)
    return (lines.filter(pl.col("customer_id").is_in(keep.implode()))
            .select("customer_id", pl.col("order_date").dt.strftime("%Y-%m-%d %H:%M:%S"), "amount")
            .write_csv().encode())


def use_upload(data: bytes, name: str, query: dict | None = None):
    at = app(page="data", query=query, clear=False)
    at.file_uploader(key="upload_transactions").set_value((name, data, "text/csv")).run()
    at.button(key="use_data").click().run()
    assert_healthy(at)
    at.switch_page(PAGE).run()
    return at


# Tables by a header only they have (st.dataframe without selections carries no key in AppTest); the at-risk
# list and the call list share their headers: the list comes first on the page.
HEADERS = {
    "en": {"ch_list": "Suggested action", "ch_calls": "Suggested action", "ch_metrics": "Ranking by",
           "ch_by_segment_table": "Segment", "ch_by_region_table": "Region", "ch_flags_table": "Warning flag"},
    "zh": {"ch_list": "建议行动", "ch_calls": "建议行动", "ch_metrics": "排序依据"},
}


def frame(at, name: str, language: str = "en"):
    header = HEADERS[language][name]
    tables = at.table if name in ("ch_metrics", "ch_flags_table") else at.dataframe
    found = [table.value for table in tables if header in table.value.columns]
    if name == "ch_by_region_table":
        found = [table for table in found if "High-risk share" in table.columns]
    assert found, f"no table with {header!r}"
    return found[-1] if name == "ch_calls" else found[0]


def reason_patterns(language: str) -> list[re.Pattern]:
    """One full-match pattern per reason template of ``language`` ({fields} match anything)."""
    templates = [text for key, text in catalog(language).items() if key.startswith("churn.reason.")]
    return [re.compile("".join(".+?" if part.startswith("{") else re.escape(part)
                               for part in re.split(r"(\{[^}]*\})", text))) for text in templates]


def assert_reasons_in(at, language: str, header: str) -> None:
    none = translate(language, "churn.page.no_reason")
    reasons = [text for text in frame(at, "ch_list", language)[header].head(50).tolist() if text != none]
    assert len(reasons) >= 40, reasons[:5]
    patterns = reason_patterns(language)
    separator = translate(language, "churn.page.reason_sep")
    for text in reasons:
        parts = text.split(separator)
        assert 1 <= len(parts) <= 3, text
        for part in parts:
            assert any(p.fullmatch(part) for p in patterns), part
            assert "churn.reason" not in part


def chart(at, key: str) -> str:
    found = [str(element.proto) for element in at.get("plotly_chart") if element.proto.id.endswith(f"-{key}")]
    assert len(found) == 1, key
    return found[0]


def download_keys(at) -> set[str]:
    return {button.key for button in at.get("download_button")}


# ---------------------------------------------------------------- the sample

def test_sample_in_english_shows_the_model_card_reasons_and_downloads():
    at = app(page="churn")  # computes the sample's model and backtest; the next tests reuse the cache
    assert_healthy(at)
    assert at.title[0].value == "Churn risk"
    assert at.radio(key="ch_horizon").value == 90
    assert metric(at, "Customers scored") == "4,721"
    metrics = frame(at, "ch_metrics").set_index("Ranking by")
    assert list(metrics.index) == ["Model", "Recency alone", "Logistic regression on log R, F, M",
                                   "BG/NBD P(no order in the horizon)", "BG/NBD 1 − P(alive)"]
    model_auc, recency_auc = metrics.loc["Model", "ROC AUC"], metrics.loc["Recency alone", "ROC AUC"]
    assert float(model_auc) > float(recency_auc) > 0.5                     # the shown model beats the shown baseline
    assert 0 < float(metrics.loc["Model", "Brier score"]) < 0.25
    assert metrics.loc["Recency alone", "Brier score"] == "–"              # recency is not a probability
    assert float(metrics.loc["Model", "Top-decile lift"]) > 1
    assert metric(at, "Model ROC AUC (backtest)") == model_auc
    page = texts(at)
    assert f"Beats recency alone: ROC AUC {model_auc} vs. {recency_auc}" in page
    best = max(float(v) for v in metrics["ROC AUC"].drop("Model"))
    assert float(model_auc) >= best                                         # no baseline ranks better
    assert (f"at least as well as the best baseline, BG/NBD's probability of no order in the horizon: "
            f"ROC AUC {model_auc}") in page
    assert "Chosen: " in page and "Base rate: " in page                     # the choice and the base-rate shift
    assert "Risk is ranked by" not in page
    assert at.multiselect(key="ch_tier").value == ["high", "medium"]        # the at-risk list opens on High + Medium
    assert "Risk, stage and segment: three different things" in [e.label for e in at.expander]
    assert_reasons_in(at, "en", "Reasons")
    listing = frame(at, "ch_list")
    assert set(listing["Risk"]) == {"High", "Medium"}                      # no low-risk customer on top
    assert listing["Value at risk"].is_monotonic_decreasing                # sorted by value at risk
    assert listing["Customer ID"].str.fullmatch(r"\./customer_360\?lang=en&customer=C\d{6}").all()  # opens Customer 360
    assert {"Customer ID", "Name", "Region", "Owner", "Phone", "Suggested action",
            "Warning flags raised"} <= set(listing.columns)
    assert listing["Phone"].dropna().str.fullmatch(r"1\d{2}\*{4}\d{4}|\*{4}\d{0,4}").all()   # masked
    assert set(listing["Suggested action"]) <= {v for k, v in catalog("en").items() if k.startswith("churn.action.")}
    importance_chart = chart(at, "ch_importance")
    assert "Days since last purchase" in importance_chart                   # translated feature names
    segments = frame(at, "ch_by_segment_table")
    assert "Champions" in set(segments["Segment"]) and segments["Customers"].sum() == 4721
    assert frame(at, "ch_by_region_table")["Customers"].sum() == 4721
    flags = frame(at, "ch_flags_table")
    assert "Overdue against own rhythm" in set(flags["Warning flag"]) and (flags["Data"] == "Available").all()
    calls = frame(at, "ch_calls")
    assert len(calls) == 200 and metric(at, "Customers contacted") == "200"
    assert metric(at, "Expected revenue saved").startswith("CN¥")  # the sample is in yuan; English writes CN¥
    assert {"ch_list_dl_csv", "ch_list_dl_xlsx", "ch_call_dl_csv", "ch_call_dl_xlsx"} <= download_keys(at)
    assert "No interactions table" not in page


def test_sample_in_chinese_renders_reasons_and_the_card_in_chinese():
    at = app(page="churn", clear=False)
    at.selectbox(key="lang").set_value("zh").run()
    assert_healthy(at)
    assert at.title[0].value == "流失预警"
    metrics = frame(at, "ch_metrics", "zh").set_index("排序依据")
    assert float(metrics.loc["模型", "ROC AUC"]) > float(metrics.loc["仅按最近购买间隔", "ROC AUC"])
    assert "优于仅按最近购买间隔" in texts(at)
    assert_reasons_in(at, "zh", "原因")
    listing = frame(at, "ch_list", "zh")
    assert set(listing["风险"]) <= {"高", "中", "低"}
    assert "Overdue" not in " ".join(listing["触发的预警信号"].dropna())
    assert "churn." not in texts(at)                                          # no untranslated key leaks
    assert metric(at, "已评分客户") == "4,721"


def test_invalid_link_values_fall_back_to_the_defaults():
    at = app(page="churn", query={"ch_horizon": "45", "ch_tier": "extreme", "ch_capacity": "-5", "ch_save": "500"},
             clear=False)
    assert_healthy(at)
    assert at.radio(key="ch_horizon").value == 90
    assert at.multiselect(key="ch_tier").value == ["high", "medium"]
    assert at.slider(key="ch_capacity").value == 200
    assert at.slider(key="ch_save").value == 20
    assert sum("not valid here" in w.value for w in at.warning) >= 3


def test_the_open_tab_travels_in_the_link_by_its_name():
    at = app(page="churn", query={"churn_tab": "capacity", "lang": "zh"}, clear=False)
    assert_healthy(at)
    assert at.query_params.get("churn_tab") == "capacity"              # the name, not the Chinese label
    assert [tab.label for tab in at.tabs] == ["风险客户名单", "模型说明", "分布", "联系能力"]
    assert metric(at, "已评分客户") == "4,721"                            # every tab is still drawn
    at = app(page="churn", query={"churn_tab": "nowhere"}, clear=False)
    assert any("churn_tab" in w.value for w in at.warning)              # an unknown tab is said, then dropped
    assert "churn_tab" not in at.query_params


def test_tier_filter_from_the_link_then_windows_with_little_or_no_history():
    at = app(page="churn", query={"ch_tier": "high"}, clear=False)
    assert_healthy(at)
    assert set(frame(at, "ch_list")["Risk"]) == {"High"}
    at.session_state["dates"] = (date(2023, 1, 1), date(2023, 1, 7))   # one week of orders: rules, not a model
    at.run()
    assert_healthy(at)
    assert "Not enough data for a churn model yet" in texts(at)
    assert metric(at, "Risk from") == "Rules"
    at.session_state["dates"] = (date(2025, 6, 1), date(2025, 12, 31))  # analysis date before the window
    at.session_state["asof"] = date(2025, 1, 1)
    at.run()
    assert_healthy(at)
    assert "No customer has an order before the analysis date" in texts(at)


# ---------------------------------------------------------------- uploads

def test_orders_only_upload_trains_a_model_and_follows_the_link():
    at = use_upload(sample_orders_only(), "orders.csv",
                    query={"ch_horizon": "60", "ch_capacity": "50", "ch_save": "35", "ch_tier": "high"})
    assert_healthy(at)
    assert at.radio(key="ch_horizon").value == 60
    assert at.slider(key="ch_capacity").value == 50 and at.slider(key="ch_save").value == 35
    assert at.multiselect(key="ch_tier").value == ["high"]
    page = texts(at)
    assert "No interactions table" in page and "complaint and contact signals" in page
    metrics = frame(at, "ch_metrics").set_index("Ranking by")
    assert float(metrics.loc["Model", "ROC AUC"]) > float(metrics.loc["Recency alone", "ROC AUC"]) > 0.5
    assert "60 days" in page
    assert len(frame(at, "ch_calls")) == 50
    assert set(frame(at, "ch_list")["Risk"]) == {"High"}
    flags = frame(at, "ch_flags_table").set_index("Warning flag")
    assert flags.loc["Recent complaints", "Data"] == "Needs an interactions table"
    assert flags.loc["Recent complaints", "Customers"] == "0"
    assert "Name" not in frame(at, "ch_list").columns                      # no customer table: nothing invented
    assert at.query_params.get("ch_horizon") == "60"


def test_tiny_upload_fails_the_gate_names_the_check_and_shows_flags():
    at = use_upload(TINY, "订单.csv")
    assert_healthy(at)
    page = texts(at)
    assert "Not enough data for a churn model yet" in page
    assert re.search(r"History: \d+ days of orders \(needs 270\)", page)  # the failing check, with what it needs
    assert "Load a longer order history or choose a shorter prediction horizon." in page
    assert "Customers at the training cut-off: 0 (needs 200)" in page
    assert metric(at, "Risk from") == "Rules"
    assert set(frame(at, "ch_list")["Customer ID"]) == {"K002", "K004"}     # High + Medium: the flagged ones
    at.multiselect(key="ch_tier").set_value([]).run()                        # everyone
    assert re.search(r"[?&]ch_tier=(&|$)", at.code[0].value)                 # "all" travels in the link, empty
    listing = frame(at, "ch_list").set_index("Customer ID")
    assert "Churn probability" not in listing.columns                        # flags instead of probabilities
    assert len(listing) == 4
    overdue = listing.loc["K004"]
    assert overdue["Warning flags raised"] == "Overdue against own rhythm" and overdue["Warning flags"] == 1
    assert overdue["Risk"] == "Medium" and overdue["Reasons"] == "No order for 67 days; usually orders every 7 days"
    assert overdue["Suggested action"] == "Send a timely reminder or replenishment offer"
    # K002's one order was 56 days ago, over 1.5× the customers' usual gap (median of 64 and 7 days): overdue too
    assert listing.loc["K002", "Reasons"] == "Only one order, 56 days ago; a typical customer orders every 36 days"
    assert set(list(listing.index)[:2]) == {"K002", "K004"}                  # the flagged customers first
    assert set(listing.loc[["K001", "K003"], "Risk"]) == {"Low"}
    assert set(listing.loc[["K001", "K003"], "Reasons"]) == {"No warning flag"}
    flags = frame(at, "ch_flags_table").set_index("Warning flag")
    assert len(flags) == 7 and flags.loc["Overdue against own rhythm", "Customers"] == "2"
    assert flags.loc["Recent complaints", "Data"] == "Needs an interactions table"
    assert "The model card needs a model" in page
    assert {"ch_list_dl_csv", "ch_call_dl_csv"} <= download_keys(at)
    at.multiselect(key="ch_tier").set_value(["high"]).run()
    assert_healthy(at)
    assert "No customer is in the chosen risk tiers" in texts(at)
    at.session_state["dates"] = (date(2024, 2, 1), date(2024, 2, 28))
    at.run()
    assert_healthy(at)
    assert "No orders match the current filters" in texts(at)


def test_when_a_baseline_beats_the_model_the_page_says_so_and_ranks_by_it():
    # CDNOW's 2,357-customer sample at 180 days: the log-RFM regression beats the model on the backtest
    # (measured ROC AUC .798 vs .792); the page must say so, in both languages, and rank by it
    reference = Path(__file__).resolve().parents[1] / "reference" / "data" / "cdnow_sample_transactions.csv.gz"
    transactions = pl.read_csv(reference, schema_overrides={"customer_id": pl.String}, try_parse_dates=True
                               ).with_columns(pl.col("order_date").cast(pl.Datetime("us")))
    at = app_with(Dataset(transactions, name="cdnow"), query={"ch_horizon": "180"}, page="churn")
    assert_healthy(at)
    page = texts(at)
    assert "Risk is ranked by a logistic regression on log recency, frequency and spend" in page
    assert "The model does not beat a logistic regression on log recency, frequency and spend on the backtest" in page
    metrics = frame(at, "ch_metrics").set_index("Ranking by")
    assert float(metrics.loc["Logistic regression on log R, F, M", "ROC AUC"]) > float(metrics.loc["Model", "ROC AUC"])
    at.selectbox(key="lang").set_value("zh").run()
    assert_healthy(at)
    zh = texts(at)
    assert "风险按对数最近购买间隔、频次与消费金额的逻辑回归排序" in zh
    assert "回测中模型未优于对数最近购买间隔、频次与消费金额的逻辑回归" in zh


# ---------------------------------------------------------------- filters: views or a new analysis

def test_a_region_filter_selects_from_the_analysis_of_all_the_data_without_training_again():
    from ui.cache import shared_artefacts

    at = app(page="churn")
    assert_healthy(at)
    trained = shared_artefacts().computed["ui.analyses.churn_fit"]
    assert trained == 1
    region = sorted(at.multiselect(key="region").options)[0]
    at.multiselect(key="region").set_value([region]).run()
    assert_healthy(at)
    assert shared_artefacts().computed["ui.analyses.churn_fit"] == trained  # a selection, not a new model
    assert "the region, channel or category filter chooses which customers are listed" in texts(at)
    listed = frame(at, "ch_list")
    sample = load_sample()
    in_region = set(sample.transactions.filter(pl.col("region") == region)["customer_id"])
    listed["id"] = listed["Customer ID"].str.extract(r"customer=(\w+)", expand=False)  # (a link to its 360 page)
    assert 0 < len(listed) and set(listed["id"]) <= in_region
    # the same customer has the same risk whether or not the filter is on: the whole data's scores
    from crm_core.churn import fit_and_backtest, ranking_model
    from crm_core.features import default_as_of
    from crm_core.views import churn as core

    as_of = default_as_of(sample.transactions)
    model, result = fit_and_backtest(sample, as_of, 90)
    whole = core.risk_view(sample, as_of, 90, model=ranking_model(sample, as_of, model, result))
    risk = dict(zip(whole.scored["customer_id"], whole.scored["churn_probability"], strict=True))
    assert all(abs(risk[i] - p) < 1e-9 for i, p in zip(listed["id"], listed["Churn probability"], strict=True))


def test_the_at_risk_list_goes_to_the_browser_a_page_at_a_time_and_downloads_whole():
    at = app(page="churn")
    assert_healthy(at)
    listing = frame(at, "ch_list")
    assert len(listing) == 500
    shown = texts(at)
    total = re.search(r"Rows 1–500 of ([\d,]+); the downloads hold them all", shown)
    assert total is not None and int(total.group(1).replace(",", "")) > 500
    at.number_input(key="ch_list_page").set_value(2).run()
    assert_healthy(at)
    second = frame(at, "ch_list")
    assert len(second) == 500 and not set(second["Customer ID"]) & set(listing["Customer ID"])
    assert "Rows 501–1,000 of" in texts(at)
    assert {"ch_list_dl_csv", "ch_list_dl_xlsx"} <= download_keys(at)
    at.number_input(key="ch_list_page").set_value(7).run()
    at.multiselect(key="ch_tier").set_value(["high"]).run()  # fewer pages than the one open: back to the first
    assert_healthy(at)
    assert "Rows 1–500 of" in texts(at)


def test_a_date_range_trains_for_that_range_in_the_background_and_the_page_shows_its_progress(monkeypatch):
    from ui.cache import shared_artefacts

    at = app(page="churn")
    assert_healthy(at)
    monkeypatch.setenv("CRM_PAGE_WAIT", "0")
    at.date_input(key="dates").set_value((date(2024, 1, 1), date(2025, 9, 30))).run()
    assert_healthy(at)
    shown = texts(at)
    assert "The churn model and its risk list are being computed for this data." in shown
    assert "The order-date range changes what the analyses learn from" in shown
    assert "Training the churn model and checking it on a past period" in shown
    monkeypatch.setenv("CRM_PAGE_WAIT", "600")
    at.run()  # (a browser's fragment reruns the page by itself; AppTest reruns it here)
    assert_healthy(at)
    assert shared_artefacts().computed["ui.analyses.churn_fit"] == 2
    assert "being computed" not in texts(at) and len(frame(at, "ch_list")) > 100
