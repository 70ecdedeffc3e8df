"""What the Churn risk page draws, from :mod:`crm_core.churn` on a dataset as of one date.

The data gate, the scored customers with their lists and breakdowns, the capacity curve and the model card.

Three functions do the work, each cached by the UI per (dataset, analysis date, horizon): :func:`gate`
(cheap, asked first), :func:`risk_view` (trains the model up to the analysis date once, scores, joins
segments and profiles, sums the breakdowns) and :func:`model_card` (the backtest, the slowest part).
What follows from a control of the page (risk tiers, capacity, save rate) is a cheap method of
:class:`RiskView`, so moving a control never trains the model again.

The policy of the page lives here: horizons, Klaviyo's risk bands, the rules-mode threshold, the default
capacity and save rate, the baselines the model must beat. Texts travel as translation keys and
parameters; the two customer lists are the one place where cells become words, through the caller's
``translate(key, **params)`` (this module never picks a language).
"""
from __future__ import annotations

import inspect
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import polars as pl

from crm_core import churn
from crm_core.customers import profiles
from crm_core.dataset import Dataset
from crm_core.export import mask_contacts
from crm_core.features import customer_summary
from crm_core.segmentation import PRESETS, rfm

__all__ = [
    "AT_RISK_TIERS", "CURVE_POINTS", "DEFAULT_CAPACITY", "DEFAULT_HORIZON", "DEFAULT_SAVE_RATE", "FALLBACKS",
    "FLAG_NEEDS", "HORIZONS", "METRICS", "PROFILE_COLUMNS", "RANKINGS", "RISK_THRESHOLDS", "RULE_HIGH_FLAGS",
    "SEGMENT_PRESET", "TIERS", "TOP_FEATURES",
    "Breakdown", "CalibrationPoint", "Capacity", "FlagRow", "Gate", "Headline", "Importance", "ModelCard",
    "ModelFacts", "RiskList", "RiskView", "Text", "Translate", "Verdict",
    "gate", "metric_text", "model_card", "risk_table", "risk_view",
]

HORIZONS: tuple[int, ...] = (30, 60, 90, 180)   # days ahead the risk is about
DEFAULT_HORIZON = 90
TIERS: tuple[str, ...] = ("high", "medium", "low")   # crm_core.churn.RISK_TIERS, riskiest first
AT_RISK_TIERS: tuple[str, ...] = ("high", "medium")   # what the at-risk list shows until the reader changes it
RISK_THRESHOLDS = (0.33, 0.66)                  # Klaviyo's bands on the calibrated probability
RULE_HIGH_FLAGS = 2                             # rules mode: this many warning flags make a customer "high"
DEFAULT_CAPACITY = 200                          # "we can call 200 customers"
DEFAULT_SAVE_RATE = 20                          # percent of contacted customers at risk that a win-back keeps
TOP_FEATURES = 12                               # bars in the importance chart
CURVE_POINTS = 400                              # points of the capacity chart (the curve has one per customer)
REASONS_SHOWN = 3                               # reasons per customer in the lists
PROFILE_COLUMNS: tuple[str, ...] = ("name", "region", "owner", "phone")
SEGMENT_PRESET = "standard"
METRICS: tuple[str, ...] = ("auc", "pr_auc", "top_decile_lift", "brier")
RANKINGS: tuple[str, ...] = ("model", *churn.BASELINES)   # the rows of the model card, model first
FALLBACKS: tuple[str, ...] = churn.FALLBACKS    # the baselines that rank the customers when they beat the model
# The thresholds of the warning flags, as crm_core.churn.flags applies them by default.
FLAG_DEFAULTS: dict[str, Any] = {name: parameter.default
                                 for name, parameter in inspect.signature(churn.flags).parameters.items()
                                 if parameter.kind is parameter.KEYWORD_ONLY}
# Flags that read the interactions table (and the column they need beyond ``type``).
FLAG_NEEDS: dict[str, str | None] = {"fewer_contacts": None, "complaints": None, "campaigns_ignored": "outcome",
                                     "low_satisfaction": "satisfaction"}
