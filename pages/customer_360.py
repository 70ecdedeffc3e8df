"""Customer 360: one customer's profile, key figures, timeline, monthly spend, next best products, look-alikes.

The figures are the customer's row of ``crm_core.customers.customer_table`` (the same cached table as the
Customers page); the timeline, spend, recommendations and similar customers come from
``crm_core.customers.customer_story``. The chosen customer travels in the link as ``?customer=<id>``.
"""
from datetime import datetime

import polars as pl
import streamlit as st

from crm_core.charts import customers as customer_charts
from crm_core.customers import (
    customer_story, decode_reason, find_customers, recommendation_level,
)
from crm_core.dataset import Dataset
from crm_core.export import mask_contacts
from ui import base, shell, state, widgets
from ui.analyses import HORIZON_DAYS, PRESET, VALUE, customer_base, product_rules
from ui.cache import cached
from ui.i18n import (format_date, format_money, format_number, format_percent, has_key, money_column_format,
                     money_formatter)
from ui.state import lang, t

shell.framed()

RESULTS = 12
FIGURES_PER_ROW = 4
PROFILE_FIELDS = ("phone", "email", "industry", "channel", "region", "city", "owner", "signup_date", "gender", "birthday")


# ---------------------------------------------------------------- cached adapters

@cached
def c360_story(dataset: Dataset, as_of: datetime, customer_id: str):
    table, _ = customer_base(dataset, as_of)
    return customer_story(dataset, as_of, customer_id, table=table, rules=product_rules(dataset, as_of), preset=PRESET,
                          horizon_days=HORIZON_DAYS)


# ---------------------------------------------------------------- helpers

ctx = shell.context()
language = lang()


def pick(customer_id: str) -> None:
    """Open another customer (button callback): the id goes into the link, the search box empties."""
    st.session_state["customer"] = customer_id
    st.session_state["c360_q"] = ""


def label(prefix: str, value) -> str:
    if value is None:
        return "–"
    return t(f"{prefix}.{value}") if has_key(f"{prefix}.{value}") else str(value)


def reason_text(raw) -> str | None:
    decoded = decode_reason(raw)
    return t(decoded[0], **decoded[1]) if decoded else None


def money(value, compact: bool = False) -> str:
    return format_money(value, language, ctx.currency, compact=compact)


def day(value) -> str:
    return format_date(value, language) if value is not None else "–"


def short_day(value) -> str:
    """ISO date for the figure cards: the long forms do not fit a card in either language."""
    return value.strftime("%Y-%m-%d") if value is not None else "–"


def field_value(name: str, value) -> str:
    if value is None or value == "":
        return "–"
    if isinstance(value, datetime):
        return day(value)
    return str(value)


# ---------------------------------------------------------------- search

st.title(t("customers.c360.title"))
shell.require_orders(ctx)
base.caption(ctx)
amounts = base.amounts_notice(ctx.dataset)
with st.spinner(t("customers.page.computing")):
    table, notes = customer_base(ctx.dataset, ctx.as_of)
chosen = state.claim("customer", "", state.TEXT)

query = widgets.text_input(t("customers.c360.search"), "c360_q", placeholder=t("customers.page.search_placeholder"),
                           help=t("customers.page.search_help"))
if query.strip():
    found = find_customers(table, query, limit=None)
    if found.height == 0:
        st.warning(t("customers.c360.no_match", query=query.strip()), icon=":material/search_off:")
    elif found.height == 1 and found["customer_id"][0] != chosen:
        chosen = found["customer_id"][0]
        st.session_state["customer"] = chosen
    elif found.height > 1:
        st.caption(t("customers.c360.results", count=format_number(found.height, language),
                     shown=min(found.height, RESULTS)))
        listing = mask_contacts(found.head(RESULTS))
        for start in range(0, listing.height, 3):
            for box, row in zip(st.columns(3), listing.slice(start, 3).iter_rows(named=True)):
                parts = [row["customer_id"], row.get("name"), row.get("city"), row.get("phone")]
                box.button(" · ".join(str(p) for p in parts if p), key=f"c360_hit_{row['customer_id']}",
                           on_click=pick, args=(row["customer_id"],), width="stretch",
                           help=t(f"customers.match.{row['match']}"))
