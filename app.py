"""Existing-customer analytics: the router. Shared frame in ui/shell.py, pages in pages/."""
import streamlit as st

from ui import analyses, owners, shell, state
from ui.boundary import guard
from ui.state import t

st.set_page_config(page_title="CRM · 存量客户分析", page_icon=":material/groups:", layout="wide")
state.begin_run()
shell.start()
try:
    shell.language_picker()
    shell.gate()
    owners.remember()
    shell.account()
    PAGES = [
        st.Page("pages/overview.py", title=t("nav.overview"), icon=":material/dashboard:", url_path="overview",
                default=True),
        st.Page("pages/segments.py", title=t("nav.segments"), icon=":material/donut_small:", url_path="segments"),
        st.Page("pages/lifecycle.py", title=t("nav.lifecycle"), icon=":material/timeline:", url_path="lifecycle"),
        st.Page("pages/cross_sell.py", title=t("nav.cross_sell"), icon=":material/shopping_cart:",
                url_path="cross_sell"),
        st.Page("pages/churn.py", title=t("nav.churn"), icon=":material/warning:", url_path="churn"),
        st.Page("pages/customers.py", title=t("nav.customers"), icon=":material/table_rows:", url_path="customers"),
        st.Page("pages/customer_360.py", title=t("nav.customer_360"), icon=":material/person_search:",
                url_path="customer_360"),
        st.Page("pages/campaigns.py", title=t("nav.campaigns"), icon=":material/campaign:", url_path="campaigns"),
        st.Page("pages/data.py", title=t("nav.data"), icon=":material/upload_file:", url_path="data"),
    ]
    page = st.navigation(PAGES)
    st.session_state["_context"] = context = shell.sidebar()
    analyses.prepare(context.dataset, context.as_of)  # the heavy analyses start in the background now
    shell.show_notices()
    with guard(f"page {page.url_path or 'overview'}"):  # a bug shows a translated notice; the frame stays
        page.run()
finally:
    shell.finish()
