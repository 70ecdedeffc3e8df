"""Customers (存量客户管理表): one row per customer with every analysis, filters, paging, downloads, 360 links.

Every column comes from ``crm_core.customers.customer_table`` on ``ctx.dataset`` as of ``ctx.as_of`` (which
joins segmentation, lifecycle, CLV, churn and cross-sell); the page filters, sorts and pages it server-side
and masks phone and email before anything reaches the browser.
"""
from datetime import datetime
from math import ceil, floor

import polars as pl
import streamlit as st

from crm_core.customers import decode_reason, filter_table, recommendation_level
from crm_core.dataset import Dataset
from crm_core.export import mask_contacts
from crm_core.lifecycle import STAGES
from crm_core.segmentation import PRESETS, SEGMENT_KEYS
from ui import base, shell, widgets
from ui.analyses import HORIZON_DAYS, PRESET, VALUE, customer_base
from ui.cache import SHARED_FLAG, cached
from ui.i18n import (currency_symbol, format_date, format_money, format_number, has_key, money_column_format,
                     translate)
from ui.state import lang, t

shell.framed()

TIERS = ("high", "mid", "low")
RISKS = ("high", "medium", "low")
PAGE_SIZES = [25, 50, 100, 250]
ROW_PIXELS, MAX_TABLE_PIXELS = 35, 740  # st.dataframe's row height; taller pages scroll inside the table
DEFAULT_COLUMNS = ["name", "owner", "region", "segment", "tier", "stage", "orders", "revenue", "last_order", "p_alive",
                   VALUE, "churn_probability", "risk_tier", "churn_reason", "next_product", "phone"]
HIDDEN = {"customer_id", "churn_reasons", "cluster_traits"}
MONEY = {"revenue", "avg_order_value", VALUE, "value_at_risk"}
SHARES = {"p_alive", "churn_probability"}
DATES = {"first_order", "last_order", "signup_date", "birthday", "expected_next_order_date", "last_interaction_date"}


# ---------------------------------------------------------------- cached adapters

@cached
def customer_view(dataset: Dataset, as_of: datetime, filters: tuple, sort_by: str, descending: bool):
    table, _ = customer_base(dataset, as_of)
    chosen = filter_table(table, **dict(filters))
    return chosen.sort([sort_by, "customer_id"], descending=[descending, False], nulls_last=True)


@cached
def customer_export(dataset: Dataset, as_of: datetime, filters: tuple, sort_by: str, descending: bool,
                    columns: tuple, language: str):
    """The whole filtered view, readable (translated values and headers), contacts masked."""
    frame = customer_view(dataset, as_of, filters, sort_by, descending).select("customer_id", *columns)
    return readable(mask_contacts(frame), language)


# ---------------------------------------------------------------- texts

def header(name: str, language: str) -> str:
    if name == VALUE:
        return translate(language, "customers.column.predicted_value", days=HORIZON_DAYS)
    if name.startswith("expected_orders_next_"):
        return translate(language, "customers.column.expected_orders", days=HORIZON_DAYS)
    return translate(language, f"customers.column.{name}")


def reason_text(raw: str | None, language: str) -> str | None:
    decoded = decode_reason(raw)
    return translate(language, decoded[0], **decoded[1]) if decoded else None


def label_map(values, prefix: str, language: str) -> dict:
    return {v: translate(language, f"{prefix}.{v}") if has_key(f"{prefix}.{v}") else v for v in values if v is not None}


def readable(frame: pl.DataFrame, language: str) -> pl.DataFrame:
    """Keys → translated labels, reason JSON → sentences, dates as dates, headers translated."""
    changes = []
    for column, prefix in (("segment", "segmentation.segment"), ("segment_quarter_ago", "segmentation.segment"),
                           ("tier", "segmentation.tier"), ("stage", "lifecycle.stage"), ("risk_tier", "churn.tier"),
                           ("risk_source", "churn.source"), ("churn_action", ""), ("next_order_basis", "lifecycle.basis")):
        if column in frame.columns:
            values = frame[column].unique().to_list()
            mapping = ({v: translate(language, v) for v in values if v is not None} if column == "churn_action"
                       else label_map(values, prefix, language))
            changes.append(pl.col(column).replace_strict(mapping, default=pl.col(column), return_dtype=pl.String))
    for column in ("churn_reason", "next_product_reason"):
        if column in frame.columns:
            mapping = {raw: reason_text(raw, language) for raw in frame[column].unique().to_list() if raw is not None}
            changes.append(pl.col(column).replace_strict(mapping, default=None, return_dtype=pl.String))
    if "churn_flags" in frame.columns:
        flag_names = {name: translate(language, f"churn.flag.{name}") for name in
                      frame["churn_flags"].explode().drop_nulls().unique().to_list()}
        changes.append(pl.col("churn_flags").list.eval(pl.element().replace_strict(flag_names, default=pl.element()))
                       .list.join(translate(language, "customers.page.list_sep")))
    if "cluster" in frame.columns:
        changes.append(pl.col("cluster").cast(pl.String))
    for column in DATES & set(frame.columns):
        changes.append(pl.col(column).cast(pl.Date))
    shown = frame.with_columns(changes) if changes else frame
    return shown.rename({name: header(name, language) for name in shown.columns})