state.keep("customer")

if not chosen:
    if not query.strip():
        st.info(t("customers.c360.pick"), icon=":material/person_search:")
    st.stop()
if chosen not in set(table["customer_id"].to_list()):
    st.warning(t("customers.error.unknown", customer_id=chosen), icon=":material/person_off:")
    st.stop()

story = c360_story(ctx.dataset, ctx.as_of, chosen)
profile, figures = story.profile, story.figures

# ---------------------------------------------------------------- profile card

st.divider()
heading, toggle_box = st.columns([3, 1])
heading.header(profile.get("name") or chosen)
# Not a link control on purpose: a shared link must never reveal contact details.
reveal = toggle_box.toggle(t("customers.c360.reveal"), key="c360_reveal", help=t("customers.c360.reveal_help"))
contacts = {name: profile.get(name) for name in ("phone", "email") if name in profile}
if contacts and not reveal:
    contacts = mask_contacts(pl.DataFrame([contacts], schema={name: pl.String for name in contacts})).row(0, named=True)
heading.caption(" · ".join([t("customers.c360.id", customer_id=chosen)] + [
    str(profile[name]) for name in ("region", "city", "industry") if profile.get(name)]))
fields = [name for name in PROFILE_FIELDS if name in contacts or profile.get(name) not in (None, "")]
if fields:
    with st.container(border=True):
        for start in range(0, len(fields), 5):
            for box, name in zip(st.columns(5), fields[start:start + 5]):
                value = contacts.get(name) if name in contacts else profile.get(name)
                box.markdown(f"**{t(f'customers.column.{name}')}**  \n{field_value(name, value)}")

if story.is_prospect:
    st.info(t("customers.c360.no_orders"), icon=":material/hourglass_empty:")

# ---------------------------------------------------------------- key figures

st.subheader(t("customers.c360.figures"))
orders_count = figures.get("orders") or 0
first_row = [
    (t("customers.column.first_order"), short_day(figures.get("first_order")), None, None),
    (t("customers.column.last_order"), short_day(figures.get("last_order")),
     t("customers.c360.days_ago", days=figures["recency_days"]) if figures.get("recency_days") is not None else None, None),
    (t("customers.column.orders"), format_number(orders_count, language),
     t("customers.c360.every_days", days=format_number(figures["avg_days_between_orders"], language))
     if figures.get("avg_days_between_orders") is not None else None, None),
    (t("customers.column.revenue"), money(figures.get("revenue"), compact=True), None, None),
    (t("customers.column.avg_order_value"), money(figures.get("avg_order_value")), None, None),
]
segment_now, segment_then = figures.get("segment"), figures.get("segment_quarter_ago")
moved = None
if "segment" in figures and orders_count:
    moved = (t("customers.c360.segment_was", segment=label("segmentation.segment", segment_then))
             if segment_then else t("customers.c360.segment_new"))
