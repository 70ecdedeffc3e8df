"""crm_core.customers: the customer table, one customer's story, search, filters and masked exports."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import polars as pl
import pytest

from crm_core import churn, clv, cross_sell, customers as cu, lifecycle, segmentation
from crm_core.dataset import Dataset
from crm_core.export import mask_contacts, to_csv_bytes, to_excel_bytes
from crm_core.features import MissingAmounts, customer_summary, default_as_of
from crm_core.sample import generate

AS_OF = datetime(2024, 7, 1)


def line(customer: str, day: str, amount: float, order: str, product: str | None = None,
         category: str | None = None, quantity: float = 1.0, rep: str | None = "王磊") -> dict:
    return {"customer_id": customer, "order_date": datetime.fromisoformat(day), "amount": amount, "order_id": order,
            "product": product, "category": category, "quantity": quantity, "sales_rep": rep}


def tiny() -> Dataset:
    """A: five orders (rich history), B: one order, C: an order and its partial refund, D: a buyer missing from
    the customer table, P: a prospect, F: signs up after the analysis date, Z: an order after it."""
    lines = pl.DataFrame([
        line("A", "2024-01-05 10:00", 100.0, "o1", "pen", "office", 2),
        line("A", "2024-01-05 10:00", 50.0, "o1", "paper", "office"),
        line("A", "2024-02-10 09:00", 300.0, "o2", "chair", "furniture"),
        line("A", "2024-03-15 09:00", 120.0, "o3", "pen", "office", 3),
        line("A", "2024-05-20 09:00", 80.0, "o4", "paper", "office"),
        line("A", "2024-06-25 09:00", 60.0, "o5", "ink", "office"),
        line("B", "2024-03-01 12:00", 500.0, "o6", "desk", "furniture"),
        line("C", "2024-02-01 12:00", 200.0, "o7", "pen", "office"),
        line("C", "2024-02-01 12:00", 90.0, "o7", "chair", "furniture"),
        line("C", "2024-02-03 12:00", -90.0, "o7", "chair", "furniture"),
        line("C", "2024-04-01 12:00", 40.0, "o8", "paper", "office"),
        line("D", "2024-06-01 08:00", 70.0, "o9", "ink", "office", rep="李娜"),
        line("Z", "2024-08-01 08:00", 999.0, "o10", "desk", "furniture"),
    ])
    people = pl.DataFrame({
        "customer_id": ["A", "B", "C", "P", "F", "A"],
        "name": ["Acme 北京科技", "Beta Foods", "Cyan Ltd", "Prospect Co", "Future Co", "duplicate row"],
        "signup_date": [datetime(2023, 1, 1), datetime(2023, 6, 1), None, datetime(2024, 5, 1),
                        datetime(2024, 9, 1), datetime(2023, 1, 1)],
        "region": ["华北", "华东", None, "华南", "华南", "华北"],
        "phone": ["13812345678", "139-8765-4321", None, "010 6543 2100", "13700001111", "13812345678"],
        "email": ["zhang.wei@acme.cn", "b@beta.com", None, "hello@prospect.cn", None, None],
        "owner": ["张三", "李四", None, "张三", "李四", "张三"],
    })
    events = pl.DataFrame({
        "customer_id": ["A", "A", "A", "B", "P", "A"],
        "date": [datetime(2024, 2, 1, 9), datetime(2024, 6, 10, 9), datetime(2024, 6, 28, 9), datetime(2024, 3, 10, 9),
                 datetime(2024, 6, 5, 9), datetime(2024, 7, 5, 9)],
        "type": ["call", "Complaint", "email", "complaint", "visit", "complaint"],
        "outcome": ["connected", "pending", "sent", "resolved", "completed", "pending"],
        "satisfaction": [4.0, 2.0, None, 3.0, None, 1.0],
        "note": ["asked for catalogue", "late delivery", "sent invoice", "broken desk", "first visit", "after as_of"],
    })
    return Dataset(lines, people, events)


@pytest.fixture(scope="module")
def small():
    """A generated dataset big enough for every analysis, the churn model included."""
    dataset = generate(300, seed=3)
    as_of = default_as_of(dataset.transactions)
    result = cu.customer_table(dataset, as_of)
    return dataset, as_of, result, result.notes


# ---------------------------------------------------------------- one row per customer

def test_one_row_per_known_customer_prospects_included():
    table = cu.customer_table(tiny(), AS_OF).frame
    assert table["customer_id"].to_list() == ["A", "B", "C", "D", "P"]  # F signs up later, Z orders later
    assert table["customer_id"].is_unique().all()
    rows = {row["customer_id"]: row for row in table.iter_rows(named=True)}
    assert rows["A"]["name"] == "Acme 北京科技"  # the first row of a duplicated id wins
    assert rows["P"]["orders"] == 0 and rows["P"]["revenue"] == 0.0 and rows["P"]["first_order"] is None
    assert rows["P"]["stage"] == "prospect" and rows["P"]["segment"] is None
    assert rows["D"]["name"] is None and rows["D"]["orders"] == 1
    # owner falls back to the latest order's sales rep where the customer table has none
    assert rows["D"]["owner"] == "李娜" and rows["C"]["owner"] == "王磊" and rows["A"]["owner"] == "张三"
    assert rows["C"]["revenue"] == pytest.approx(240.0) and rows["C"]["orders"] == 2


def test_needs_profile_and_interaction_columns_by_hand():
    table = cu.customer_table(tiny(), AS_OF).frame
    rows = {row["customer_id"]: row for row in table.iter_rows(named=True)}
    # A: office 100 + 50 + 120 + 80 + 60 = 410, furniture 300 -> office, 410 / 710
    assert rows["A"]["dominant_category"] == "office"
    assert rows["A"]["dominant_category_share"] == pytest.approx(410 / 710)
    assert rows["A"]["category_breadth"] == 2
    # C: office 240, furniture 90 - 90 = 0
    assert rows["C"]["dominant_category"] == "office" and rows["C"]["dominant_category_share"] == pytest.approx(1.0)
    # A's complaint of Jun 10 is inside the 90 days, the one of Jul 5 is after as_of; B's is older than 90 days
    assert rows["A"]["complaints_last_90d"] == 1 and rows["B"]["complaints_last_90d"] == 0
    assert rows["A"]["last_interaction_date"] == datetime(2024, 6, 28, 9)
    assert rows["A"]["last_interaction_type"] == "email"
    assert rows["P"]["last_interaction_type"] == "visit" and rows["D"]["last_interaction_date"] is None
    assert rows["D"]["complaints_last_90d"] == 0


def test_columns_follow_the_data_that_exists():
    data = tiny()
    bare = Dataset(data.transactions.select("customer_id", "order_date", "amount"))
    table = cu.customer_table(bare, AS_OF).frame
    assert table["customer_id"].to_list() == ["A", "B", "C", "D"]
    for absent in ("name", "phone", "owner", "next_product", "last_interaction_date", "complaints_last_90d",
                   "dominant_category"):
        assert absent not in table.columns
    for present in ("orders", "revenue", "segment", "tier", "stage", "risk_tier"):
        assert present in table.columns
    # four customers who never stopped: BG/NBD sees no drop-out (a → 0), so there is no P(alive) to show
    assert "p_alive" not in table.columns
    assert "lifecycle.note.no_dropout" in [note.key for note in cu.customer_table(bare, AS_OF).notes]
    only = cu.customer_table(data, AS_OF, include=()).frame
    assert set(only.columns) >= {"name", "orders", "revenue", "dominant_category"}
    assert not {"segment", "stage", "p_alive", "risk_tier", "next_product", "last_interaction_date"} & set(only.columns)
    with pytest.raises(ValueError):
        cu.customer_table(data, AS_OF, include=("astrology",))


def test_a_part_the_data_cannot_support_leaves_its_columns_out_with_its_reason(monkeypatch):
    def unsupported(*args, **kwargs):
        raise MissingAmounts("churn")

    monkeypatch.setattr(churn, "score", unsupported)
    result = cu.customer_table(tiny(), AS_OF)
    table = result.frame
    assert "churn_probability" not in table.columns and "risk_tier" not in table.columns
    assert "stage" in table.columns and table.height == 5
    assert cu.TableNote("churn", "app.base.needs_amounts", {"analysis": "churn"}) in result.notes
    with pytest.raises(AttributeError):
        result.notes = ()  # frozen: the caller reads the notes, it does not hand in a list to fill


def test_a_bug_in_a_part_is_not_hidden(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("model exploded")

    monkeypatch.setattr(churn, "score", broken)
    with pytest.raises(RuntimeError, match="model exploded"):
        cu.customer_table(tiny(), AS_OF)


def test_notes_name_their_part():
    lines = tiny().transactions.drop("amount")
    result = cu.customer_table(Dataset(lines), AS_OF)
    assert "tier" not in result.frame.columns and "segment" in result.frame.columns
    assert cu.TableNote("tiers", "app.base.needs_amounts", {"analysis": "value_tiers"}) in result.notes
    assert {note.part for note in result.notes} <= {"tiers", "clv"}
    assert all(note.key.startswith(("app.base.", "lifecycle.note.")) for note in result.notes)


def test_shopify_preset_puts_prospects_in_its_prospect_group():
    table = cu.customer_table(tiny(), AS_OF, preset="shopify", include=("segments",)).frame
    assert table.filter(pl.col("customer_id") == "P")["segment"].item() == "prospects"
    assert table.filter(pl.col("orders") > 0)["segment"].is_in(["prospects"]).sum() == 0


# ---------------------------------------------------------------- agreement with the source modules

def test_columns_agree_with_the_modules_they_come_from(small):
    dataset, as_of, result, notes = small
    table = result.frame
    assert table["customer_id"].is_unique().all()
    assert table.height == dataset.customers.height  # every generated customer signed up before the end
    indexed = table.sort("customer_id")

    def same(frame: pl.DataFrame, column: str, source: str | None = None) -> None:
        joined = indexed.select("customer_id", column).join(
            frame.select("customer_id", pl.col(source or column).alias("_expected")), on="customer_id", how="inner")
        assert joined.height == frame.height
        if joined[column].dtype.is_float():
            assert joined[column].to_list() == pytest.approx(joined["_expected"].to_list()), column
        else:
            assert joined[column].to_list() == joined["_expected"].to_list(), column

    summary = customer_summary(dataset.transactions, as_of)
    same(summary, "orders"), same(summary, "revenue"), same(summary, "last_order")
    same(segmentation.rfm(summary), "segment")
    same(segmentation.value_tiers(summary), "tier")
    same(segmentation.clusters(summary).labels, "cluster")
    earlier = segmentation.rfm(customer_summary(dataset.transactions, as_of - timedelta(days=91)))
    same(earlier, "segment_quarter_ago", "segment")
    same(lifecycle.stages(dataset.transactions, as_of, dataset.customers), "stage")
    predicted = clv.predict(dataset.transactions, as_of, 365).table
    for column in ("p_alive", "predicted_value_365_days", "expected_next_order_date", "days_overdue"):
        same(predicted, column)
    scored = churn.score(dataset, as_of, model=churn.train_when_sufficient(dataset, as_of))
    assert (scored["risk_source"] == "model").all(), "the fixture must be big enough for the churn model"
    same(scored, "churn_probability"), same(scored, "risk_tier"), same(scored, "churn_reasons", "reasons")
    same(scored, "value_at_risk")
    picks = cross_sell.recommend(dataset.transactions, customer_ids=table["customer_id"], k=1, as_of=as_of)
    same(picks, "next_product", "item")
    features = churn.features(dataset, as_of)
    same(features.with_columns(pl.col("complaints_last_90d").cast(pl.Int64)), "complaints_last_90d")
    # the top reason is the first of the list, as JSON {"key", "params"}
    row = table.filter(pl.col("churn_reasons") != "[]").row(0, named=True)
    assert json.loads(row["churn_reason"]) == json.loads(row["churn_reasons"])[0]
    assert all(note.part == "clv" and note.key.startswith("lifecycle.note.") for note in notes)


def test_a_given_churn_model_is_used_not_trained_again(small, monkeypatch):
    dataset, as_of, result, _ = small
    table = result.frame
    model = churn.train(dataset, as_of)
    monkeypatch.setattr(churn, "train", lambda *args, **kwargs: pytest.fail("trained a second model"))
    again = cu.customer_table(dataset, as_of, include=("churn",), churn_model=model).frame
    assert again["churn_probability"].to_list() == pytest.approx(table["churn_probability"].to_list(), nan_ok=True)


def test_prospects_get_popular_products_and_no_scores(small):
    prospects = small[2].frame.filter(pl.col("orders") == 0)
    assert prospects.height > 0
    assert prospects["segment"].null_count() == prospects.height and (prospects["stage"] == "prospect").all()
    assert prospects["p_alive"].null_count() == prospects.height
    reasons = [cu.decode_reason(text)[0] for text in prospects["next_product_reason"].to_list()]
    assert set(reasons) == {"cross_sell.reason.popular"}


# ---------------------------------------------------------------- search and filters

def test_find_customers_by_id_name_and_phone_digits():
    table = cu.customer_table(tiny(), AS_OF, include=()).frame
    assert cu.find_customers(table, "a")["customer_id"].to_list()[0] == "A"
    found = cu.find_customers(table, " a ")
    assert found.row(0, named=True)["match"] == "id"
    assert cu.find_customers(table, "北京")["customer_id"].to_list() == ["A"]
    assert cu.find_customers(table, "beta")["match"].to_list() == ["name"]
    assert cu.find_customers(table, "4321")["customer_id"].to_list() == ["B"]  # 139-8765-4321
    assert cu.find_customers(table, "6543 2100")["customer_id"].to_list() == ["P"]
    assert cu.find_customers(table, "321").height == 0  # fewer than 4 digits: not a phone search
    assert cu.find_customers(table, "").height == 0
    assert cu.find_customers(table, "nobody").height == 0
    # a dataset works too: the customer table plus buyers missing from it
    by_d = cu.find_customers(tiny(), "d")
    assert by_d.select("customer_id", "match").rows() == [("D", "id"), ("B", "name"), ("C", "name")]
    assert cu.find_customers(tiny(), "Co")["customer_id"].to_list() == ["F", "P"]


def test_filter_table():
    table = cu.customer_table(tiny(), AS_OF).frame
    assert cu.filter_table(table)["customer_id"].to_list() == table["customer_id"].to_list()
    assert cu.filter_table(table, stages=["prospect"])["customer_id"].to_list() == ["P"]
    assert cu.filter_table(table, owners=["张三"])["customer_id"].to_list() == ["A", "P"]
    assert cu.filter_table(table, value_range=(200.0, 600.0))["customer_id"].to_list() == ["B", "C"]
    assert cu.filter_table(table, regions=["华北"], query="acme")["customer_id"].to_list() == ["A"]
    assert cu.filter_table(table, owners=["张三"], query="beta").height == 0


# ---------------------------------------------------------------- one customer's story

def test_story_of_a_rich_customer():
    data = tiny()
    story = cu.customer_story(data, AS_OF, "A")
    assert not story.is_prospect
    assert story.profile["name"] == "Acme 北京科技" and story.profile["phone"] == "13812345678"
    assert story.figures["orders"] == 5 and "segment" in story.figures and "stage" in story.figures
    events = story.timeline
    assert events["date"].is_sorted()
    assert events.filter(pl.col("source") == "order").height == 5
    assert events.filter(pl.col("source") == "interaction")["kind"].to_list() == ["call", "Complaint", "email"]
    first = events.row(0, named=True)
    assert first["kind"] == "order" and first["description"] == "pen ×2, paper" and first["amount"] == 150.0
    assert (events["date"] < AS_OF).all()
    assert story.monthly_spend["revenue"].sum() == pytest.approx(story.figures["revenue"])
    assert story.monthly_spend["month"].to_list()[0] == date(2024, 1, 1)
    owned = {"pen", "paper", "chair", "ink"}
    assert set(story.recommendations["item"].to_list()).isdisjoint(owned)
    assert 1 <= story.recommendations.height <= 5
    assert story.similar.height == 3 and "A" not in story.similar["customer_id"].to_list()
    assert story.similar["distance"].is_sorted()


def test_story_of_a_single_order_customer_and_a_refund():
    story = cu.customer_story(tiny(), AS_OF, "B")
    assert story.figures["orders"] == 1 and story.figures["avg_days_between_orders"] is None
    assert story.timeline.filter(pl.col("source") == "order").height == 1
    assert story.monthly_spend.height == 1
    refund = cu.customer_story(tiny(), AS_OF, "C").timeline.filter(pl.col("source") == "order")
    assert refund["amount"].to_list() == [200.0, 40.0]  # the refund line nets against its order o7


def test_story_of_a_prospect_and_an_unknown_id():
    story = cu.customer_story(tiny(), AS_OF, "P")
    assert story.is_prospect
    assert story.timeline["source"].to_list() == ["interaction"]
    assert story.monthly_spend.height == 0 and story.similar.height == 0
    assert story.churn_reasons == () and story.churn_flags == ()
    assert set(story.recommendations["source"].to_list()) == {"popular"}
    with pytest.raises(cu.UnknownCustomer) as caught:
        cu.customer_story(tiny(), AS_OF, "nobody")
    assert caught.value.key == "customers.error.unknown" and caught.value.params == {"customer_id": "nobody"}
    with pytest.raises(cu.UnknownCustomer):
        cu.customer_story(tiny(), AS_OF, "F")  # signs up after the analysis date


def test_story_reuses_the_table_and_matches_it(small):
    dataset, as_of, result, _ = small
    table = result.frame
    rich = table.sort(["orders", "customer_id"], descending=[True, False])["customer_id"][0]
    story = cu.customer_story(dataset, as_of, rich, table=result)
    assert story.recommendations["item"][0] == table.filter(pl.col("customer_id") == rich)["next_product"].item()
    assert story.figures["churn_probability"] == table.filter(pl.col("customer_id") == rich)["churn_probability"].item()
    assert len(story.churn_reasons) == len(json.loads(story.figures["churn_reasons"]))
    assert cu.customer_profile(dataset, rich, as_of, table=result).figures == story.figures


# ---------------------------------------------------------------- masking in exports

def test_downloads_of_the_table_are_masked():
    table = cu.customer_table(tiny(), AS_OF, include=()).frame
    safe = mask_contacts(table)
    assert safe.filter(pl.col("customer_id") == "A")["phone"].item() == "138****5678"
    assert safe.filter(pl.col("customer_id") == "A")["email"].item() == "z****@acme.cn"
    csv_text = to_csv_bytes(safe).decode("utf-8-sig")
    assert "13812345678" not in csv_text and "zhang.wei" not in csv_text and "138****5678" in csv_text
    workbook = to_excel_bytes(safe)
    assert b"13812345678" not in workbook


def test_a_degenerate_bgnbd_fit_leaves_p_alive_out_of_the_table_and_says_why(small):
    from tests.core.test_clv import loyal_transactions

    dataset = Dataset(loyal_transactions())
    table = cu.customer_table(dataset, datetime(2024, 1, 1), include=("segments", "clv"))
    assert "p_alive" not in table.frame.columns                  # ~1 for everyone: it tells nobody apart
    assert "predicted_value_365_days" in table.frame.columns     # the other predictions stay
    assert "lifecycle.note.no_dropout" in [note.key for note in table.notes]
    assert "p_alive" in small[2].frame.columns                  # a sound fit keeps it


def test_the_next_product_follows_the_recommender_the_cross_sell_check_chose(small):
    dataset, as_of, table, _ = small
    popular = cu.customer_table(dataset, as_of, include=("cross_sell",), recommender=cu.Recommender("popular"))
    picks = cross_sell.recommend(dataset.transactions, popular.frame["customer_id"], k=1, as_of=as_of,
                                 method="popular")
    expected = dict(zip(picks["customer_id"], picks["item"], strict=True))
    assert all(expected.get(cid) == item for cid, item in popular.frame.select("customer_id", "next_product").rows())
    default = cu.customer_table(dataset, as_of, include=("cross_sell",))
    assert default.frame["next_product"].to_list() != popular.frame["next_product"].to_list()