# The numbers each flag's rule sentence (churn.flag_help.<name>) shows.
FLAG_RULES: dict[str, dict[str, Any]] = {
    "frequency_drop": {"min_prev_orders": FLAG_DEFAULTS["min_prev_orders"], "share": FLAG_DEFAULTS["frequency_drop"]},
    "basket_shrink": {"share": FLAG_DEFAULTS["basket_drop"]},
    "fewer_contacts": {"min_prev_contacts": FLAG_DEFAULTS["min_prev_contacts"], "share": FLAG_DEFAULTS["contact_drop"]},
    "complaints": {"count": FLAG_DEFAULTS["min_complaints"]},
    "campaigns_ignored": {"count": FLAG_DEFAULTS["min_ignored_campaigns"]},
    "low_satisfaction": {"score": FLAG_DEFAULTS["low_satisfaction"]},
    "overdue": {"ratio": FLAG_DEFAULTS["overdue_ratio"]},
}

Translate = Callable[..., str]   # translate(key, **params) -> text in the reader's language


@dataclass(frozen=True)
class Text:
    """A text to show: its translation key and parameters."""

    key: str
    params: Mapping[str, Any]


# ---------------------------------------------------------------- the data gate

@dataclass(frozen=True)
class Gate:
    """Whether a model can be trained and backtested, and if not, why.

    ``checks``: those of :func:`crm_core.churn.sufficiency`, each with its sentence ``key`` and what would
    fix it, ``hint``. When the gate fails, ``other_horizons`` are those of :data:`HORIZONS` that would
    pass; ``rules`` says how customers are ranked meanwhile.
    """

    ok: bool
    checks: tuple[churn.SufficiencyCheck, ...]
    other_horizons: tuple[int, ...]
    rules: Text


def gate(dataset: Dataset, as_of: datetime, horizon_days: int) -> Gate:
    """The data gate of :func:`crm_core.churn.sufficiency` at ``horizon_days``, ready to explain."""
    checked = churn.sufficiency(dataset.transactions, as_of, horizon_days)
    others = () if checked.ok else tuple(
        days for days in HORIZONS
        if days != horizon_days and churn.sufficiency(dataset.transactions, as_of, days).ok)
    return Gate(checked.ok, checked.checks, others, Text("churn.page.rules_mode", {"flags": RULE_HIGH_FLAGS}))


# ---------------------------------------------------------------- the scored customers

@dataclass(frozen=True)
class Headline:
    """The page's headline figures; shares are of ``customers`` (None when there is nobody)."""

    customers: int
    high: int
    high_share: float | None
    flagged: int
    flagged_share: float | None
    value_at_risk: float
    value_share: float | None   # value at risk / expected value (None when the expected value is not > 0)


@dataclass(frozen=True)
class Breakdown:
    """Customers per risk tier for each value of ``by`` (``segment`` or ``region``).

    ``keys`` may hold None (unknown). ``tiers[tier][i]`` counts the customers of ``keys[i]`` in that tier;
    ``shares`` divides by ``customers[i]``; the means and sums are per group.
    """

    by: str
    keys: tuple[str | None, ...]
    customers: tuple[int, ...]
    tiers: Mapping[str, tuple[int, ...]]
    shares: Mapping[str, tuple[float, ...]]
    mean_probability: tuple[float | None, ...]
    value_at_risk: tuple[float | None, ...]
    mean_flags: tuple[float | None, ...]


@dataclass(frozen=True)
class FlagRow:
    """One warning flag: how many customers raise it, its rule's numbers, whether the data can raise it.

    ``data`` is ``ok``, ``needs_interactions`` or ``needs_<column>``.
    """

    name: str
    customers: int
    share: float | None
    rule: Mapping[str, Any]
    data: str


@dataclass(frozen=True)
class Importance:
    """One bar of the importance chart: a feature's permutation importance (drop in ROC AUC) and its spread."""

    feature: str
    importance: float
    std: float


