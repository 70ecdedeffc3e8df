"""AppTest of the Lifecycle & value page: sample in both languages, uploads, tiny data, link parameters."""
import re
from datetime import date, timedelta

from crm_core.clv import predict
from crm_core.dataset import load_sample
from crm_core.features import default_as_of
from crm_core.lifecycle import stages
from tests.app.helpers import TINY_ORDERS, app, assert_healthy, metric, texts
from tests.core.test_clv import loyal_transactions

PAGE = "pages/lifecycle.py"

TINY = TINY_ORDERS  # too little for BG/NBD


def only_required_columns() -> bytes:
    """80 customers over 2023–2024 with 1–5 purchase days each, every 15–45 days: enough repeat buyers
    (64) for the model, and only customer_id, order_date and amount."""
    rows = ["customer_id,order_date,amount"]
    for number in range(80):
        first = date(2023, 1, 2) + timedelta(days=7 * number)
        for visit in range(number % 5 + 1):
            day = first + timedelta(days=visit * (15 + number % 31))
            rows.append(f"U{number:03d},{day},{50 + 10 * visit + number}")
    return "\n".join(rows).encode()


NO_DROPOUT = {"en": "The data show no measurable drop-out", "zh": "数据中看不到可测量的流失"}


def loyal_upload() -> bytes:
    """120 customers who buy every 1 … 8 weeks right up to the end (tests/core/test_clv.py): BG/NBD finds no
    drop-out (a → 0), a degenerate fit."""
    frame = loyal_transactions()
    return frame.with_columns(frame["order_date"].dt.date()).write_csv().encode()


def use_upload(data: bytes, name: str):
    at = app(page="data")
    at.file_uploader(key="upload_transactions").set_value((name, data, "text/csv")).run()
    at.button(key="use_data").click().run()
    assert_healthy(at)
    at.switch_page(PAGE).run()
    return at


def table_cells(at) -> str:
    return "\n".join(str(value) for table in at.table for value in table.value.to_numpy().ravel())


def test_sample_in_english_shows_stages_values_and_the_model():
    at = app(page="lifecycle")
    assert_healthy(at)
    assert at.title[0].value == "Lifecycle & value"
    sample = load_sample()
    as_of = default_as_of(sample.transactions)
    expected = stages(sample.transactions, as_of, sample.customers)["stage"].value_counts()
    count = dict(expected.iter_rows())
    assert metric(at, "Overdue") == f"{count['at_risk']:,}"
    assert metric(at, "Customers") == f"{sum(count.values()):,}"
    cells = table_cells(at)
    for name in ("Prospect", "New", "Active", "Overdue", "Dormant", "Churned", "Reactivated"):
        assert name in cells
    assert "No order for 348+ days" in cells                          # the churned rule with the derived window
    model = predict(sample.transactions, as_of, 365, 0.01).betageo.params_
    for name in ("r", "alpha", "a", "b"):
        assert f"{model[name]:.4g}" in cells, name                     # the model card shows the fitted values
    assert "Log-likelihood" in cells and "γ (v)" in cells
    assert metric(at, "BG/NBD customers") == "4,721"
    assert metric(at, "Error of the total").endswith("%")              # holdout check ran
    assert any("predicted the holdout" in s.value for s in list(at.success) + list(at.warning) + list(at.error))
    # two stage bars, the flow, cohorts, the histogram, the P(alive) map and the holdout check
    assert len(at.get("plotly_chart")) == 7
    assert {"lc_list_dl_csv", "lc_value_dl_xlsx", "lc_cohort_dl_csv"} <= {b.key for b in at.get("download_button")}
    links = [value for table in at.dataframe if "Customer" in table.value.columns
             for value in table.value["Customer"]]
    assert links and all(re.fullmatch(r"\./customer_360\?lang=en&customer=C\d{6}", link) for link in links)


def test_sample_in_chinese_translates_stages_and_the_model_card():
    at = app(page="lifecycle")
    at.selectbox(key="lang").set_value("zh").run()
    assert_healthy(at)
    assert at.title[0].value == "生命周期与价值"
    cells = table_cells(at)
    for name in ("潜在客户", "新客户", "活跃", "逾期未购", "沉睡", "已流失", "已召回"):
        assert name in cells
    assert "Overdue" not in cells and "Churned" not in cells
    assert "对数似然" in cells and "含义" in " ".join(c for t in at.table for c in t.value.columns)
    assert metric(at, "逾期未购")
    assert metric(at, "BG/NBD 拟合客户") == "4,721"
    assert "lifecycle." not in texts(at)                                 # no untranslated key leaks


def test_sample_is_not_degenerate_and_shows_p_alive():
    at = app(page="lifecycle")
    assert_healthy(at)
    shown = texts(at)
    assert NO_DROPOUT["en"] not in shown
    assert metric(at, "Purchase model") == "Converged"
    assert metric(at, "Likely still active")
    assert "Independence check" in shown and "consistent with its assumption" in shown
    at.selectbox(key="lang").set_value("zh").run()
    assert NO_DROPOUT["zh"] not in texts(at) and "独立性检验" in texts(at)


