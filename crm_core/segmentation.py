"""Customer segmentation: RFM scores and segment maps, value tiers, k-means clusters, segment movement.

Everything takes the output of :func:`crm_core.features.customer_summary` (one row per customer as of one
analysis date) and returns new frames; segment names, actions and cluster traits are message KEYS that the
page translates (``segmentation.segment.<key>``, ``segmentation.action.<key>``, ``segmentation.trait.<key>``).

RFM (DESIGN.md, "Definitions"): recency = days from the last purchase to the analysis date, frequency = distinct
purchases (credit notes and other refund documents are not orders, :mod:`crm_core.features`), monetary = net
revenue (refunds included; null without amounts, see :func:`rfm`) (PyMC-Marketing's preset uses the mean order
value, as PyMC-Marketing does).
Segment maps are conventions, not a standard, so they ship as named presets (:data:`PRESETS`) whose rule
tables can be shown (:func:`rule_table`), edited and passed back (``rfm(..., rules=edited)``).
"""
from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import polars as pl

from crm_core.features import MissingAmounts

if TYPE_CHECKING:
    from polars.expr.whenthen import ChainedThen, Then

# ---------------------------------------------------------------- segment keys and actions

CATCH_ALL = "other"
"""Segment of every customer no rule matches; always appended after the rules, so the partition holds."""

NO_SEGMENT = "none"
"""Segment of a customer absent from one side of :func:`movement` (e.g. not yet a customer at ``from``)."""

SCORE_COLUMNS = ("r_score", "f_score", "m_score", "fm_score", "rfm_code", "segment")
RULE_COLUMNS = ("segment", "r_min", "r_max", "f_min", "f_max", "m_min", "m_max", "fm_min", "fm_max")
_RULE_SCHEMA = {
    "segment": pl.String, "r_min": pl.Int64, "r_max": pl.Int64, "f_min": pl.Int64, "f_max": pl.Int64,
    "m_min": pl.Int64, "m_max": pl.Int64, "fm_min": pl.Float64, "fm_max": pl.Float64,
}
_MONEY_DECIMALS = 2  # revenues equal to the cent are ties (sums of floats differ in the 13th digit)
MAX_BINS = 9  # rfm_code writes one digit per score


MAX_RULES = 200  # rules in one map: far above any preset (11), low enough that a link cannot exhaust memory


class RuleError(ValueError):
    """A malformed preset name, scale or rule table; ``key``/``params`` give the translatable message."""

    def __init__(self, key: str, message: str, **params: Any) -> None:
        super().__init__(message)
        self.key = f"segmentation.rule_error.{key}"
        self.params = params


@dataclass(frozen=True)
class Rule:
    """One row of a rule table: a customer matches when every given score range holds (bounds inclusive).

    ``None`` means "any". ``fm`` is Shopify's combined score (F + M) / 2, in half steps.
    """

    segment: str
    r: tuple[int, int] | None = None
    f: tuple[int, int] | None = None
    m: tuple[int, int] | None = None
    fm: tuple[float, float] | None = None


@dataclass(frozen=True)
class Preset:
    """A named segment map: the score scale (``bins``), the rules (first match wins) and where they come from.

    ``segments`` lists every segment the preset can produce, best first (for legends and colours); it may
    name segments assigned outside the score rules (Shopify's ``prospects``: customers without orders, which
    never appear in a customer summary and come from the customers table in :mod:`crm_core.lifecycle`).
    ``monetary`` is the summary column the M score ranks.
    """

    name: str
    bins: int
    rules: tuple[Rule, ...]
    segments: tuple[str, ...]
    monetary: str = "revenue"
    source: str = ""


def _rules(*rows: tuple) -> tuple[Rule, ...]:
    """Compact rule rows ``(segment, r_lo, r_hi, f_lo, f_hi, m_lo, m_hi)`` -> :class:`Rule` tuple."""
    return tuple(Rule(segment, (r0, r1), (f0, f1), (m0, m1)) for segment, r0, r1, f0, f1, m0, m1 in rows)


# The common 11-segment map over all 125 R-F-M codes, as published by Squeezely ("RFM app" wiki) and
# reproduced in many RFM guides (research/mission_anchors.md §5.2). The code lists are written here as
# disjoint score boxes (41 rows), so rule order does not matter and no code falls to the catch-all;
# tests/core/test_segmentation.py checks the boxes against the published code lists code by code.
_STANDARD = _rules(
    ("champions", 4, 5, 4, 5, 5, 5), ("champions", 4, 5, 5, 5, 4, 4), ("champions", 5, 5, 4, 4, 4, 4),
    ("loyal", 3, 3, 4, 5, 4, 5), ("loyal", 3, 4, 3, 3, 5, 5), ("loyal", 4, 4, 4, 4, 4, 4),
    ("loyal", 5, 5, 4, 4, 3, 3),
    ("potential_loyalist", 3, 5, 4, 5, 1, 2), ("potential_loyalist", 4, 5, 3, 3, 1, 3),
    ("potential_loyalist", 3, 5, 5, 5, 3, 3), ("potential_loyalist", 3, 3, 2, 3, 3, 3),
    ("potential_loyalist", 4, 4, 2, 2, 3, 3),
    ("new", 4, 4, 1, 2, 1, 2), ("new", 5, 5, 1, 1, 1, 2), ("new", 3, 3, 1, 1, 1, 1),
    ("promising", 3, 5, 1, 1, 3, 5), ("promising", 5, 5, 2, 2, 1, 5), ("promising", 4, 4, 2, 2, 4, 5),
    ("need_attention", 3, 5, 3, 3, 4, 4), ("need_attention", 3, 3, 2, 2, 4, 5),
    ("need_attention", 3, 4, 4, 4, 3, 3), ("need_attention", 5, 5, 3, 3, 5, 5),
    ("about_to_sleep", 2, 2, 2, 5, 1, 1), ("about_to_sleep", 3, 3, 2, 3, 1, 1),
    ("about_to_sleep", 2, 2, 1, 1, 3, 3), ("about_to_sleep", 3, 3, 1, 1, 2, 2),
    ("at_risk", 1, 2, 2, 3, 4, 5), ("at_risk", 1, 2, 4, 5, 2, 3), ("at_risk", 2, 2, 4, 5, 4, 5),
    ("at_risk", 1, 1, 3, 3, 3, 3), ("at_risk", 1, 1, 4, 4, 5, 5),
    ("cant_lose", 1, 2, 1, 1, 4, 5), ("cant_lose", 1, 1, 4, 5, 4, 4), ("cant_lose", 1, 1, 1, 1, 3, 3),
    ("cant_lose", 1, 1, 5, 5, 5, 5),
    ("hibernating", 1, 3, 2, 3, 2, 2), ("hibernating", 1, 2, 2, 2, 3, 3), ("hibernating", 2, 2, 1, 1, 1, 2),
    ("hibernating", 2, 2, 3, 3, 3, 3),
    ("lost", 1, 1, 1, 5, 1, 1), ("lost", 1, 1, 1, 1, 2, 2),
)

