"""AppTest of the Segments page: the sample in both languages, a minimal upload, share-link parameters,
empty states and the customer-list download."""
from datetime import date

import pytest

from tests.app.helpers import app, assert_healthy, texts

# Only the three required columns: no order_id (an order = a customer-day), no customers table.
MINIMAL = (
    b"customer_id,order_date,amount\n"
    b"A,2024-01-05,100\nA,2024-03-01,250\nA,2024-06-10,80\nA,2024-06-20,40\n"
    b"B,2024-02-11,500\nB,2024-06-01,-50\n"
    b"C,2024-01-20,30\n"
    b"D,2024-05-02,900\nD,2024-05-03,120\nD,2024-06-25,60\n"
    b"E,2024-03-15,75\nE,2024-06-28,75\n"
    b"F,2024-04-01,20\n"
    b"G,2024-06-29,300\n"
    b"H,2024-02-02,60\nH,2024-02-20,60\nH,2024-03-10,60\n"
)


def segments_page(**kwargs):
    at = app(page="segments", **kwargs)
    assert_healthy(at)
    return at


def frame(at, first_column, second_column=None):
    """The first table on the page whose columns start with these headers (read-only tables carry no key)."""
    for element in at.dataframe:
        columns = list(element.value.columns)
        if columns[:1] == [first_column] and (second_column is None or columns[1:2] == [second_column]):
            return element.value
    raise AssertionError(f"no table starting with {first_column!r}: "
                         f"{[list(d.value.columns)[:2] for d in at.dataframe]}")


def upload_minimal():
    at = app(page="data")
    at.file_uploader(key="upload_transactions").set_value(("orders.csv", MINIMAL, "text/csv")).run()
    at.button(key="use_data").click().run()
    at.switch_page("pages/segments.py").run()
    assert_healthy(at)
    return at


def test_sample_in_english_shows_translated_segments_and_actions():
    at = segments_page()
    assert at.title[0].value == "Customer segments"
    table = frame(at, "Segment", "Recommended action")
    assert "fm_min" not in frame(at, "segment", "r_min").columns  # (F+M)/2 bounds only for Shopify-style maps
    assert list(table.columns[:3]) == ["Segment", "Recommended action", "Customers"]
    assert {"Champions", "At risk", "Hibernating"} <= set(table["Segment"])
    assert "segmentation." not in " ".join(table["Recommended action"])  # every action key resolved
    assert table["Customers"].sum() == 4721  # every customer of the sample lands in exactly one segment
    assert abs(table["Share of revenue"].sum() - 1) < 1e-9
    assert [tab.label for tab in at.tabs] == ["Overview", "Table & rules", "Value tiers", "Clusters", "Movement",
                                              "Customer lists"]
    charts = {chart.proto.id for chart in at.get("plotly_chart")}
    assert len(charts) >= 7  # treemap, shares, R×F grid, Pareto, scatter, silhouette, movement
    # the drill-down lists the first segment's customers with their profile from the customers table
    listing = frame(at, "Customer ID")
    assert {"Customer ID", "Name", "Region", "Owner", "R score", "Value tier", "Cluster"} <= set(listing.columns)
    assert set(listing["Segment"]) == {"Champions"}
    assert len(listing) == table.loc[table["Segment"] == "Champions", "Customers"].item()
    assert listing["Customer ID"].str.fullmatch(r"\./customer_360\?lang=en&customer=C\d{6}").all()  # opens Customer 360
    downloads = {button.proto.id for button in at.get("download_button")}
    assert any("seg_dl_csv" in d for d in downloads) and any("seg_dl_xlsx" in d for d in downloads)


def test_sample_in_chinese():
    # Switch language on the page: AppTest formats a radio's options with the test process's language, so a
    # later run after a Chinese one cannot read the Chinese radios back (an AppTest limit, not the app's).
    at = segments_page()
    at.session_state["lang"] = "zh"
    at.run()
    assert_healthy(at)
    assert at.title[0].value == "客户分群"
    table = frame(at, "分群", "建议动作")
    assert {"冠军客户", "需挽回", "休眠客户"} <= set(table["分群"])
    assert "奖励并留住" in table["建议动作"].iloc[0]
    assert "客户名单" in [tab.label for tab in at.tabs]
    assert "segmentation." not in texts(at)


def test_preset_from_the_link_shows_shopify_groups():
    at = segments_page(query={"seg_preset": "shopify"})
    assert at.session_state["seg_preset"] == "shopify"
    segments = set(frame(at, "Segment", "Recommended action")["Segment"])
    assert {"Previously loyal", "Almost lost", "Dormant", "Active"} <= segments
    assert "Hibernating" not in segments
    table = frame(at, "Segment", "Recommended action").set_index("Segment")
    assert table.loc["Prospects", "Customers"] == 279 and table["Customers"].sum() == 5000  # no order yet: 279
    assert at.query_params.get("seg_preset") == "shopify"
    rules = frame(at, "segment", "r_min")  # the rule editor, with Shopify's (F+M)/2 bounds
    assert {"fm_min", "fm_max"} <= set(rules.columns) and len(rules) == 10