def column_config(columns: list[str], language: str, currency: str | None) -> dict:
    config = {header("customer_id", language): st.column_config.TextColumn(pinned=True)}
    for name in columns:
        label = header(name, language)
        if name in MONEY:
            config[label] = st.column_config.NumberColumn(format=money_column_format(language, currency))
        elif name in SHARES:
            config[label] = st.column_config.ProgressColumn(format="percent", min_value=0.0, max_value=1.0)
        elif name == "dominant_category_share":
            config[label] = st.column_config.NumberColumn(format="percent")
        elif name in DATES:
            config[label] = st.column_config.DateColumn(format="YYYY-MM-DD")
        elif name in ("avg_days_between_orders", "recency_days", "tenure_days", "days_overdue"):
            config[label] = st.column_config.NumberColumn(format="%.0f")
        elif name.startswith("expected_orders_next_"):
            config[label] = st.column_config.NumberColumn(format="%.2f")
        elif name in ("churn_reason", "next_product_reason", "churn_flags", "churn_action"):
            config[label] = st.column_config.TextColumn(width="large")
    return config


# ---------------------------------------------------------------- page

ctx = shell.context()
language = lang()
st.title(t("customers.page.title"))
shell.require_orders(ctx)

with st.spinner(t("customers.page.computing")):
    table, notes = customer_base(ctx.dataset, ctx.as_of)
buyers = int((table["orders"] > 0).sum())
base.caption(ctx)
base.refund_only_list(ctx)  # the one place that names them
amounts = base.amounts_notice(ctx.dataset)
st.caption(t("customers.page.caption", customers=format_number(table.height, language),
             buyers=format_number(buyers, language), prospects=format_number(table.height - buyers, language),
             as_of=format_date(ctx.as_of, language), preset=t(f"segmentation.preset.{PRESET}")))

missing = []
if ctx.dataset.customers is None:
    missing.append(t("customers.page.missing.customers"))
if "next_product" not in table.columns and recommendation_level(ctx.dataset.transactions) is None:
    missing.append(t("customers.page.missing.items"))
if not ctx.dataset.has("interactions"):
    missing.append(t("customers.page.missing.interactions"))
if "risk_source" in table.columns and (table["risk_source"] == "rules").any():
    missing.append(t("churn.sufficiency.failed"))
missing += [t(note["key"], **note["params"]) for note in notes]
missing = list(dict.fromkeys(missing))  # several analyses can miss the same thing (amounts)
if missing:
    with st.expander(t("customers.page.missing.title", count=len(missing)), icon=":material/info:"):
        for line in missing:
            st.markdown(f"- {line}")

# ---------------------------------------------------------------- filters (all in the link)

with st.container(border=True):
    top = st.columns([2, 3])
    query = widgets.text_input(t("customers.page.search"), "cu_q", container=top[0],
                               placeholder=t("customers.page.search_placeholder"), help=t("customers.page.search_help"))
    value_range = None
    if amounts and table["revenue"].drop_nulls().len():  # the value filter is a revenue range
        low, high = floor(float(table["revenue"].min())), ceil(float(table["revenue"].max()))
        if high > low:
            chosen_range = widgets.slider(t("customers.page.value_range"), low, high, "cu_value", (low, high),
                                          container=top[1], help=t("customers.page.value_range_help"),
                                          format=currency_symbol(ctx.currency, language) + "%d")
            value_range = None if tuple(chosen_range) == (low, high) else (float(chosen_range[0]), float(chosen_range[1]))

    def present(column: str, order) -> list:
        if column not in table.columns:
            return []
        seen = set(table[column].drop_nulls().unique().to_list())
        return [value for value in order if value in seen] + sorted(seen - set(order))

    choices = {}
    lists = [
        ("segment", "cu_segment", present("segment", PRESETS[PRESET].segments + SEGMENT_KEYS), "segmentation.segment"),
        ("stage", "cu_stage", present("stage", STAGES), "lifecycle.stage"),
        ("tier", "cu_tier", present("tier", TIERS), "segmentation.tier"),
        ("risk_tier", "cu_risk", present("risk_tier", RISKS), "churn.tier"),
        ("owner", "cu_owner", present("owner", []), None),
        ("region", "cu_region", present("region", []), None),
    ]
    shown_lists = [item for item in lists if item[2]]
    for start in range(0, len(shown_lists), 3):
        for box, (column, key, options, prefix) in zip(st.columns(3), shown_lists[start:start + 3]):
            choices[column] = widgets.multiselect(
                header(column, language), options, key, container=box,
                format_func=(lambda v, p=prefix: t(f"{p}.{v}") if has_key(f"{p}.{v}") else v) if prefix else str)