# The 10-cell R x F grid (M ignored): the regex map copied across many public notebooks
# (research/mission_anchors.md §5.3). Covers all 25 R-F cells.
_RF_GRID = tuple(Rule(segment, (r0, r1), (f0, f1)) for segment, r0, r1, f0, f1 in (
    ("champions", 5, 5, 4, 5), ("loyal", 3, 4, 4, 5), ("potential_loyalist", 4, 5, 2, 3),
    ("new", 5, 5, 1, 1), ("promising", 4, 4, 1, 1), ("need_attention", 3, 3, 3, 3),
    ("about_to_sleep", 3, 3, 1, 2), ("cant_lose", 1, 2, 5, 5), ("at_risk", 1, 2, 3, 4),
    ("hibernating", 1, 2, 1, 2),
))

# rfm (R package, rsquaredacademy, 0.3.0) R/rfm-segment.R documented example, first match wins, the rest
# "Others" (research/mission_anchors.md §5.4). It leaves codes such as 525 or 155 to the catch-all.
_RFM_R = _rules(
    ("champions", 5, 5, 5, 5, 5, 5), ("potential_loyalist", 3, 5, 3, 5, 2, 5), ("loyal", 2, 4, 2, 4, 2, 4),
    ("promising", 3, 4, 1, 3, 3, 5), ("new", 4, 5, 1, 3, 1, 5), ("cant_lose", 1, 2, 3, 4, 4, 5),
    ("at_risk", 1, 2, 2, 5, 4, 5), ("need_attention", 1, 3, 3, 5, 3, 5), ("about_to_sleep", 2, 3, 1, 3, 1, 4),
    ("lost", 1, 1, 1, 5, 1, 5),
)

# Shopify's 11 RFM groups come from R and FM = (F + M) / 2 on quintiles (Shopify Help Center, "RFM customer
# analysis"; GraphQL enum CustomerRfmGroup). Shopify publishes the group descriptions, not the cut-offs, so
# these bands are ours, read from the descriptions: "very recent" = R5, "recent" = R3-4, "without recent
# purchases" = R1-2; FM 4-5 "many orders, most spend" / "very strong history", FM 3-3.5 "strong history",
# FM 2-3.5 "some orders, moderate spend", FM 1-1.5 "few orders, low spend". Covers every R x FM cell.
_SHOPIFY = tuple(Rule(segment, (r0, r1), fm=(fm0, fm1)) for segment, r0, r1, fm0, fm1 in (
    ("champions", 5, 5, 4.0, 5.0), ("loyal", 3, 4, 4.0, 5.0), ("active", 4, 5, 2.0, 3.5),
    ("need_attention", 3, 3, 2.0, 3.5), ("new", 5, 5, 1.0, 1.5), ("promising", 3, 4, 1.0, 1.5),
    ("previously_loyal", 1, 2, 4.0, 5.0), ("at_risk", 1, 2, 3.0, 3.5), ("almost_lost", 1, 2, 2.0, 2.5),
    ("dormant", 1, 2, 1.0, 1.5),
))

# Klaviyo's RFM report scores 1-3 and names 6 groups (Klaviyo Help Center 17797937793179; Klaviyo Academy
# "Identify key customer cohorts with the RFM analysis": Champions = recent, frequent, highest spend; Loyal =
# somewhat recent or frequent, lower spend; Recent = recent but not frequent; At risk = frequent but not
# recent; Inactive = 111). Klaviyo does not publish its code lists; these boxes follow the descriptions
# (Loyal includes 321, 322, 331, 232, 233 as secondary sources list) and cover all 27 codes.
_KLAVIYO = _rules(
    ("champions", 3, 3, 2, 3, 3, 3), ("loyal", 2, 3, 2, 3, 1, 3), ("recent", 3, 3, 1, 1, 1, 3),
    ("need_attention", 2, 2, 1, 1, 1, 3), ("at_risk", 1, 1, 2, 3, 1, 3), ("inactive", 1, 1, 1, 1, 1, 3),
)