def test_degenerate_upload_says_there_is_no_drop_out_and_hides_p_alive_in_both_languages():
    at = use_upload(loyal_upload(), "loyal.csv")
    assert_healthy(at)
    assert metric(at, "Customers") == "120"
    shown = texts(at)
    assert shown.count(NO_DROPOUT["en"]) == 2                             # the Value tab and the model card
    assert "cannot tell them apart" in shown
    assert metric(at, "Purchase model") == "Degenerate"                  # not "Converged" as if all were well
    assert next(m for m in at.metric if m.label == "Purchase model").delta == "optimiser: Converged"
    assert "Likely still active" not in [m.label for m in at.metric]
    assert "How long a silence means a customer is probably gone" not in shown
    assert len(at.get("plotly_chart")) == 6                              # the P(alive) map is gone
    assert all(not any("P(alive)" in str(c) for c in table.value.columns) for table in at.dataframe)
    assert "is degenerate too" in shown                                  # the holdout's calibration fit
    at.selectbox(key="lang").set_value("zh").run()
    assert_healthy(at)
    shown = texts(at)
    assert shown.count(NO_DROPOUT["zh"]) == 2 and "无法区分他们" in shown
    assert metric(at, "购买模型") == "退化"
    assert "lifecycle." not in shown


def test_upload_with_only_the_required_columns():
    at = use_upload(only_required_columns(), "orders.csv")
    assert_healthy(at)
    assert metric(at, "Customers") == "80"
    assert "prospects" in texts(at)                                      # no customer table: said, not failed
    assert metric(at, "BG/NBD customers") == "80"
    assert not any("Too little repeat buying" in w.value for w in at.warning)
    names = [df for df in at.dataframe if "Name" in df.value.columns]
    assert names == [], "no name column is invented"


def test_tiny_upload_explains_the_model_and_keeps_the_rest_then_empty_filter():
    at = use_upload(TINY, "订单.csv")
    assert_healthy(at)
    assert metric(at, "Customers") == "3"
    messages = [w.value for w in at.warning]
    assert sum("Too little repeat buying" in m for m in messages) == 2   # Value and Model tabs
    assert "Reactivated" in table_cells(at)                             # stages still work
    assert len(at.get("plotly_chart")) == 4                             # stage bars, flow, cohorts
    at.session_state["dates"] = (date(2024, 2, 1), date(2024, 2, 28))
    at.run()
    assert_healthy(at)
    assert "No orders match the current filters" in texts(at)


def test_link_parameters_set_the_controls():
    at = app(page="lifecycle", query={"lc_horizon": "90", "lc_cohort_period": "quarter", "lc_cohort_view": "count",
                                      "lc_new": "45", "lc_dormant": "400", "lc_discount": "2.5", "lc_holdout": "90",
                                      "lc_from": "2025-06-30", "lc_stage": "churned"})
    assert_healthy(at)
    assert at.selectbox(key="lc_horizon").value == 90
    assert at.radio(key="lc_cohort_period").value == "quarter"
    assert at.radio(key="lc_cohort_view").value == "count"
    assert at.number_input(key="lc_new").value == 45
    assert at.number_input(key="lc_discount").value == 2.5
    assert at.selectbox(key="lc_holdout").value == 90
    assert at.selectbox(key="lc_stage").value == "churned"
    assert at.date_input(key="lc_from").value == date(2025, 6, 30)
    cells = table_cells(at)
    assert "First order within the last 45 days" in cells
    assert any("nobody can be dormant" in w.value for w in at.warning)    # dormant 400 ≥ churned (derived 348)
    assert "Top 50 customers by predicted revenue, next 90 days" in texts(at)
    assert "Stage flow, Jun 30, 2025" in str(at.get("plotly_chart")[2].proto)
    assert at.query_params.get("lc_horizon") == "90" and at.query_params.get("lc_cohort_period") == "quarter"


def test_the_open_tab_travels_in_the_link_by_its_name():
    at = app(page="lifecycle", query={"life_tab": "model", "lang": "zh"})
    assert_healthy(at)
    assert at.query_params.get("life_tab") == "model"                  # the name, not the Chinese label
    assert metric(at, "BG/NBD 拟合客户") == "4,721"                      # every tab is still drawn
    at = app(page="lifecycle", query={"life_tab": "nowhere"})
    assert_healthy(at)
    assert any("life_tab" in w.value for w in at.warning)               # an unknown tab is said, then dropped
    assert "life_tab" not in at.query_params


def test_invalid_link_values_fall_back_to_defaults():
    at = app(page="lifecycle", query={"lc_horizon": "45", "lc_cohort_period": "year", "lc_new": "abc",
                                      "lc_at_risk": "99", "lc_from": "1999-01-01"})
    assert_healthy(at)
    assert at.selectbox(key="lc_horizon").value == 365
    assert at.radio(key="lc_cohort_period").value == "month"
    assert at.number_input(key="lc_new").value == 0
    assert at.number_input(key="lc_at_risk").value == 1.5
    assert at.date_input(key="lc_from").value == date(2025, 10, 3)      # analysis date − 90 days
    warned = " ".join(w.value for w in at.warning)
    for name in ("lc_horizon", "lc_cohort_period", "lc_new", "lc_at_risk", "lc_from"):
        assert name in warned
    assert "lc_horizon" not in at.query_params