cluster = figures.get("cluster")
second_row = [
    (t("customers.column.segment"), label("segmentation.segment", segment_now) if "segment" in figures else None, moved,
     t("customers.c360.segment_help", preset=t(f"segmentation.preset.{PRESET}"))),
    (t("customers.column.tier"), label("segmentation.tier", figures.get("tier")) if "tier" in figures else None, None, None),
    (t("customers.column.cluster"), str(cluster) if cluster is not None else ("–" if "cluster" in figures else None),
     t("customers.page.list_sep").join(t(f"segmentation.trait.{k}") for k in story.cluster_traits) or None, None),
    (t("customers.column.stage"), label("lifecycle.stage", figures.get("stage")) if "stage" in figures else None, None, None),
    (t("customers.column.p_alive"), format_percent(figures.get("p_alive"), language) if "p_alive" in figures else None,
     None, t("customers.c360.p_alive_help")),
]
overdue = figures.get("days_overdue")
last_contact = figures.get("last_interaction_date")
third_row = [
    (t("customers.column.predicted_value", days=HORIZON_DAYS), money(figures.get(VALUE)) if VALUE in figures else None,
     None, t("customers.c360.value_help", days=HORIZON_DAYS)),
    (t("customers.column.expected_next_order_date"),
     short_day(figures.get("expected_next_order_date")) if "expected_next_order_date" in figures else None,
     t("customers.c360.overdue", days=overdue) if overdue else None, None),
    (t("customers.column.churn_probability"), format_percent(figures["churn_probability"], language),
     t("customers.c360.risk", tier=label("churn.tier", figures.get("risk_tier"))), None)
    if figures.get("churn_probability") is not None else
    (t("customers.column.risk_tier"), label("churn.tier", figures.get("risk_tier")) if "risk_tier" in figures else None,
     None, t("churn.sufficiency.failed") if figures.get("risk_source") == "rules" else None),
    (t("customers.column.last_interaction_date"), short_day(last_contact) if "last_interaction_date" in figures else None,
     label("customers.kind", figures.get("last_interaction_type")) if figures.get("last_interaction_type") else None, None),
    (t("customers.column.complaints_last_90d"),
     format_number(figures.get("complaints_last_90d"), language) if "complaints_last_90d" in figures else None, None, None),
]
if not amounts:  # without a money column these cards would all read "–"
    money_cards = {t("customers.column.revenue"), t("customers.column.avg_order_value"),
                   t("customers.column.predicted_value", days=HORIZON_DAYS)}
    first_row = [item for item in first_row if item[0] not in money_cards]
    third_row = [item for item in third_row if item[0] not in money_cards]
# a prospect has no order-based figures: leave out the empty cards rather than show a wall of dashes
present = [item for item in first_row + second_row + third_row
           if item[1] is not None and not (story.is_prospect and item[1] == "–")]
for start in range(0, len(present), FIGURES_PER_ROW):
    for box, (name, value, delta, help_text) in zip(st.columns(FIGURES_PER_ROW), present[start:start + FIGURES_PER_ROW]):
        box.metric(name, value, delta, delta_color="off", delta_arrow="off", help=help_text, border=True,
                   height="stretch")

if figures.get("risk_tier"):
    with st.container(border=True):
        st.markdown(f"**{t('customers.c360.churn_title')}**")
        if figures.get("risk_source") == "rules":
            st.caption(t("churn.sufficiency.failed"))
        reasons = [t(reason["key"], **(reason.get("params") or {})) for reason in story.churn_reasons]
        if reasons:
            st.markdown("\n".join(f"- {text}" for text in reasons))
        elif not story.churn_flags:
            st.caption(t("customers.c360.no_reasons"))
        if story.churn_flags:
            st.markdown(t("customers.c360.flags") + " " + " ".join(
                f":orange-badge[:material/flag: {t(f'churn.flag.{flag}')}]" for flag in story.churn_flags))
        if figures.get("churn_action"):
            st.caption(t("customers.c360.action", action=t(figures["churn_action"])))

# ---------------------------------------------------------------- timeline and spend

