"""The churn model: its settings, the fitted model and out-of-time training."""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import numpy as np
import polars as pl
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.inspection import permutation_importance
from sklearn.model_selection import StratifiedKFold, train_test_split
from threadpoolctl import threadpool_limits

from crm_core.churn.gate import sufficiency
from crm_core.churn.inputs import (
    CAMPAIGN_TYPES,
    COMPLAINT_TYPES,
    FEATURES,
    MONOTONE,
    POSITIVE_OUTCOMES,
    features,
    labels,
)
from crm_core.dataset import Dataset
from crm_core.features import DateLike, to_datetime

# ---------------------------------------------------------------- model

@dataclass(frozen=True)
class ChurnSettings:
    """The tuning knobs of :func:`train` (and of the model :func:`backtest` trains); the defaults are the app's.

    Booster: ``max_iter``, ``learning_rate``, ``max_leaf_nodes``, ``min_samples_leaf``,
    ``l2_regularization`` of ``HistGradientBoostingClassifier``; ``monotonic`` applies the directions of
    :data:`MONOTONE`. Calibration: ``calibration_folds`` stratified folds, isotonic from
    ``isotonic_min_samples`` training customers, Platt (sigmoid) below. Permutation importance on at most
    ``importance_rows`` held-out customers, ``importance_repeats`` times. ``max_train_rows`` caps the
    training set (a stratified sample; None = everyone); ``n_threads`` caps OpenMP threads (None = all
    cores). The vocabularies and ``default_gap_days`` go to :func:`features` wherever the model's features
    are computed (training, :func:`score`, :func:`backtest`).
    """

    max_iter: int = 150
    learning_rate: float = 0.05
    max_leaf_nodes: int = 7
    min_samples_leaf: int = 40
    l2_regularization: float = 1.0
    monotonic: bool = True
    calibration_folds: int = 3
    isotonic_min_samples: int = 3000
    importance_rows: int = 3000
    importance_repeats: int = 3
    max_train_rows: int | None = 20_000
    n_threads: int | None = 1
    default_gap_days: float | None = None
    complaint_types: frozenset[str] = COMPLAINT_TYPES
    campaign_types: frozenset[str] = CAMPAIGN_TYPES
    positive_outcomes: frozenset[str] = POSITIVE_OUTCOMES

    def feature_options(self) -> dict[str, Any]:
        """The keyword arguments of :func:`features` these settings choose."""
        return {"default_gap_days": self.default_gap_days, "complaint_types": self.complaint_types,
                "campaign_types": self.campaign_types, "positive_outcomes": self.positive_outcomes}


@dataclass(frozen=True, eq=False)
class ChurnModel:
    """A fitted churn model and what the model card shows about it.

    ``estimator`` is a calibrated scikit-learn classifier over ``feature_names`` (columns of
    :func:`features`); it was fitted on features as of ``cutoff`` and labels from ``[cutoff, label_end)``.
    ``feature_importance`` is the permutation importance (drop in ROC AUC) on a held-out split;
    ``reference`` holds the median of each feature among the customers who stayed, the neutral values
    some reasons compare against. ``n_threads`` caps OpenMP threads when predicting (see :func:`train`);
    ``settings`` are the :class:`ChurnSettings` it was trained with (its features are computed with them).
    """

    estimator: Any
    feature_names: tuple[str, ...]
    cutoff: datetime
    label_end: datetime
    horizon_days: int
    calibration: str
    n_train: int
    train_churn_rate: float
    feature_importance: pl.DataFrame
    reference: Mapping[str, float]
    n_threads: int | None = 1
    n_eligible: int = 0
    settings: ChurnSettings = ChurnSettings()

    def matrix(self, feature_frame: pl.DataFrame) -> np.ndarray:
        """The model's input matrix; features missing from the frame are missing values (NaN)."""
        columns = [pl.col(name).cast(pl.Float64) if name in feature_frame.columns
                   else pl.lit(None, dtype=pl.Float64).alias(name) for name in self.feature_names]
        return feature_frame.select(columns).to_numpy()  # numpy at the scikit-learn boundary; nulls → NaN

    def predict_proba(self, feature_frame: pl.DataFrame) -> np.ndarray:
        """Calibrated churn probability per row of ``feature_frame``."""
        if feature_frame.height == 0:
            return np.zeros(0)
        with threadpool_limits(limits=self.n_threads, user_api="openmp"):
            return self.estimator.predict_proba(self.matrix(feature_frame))[:, 1]


def _training_frame(dataset: Dataset, cutoff: datetime, horizon_days: int, **feature_options: Any) -> pl.DataFrame:
    frame = features(dataset, cutoff, **feature_options)
    outcome = labels(dataset.transactions, cutoff, horizon_days).select("customer_id", "churned")
    return frame.join(outcome, on="customer_id", how="inner").sort("customer_id")


def _booster(settings: ChurnSettings, seed: int, monotonic_cst: list[int] | None) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(
        max_iter=settings.max_iter, learning_rate=settings.learning_rate, max_leaf_nodes=settings.max_leaf_nodes,
        min_samples_leaf=settings.min_samples_leaf, l2_regularization=settings.l2_regularization,
        monotonic_cst=monotonic_cst, early_stopping=False, random_state=seed)