filters = (
    ("segments", tuple(choices.get("segment", ()))), ("stages", tuple(choices.get("stage", ()))),
    ("tiers", tuple(choices.get("tier", ()))), ("risk_tiers", tuple(choices.get("risk_tier", ()))),
    ("owners", tuple(choices.get("owner", ()))), ("regions", tuple(choices.get("region", ()))),
    ("value_range", value_range), ("query", query.strip()),
)

# ---------------------------------------------------------------- sort, columns, paging

available = [name for name in table.columns if name not in HIDDEN]
controls = st.columns([2, 1, 3, 1, 1])
sort_by = widgets.selectbox(t("customers.page.sort_by"), available, "cu_sort",
                            default="revenue" if amounts else "orders", container=controls[0],
                            format_func=lambda name: header(name, language))
direction = widgets.radio(t("customers.page.direction"), ["desc", "asc"], "cu_dir", container=controls[1],
                          format_func=lambda d: t(f"customers.page.direction_{d}"))
picked = widgets.multiselect(t("customers.page.columns"), available, "cu_cols", container=controls[2],
                             format_func=lambda name: header(name, language),
                             placeholder=t("customers.page.columns_default"))
columns = picked or [name for name in DEFAULT_COLUMNS if name in table.columns and (amounts or name not in MONEY)]

view = customer_view(ctx.dataset, ctx.as_of, filters, sort_by, direction == "desc")
page_size = widgets.selectbox(t("customers.page.page_size"), PAGE_SIZES, "cu_size", default=50, container=controls[3])
pages = max(1, ceil(view.height / page_size))
page = widgets.number_input(t("customers.page.page", pages=pages), 1, pages, "cu_page", 1, step=1, container=controls[4])

if view.height == 0:
    st.info(t("customers.page.no_match"), icon=":material/filter_alt_off:")
    st.stop()

first = (page - 1) * page_size
visible = view.slice(first, page_size)
if not amounts:
    st.caption(t("customers.page.no_amounts.showing", first=format_number(first + 1, language),
                 last=format_number(first + visible.height, language), total=format_number(view.height, language)))
else:
    st.caption(t("customers.page.showing", first=format_number(first + 1, language),
                 last=format_number(first + visible.height, language), total=format_number(view.height, language),
                 revenue=format_money(float(view["revenue"].sum()), language, ctx.currency, compact=True)))

# A link opens a new session, which finds the data again only for the sample or a saved dataset.
linkable = bool(st.session_state.get(SHARED_FLAG, True))
on_screen, config = widgets.customer_links(readable(mask_contacts(visible.select("customer_id", *columns)), language),
                                          header("customer_id", language), column_config(columns, language, ctx.currency))
event = st.dataframe(on_screen, hide_index=True, key="cu_table", on_select="rerun", selection_mode="single-row",
                     column_config=config,
                     height=min(ROW_PIXELS * (visible.height + 1) + 3, MAX_TABLE_PIXELS))

rows = event.selection.rows if event is not None else []
left, right = st.columns([3, 2])
if rows:
    chosen_id = visible["customer_id"][rows[0]]
    if left.button(t("customers.page.open", customer_id=chosen_id), key="cu_open", icon=":material/person_search:",
                   type="primary"):
        st.session_state["customer"] = chosen_id
        # No query_params here: the 360 page's run writes the whole link (customer included) itself. Handing
        # them to switch_page left the address bar without them until the next rerun (seen in Chromium).
        st.switch_page("pages/customer_360.py")
else:
    left.caption(t("customers.page.open_hint" if linkable else "customers.page.open_hint_unsaved"))

with right:
    widgets.downloads(customer_export(ctx.dataset, ctx.as_of, filters, sort_by, direction == "desc", tuple(columns),
                                      language), "customers", "cu_dl",
                      money=[header(name, language) for name in columns if name in MONEY])
st.caption(t("customers.page.masked"))
