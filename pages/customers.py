"""Customers (存量客户管理表): one row per customer with every analysis, filters, paging, downloads, 360 links.

Every column comes from ``crm_core.customers.customer_table`` on ``ctx.dataset`` as of ``ctx.as_of`` (which
joins segmentation, lifecycle, CLV, churn and cross-sell); ``crm_core.views.customers`` filters, sorts and
pages it server-side and masks phone and email before anything reaches the browser.
"""
import streamlit as st

from crm_core.artefacts import MISSING
from crm_core.views.customers import CHURN_HORIZON_DAYS, DEFAULT_PAGE_SIZE, MONEY, PAGE_SIZES, PRESET, ListFilters
from ui import analyses, base, campaigns, progress, shell, widgets
from ui.cache import SHARED_FLAG
from ui.i18n import currency_symbol, format_date, format_money, format_number
from ui.sections import customers as sections
from ui.state import lang, t
from ui.views import customers as views

FILTER_KEYS = {"segment": "cu_segment", "stage": "cu_stage", "tier": "cu_tier", "risk_tier": "cu_risk",
               "owner": "cu_owner", "region": "cu_region"}

ctx = shell.context()
language = lang()
st.title(t("customers.page.title"))
shell.require_orders(ctx)
base.scope_note(ctx)

overview = views.table_overview.ready(ctx.dataset, ctx.as_of)
if overview is MISSING:  # computed in the background: say what, and fill in when it is done
    base.caption(ctx)
    progress.wait_for(analyses.customer_steps(ctx.dataset, ctx.as_of), "app.progress.customers")
base.caption(ctx)
base.refund_only_list(ctx)  # the one place that names them
amounts = base.amounts_notice(ctx.dataset)
st.caption(t("customers.page.caption", customers=format_number(overview.customers, language),
             buyers=format_number(overview.buyers, language), prospects=format_number(overview.prospects, language),
             as_of=format_date(ctx.as_of, language), preset=t(f"segmentation.preset.{PRESET}")))
sections.missing(overview.notes)
base.risk_legend(CHURN_HORIZON_DAYS)


def header(name: str) -> str:
    return sections.header(name, language)


# ---------------------------------------------------------------- filters (all in the link)

with st.container(border=True):
    top = st.columns([2, 3])
    query = widgets.text_input(t("customers.page.search"), "cu_q", container=top[0],
                               placeholder=t("customers.page.search_placeholder"), help=t("customers.page.search_help"))
    value_range = None
    if overview.revenue_range is not None:  # the value filter is a revenue range
        low, high = overview.revenue_range
        value_range = tuple(widgets.slider(t("customers.page.value_range"), low, high, "cu_value", (low, high),
                                           container=top[1], help=t("customers.page.value_range_help"),
                                           format=currency_symbol(ctx.currency, language) + "%d"))
    chosen = {}
    for start in range(0, len(overview.filters), 3):
        for box, choice in zip(st.columns(3), overview.filters[start:start + 3], strict=False):
            chosen[choice.field] = tuple(widgets.multiselect(
                header(choice.column), choice.options, FILTER_KEYS[choice.column], container=box,
                format_func=sections.labeller(choice.prefix, language)))
filters = ListFilters(**chosen, value_range=value_range, query=query)

# ---------------------------------------------------------------- sort, columns, paging

controls = st.columns([2, 1, 3, 1, 1])
sort_by = widgets.selectbox(t("customers.page.sort_by"), overview.columns, "cu_sort", default=overview.default_sort,
                            container=controls[0], format_func=header)
direction = widgets.radio(t("customers.page.direction"), ["desc", "asc"], "cu_dir", container=controls[1],
                          format_func=lambda d: t(f"customers.page.direction_{d}"))
picked = widgets.multiselect(t("customers.page.columns"), overview.columns, "cu_cols", container=controls[2],
                             format_func=header, placeholder=t("customers.page.columns_default"))
columns = tuple(picked) or overview.default_columns

listing = views.customer_list(ctx.dataset, ctx.as_of, filters, sort_by, direction == "desc")
page_size = widgets.selectbox(t("customers.page.page_size"), PAGE_SIZES, "cu_size", default=DEFAULT_PAGE_SIZE,
                              container=controls[3])
pages = listing.page_count(page_size)
page = widgets.number_input(t("customers.page.page", pages=pages), 1, pages, "cu_page", 1, step=1,
                            container=controls[4])

if listing.total == 0:
    st.info(t("customers.page.no_match"), icon=":material/filter_alt_off:")
    st.stop()

shown = listing.page(page, page_size, columns)
span = dict(first=format_number(shown.first, language), last=format_number(shown.last, language),
            total=format_number(listing.total, language))
if not amounts:
    st.caption(t("customers.page.no_amounts.showing", **span))
else:
    st.caption(t("customers.page.showing", **span,
                 revenue=format_money(listing.revenue, language, ctx.currency, compact=True)))

# A link opens a new session, which finds the data again only for the sample or a saved dataset.
linkable = bool(st.session_state.get(SHARED_FLAG, True))
event = sections.customer_table(shown, columns, language, ctx.currency)

rows = event.selection.rows if event is not None else []
left, right = st.columns([3, 2])
if rows:
    chosen_id = shown.ids[rows[0]]
    if left.button(t("customers.page.open", customer_id=chosen_id), key="cu_open", icon=":material/person_search:",
                   type="primary"):
        st.session_state["customer"] = chosen_id
        # No query_params here: the 360 page's run writes the whole link (customer included) itself. Handing
        # them to switch_page left the address bar without them until the next rerun (seen in Chromium).
        st.switch_page("pages/customer_360.py")
else:
    left.caption(t("customers.page.open_hint" if linkable else "customers.page.open_hint_unsaved"))

with right:
    widgets.downloads(sections.export(ctx.dataset, ctx.as_of, filters, sort_by, direction == "desc", columns, language),
                      "customers", "cu_dl",
                      money=[header(name) for name in columns if name in MONEY])
st.caption(t("customers.page.masked"))
campaigns.create_button(listing.members(), source="customers", detail=str(listing.total), goal="win_back",
                        key="cu_campaign", as_of=ctx.as_of)