@dataclass(frozen=True)
class ModelFacts:
    """What the page says about the model trained up to the analysis date."""

    n_train: int
    n_eligible: int
    cutoff: datetime
    label_end: datetime
    train_churn_rate: float
    calibration: str
    n_features: int
    importance: tuple[Importance, ...]   # the TOP_FEATURES most important, computed ones only
    kind: str = "booster"                # churn.ChurnModel.kind_: what ranks the customers
    selection: churn.Selection | None = None   # how the kind was chosen (None: it was not)


@dataclass(frozen=True)
class RiskList:
    """An at-risk list as a manager reads it (``table``) and what its caption says."""

    table: pl.DataFrame
    customers: int
    value_at_risk: float


@dataclass(frozen=True)
class Capacity:
    """The capacity curve at ``contacted`` customers and a save rate of ``save_rate`` percent.

    ``curve_contacted`` / ``curve_saved`` are at most :data:`CURVE_POINTS` points of the curve;
    ``marginal`` is the value at risk of the last customer contacted (None at 0 or without values) and
    ``show_marginal`` whether the page should name it (not everyone is contacted).
    """

    contacted: int
    share_of_customers: float | None
    value_at_risk: float | None
    share_of_value: float | None
    saved: float | None
    marginal: float | None
    total: float
    save_rate: int
    show_marginal: bool
    curve_contacted: tuple[int, ...]
    curve_saved: tuple[float | None, ...]


def _shares(counts: Sequence[int], totals: Sequence[int]) -> tuple[float, ...]:
    return tuple(n / total for n, total in zip(counts, totals, strict=True))


def _breakdown(scored: pl.DataFrame, by: str, order: Sequence[str] | None = None) -> Breakdown:
    table = scored.group_by(by).agg(
        pl.len().alias("customers"),
        *[(pl.col("risk_tier") == tier).sum().alias(tier) for tier in TIERS],
        pl.col("churn_probability").mean().alias("mean_probability"),
        pl.col("value_at_risk").sum().alias("value_at_risk"),
        pl.col("flag_count").mean().alias("mean_flags"),
    ).sort(["customers", by], descending=[True, False], nulls_last=True)
    if order is not None:
        position = {key: i for i, key in enumerate(order)}
        table = table.sort(pl.col(by).replace_strict(position, default=len(order), return_dtype=pl.Int64))
    totals = tuple(table["customers"].to_list())
    tiers = {tier: tuple(table[tier].to_list()) for tier in TIERS}
    return Breakdown(by=by, keys=tuple(table[by].to_list()), customers=totals, tiers=tiers,
                     shares={tier: _shares(tiers[tier], totals) for tier in TIERS},
                     mean_probability=tuple(table["mean_probability"].to_list()),
                     value_at_risk=tuple(table["value_at_risk"].to_list()),
                     mean_flags=tuple(table["mean_flags"].to_list()))


def _flag_data(dataset: Dataset, name: str) -> str:
    """Whether the data can raise this flag at all (``ok``), or what it lacks."""
    if name not in FLAG_NEEDS:
        return "ok"
    if not dataset.has("interactions"):
        return "needs_interactions"
    needed = FLAG_NEEDS[name]
    return "ok" if needed is None or dataset.has("interactions", needed) else f"needs_{needed}"


