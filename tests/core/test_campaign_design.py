"""The split into treatment and control: exact counts, seeded, stratified, independent of row order."""
from __future__ import annotations

import math

import polars as pl
import pytest

from crm_core.campaigns import design
from crm_core.campaigns.model import MAX_CONTROL_SHARE, MIN_CONTROL_SHARE, CampaignError


def members(sizes: dict[str, int]) -> pl.DataFrame:
    """``sizes`` members per stratum, ids s-000 … (unique across strata)."""
    rows = [(f"{stratum}-{i:03d}", stratum) for stratum, size in sizes.items() for i in range(size)]
    return pl.DataFrame(rows, schema={"customer_id": pl.String, "stratum": pl.String}, orient="row")


def control_per_stratum(groups: pl.DataFrame) -> dict[str, int]:
    counts = groups.group_by("stratum").agg((pl.col("group") == "control").sum().alias("control"))
    return dict(zip(counts["stratum"], counts["control"]))


def test_control_counts_by_cumulative_rounding_by_hand():
    # 25 members at 10 %: cumulative 9, 17, 25 → round(0.9, 1.7, 2.5) = 1, 2, 3 → 1, 1, 1 (2.5 rounds up)
    assert design.control_counts([9, 8, 8], 0.10) == [1, 1, 1]
    # 3 strata of 5 at 30 %: 1.5, 3.0, 4.5 → 2, 3, 5 → 2, 1, 2; each is floor or ceil of 1.5
    assert design.control_counts([5, 5, 5], 0.30) == [2, 1, 2]
    # small strata alone would hold out none (0.4 each): the cumulative count still gives the total, 1
    assert design.control_counts([4, 4, 4], 0.10) == [0, 1, 0]
    assert design.control_counts([], 0.10) == []


@pytest.mark.parametrize("sizes, share", [
    ({"a": 9, "b": 8, "c": 8}, 0.10),
    ({"gold": 1, "silver": 37, "bronze": 203, "": 11}, 0.15),
    ({"x": 999}, 0.05),
    ({f"s{i:02d}": 3 + i for i in range(40)}, 0.5),
    ({"a": 7, "b": 7, "c": 7, "d": 7}, 0.33),
])
def test_exact_total_and_floor_or_ceil_per_stratum(sizes, share):
    groups = design.assign_groups(members(sizes), share, seed=3)
    total = sum(sizes.values())
    control = int((groups["group"] == "control").sum())
    assert groups.height == total
    assert control == math.floor(total * share + 0.5 + 1e-12)
    per_stratum = control_per_stratum(groups)
    for stratum, size in sizes.items():
        assert per_stratum[stratum] in (math.floor(size * share + 1e-12), math.ceil(size * share - 1e-12)), stratum


def test_output_columns_sorted_and_values():
    groups = design.assign_groups(members({"a": 10, "b": 10}), 0.2, seed=1)
    assert groups.columns == ["customer_id", "stratum", "group"]
    assert groups.schema["group"] == pl.String
    assert groups["customer_id"].to_list() == sorted(groups["customer_id"].to_list())
    assert set(groups["group"]) == {"treatment", "control"}
    assert control_per_stratum(groups) == {"a": 2, "b": 2}


def test_same_seed_same_groups_and_row_order_does_not_matter():
    listed = members({"a": 50, "b": 30, "c": 20})
    first = design.assign_groups(listed, 0.1, seed=42)
    again = design.assign_groups(listed, 0.1, seed=42)
    shuffled = design.assign_groups(listed.sample(fraction=1.0, shuffle=True, seed=9), 0.1, seed=42)
    reversed_rows = design.assign_groups(listed.reverse(), 0.1, seed=42)
    assert first.equals(again) and first.equals(shuffled) and first.equals(reversed_rows)


def test_different_seeds_give_different_controls():
    listed = members({"a": 100, "b": 100})
    controls = {
        tuple(design.assign_groups(listed, 0.1, seed=seed).filter(pl.col("group") == "control")["customer_id"])
        for seed in range(5)
    }
    assert len(controls) == 5


