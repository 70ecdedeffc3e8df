"""Customer 360: one customer's profile, key figures, timeline, monthly spend, next best products, look-alikes.

The figures are the customer's row of ``crm_core.customers.customer_table`` (the same cached table as the
Customers page); the timeline, spend, recommendations and similar customers come from
``crm_core.customers.customer_story``, ready to draw from ``crm_core.views.customer_360``. The chosen
customer travels in the link as ``?customer=<id>``.
"""
import streamlit as st

from crm_core.artefacts import MISSING
from crm_core.customers import UnknownCustomer
from crm_core.views.customers import CHURN_HORIZON_DAYS
from ui import analyses, base, progress, shell, state, widgets
from ui.sections import customers as sections
from ui.state import lang, t
from ui.text import t_plain
from ui.views import customer_360 as views

ctx = shell.context()
language = lang()


def pick(customer_id: str) -> None:
    """Open another customer (button callback): the id goes into the link, the search box empties."""
    st.session_state["customer"] = customer_id
    st.session_state["c360_q"] = ""


# ---------------------------------------------------------------- search

st.title(t("customers.c360.title"))
shell.require_orders(ctx)
base.scope_note(ctx)
base.caption(ctx)
base.amounts_notice(ctx.dataset)
chosen = state.claim("customer", "", state.TEXT)

query = widgets.text_input(t("customers.c360.search"), "c360_q", placeholder=t("customers.page.search_placeholder"),
                           help=t("customers.page.search_help"))
if (query.strip() or chosen) and analyses.customer_base.ready(ctx.dataset, ctx.as_of) is MISSING:
    progress.wait_for(analyses.customer_steps(ctx.dataset, ctx.as_of), "app.progress.customers")
if query.strip():
    with st.spinner(t("customers.page.computing")):
        found = views.search(ctx.dataset, ctx.as_of, query)
    if found.total == 0:
        st.warning(t("customers.c360.no_match", query=query.strip()), icon=":material/search_off:")
    elif found.total == 1 and found.hits[0].customer_id != chosen:
        chosen = found.hits[0].customer_id
        st.session_state["customer"] = chosen
    elif found.total > 1:
        sections.search_hits(found, language, pick)

if not chosen:
    if not query.strip():
        st.info(t("customers.c360.pick"), icon=":material/person_search:")
    st.stop()
try:
    with st.spinner(t("customers.page.computing")):
        view = views.customer_view(ctx.dataset, ctx.as_of, chosen)
except UnknownCustomer as error:
    shown_id = str(error.params["customer_id"])  # from the link: as text, and not a page of it
    st.warning(t_plain(error.key, customer_id=shown_id if len(shown_id) <= 80 else shown_id[:80] + "…"),
               icon=":material/person_off:")
    st.stop()

sections.profile_card(view, language)
sections.key_figures(view, language, ctx.currency)
sections.churn_box(view)
base.risk_legend(CHURN_HORIZON_DAYS)
sections.timeline(view, language, ctx.currency)
sections.monthly_spend(view, language, ctx.currency)
sections.next_products(view, language, ctx.currency)
sections.similar_customers(view, language, ctx.currency, pick)
