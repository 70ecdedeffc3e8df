"""Drawing of the Customers and Customer 360 pages.

The customer table, one customer's profile card, key figures, churn box, timeline, monthly spend, next best
products and look-alikes.

Streamlit drawing only: every number comes ready from :mod:`crm_core.views.customers` and
:mod:`crm_core.views.customer_360`; here texts are translated, numbers formatted and headers named.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import streamlit as st

from crm_core.charts import customers as customer_charts
from crm_core.customers import TableNote
from crm_core.dataset import Dataset
from crm_core.views.customer_360 import Customer360, Search, timeline_table
from crm_core.views.customers import (
    DATES,
    HORIZON_DAYS,
    MONEY,
    PRESET,
    SHARES,
    VALUE,
    ListFilters,
    ListPage,
    Texts,
    header as header_key,
    readable as readable_frame,
)
from ui import widgets
from ui.cache import cached
from ui.i18n import (
    format_date,
    format_money,
    format_number,
    format_percent,
    has_key,
    money_column_format,
    money_formatter,
    translate,
)
from ui.state import t
from ui.text import plain, t_plain
from ui.views.customers import customer_list

ROW_PIXELS, MAX_TABLE_PIXELS = 35, 740  # st.dataframe's row height; taller pages scroll inside the table
WHOLE_NUMBERS = ("avg_days_between_orders", "recency_days", "tenure_days", "days_overdue")
LONG_TEXTS = ("churn_reason", "next_product_reason", "churn_flags", "churn_action")
FIGURES_PER_ROW = 4


# ---------------------------------------------------------------- texts

def texts(language: str) -> Texts:
    """The translator the core's ``readable`` functions take: a key's text in ``language``, None if unknown."""
    def text(key: str, params: Mapping[str, Any]) -> str | None:
        return translate(language, key, **params) if has_key(key) else None
    return text


def header(name: str, language: str) -> str:
    key, params = header_key(name)
    return translate(language, key, **params)


def labeller(prefix: str | None, language: str) -> Callable[[Any], str]:
    """A ``format_func`` for key-valued options: ``<prefix>.<value>`` translated, else the value."""
    if prefix is None:
        return str
    return lambda value: translate(language, f"{prefix}.{value}") if has_key(f"{prefix}.{value}") else str(value)


def label(prefix: str, value: Any) -> str:
    if value is None:
        return "–"
    return t(f"{prefix}.{value}") if has_key(f"{prefix}.{value}") else str(value)


def reason(decoded: tuple[str, Mapping[str, Any]] | None) -> str | None:
    """A reason (key, params) for a markdown surface: its product and customer names shown as text."""
    return t_plain(decoded[0], **decoded[1]) if decoded else None


def readable(frame, language: str):
    """:func:`crm_core.views.customers.readable` in ``language``."""
    return readable_frame(frame, texts(language))


@cached
def export(dataset: Dataset, as_of: datetime, filters: ListFilters, sort_by: str, descending: bool,
           columns: tuple[str, ...], language: str):
    """The whole filtered list for the downloads, as people read it in ``language``, contacts masked.

    Cached: the words are the UI's (so no core view), and reading a large list's reasons costs a rerun's time.
    """
    listing = customer_list(dataset, as_of, filters, sort_by, descending)
    return readable(listing.export(columns), language)


# ---------------------------------------------------------------- Customers

def missing(notes: Iterable[TableNote]) -> None:
    """The expander of what the table cannot show on this data.

    Each text once: several analyses can miss the same thing (amounts).
    """
    lines = list(dict.fromkeys(t(note.key, **note.params) for note in notes))
    if lines:
        with st.expander(t("customers.page.missing.title", count=len(lines)), icon=":material/info:"):
            for line in lines:
                st.markdown(f"- {line}")


def column_config(columns: Sequence[str], language: str, currency: str | None) -> dict:
    config = {header("customer_id", language): st.column_config.TextColumn(pinned=True)}
    for name in columns:
        title = header(name, language)
        if name in MONEY:
            config[title] = st.column_config.NumberColumn(format=money_column_format(language, currency))
        elif name in SHARES:
            config[title] = st.column_config.ProgressColumn(format="percent", min_value=0.0, max_value=1.0)
        elif name == "dominant_category_share":
            config[title] = st.column_config.NumberColumn(format="percent")
        elif name in DATES:
            config[title] = st.column_config.DateColumn(format="YYYY-MM-DD")
        elif name in WHOLE_NUMBERS:
            config[title] = st.column_config.NumberColumn(format="%.0f")
        elif name.startswith("expected_orders_next_"):
            config[title] = st.column_config.NumberColumn(format="%.2f")
        elif name in LONG_TEXTS:
            config[title] = st.column_config.TextColumn(width="large")
    return config


def customer_table(page: ListPage, columns: Sequence[str], language: str, currency: str | None):
    """One page of the list as a single-row-selectable table whose ids open Customer 360.

    Returns the selection event.
    """
    shown, config = widgets.customer_links(readable(page.rows, language), header("customer_id", language),
                                           column_config(columns, language, currency))
    rows = page.last - page.first + 1
    return st.dataframe(shown, hide_index=True, key="cu_table", on_select="rerun", selection_mode="single-row",
                        column_config=config, height=min(ROW_PIXELS * (rows + 1) + 3, MAX_TABLE_PIXELS))


# ---------------------------------------------------------------- Customer 360

def search_hits(found: Search, language: str, pick: Callable[[str], None]) -> None:
    """Several matches: how many, and a button per listed match."""
    st.caption(t("customers.c360.results", count=format_number(found.total, language), shown=len(found.hits)))
    for start in range(0, len(found.hits), 3):
        for box, hit in zip(st.columns(3), found.hits[start:start + 3], strict=False):
            box.button(plain(hit.label), key=f"c360_hit_{hit.customer_id}", on_click=pick, args=(hit.customer_id,),
                       width="stretch", help=t(f"customers.match.{hit.match}"))


def _day(value: Any, language: str) -> str:
    return format_date(value, language) if value is not None else "–"


def _short_day(value: Any) -> str:
    """ISO date for the figure cards: the long forms do not fit a card in either language."""
    return value.strftime("%Y-%m-%d") if value is not None else "–"


def profile_card(view: Customer360, language: str) -> None:
    """Name, id and place, the reveal toggle, and the profile fields (contacts masked unless revealed)."""
    st.divider()
    heading, toggle_box = st.columns([3, 1])
    heading.header(plain(view.name))
    # Not a link control on purpose: a shared link must never reveal contact details.
    revealed = toggle_box.toggle(t("customers.c360.reveal"), key="c360_reveal", help=t("customers.c360.reveal_help"))
    heading.caption(" · ".join([t_plain("customers.c360.id", customer_id=view.customer_id),
                                *(plain(place) for place in view.place)]))
    if view.fields:
        with st.container(border=True):
            for start in range(0, len(view.fields), 5):
                for box, name in zip(st.columns(5), view.fields[start:start + 5], strict=False):
                    value = view.field_value(name, revealed)
                    shown = ("–" if value is None or value == "" else _day(value, language)
                             if isinstance(value, datetime) else str(value))
                    box.markdown(f"**{t(f'customers.column.{name}')}**  \n{plain(shown)}")
    if view.is_prospect:
        st.info(t("customers.c360.no_orders"), icon=":material/hourglass_empty:")


def key_figures(view: Customer360, language: str, currency: str | None) -> None:
    """The cards of the customer's figures.

    A card whose analysis did not run is left out, so are money cards without amounts and, for a prospect,
    cards without a value.
    """
    figures = view.figures

    def money(value: Any, compact: bool = False) -> str:
        return format_money(value, language, currency, compact=compact)

    segment_then = figures.get("segment_quarter_ago")
    moved = None
    if "segment" in figures and view.orders:
        moved = (t("customers.c360.segment_was", segment=label("segmentation.segment", segment_then))
                 if segment_then else t("customers.c360.segment_new"))
    cluster = figures.get("cluster")
    overdue = figures.get("days_overdue")
    cards = [  # (label, value — None: the analysis did not run, delta, help, is money)
        (t("customers.column.first_order"), _short_day(figures.get("first_order")), None, None, False),
        (t("customers.column.last_order"), _short_day(figures.get("last_order")),
         t("customers.c360.days_ago", days=figures["recency_days"])
         if figures.get("recency_days") is not None else None, None, False),
        (t("customers.column.orders"), format_number(view.orders, language),
         t("customers.c360.every_days", days=format_number(figures["avg_days_between_orders"], language))
         if figures.get("avg_days_between_orders") is not None else None, None, False),
        (t("customers.column.revenue"), money(figures.get("revenue"), compact=True), None, None, True),
        (t("customers.column.avg_order_value"), money(figures.get("avg_order_value")), None, None, True),
        (t("customers.column.segment"), label("segmentation.segment", figures.get("segment")) if "segment" in figures
         else None, moved, t("customers.c360.segment_help", preset=t(f"segmentation.preset.{PRESET}")), False),
        (t("customers.column.tier"), label("segmentation.tier", figures.get("tier")) if "tier" in figures else None,
         None, None, False),
        (t("customers.column.cluster"),
         str(cluster) if cluster is not None else ("–" if "cluster" in figures else None),
         t("customers.page.list_sep").join(t(f"segmentation.trait.{k}") for k in view.cluster_traits) or None, None,
         False),
        (t("customers.column.stage"), label("lifecycle.stage", figures.get("stage")) if "stage" in figures else None,
         None, None, False),
        (t("customers.column.p_alive"), format_percent(figures.get("p_alive"), language) if "p_alive" in figures
         else None, None, t("customers.c360.p_alive_help"), False),
        (t("customers.column.predicted_value", days=HORIZON_DAYS), money(figures.get(VALUE)) if VALUE in figures
         else None, None, t("customers.c360.value_help", days=HORIZON_DAYS), True),
        (t("customers.column.expected_next_order_date"), _short_day(figures.get("expected_next_order_date"))
         if "expected_next_order_date" in figures else None,
         t("customers.c360.overdue", days=overdue) if overdue else None, None, False),
        (t("customers.column.churn_probability"), format_percent(figures["churn_probability"], language),
         t("customers.c360.risk", tier=label("churn.tier", figures.get("risk_tier"))), None, False)
        if figures.get("churn_probability") is not None else
        (t("customers.column.risk_tier"), label("churn.tier", figures.get("risk_tier")) if "risk_tier" in figures
         else None, None, t("churn.sufficiency.failed") if figures.get("risk_source") == "rules" else None, False),
        (t("customers.column.last_interaction_date"), _short_day(figures.get("last_interaction_date"))
         if "last_interaction_date" in figures else None,
         label("customers.kind", figures.get("last_interaction_type")) if figures.get("last_interaction_type")
         else None, None, False),
        (t("customers.column.complaints_last_90d"), format_number(figures.get("complaints_last_90d"), language)
         if "complaints_last_90d" in figures else None, None, None, False),
    ]
    shown = [card[:4] for card in cards
             if card[1] is not None and (view.has_amounts or not card[4]) and not (view.is_prospect and card[1] == "–")]
    st.subheader(t("customers.c360.figures"))
    for start in range(0, len(shown), FIGURES_PER_ROW):
        row = shown[start:start + FIGURES_PER_ROW]
        for box, (name, value, delta, help_text) in zip(st.columns(FIGURES_PER_ROW), row, strict=False):
            box.metric(name, value, delta, delta_color="off", delta_arrow="off", help=help_text, border=True,
                       height="stretch")


def churn_box(view: Customer360) -> None:
    """Why the customer is at risk: the reasons, the warning flags and the suggested action."""
    figures = view.figures
    if not figures.get("risk_tier"):
        return
    with st.container(border=True):
        st.markdown(f"**{t('customers.c360.churn_title')}**")
        if figures.get("risk_source") == "rules":
            st.caption(t("churn.sufficiency.failed"))
        reasons = [t(key, **params) for key, params in view.churn_reasons]
        if reasons:
            st.markdown("\n".join(f"- {text}" for text in reasons))
        elif not view.churn_flags:
            st.caption(t("customers.c360.no_reasons"))
        if view.churn_flags:
            st.markdown(t("customers.c360.flags") + " " + " ".join(
                f":orange-badge[:material/flag: {t(f'churn.flag.{flag}')}]" for flag in view.churn_flags))
        if figures.get("churn_action"):
            st.caption(t("customers.c360.action", action=t(figures["churn_action"])))


def timeline(view: Customer360, language: str, currency: str | None) -> None:
    """Orders and interactions on one time axis, and the same as a table."""
    if not view.events:
        return
    st.subheader(t("customers.c360.timeline"))
    kind_names = {kind: label("customers.kind", kind) for kind in view.kinds}

    def money(value: Any) -> str:
        return format_money(value, language, currency)

    def hover_line(row: Mapping[str, Any]) -> str:
        head = [_day(row["date"], language), kind_names[row["kind"]]]
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

    st.plotly_chart(customer_charts.timeline(
        [row["date"] for row in view.events], [row["kind"] for row in view.events],
        [hover_line(row) for row in view.events], [row["amount"] for row in view.events], kind_names=kind_names,
        title=t("customers.c360.timeline_chart", orders=format_number(view.orders, language),
                contacts=format_number(view.interactions, language))),
        width="stretch", key="c360_timeline")
    with st.expander(t("customers.c360.timeline_table", count=format_number(len(view.events), language))):
        st.dataframe(timeline_table(view, texts(language)), hide_index=True, key="c360_events", column_config={
            t("customers.c360.col.date"): st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
            t("customers.c360.col.amount"): st.column_config.NumberColumn(
                format=money_column_format(language, currency)),
            t("customers.c360.col.description"): st.column_config.TextColumn(width="large"),
        })


def monthly_spend(view: Customer360, language: str, currency: str | None) -> None:
    """Net spend per month (money: not drawn without amounts)."""
    if not view.spend or not view.has_amounts:
        return
    st.plotly_chart(customer_charts.monthly_spend(
        [month for month, _, _ in view.spend],
        [revenue if revenue is not None else float("nan") for _, _, revenue in view.spend],  # nan: a gap
        title=t("customers.c360.spend_title"), y_title=t("customers.column.revenue"),
        hover=[t("customers.c360.spend_hover", month=month.strftime("%Y-%m"),
                 revenue=format_money(revenue, language, currency), orders=format_number(orders, language))
               for month, orders, revenue in view.spend],
        money=money_formatter(language, currency)),
        width="stretch", key="c360_spend")


def next_products(view: Customer360, language: str, currency: str | None) -> None:
    st.subheader(t("customers.c360.next_title"))
    if view.level is None:
        st.caption(t("customers.page.missing.items"))
        return
    if not view.picks:
        st.caption(t("customers.c360.no_next"))
        return
    st.caption(t("customers.c360.next_help"))
    if view.level == "category":
        st.caption(t("customers.c360.by_category"))
    with st.container(border=True):
        for pick in view.picks:
            st.markdown(f"**{pick.rank}. {plain(pick.item)}** · " + t(
                "customers.c360.next_line", probability=format_percent(pick.probability, language, 0),
                value=format_money(pick.expected_value, language, currency)))
            st.caption(reason(pick.reason) or "")


def similar_customers(view: Customer360, language: str, currency: str | None, pick: Callable[[str], None]) -> None:
    st.subheader(t("customers.c360.similar_title"))
    if not view.similar:
        st.caption(t("customers.c360.no_similar"))
        return
    st.caption(t("customers.c360.similar_help"))
    for box, other in zip(st.columns(max(len(view.similar), 3)), view.similar, strict=False):
        with box.container(border=True, height="stretch"):
            st.markdown(f"**{plain(other.name or other.customer_id)}**  \n{plain(other.customer_id)}")
            if other.segment:
                st.caption(label("segmentation.segment", other.segment))
            st.caption(t("customers.c360.similar_facts", orders=format_number(other.orders, language),
                         revenue=format_money(other.revenue, language, currency, compact=True),
                         days=other.recency_days))
            st.button(t("customers.c360.open"), key=f"c360_similar_{other.customer_id}", on_click=pick,
                      args=(other.customer_id,), icon=":material/arrow_forward:", width="stretch")