def _share(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def _reason_text(raw: str | None, with_model: bool, translate: Translate) -> str:
    """A customer's top reasons as sentences (or why there is none)."""
    reasons = json.loads(raw) if raw else []
    if not reasons:
        return translate("churn.page.no_reason" if with_model else "churn.page.no_flag")
    return translate("churn.page.reason_sep").join(translate(reason["key"], **(reason.get("params") or {}))
                                                   for reason in reasons[:REASONS_SHOWN])


def risk_table(frame: pl.DataFrame, with_model: bool, translate: Translate) -> pl.DataFrame:
    """Scored customers (:func:`risk_view`'s ``scored`` rows) as a manager reads them.

    Who, how risky, why, what to do, then whom to ask and how to reach them (phones already masked);
    cells and headers in the words of ``translate``. With a model: probability and value at risk;
    without: the flags raised.
    """
    flag_names = {name: translate(f"churn.flag.{name}") for name in churn.FLAGS}
    tier_names = {tier: translate(f"churn.tier.{tier}") for tier in TIERS}
    reasons = {raw: _reason_text(raw, with_model, translate) for raw in frame["reasons"].unique().to_list()}
    actions = {key: translate(key) for key in frame["action"].drop_nulls().unique().to_list()}
    fired = pl.concat_list(pl.when(pl.col(f"flag_{name}")).then(pl.lit(flag_names[name])) for name in churn.FLAGS)
    frame = frame.with_columns(fired.list.drop_nulls().list.join(translate("churn.page.list_sep")).alias("flags"))
    profile = [c for c in PROFILE_COLUMNS if c in frame.columns]
    shown = frame.select(
        "customer_id", *[c for c in ("name",) if c in profile],
        pl.col("risk_tier").replace_strict(tier_names, default=None, return_dtype=pl.String),
        *(["churn_probability", "value_at_risk"] if with_model else ["flag_count", "flags"]),
        pl.col("reasons").replace_strict(reasons, default="", return_dtype=pl.String),
        pl.col("action").replace_strict(actions, default=None, return_dtype=pl.String),
        *(["flags"] if with_model else []),
        *[c for c in ("owner", "phone", "region") if c in profile],
        "expected_value", pl.col("recency_days").cast(pl.Int64), pl.col("frequency").cast(pl.Int64),
    )
    return shown.rename({name: translate(f"churn.column.{name}") for name in shown.columns})


@dataclass(frozen=True, eq=False)
class RiskView:
    """Everything the page shows about the scored customers at one horizon (see :func:`risk_view`).

    ``scored`` is :func:`crm_core.churn.score` plus the customer's RFM ``segment`` and, when known,
    ``name, region, owner, phone`` (masked), riskiest value first; ``model`` is None in rules mode.
    """

    scored: pl.DataFrame
    model: churn.ChurnModel | None
    facts: ModelFacts | None
    headline: Headline
    value_source: str | None        # where the expected value comes from (churn.value_source.<key>)
    tier_help: Text
    by_segment: Breakdown
    by_region: Breakdown | None     # None without a region
    flags: tuple[FlagRow, ...]

    @property
    def with_model(self) -> bool:
        return self.model is not None

    @property
    def has_phone(self) -> bool:
        return "phone" in self.scored.columns

    @property
    def capacity_default(self) -> int:
        return min(DEFAULT_CAPACITY, self.headline.customers)

    @property
    def capacity_step(self) -> int:
        return 10 if self.headline.customers >= 1000 else 1

    def among(self, customer_ids: pl.Series) -> RiskView:
        """The same scores, for these customers only (a region, channel or category filter selects whom the
        page lists; a customer's risk is learned from all their orders, so nothing is trained again)."""
        chosen = self.scored.join(pl.DataFrame({"customer_id": customer_ids.cast(pl.String)}).unique(),
                                  on="customer_id", how="semi", maintain_order="left")
        return _summarised(chosen, self.model, {row.name: row.data for row in self.flags})

    def listing(self, tiers: Sequence[str], translate: Translate) -> RiskList:
        """The at-risk list of the customers in ``tiers`` (everyone when empty)."""
        chosen = self.scored.filter(pl.col("risk_tier").is_in(list(tiers))) if tiers else self.scored
        return RiskList(risk_table(chosen, self.with_model, translate), chosen.height,
                        float(chosen["value_at_risk"].sum()))

    def call_list(self, capacity: int, translate: Translate) -> pl.DataFrame:
        """The ``capacity`` customers to call first (:func:`crm_core.churn.win_back_list`)."""
        return risk_table(churn.win_back_list(self.scored, capacity), self.with_model, translate)

    def members(self, *, capacity: int | None = None, tiers: Sequence[str] = ()) -> pl.DataFrame:
        """``customer_id, stratum`` (the risk tier) of the call list's first ``capacity`` customers, or else of
        the at-risk list of ``tiers`` (everyone when empty): a campaign's members, balanced on risk."""
        if capacity is not None:
            rows = churn.win_back_list(self.scored, capacity)
        else:
            rows = self.scored.filter(pl.col("risk_tier").is_in(list(tiers))) if tiers else self.scored
        return rows.select("customer_id", pl.col("risk_tier").cast(pl.String).alias("stratum"))

    def capacity(self, contacted: int, save_rate: int) -> Capacity:
        """The capacity curve (:func:`crm_core.churn.capacity_curve`) at ``contacted`` customers.

        A win-back keeps ``save_rate`` percent of the value at risk of those contacted.
        """
        curve = churn.capacity_curve(self.scored, contacted, save_rate / 100)
        at = curve.row(contacted, named=True)
        sampled = curve.gather_every(max(1, curve.height // CURVE_POINTS))
        everyone, most = self.headline.customers, curve["value_at_risk"].max()
        return Capacity(
            contacted=contacted, share_of_customers=_share(contacted, everyone),
            value_at_risk=at["value_at_risk"], share_of_value=at["share_of_value_at_risk"],
            saved=at["expected_revenue_saved"], marginal=at["marginal_value_at_risk"],
            total=float(most) if isinstance(most, (int, float)) else 0.0, save_rate=save_rate,
            show_marginal=contacted < everyone and at["marginal_value_at_risk"] is not None,
            curve_contacted=tuple(sampled["contacted"].to_list()),
            curve_saved=tuple(sampled["expected_revenue_saved"].to_list()))


def _facts(model: churn.ChurnModel | None) -> ModelFacts | None:
    if model is None:
        return None
    importance = model.feature_importance_.drop_nulls("importance").head(TOP_FEATURES)
    return ModelFacts(
        n_train=model.n_train_, n_eligible=model.n_eligible_, cutoff=model.cutoff_, label_end=model.label_end_,
        train_churn_rate=model.train_churn_rate_, calibration=model.calibration_,
        n_features=len(model.feature_names_), kind=model.kind_, selection=model.selection_,
        importance=tuple(Importance(row["feature"], row["importance"], row["importance_std"])
                         for row in importance.iter_rows(named=True)))


def risk_view(dataset: Dataset, as_of: datetime, horizon_days: int,
              model: churn.ChurnModel | None | Literal["train"] = "train") -> RiskView:
    """Scores as of ``as_of``, and all the page shows about them.

    By ``model`` (``"train"``: the model trained up to ``as_of`` when the gate passes,
    :func:`crm_core.churn.train_when_sufficient`; None: the warning rules), scored by
    :func:`crm_core.churn.score` with Klaviyo's bands; with segments (:func:`crm_core.segmentation.rfm`,
    standard preset), profiles (:func:`crm_core.customers.profiles`), headline figures, breakdowns and flag
    counts.
    """
    if model == "train":
        model = churn.train_when_sufficient(dataset, as_of, horizon_days)
    scored = churn.score(dataset, as_of, model=model, risk_thresholds=RISK_THRESHOLDS,
                         rule_high_flags=RULE_HIGH_FLAGS)
    summary = customer_summary(dataset.transactions, as_of)
    segments = rfm(summary, preset=SEGMENT_PRESET).select("customer_id", "segment")
    people = profiles(dataset, as_of)
    people = mask_contacts(people.select("customer_id", *[c for c in PROFILE_COLUMNS if c in people.columns]))
    scored = (scored.join(segments, on="customer_id", how="left")
              .join(people, on="customer_id", how="left", maintain_order="left"))

    return _summarised(scored, model, {name: _flag_data(dataset, name) for name in churn.FLAGS})


def _summarised(scored: pl.DataFrame, model: churn.ChurnModel | None, flag_data: Mapping[str, str]) -> RiskView:
    """The view of ``scored`` customers: headline, breakdowns and flag counts (``flag_data``: whether the
    data can raise each flag, :func:`_flag_data`)."""
    everyone = scored.height
    high = int((scored["risk_tier"] == "high").sum())
    flagged = int((scored["flag_count"] > 0).sum())
    value_at_risk, expected = float(scored["value_at_risk"].sum()), float(scored["expected_value"].sum())
    headline = Headline(customers=everyone, high=high, high_share=_share(high, everyone), flagged=flagged,
                        flagged_share=_share(flagged, everyone), value_at_risk=value_at_risk,
                        value_share=value_at_risk / expected if expected > 0 else None)
    sources = scored["value_source"].drop_nulls()
    tier_help = (Text("churn.tier.help", {"low": RISK_THRESHOLDS[0], "high": RISK_THRESHOLDS[1]}) if model is not None
                 else Text("churn.tier.help_rules", {"flags": RULE_HIGH_FLAGS}))
    counts = scored.select(pl.col(f"flag_{name}").sum().alias(name) for name in churn.FLAGS).row(0, named=True)
    return RiskView(
        scored=scored, model=model, facts=_facts(model), headline=headline,
        value_source=str(sources.first()) if sources.len() else None, tier_help=tier_help,
        by_segment=_breakdown(scored, "segment", PRESETS[SEGMENT_PRESET].segments),
        by_region=_breakdown(scored, "region") if "region" in scored.columns else None,
        flags=tuple(FlagRow(name, counts[name] or 0, _share(counts[name] or 0, everyone), FLAG_RULES[name],
                            flag_data[name]) for name in churn.FLAGS))


# ---------------------------------------------------------------- the model card

def metric_text(metric: str, value: float | None) -> str:
    """A backtest metric as the card writes it: lift with 2 decimals, the others with 3, "–" when not computed."""
    if value is None or math.isnan(value):
        return "–"
    return f"{value:.2f}" if metric == "top_decile_lift" else f"{value:.3f}"


@dataclass(frozen=True)
class Verdict:
    """Whether the model ranks churners better than one baseline (ROC AUC), as ``key`` + ``params``.

    The page adds the baseline's name (``churn.page.baseline_name.<baseline>``).
    """

    key: str
    baseline: str
    params: Mapping[str, str]


@dataclass(frozen=True)
class CalibrationPoint:
    """One decile of predicted probability: the mean prediction, the observed churn rate, how many."""

    decile: int
    mean_predicted: float
    observed_rate: float
    customers: int


@dataclass(frozen=True)
class ModelCard:
    """The backtest of :func:`crm_core.churn.backtest` as the model card shows it.

    ``values[ranking][metric]`` for every ranking of :data:`RANKINGS` and metric of :data:`METRICS`
    (None = not computed); ``texts`` the same as the card writes them (:func:`metric_text`).
    ``beats_recency`` is None when either AUC is missing. ``gains`` maps each ranking with a curve
    (model first) to the share of churners caught at each of ``share_contacted``.
    """

    train_cutoff: datetime
    eval_cutoff: datetime
    n_customers: int
    churn_rate: float | None
    values: Mapping[str, Mapping[str, float | None]]
    texts: Mapping[str, Mapping[str, str]]
    verdicts: tuple[Verdict, ...]
    share_contacted: tuple[float, ...]
    gains: Mapping[str, tuple[float, ...]]
    calibration: tuple[CalibrationPoint, ...]
    kind: str = "booster"                 # the kind the backtest's model chose
    selection: churn.Selection | None = None
    train_churn_rate: float | None = None  # the churn rate the backtest's model learnt from
    best_baseline: str | None = None      # the baseline with the highest ROC AUC
    ranked_by: str = "model"              # churn.Backtest.ranked_by: the model, or the baseline that beat it
    bgnbd_degenerate: str | None = None   # why the BG/NBD rows are empty (None: they are not, or no clv)

    @property
    def shown(self) -> tuple[str, ...]:
        """The rows of the card's table: the model and every baseline that could be computed."""
        return tuple(name for name in RANKINGS if name == "model" or self.values[name]["auc"] is not None)

    @property
    def base_rate_shift(self) -> float | None:
        """Test-window churn rate minus the training window's, in points of share (None when unknown)."""
        if self.churn_rate is None or self.train_churn_rate is None:
            return None
        return self.churn_rate - self.train_churn_rate

    @property
    def model_wins(self) -> bool | None:
        """Whether the model's ROC AUC is at least the best baseline's (None without both)."""
        if self.auc is None or self.best_baseline is None or self.values[self.best_baseline]["auc"] is None:
            return None
        return self.auc >= self.values[self.best_baseline]["auc"]  # type: ignore[operator]

    @property
    def verdict(self) -> Text | None:
        """The card's one-sentence verdict against the best baseline (None without AUCs).

        ``churn.page.verdict_wins`` or, when a baseline ranked better, ``churn.page.verdict_fallback`` (the
        customers are ranked by it). The page adds the baseline's name (``churn.page.baseline_name.<name>``).
        """
        if self.model_wins is None or self.best_baseline is None:
            return None
        best = self.ranked_by if self.ranked_by != "model" else self.best_baseline
        params = {"baseline": best, "model": self.texts["model"]["auc"], "other": self.texts[best]["auc"]}
        return Text("churn.page.verdict_wins" if self.ranked_by == "model" else "churn.page.verdict_fallback",
                    params)

    @property
    def auc(self) -> float | None:
        return self.values["model"]["auc"]

    @property
    def recency_auc(self) -> float | None:
        return self.values["recency"]["auc"]

    @property
    def beats_recency(self) -> bool | None:
        if self.auc is None or self.recency_auc is None:
            return None
        return self.auc >= self.recency_auc


def model_card(dataset: Dataset, as_of: datetime, horizon_days: int,
               result: churn.Backtest | None = None) -> ModelCard | None:
    """The model card; None when the data gate fails.

    The backtest one horizon back (:func:`crm_core.churn.backtest`, or ``result`` when the caller has it),
    its metrics beside the baselines, the verdicts, the gains and calibration curves, the base-rate shift
    and which ranking the customers get.
    """
    if result is None:
        result = churn.backtest(dataset, as_of, horizon_days)
    if not result.ok or result.gains is None or result.calibration is None:
        return None
    rankings = {ranking.name: ranking for ranking in (result.ranking, *result.baselines) if ranking is not None}
    values = {name: {metric: getattr(rankings[name], metric) if name in rankings else None for metric in METRICS}
              for name in RANKINGS}
    ours = values["model"]
    verdicts = tuple(
        Verdict("churn.page.verdict_beats" if ours["auc"] > values[name]["auc"] else "churn.page.verdict_not", name,
                {"model": metric_text("auc", ours["auc"]), "other": metric_text("auc", values[name]["auc"]),
                 "lift": metric_text("top_decile_lift", ours["top_decile_lift"]),
                 "other_lift": metric_text("top_decile_lift", values[name]["top_decile_lift"])})
        for name in churn.BASELINES if ours["auc"] is not None and values[name]["auc"] is not None)
    # rows the card leaves out: BG/NBD when its fit is degenerate (it cannot rank anyone)
    return ModelCard(
        train_cutoff=result.train_cutoff, eval_cutoff=result.eval_cutoff, n_customers=result.n_customers or 0,
        churn_rate=result.churn_rate, values=values,
        texts={name: {metric: metric_text(metric, value) for metric, value in row.items()}
               for name, row in values.items()},
        verdicts=verdicts, share_contacted=tuple(result.gains["share_contacted"].to_list()),
        gains={name: tuple(result.gains[name].to_list()) for name in RANKINGS if name in result.gains.columns},
        calibration=tuple(CalibrationPoint(**row) for row in result.calibration.iter_rows(named=True)),
        kind=result.model.kind_ if result.model is not None else "booster",
        selection=result.model.selection_ if result.model is not None else None,
        train_churn_rate=result.train_churn_rate,
        best_baseline=result.best_baseline.name if result.best_baseline is not None else None,
        ranked_by=result.ranked_by, bgnbd_degenerate=result.bgnbd_degenerate)
