"""Campaigns: did the calls work? Each campaign made from a customer list (on the Churn, Segments,
Cross-sell or Customers page), its contacted group against the control group held out from contact, on the
data loaded now (:func:`crm_core.views.campaigns.campaign_view`), its contact list, the contacts made and
the CRM's call log. Drawn by :mod:`ui.sections.campaigns`; stored by :func:`ui.campaigns.store`.
"""
import streamlit as st

from crm_core.campaigns.model import CampaignError
from ui import campaigns, data, owners, shell, state, widgets
from ui.sections import campaigns as sections
from ui.state import lang, t
from ui.text import t_plain
from ui.views import campaigns as views

ctx = shell.context()
language = lang()
st.title(t("campaigns.page.title"))
notices = st.container()

try:
    store = campaigns.store()
    listed = store.list_campaigns()
except CampaignError as error:
    st.error(campaigns.error_text(error), icon=":material/database_off:")
    st.stop()

owner = owners.current()
linked = state.url_value(campaigns.CHOSEN)
mine = [item for item in listed if owner.admin or item.campaign.owner == owner.key]
shown = {item.campaign.id: item for item in mine}
chosen_id = st.session_state.get(campaigns.CHOSEN) or (linked[-1] if isinstance(linked, list) else linked)
if chosen_id and chosen_id not in shown:  # a colleague's campaign, opened by its link (the link lets one read it)
    item = next((item for item in listed if item.campaign.id == chosen_id), None)
    if item is not None:
        shown = {chosen_id: item, **shown}

if not shown:
    st.info(t("campaigns.page.none"), icon=":material/campaign:")
    with notices:
        shell.show_notices()
    st.stop()

sections.campaign_table(list(shown.values()), language)
ids = list(shown)
chosen_id = widgets.selectbox(t("campaigns.page.pick"), ids, campaigns.CHOSEN, default=ids[0], always=True,
                              format_func=lambda cid: sections.campaign_label(shown[cid].campaign, language))
campaign = shown[chosen_id].campaign

created = st.session_state.pop(campaigns.CREATED, None)
if created:
    with notices:
        st.success(t_plain("campaigns.created", name=created), icon=":material/check_circle:")
sections.header(campaign, language)
cost = widgets.number_input(t("campaigns.page.cost", currency=campaign.currency or data.currency() or "—"), 0.0,
                            1e9, f"cost_{campaign.id}", float(campaign.cost_per_contact or 0.0), step=1.0,
                            container=st.columns([1, 2])[0], help=t("campaigns.field.cost_help"))
try:
    view = views.campaign_view(data.current(), campaign, cost or None)
except CampaignError as error:  # the data loaded now cannot measure it (no product column for a cross-sell)
    st.warning(campaigns.error_text(error), icon=":material/info:")
    with notices:
        shell.show_notices()
    st.stop()
st.caption(sections.measured_on(view, data.label(), language))
sections.verdict(view, language)
sections.figures(view, language)

tabs = widgets.tabs("cp_tab", ["contacts", "groups", "call_log", "manage"],
                    lambda name: t(f"campaigns.page.tab.{name}"))
with tabs["contacts"]:
    sections.contact_list(view, store, language)
with tabs["groups"]:
    sections.groups(view, language)
with tabs["call_log"]:
    sections.call_log(campaign, store, language)
with tabs["manage"]:
    sections.manage(campaign, store, owner)

with notices:
    shell.show_notices()