def test_edited_rules_travel_in_the_link():
    from crm_core.segmentation import PRESETS, Rule, rules_to_text

    # Klaviyo's map with one rule changed: every customer with F = 3 is a Champion, whatever R and M
    edited = (Rule("champions", f=(3, 3)),) + PRESETS["klaviyo"].rules[1:]
    text = rules_to_text(edited)
    at = segments_page(query={"seg_preset": "klaviyo", "seg_rules": text})
    assert "Edited rules in use. They are part of the share link" in texts(at)
    assert at.query_params.get("seg_rules") == text                      # still in the address after the run
    rules = frame(at, "segment", "r_min")
    assert rules["segment"][0] == "champions" and rules["f_min"][0] == 3 and rules["r_min"].isna()[0]
    at_default = segments_page(query={"seg_preset": "klaviyo"})
    champions = {name: frame(page, "Segment", "Recommended action").set_index("Segment").loc["Champions", "Customers"]
                 for name, page in (("edited", at), ("default", at_default))}
    assert champions["edited"] != champions["default"]
    # a hand-broken rule text: a notice, and the map's own rules
    broken = segments_page(query={"seg_preset": "klaviyo", "seg_rules": "champions:9-9"})
    assert any("seg_rules" in w.value and "not valid here" in w.value for w in broken.warning)
    assert broken.query_params.get("seg_rules") is None
    assert "Edited rules in use" not in texts(broken)


def test_invalid_link_values_fall_back_with_a_notice():
    at = segments_page(query={"seg_preset": "nonsense", "seg_k": "42"})
    assert at.session_state["seg_preset"] == "standard"
    assert at.session_state["seg_k"] == "auto"
    notices = [w.value for w in at.warning]
    assert any("seg_preset" in n and "not valid here" in n for n in notices)
    assert any("seg_k" in n for n in notices)
    assert "Champions" in set(frame(at, "Segment", "Recommended action")["Segment"])


def test_link_sets_k_tiers_movement_date_and_drill_down():
    query = {"seg_k": "3", "seg_tiers": ["70", "90"], "seg_from": "2025-07-01", "seg_by": "tier", "seg_pick": "mid"}
    at = segments_page(query=query)
    assert at.session_state["seg_k"] == "3"
    clusters = frame(at, "Cluster")
    assert len(clusters) == 3 and clusters["Cluster"].iloc[0].startswith("1 · ")
    assert "3 clusters (set by hand)" in texts(at)
    assert at.session_state["seg_tiers"] == (70, 90)
    assert "those who bring the first 70% of revenue" in texts(at)
    tiers = frame(at, "Value tier")
    high = tiers.loc[tiers["Value tier"] == "High value", "Share of revenue"].item()
    assert 0.70 <= high < 0.71  # the smallest top group reaching 70 %
    assert at.session_state["seg_from"] == date(2025, 7, 1)
    assert "Segments on Jul 1, 2025 and on Jan 1, 2026" in texts(at)
    listing = frame(at, "Customer ID")
    assert set(listing["Value tier"]) == {"Mid value"}
    assert at.query_params.get("seg_k") == "3" and at.query_params.get("seg_by") == "tier"


def test_minimal_upload_without_order_ids_or_customers_table():
    at = upload_minimal()
    table = frame(at, "Segment", "Recommended action")
    assert table["Customers"].sum() == 8
    listing = frame(at, "Customer ID")
    assert "Name" not in listing.columns and "Customer ID" in listing.columns
    # an unsaved upload: a new tab would not find it
    assert not listing["Customer ID"].str.contains("customer_360").any()
    assert "No customer table is loaded" in texts(at)
    assert at.get("download_button")
    # Klaviyo scores 1-3 even on eight customers
    at.session_state["seg_preset"] = "klaviyo"
    at.run()
    assert_healthy(at)
    assert set(frame(at, "Segment", "Recommended action")["Segment"]) <= {
        "Champions", "Loyal", "Recent", "Need attention", "At risk", "Inactive", "Other"}


@pytest.mark.parametrize("dates, message", [
    ((date(2024, 4, 2), date(2024, 4, 30)), "No orders match the current filters"),  # a gap in the orders
])
def test_filters_that_empty_the_data_show_an_empty_state(dates, message):
    at = upload_minimal()
    at.session_state["dates"] = dates
    at.run()
    assert_healthy(at)
    assert message in texts(at)
    assert not at.get("plotly_chart")


def test_analysis_date_before_the_window_has_no_customers():
    at = upload_minimal()
    at.session_state["dates"] = (date(2024, 6, 1), date(2024, 6, 29))
    at.session_state["asof"] = date(2024, 5, 1)
    at.run()
    assert_healthy(at)
    assert "No customer ordered within the date range before the analysis date" in texts(at)


def test_movement_from_date_follows_the_analysis_date_until_changed():
    at = segments_page()
    assert at.session_state["seg_from"] == date(2025, 10, 3)  # analysis date Jan 1, 2026 − 90 days
    at.session_state["asof"] = date(2025, 7, 1)
    at.run()
    assert_healthy(at)
    assert at.session_state["seg_from"] == date(2025, 4, 2)
    assert "seg_from" not in at.query_params  # at its default: not in the link
    at.session_state["seg_from"] = date(2025, 1, 15)
    at.run()
    assert "seg_from=2025-01-15" in at.code[0].value  # the share link (the browser's address is Streamlit's to write)


def test_a_link_with_thousands_of_rules_is_refused_with_a_short_notice():
    huge = ";".join(["champions:1-5:1-5:1-5:"] * 5000)
    at = segments_page(query={"seg_preset": "standard", "seg_rules": huge})
    assert_healthy(at)
    notices = [w.value for w in at.warning if "seg_rules" in w.value]
    assert notices and all(len(n) < 400 for n in notices), notices   # the value is cut, not echoed whole
    assert "Edited rules in use" not in texts(at)
    assert at.query_params.get("seg_rules") is None
