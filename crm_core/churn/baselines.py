"""The simple rankings a churn model must beat: recency, log-RFM logistic regression and BG/NBD."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import polars as pl

from crm_core.features import DateLike, to_datetime


class BGNBDScores(NamedTuple):
    """BG/NBD churn scores (:func:`bgnbd_scores`) and whether the fit behind them is degenerate.

    ``degenerate_reason`` is the fit's ``degenerate_reason_`` (None when the fit is sound): a degenerate
    fit sees no measurable drop-out, so its P(alive) cannot rank anyone and the page hides it.
    """

    frame: pl.DataFrame
    degenerate: bool
    degenerate_reason: str | None


def bgnbd_scores(transactions: pl.DataFrame, as_of: DateLike, horizon_days: int = 90) -> BGNBDScores | None:
    """BG/NBD churn scores per customer, fitted on the history before ``as_of``; None without :mod:`crm_core.clv`.

    Columns ``customer_id``, ``bgnbd_churn_risk`` = 1 − P(alive) (Fader, Hardie & Lee 2005; Hardie's
    note 021) and ``bgnbd_p_no_purchase`` = P(no purchase in the next ``horizon_days``)
    = (1 − P(alive)) + P(alive) · ((α + T) / (α + T + t))^(r + x): an alive customer's rate has the
    posterior Gamma(r + x, α + T) and BG/NBD drop-out only follows a purchase. 1 − P(alive) is 0 for
    every one-order customer (x = 0), so on data with many one-time buyers it ranks poorly; the
    horizon probability is the fairer BG/NBD baseline and both are reported.
    """
    try:
        from crm_core.clv import TIME_UNIT_DAYS, BetaGeo, rfm_input
    except ImportError:
        return None
    rfm = rfm_input(transactions, to_datetime(as_of), time_unit="W")
    if rfm.height == 0:
        return None
    frequency, recency, age = (rfm[name].to_numpy().astype(float) for name in ("frequency", "recency", "T"))
    model = BetaGeo().fit(frequency, recency, age)  # numpy at the scipy boundary
    p_alive = np.asarray(model.p_alive(frequency, recency, age), dtype=float)
    r, alpha = model.params_["r"], model.params_["alpha"]
    t = horizon_days / TIME_UNIT_DAYS["W"]
    quiet_if_alive = ((alpha + age) / (alpha + age + t)) ** (r + frequency)
    frame = rfm.select("customer_id").with_columns(
        pl.Series("bgnbd_churn_risk", 1.0 - p_alive),
        pl.Series("bgnbd_p_no_purchase", (1.0 - p_alive) + p_alive * quiet_if_alive))
    return BGNBDScores(frame, model.degenerate_, model.degenerate_reason_)


def bgnbd_churn_risk(transactions: pl.DataFrame, as_of: DateLike, horizon_days: int = 90) -> pl.DataFrame | None:
    """The frame of :func:`bgnbd_scores` (None without :mod:`crm_core.clv` or customers)."""
    scores = bgnbd_scores(transactions, as_of, horizon_days)
    return scores.frame if scores is not None else None
