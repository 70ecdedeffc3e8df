"""View-models of the Campaigns page: one campaign measured on the data at hand, and a call log matched
against its members.

The measurement reads only the campaign's members and the data's lines in its window
(:mod:`crm_core.campaigns.measure`); sidebar filters do not apply (a campaign's groups are whole).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import polars as pl

from crm_core.campaigns import design, measure
from crm_core.campaigns.model import Campaign
from crm_core.dataset import Dataset

__all__ = ["CampaignView", "CallLogMatch", "Phrase", "PROFILE", "campaign_view", "changed_marks", "match_call_log",
           "verdict_phrases", "what_phrase"]

PROFILE = ("name", "phone", "email", "region", "owner")
EXAMPLES = 5


@dataclass(frozen=True)
class CampaignView:
    """What the page shows of ``campaign`` on one dataset.

    ``result``: treatment against control (:class:`crm_core.campaigns.measure.CampaignResult`);
    ``balance``: the groups per stratum; ``contact_list``: the members to contact (treatment only) with
    what the data knows of them (``customer_id, stratum``, the :data:`PROFILE` columns the customers table
    has, ``done, outcome`` marked in the app, ``last_contact`` from a call log); ``contacted``: treatment
    members marked done or in a call log; ``control_contacted``: control members a call log says were
    contacted all the same (they stay in the control group: the comparison is of groups as assigned).
    """

    campaign: Campaign
    result: measure.CampaignResult
    balance: pl.DataFrame
    data_until: date | None
    contact_list: pl.DataFrame
    contacted: int
    control_contacted: int

    @property
    def treated(self) -> int:
        return self.contact_list.height


def campaign_view(dataset: Dataset, campaign: Campaign, groups: pl.DataFrame, contacts: pl.DataFrame,
                  cost_per_contact: float | None = None, seed: int = 0) -> CampaignView:
    """Measure ``campaign`` (members ``groups``: ``customer_id, stratum, group``) on ``dataset``;
    ``contacts`` are its stored contacts (``customer_id, contacted_at, kind, outcome, note, origin``)."""
    transactions = dataset.transactions
    until = measure.observed_until(transactions)
    outcomes = measure.outcomes(campaign, groups, transactions)
    result = measure.compare(campaign, outcomes, until, cost_per_contact=cost_per_contact, seed=seed)
    treated = groups.filter(pl.col("group") == "treatment").select("customer_id", "stratum")
    if dataset.customers is not None:
        profile = [c for c in PROFILE if c in dataset.customers.columns]
        treated = treated.join(dataset.customers.select("customer_id", *profile).unique("customer_id"),
                               on="customer_id", how="left", maintain_order="left")
    marks = contacts.filter(pl.col("origin") == "app").group_by("customer_id").agg(
        pl.lit(True).alias("done"), pl.col("outcome").drop_nulls().last().alias("outcome"))
    logged = contacts.filter(pl.col("origin") == "call_log").group_by("customer_id").agg(
        pl.col("contacted_at").max().alias("last_contact"))
    contact_list = (treated.join(marks, on="customer_id", how="left", maintain_order="left")
                    .join(logged, on="customer_id", how="left", maintain_order="left")
                    .with_columns(pl.col("done").fill_null(False)))
    reached = set(marks["customer_id"].to_list()) | set(logged["customer_id"].to_list())
    control = groups.filter(pl.col("group") == "control")["customer_id"]
    return CampaignView(
        campaign=campaign, result=result, balance=design.balance(groups), data_until=until,
        contact_list=contact_list.sort("customer_id"),
        contacted=int(treated["customer_id"].is_in(list(reached)).sum()),
        control_contacted=int(control.is_in(list(reached)).sum()))


@dataclass(frozen=True)
class Phrase:
    """A sentence to translate: ``key`` and its ``params`` as ``(name, kind, value)``, the kind saying how the
    value is written (``ui.i18n.phrase_text``): ``points`` (a difference of rates, signed), ``size`` (the
    same, unsigned), ``number``, ``percent``, ``date``, ``text``, ``phrase`` (a nested :class:`Phrase`)."""

    key: str
    params: tuple[tuple[str, str, Any], ...] = ()


def what_phrase(campaign: Campaign) -> Phrase:
    """What success is for this campaign's goal, as a phrase ("ordered again", "bought P")."""
    if campaign.goal == "cross_sell":
        return Phrase("campaigns.what.cross_sell", (("product", "text", campaign.product or ""),))
    return Phrase(f"campaigns.what.{campaign.goal}")


