"""The churn model: its settings, the candidates it chooses from out of time, and training."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import numpy as np
import polars as pl
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from threadpoolctl import threadpool_limits

from crm_core.churn.baselines import bgnbd_scores
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

# The models the page's model is chosen from, simplest first (it wins a tie).
CANDIDATES: tuple[str, ...] = ("logistic", "booster")
# Rankings a backtest compares the model with that can also rank the customers when they rank better:
# recency alone (a logistic regression on log recency: the same order, calibrated), a logistic regression on
# log recency, frequency and monetary value, and BG/NBD's P(no purchase in the horizon).
FALLBACKS: tuple[str, ...] = ("recency", "rfm_logistic", "bgnbd_horizon")
KINDS: tuple[str, ...] = CANDIDATES + FALLBACKS
_KIND_FEATURES: dict[str, tuple[str, ...]] = {
    "logistic": FEATURES, "booster": FEATURES, "recency": ("recency_days",),
    "rfm_logistic": ("recency_days", "frequency", "monetary"), "bgnbd_horizon": (),
}

# ---------------------------------------------------------------- settings

@dataclass(frozen=True)
class ChurnSettings:
    """The tuning knobs of :class:`ChurnModel` (and of the model :func:`backtest` fits); the defaults are the app's.

    Booster: ``max_iter``, ``learning_rate``, ``max_leaf_nodes``, ``min_samples_leaf``,
    ``l2_regularization`` of ``HistGradientBoostingClassifier``; ``monotonic`` applies the directions of
    :data:`MONOTONE`. Logistic regression: inverse L2 strength ``logistic_c`` on standardised
    ``sign(x)·log(1 + |x|)`` features. Calibration: ``calibration_folds`` stratified folds, isotonic from
    ``isotonic_min_samples`` training customers, Platt (sigmoid) below. Permutation importance on at most
    ``importance_rows`` held-out customers, ``importance_repeats`` times. ``max_train_rows`` caps the
    training set (a stratified sample; None = everyone); ``n_threads`` caps OpenMP threads (None = all
    cores). Model choice: the earlier window needs ``min_selection_class`` churned and retained customers,
    else the candidates are compared by ``calibration_folds``-fold cross-validation. The vocabularies and
    ``default_gap_days`` go to :func:`features` wherever the model's features are computed (training,
    :func:`score`, :func:`backtest`).
    """

    max_iter: int = 150
    learning_rate: float = 0.05
    max_leaf_nodes: int = 7
    min_samples_leaf: int = 40
    l2_regularization: float = 1.0
    monotonic: bool = True
    logistic_c: float = 0.1
    calibration_folds: int = 3
    isotonic_min_samples: int = 3000
    importance_rows: int = 3000
    importance_repeats: int = 3
    max_train_rows: int | None = 20_000
    min_selection_class: int = 30
    n_threads: int | None = 1
    default_gap_days: float | None = None
    complaint_types: frozenset[str] = COMPLAINT_TYPES
    campaign_types: frozenset[str] = CAMPAIGN_TYPES
    positive_outcomes: frozenset[str] = POSITIVE_OUTCOMES

    def feature_options(self) -> dict[str, Any]:
        """The keyword arguments of :func:`features` these settings choose."""
        return {"default_gap_days": self.default_gap_days, "complaint_types": self.complaint_types,
                "campaign_types": self.campaign_types, "positive_outcomes": self.positive_outcomes}


@dataclass(frozen=True)
class Selection:
    """How :class:`ChurnModel` chose its kind among its candidates.

    ``method``: ``"earlier_window"`` (trained with features as of ``cutoff`` = training cut-off − horizon,
    scored on the training window's customers, so out of time and before anything the model is later
    judged on), ``"cross_validation"`` (the earlier window had too few customers of a class; stratified
    folds of the training window instead) or ``"single"`` (one candidate). ``auc`` holds each candidate's
    ROC AUC there, in the order tried; ``chosen`` the winner (the first of the best on a tie).
    """

    method: str
    cutoff: datetime | None
    auc: tuple[tuple[str, float | None], ...]
    chosen: str


def _signed_log(values: np.ndarray) -> np.ndarray:
    return np.sign(values) * np.log1p(np.abs(values))


def _estimator(kind: str, settings: ChurnSettings, seed: int, names: Sequence[str]) -> Any:
    if kind == "booster":
        constraints = [MONOTONE.get(name, 0) for name in names] if settings.monotonic else None
        return HistGradientBoostingClassifier(
            max_iter=settings.max_iter, learning_rate=settings.learning_rate, max_leaf_nodes=settings.max_leaf_nodes,
            min_samples_leaf=settings.min_samples_leaf, l2_regularization=settings.l2_regularization,
            monotonic_cst=constraints, early_stopping=False, random_state=seed)
    # the logistic kinds: median imputation, signed log, standardisation, L2-regularised logistic regression
    strength = settings.logistic_c if kind == "logistic" else 1.0
    return Pipeline([("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
                     ("log", FunctionTransformer(_signed_log)), ("scale", StandardScaler()),
                     ("logit", LogisticRegression(C=strength, max_iter=1000, random_state=seed))])


def training_frame(dataset: Dataset, cutoff: datetime, horizon_days: int,
                   settings: ChurnSettings = ChurnSettings()) -> pl.DataFrame:  # noqa: B008 - frozen
    """Features as of ``cutoff`` (:func:`features`, with the settings' options) and the ``churned`` label of the
    ``horizon_days`` that follow, one row per customer with an order before ``cutoff``, sorted by id."""
    frame = features(dataset, cutoff, **settings.feature_options())
    outcome = labels(dataset.transactions, cutoff, horizon_days).select("customer_id", "churned")
    return frame.join(outcome, on="customer_id", how="inner").sort("customer_id")


def _target(frame: pl.DataFrame) -> np.ndarray:
    return frame["churned"].cast(pl.Int8).to_numpy()  # numpy at the scikit-learn boundary


def _sampled(frame: pl.DataFrame, rows: int | None, seed: int) -> pl.DataFrame:
    """A stratified sample of ``rows`` customers (the frame itself when smaller or one class is too rare)."""
    if rows is None or frame.height <= rows:
        return frame
    target = _target(frame)
    if min(int(target.sum()), len(target) - int(target.sum())) < 2:
        return frame
    keep, _ = train_test_split(np.arange(frame.height), train_size=rows, stratify=target, random_state=seed)
    return frame[np.sort(keep)]


def _matrix(frame: pl.DataFrame, names: Sequence[str]) -> np.ndarray:
    columns = [pl.col(name).cast(pl.Float64) if name in frame.columns
               else pl.lit(None, dtype=pl.Float64).alias(name) for name in names]
    return frame.select(columns).to_numpy()  # numpy at the scikit-learn boundary; nulls → NaN


def _auc(target: np.ndarray, risk: np.ndarray) -> float | None:
    return float(roc_auc_score(target, risk)) if 0 < target.sum() < len(target) else None


def baseline_risk(kind: str, train: pl.DataFrame, scored: pl.DataFrame,
                  settings: ChurnSettings = ChurnSettings(), seed: int = 0) -> np.ndarray:  # noqa: B008 - frozen
    """Risk of each row of ``scored`` by the feature-based ranking ``kind`` ("recency", "rfm_logistic",
    "logistic", "booster") fitted on the labelled ``train`` frame (:func:`training_frame`), uncalibrated: a
    baseline's ranking, at a fraction of :class:`ChurnModel`'s cost."""
    frame = _sampled(train, settings.max_train_rows, seed)
    names = ChurnModel._names(kind, frame)
    with threadpool_limits(limits=settings.n_threads, user_api="openmp"):
        model = _estimator(kind, settings, seed, names).fit(_matrix(frame, names), _target(frame))
        return model.predict_proba(_matrix(scored, names))[:, 1]


# ---------------------------------------------------------------- the model

class ChurnModel:
    """Churn probability in the next ``horizon_days``, a scikit-learn-style estimator over :func:`features`.

    ``fit(dataset, as_of)`` trains out of time — features as of ``as_of − horizon_days``, labels from then
    to ``as_of`` (DESIGN.md, "Churn") — after choosing the kind among ``candidates`` on an earlier window
    (:class:`Selection`): the model that would have ranked the last horizon's churners best when trained
    one horizon earlier. Nothing on or after ``as_of`` is read, so :func:`backtest` can judge the whole
    procedure on the horizon after its cut-off.

    Kinds: ``"logistic"`` (L2 logistic regression, ``settings.logistic_c``, on standardised signed-log
    features; the regularised linear model that beat the booster on three real data sets),
    ``"booster"`` (``HistGradientBoostingClassifier`` with small trees and the monotone directions of
    :data:`MONOTONE`), and the :data:`FALLBACKS` a backtest may prefer: ``"recency"``,
    ``"rfm_logistic"`` (logistic regression on log R, F, M) and ``"bgnbd_horizon"`` (BG/NBD P(no purchase
    in the horizon) as of ``as_of``; it scores only the customers of the date it was fitted at).

    Probabilities are calibrated with ``CalibratedClassifierCV`` over ``settings.calibration_folds``
    stratified folds: isotonic from ``settings.isotonic_min_samples`` training customers, Platt scaling
    below (scikit-learn user guide, "Probability calibration": isotonic overfits on small sets).
    ``feature_importance_`` is the permutation importance (Breiman 2001; ``sklearn.inspection``) in ROC
    AUC of the uncalibrated estimator fitted on 75 % of the customers and scored on at most
    ``settings.importance_rows`` of the other 25 %. ``settings.n_threads`` caps OpenMP threads (threadpoolctl);
    the default 1 keeps training fast on a busy server, where OpenMP threads spin-wait on each other.

    Attributes after ``fit``: ``kind_``, ``selection_``, ``estimator_``, ``feature_names_``, ``cutoff_``,
    ``label_end_``, ``calibration_``, ``n_train_``, ``n_eligible_``, ``train_churn_rate_``,
    ``feature_importance_`` (``feature, importance, importance_std``), ``reference_`` (the median of each
    feature among the customers who stayed: the neutral values some reasons compare against).

    ``fit`` raises ``ValueError`` when the training labels hold fewer than ``settings.calibration_folds``
    customers of either class; check :func:`sufficiency` first (or use :func:`train_when_sufficient`).
    """

    def __init__(self, horizon_days: int = 90, settings: ChurnSettings = ChurnSettings(),  # noqa: B008 - frozen
                 candidates: Sequence[str] = CANDIDATES, random_state: int = 0) -> None:
        self.horizon_days = horizon_days
        self.settings = settings
        self.candidates = tuple(candidates)
        self.random_state = random_state

    # ---- fitting
    def fit(self, dataset: Dataset, as_of: DateLike) -> ChurnModel:
        return self._fit(dataset, to_datetime(as_of))

    def _fit(self, dataset: Dataset, as_of_dt: datetime, everyone: pl.DataFrame | None = None,
             earlier: pl.DataFrame | None = None, importance: bool = True) -> ChurnModel:
        """:meth:`fit`; ``everyone`` and ``earlier`` are the training frame and the one a horizon before it
        (:func:`training_frame`) when the caller has them. ``importance=False`` leaves the permutation
        importance out (null): a model fitted only to be judged, whose importance nobody reads."""
        unknown = [kind for kind in self.candidates if kind not in KINDS]
        if not self.candidates or unknown:
            raise ValueError(f"candidates must be among {KINDS}, got {self.candidates}")
        settings, seed, horizon = self.settings, self.random_state, self.horizon_days
        cutoff = as_of_dt - timedelta(days=horizon)
        if everyone is None:
            everyone = training_frame(dataset, cutoff, horizon, settings)
        frame = _sampled(everyone, settings.max_train_rows, seed)
        target = _target(frame)
        churners = int(target.sum())
        if min(churners, len(target) - churners) < max(settings.calibration_folds, 2):
            raise ValueError(f"need at least {settings.calibration_folds} churned and retained customers to train, "
                             f"got {churners} of {len(target)}")
        self.cutoff_, self.label_end_ = cutoff, as_of_dt
        self.n_train_, self.n_eligible_, self.train_churn_rate_ = len(target), everyone.height, churners / len(target)
        retained = everyone.filter(~pl.col("churned"))
        self.reference_: Mapping[str, float] = {
            name: float(value) for name in FEATURES
            if (value := cast("float | None", retained[name].median())) is not None and not math.isnan(value)}
        self.selection_ = self._select(dataset, cutoff, frame, earlier)
        self.kind_ = self.selection_.chosen
        if self.kind_ == "bgnbd_horizon":
            return self._fit_bgnbd(dataset, as_of_dt)
        names = self._names(self.kind_, frame)
        matrix = _matrix(frame, names)
        model = _estimator(self.kind_, settings, seed, names)
        method = "isotonic" if len(target) >= settings.isotonic_min_samples else "sigmoid"
        folds = StratifiedKFold(n_splits=settings.calibration_folds, shuffle=True, random_state=seed)
        fit_rows, held_rows = train_test_split(np.arange(len(target)), test_size=0.25, stratify=target,
                                               random_state=seed)
        held_rows = held_rows[:settings.importance_rows]
        with threadpool_limits(limits=settings.n_threads, user_api="openmp"):
            self.estimator_ = CalibratedClassifierCV(model, method=method, cv=folds, ensemble=False).fit(matrix, target)
            importance_model = clone(model).fit(matrix[fit_rows], target[fit_rows]) if importance else None
            if importance and len(np.unique(target[held_rows])) == 2:
                result = permutation_importance(importance_model, matrix[held_rows], target[held_rows],
                                                scoring="roc_auc", n_repeats=settings.importance_repeats,
                                                random_state=seed)
                means, stds = result.importances_mean, result.importances_std
            else:
                means = stds = np.full(len(names), np.nan)
        self.feature_names_, self.calibration_ = tuple(names), method
        self.feature_importance_ = pl.DataFrame(
            {"feature": list(names), "importance": means, "importance_std": stds},
            schema={"feature": pl.String, "importance": pl.Float64, "importance_std": pl.Float64},
        ).sort("importance", "feature", descending=[True, False], nulls_last=True)
        return self

    @staticmethod
    def _names(kind: str, frame: pl.DataFrame) -> tuple[str, ...]:
        """The kind's features that hold a value for at least one training customer."""
        return tuple(name for name in _KIND_FEATURES[kind]
                     if name in frame.columns and frame[name].null_count() < frame.height)

    def _select(self, dataset: Dataset, cutoff: datetime, frame: pl.DataFrame,
                earlier_frame: pl.DataFrame | None = None) -> Selection:
        """Choose the kind among ``candidates`` on the window before the training window (or by folds)."""
        if len(self.candidates) == 1:
            return Selection("single", None, ((self.candidates[0], None),), self.candidates[0])
        settings, seed, horizon = self.settings, self.random_state, self.horizon_days
        earlier_cutoff = cutoff - timedelta(days=horizon)
        if earlier_frame is None:
            earlier_frame = training_frame(dataset, earlier_cutoff, horizon, settings)
        earlier = _sampled(earlier_frame, settings.max_train_rows, seed)
        earlier_target = _target(earlier)
        target = _target(frame)
        enough = min(int(earlier_target.sum()), len(earlier_target) - int(earlier_target.sum()))
        scores: list[tuple[str, float | None]] = []
        method = "earlier_window" if enough >= settings.min_selection_class else "cross_validation"
        folds = StratifiedKFold(n_splits=settings.calibration_folds, shuffle=True, random_state=seed)
        for kind in self.candidates:
            if kind == "bgnbd_horizon":
                scored = bgnbd_scores(dataset.transactions, cutoff, horizon)
                if scored is None or scored.degenerate:
                    scores.append((kind, None))
                    continue
                risk = (frame.select("customer_id").join(scored.frame, on="customer_id", how="left")
                        ["bgnbd_p_no_purchase"].fill_null(0.5).to_numpy())
                scores.append((kind, _auc(target, risk)))
                continue
            names = self._names(kind, earlier if method == "earlier_window" else frame)
            if not names:
                scores.append((kind, None))
                continue
            with threadpool_limits(limits=settings.n_threads, user_api="openmp"):
                model = _estimator(kind, settings, seed, names)
                if method == "earlier_window":
                    risk = model.fit(_matrix(earlier, names), earlier_target).predict_proba(_matrix(frame, names))[:, 1]
                else:
                    risk = cross_val_predict(model, _matrix(frame, names), target, cv=folds,
                                             method="predict_proba")[:, 1]
            scores.append((kind, _auc(target, risk)))
        best = max((auc for _, auc in scores if auc is not None), default=None)
        chosen = next((kind for kind, auc in scores if auc == best), self.candidates[0])
        return Selection(method, earlier_cutoff if method == "earlier_window" else None, tuple(scores), chosen)

    def _fit_bgnbd(self, dataset: Dataset, as_of: datetime) -> ChurnModel:
        scored = bgnbd_scores(dataset.transactions, as_of, self.horizon_days)
        if scored is None:
            raise ValueError("BG/NBD needs crm_core.clv and customers with purchases")
        self.estimator_ = scored.frame.select("customer_id", pl.col("bgnbd_p_no_purchase").alias("churn_probability"))
        self.feature_names_, self.calibration_ = (), "bgnbd"
        self.feature_importance_ = pl.DataFrame(schema={"feature": pl.String, "importance": pl.Float64,
                                                        "importance_std": pl.Float64})
        return self

    # ---- predicting
    def matrix(self, feature_frame: pl.DataFrame) -> np.ndarray:
        """The model's input matrix; features missing from the frame are missing values (NaN)."""
        return _matrix(feature_frame, self.feature_names_)

    def predict_proba(self, feature_frame: pl.DataFrame) -> np.ndarray:
        """Calibrated churn probability per row of ``feature_frame`` (features of :func:`features`).

        A ``"bgnbd_horizon"`` model looks its customers up by ``customer_id`` (those it did not score get
        the median); it ignores the other columns, so a counterfactual reason never moves it.
        """
        if feature_frame.height == 0:
            return np.zeros(0)
        if self.kind_ == "bgnbd_horizon":
            scores = cast("pl.DataFrame", self.estimator_)
            found = feature_frame.select("customer_id").join(scores, on="customer_id", how="left",
                                                             maintain_order="left")["churn_probability"]
            middle = scores["churn_probability"].median()
            return found.fill_null(middle if middle is not None else 0.5).to_numpy()
        with threadpool_limits(limits=self.settings.n_threads, user_api="openmp"):
            return self.estimator_.predict_proba(self.matrix(feature_frame))[:, 1]

    def __repr__(self) -> str:
        fitted = f", kind_={self.kind_!r}" if hasattr(self, "kind_") else ""
        return f"ChurnModel(horizon_days={self.horizon_days}, candidates={self.candidates}{fitted})"


def train(
    dataset: Dataset,
    as_of: DateLike,
    horizon_days: int = 90,
    settings: ChurnSettings = ChurnSettings(),  # noqa: B008 - a frozen dataclass, immutable
    *,
    seed: int = 0,
    candidates: Sequence[str] = CANDIDATES,
) -> ChurnModel:
    """``ChurnModel(horizon_days, settings, candidates, random_state=seed).fit(dataset, as_of)``."""
    return ChurnModel(horizon_days, settings, candidates, random_state=seed).fit(dataset, as_of)


def train_when_sufficient(
    dataset: Dataset,
    as_of: DateLike,
    horizon_days: int = 90,
    settings: ChurnSettings = ChurnSettings(),  # noqa: B008 - a frozen dataclass, immutable
    *,
    seed: int = 0,
) -> ChurnModel | None:
    """:func:`train` when :func:`sufficiency` passes at ``as_of`` for ``horizon_days``, else None.

    Without a model the caller scores by the warning rules: ``score(..., model=None)``.
    """
    if not sufficiency(dataset.transactions, as_of, horizon_days).ok:
        return None
    return train(dataset, as_of, horizon_days, settings, seed=seed)