# PyMC-Marketing clv.utils.rfm_segments default config (_default_rfm_segment_config), quartiles 1-4 and the
# mean spend per purchase as monetary value; its 46 codes as disjoint boxes, the other 18 codes are "Other".
_PYMC = _rules(
    ("premium", 3, 4, 3, 4, 3, 4),
    ("repeat", 2, 2, 3, 4, 3, 4), ("repeat", 2, 3, 3, 3, 2, 2), ("repeat", 1, 1, 4, 4, 3, 3),
    ("top_spender", 3, 4, 1, 2, 3, 4), ("top_spender", 1, 1, 2, 4, 4, 4), ("top_spender", 1, 1, 3, 3, 3, 3),
    ("top_spender", 2, 2, 2, 2, 4, 4),
    ("at_risk", 2, 4, 1, 2, 2, 2), ("at_risk", 1, 1, 2, 2, 2, 3), ("at_risk", 1, 1, 3, 3, 2, 2),
    ("at_risk", 2, 2, 1, 1, 4, 4), ("at_risk", 2, 2, 2, 2, 3, 3),
    ("inactive", 1, 1, 1, 1, 1, 4), ("inactive", 2, 4, 1, 1, 1, 1),
)

_STANDARD_SEGMENTS = ("champions", "loyal", "potential_loyalist", "new", "promising", "need_attention",
                      "about_to_sleep", "at_risk", "cant_lose", "hibernating", "lost")

PRESETS: dict[str, Preset] = {
    "standard": Preset("standard", 5, _STANDARD, _STANDARD_SEGMENTS,
                       source="11-segment map of all 125 codes (Squeezely RFM app wiki)"),
    "rf_grid": Preset("rf_grid", 5, _RF_GRID, tuple(s for s in _STANDARD_SEGMENTS if s != "lost"),
                      source="R x F grid, 10 segments (common pandas recipe)"),
    "rfm_r": Preset("rfm_r", 5, _RFM_R,
                    ("champions", "loyal", "potential_loyalist", "new", "promising", "need_attention",
                     "about_to_sleep", "at_risk", "cant_lose", "lost", CATCH_ALL),
                    source="rfm R package 0.3.0, rfm_segment example rules"),
    "shopify": Preset("shopify", 5, _SHOPIFY,
                      ("champions", "loyal", "active", "need_attention", "new", "promising", "previously_loyal",
                       "at_risk", "almost_lost", "dormant", "prospects"),
                      source="Shopify RFM groups on R and (F+M)/2; bands read from Shopify's descriptions"),
    "klaviyo": Preset("klaviyo", 3, _KLAVIYO,
                      ("champions", "loyal", "recent", "need_attention", "at_risk", "inactive"),
                      source="Klaviyo RFM report groups, scores 1-3"),
    "pymc": Preset("pymc", 4, _PYMC, ("premium", "repeat", "top_spender", "at_risk", "inactive", CATCH_ALL),
                   monetary="avg_order_value",
                   source="PyMC-Marketing clv.utils.rfm_segments default config, quartiles"),
}

SEGMENT_KEYS: tuple[str, ...] = tuple(dict.fromkeys(
    [s for preset in PRESETS.values() for s in preset.segments] + [CATCH_ALL]))
"""Every segment key a preset can produce (each has ``segmentation.segment.<key>`` and an action)."""


def recommended_action(segment_key: str) -> str:
    """The i18n key of a practice-grounded next step for a segment: ``segmentation.action.<key>``.

    Segments outside the presets (custom rule tables) get the generic ``segmentation.action.other``.
    """
    return f"segmentation.action.{segment_key if segment_key in SEGMENT_KEYS else CATCH_ALL}"


# ---------------------------------------------------------------- rule tables

def _preset(preset: str | Preset) -> Preset:
    if isinstance(preset, Preset):
        return preset
    if preset not in PRESETS:
        raise RuleError("unknown_preset", f"unknown RFM preset {preset!r}; choose one of {sorted(PRESETS)}",
                        preset=str(preset))
    return PRESETS[preset]


def rule_table(preset: str | Preset = "standard") -> pl.DataFrame:
    """A preset's rules as an editable table, one row per rule, in evaluation order (first match wins).

    Columns :data:`RULE_COLUMNS`: ``segment`` and inclusive score bounds ``r_min … m_max`` (integers) and
    ``fm_min, fm_max`` (Shopify's (F+M)/2); null means "any". The catch-all ``other`` is not listed: it is
    always appended when the rules are applied. Pass an edited copy back as ``rfm(..., rules=table)``.
    """
    rows = []
    for rule in _preset(preset).rules:
        row: dict[str, Any] = {"segment": rule.segment}
        for name in ("r", "f", "m", "fm"):
            bounds = getattr(rule, name)
            row[f"{name}_min"], row[f"{name}_max"] = bounds if bounds is not None else (None, None)
        rows.append(row)
    return pl.DataFrame(rows, schema=_RULE_SCHEMA, orient="row")


