"""AppTest of the Cross-sell page: the sample in both languages, the category level from a link, uploads
without products and with a hand-checkable basket file, recommendations and their model card (its verdict,
and the fall-back to popularity, in both languages), the "bought X, not Y" list, empty results and invalid
link values."""
import re
from datetime import datetime

import polars as pl
from streamlit.testing.v1 import AppTest

from crm_core.dataset import Dataset, load_sample
from tests.app.helpers import APP, TIMEOUT, app, app_with, assert_healthy, fresh_caches, metric, texts

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


def card_table(at):
    """The model card's table as {method: (hit@5, recall@5)}."""
    for element in at.dataframe:
        frame = element.value
        if len(frame.columns) == 3 and frame.columns[1] == "hit@5":
            return {row[0]: (row[1], row[2]) for row in frame.itertuples(index=False)}
    raise AssertionError("no model card table")


def test_model_card_shows_the_verdict_in_both_languages():
    at = cross_sell()
    verdicts = [s.value for s in at.success if "popularity baseline" in s.value]
    assert len(verdicts) == 1
    # the sample: 1,333 customers bought something new in the 90 days to Jan 1, 2026; ours 50.1 %, popularity 46.2 %
    assert verdicts[0].startswith("Checked out of time, the recommendations beat the popularity baseline: 50.1% of")
    assert "against 46.2% with the 5 most popular items" in verdicts[0]
    table = card_table(at)
    assert list(table) == ["Bought together (ours)", "Most popular items"]
    assert table["Bought together (ours)"][0] > table["Most popular items"][0]
    page = texts(at)
    assert "from Oct 3, 2025 to Jan 1, 2026 (90 days)" in page and "what 1,333 customers bought" in page
    assert "Bought together is counted per order here" in page
    assert any(c.value.startswith("Bought ") and "orders with it also held" in c.value for c in at.caption)
    at.session_state["lang"] = "zh"
    at.run()
    assert_healthy(at)
    verdict = [s.value for s in at.success if "热门基线" in s.value]
    assert len(verdict) == 1 and verdict[0].startswith("时间外检验显示，推荐优于热门基线：50.1% 的客户")
    assert list(card_table(at)) == ["共同购买（本系统）", "最热门商品"]
    assert "cross_sell." not in texts(at)


def worse_than_popular() -> Dataset:
    """Customers whose next new item is the popular one, not what their item was bought with.

    Before February 50 customers bought A: 10 of them with B1…B5 in the same order, the 40 others alone; 20 other
    customers bought P. On Mar 1 each of the 40 buys P. Bought together, A points to B1…B5, which fill the five
    slots; the most popular item they lack is P: every one of them a hit for popularity, none for ours. z bought A
    and nothing since: A points z to B1…B5, popularity to P first."""
    rows = []
    for n in range(10):
        rows += [(f"b{n:02d}", datetime(2024, 1, 2), item) for item in ("A", "B1", "B2", "B3", "B4", "B5")]
    rows += [(f"p{n:02d}", datetime(2024, 1, 3), "P") for n in range(20)]
    rows += [(f"a{n:02d}", datetime(2024, 1, 1), "A") for n in range(40)]
    rows += [(f"a{n:02d}", datetime(2024, 3, 1), "P") for n in range(40)]
    rows.append(("z", datetime(2024, 1, 1), "A"))
    lines = pl.DataFrame({"customer_id": [c for c, _, _ in rows], "order_date": [d for _, d, _ in rows],
                          "product": [p for _, _, p in rows], "amount": [10.0] * len(rows)})
    return Dataset(lines)


def test_model_card_falls_back_to_popularity_and_says_so_in_both_languages():
    at = app_with(worse_than_popular(), page="cross_sell")
    assert_healthy(at)
    warning = [w.value for w in at.warning if "popularity baseline" in w.value]
    assert warning == ["Checked out of time, items bought together do not beat the popularity baseline on these "
                       "data (hit@5: 0.0% against 100.0%), so the recommendations below are the 5 most popular items "
                       "each customer has not bought."]
    assert card_table(at) == {"Bought together (ours)": (0.0, 0.0), "Most popular items": (1.0, 1.0)}
    assert "on these data, items bought together did not predict better" in texts(at)
    at.session_state["xs_customer"] = "z"                   # bought A: ours would say B1…B5
    at.run()
    assert_healthy(at)
    assert offered_items(at) == ["P", "B1", "B2", "B3", "B4"]
    assert texts(at).count("· Popular item ·") == 5
    at.session_state["lang"] = "zh"
    at.run()
    assert_healthy(at)
    assert [w.value for w in at.warning if "热门基线" in w.value] == [
        "时间外检验显示，在这些数据上共同购买不优于热门基线（hit@5：0.0%，基线 100.0%），"
        "因此下方推荐改为每位客户未买过的 5 个最热门商品。"]
    assert list(card_table(at)) == ["共同购买（本系统）", "最热门商品"]
    assert "cross_sell." not in texts(at)


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
