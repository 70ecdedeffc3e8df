"""Campaigns on the Streamlit side: the store every session shares, and the button that starts a campaign
from any customer list (the call list, an at-risk list, a segment, a target list, a Customers view).

A campaign's members are split at once into the customers to contact and a random control group held
out from contact (:func:`crm_core.campaigns.design.assign_groups`, stratified by the list's tier or
segment); both are stored in one transaction (:class:`crm_core.campaigns.store.CampaignStore`), and the
Campaigns page opens on it.
"""
from __future__ import annotations

import secrets
from datetime import UTC, date, datetime
from urllib.parse import urlencode

import polars as pl
import streamlit as st

from crm_core.campaigns import design, model
from crm_core.campaigns.model import Campaign, CampaignError
from crm_core.campaigns.store import CampaignStore, default_url
from ui import data, owners, state
from ui.i18n import format_number, format_percent
from ui.state import lang, t
from ui.text import plain
from ui.widgets import frozen_labels

CHOSEN = "campaign"  # the session-state key (and link parameter) of the campaign the Campaigns page shows
CREATED = "_campaign_created"  # the name of the campaign just created, for the Campaigns page to confirm
MIN_MEMBERS = 20  # fewer cannot spare a control group that tells anything


@st.cache_resource(show_spinner=False)
def _store(url: str) -> CampaignStore:
    return CampaignStore(url)  # (it brings its database to the code's schema on first use)


def store() -> CampaignStore:
    """The campaign database of this server (``CRM_CAMPAIGNS_URL``, else SQLite under ``CRM_DATA_DIR``),
    migrated to the code's schema once per process. Raises :class:`CampaignError`."""
    folder = data.data_dir()
    url = default_url(folder)
    if url.startswith("sqlite"):
        folder.mkdir(parents=True, exist_ok=True)
    return _store(url)


def error_text(error: CampaignError) -> str:
    """A campaign error in the session's language (its parameters are data: shown as text; shares as percents)."""
    params = {k: plain(v) if isinstance(v, str) else v for k, v in error.params.items()}
    if error.key == "campaigns.error.control_share":
        params = {k: format_percent(float(v), lang(), decimals=0) for k, v in params.items()}
    return t(error.key, **params)


def create_button(members: pl.DataFrame, *, source: str, detail: str, goal: str, key: str,
                  as_of: datetime, product: str | None = None, container=st) -> None:
    """Under a customer list: a folded form that starts a campaign with its customers.

    ``members``: ``customer_id`` and, optionally, ``stratum`` (the tier or segment the control group is
    balanced on). ``detail`` names the list in the data's own words (a segment key, products). ``goal`` and
    ``product`` are the form's defaults. A form, so choosing its fields reruns nothing."""
    members = members.filter(pl.col("customer_id").is_not_null()).unique("customer_id", keep="first",
                                                                        maintain_order=True)
    language = lang()
    if members.height < MIN_MEMBERS:
        container.caption(t("campaigns.create.too_small", least=MIN_MEMBERS))
        return
    box = container.expander(t("campaigns.create.button", customers=format_number(members.height, language)),
                             icon=":material/campaign:")
    form = box.form(f"{key}_form", border=False)
    form.caption(t("campaigns.create.intro", source=t(f"campaigns.source.{source}")))
    start_default: date = as_of.date()
    name = form.text_input(t("campaigns.field.name"), value=t(f"campaigns.default_name.{goal}",
                                                              day=start_default.isoformat()),
                           max_chars=model.MAX_NAME, key=f"{key}_name")
    left, right = form.columns(2)
    chosen_goal = left.selectbox(t("campaigns.field.goal"), model.GOALS, index=model.GOALS.index(goal),
                                 format_func=frozen_labels(model.GOALS, lambda g: t(f"campaigns.goal.{g}")),
                                 key=f"{key}_goal", help=t("campaigns.field.goal_help"))
    products = _products()
    chosen_product = None
    if products:
        chosen_product = right.selectbox(t("campaigns.field.product"), products, key=f"{key}_product",
                                         index=products.index(product) if product in products else None,
                                         placeholder=t("campaigns.field.product_placeholder"),
                                         help=t("campaigns.field.product_help"))
    start = left.date_input(t("campaigns.field.start"), value=start_default, key=f"{key}_start",
                            format="YYYY-MM-DD", help=t("campaigns.field.start_help"))
    window = right.number_input(t("campaigns.field.window"), min_value=7, max_value=730,
                                value=model.DEFAULT_WINDOW_DAYS, step=1, key=f"{key}_window",
                                help=t("campaigns.field.window_help"))
    share = left.slider(t("campaigns.field.control"), int(model.MIN_CONTROL_SHARE * 100),
                        int(model.MAX_CONTROL_SHARE * 100), int(model.DEFAULT_CONTROL_SHARE * 100), format="%d%%",
                        key=f"{key}_share", help=t("campaigns.field.control_help"))
    cost = right.number_input(t("campaigns.field.cost", currency=data.currency() or "—"), min_value=0.0,
                              value=None, step=1.0, key=f"{key}_cost", help=t("campaigns.field.cost_help"))
    if not form.form_submit_button(t("campaigns.create.submit"), type="primary", icon=":material/check:"):
        return
    try:
        made = create(members, name=name, goal=chosen_goal, product=chosen_product, start=start,
                      window_days=int(window), control_share=share / 100, cost=cost, source=source, detail=detail,
                      link=urlencode(state.current_link_params(), doseq=True))
    except CampaignError as error:
        box.error(error_text(error), icon=":material/error:")
        return
    st.session_state[CHOSEN] = made.id
    st.session_state[CREATED] = made.name
    st.switch_page("pages/campaigns.py")


def _products() -> list[str]:
    transactions = data.current().transactions
    if "product" not in transactions.columns:
        return []
    return transactions.get_column("product").drop_nulls().unique().sort().to_list()


def create(members: pl.DataFrame, *, name: str, goal: str, product: str | None, start: date, window_days: int,
           control_share: float, cost: float | None, source: str, detail: str, link: str) -> Campaign:
    """Split ``members`` and store the campaign; raises :class:`CampaignError`."""
    name = (name or "").strip()
    if not name or len(name) > model.MAX_NAME:
        raise CampaignError("campaigns.error.name", {"max": model.MAX_NAME})
    if goal == "cross_sell" and not product:
        raise CampaignError("campaigns.error.product")
    seed = secrets.randbelow(2**31)
    groups = design.assign_groups(members, control_share, seed)
    campaign = Campaign(
        id=secrets.token_hex(8), name=name, goal=goal, start=start, window_days=window_days,
        control_share=control_share, seed=seed, source=source, source_detail=detail,
        created=datetime.now(UTC), owner=owners.current().key, product=product if goal == "cross_sell" else None,
        dataset_id=st.session_state.get("dataset_id"), dataset_name=data.label(), cost_per_contact=cost,
        currency=data.currency(), link=link)
    store().create(campaign, groups)
    return campaign