def _bound(value: Any, row: int, column: str, bins: int) -> float | None:
    """One validated bound: None, or a number within 1..bins (integer for r, f, m)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise RuleError("not_a_score", f"rule {row}: {column} = {value!r} is not a score from 1 to {bins}",
                        row=row, column=column, value=str(value), bins=bins)
    # any numbers.Real converts and compares like a float; typeshed's numbers.Real allows neither int() nor 1 <= value
    number = cast(float, value)
    if not column.startswith("fm") and float(number) != int(number):
        raise RuleError("not_a_score", f"rule {row}: {column} = {value!r} is not a whole score from 1 to {bins}",
                        row=row, column=column, value=str(value), bins=bins)
    if not 1 <= number <= bins:
        raise RuleError("out_of_range", f"rule {row}: {column} = {value!r} is outside the scores 1 to {bins}",
                        row=row, column=column, value=str(value), bins=bins)
    return float(number) if column.startswith("fm") else int(number)


def rules_from_table(table: pl.DataFrame | Sequence[Rule] | Sequence[Mapping[str, Any]], bins: int) -> tuple[Rule, ...]:
    """Validate an (edited) rule table and turn it into rules; raise :class:`RuleError` when malformed.

    Accepts the frame :func:`rule_table` returns (``fm_min``/``fm_max`` may be absent), a list of such rows
    as dicts, or a list of :class:`Rule`. A missing bound means "any"; bounds are inclusive scores 1..bins
    and ``min`` may not exceed ``max``.
    """
    items: list[Rule | Mapping[str, Any]] = list(table) if not isinstance(table, pl.DataFrame) else []
    given_rules = [item for item in items if isinstance(item, Rule)]
    if items and len(given_rules) == len(items):
        table = rule_table(Preset("custom", bins, tuple(given_rules), ()))
    if isinstance(table, pl.DataFrame):
        rows: list[Mapping[str, Any]] = list(table.iter_rows(named=True))
        columns = set(table.columns)
    else:  # dict rows are read as they are: no type inference that could turn a bad cell into a null
        rows = [dict(cast(Mapping[str, Any], item)) for item in items]  # mappings (dict() rejects a stray Rule)
        columns = set.intersection(*(set(row) for row in rows)) if rows else set(RULE_COLUMNS)
    if len(rows) > MAX_RULES:
        raise RuleError("too_many", f"{len(rows)} rules, at most {MAX_RULES}", count=len(rows), limit=MAX_RULES)
    missing = [c for c in RULE_COLUMNS[:7] if c not in columns]
    if missing:
        raise RuleError("missing_column", f"the rule table has no column {missing[0]!r}", column=missing[0])
    rules = []
    for number, row in enumerate(rows, start=1):
        segment = row["segment"]
        if not isinstance(segment, str) or not segment.strip():
            raise RuleError("empty_segment", f"rule {number} has no segment name", row=number)
        ranges: dict[str, tuple | None] = {}
        for name in ("r", "f", "m", "fm"):
            low = _bound(row.get(f"{name}_min"), number, f"{name}_min", bins)
            high = _bound(row.get(f"{name}_max"), number, f"{name}_max", bins)
            if low is not None and high is not None and low > high:
                raise RuleError("min_above_max", f"rule {number}: {name}_min {low} is above {name}_max {high}",
                                row=number, field=name, low=low, high=high)
            if low is None and high is None:
                ranges[name] = None
            else:
                ranges[name] = (low if low is not None else 1, high if high is not None else bins)
        rules.append(Rule(segment.strip(), **ranges))
    return tuple(rules)


def rules_to_text(rules: Sequence[Rule]) -> str:
    """Rules as one short line for a share link: ``segment:r:f:m:fm`` per rule, ``;`` between rules, each
    range ``low-high`` or empty for "any" (``champions:5-5:4-5::;loyal::3-5::``). :func:`rules_from_text`
    reads it back."""
    def bounds(value: tuple | None) -> str:
        return "" if value is None else f"{value[0]:g}-{value[1]:g}"

    return ";".join(":".join([rule.segment] + [bounds(getattr(rule, name)) for name in ("r", "f", "m", "fm")])
                    for rule in rules)


def rules_from_text(text: str, bins: int) -> tuple[Rule, ...]:
    """The rules of :func:`rules_to_text`, validated like an edited table; raise :class:`RuleError` when the
    text is not such a line (a hand-edited or truncated link)."""
    count = text.count(";") + 1
    if count > MAX_RULES:  # before splitting: a link of 5,000 rules took the server past 8 GB
        raise RuleError("too_many", f"{count} rules, at most {MAX_RULES}", count=count, limit=MAX_RULES)
    rows: list[dict[str, Any]] = []
    for number, part in enumerate(text.split(";"), start=1):
        fields = part.split(":")
        if len(fields) != 5:
            raise RuleError("bad_text", f"rule {number} of the link is not segment:r:f:m:fm", row=number)
        row: dict[str, Any] = {"segment": fields[0]}
        for name, bounds in zip(("r", "f", "m", "fm"), fields[1:]):
            low = high = None
            if bounds:
                try:
                    low, high = (float(x) if name == "fm" else int(x) for x in bounds.split("-"))
                except ValueError:
                    raise RuleError("bad_text", f"rule {number} of the link has a bad range {bounds!r}",
                                    row=number) from None
            row[f"{name}_min"], row[f"{name}_max"] = low, high
        rows.append(row)
    return rules_from_table(rows, bins)


def _matches(rule: Rule) -> pl.Expr:
    condition = pl.lit(True)
    for name, column in (("r", "r_score"), ("f", "f_score"), ("m", "m_score"), ("fm", "fm_score")):
        bounds = getattr(rule, name)
        if bounds is not None:
            condition = condition & pl.col(column).is_between(bounds[0], bounds[1], closed="both")
    return condition


def _segment_expr(rules: Sequence[Rule]) -> pl.Expr:
    """First matching rule wins; nothing matched -> :data:`CATCH_ALL`."""
    if not rules:
        return pl.lit(CATCH_ALL)
    chain: Then | ChainedThen = pl.when(_matches(rules[0])).then(pl.lit(rules[0].segment))
    for rule in rules[1:]:
        chain = chain.when(_matches(rule)).then(pl.lit(rule.segment))
    return chain.otherwise(pl.lit(CATCH_ALL))


def _check_bins(bins: int) -> int:
    if isinstance(bins, bool) or not isinstance(bins, int) or not 2 <= bins <= MAX_BINS:
        raise RuleError("bad_bins", f"bins must be a whole number from 2 to {MAX_BINS}, got {bins!r}",
                        bins=str(bins), max_bins=MAX_BINS)
    return bins


def _resolve(preset: str | Preset, bins: int | None, rules: Any) -> tuple[Preset, int, tuple[Rule, ...]]:
    chosen = _preset(preset)
    if rules is None:
        return chosen, chosen.bins, chosen.rules
    scale = _check_bins(bins if bins is not None else chosen.bins)
    return chosen, scale, rules_from_table(rules, scale)


def score_map(preset: str | Preset = "standard", bins: int | None = None, rules: Any = None) -> pl.DataFrame:
    """Every score code of a preset (or custom rules) with its segment: ``bins``³ rows.

    Columns ``r_score, f_score, m_score, fm_score, rfm_code, segment``. :func:`rfm` joins customers to
    this map, so it is also what a page shows as "which code is which segment".
    """
    _, scale, rule_set = _resolve(preset, bins, rules)
    return _code_grid(scale, rule_set)


def _code_grid(scale: int, rule_set: Sequence[Rule]) -> pl.DataFrame:
    scores = range(1, scale + 1)
    grid = pl.DataFrame(list(itertools.product(scores, scores, scores)),
                        schema={"r_score": pl.Int64, "f_score": pl.Int64, "m_score": pl.Int64}, orient="row")
    return grid.with_columns(((pl.col("f_score") + pl.col("m_score")) / 2).alias("fm_score")).with_columns(
        pl.concat_str([pl.col(c).cast(pl.String) for c in ("r_score", "f_score", "m_score")]).alias("rfm_code"),
        _segment_expr(rule_set).alias("segment"),
    )


# ---------------------------------------------------------------- RFM

def quantile_score(value: pl.Expr, bins: int) -> pl.Expr:
    """Quantile score 1..bins, higher value = higher score, equal values always equal scores.

    score = 1 + floor(bins × (number of customers with a strictly lower value) / n), i.e. the percentile
    rank with ties placed at the lowest position of their block (``rank(method="min")``). Without ties this
    is the usual equal-count bins (n = 10, bins = 5: two customers per score); a value shared by many
    customers gets the score where its block starts, so the one-order majority all get F = 1 and the next
    score up may be skipped. Deterministic: it depends on the values only, not on row order or ids.
    """
    below = value.rank("min").cast(pl.Int64) - 1
    return (below * bins // pl.len().cast(pl.Int64) + 1).cast(pl.Int64)


def rfm(summary: pl.DataFrame, bins: int | None = None, preset: str | Preset = "standard",
        rules: Any = None) -> pl.DataFrame:
    """RFM scores and segment per customer (the customer summary plus :data:`SCORE_COLUMNS`).

    Parameters
    ----------
    summary : output of :func:`crm_core.features.customer_summary` (``recency_days``, ``orders``,
        ``revenue``; ``avg_order_value`` for the ``pymc`` preset).
    bins : score scale for a custom ``rules`` table (default: the preset's). A preset's own rules are
        written for its scale, so without ``rules`` the preset decides: 5 for standard, rf_grid, rfm_r and
        shopify, 3 for klaviyo, 4 for pymc.
    preset : a key of :data:`PRESETS`.
    rules : an edited rule table (see :func:`rule_table`); validated, and the catch-all ``other`` is
        always appended so every customer lands in exactly one segment.

    Scores (:func:`quantile_score`): R ranks ``recency_days`` reversed (recent = high), F ranks ``orders``,
    M ranks the preset's monetary column (net ``revenue``, rounded to the cent; PyMC-Marketing's mean order
    value for ``pymc``). ``fm_score`` = (F + M) / 2 (Shopify). ``rfm_code`` = e.g. ``"545"``.

    Without amounts (the monetary column null: transactions without money, see
    :func:`crm_core.features.has_amounts`) M is unknown: ``m_score`` is null, ``fm_score`` = F and
    ``rfm_code`` has two digits (``"54"``), and the segment is the one the map gives the code with M = F
    (``"545"``): spend is taken to follow frequency. This reads every map on R and F alone, which is
    what Shopify's R × (F+M)/2 groups become with FM = F, and every customer still lands in one segment
    of the chosen map. Customers are scored only on the other customers' known values (a null is not
    ranked).
    """
    chosen, scale, rule_set = _resolve(preset, bins, rules)
    codes = _code_grid(scale, rule_set).select("r_score", "f_score", "m_score", "rfm_code", "segment")
    frame = summary.drop(SCORE_COLUMNS, strict=False)
    monetary = pl.col(chosen.monetary).round(_MONEY_DECIMALS)
    unknown = frame[chosen.monetary].null_count()
    if unknown == 0:
        m_score = quantile_score(monetary, scale)
    elif unknown == frame.height:
        m_score = pl.lit(None, dtype=pl.Int64)
    else:  # rank the known values among themselves
        known = frame.filter(pl.col(chosen.monetary).is_not_null()).select(
            "customer_id", quantile_score(monetary, scale).alias("_m_known"))
        frame = frame.join(known, on="customer_id", how="left", maintain_order="left")
        m_score = pl.col("_m_known")
    scored = frame.with_columns(
        quantile_score(-pl.col("recency_days"), scale).alias("r_score"),
        quantile_score(pl.col("orders"), scale).alias("f_score"),
        m_score.cast(pl.Int64).alias("m_score"),
    ).drop("_m_known", strict=False).with_columns(
        ((pl.col("f_score") + pl.col("m_score").fill_null(pl.col("f_score"))) / 2).alias("fm_score"))
    lookup = pl.col("m_score").fill_null(pl.col("f_score")).alias("_m_lookup")
    return (
        scored.with_columns(lookup)
        .join(codes.rename({"m_score": "_m_lookup"}), on=["r_score", "f_score", "_m_lookup"], how="left",
              maintain_order="left")
        .with_columns(pl.when(pl.col("m_score").is_null())
                      .then(pl.col("rfm_code").str.slice(0, 2)).otherwise(pl.col("rfm_code")).alias("rfm_code"))
        .drop("_m_lookup")
    )


def segment_table(scored: pl.DataFrame) -> pl.DataFrame:
    """Per segment of an :func:`rfm` result: size, revenue, averages and the recommended action key.

    Columns ``segment, customers, share_of_customers, revenue, share_of_revenue`` (null when total net
    revenue is not positive), ``avg_recency_days, avg_orders, avg_revenue`` (monetary: mean net revenue per
    customer) and ``action`` (:func:`recommended_action`). Sorted by revenue, largest first.
    """
    known = pl.col("segment").is_in(list(SEGMENT_KEYS))
    table = (
        scored.group_by("segment")
        .agg(
            pl.len().cast(pl.Int64).alias("customers"),
            pl.when(pl.col("revenue").count() > 0).then(pl.col("revenue").sum()).alias("revenue"),  # null: no amounts
            pl.col("recency_days").mean().alias("avg_recency_days"),
            pl.col("orders").mean().alias("avg_orders"),
            pl.col("revenue").mean().alias("avg_revenue"),
        )
        .with_columns(
            (pl.col("customers") / pl.col("customers").sum()).alias("share_of_customers"),
            pl.when(pl.col("revenue").sum() > 0).then(pl.col("revenue") / pl.col("revenue").sum())
            .alias("share_of_revenue"),
            pl.when(known).then(pl.lit("segmentation.action.") + pl.col("segment"))
            .otherwise(pl.lit(f"segmentation.action.{CATCH_ALL}")).alias("action"),
        )
    )
    return table.select(
        "segment", "customers", "share_of_customers", "revenue", "share_of_revenue", "avg_recency_days",
        "avg_orders", "avg_revenue", "action",
    ).sort(["revenue", "customers", "segment"], descending=[True, True, False], nulls_last=True)


def rf_grid(scored: pl.DataFrame, bins: int | None = None) -> pl.DataFrame:
    """Customers and mean net revenue per (r_score, f_score) cell, every cell of the grid included.

    ``bins`` defaults to the largest score present; empty cells have 0 customers and null ``avg_revenue``.
    """
    scale = bins if bins is not None else int(max(cast(int, scored["r_score"].max()) or 1,
                                                  cast(int, scored["f_score"].max()) or 1))
    scores = range(1, scale + 1)
    cells = pl.DataFrame(list(itertools.product(scores, scores)),
                         schema={"r_score": pl.Int64, "f_score": pl.Int64}, orient="row")
    counts = scored.group_by("r_score", "f_score").agg(
        pl.len().cast(pl.Int64).alias("customers"), pl.col("revenue").mean().alias("avg_revenue"))
    return (
        cells.join(counts, on=["r_score", "f_score"], how="left")
        .with_columns(pl.col("customers").fill_null(0))
        .sort("r_score", "f_score")
    )


# ---------------------------------------------------------------- value tiers (Pareto / ABC)

def value_tiers(summary: pl.DataFrame, cuts: tuple[float, float] = (0.8, 0.95)) -> pl.DataFrame:
    """Pareto (ABC) value tiers by cumulative share of revenue.

    Customers are sorted by net revenue, largest first (ties by ``customer_id``). With S = the revenue share
    of the customers ranked *before* a customer, the customer is ``high`` when S < ``cuts[0]``, ``mid``
    when S < ``cuts[1]``, else ``low``: the high tier is the smallest top group whose revenue reaches 80 %
    (the customer who crosses 80 % is high), mid the next group up to 95 %. Customers with zero or negative
    net revenue are always ``low``; shares are of the total positive revenue, so refunds cannot push the
    curve above 1.

    Adds ``tier``, ``cum_revenue_share`` (share including the customer) and ``customer_rank_share``
    (rank / customers); returns rows in rank order. Raises :class:`crm_core.features.MissingAmounts`
    (``app.base.needs_amounts``, analysis ``value_tiers``) when no customer has a revenue (data without
    amounts): a Pareto split needs money.
    """
    high_cut, mid_cut = cuts
    if summary.height and summary["revenue"].null_count() == summary.height:
        raise MissingAmounts("value_tiers")
    if not 0 < high_cut <= mid_cut <= 1:
        raise ValueError(f"cuts must satisfy 0 < high <= mid <= 1, got {cuts!r}")
    cumulative = pl.col("revenue").clip(lower_bound=0).cum_sum()
    total = cumulative.max()  # the last running sum, so the final share is exactly 1.0
    ranked = (
        summary.drop(["tier", "cum_revenue_share", "customer_rank_share"], strict=False)
        .sort(["revenue", "customer_id"], descending=[True, False])
        .with_columns(
            pl.when(total > 0).then(cumulative / total).otherwise(0.0).alias("cum_revenue_share"),
            pl.when(total > 0).then(cumulative.shift(1, fill_value=0.0) / total).otherwise(1.0)
            .alias("_share_before"),
            (pl.int_range(1, pl.len() + 1, dtype=pl.Int64) / pl.len()).alias("customer_rank_share"),
        )
    )
    tier = (
        pl.when(pl.col("revenue") <= 0).then(pl.lit("low"))
        .when(pl.col("_share_before") < high_cut).then(pl.lit("high"))
        .when(pl.col("_share_before") < mid_cut).then(pl.lit("mid"))
        .otherwise(pl.lit("low"))
    )
    return ranked.with_columns(tier.alias("tier")).drop("_share_before")


def pareto_curve(tiered: pl.DataFrame, max_points: int = 500) -> pl.DataFrame:
    """Points of the Pareto curve: ``customer_share`` (x) against ``cum_revenue_share`` (y).

    Starts at (0, 0) and ends at the last customer ((1, 1) whenever revenue is positive); more than
    ``max_points`` points are thinned to evenly spaced ranks, keeping the first and the last.
    """
    curve = pl.concat([
        pl.DataFrame({"customer_share": [0.0], "cum_revenue_share": [0.0]}),
        tiered.sort("customer_rank_share").select(
            pl.col("customer_rank_share").cast(pl.Float64).alias("customer_share"),
            pl.col("cum_revenue_share").cast(pl.Float64),
        ),
    ])
    if curve.height <= max_points:
        return curve
    last = curve.height - 1
    keep = pl.int_range(0, max_points, dtype=pl.Int64, eager=True) * last // (max_points - 1)
    return curve.with_row_index("point").filter(pl.col("point").is_in(keep.implode())).drop("point")


# ---------------------------------------------------------------- k-means clusters

CLUSTER_FEATURES = ("recency_days", "orders", "avg_order_value")
"""Clustering features, each log1p-transformed (negatives clipped at 0) and standardised."""

TRAIT_KEYS = ("one_time", "frequent", "infrequent", "high_spend", "low_spend", "big_basket", "small_basket",
              "recent", "lapsed", "typical")
"""Every trait a cluster description can contain (``segmentation.trait.<key>``)."""


@dataclass(frozen=True)
class ClusterResult:
    """Output of :func:`clusters`.

    ``labels``: ``customer_id, cluster``; ``centres``: per cluster ``cluster, customers`` and the mean raw
    ``recency_days, orders, revenue, avg_order_value``; ``descriptions``: cluster -> trait keys
    (``segmentation.trait.<key>``); ``k``; ``silhouette``: k -> mean silhouette score of each tried k.
    Clusters are numbered 1..k by mean revenue, largest first.
    """

    labels: pl.DataFrame
    centres: pl.DataFrame
    descriptions: dict[int, list[str]]
    k: int
    silhouette: dict[int, float] = field(default_factory=dict)
    features: tuple[str, ...] = CLUSTER_FEATURES


def _log_standardised(frame: pl.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """log1p of each column (clipped at 0), standardised to mean 0 and sd 1 (sd 0 -> 1)."""
    logs = frame.select(pl.col(c).cast(pl.Float64).fill_null(0).clip(lower_bound=0).log1p() for c in columns)
    standardised = logs.select(
        (pl.col(c) - pl.col(c).mean()) / pl.when(pl.col(c).std(ddof=0) > 0).then(pl.col(c).std(ddof=0)).otherwise(1.0)
        for c in logs.columns
    )
    return standardised.to_numpy()  # numpy for scikit-learn


def _traits(members: pl.DataFrame, member_z: np.ndarray, median_z: np.ndarray, threshold: float) -> list[str]:
    """Readable traits of one cluster: its mean standardised log features against the overall median."""
    diff = member_z.mean(axis=0) - median_z  # columns: orders, revenue, avg_order_value, recency_days
    traits = []
    if members["orders"].median() == 1:
        traits.append("one_time")
    elif diff[0] >= threshold:
        traits.append("frequent")
    elif diff[0] <= -threshold:
        traits.append("infrequent")
    for value, high, low in ((diff[1], "high_spend", "low_spend"), (diff[2], "big_basket", "small_basket"),
                             (diff[3], "lapsed", "recent")):
        if value >= threshold:
            traits.append(high)
        elif value <= -threshold:
            traits.append(low)
    return traits or ["typical"]


def mean_silhouettes(points: np.ndarray, labelings: Sequence[np.ndarray], chunk_rows: int = 500) -> list[float]:
    """Mean silhouette width (Rousseeuw 1987) of several labelings of the same points, Euclidean distance.

    s(i) = (b - a) / max(a, b) with a = mean distance to the other members of its own cluster and b = the
    smallest mean distance to another cluster; s = 0 in a singleton cluster (as scikit-learn's
    ``silhouette_score``, which this matches). The distance matrix is computed once, ``chunk_rows`` rows at a
    time, and shared by all labelings, which is what makes trying k = 2..8 cheap.
    """
    if not labelings:
        return []
    n = len(points)
    encodings = [np.eye(int(labels.max()) + 1)[labels] for labels in labelings]  # one-hot, n x k each
    stacked = np.hstack(encodings)
    sums = np.empty((n, stacked.shape[1]))
    squared = (points ** 2).sum(axis=1)
    for start in range(0, n, chunk_rows):
        block = slice(start, min(start + chunk_rows, n))
        distances = np.sqrt(np.maximum(squared[block, None] + squared[None, :] - 2 * points[block] @ points.T, 0))
        distances[np.arange(block.stop - start), np.arange(start, block.stop)] = 0.0
        sums[block] = distances @ stacked
    scores, column = [], 0
    for labels, onehot in zip(labelings, encodings):
        k = onehot.shape[1]
        counts = onehot.sum(axis=0)
        own = sums[np.arange(n), column + labels]
        a = own / np.maximum(counts[labels] - 1, 1)
        means = sums[:, column:column + k] / np.maximum(counts, 1)
        means[np.arange(n), labels] = np.inf
        means[:, counts == 0] = np.inf
        b = means.min(axis=1)
        width = np.where(counts[labels] > 1, (b - a) / np.maximum(np.maximum(a, b), 1e-300), 0.0)
        scores.append(float(width.mean()))
        column += k
    return scores


def clusters(summary: pl.DataFrame, k: int | None = None, seed: int = 0, k_range: tuple[int, int] = (2, 8),
             fit_rows: int = 20_000, silhouette_rows: int = 5_000, trait_threshold: float = 0.5,
             n_init: int = 4) -> ClusterResult:
    """k-means clusters of customer behaviour with readable descriptions.

    Features: :data:`CLUSTER_FEATURES` (recency, frequency and basket size; revenue = orders × basket, so
    it is left out to avoid counting frequency twice), log1p-transformed after clipping negatives at 0 and
    standardised. scikit-learn ``KMeans`` (Lloyd, k-means++, ``n_init`` starts) is fitted on at most
    ``fit_rows`` customers drawn with ``seed`` and then assigns everyone. Without ``k``, k is the best mean
    silhouette (:func:`mean_silhouettes`) over ``k_range`` (inclusive), computed on the same
    ``silhouette_rows`` of the fitted rows for every k; ties go to the smaller k. k never exceeds the number
    of distinct feature rows.

    Each cluster is described by traits: ``one_time`` (median 1 order) or ``frequent``/``infrequent``,
    ``high_spend``/``low_spend`` (net revenue), ``big_basket``/``small_basket``, ``recent``/``lapsed``,
    when its mean standardised log value is at least ``trait_threshold`` sd from the overall median;
    ``typical`` when none applies. Same data and seed give the same result, whatever the row order.
    Without amounts (revenue null) the clusters use recency and frequency only, are numbered by mean
    orders, and no spend or basket trait is given; ``ClusterResult.features`` says which were used.
    """
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    # One thread: on a busy 2-core server k-means on 20k x 3 points runs 2-6x slower (and erratically) with a
    # thread per core; single-threaded a fit takes ~0.1 s. The limit is lifted on return.
    with threadpool_limits(limits=1):
        return _clusters(summary, k, seed, k_range, fit_rows, silhouette_rows, trait_threshold, n_init, KMeans)


def _clusters(summary: pl.DataFrame, k: int | None, seed: int, k_range: tuple[int, int], fit_rows: int,
              silhouette_rows: int, trait_threshold: float, n_init: int, KMeans: Any) -> ClusterResult:
    frame = summary.sort("customer_id")
    if frame.height == 0:
        return ClusterResult(pl.DataFrame(schema={"customer_id": pl.String, "cluster": pl.Int64}),
                             pl.DataFrame(schema={"cluster": pl.Int64, "customers": pl.Int64}), {}, 0)
    money = frame["revenue"].null_count() < frame.height and frame["avg_order_value"].null_count() < frame.height
    used = CLUSTER_FEATURES if money else tuple(c for c in CLUSTER_FEATURES if c != "avg_order_value")
    features = _log_standardised(frame, used)
    rng = np.random.default_rng(seed)
    fit_index = np.sort(rng.choice(frame.height, size=min(frame.height, fit_rows), replace=False))
    fit_points = features[fit_index]
    distinct = len(np.unique(fit_points, axis=0))

    def fit(n_clusters: int) -> Any:
        return KMeans(n_clusters=n_clusters, n_init=n_init, random_state=seed).fit(fit_points)

    scores: dict[int, float] = {}
    models: dict[int, Any] = {}
    if k is None:
        low, high = k_range
        candidates = range(max(2, low), min(high, distinct, len(fit_points) - 1) + 1)
        models = {c: fit(c) for c in candidates}
        models = {c: m for c, m in models.items() if len(np.unique(m.labels_)) >= 2}
        sample = np.sort(rng.choice(len(fit_points), size=min(len(fit_points), silhouette_rows), replace=False))
        widths = mean_silhouettes(fit_points[sample], [m.labels_[sample] for m in models.values()])
        scores = dict(zip(models, widths))
        chosen = max(scores, key=lambda c: (scores[c], -c)) if scores else 1
    else:
        chosen = max(1, min(int(k), distinct))
    model = models.get(chosen) or fit(chosen)
    raw_labels = model.predict(features)

    labelled = frame.with_columns(pl.Series("raw_cluster", raw_labels, dtype=pl.Int64))
    rank_by = "revenue" if money else "orders"
    order = (
        labelled.group_by("raw_cluster").agg(pl.col(rank_by).mean().alias("mean_revenue"))
        .sort(["mean_revenue", "raw_cluster"], descending=[True, False])
        .with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("cluster"))
        .select("raw_cluster", "cluster")
    )
    labelled = labelled.join(order, on="raw_cluster", how="left", maintain_order="left")
    centres = (
        labelled.group_by("cluster")
        .agg(pl.len().cast(pl.Int64).alias("customers"),
             *(pl.col(c).mean() for c in ("recency_days", "orders", "revenue", "avg_order_value")))
        .sort("cluster")
    )
    trait_z = _log_standardised(frame, ("orders", "revenue", "avg_order_value", "recency_days"))
    median_z = np.median(trait_z, axis=0)
    cluster_of = labelled["cluster"].to_numpy()
    descriptions = {
        int(c): _traits(labelled.filter(pl.col("cluster") == c), trait_z[cluster_of == c], median_z, trait_threshold)
        for c in centres["cluster"].to_list()
    }
    return ClusterResult(
        labels=labelled.select("customer_id", "cluster"),
        centres=centres,
        descriptions=descriptions,
        k=int(centres.height),
        silhouette=scores,
        features=used,
    )


# ---------------------------------------------------------------- movement between two dates

def movement(scored_from: pl.DataFrame, scored_to: pl.DataFrame) -> pl.DataFrame:
    """Segment movement between two analysis dates, as a long frame ready to pivot into a matrix.

    Takes two :func:`rfm` results (same preset) and returns per ``segment_from, segment_to``: ``customers``
    and ``revenue`` (net revenue as of ``to``). A customer missing on one side (e.g. first order after the
    ``from`` date) has segment :data:`NO_SEGMENT` there, so the counts add up to every customer on either side.
    """
    before = scored_from.select("customer_id", pl.col("segment").alias("segment_from"))
    after = scored_to.select("customer_id", pl.col("segment").alias("segment_to"), "revenue")
    return (
        before.join(after, on="customer_id", how="full", coalesce=True)
        .with_columns(pl.col("segment_from", "segment_to").fill_null(NO_SEGMENT), pl.col("revenue").fill_null(0.0))
        .group_by("segment_from", "segment_to")
        .agg(pl.len().cast(pl.Int64).alias("customers"), pl.col("revenue").sum())
        .sort(["segment_from", "segment_to"])
    )
