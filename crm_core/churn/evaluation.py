"""Evaluation: ranking metrics, gains, calibration, the BG/NBD baseline and the out-of-time backtest."""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import cast

import numpy as np
import polars as pl
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from crm_core.churn.baselines import bgnbd_scores
from crm_core.churn.gate import Sufficiency, sufficiency
from crm_core.churn.model import CANDIDATES, FALLBACKS, ChurnModel, ChurnSettings, baseline_risk, training_frame
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


# The baselines beside the model: recency alone; a logistic regression on log recency, frequency and
# monetary value trained like the model; BG/NBD P(no purchase in the horizon) and 1 − P(alive) (see
# :func:`crm_core.churn.baselines.bgnbd_scores`, they need :mod:`crm_core.clv` and a fit that is not degenerate).
BASELINES: tuple[str, ...] = ("recency", "rfm_logistic", "bgnbd_horizon", "bgnbd")


@dataclass(frozen=True, eq=False)
class Backtest:
    """The result of :func:`backtest`.

    ``ok`` and ``sufficiency``: the data gate counted at the training cut-off; when it fails, everything
    from ``n_customers`` on is None (``baselines`` empty). ``train_cutoff`` = as_of − 2·horizon and
    ``eval_cutoff`` = as_of − horizon. ``n_customers`` and ``churn_rate`` describe the evaluation set
    (``train_churn_rate`` the model's training window: the difference is the base-rate shift);
    ``ranking`` holds the model's metrics and ``baselines`` those of each baseline that could be computed,
    in the order of :data:`BASELINES`. ``bgnbd_degenerate`` names why the BG/NBD baselines are left out
    (None when they are shown or could not be fitted). ``gains``: ``share_contacted`` and the share of
    churners caught ranking by ``model``, each baseline and ``random``; ``calibration``: by decile of
    predicted probability, ``decile, mean_predicted, observed_rate, customers``; ``model``: the fitted
    :class:`ChurnModel`.
    """

    ok: bool
    sufficiency: Sufficiency
    horizon_days: int
    train_cutoff: datetime
    eval_cutoff: datetime
    n_customers: int | None = None
    churn_rate: float | None = None
    train_churn_rate: float | None = None
    ranking: Ranking | None = None
    baselines: tuple[Ranking, ...] = ()
    bgnbd_degenerate: str | None = None
    gains: pl.DataFrame | None = None
    calibration: pl.DataFrame | None = None
    model: ChurnModel | None = None

    @property
    def feature_importance(self) -> pl.DataFrame | None:
        """The judged model's permutation importance (None when the gate failed; nulls from
        :func:`fit_and_backtest`, whose page reads the importance of the model trained up to the analysis date)."""
        return self.model.feature_importance_ if self.model is not None else None

    def baseline(self, name: str) -> Ranking | None:
        """The metrics of baseline ``name`` (:data:`BASELINES`), or None when it was not computed."""
        return next((ranking for ranking in self.baselines if ranking.name == name), None)

    @property
    def best_baseline(self) -> Ranking | None:
        """The baseline with the highest ROC AUC (the first on a tie), None when none has one."""
        scored = [ranking for ranking in self.baselines if ranking.auc is not None]
        return max(scored, key=lambda ranking: cast(float, ranking.auc), default=None)

    @property
    def model_wins(self) -> bool | None:
        """Whether the model's ROC AUC is at least every baseline's (None without AUCs)."""
        best = self.best_baseline
        if self.ranking is None or self.ranking.auc is None or best is None:
            return None
        return self.ranking.auc >= cast(float, best.auc)

    @property
    def ranked_by(self) -> str:
        """What should rank the customers: ``"model"``, or the :data:`FALLBACKS` ranking that beat it most.

        ``"bgnbd"`` (1 − P(alive)) never ranks: it is not a probability of the horizon; when it alone beats the
        model, the best fallback that does is used, else the model.
        """
        if self.ranking is None or self.ranking.auc is None:
            return "model"
        better = [ranking for ranking in self.baselines
                  if ranking.name in FALLBACKS and ranking.auc is not None and ranking.auc > self.ranking.auc]
        return max(better, key=lambda ranking: cast(float, ranking.auc)).name if better else "model"


def backtest(
    dataset: Dataset,
    as_of: DateLike,
    horizon_days: int = 90,
    settings: ChurnSettings = ChurnSettings(),  # noqa: B008 - a frozen dataclass, immutable
    *,
    seed: int = 0,
    candidates: tuple[str, ...] = CANDIDATES,
) -> Backtest:
    """Honest out-of-time evaluation of :class:`ChurnModel`, choice of kind included (DESIGN.md, "Churn").

    The model is fitted as of ``as_of − horizon`` (its kind chosen on the window before, its training
    features at ``as_of − 2·horizon`` with labels from the next horizon), then predicts with features at
    ``as_of − horizon``; predictions are compared with who actually bought in ``[as_of − horizon, as_of)``.
    Nothing after ``as_of − horizon`` reaches a feature or the choice. Metrics are ROC AUC, PR AUC,
    top-decile lift and the Brier score, beside the :data:`BASELINES`: recency alone, a logistic
    regression on log R, F, M fitted on the same window as the model, and, with :mod:`crm_core.clv` and a
    fit that is not degenerate, BG/NBD P(no purchase in the horizon) and 1 − P(alive)
    (:func:`~crm_core.churn.baselines.bgnbd_scores`). See :class:`Backtest` for what comes back and
    :attr:`Backtest.ranked_by` for which ranking the customers should get.
    """
    as_of_dt = to_datetime(as_of)
    gate = sufficiency(dataset.transactions, as_of_dt, horizon_days)
    frames = _frames(dataset, as_of_dt, horizon_days, settings, gate)
    return _evaluate(dataset, as_of_dt, horizon_days, settings, seed, candidates, gate, frames)


