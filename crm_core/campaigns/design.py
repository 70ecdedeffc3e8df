"""The split of a campaign's members into a contacted group and a held-out control.

The split is a stratified random sample without replacement (a "blocked" randomisation): within each
stratum (a segment, a risk band, … or one stratum for everybody) the control members are a uniformly random
subset of the stratum, so treatment and control have the same mix of strata up to rounding, and the
difference of their outcomes estimates the effect of being *assigned* to contact (intention to treat,
:mod:`~crm_core.campaigns.measure`).

How many members each stratum holds out is fixed by systematic rounding of the cumulative count: with the
strata in order, C_s the members in strata 1 … s and p the control share, stratum s holds out
round(C_s · p) − round(C_(s−1) · p). The total is then exactly round(N · p), and each stratum gets
floor(n_s · p) or ceil(n_s · p). Rounding is half up on the share's decimal value (0.1 × 25 = 2.5 → 3),
in exact integer arithmetic, so no floating-point error moves a member.
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import polars as pl

from crm_core.campaigns.model import MAX_CONTROL_SHARE, MIN_CONTROL_SHARE, CampaignError

MIN_GROUP_MEMBERS = 2
"""Each group needs at least this many members: a rate and its interval need more than one customer."""


def stratum_of(members: pl.DataFrame) -> pl.Expr:
    """The ``stratum`` column of ``members`` as a String with null as "", or "" for all when it has none."""
    if "stratum" in members.columns:
        return pl.col("stratum").cast(pl.String).fill_null("").alias("stratum")
    return pl.lit("", dtype=pl.String).alias("stratum")


def listed_once() -> pl.Expr:
    """Filter for a members table: a non-empty ``customer_id`` on its first row (a repeated id keeps its
    first row)."""
    customer_id = pl.col("customer_id")
    return customer_id.is_not_null() & (customer_id != "") & customer_id.is_first_distinct()


def _members(members: pl.DataFrame) -> pl.DataFrame:
    """``customer_id, stratum`` (both String), empty ids dropped, the first row of a repeated id kept,
    sorted by stratum then id (so nothing depends on the input's row order)."""
    return (members.select(pl.col("customer_id").cast(pl.String), stratum_of(members))
            .filter(listed_once()).sort("stratum", "customer_id"))


def control_counts(stratum_sizes: list[int], control_share: float) -> list[int]:
    """Control members per stratum by systematic rounding of the cumulative count (module docstring).

    ``stratum_sizes`` in stratum order; returns one count per stratum, summing to round(N × share) (half
    up on the share's decimal value, e.g. 0.1 is 1/10 exactly).
    """
    share = Fraction(repr(float(control_share)))
    numerator, denominator = share.numerator, share.denominator
    counts, cumulative, held_before = [], 0, 0
    for size in stratum_sizes:  # one step per stratum, in exact integers (a float product can miss a .5)
        cumulative += size
        held = (2 * cumulative * numerator + denominator) // (2 * denominator)  # floor(C·p + 1/2)
        counts.append(held - held_before)
        held_before = held
    return counts


def assign_groups(members: pl.DataFrame, control_share: float, seed: int) -> pl.DataFrame:
    """Split ``members`` into ``treatment`` and ``control``: seeded, stratified, reproducible.

    Parameters
    ----------
    members
        ``customer_id`` (String) and optionally ``stratum`` (String; missing or null is the stratum "").
        Null or empty ids are dropped; an id listed twice keeps its first row.
    control_share
        Share of the members held out from contact, within ``MIN_CONTROL_SHARE`` … ``MAX_CONTROL_SHARE``
        (:mod:`~crm_core.campaigns.model`).
    seed
        Seed of ``numpy.random.default_rng`` (a non-negative integer). The same members (in any row
        order) and seed give the same groups.

    Returns
    -------
    pl.DataFrame
        ``customer_id, stratum, group`` (``"treatment"`` or ``"control"``), sorted by ``customer_id``.

    Notes
    -----
    The members are sorted by stratum and id, each gets one uniform random key from the seeded generator,
    and in each stratum the ``k_s`` members with the smallest keys form the control (a uniformly random
    subset of size ``k_s``); ``k_s`` comes from :func:`control_counts`.

    Raises
    ------
    CampaignError
        ``campaigns.error.control_share`` (params ``low``, ``high``) for a share outside the bounds;
        ``campaigns.error.too_few`` (params ``members``, ``control``) when either group would have fewer
        than :data:`MIN_GROUP_MEMBERS` members.
    """
    if not MIN_CONTROL_SHARE <= control_share <= MAX_CONTROL_SHARE:  # also refuses NaN
        raise CampaignError("campaigns.error.control_share", {"low": MIN_CONTROL_SHARE, "high": MAX_CONTROL_SHARE})
    ordered = _members(members)
    sizes = ordered.group_by("stratum", maintain_order=True).len()
    held_out = control_counts(sizes["len"].to_list(), control_share)
    total, control = ordered.height, sum(held_out)
    if min(control, total - control) < MIN_GROUP_MEMBERS:
        raise CampaignError("campaigns.error.too_few", {"members": total, "control": control})
    rng = np.random.default_rng(seed)
    quotas = sizes.select("stratum", pl.Series("control_quota", held_out, dtype=pl.Int64))
    return (
        ordered.with_columns(pl.Series("random_key", rng.random(total)))
        .join(quotas, on="stratum", how="left")
        .with_columns(
            pl.when(pl.col("random_key").rank("ordinal").over("stratum") <= pl.col("control_quota"))
            .then(pl.lit("control")).otherwise(pl.lit("treatment")).alias("group"))
        .select("customer_id", "stratum", "group")
        .sort("customer_id")
    )


def balance(groups: pl.DataFrame) -> pl.DataFrame:
    """How the groups are made up, stratum by stratum, so a page can show they are comparable.

    ``groups``: ``customer_id, group`` and optionally ``stratum`` (as :func:`assign_groups` returns).
    Returns ``stratum, members, treatment, control, control_share, total``: one row per stratum (sorted),
    then one total row (``stratum`` null, ``total`` True). ``control_share`` is control / members; with the
    systematic rounding every stratum's share is within 1/n_s of the campaign's.
    """
    counts = [
        pl.len().cast(pl.Int64).alias("members"),
        (pl.col("group") == "treatment").sum().cast(pl.Int64).alias("treatment"),
        (pl.col("group") == "control").sum().cast(pl.Int64).alias("control"),
    ]
    rows = groups.select(stratum_of(groups), "group")
    per_stratum = rows.group_by("stratum").agg(counts).sort("stratum").with_columns(pl.lit(False).alias("total"))
    overall = rows.select(counts).select(pl.lit(None, dtype=pl.String).alias("stratum"), pl.all(),
                                         pl.lit(True).alias("total"))
    return pl.concat([per_stratum, overall]).with_columns(
        (pl.col("control") / pl.col("members")).alias("control_share")
    ).select("stratum", "members", "treatment", "control", "control_share", "total")
