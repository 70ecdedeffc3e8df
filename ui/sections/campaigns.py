"""Drawing of the Campaigns page: the list, one campaign's header and verdict, treatment against control,
the contact list with the marks made in the app, the groups, the call-log upload and managing."""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date
from typing import Any

import polars as pl
import streamlit as st

from crm_core.campaigns.model import Campaign, CampaignError
from crm_core.charts import campaigns as charts
from crm_core.export import mask_contacts
from crm_core.io import DataError
from crm_core.views import campaigns as core
from ui import campaigns, owners, upload, widgets
from ui.i18n import (
    format_date,
    format_money,
    format_number,
    format_percent,
    format_points,
    has_key,
    money_column_format,
    phrase_text,
)
from ui.state import lang, t
from ui.text import plain, t_plain


def column(name: str) -> str:
    return t(f"campaigns.column.{name}")


def goal_text(campaign: Campaign) -> str:
    if campaign.goal == "cross_sell":
        return t_plain("campaigns.goal_of.cross_sell", product=campaign.product or "")
    return t(f"campaigns.goal.{campaign.goal}")


def campaign_label(campaign: Campaign, language: str) -> str:
    """A campaign in the picker: its name and first day (ISO: the same in both languages, so a language
    switch leaves the picker's label as it is)."""
    return f"{campaign.name} · {campaign.start.isoformat()}"


# ---------------------------------------------------------------- the list

def campaign_table(listed: Sequence[Any], language: str) -> None:
    """Every campaign the session may see, newest first."""
    rows = [{
        column("name"): item.campaign.name,
        column("goal"): goal_text(item.campaign),
        column("start"): item.campaign.start,
        column("end"): item.campaign.end,
        column("treatment"): item.treatment,
        column("control"): item.control,
        column("source"): t(f"campaigns.source.{item.campaign.source}"),
        column("dataset"): item.campaign.dataset_name or t("app.dataset.sample"),
    } for item in listed]
    with st.expander(t("campaigns.page.all", count=format_number(len(rows), language)), icon=":material/list:",
                     expanded=len(rows) > 1):
        st.dataframe(pl.DataFrame(rows), hide_index=True, key="cp_all", column_config={
            column("start"): st.column_config.DateColumn(format="YYYY-MM-DD"),
            column("end"): st.column_config.DateColumn(format="YYYY-MM-DD", help=t("campaigns.column_help.end")),
            column("treatment"): st.column_config.NumberColumn(format="localized"),
            column("control"): st.column_config.NumberColumn(format="localized"),
        })


# ---------------------------------------------------------------- one campaign

def header(campaign: Campaign, language: str) -> None:
    st.subheader(plain(campaign.name))
    last_day = format_date(campaign.end.fromordinal(campaign.end.toordinal() - 1), language)
    st.markdown(t_plain("campaigns.page.header", goal=goal_text(campaign), start=format_date(campaign.start, language),
                        last=last_day, days=campaign.window_days,
                        share=format_percent(campaign.control_share, language, decimals=0)))
    made = t_plain("campaigns.page.made_from", source=t(f"campaigns.source.{campaign.source}"),
                   detail=detail_text(campaign, language), dataset=campaign.dataset_name or t("app.dataset.sample"),
                   created=format_date(campaign.created, language))
    if campaign.link:
        made += f" · [{t('campaigns.page.open_list')}](./{_page_of(campaign.source)}?{campaign.link})"
    st.caption(made)


def detail_text(campaign: Campaign, language: str) -> str:
    """What the list was, in the reader's words: its tiers, segment, size or products."""
    detail, source = campaign.source_detail, campaign.source
    if source == "at_risk":
        return t("churn.page.list_sep").join(stratum_name("at_risk", tier) for tier in detail.split(",") if tier) \
            or t("campaigns.page.every_tier")
    if source in ("call_list", "customers") and detail.isdigit():
        return t("campaigns.page.first", count=format_number(int(detail), language))
    if source == "segment":
        return _named("segmentation.segment", detail)
    if source == "tier":
        return _named("segmentation.tier", detail)
    if source == "cluster":
        return t("campaigns.page.cluster", number=detail)
    return detail


