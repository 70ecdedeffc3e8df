"""AppTest of the Cross-sell page: the sample in both languages, the category level from a link, uploads
without products and with a hand-checkable basket file, recommendations, the "bought X, not Y" list, empty
results and invalid link values."""
import re

import polars as pl
from streamlit.testing.v1 import AppTest

from crm_core.dataset import load_sample
from tests.app.helpers import APP, TIMEOUT, app, assert_healthy, fresh_caches, metric, texts

# Only the three required columns: nothing tells what was bought.
MINIMAL = b"customer_id,order_date,amount\nA,2024-01-05,100\nA,2024-03-01,250\nB,2024-02-11,500\n"

# Five orders, three products. A bought bread and butter; only jam is left to offer A.
BASKETS = (
    b"customer_id,order_date,order_id,product,amount\n"
    b"A,2024-01-05,O1,bread,10\nA,2024-01-05,O1,butter,5\n"
    b"B,2024-01-06,O2,bread,10\nB,2024-01-06,O2,butter,5\n"
    b"C,2024-01-07,O3,bread,10\nC,2024-01-07,O3,butter,5\nC,2024-01-07,O3,jam,8\n"
    b"D,2024-01-08,O4,bread,10\nD,2024-01-08,O4,jam,8\n"
    b"E,2024-01-09,O5,butter,5\n"
)

OFFER_LINE = re.compile(r"^\*\*(\d+)\. (.+?)\*\* · ")


def cross_sell(query: dict | None = None) -> AppTest:
    """The page opened from a share link: its first run is already this page (as a browser's request for
    ``/cross_sell?…``), so the controls bound to the link by Streamlit find their values."""
    fresh_caches()
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.context = {"locale": "en-US"}
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.switch_page("pages/cross_sell.py").run()
    assert_healthy(at)
    return at


def upload(data: bytes, name: str):
    at = app(page="data")
    at.file_uploader(key="upload_transactions").set_value((name, data, "text/csv")).run()
    at.button(key="use_data").click().run()
    at.switch_page("pages/cross_sell.py").run()
    assert_healthy(at)
    return at


def table(at, *first_columns):
    """The first table whose columns start with these headers."""
    for element in at.dataframe:
        if list(element.value.columns[:len(first_columns)]) == list(first_columns):
            return element.value
    raise AssertionError(f"no table starting with {first_columns}: {[list(d.value.columns)[:2] for d in at.dataframe]}")


def offered_items(at) -> list[str]:
    """Items of the one-customer recommendation list, in rank order (markdown escapes removed)."""
    found = [OFFER_LINE.match(str(m.value)) for m in at.markdown]
    return [re.sub(r"\\(.)", r"\1", hit.group(2)) for hit in found if hit]


def test_sample_in_english():
    at = cross_sell()
    assert at.title[0].value == "Cross-sell"
    assert metric(at, "Baskets analysed") == "25,581"   # orders of the sample with a product
    assert metric(at, "Products bought") == "57"
    rules = table(at, "If bought", "Then also")
    assert list(rules.columns) == ["If bought", "Then also", "Support", "Confidence", "Lift", "Conviction", "Leverage",
                                   "Baskets with all items"]
    assert len(rules) == int(metric(at, "Rules found")) > 0
    assert (rules["Lift"] >= 1).all() and (rules["Confidence"] >= 0.1).all() and (rules["Support"] >= 0.01).all()
    assert list(rules["Lift"]) == sorted(rules["Lift"], reverse=True)
    assert [tab.label for tab in at.tabs] == ["Association rules", "Affinity map", "Also bought", "Recommendations",
                                              "Target list"]
    assert len(at.get("plotly_chart")) >= 2   # lift heatmap, "also bought" bars
    reasons = [c.value for c in at.caption if c.value.startswith(("Bought ", "Popular: "))]
    assert reasons, "the recommendation reasons are rendered in English"
    assert "cross_sell." not in texts(at)


def test_sample_in_chinese():
    # Switch language on the page: AppTest formats radio options in the test process's language, so the
    # Chinese run is the last one (an AppTest limit, not the app's; see test_segments_page).
    at = cross_sell()
    at.session_state["lang"] = "zh"
    at.run()
    assert_healthy(at)
    assert at.title[0].value == "交叉销售"
    assert metric(at, "分析的购物篮数") == "25,581"
    assert len(table(at, "如果购买", "那么也买")) > 0
    assert any(c.value.startswith(("已购买", "热门商品")) for c in at.caption), "reasons in Chinese"
    assert "关联规则" in [tab.label for tab in at.tabs]
    assert "cross_sell." not in texts(at)


