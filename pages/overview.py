"""Overview: the headline figures of the existing-customer base for the chosen period."""
from datetime import timedelta

import streamlit as st

from crm_core import charts
from crm_core.dataset import Dataset
from crm_core.overview import kpi_comparison, monthly_new_vs_existing, previous_period, revenue_by
from ui import base, shell, widgets
from ui.cache import cached
from ui.i18n import format_compact, format_date, format_money, format_number, format_percent, money_formatter
from ui.state import lang, t

shell.framed()


@cached
def kpis(dataset: Dataset, start, end):
    return kpi_comparison(dataset.transactions, start, end)


@cached
def monthly(dataset: Dataset, start, end):
    return monthly_new_vs_existing(dataset.transactions, start, end)


@cached
def breakdown(dataset: Dataset, column: str, start, end):
    return revenue_by(dataset.transactions, column, start, end, customers=dataset.customers)


ctx = shell.context()
language = lang()
money_axis = money_formatter(language, ctx.currency)
st.title(t("overview.title"))

lines = ctx.dataset.transactions
if lines.height:
    st.caption(t("overview.freshness", lines=format_number(lines.height, language),
                 customers=format_number(lines["customer_id"].n_unique(), language),
                 first=format_date(lines["order_date"].min(), language), last=format_date(lines["order_date"].max(), language),
                 as_of=format_date(ctx.as_of, language)))
shell.require_orders(ctx)
base.caption(ctx)
amounts = base.amounts_notice(ctx.dataset)

PERIODS = ["30", "90", "365", "window"]
period = widgets.radio(t("overview.period_label"), PERIODS, "ov_period", default="90",
                       format_func=lambda p: t(f"overview.period_choice.{p}"), help=t("overview.period_help"))
start = ctx.start if period == "window" else max(ctx.start, ctx.end - timedelta(days=int(period) - 1))
figures = kpis(ctx.history, start, ctx.end)
before_start, before_end = previous_period(start, ctx.end)
st.caption(t("overview.period", start=format_date(start, language), end=format_date(ctx.end, language),
             prev_start=format_date(before_start, language), prev_end=format_date(before_end, language)))

MONEY = {"revenue", "avg_order_value"}
RATES = {"repeat_rate", "existing_revenue_share"}


def shown(name: str, value):
    if name in MONEY:
        return format_money(value, language, ctx.currency, compact=name == "revenue")
    if name in RATES:
        return format_percent(value, language)
    return format_number(value, language) if value is not None and abs(value) < 1e6 else format_compact(value, language)


def change(name: str, now, before):
    if now is None or before is None:
        return None
    if name in RATES:
        return t("overview.delta_points", value=f"{(now - before) * 100:+.1f}")
    if before == 0:
        return None
    return f"{(now - before) / abs(before) * 100:+.1f}%"


names = [name for name in figures if amounts or name not in MONEY | {"existing_revenue_share"}]
for row in (names[:4], names[4:]):
    for column, name in zip(st.columns(4), row):
        now, before = figures[name]
        column.metric(t(f"overview.kpi.{name}"), shown(name, now), change(name, now, before),
                      delta_color="inverse" if name == "lapsed_customers" else "normal",
                      help=t(f"overview.kpi_help.{name}"), border=True)

if not amounts:  # the charts below are all revenue
    base.needs_amounts()
    st.stop()
months = monthly(ctx.history, ctx.start, ctx.end)
figure = charts.stacked_bars(
    [month.strftime("%Y-%m") for month in months["month"].to_list()],
    {t("overview.chart.existing"): months["existing_revenue"].to_list(), t("overview.chart.new"): months["new_revenue"].to_list()},
    title=t("overview.chart.monthly_title"), x_title=None, y_title=t("overview.chart.revenue"), money=money_axis,
)
st.plotly_chart(figure, width="stretch", key="monthly")

left, right = st.columns(2)
for container, column in ((left, "region"), (right, "channel")):
    table = breakdown(ctx.history, column, ctx.start, ctx.end)
    if table.height == 0:
        container.info(t("overview.no_dimension", dimension=t(f"app.filter.{column}")))
        continue
    labels = [value if value is not None else t("overview.other") for value in table["value"].to_list()]
    container.plotly_chart(
        charts.bar(labels, table["revenue"].to_list(), title=t(f"overview.chart.by_{column}"),
                   value_title=t("overview.chart.revenue"), money=money_axis,
                   hover_extra=[t("overview.chart.customers_hover", n=format_number(n, language)) for n in table["customers"].to_list()]),
        width="stretch", key=f"by_{column}",
    )