def verdict_phrases(view: CampaignView) -> tuple[str, tuple[Phrase, ...], Phrase | None]:
    """The verdict in words, as the Campaigns page and the digest write it: ``(verdict, sentences, note)``.

    ``verdict`` is the result's (``no_data``, ``worked``, ``backfired``, ``inconclusive``); the sentences say
    it ("so far" while the window is open; how many more members an underpowered campaign needs);
    ``note`` says until when the window runs, while it is open."""
    result, campaign = view.result, view.campaign
    if result.verdict == "no_data":
        return "no_data", (Phrase("campaigns.verdict.no_data", (("until", "date", view.data_until),
                                                                ("start", "date", campaign.start))),), None
    low, high = result.rate_ci
    params = (("diff", "points", result.rate_diff), ("size", "size", result.rate_diff), ("low", "points", low),
              ("high", "points", high), ("what", "phrase", what_phrase(campaign)),
              ("customers", "number", result.incremental_customers))
    sentences = [] if result.final else [Phrase("campaigns.verdict.so_far", (
        ("days", "text", result.observed_days), ("window", "text", campaign.window_days)))]
    sentences.append(Phrase(f"campaigns.verdict.{result.verdict}", params))
    if result.verdict == "inconclusive" and result.too_small:
        sentences.append(Phrase("campaigns.verdict.too_small", (("more", "number", result.more_needed),
                                                                ("power", "percent", result.power)))
                         if result.more_needed else Phrase("campaigns.verdict.too_small_no_difference"))
    note = None if result.final else Phrase("campaigns.verdict.window_open", (("end", "date", campaign.end),))
    return result.verdict, tuple(sentences), note


def changed_marks(before: pl.DataFrame, after: pl.DataFrame) -> pl.DataFrame:
    """The rows of ``after`` (``customer_id, done, outcome``: the contact list as edited) that differ from
    ``before``: what to store. An empty outcome is no outcome."""
    def tidy(frame: pl.DataFrame) -> pl.DataFrame:
        outcome = pl.col("outcome").cast(pl.String).str.strip_chars()
        return frame.select(pl.col("customer_id").cast(pl.String), pl.col("done").cast(pl.Boolean).fill_null(False),
                            pl.when(outcome == "").then(None).otherwise(outcome).alias("outcome"))
    return tidy(after).join(tidy(before), on=["customer_id", "done", "outcome"], how="anti", nulls_equal=True)


@dataclass(frozen=True)
class CallLogMatch:
    """A call log (an interactions table) matched against a campaign's members.

    ``kept``: the rows to store (``customer_id, contacted_at, kind, outcome, note``): members' contacts in the
    window, control members' included (counted in ``control``). Rows of customers who are not members
    (``unknown``) and members' rows dated outside the window (``outside``) are counted, with examples, and not
    stored."""

    kept: pl.DataFrame
    rows: int
    unknown: int
    unknown_examples: tuple[str, ...]
    outside: int
    outside_examples: tuple[str, ...]
    control: int


def match_call_log(campaign: Campaign, groups: pl.DataFrame, log: pl.DataFrame) -> CallLogMatch:
    """Match the interactions ``log`` (canonical columns: ``customer_id, date, type``, optional ``outcome``,
    ``note``) against ``groups``."""
    start = datetime.combine(campaign.start, datetime.min.time())
    end = datetime.combine(campaign.end, datetime.min.time())
    members = groups.select("customer_id", "group")
    rows = log.select(
        pl.col("customer_id").cast(pl.String), pl.col("date").alias("contacted_at"), pl.col("type").alias("kind"),
        (pl.col("outcome") if "outcome" in log.columns else pl.lit(None, pl.String)).alias("outcome"),
        (pl.col("note") if "note" in log.columns else pl.lit(None, pl.String)).alias("note"),
    ).join(members, on="customer_id", how="left")
    unknown = rows.filter(pl.col("group").is_null())
    known = rows.filter(pl.col("group").is_not_null())
    inside = (pl.col("contacted_at") >= start) & (pl.col("contacted_at") < end)
    outside = known.filter(~inside)
    kept = known.filter(inside)
    return CallLogMatch(
        kept=kept.select("customer_id", "contacted_at", "kind", "outcome", "note"), rows=log.height,
        unknown=unknown.height, unknown_examples=tuple(unknown["customer_id"].unique(maintain_order=True)
                                                       .head(EXAMPLES).to_list()),
        outside=outside.height,
        outside_examples=tuple(f"{cid} {when:%Y-%m-%d}" for cid, when
                               in outside.select("customer_id", "contacted_at").head(EXAMPLES).iter_rows()),
        control=int((kept["group"] == "control").sum()))