def _page_of(source: str) -> str:
    return {"call_list": "churn", "at_risk": "churn", "segment": "segments", "tier": "segments", "cluster": "segments",
            "target_list": "cross_sell"}.get(source, "customers")


def measured_on(view: core.CampaignView, dataset: str, language: str) -> str:
    return t_plain("campaigns.page.measured_on", dataset=dataset,
                   until=format_date(view.data_until, language) if view.data_until else "–")


def verdict(view: core.CampaignView, language: str) -> None:
    """The plain-language verdict (:func:`crm_core.views.campaigns.verdict_phrases`): worked, did harm, not
    distinguishable yet, or nothing to measure yet."""
    kind, sentences, note = core.verdict_phrases(view)
    text = " ".join(phrase_text(language, sentence, plain) for sentence in sentences)
    draw, icon = {"worked": (st.success, ":material/thumb_up:"), "backfired": (st.error, ":material/thumb_down:"),
                  "no_data": (st.info, ":material/hourglass_empty:")}.get(kind, (st.warning, ":material/balance:"))
    draw(text, icon=icon)
    if note is not None:
        st.caption(phrase_text(language, note, plain))


def _what(campaign: Campaign) -> str:
    return phrase_text(lang(), core.what_phrase(campaign), plain)


def figures(view: core.CampaignView, language: str) -> None:
    """Treatment against control: the rates, the difference and what it is worth."""
    result, campaign = view.result, view.campaign
    if result.verdict == "no_data":
        return
    money = campaign.currency
    a, b, c, d = st.columns(4)
    a.metric(t("campaigns.metric.treatment_rate"), format_percent(result.treatment.rate, language), border=True,
             help=t("campaigns.metric.rate_help", what=_what(campaign)),
             delta=t("campaigns.metric.of", count=format_number(result.treatment.successes, language),
                     members=format_number(result.treatment.members, language)), delta_color="off", delta_arrow="off")
    b.metric(t("campaigns.metric.control_rate"), format_percent(result.control.rate, language), border=True,
             delta=t("campaigns.metric.of", count=format_number(result.control.successes, language),
                     members=format_number(result.control.members, language)), delta_color="off", delta_arrow="off")
    low, high = result.rate_ci
    c.metric(t("campaigns.metric.difference"), format_points(result.rate_diff, language),
             border=True, help=t("campaigns.metric.difference_help"),
             delta=t("campaigns.metric.ci", low=format_points(low, language), high=format_points(high, language)),
             delta_color="off", delta_arrow="off")
    if result.incremental_revenue is not None:
        d.metric(t("campaigns.metric.incremental_revenue"), format_money(result.incremental_revenue, language, money,
                                                                           compact=True),
                 border=True, help=t("campaigns.metric.incremental_revenue_help"),
                 delta=t("campaigns.metric.per_customer", value=format_money(result.revenue_diff, language, money)),
                 delta_color="off", delta_arrow="off")
    else:
        d.metric(t("campaigns.metric.incremental_customers"), format_number(result.incremental_customers, language),
                 border=True, help=t("campaigns.metric.incremental_customers_help"))
    details = [t("campaigns.page.p_small") if result.p_value < 0.001
               else t("campaigns.page.p_value", p=format_number(result.p_value, language, decimals=3))]
    if result.revenue_ci is not None:
        details.append(t("campaigns.page.revenue_ci", low=format_money(result.revenue_ci[0], language, money),
                         high=format_money(result.revenue_ci[1], language, money)))
    if result.cost_per_saved is not None:
        details.append(t("campaigns.page.cost_per_saved", cost=format_money(result.cost_per_saved, language, money)))
    st.caption(" · ".join(details))
    rows = {
        column("group"): [t("campaigns.group.treatment"), t("campaigns.group.control")],
        column("members"): [result.treatment.members, result.control.members],
        column("found"): [result.treatment.found, result.control.found],
        column("successes"): [result.treatment.successes, result.control.successes],
        column("rate"): [result.treatment.rate, result.control.rate],
    }
    if result.incremental_revenue is not None:
        rows[column("revenue")] = [result.treatment.revenue, result.control.revenue]
        rows[column("revenue_per_member")] = [result.treatment.revenue_per_member, result.control.revenue_per_member]
    left, right = st.columns([3, 2])
    money_format = money_column_format(language, money)
    left.dataframe(rows, hide_index=True, key="cp_groups_table", column_config={
        column("revenue"): st.column_config.NumberColumn(format=money_format),
        column("revenue_per_member"): st.column_config.NumberColumn(format=money_format),
        column("members"): st.column_config.NumberColumn(format="localized"),
        column("found"): st.column_config.NumberColumn(format="localized", help=t("campaigns.column_help.found")),
        column("successes"): st.column_config.NumberColumn(format="localized"),
        column("rate"): st.column_config.NumberColumn(format="percent"),
    })
    right.plotly_chart(charts.rates(
        [t("campaigns.group.treatment"), t("campaigns.group.control")],
        [result.treatment.rate, result.control.rate], [result.treatment.rate_ci, result.control.rate_ci],
        title=t("campaigns.chart.title", what=_what(campaign)), axis=t("campaigns.chart.axis")),
        width="stretch", key="cp_chart")
    if view.control_contacted:
        st.warning(t("campaigns.page.control_contacted", count=format_number(view.control_contacted, language)),
                   icon=":material/report:")