def fit_and_backtest(
    dataset: Dataset,
    as_of: DateLike,
    horizon_days: int = 90,
    settings: ChurnSettings = ChurnSettings(),  # noqa: B008 - a frozen dataclass, immutable
    *,
    seed: int = 0,
    candidates: tuple[str, ...] = CANDIDATES,
) -> tuple[ChurnModel | None, Backtest]:
    """:func:`train_when_sufficient` and :func:`backtest` at once, computing each training window once.

    The backtest learns from the windows at ``as_of − 3H`` (choice) and ``as_of − 2H`` (training) and is
    judged on ``as_of − H``; the model trained up to ``as_of`` learns from ``as_of − 2H`` (choice) and
    ``as_of − H`` (training): three frames instead of five. The model is None when the gate fails.
    """
    as_of_dt = to_datetime(as_of)
    gate = sufficiency(dataset.transactions, as_of_dt, horizon_days)
    frames = _frames(dataset, as_of_dt, horizon_days, settings, gate)
    model = None
    if frames:
        model = ChurnModel(horizon_days, settings, candidates, random_state=seed)._fit(
            dataset, as_of_dt, frames[2], frames[1])
    # the backtest's own model is only judged: the page shows the importance of the model trained up to as_of
    return model, _evaluate(dataset, as_of_dt, horizon_days, settings, seed, candidates, gate, frames,
                            importance=False)


def _frames(dataset: Dataset, as_of_dt: datetime, horizon_days: int, settings: ChurnSettings,
            gate: Sufficiency) -> tuple[pl.DataFrame, ...]:
    """The training frames at ``as_of − 3H, − 2H, − H`` (:func:`training_frame`); none when the gate fails."""
    if not gate.ok:
        return ()
    return tuple(training_frame(dataset, as_of_dt - timedelta(days=k * horizon_days), horizon_days, settings)
                 for k in (3, 2, 1))


def _evaluate(dataset: Dataset, as_of_dt: datetime, horizon_days: int, settings: ChurnSettings, seed: int,
              candidates: tuple[str, ...], gate: Sufficiency, frames: tuple[pl.DataFrame, ...],
              importance: bool = True) -> Backtest:
    """The backtest on the training frames of :func:`_frames` (an empty result when there are none);
    ``importance=False``: without the judged model's permutation importance (null)."""
    eval_cutoff = as_of_dt - timedelta(days=horizon_days)
    empty = Backtest(ok=gate.ok, sufficiency=gate, horizon_days=horizon_days,
                     train_cutoff=eval_cutoff - timedelta(days=horizon_days), eval_cutoff=eval_cutoff)
    if not gate.ok or not frames:
        return empty
    earliest, train_frame, frame = frames
    model = ChurnModel(horizon_days, settings, candidates, random_state=seed)._fit(
        dataset, eval_cutoff, train_frame, earliest, importance=importance)
    churned = frame["churned"].cast(pl.Int8).to_numpy()  # numpy at the scikit-learn boundary
    probability = model.predict_proba(frame)
    both_classes = 0 < churned.sum() < len(churned)

    def ranking(name: str, risk: np.ndarray, brier: float | None = None) -> Ranking:
        return Ranking(name, brier=brier, **(_metrics(churned, risk) if both_classes else {}))

    curves = {"model": probability, "recency": frame["recency_days"].to_numpy(),
              "rfm_logistic": baseline_risk("rfm_logistic", train_frame, frame, settings, seed)}
    bgnbd = bgnbd_scores(dataset.transactions, eval_cutoff, horizon_days)
    degenerate = None
    if bgnbd is not None and bgnbd.degenerate:
        degenerate = bgnbd.degenerate_reason or "degenerate"
    elif bgnbd is not None:
        scores = frame.select("customer_id").join(bgnbd.frame, on="customer_id", how="left")
        for column, name in (("bgnbd_churn_risk", "bgnbd"), ("bgnbd_p_no_purchase", "bgnbd_horizon")):
            risk = scores[column]  # customers without a purchase day (refunds only): the median
            curves[name] = risk.fill_null(risk.median() if risk.median() is not None else 0.5).to_numpy()
    points = 100
    table = {"share_contacted": np.linspace(0, 1, points + 1)}
    table.update({name: gains(churned, risk, points) for name, risk in curves.items()})
    table["random"] = table["share_contacted"]
    return replace(
        empty, n_customers=frame.height, churn_rate=float(churned.mean()), train_churn_rate=model.train_churn_rate_,
        model=model, ranking=ranking("model", probability, float(brier_score_loss(churned, probability))),
        baselines=tuple(ranking(name, curves[name]) for name in BASELINES if name in curves),
        bgnbd_degenerate=degenerate, gains=pl.DataFrame(table), calibration=calibration_table(churned, probability))


def ranking_model(dataset: Dataset, as_of: DateLike, model: ChurnModel, result: Backtest) -> ChurnModel:
    """The model that should rank the customers as of ``as_of``: ``model``, or the baseline that beat it.

    When :attr:`Backtest.ranked_by` names a baseline, that baseline is fitted as of ``as_of`` like the model
    (same horizon, settings and seed) and returned; its ``kind_`` says which.
    """
    if result.ranked_by == "model":
        return model
    return ChurnModel(model.horizon_days, model.settings, (result.ranked_by,),
                      random_state=model.random_state).fit(dataset, as_of)
