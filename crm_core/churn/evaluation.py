"""Evaluation: ranking metrics, gains, calibration, the BG/NBD baseline and the out-of-time backtest."""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import numpy as np
import polars as pl
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from crm_core.churn.gate import Sufficiency, sufficiency
from crm_core.churn.inputs import features, labels
from crm_core.churn.model import ChurnModel, ChurnSettings, train
from crm_core.dataset import Dataset
from crm_core.features import DateLike, to_datetime

# ---------------------------------------------------------------- evaluation

def _order_desc(values: np.ndarray) -> np.ndarray:
    """Indices sorting ``values`` high → low; ties keep row order (rows are sorted by customer_id)."""
    return np.argsort(-values, kind="stable")


def top_decile_lift(churned: np.ndarray, risk: np.ndarray, share: float = 0.1) -> float:
    """Churn rate among the ``share`` riskiest customers divided by the overall churn rate."""
    count = max(1, math.ceil(share * len(churned)))
    top = churned[_order_desc(risk)[:count]]
    return float(top.mean() / churned.mean()) if churned.mean() > 0 else float("nan")


def _metrics(churned: np.ndarray, risk: np.ndarray) -> dict[str, float]:
    return {
        "auc": float(roc_auc_score(churned, risk)),
        "pr_auc": float(average_precision_score(churned, risk)),
        "top_decile_lift": top_decile_lift(churned, risk),
    }


def gains(churned: np.ndarray, risk: np.ndarray, points: int = 100) -> np.ndarray:
    """Cumulative gains: share of churners caught when contacting the riskiest ``k/points`` of customers."""
    caught = np.concatenate([[0.0], np.cumsum(churned[_order_desc(risk)])]) / max(churned.sum(), 1)
    contacted = np.round(np.linspace(0, 1, points + 1) * len(churned)).astype(int)
    return caught[contacted]


