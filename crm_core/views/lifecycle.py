"""View-models of the Lifecycle & value page.

Stages and their rules, stage flows, cohort retention, predicted customer value (BG/NBD + Gamma–Gamma), the
P(alive) map and the model card's holdout check.

Each function takes the :class:`~crm_core.dataset.Dataset` the page analyses first (orders in the sidebar's
date range), then plain hashable values, and returns a frame or a frozen dataclass ready to draw. The
analytics live in :mod:`crm_core.lifecycle` and :mod:`crm_core.clv`; this module holds the page's policy
(which windows the user overrides, when the model is trusted, how the histogram is capped) and the shapes
its figures and tables need. Texts travel as translation keys with their parameters.
"""
from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

import numpy as np
import polars as pl

from crm_core.clv import TIME_UNIT_DAYS, BetaGeo, CLVResult, holdout, holdout_by_frequency, holdout_metrics, predict
from crm_core.dataset import Dataset
from crm_core.features import customer_summary, has_amounts
from crm_core.lifecycle import NOT_YET, cohorts, stage_rules, stage_windows, stages, transitions
from crm_core.views.movement import movement_summary

__all__ = [
    "STAGE_ORDER", "BUYING", "LAPSED", "HORIZONS", "HORIZON", "HOLDOUTS", "HOLDOUT", "TOP_CHOICES", "TOP",
    "DISCOUNT_PERCENT", "MAX_DISCOUNT_PERCENT", "PERIODS", "MEASURES", "VIEWS", "FLOW_DAYS", "MAX_WINDOW_DAYS",
    "AT_RISK_FACTOR", "MAX_AT_RISK_FACTOR", "WINDOW_NAMES", "MIN_REPEAT_BUYERS", "HOLDOUT_GROUPS", "TRUST_GOOD",
    "TRUST_ROUGH", "TRUST_CORRELATION", "LIKELY_ALIVE", "ALIVE_COLUMNS", "ALIVE_MAX_REPEAT",
    "HISTOGRAM_CAP_QUANTILE", "HISTOGRAM_MIN_CUSTOMERS", "TEXT_COLUMNS", "SPEND_CORRELATION_LIMIT",
    "StageWindows", "StageGroup", "StageSummary", "CustomerList", "FlowRange", "StageFlow", "CohortMatrix",
    "ValueModel", "AliveMap", "Degeneracy", "SpendCheck", "Verdict", "HoldoutCheck",
    "LIST_COLUMNS", "VALUE_COLUMNS",
    "buyer_count", "chosen_windows", "stage_summary", "flow_range", "stage_flow", "period_label",
    "cohort_matrix", "degeneracy", "spend_check", "value_model", "holdout_check", "trust_verdict",
]

# Stages in the order a manager reads them: people buying now, then slipping away.
STAGE_ORDER = ("prospect", "new", "active", "reactivated", "at_risk", "dormant", "churned")
BUYING = ("new", "active", "reactivated")
LAPSED = ("dormant", "churned")
# the page's controls: choices and defaults
HORIZONS, HORIZON = (90, 180, 365), 365       # days of predicted value
HOLDOUTS, HOLDOUT = (90, 180, 365), 180       # days held out to check the purchase model
TOP_CHOICES, TOP = (20, 50, 100, 500), 50     # customers in the value table
DISCOUNT_PERCENT, MAX_DISCOUNT_PERCENT = 1.0, 10.0  # monthly discount rate of predicted value, in percent
PERIODS = ("month", "quarter")       # cohort grains offered (crm_core.lifecycle.cohorts also knows "week")
MEASURES = ("customers", "revenue")
VIEWS = ("percent", "count")
FLOW_DAYS = 90                       # default "from" date: this many days before the analysis date
MAX_WINDOW_DAYS = 3650
AT_RISK_FACTOR, MAX_AT_RISK_FACTOR = 1.5, 10.0  # overdue at 1.5 × the customer's own typical gap
# the page's policy
MIN_REPEAT_BUYERS = 10               # fewer repeat buyers than this: no predictions are shown
HOLDOUT_GROUPS = 7                   # calibration frequency 0 … 7+, as lifetimes' plot
TRUST_GOOD, TRUST_ROUGH = 0.10, 0.25  # |error of the holdout total| for "close" and "rough" agreement
TRUST_CORRELATION = 0.5              # "close" also needs this correlation of predicted and actual purchases
LIKELY_ALIVE = 0.5                   # P(alive) from which a repeat buyer counts as likely still buying
ALIVE_COLUMNS = 30                   # columns of the P(alive) map
ALIVE_MAX_REPEAT = 30                # rows of the P(alive) map at most (p99 of repeat purchases below that)
HISTOGRAM_CAP_QUANTILE = 0.99        # predicted values above this quantile share the last histogram band
HISTOGRAM_MIN_CUSTOMERS = 20         # no cap for this many customers or fewer
SPEND_CORRELATION_LIMIT = 0.3        # |corr(frequency, spend)| above this: Gamma–Gamma's independence fails
TEXT_COLUMNS = 24                    # cohort cells carry their numbers up to this many periods
WINDOW_NAMES = ("new_days", "dormant_days", "churned_days")  # the windows a user may set (0: from the data)
LIST_COLUMNS = ("customer_id", "name", "stage", "last_order_date", "days_since_last_order", "typical_gap_days",
                "gap_basis", "overdue_days", "purchase_days", "first_order_date", "revenue")