# ---------------------------------------------------------------- contacts

def contact_list(view: core.CampaignView, store: Any, language: str) -> None:
    """The treatment group as a to-do list: download it for the CRM, or tick who was reached here."""
    campaign = view.campaign
    st.caption(t("campaigns.page.contact_intro", treated=format_number(view.treated, language),
                 contacted=format_number(view.contacted, language)))
    table = mask_contacts(view.contact_list)
    names = {key: stratum_name(campaign.source, key) for key in table["stratum"].unique().to_list() if key is not None}
    table = table.with_columns(pl.col("stratum").replace_strict(names, default=None, return_dtype=pl.String))
    headers = {name: t(f"campaigns.member.{name}") for name in table.columns}
    widgets.downloads(table.drop("done", "outcome", "last_contact").rename(headers, strict=False),
                      f"campaign_{campaign.id}_contacts", "cp_contacts_dl", container=st.columns([2, 3])[0])
    st.caption(t("campaigns.page.mark_intro"))
    editable = table.with_columns(pl.col(pl.String).fill_null(""))  # (an empty cell, not "None")
    edited = st.data_editor(
        editable.rename(headers), hide_index=True, key=f"cp_marks_{campaign.id}", disabled=[
            headers[name] for name in table.columns if name not in ("done", "outcome")],
        column_config={headers["done"]: st.column_config.CheckboxColumn(help=t("campaigns.column_help.done")),
                       headers["outcome"]: st.column_config.TextColumn(max_chars=200),
                       headers["last_contact"]: st.column_config.DatetimeColumn(format="YYYY-MM-DD")})
    if st.button(t("campaigns.page.save_marks"), key="cp_save_marks", icon=":material/save:"):
        marks = pl.DataFrame({"customer_id": list(edited[headers["customer_id"]]),
                              "done": [bool(v) for v in edited[headers["done"]]],
                              "outcome": [None if v is None else str(v) for v in edited[headers["outcome"]]]},
                             schema={"customer_id": pl.String, "done": pl.Boolean, "outcome": pl.String})
        changed = core.changed_marks(table.select("customer_id", "done", "outcome"), marks)
        try:
            store.mark_done(campaign.id, changed)
        except CampaignError as error:
            st.error(campaigns.error_text(error), icon=":material/error:")
            return
        st.success(t("campaigns.page.marks_saved", count=format_number(changed.height, language)),
                   icon=":material/check:")


_STRATA = {"call_list": "churn.tier", "at_risk": "churn.tier", "segment": "segmentation.tier"}


def stratum_name(source: str, key: str) -> str:
    """A stratum as the reader knows it: a risk tier, value tier or segment name (else as stored)."""
    if key == "":
        return t("campaigns.page.no_stratum")
    return _named(_STRATA.get(source, "segmentation.segment"), key)


