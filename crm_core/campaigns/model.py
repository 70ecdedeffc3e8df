"""What a campaign is: a named list of customers, split into a contacted group and a held-out control,
with a goal and a measurement window."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

GOALS = ("win_back", "cross_sell", "retain")
"""win_back: a lapsing customer orders again; cross_sell: the customer buys ``product``; retain: an active
customer keeps ordering. Each goal's success is one order (of ``product`` for cross-sell) in the window."""
GROUPS = ("treatment", "control")
SOURCES = ("call_list", "at_risk", "segment", "tier", "cluster", "target_list", "customers")
"""The lists a campaign is made from: the churn page's call list and at-risk list, a segment, value tier
or cluster of the Segments page, a cross-sell target list ("bought X, not Y"), a Customers-table view."""



class CampaignError(Exception):
    """A campaign that cannot be made, stored or measured. ``key`` is an i18n key (``campaigns.error.*``,
    each in ui/locales/*/campaigns.toml), ``params`` its fields."""

    def __init__(self, key: str, params: dict[str, Any] | None = None) -> None:
        super().__init__(key, dict(params or {}))
        self.key = key
        self.params = dict(params or {})


LAPSING_SEGMENTS = frozenset({"need_attention", "about_to_sleep", "at_risk", "cant_lose", "hibernating", "lost",
                              "previously_loyal", "almost_lost", "dormant", "inactive"})
"""Segments (of every preset) whose customers are slipping away: a campaign for them aims to win them back."""


def default_goal(source: str, detail: str = "") -> str:
    """The goal a campaign made from a list starts with (the form lets the manager change it)."""
    if source == "target_list":
        return "cross_sell"
    if source in ("segment", "tier", "cluster"):
        return "win_back" if source == "segment" and detail in LAPSING_SEGMENTS else "retain"
    return "win_back"


DEFAULT_WINDOW_DAYS = 90
DEFAULT_CONTROL_SHARE = 0.10
MIN_CONTROL_SHARE = 0.05
MAX_CONTROL_SHARE = 0.50
MAX_NAME = 120


@dataclass(frozen=True)
class Campaign:
    """One campaign as stored. ``start`` is the first day of the window (contacts begin); orders on days
    ``start`` ≤ day < :attr:`end` count."""

    id: str
    name: str
    goal: str                      # one of GOALS
    start: date
    window_days: int
    control_share: float           # share of the members held out from contact
    seed: int                      # the split's random seed: the same members and seed give the same groups
    source: str                    # one of SOURCES
    source_detail: str             # what the list was, in the data's own words (a segment key, "A → B", …)
    created: datetime              # UTC
    owner: str                     # the creator's owner key (ui.owners), a hash
    product: str | None = None     # cross_sell: the product to sell
    dataset_id: str | None = None  # the saved dataset it was made on (None: sample or unsaved upload)
    dataset_name: str = ""
    cost_per_contact: float | None = None
    currency: str | None = None    # ISO 4217 code of the cost and the revenue it is compared with
    link: str = ""                 # the query string of the list's view, to reopen it

    @property
    def end(self) -> date:
        """The day after the window's last day."""
        return self.start + timedelta(days=self.window_days)
