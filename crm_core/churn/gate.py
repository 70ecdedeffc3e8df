"""The data-sufficiency gate: is there enough history to train and backtest a churn model."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple, cast

import polars as pl

from crm_core.churn.inputs import labels
from crm_core.features import DateLike, before, to_datetime

# ---------------------------------------------------------------- sufficiency gate

class SufficiencyCheck(NamedTuple):
    """One condition of the gate: translation ``key`` (``churn.sufficiency.<name>``), pass/fail, numbers."""

    key: str
    ok: bool
    actual: float
    required: float

    @property
    def hint(self) -> str:
        """Translation key of what would satisfy this check (``churn.sufficiency_hint.<name>``)."""
        return self.key.replace("churn.sufficiency.", "churn.sufficiency_hint.")


@dataclass(frozen=True)
class Sufficiency:
    """Whether there is enough data to train *and* backtest a churn model, and which check fails."""

    ok: bool
    checks: tuple[SufficiencyCheck, ...]
    cutoff: datetime | None  # the earliest training cut-off the checks were counted at (as_of − 2·horizon)

    @property
    def failing(self) -> tuple[SufficiencyCheck, ...]:
        return tuple(check for check in self.checks if not check.ok)


def sufficiency(
    transactions: pl.DataFrame,
    as_of: DateLike,
    horizon_days: int = 90,
    min_customers: int = 200,
    min_churners: int = 50,
    min_retained: int = 50,
    min_history_days: int | None = None,
) -> Sufficiency:
    """Data-sufficiency gate for the churn model.

    After Klaviyo (500 customers and 180 days of history) and Salesforce Prediction Builder (≥ 400
    records, ≥ 100 of each outcome); mission_anchors.md §2.

    A model is shown only when its backtest can be shown too, so the counts are taken at the backtest's
    training cut-off ``as_of − 2·horizon_days`` (the smallest training set): customers with an order
    before it, and how many of them churned / stayed in the following horizon. ``min_history_days``
    (default ``2·horizon_days + min(horizon_days, 90)``: two horizons, plus one more — at most 90 days — of
    history before the first training cut-off for the trend features and for the window the model's kind is
    chosen on) is compared with the days from the first order to ``as_of``. A 30-day horizon needs 90 days,
    so a season of receipts (the Ta-Feng supermarket's four months) can be judged at 30 days.

    Check keys: ``churn.sufficiency.history_days``, ``.customers``, ``.churners``, ``.retained``.
    """
    as_of_dt = to_datetime(as_of)
    if min_history_days is None:
        min_history_days = 2 * horizon_days + min(horizon_days, 90)
    cutoff = as_of_dt - timedelta(days=2 * horizon_days)
    first = cast("datetime | None", before(transactions, as_of_dt)["order_date"].min())
    history_days = float((as_of_dt - first).days) if first is not None else 0.0
    outcome = labels(before(transactions, as_of_dt), cutoff, horizon_days)
    churners = float(outcome["churned"].sum())
    customers = float(outcome.height)
    values = (
        ("history_days", history_days, float(min_history_days)),
        ("customers", customers, float(min_customers)),
        ("churners", churners, float(min_churners)),
        ("retained", customers - churners, float(min_retained)),
    )
    checks = tuple(SufficiencyCheck(f"churn.sufficiency.{name}", actual >= required, actual, required)
                   for name, actual, required in values)
    return Sufficiency(all(check.ok for check in checks), checks, cutoff)