def test_category_level_and_thresholds_from_the_link():
    at = cross_sell(query={"xs_level": "category", "xs_by": "customer", "xs_support": "5", "xs_confidence": "40"})
    assert at.session_state["xs_level"] == "category" and at.session_state["xs_by"] == "customer"
    assert metric(at, "Categories bought") == "9"
    assert metric(at, "Baskets analysed") == "4,721"   # customers, not orders
    categories = set(load_sample().transactions["category"].drop_nulls().unique())
    rules = table(at, "If bought", "Then also")
    named = {name for cell in rules["If bought"].tolist() + rules["Then also"].tolist() for name in cell.split(", ")}
    assert named <= categories
    assert (rules["Support"] >= 0.05).all() and (rules["Confidence"] >= 0.4).all()
    assert at.query_params.get("xs_level") == "category" and at.query_params.get("xs_support") == "5"


def test_upload_without_products_explains_what_is_missing():
    at = upload(MINIMAL, "orders.csv")
    assert at.title[0].value == "Cross-sell"
    assert "no product or category column" in texts(at)
    assert not at.tabs and not at.dataframe


def test_recommendations_for_one_customer_skip_what_they_bought():
    at = cross_sell()
    customer = at.session_state["xs_customer"]          # the customer with the largest net revenue
    lines = load_sample().transactions.filter(pl.col("customer_id") == customer)
    had = set(lines["product"].drop_nulls())
    offered = offered_items(at)
    assert len(offered) == 5 and len(set(offered)) == 5
    assert not set(offered) & had
    # a small file worked by hand: A bought bread and butter, so jam is all that is left
    at = upload(BASKETS, "baskets.csv")
    at.session_state["xs_customer"] = "A"
    at.run()
    assert_healthy(at)
    assert offered_items(at) == ["jam"]
    # jam → bread never fails (both jam orders hold bread): conviction ∞, shown blank and explained
    rules = table(at, "If bought", "Then also")
    never_fails = rules[(rules["If bought"] == "jam") & (rules["Then also"] == "bread")]
    assert len(never_fails) == 1 and never_fails["Confidence"].iloc[0] == 1 and never_fails["Conviction"].isna().all()
    assert "A blank conviction means ∞" in texts(at)
    assert "Fewer suggestions than asked (1 of 5): A has already bought everything else." in texts(at)


def test_target_list_bought_x_not_y():
    laptop, dock = "轻薄笔记本电脑", "Type-C扩展坞"
    at = cross_sell(query={"xs_bought": laptop, "xs_not": dock})
    listed = table(at, "Customer")
    lines = load_sample().transactions
    buyers = set(lines.filter((pl.col("product") == laptop) & (pl.col("amount") > 0))["customer_id"])
    excluded = set(lines.filter(pl.col("product") == dock)["customer_id"])
    assert set(listed["Customer"].str.removeprefix("./customer_360?lang=en&customer=")) == buyers - excluded
    assert metric(at, "Customers on the list") == f"{len(buyers - excluded):,}"
    assert {"Bought", "Revenue", "Orders", "Last order"} <= set(listed.columns)
    assert list(listed["Revenue"]) == sorted(listed["Revenue"], reverse=True)


def test_empty_results_are_explained():
    laptop = "轻薄笔记本电脑"
    at = cross_sell(query={"xs_bought": laptop, "xs_not": laptop, "xs_search": "no such product"})
    assert "None of the 90 rules mentions “no such product”." in texts(at)
    assert "No customer matches" in texts(at)
    at = cross_sell(query={"xs_support": "20"})
    assert "No rule passes these thresholds" in texts(at)
    assert metric(at, "Rules found") == "0"
    # one day on which the region's agents sold nothing: the filters leave no orders
    lines = load_sample().transactions.filter((pl.col("region") == "西北") & (pl.col("channel") == "代理商"))
    sold = set(lines["order_date"].dt.date())
    quiet = next(day for day in load_sample().transactions["order_date"].dt.date().unique().sort() if day not in sold)
    at = cross_sell(query={"region": "西北", "channel": "代理商"})
    at.session_state["dates"] = (quiet, quiet)
    at.run()
    assert "No orders match the current filters" in texts(at)
    assert not at.tabs


def test_the_open_tab_travels_in_the_link_by_its_name():
    at = cross_sell(query={"xs_tab": "targets", "lang": "zh"})
    assert at.query_params.get("xs_tab") == "targets"                  # the name, not the Chinese label
    assert metric(at, "分析的购物篮数") == "25,581"                      # every tab is still drawn
    at = cross_sell(query={"xs_tab": "nowhere"})
    assert any("xs_tab" in w.value for w in at.warning)                 # an unknown tab is said, then dropped
    assert "xs_tab" not in at.query_params


def test_invalid_link_values_fall_back_to_defaults():
    at = cross_sell(query={"xs_level": "brand", "xs_support": "abc", "xs_confidence": "500", "xs_maxlen": "9",
                           "xs_scope": "everyone", "xs_item": "no such thing"})
    state = at.session_state
    assert (state["xs_level"], state["xs_support"], state["xs_confidence"], state["xs_maxlen"], state["xs_scope"]) == \
        ("product", 1.0, 10, 3, "customer")
    assert state["xs_item"] == "抽纸（24包/箱）"           # the item in the most orders
    assert sum("not valid here" in w.value for w in at.warning) == 6
    assert metric(at, "Rules found") == "90"