def _named(prefix: str, key: str) -> str:
    """The translated name of ``key`` under ``prefix`` (a tier, a segment), else the key as stored."""
    return t(f"{prefix}.{key}") if has_key(f"{prefix}.{key}") else key


def groups(view: core.CampaignView, language: str) -> None:
    """How the members were split: per stratum, so a reader sees the groups are comparable."""
    st.caption(t("campaigns.page.groups_intro", seed=view.campaign.seed))
    balance = view.balance
    names = {key: stratum_name(view.campaign.source, key) for key in balance["stratum"].drop_nulls().to_list()}
    shown = balance.select(
        pl.when(pl.col("total")).then(pl.lit(t("campaigns.page.total")))
        .otherwise(pl.col("stratum").replace_strict(names, default=None, return_dtype=pl.String)).alias("stratum"),
        "members", "treatment", "control", "control_share")
    st.dataframe(shown.rename({name: column(name) for name in shown.columns}), hide_index=True, key="cp_balance",
                 column_config={column("control_share"): st.column_config.NumberColumn(format="percent")})


def call_log(campaign: Campaign, store: Any, language: str) -> None:
    """Upload the CRM's call log (an interactions export): members' contacts in the window are stored; every
    row that is not is counted and named."""
    st.caption(t("campaigns.page.call_log_intro"))
    file = st.file_uploader(t("campaigns.page.call_log_upload"), type=upload.UPLOAD_TYPES, key="cp_call_log")
    if file is None:
        return
    raw = file.getvalue()
    digest = hashlib.sha256(raw).hexdigest()
    try:
        result = upload.parse(digest, file.name, "interactions", (), None, None, date.today(), False, raw)
    except DataError as error:
        st.error(upload.error_text(error, "interactions"), icon=":material/error:")
        return
    with st.expander(t("campaigns.page.call_log_report"), icon=":material/fact_check:"):
        upload.show_report(result, f"cp_log_{digest[:8]}")
    match = core.match_call_log(campaign, store.groups(campaign.id), result.df)
    done = st.session_state.setdefault("_cp_logs_stored", {})
    key = (campaign.id, digest)
    if key not in done:
        try:
            done[key] = store.add_call_log(campaign.id, match.kept)
        except CampaignError as error:
            st.error(campaigns.error_text(error), icon=":material/error:")
            return
    st.success(t("campaigns.page.call_log_stored", rows=format_number(match.kept.height, language),
                 new=format_number(done[key], language)), icon=":material/check:")
    if match.unknown:
        st.warning(t_plain("campaigns.page.call_log_unknown", count=format_number(match.unknown, language),
                           examples="、".join(match.unknown_examples)), icon=":material/person_off:")
    if match.outside:
        st.warning(t_plain("campaigns.page.call_log_outside", count=format_number(match.outside, language),
                           examples="、".join(match.outside_examples)), icon=":material/event_busy:")
    if match.control:
        st.warning(t("campaigns.page.call_log_control", count=format_number(match.control, language)),
                   icon=":material/report:")


def manage(campaign: Campaign, store: Any, owner: owners.Owner) -> None:
    if not (owner.admin or campaign.owner == owner.key):
        st.caption(t("campaigns.page.not_yours"))
        return
    left, right = st.columns(2)
    with left.form("cp_rename", border=False):
        name = st.text_input(t("campaigns.field.name"), value=campaign.name, key="cp_new_name")
        if st.form_submit_button(t("campaigns.page.rename")):
            try:
                store.rename(campaign.id, name, owner.manages)
            except CampaignError as error:
                st.error(campaigns.error_text(error), icon=":material/error:")
            else:
                st.rerun()
    sure = right.checkbox(t("campaigns.page.delete_sure"), key="cp_delete_sure")
    if right.button(t("campaigns.page.delete"), key="cp_delete", disabled=not sure, icon=":material/delete:"):
        try:
            store.delete(campaign.id, owner.manages)
        except CampaignError as error:
            right.error(campaigns.error_text(error), icon=":material/error:")
            return
        st.session_state.pop(campaigns.CHOSEN, None)
        st.rerun()
