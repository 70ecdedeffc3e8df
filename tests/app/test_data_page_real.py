"""The Data page on real exports, as a user uploads them: the mapping is right or fixable on screen, the
report says what was decided, the currency travels with the data, in both languages."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.app.helpers import app, assert_healthy, metric, shown, texts

REAL = Path(__file__).resolve().parents[1] / "data" / "real"


def upload(at, name: str, data: bytes | None = None):
    at.file_uploader(key="upload_transactions").set_value((name, data or (REAL / name).read_bytes(), "text/csv"))
    return at.run()


def mapping_boxes(at) -> dict[str, str]:
    return {shown(box.label): box.value for box in at.selectbox if box.key and box.key.startswith("map_transactions_")}


@pytest.mark.parametrize("language, money_word", [("en", "taken as the money column"), ("zh", "作为金额列")])
def test_ta_feng_original_maps_sales_price_as_money_and_says_why(language, money_word):
    at = app(query={"lang": language}, page="data")
    upload(at, "ta_feng_original.csv")
    assert_healthy(at)
    assert not at.error
    boxes = mapping_boxes(at)
    assert boxes["SALES_PRICE"] == "amount" and boxes["AMOUNT"] == "quantity"
    assert money_word in texts(at)
    # the field names in the editor are in the page's language
    amount_box = next(b for b in at.selectbox if shown(b.label) == "SALES_PRICE")
    assert ("Amount (money)" if language == "en" else "金额") in amount_box.options


def test_headerless_file_keeps_the_editor_open_and_a_choice_moves_the_field():
    at = app(page="data")
    upload(at, "cdnow_master_head.txt")
    assert_healthy(at)
    assert mapping_boxes(at) == {"column_1": "customer_id", "column_2": "order_date", "column_3": "quantity",
                                 "column_4": "amount"}
    mapping = next(e for e in at.expander if e.label == "Column mapping")
    assert mapping.proto.expanded
    # the user says column_3 is the amount: column_4 gives it up instead of a "mapped twice" dead end
    next(b for b in at.selectbox if shown(b.label) == "column_3").select("amount").run()
    assert_healthy(at)
    assert not at.error
    boxes = mapping_boxes(at)
    assert boxes["column_3"] == "amount" and boxes["column_4"] == ""
    at.button(key="use_data").click().run()
    at.switch_page("pages/overview.py").run()
    assert_healthy(at)
    assert metric(at, "Customers") == "300"


def test_missing_columns_leave_the_editor_on_screen_to_fix_them():
    at = app(page="data")
    upload(at, "orders.csv", b"who,when,how much\nA1,2024-01-05,10\nA2,2024-01-06,20\n")
    assert at.error and "Required columns not found" in at.error[0].value
    assert {b.label for b in at.selectbox} >= {"who", "when", "how much"}
    next(b for b in at.selectbox if b.label == "who").select("customer_id").run()
    next(b for b in at.selectbox if b.label == "when").select("order_date").run()
    assert_healthy(at)
    assert not at.error
    at.button(key="use_data").click().run()
    at.switch_page("pages/overview.py").run()
    assert metric(at, "Customers") == "2"


def test_the_detected_currency_goes_with_the_data():
    at = app(page="data")
    upload(at, "ta_feng_gb18030.csv")
    assert_healthy(at)
    assert at.selectbox(key=next(b.key for b in at.selectbox if b.key.startswith("currency_"))).value == "CNY"
    at.button(key="use_data").click().run()
    assert at.session_state["dataset"].currency == "CNY"
    original = app(page="data")
    upload(original, "ta_feng_original.csv")
    box = next(b for b in original.selectbox if b.key.startswith("currency_"))
    assert box.value == ""  # no sign in the file: the user chooses
    box.select("TWD").run()
    original.button(key="use_data").click().run()
    assert original.session_state["dataset"].currency == "TWD"


def test_repeated_lines_are_kept_and_can_be_dropped():
    lines = "customer_id,order_date,amount,product\nA1,2024-01-05,10,tea\nA1,2024-01-05,10,tea\nA2,2024-01-06,5,cup\n"
    at = app(page="data")
    upload(at, "orders.csv", lines.encode())
    assert metric(at, "Rows kept") == "3"
    box = next(c for c in at.checkbox if c.key.startswith("dedupe_"))
    box.check().run()
    assert_healthy(at)
    assert metric(at, "Rows kept") == "2"


def test_the_currency_of_a_saved_dataset_can_be_set_later_for_everyone(data_dir):
    from crm_core import store

    at = app(page="data")
    upload(at, "ta_feng_original.csv")  # no currency sign in the file
    at.button(key="use_data").click().run()
    at.button(key="FormSubmitter:save_form-Save and share").click().run()
    dataset_id = at.session_state["dataset_id"]
    assert store.read_meta(data_dir, dataset_id).get("currency") is None
    box = next(b for b in at.selectbox if b.key and b.key.startswith("data_currency_"))
    box.select("TWD").run()
    assert_healthy(at)
    assert store.read_meta(data_dir, dataset_id)["currency"] == "TWD"
    colleague = app(query={"ds": dataset_id})
    assert metric(colleague, "Revenue").startswith("NT$")


def test_the_sample_currency_changes_for_this_view_only():
    at = app(page="data")
    box = next(b for b in at.selectbox if b.key and b.key.startswith("data_currency_"))
    assert box.value == "CNY"
    box.select("USD").run()
    at.switch_page("pages/overview.py").run()
    assert metric(at, "Revenue").startswith("$") and at.query_params.get("cur") == "USD"