events = story.timeline
if events.height:
    st.subheader(t("customers.c360.timeline"))
    kinds = events["kind"].to_list()
    kind_names = {kind: label("customers.kind", kind) for kind in set(kinds)}

    def hover_line(row: dict) -> str:
        head = [day(row["date"]), kind_names[row["kind"]]]
        if row["source"] == "order":
            head += [row["order_id"], money(row["amount"])]
            detail = [row["description"]]
        else:
            head += [row["channel"]]
            satisfaction = (t("customers.c360.satisfaction", score=f"{row['satisfaction']:g}")
                            if row["satisfaction"] is not None else None)
            detail = [" · ".join(p for p in (label("customers.outcome", row["outcome"]) if row["outcome"] else None,
                                             satisfaction) if p), row["description"]]
        return "<br>".join([" · ".join(str(p) for p in head if p)] + [str(p) for p in detail if p])

    hover = [hover_line(row) for row in events.iter_rows(named=True)]
    st.plotly_chart(customer_charts.timeline(
        events["date"].to_list(), kinds, hover, events["amount"].to_list(), kind_names=kind_names,
        title=t("customers.c360.timeline_chart", orders=format_number(orders_count, language),
                contacts=format_number(int((events["source"] == "interaction").sum()), language))),
        width="stretch", key="c360_timeline")
    with st.expander(t("customers.c360.timeline_table", count=format_number(events.height, language))):
        shown = events.sort("date", descending=True).with_columns(
            pl.col("kind").replace_strict(kind_names, return_dtype=pl.String),
            pl.col("outcome").replace_strict({o: label("customers.outcome", o) for o in events["outcome"].drop_nulls().unique()},
                                             default=None, return_dtype=pl.String),
        ).drop("source")
        shown = shown.rename({name: t(f"customers.c360.col.{name}") for name in shown.columns})
        st.dataframe(shown, hide_index=True, key="c360_events", column_config={
            t("customers.c360.col.date"): st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
            t("customers.c360.col.amount"): st.column_config.NumberColumn(format=money_column_format(language, ctx.currency)),
            t("customers.c360.col.description"): st.column_config.TextColumn(width="large"),
        })

spend = story.monthly_spend
if spend.height and amounts:  # monthly spend is money
    st.plotly_chart(customer_charts.monthly_spend(
        spend["month"].to_list(), spend["revenue"].to_list(), title=t("customers.c360.spend_title"),
        y_title=t("customers.column.revenue"),
        hover=[t("customers.c360.spend_hover", month=month.strftime("%Y-%m"), revenue=money(revenue),
                 orders=format_number(n, language)) for month, n, revenue in spend.iter_rows()],
        money=money_formatter(language, ctx.currency)),
        width="stretch", key="c360_spend")

# ---------------------------------------------------------------- next best products and look-alikes

st.subheader(t("customers.c360.next_title"))
picks = story.recommendations
level = recommendation_level(ctx.dataset.transactions)
if level is None:
    st.caption(t("customers.page.missing.items"))
elif picks.height == 0:
    st.caption(t("customers.c360.no_next"))
else:
    st.caption(t("customers.c360.next_help"))
    if level == "category":
        st.caption(t("customers.c360.by_category"))
    with st.container(border=True):
        for row in picks.iter_rows(named=True):
            st.markdown(f"**{row['rank']}. {row['item']}** · " + t(
                "customers.c360.next_line", probability=format_percent(row["probability"], language, 0),
                value=money(row["expected_value"])))
            st.caption(reason_text(row["reason"]) or "")

st.subheader(t("customers.c360.similar_title"))
similar = story.similar
if similar.height == 0:
    st.caption(t("customers.c360.no_similar"))
else:
    st.caption(t("customers.c360.similar_help"))
    for box, row in zip(st.columns(max(similar.height, 3)), similar.iter_rows(named=True)):
        with box.container(border=True, height="stretch"):
            st.markdown(f"**{row.get('name') or row['customer_id']}**  \n{row['customer_id']}")
            if row.get("segment"):
                st.caption(label("segmentation.segment", row["segment"]))
            st.caption(t("customers.c360.similar_facts", orders=format_number(row["orders"], language),
                         revenue=money(row["revenue"], compact=True), days=row["recency_days"]))
            st.button(t("customers.c360.open"), key=f"c360_similar_{row['customer_id']}", on_click=pick,
                      args=(row["customer_id"],), icon=":material/arrow_forward:", width="stretch")
