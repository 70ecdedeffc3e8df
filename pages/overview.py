"""Overview: the headline figures of the existing-customer base for the chosen period."""
import streamlit as st

from crm_core import charts
from crm_core.views.overview import MONEY, PERIODS, RATES, change, period_start, previous_period
from ui import base, shell, widgets
from ui.i18n import format_compact, format_date, format_money, format_number, format_percent, money_formatter
from ui.state import lang, t
from ui.views import overview as views

ctx = shell.context()
language = lang()
money_axis = money_formatter(language, ctx.currency)
st.title(t("overview.title"))

covered = views.freshness(ctx.dataset)
if covered.lines:
    st.caption(t("overview.freshness", lines=format_number(covered.lines, language),
                 customers=format_number(covered.customers, language), first=format_date(covered.first, language),
                 last=format_date(covered.last, language), as_of=format_date(ctx.as_of, language)))
shell.require_orders(ctx)
base.caption(ctx)
amounts = base.amounts_notice(ctx.dataset)

period = widgets.radio(t("overview.period_label"), PERIODS, "ov_period", default="90",
                       format_func=lambda p: t(f"overview.period_choice.{p}"), help=t("overview.period_help"))
start = period_start(ctx.start, ctx.end, period)
figures = views.kpis(ctx.history, start, ctx.end, amounts)
before_start, before_end = previous_period(start, ctx.end)
st.caption(t("overview.period", start=format_date(start, language), end=format_date(ctx.end, language),
             prev_start=format_date(before_start, language), prev_end=format_date(before_end, language)))

def shown(name: str, value):
    if name in MONEY:
        return format_money(value, language, ctx.currency, compact=name == "revenue")
    if name in RATES:
        return format_percent(value, language)
    return format_number(value, language) if value is not None and abs(value) < 1e6 else format_compact(value, language)


def delta(name: str, now, before) -> str | None:
    moved = change(name, now, before)
    if moved is None:
        return None
    if moved.points:
        return t("overview.delta_points", value=f"{moved.value * 100:+.1f}")
    return f"{moved.value * 100:+.1f}%"


names = list(figures)
for row in (names[:4], names[4:]):
    for column, name in zip(st.columns(4), row):
        now, before = figures[name]
        column.metric(t(f"overview.kpi.{name}"), shown(name, now), delta(name, now, before),
                      delta_color="inverse" if name == "lapsed_customers" else "normal",
                      help=t(f"overview.kpi_help.{name}"), border=True)

if not amounts:  # the charts below are all revenue
    base.needs_amounts()
    st.stop()
months = views.monthly(ctx.history, ctx.start, ctx.end)
figure = charts.stacked_bars(
    [month.strftime("%Y-%m") for month in months["month"].to_list()],
    {t("overview.chart.existing"): months["existing_revenue"].to_list(),
     t("overview.chart.new"): months["new_revenue"].to_list()},
    title=t("overview.chart.monthly_title"), x_title=None, y_title=t("overview.chart.revenue"), money=money_axis,
)
st.plotly_chart(figure, width="stretch", key="monthly")

left, right = st.columns(2)
for container, column in ((left, "region"), (right, "channel")):
    table = views.breakdown(ctx.history, column, ctx.start, ctx.end)
    if table.height == 0:
        container.info(t("overview.no_dimension", dimension=t(f"app.filter.{column}")))
        continue
    labels = [value if value is not None else t("overview.other") for value in table["value"].to_list()]
    container.plotly_chart(
        charts.bar(labels, table["revenue"].to_list(), title=t(f"overview.chart.by_{column}"),
                   value_title=t("overview.chart.revenue"), money=money_axis,
                   hover_extra=[t("overview.chart.customers_hover", n=format_number(n, language))
                                for n in table["customers"].to_list()]),
        width="stretch", key=f"by_{column}",
    )