def calibration_table(churned: np.ndarray, probability: np.ndarray, bins: int = 10) -> pl.DataFrame:
    """Predicted vs observed churn rate by decile of predicted probability (equal-count bins)."""
    frame = pl.DataFrame({"predicted": probability, "churned": churned.astype(float)})
    return (
        frame.with_columns((pl.col("predicted").rank("ordinal") - 1).alias("rank"))
        .with_columns((pl.col("rank") * bins // frame.height + 1).cast(pl.Int64).alias("decile"))
        .group_by("decile").agg(pl.col("predicted").mean().alias("mean_predicted"),
                                pl.col("churned").mean().alias("observed_rate"),
                                pl.len().alias("customers"))
        .sort("decile")
    )


def bgnbd_churn_risk(transactions: pl.DataFrame, as_of: DateLike, horizon_days: int = 90) -> pl.DataFrame | None:
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
    return rfm.select("customer_id").with_columns(
        pl.Series("bgnbd_churn_risk", 1.0 - p_alive),
        pl.Series("bgnbd_p_no_purchase", (1.0 - p_alive) + p_alive * quiet_if_alive))


@dataclass(frozen=True)
class Ranking:
    """How well one ranking of the customers told the backtest's churners apart (None = not computed).

    ``name`` is ``"model"`` or a baseline of :data:`BASELINES`. ``auc`` (ROC AUC), ``pr_auc`` (average
    precision) and ``top_decile_lift`` are None when the evaluation window holds only one class;
    ``brier`` is the Brier score of a probability, so only the model has one.
    """

    name: str
    auc: float | None = None
    pr_auc: float | None = None
    top_decile_lift: float | None = None
    brier: float | None = None


# The baselines beside the model: recency alone; BG/NBD P(no purchase in the horizon) and 1 − P(alive)
# (see :func:`bgnbd_churn_risk`, they need :mod:`crm_core.clv`).
BASELINES: tuple[str, ...] = ("recency", "bgnbd_horizon", "bgnbd")


@dataclass(frozen=True, eq=False)
class Backtest:
    """The result of :func:`backtest`.

    ``ok`` and ``sufficiency``: the data gate counted at the training cut-off; when it fails, everything
    from ``n_customers`` on is None (``baselines`` empty). ``train_cutoff`` = as_of − 2·horizon and
    ``eval_cutoff`` = as_of − horizon. ``n_customers`` and ``churn_rate`` describe the evaluation set;
    ``ranking`` holds the model's metrics and ``baselines`` those of each baseline that could be computed,
    in the order of :data:`BASELINES`. ``gains``: ``share_contacted`` and the share of churners caught
    ranking by ``model``, each baseline and ``random``; ``calibration``: by decile of predicted
    probability, ``decile, mean_predicted, observed_rate, customers``; ``model``: the fitted model.
    """

    ok: bool
    sufficiency: Sufficiency
    horizon_days: int
    train_cutoff: datetime
    eval_cutoff: datetime
    n_customers: int | None = None
    churn_rate: float | None = None
    ranking: Ranking | None = None
    baselines: tuple[Ranking, ...] = ()
    gains: pl.DataFrame | None = None
    calibration: pl.DataFrame | None = None
    model: ChurnModel | None = None

    @property
    def feature_importance(self) -> pl.DataFrame | None:
        """The fitted model's permutation importance (None when the gate failed)."""
        return self.model.feature_importance if self.model is not None else None

    def baseline(self, name: str) -> Ranking | None:
        """The metrics of baseline ``name`` (:data:`BASELINES`), or None when it was not computed."""
        return next((ranking for ranking in self.baselines if ranking.name == name), None)


def backtest(
    dataset: Dataset,
    as_of: DateLike,
    horizon_days: int = 90,
    settings: ChurnSettings = ChurnSettings(),  # noqa: B008 - a frozen dataclass, immutable
    *,
    seed: int = 0,
) -> Backtest:
    """Honest out-of-time evaluation of :func:`train` (DESIGN.md, "Churn").

    The model is trained with features at ``as_of − 2·horizon`` and labels from the next horizon, then
    predicts with features at ``as_of − horizon``; predictions are compared with who actually bought
    in ``[as_of − horizon, as_of)``. Nothing after ``as_of − horizon`` reaches a feature. Metrics are
    ROC AUC, PR AUC, top-decile lift and the Brier score, beside the :data:`BASELINES`: recency alone
    and, with :mod:`crm_core.clv`, BG/NBD P(no purchase in the horizon) and 1 − P(alive)
    (:func:`bgnbd_churn_risk`). See :class:`Backtest` for what comes back.
    """
    as_of_dt = to_datetime(as_of)
    eval_cutoff = as_of_dt - timedelta(days=horizon_days)
    gate = sufficiency(dataset.transactions, as_of_dt, horizon_days)
    empty = Backtest(ok=gate.ok, sufficiency=gate, horizon_days=horizon_days,
                     train_cutoff=eval_cutoff - timedelta(days=horizon_days), eval_cutoff=eval_cutoff)
    if not gate.ok:
        return empty
    model = train(dataset, eval_cutoff, horizon_days, settings, seed=seed)
    frame = features(dataset, eval_cutoff, **settings.feature_options()).join(
        labels(dataset.transactions, eval_cutoff, horizon_days).select("customer_id", "churned"), on="customer_id")
    churned = frame["churned"].cast(pl.Int8).to_numpy()  # numpy at the scikit-learn boundary
    probability = model.predict_proba(frame)
    both_classes = 0 < churned.sum() < len(churned)

    def ranking(name: str, risk: np.ndarray, brier: float | None = None) -> Ranking:
        return Ranking(name, brier=brier, **(_metrics(churned, risk) if both_classes else {}))

    curves = {"model": probability, "recency": frame["recency_days"].to_numpy()}
    bgnbd = bgnbd_churn_risk(dataset.transactions, eval_cutoff, horizon_days)
    if bgnbd is not None:
        scores = frame.select("customer_id").join(bgnbd, on="customer_id", how="left")
        for column, name in (("bgnbd_churn_risk", "bgnbd"), ("bgnbd_p_no_purchase", "bgnbd_horizon")):
            risk = scores[column]  # customers without a purchase day (refunds only): the median
            curves[name] = risk.fill_null(risk.median() if risk.median() is not None else 0.5).to_numpy()
    points = 100
    table = {"share_contacted": np.linspace(0, 1, points + 1)}
    table.update({name: gains(churned, risk, points) for name, risk in curves.items()})
    table["random"] = table["share_contacted"]
    return replace(
        empty, n_customers=frame.height, churn_rate=float(churned.mean()), model=model,
        ranking=ranking("model", probability, float(brier_score_loss(churned, probability))),
        baselines=tuple(ranking(name, curves[name]) for name in BASELINES if name in curves),
        gains=pl.DataFrame(table), calibration=calibration_table(churned, probability))