def train(
    dataset: Dataset,
    as_of: DateLike,
    horizon_days: int = 90,
    settings: ChurnSettings = ChurnSettings(),
    *,
    seed: int = 0,
) -> ChurnModel:
    """Fit the churn model out of time: features as of ``as_of − horizon_days``, labels from then to ``as_of``.

    ``HistGradientBoostingClassifier`` (no early stopping, so a seed fixes the result; small trees and,
    with ``settings.monotonic``, the directions of :data:`MONOTONE` — together worth about +0.01 ROC AUC
    on a 3,000-customer sample and neutral at 20,000) calibrated with ``CalibratedClassifierCV`` over
    ``settings.calibration_folds`` stratified folds: isotonic regression when there are at least
    ``settings.isotonic_min_samples`` training customers, Platt scaling (sigmoid) otherwise
    (scikit-learn user guide, "Probability calibration": isotonic overfits on small sets).
    Feature importance is the permutation importance (Breiman 2001; ``sklearn.inspection``) in ROC AUC
    of an uncalibrated booster fitted on 75 % of the customers and scored on at most
    ``settings.importance_rows`` of the other 25 %. ``settings.n_threads`` caps the booster's OpenMP
    threads while fitting (threadpoolctl); the default 1 keeps training fast on a busy server, where
    OpenMP threads spin-wait on each other (measured: 2 threads took 5–18 s, 1 thread 0.5 s, for the same
    2,000-customer fit under load); None = all cores. See :class:`ChurnSettings` for every knob.

    Raises ``ValueError`` when the training labels hold fewer than ``settings.calibration_folds``
    customers of either class; check :func:`sufficiency` first (or use :func:`train_when_sufficient`).
    """
    as_of_dt = to_datetime(as_of)
    cutoff = as_of_dt - timedelta(days=horizon_days)
    everyone = _training_frame(dataset, cutoff, horizon_days, **settings.feature_options())
    frame = everyone
    if settings.max_train_rows is not None and everyone.height > settings.max_train_rows:
        everyone_target = everyone["churned"].cast(pl.Int8).to_numpy()
        if min(int(everyone_target.sum()), len(everyone_target) - int(everyone_target.sum())) >= 2:
            keep, _ = train_test_split(np.arange(everyone.height), train_size=settings.max_train_rows,
                                       stratify=everyone_target, random_state=seed)
            frame = everyone[np.sort(keep)]
    names = tuple(name for name in FEATURES if frame[name].null_count() < frame.height)
    target = frame["churned"].cast(pl.Int8).to_numpy()  # numpy at the scikit-learn boundary
    churners = int(target.sum())
    if min(churners, len(target) - churners) < max(settings.calibration_folds, 2):
        raise ValueError(f"need at least {settings.calibration_folds} churned and retained customers to train, "
                         f"got {churners} of {len(target)}")
    matrix = frame.select(names).to_numpy()
    constraints = [MONOTONE.get(name, 0) for name in names] if settings.monotonic else None
    booster = _booster(settings, seed, constraints)
    method = "isotonic" if len(target) >= settings.isotonic_min_samples else "sigmoid"
    folds = StratifiedKFold(n_splits=settings.calibration_folds, shuffle=True, random_state=seed)
    fit_rows, held_rows = train_test_split(np.arange(len(target)), test_size=0.25, stratify=target,
                                           random_state=seed)
    held_rows = held_rows[:settings.importance_rows]
    with threadpool_limits(limits=settings.n_threads, user_api="openmp"):
        estimator = CalibratedClassifierCV(booster, method=method, cv=folds, ensemble=False).fit(matrix, target)
        importance_model = clone(booster).fit(matrix[fit_rows], target[fit_rows])
        if len(np.unique(target[held_rows])) == 2:
            result = permutation_importance(importance_model, matrix[held_rows], target[held_rows],
                                            scoring="roc_auc", n_repeats=settings.importance_repeats, random_state=seed)
            means, stds = result.importances_mean, result.importances_std
        else:
            means = stds = np.full(len(names), np.nan)
    importance = pl.DataFrame({"feature": list(names), "importance": means, "importance_std": stds}).sort(
        "importance", "feature", descending=[True, False], nulls_last=True)
    retained = everyone.filter(~pl.col("churned"))
    reference = {name: float(value) for name in FEATURES
                 if (value := cast("float | None", retained[name].median())) is not None and not math.isnan(value)}
    return ChurnModel(
        estimator=estimator, feature_names=names, cutoff=cutoff, label_end=as_of_dt, horizon_days=horizon_days,
        calibration=method, n_train=len(target), train_churn_rate=churners / len(target), n_eligible=everyone.height,
        feature_importance=importance, reference=reference, n_threads=settings.n_threads, settings=settings)


def train_when_sufficient(
    dataset: Dataset,
    as_of: DateLike,
    horizon_days: int = 90,
    settings: ChurnSettings = ChurnSettings(),
    *,
    seed: int = 0,
) -> ChurnModel | None:
    """:func:`train` when :func:`sufficiency` passes at ``as_of`` for ``horizon_days``, else None.

    Without a model the caller scores by the warning rules: ``score(..., model=None)``.
    """
    if not sufficiency(dataset.transactions, as_of, horizon_days).ok:
        return None
    return train(dataset, as_of, horizon_days, settings, seed=seed)