def test_every_member_can_be_drawn_into_control():
    # a real random pick, not the first k of each stratum: over many seeds every member is held out sometimes
    listed = members({"a": 10, "b": 10})
    held = set()
    for seed in range(200):
        held |= set(design.assign_groups(listed, 0.2, seed=seed).filter(pl.col("group") == "control")["customer_id"])
    assert held == set(listed["customer_id"])


def test_missing_stratum_duplicates_and_empty_ids():
    listed = pl.DataFrame({"customer_id": ["b", "a", "a", None, "", "c", "d", "e", "f", "g", "h", "i", "j"]})
    groups = design.assign_groups(listed, 0.2, seed=0)
    assert groups["customer_id"].to_list() == ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]
    assert set(groups["stratum"]) == {""}
    assert int((groups["group"] == "control").sum()) == 2


def test_null_stratum_is_the_empty_stratum_and_a_repeated_id_keeps_its_first_row():
    listed = pl.DataFrame({"customer_id": ["x", "x"] + [f"m{i}" for i in range(8)],
                           "stratum": ["gold", "silver"] + [None] * 8})
    groups = design.assign_groups(listed, 0.2, seed=0)
    assert groups.filter(pl.col("customer_id") == "x")["stratum"].to_list() == ["gold"]
    assert set(groups["stratum"]) == {"gold", ""}


@pytest.mark.parametrize("share", [MIN_CONTROL_SHARE - 0.01, MAX_CONTROL_SHARE + 0.01, 0.0, 1.0, float("nan")])
def test_control_share_out_of_bounds(share):
    with pytest.raises(CampaignError) as raised:
        design.assign_groups(members({"a": 100}), share, seed=0)
    assert raised.value.key == "campaigns.error.control_share"
    assert raised.value.params == {"low": MIN_CONTROL_SHARE, "high": MAX_CONTROL_SHARE}


def test_bounds_themselves_are_allowed():
    for share in (MIN_CONTROL_SHARE, MAX_CONTROL_SHARE):
        assert design.assign_groups(members({"a": 100}), share, seed=0).height == 100


@pytest.mark.parametrize("size, share, control", [(20, 0.05, 1), (3, 0.5, 2), (0, 0.1, 0), (29, 0.05, 1)])
def test_too_few_in_a_group(size, share, control):
    with pytest.raises(CampaignError) as raised:
        design.assign_groups(members({"a": size}), share, seed=0)
    assert raised.value.key == "campaigns.error.too_few"
    assert raised.value.params == {"members": size, "control": control}


def test_smallest_possible_split():
    groups = design.assign_groups(members({"a": 4}), 0.5, seed=0)
    assert sorted(groups["group"]) == ["control", "control", "treatment", "treatment"]


def test_balance_per_stratum_and_total():
    groups = design.assign_groups(members({"a": 9, "b": 8, "c": 8}), 0.1, seed=5)
    table = design.balance(groups)
    assert table.columns == ["stratum", "members", "treatment", "control", "control_share", "total"]
    assert table["stratum"].to_list() == ["a", "b", "c", None]
    assert table["members"].to_list() == [9, 8, 8, 25]
    assert table["control"].to_list() == [1, 1, 1, 3]
    assert table["treatment"].to_list() == [8, 7, 7, 22]
    assert table["control_share"].to_list() == pytest.approx([1 / 9, 1 / 8, 1 / 8, 3 / 25])
    assert table["total"].to_list() == [False, False, False, True]


def test_balance_without_stratum_column():
    assigned = pl.DataFrame({"customer_id": ["a", "b", "c"], "group": ["control", "treatment", "treatment"]})
    table = design.balance(assigned)
    assert table["stratum"].to_list() == ["", None]
    assert table["control"].to_list() == [1, 1]


def test_a_hundred_thousand_members_split():
    listed = pl.DataFrame({"customer_id": [f"c{i:06d}" for i in range(100_000)],
                           "stratum": [f"s{i % 13}" for i in range(100_000)]})
    groups = design.assign_groups(listed, 0.1, seed=11)
    assert groups.height == 100_000
    assert int((groups["group"] == "control").sum()) == 10_000
    table = design.balance(groups)
    strata = table.filter(~pl.col("total"))
    assert ((strata["control_share"] - 0.1).abs() < 1 / strata["members"]).all()