def _share(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def buyer_count(dataset: Dataset, as_of: datetime) -> int:
    """Customers with at least one purchase before ``as_of`` (:func:`crm_core.features.customer_summary`)."""
    return customer_summary(dataset.transactions, as_of).height


# ---------------------------------------------------------------- stages

@dataclass(frozen=True)
class StageWindows:
    """The stage windows in days.

    ``derived`` from the data (:func:`crm_core.lifecycle.stage_windows`) and ``chosen`` (what the stages use:
    the derived ones where the user left 0).
    """

    derived: Mapping[str, float]
    chosen: Mapping[str, float]

    @property
    def key(self) -> tuple[tuple[str, float], ...]:
        """The chosen windows as a hashable value, the ``windows`` argument of the stage view-models."""
        return tuple(sorted(self.chosen.items()))

    @property
    def clash(self) -> bool:
        """The dormant window reaches the churned one: nobody can be dormant."""
        return self.chosen["dormant_days"] >= self.chosen["churned_days"]


def chosen_windows(dataset: Dataset, as_of: datetime, new_days: int = 0, dormant_days: int = 0,
                   churned_days: int = 0) -> StageWindows:
    """The windows derived from the data with the user's overrides (0: keep the derived one).

    A come-back counts as recent for as long as a first order does, so a chosen ``new_days`` sets
    ``reactivated_days``.
    """
    derived = stage_windows(dataset.transactions, as_of)
    chosen = dict(derived)
    for name, days in zip(WINDOW_NAMES, (new_days, dormant_days, churned_days), strict=True):
        if days:
            chosen[name] = float(days)
    if new_days:
        chosen["reactivated_days"] = float(new_days)
    return StageWindows(derived, chosen)


def _staged(dataset: Dataset, as_of: datetime, windows: tuple, at_risk_factor: float) -> pl.DataFrame:
    """:func:`crm_core.lifecycle.stages` under ``windows`` (:attr:`StageWindows.key`)."""
    return stages(dataset.transactions, as_of, dataset.customers, at_risk_factor=at_risk_factor, **dict(windows))


def _with_names(dataset: Dataset, people: pl.DataFrame) -> pl.DataFrame:
    """``people`` with the customer table's ``name`` when it has one (the first per customer)."""
    if dataset.customers is None or not dataset.has("customers", "name"):
        return people
    names = (dataset.customers.select(pl.col("customer_id").cast(pl.String), "name")
             .unique("customer_id", keep="first"))
    return people.join(names, on="customer_id", how="left")


def _stage_customers(dataset: Dataset, as_of: datetime, windows: tuple, at_risk_factor: float) -> pl.DataFrame:
    """Each customer's stage with net revenue (orders in the window before ``as_of``) and, when known, name."""
    revenue = customer_summary(dataset.transactions, as_of).select("customer_id", "revenue")
    return _with_names(dataset, _staged(dataset, as_of, windows, at_risk_factor)
                       .join(revenue, on="customer_id", how="left")
                       .with_columns(pl.col("revenue").fill_null(0.0)))


@dataclass(frozen=True)
class CustomerList:
    """The customers of one stage, highest revenue first (``revenue`` left out without amounts)."""

    table: pl.DataFrame
    customers: int
    revenue: float


@dataclass(frozen=True)
class StageGroup:
    """A KPI over several stages.

    ``name`` (``buying``, ``at_risk``, ``lapsed``), its customers and their share of the customers who
    bought (None without buyers).
    """

    name: str
    customers: int
    share_of_buyers: float | None


@dataclass(frozen=True)
class StageSummary:
    """The stages tab.

    ``table`` has one row per stage of :data:`STAGE_ORDER` (``stage, customers, revenue,
    share_of_customers, share_of_revenue, present``); ``present`` are the stages someone is in, in order;
    ``rules`` each stage's rule as ``{"key", "params"}``; ``lists`` the customers of each present stage.
    """

    table: pl.DataFrame
    present: tuple[str, ...]
    everyone: int
    buyers: int
    prospects: int
    groups: tuple[StageGroup, ...]
    rules: Mapping[str, Mapping[str, Any]]
    has_customer_table: bool
    lists: Mapping[str, CustomerList]

    @property
    def first_list(self) -> str:
        """The stage whose list opens first: those at risk (the ones to act on) when there are any."""
        return "at_risk" if "at_risk" in self.present else self.present[0]


def stage_summary(dataset: Dataset, as_of: datetime, windows: tuple, at_risk_factor: float) -> StageSummary:
    """Customers and revenue per lifecycle stage (:func:`crm_core.lifecycle.stages`), and who is in each.

    ``windows`` is :attr:`StageWindows.key`. The lists come with the counts (the stages are computed once):
    each stage's customers with their timing and net revenue, by revenue.
    """
    people = _stage_customers(dataset, as_of, windows, at_risk_factor)
    totals = people.group_by("stage").agg(pl.len().cast(pl.Int64).alias("customers"), pl.col("revenue").sum())
    table = (pl.DataFrame({"stage": STAGE_ORDER})
             .join(totals, on="stage", how="left", maintain_order="left")
             .with_columns(pl.col("customers").is_not_null().alias("present"),
                           pl.col("customers").fill_null(0), pl.col("revenue").fill_null(0.0)))
    everyone = int(table["customers"].sum())
    all_revenue = float(table["revenue"].sum())
    table = table.with_columns(
        (pl.col("customers") / everyone if everyone else pl.lit(None, dtype=pl.Float64)).alias("share_of_customers"),
        (pl.col("revenue") / all_revenue if all_revenue > 0 else pl.lit(None, dtype=pl.Float64))
        .alias("share_of_revenue"),
    ).select("stage", "customers", "revenue", "share_of_customers", "share_of_revenue", "present")
    count = dict(zip(table["stage"], table["customers"], strict=True))
    prospects = int(count["prospect"])
    buyers = everyone - prospects
    groups = tuple(StageGroup(name, n, _share(n, buyers))
                   for name, keys in (("buying", BUYING), ("at_risk", ("at_risk",)), ("lapsed", LAPSED))
                   for n in [int(sum(count[key] for key in keys))])
    present = tuple(table.filter(pl.col("present"))["stage"])
    columns = [name for name in LIST_COLUMNS if name in people.columns
               and (name != "revenue" or has_amounts(dataset.transactions))]
    ranked = people.sort(["revenue", "customer_id"], descending=[True, False])
    lists = {stage: CustomerList(listing.select(columns), listing.height, float(listing["revenue"].sum()))
             for (stage,), listing in ranked.partition_by("stage", as_dict=True, maintain_order=True).items()}
    return StageSummary(table, present, everyone, buyers, prospects, groups,
                        stage_rules(dict(windows), at_risk_factor), dataset.customers is not None, lists)


# ---------------------------------------------------------------- flow between two dates

@dataclass(frozen=True)
class FlowRange:
    """The dates a flow may start on (the day after the first order … the day before the analysis date)."""

    lowest: date
    highest: date
    default: date


def flow_range(dataset: Dataset, as_of: datetime) -> FlowRange | None:
    """The start dates a flow to ``as_of`` can have, by default :data:`FLOW_DAYS` earlier.

    None when the orders span too few days for a flow.
    """
    first_day = cast(datetime, dataset.transactions["order_date"].min()).date()
    lowest, highest = first_day + timedelta(days=1), as_of.date() - timedelta(days=1)
    if highest < lowest:
        return None
    return FlowRange(lowest, highest, min(max(as_of.date() - timedelta(days=FLOW_DAYS), lowest), highest))


@dataclass(frozen=True)
class StageFlow:
    """Moves between stages from ``start`` to the analysis date.

    ``moves`` (``stage_from, stage_to,
    customers, revenue``, every pair, for the Sankey), ``changes`` (those that changed stage, largest
    first) and the KPIs: the share that kept its stage (None without earlier customers), newcomers, buyers
    who slipped to at risk or lapsed, and at-risk or lapsed customers won back.
    """

    moves: pl.DataFrame
    changes: pl.DataFrame
    stayed_share: float | None
    newcomers: int
    slipped: int
    won_back: int


def stage_flow(dataset: Dataset, start: date, as_of: datetime, windows: tuple, at_risk_factor: float) -> StageFlow:
    """Stage transitions from the start of ``start`` to ``as_of`` (:func:`crm_core.lifecycle.transitions`)."""
    moves = transitions(dataset.transactions, datetime.combine(start, datetime.min.time()), as_of, dataset.customers,
                        at_risk_factor=at_risk_factor, **dict(windows))
    quiet = ["at_risk", *LAPSED]

    def customers(condition: pl.Expr) -> int:
        return int(moves.filter(condition)["customers"].sum())

    summary = movement_summary(moves, "stage_from", "stage_to", none=NOT_YET)
    changes = moves.filter(pl.col("stage_from") != pl.col("stage_to")).sort(
        ["customers", "stage_from", "stage_to"], descending=[True, False, False])
    return StageFlow(
        moves, changes, summary.stayed_share, summary.newcomers,
        customers(pl.col("stage_from").is_in(BUYING) & pl.col("stage_to").is_in(quiet)),
        customers(pl.col("stage_from").is_in(quiet) & pl.col("stage_to").is_in(BUYING)),
    )


# ---------------------------------------------------------------- cohorts

VALUE_COLUMNS = {("customers", "count"): "customers_active", ("customers", "percent"): "customer_retention",
                 ("revenue", "count"): "revenue", ("revenue", "percent"): "revenue_retention"}


def period_label(start: date, period: str) -> str:
    """``2024-03`` for a month, ``2024-Q1`` for a quarter."""
    return f"{start.year}-{start.month:02d}" if period == "month" else f"{start.year}-Q{(start.month - 1) // 3 + 1}"


def _period_labels(column: str, period: str) -> pl.Expr:
    """:func:`period_label` of every date in ``column``."""
    start = pl.col(column)
    label = (start.dt.strftime("%Y-%m") if period == "month"
             else pl.format("{}-Q{}", start.dt.year(), start.dt.quarter()))
    return label.alias(column)


@dataclass(frozen=True)
class CohortMatrix:
    """The cohort heatmap.

    One row per first-purchase cohort (``cohorts``, labelled), one column per period since (``periods``). ``z``
    holds the shown measure (``value_column``), ``cells`` each cell's row of :func:`crm_core.lifecycle.cohorts`
    (``period_start`` labelled, plus ``value``) or None where the period has not begun, ``incomplete`` the periods
    that have not ended. ``zmax`` tops the colour scale at the largest value after period 0 (None: the scale's own);
    ``numbers_in_cells`` whether cells carry their numbers. ``download`` is the long table with labelled periods.
    """

    period: str
    measure: str
    view: str
    value_column: str
    cohorts: tuple[str, ...]
    periods: tuple[int, ...]
    z: tuple[tuple[float | None, ...], ...]
    cells: tuple[tuple[Mapping[str, Any] | None, ...], ...]
    incomplete: tuple[tuple[bool, ...], ...]
    zmax: float | None
    numbers_in_cells: bool
    download: pl.DataFrame


def cohort_matrix(dataset: Dataset, as_of: datetime, period: str, measure: str, view: str) -> CohortMatrix:
    """Cohort retention (:func:`crm_core.lifecycle.cohorts`) as a matrix.

    ``measure`` is customers or revenue, shown as a ``view``: percent of period 0 or count.
    """
    table = cohorts(dataset.transactions, period, as_of)
    value_column = VALUE_COLUMNS[(measure, view)]
    starts = sorted(set(table["cohort"].to_list()))
    periods = tuple(range(cast(int, table["period_index"].max()) + 1)) if table.height else ()
    found = {(row["cohort"], row["period_index"]): row for row in table.iter_rows(named=True)}
    def cell_at(start: date, index: int) -> dict[str, Any] | None:
        row = found.get((start, index))
        return None if row is None else {**row, "period_start": period_label(row["period_start"], period),
                                         "value": row[value_column]}

    cells = tuple(tuple(cell_at(start, index) for index in periods) for start in starts)
    z = tuple(tuple(cell["value"] if cell else None for cell in row) for row in cells)
    incomplete = tuple(tuple(cell is not None and not cell["complete"] for cell in row) for row in cells)
    later = [value for row in z for value in row[1:] if value is not None]
    download = table.with_columns(_period_labels("cohort", period), _period_labels("period_start", period))
    return CohortMatrix(period, measure, view, value_column, tuple(period_label(s, period) for s in starts), periods,
                        z, cells, incomplete, max(later) if later and max(later) > 0 else None,
                        len(periods) <= TEXT_COLUMNS, download)


# ---------------------------------------------------------------- predicted value (CLV)

@dataclass(frozen=True)
class AliveMap:
    """P(alive) over days since the last purchase (columns) × repeat purchases (rows).

    For a customer of the median age ``age_days``.
    """

    age_days: int
    silent_days: tuple[int, ...]
    repeats: tuple[int, ...]
    p_alive: tuple[tuple[float, ...], ...]


def _alive_map(result: CLVResult) -> AliveMap:
    """The P(alive) map of a fitted model (BG/NBD P(alive), Fader, Hardie & Lee 2005, eq. 11).

    At most :data:`ALIVE_COLUMNS` columns and up to the 99th percentile of repeat purchases (at least 2, at most
    :data:`ALIVE_MAX_REPEAT`) rows.
    """
    unit_days = TIME_UNIT_DAYS[result.time_unit]
    age_days = max(1, int(round(float(cast(float, result.table["T"].median())) * unit_days)))
    most = int(min(max(float(cast(float, result.table["frequency"].quantile(0.99))), 2), ALIVE_MAX_REPEAT))
    silent_days = np.arange(0, age_days + 1, max(1, math.ceil(age_days / ALIVE_COLUMNS)))
    repeats = np.arange(1, most + 1)
    # numpy at the model's boundary: p_alive is evaluated on the grid at once
    alive = result.betageo.p_alive(repeats[:, None], (age_days - silent_days[None, :]) / unit_days,
                                   age_days / unit_days)
    return AliveMap(age_days, tuple(int(s) for s in silent_days), tuple(int(r) for r in repeats),
                    tuple(tuple(float(p) for p in row) for row in alive))


@dataclass(frozen=True)
class Degeneracy:
    """Why a BG/NBD fit's P(alive) is not shown: it is degenerate (``BetaGeo.degenerate_``).

    ``reason`` is ``BetaGeo.degenerate_reason_``; ``key`` the page's sentence for it:
    ``lifecycle.page.degenerate.no_dropout`` (the data show no measurable drop-out: mean drop-out chance
    ``dropout`` ≈ 0 or P(alive) ≥ ``sure_alive`` for ``sure_alive_share`` of the repeat buyers) or
    ``lifecycle.page.degenerate.at_bound`` (``parameter`` ran to the optimiser's bound).
    """

    reason: str
    key: str
    dropout: float
    sure_alive: float
    sure_alive_share: float
    parameter: str | None = None


def degeneracy(betageo: BetaGeo) -> Degeneracy | None:
    """The :class:`Degeneracy` of a fitted BG/NBD, None when it is not degenerate."""
    reason = betageo.degenerate_reason_
    if reason is None:
        return None
    p = betageo.params_
    parameter = reason.removesuffix("_at_bound") if reason.endswith("_at_bound") else None
    key = "lifecycle.page.degenerate." + ("at_bound" if parameter else "no_dropout")
    return Degeneracy(reason, key, p["a"] / (p["a"] + p["b"]), betageo.sure_alive, betageo.sure_alive_share_,
                      parameter)


@dataclass(frozen=True)
class SpendCheck:
    """Gamma–Gamma's independence check on the model card.

    ``correlation``: Pearson correlation of repeat purchases and average repeat spend over the ``customers``
    the spend model was fitted on (NaN when either does not vary); ``holds`` whether its size is at most
    :data:`SPEND_CORRELATION_LIMIT` (``limit``); ``key`` the verdict's sentence.
    """

    correlation: float
    customers: int
    holds: bool
    key: str
    limit: float = SPEND_CORRELATION_LIMIT


def spend_check(result: CLVResult) -> SpendCheck | None:
    """The independence check of the fitted spend model (Fader, Hardie & Lee 2005b; lifetimes' docs check
    ``corr(frequency, monetary_value)`` of returning customers): None when Gamma–Gamma was not fitted.

    ``holds`` fails when |r| > :data:`SPEND_CORRELATION_LIMIT`: spend depends on frequency. NaN cannot be
    judged (key ``...unknown``).
    """
    gammagamma = result.gammagamma
    if gammagamma is None:
        return None
    r = gammagamma.frequency_spend_correlation_
    holds = not abs(r) > SPEND_CORRELATION_LIMIT
    verdict = "unknown" if math.isnan(r) else "holds" if holds else "fails"
    return SpendCheck(r, int(round(gammagamma.n_customers_)), holds, f"lifecycle.page.spend_check.{verdict}")


@dataclass(frozen=True)
class ValueModel:
    """The value tab and the model card.

    The fit (``result``, None when it could not run) with its time, whether it is shown (``ok``: at least
    :data:`MIN_REPEAT_BUYERS` repeat buyers), the notes to show (the few-repeat-buyers one is said in full by the
    page), the KPIs, the capped histogram of predicted values, the model card's parameters, the P(alive) map and
    ``customers``: every customer's prediction with stage (and name), highest predicted value first, in the columns
    the page shows (the money ones only with amounts). Everything after ``orders_column`` is left empty when not
    ``ok``; the money KPIs and the histogram also without amounts.

    ``degenerate`` (:class:`Degeneracy`, None when the fit is sound) hides every P(alive) view: ``alive_views``
    is False, the P(alive) map (``alive``), the likely-active KPI and the ``p_alive`` column are left out.
    ``spend`` is Gamma–Gamma's independence check (None when that model was not fitted). ``missing``: customers
    with at least one prediction the model gave no number for (blank in the table, left out of the totals and
    the histogram, told by a note).
    """

    result: CLVResult | None
    fit_seconds: float
    repeat_buyers: int
    ok: bool
    minimum: int
    notes: tuple[Mapping[str, Any], ...]
    value_column: str
    orders_column: str
    total_value: float | None = None
    total_orders: float | None = None
    average_value: float | None = None
    customer_count: int = 0
    repeaters: int = 0
    likely_active: int = 0
    likely_active_share: float | None = None
    predicted_values: tuple[float, ...] = ()
    histogram_cap: float | None = None
    above_cap: int = 0
    customers: pl.DataFrame | None = None
    bgnbd_params: tuple[tuple[str, float], ...] = ()
    gammagamma_params: tuple[tuple[str, float], ...] | None = None
    alive: AliveMap | None = None
    degenerate: Degeneracy | None = None
    alive_views: bool = False
    spend: SpendCheck | None = None
    missing: int = 0


def value_model(dataset: Dataset, as_of: datetime, horizon_days: int, discount_percent: float, windows: tuple,
                at_risk_factor: float) -> ValueModel:
    """Fit BG/NBD and Gamma–Gamma as of ``as_of`` and shape what the value tab and the model card show.

    The fit is :func:`crm_core.clv.predict`, value discounted by ``discount_percent`` a month; the
    customers carry their stage under ``windows`` and ``at_risk_factor``. ``fit_seconds`` measures the fit
    (a duration, not a date: with caching, the first computation's). A degenerate fit
    (``BetaGeo.degenerate_``) shows no P(alive) view; the page says why (:class:`Degeneracy`) instead of
    the notes on it.
    """
    monthly_discount = round(discount_percent / 100, 4)
    value_column, orders_column = f"predicted_value_{horizon_days}_days", f"expected_orders_next_{horizon_days}_days"
    started = time.perf_counter()
    try:
        result = predict(dataset.transactions, as_of, horizon_days, monthly_discount,
                         min_repeat_customers=MIN_REPEAT_BUYERS)
    except ValueError:  # no customer with a purchase before as_of
        return ValueModel(None, 0.0, 0, False, MIN_REPEAT_BUYERS, (), value_column, orders_column)
    seconds = time.perf_counter() - started
    repeat_buyers = int((result.table["frequency"] > 0).sum())
    said_in_full = ("lifecycle.note.few_repeat_buyers", "lifecycle.note.no_dropout", "lifecycle.note.at_bound")
    notes = tuple(note for note in result.notes if note["key"] not in said_in_full)
    if repeat_buyers < MIN_REPEAT_BUYERS:
        return ValueModel(result, seconds, repeat_buyers, False, MIN_REPEAT_BUYERS, notes, value_column, orders_column)

    people = _with_names(dataset, _staged(dataset, as_of, windows, at_risk_factor).select("customer_id", "stage"))
    values = (result.table.join(people, on="customer_id", how="left")
              .sort([value_column, "customer_id"], descending=[True, False], nulls_last=True))
    repeaters = values.filter(pl.col("frequency") > 0)
    betageo, gammagamma = result.betageo, result.gammagamma
    degenerate = degeneracy(betageo)
    alive_views = degenerate is None
    likely_active = int((repeaters["p_alive"] >= LIKELY_ALIVE).sum())
    money = has_amounts(dataset.transactions)
    predicted = values[value_column].drop_nulls()  # customers without a prediction: counted in ``missing``
    cap = (float(cast(float, predicted.quantile(HISTOGRAM_CAP_QUANTILE)))
           if money and predicted.len() > HISTOGRAM_MIN_CUSTOMERS else None)
    shown = ["customer_id", *(["name"] if "name" in values.columns else []), "stage", value_column, "p_alive",
             orders_column, "expected_avg_order_value", "last_order_date", "expected_next_order_date",
             "days_overdue", "next_order_basis"]
    if not money:
        shown = [name for name in shown if name not in (value_column, "expected_avg_order_value")]
    if not alive_views:
        shown.remove("p_alive")
    missing = (int(values.select(pl.any_horizontal(pl.col(list(result.missing)).is_null()).sum()).item())
               if result.missing else 0)
    p = betageo.params_
    gammagamma_params = None
    if gammagamma is not None:
        g = gammagamma.params_
        gammagamma_params = (("p", g["p"]), ("q", g["q"]), ("v", g["v"]),
                             ("mean_spend", gammagamma.population_mean_spend_),
                             ("log_likelihood", gammagamma.log_likelihood_))
    return ValueModel(
        result, seconds, repeat_buyers, True, MIN_REPEAT_BUYERS, notes, value_column, orders_column,
        total_value=float(predicted.sum()) if money else None,
        total_orders=float(values[orders_column].sum()),
        average_value=float(cast(float, predicted.mean())) if money else None,
        customer_count=values.height, repeaters=repeaters.height, likely_active=likely_active,
        likely_active_share=_share(likely_active, repeaters.height),
        predicted_values=tuple(predicted.to_list()) if money else (),
        histogram_cap=cap, above_cap=int((predicted > cap).sum()) if cap is not None else 0,
        customers=values.select(shown),
        bgnbd_params=(("r", p["r"]), ("alpha", p["alpha"]), ("a", p["a"]), ("b", p["b"]),
                      ("rate", p["r"] / p["alpha"]), ("dropout", p["a"] / (p["a"] + p["b"])),
                      ("log_likelihood", betageo.log_likelihood_)),
        gammagamma_params=gammagamma_params,
        alive=_alive_map(result) if alive_views else None,
        degenerate=degenerate, alive_views=alive_views, spend=spend_check(result), missing=missing,
    )


# ---------------------------------------------------------------- holdout check

@dataclass(frozen=True)
class Verdict:
    """How far to trust the purchase model.

    ``level`` ``good``, ``rough`` or ``poor``, the translation ``key`` of its sentence, and its parameters (shares:
    the error of the holdout total and both limits).
    """

    level: str
    key: str
    error: float
    good: float = TRUST_GOOD
    rough: float = TRUST_ROUGH


def trust_verdict(total_relative_error: float, correlation: float) -> Verdict:
    """The verdict on a holdout check.

    ``good``: the holdout total within :data:`TRUST_GOOD` and a correlation of at least
    :data:`TRUST_CORRELATION`; ``rough``: within :data:`TRUST_ROUGH`; else ``poor`` (also for NaN).
    """
    error = abs(total_relative_error)
    level = ("good" if error <= TRUST_GOOD and correlation >= TRUST_CORRELATION
             else "rough" if error <= TRUST_ROUGH else "poor")
    return Verdict(level, f"lifecycle.page.verdict.{level}", error)


@dataclass(frozen=True)
class HoldoutCheck:
    """BG/NBD fitted before ``calibration_end`` against the purchases after it.

    ``ok`` when it ran with at least :data:`MIN_REPEAT_BUYERS` repeat buyers in the calibration period; then
    ``groups`` (mean predicted vs actual purchases by calibration frequency, ``label`` ``0`` … ``7+``), ``scores``
    (:func:`crm_core.clv.holdout_metrics`), the ``verdict``, and the calibration fit's state: ``converged``
    (``BetaGeo.converged_``) and ``degenerate`` (:class:`Degeneracy`, None when sound).
    """

    calibration_end: datetime
    repeat_buyers: int
    ok: bool
    minimum: int = MIN_REPEAT_BUYERS
    groups: pl.DataFrame | None = None
    scores: Mapping[str, float] | None = None
    verdict: Verdict | None = None
    converged: bool = True
    degenerate: Degeneracy | None = None


def holdout_check(dataset: Dataset, as_of: datetime, holdout_days: int, penalizer: float) -> HoldoutCheck:
    """Hold out the last ``holdout_days`` before ``as_of`` with the penalizer of the fitted model.

    :func:`crm_core.clv.holdout`, lifetimes' calibration-vs-holdout check.
    """
    calibration_end = as_of - timedelta(days=holdout_days)
    try:
        fitted = holdout(dataset.transactions, calibration_end, as_of, penalizer=penalizer)
    except ValueError:  # nobody bought before the calibration end
        return HoldoutCheck(calibration_end, 0, False)
    table = fitted.table
    repeat_buyers = int((table["frequency_cal"] > 0).sum())
    if repeat_buyers < MIN_REPEAT_BUYERS:
        return HoldoutCheck(calibration_end, repeat_buyers, False)
    groups = holdout_by_frequency(table, HOLDOUT_GROUPS)
    groups = groups.with_columns(
        pl.when(pl.col("frequency_cal") < HOLDOUT_GROUPS).then(pl.col("frequency_cal").cast(pl.String))
        .otherwise(pl.format("{}+", pl.col("frequency_cal"))).alias("label"))
    scores = holdout_metrics(table)
    return HoldoutCheck(calibration_end, repeat_buyers, True, groups=groups, scores=scores,
                        verdict=trust_verdict(scores["total_relative_error"], scores["correlation"]),
                        converged=fitted.converged, degenerate=degeneracy(fitted.betageo))
