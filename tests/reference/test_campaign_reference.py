"""crm_core.campaigns.measure against statsmodels 0.15 on a grid of group sizes and success counts.

Same definitions, so the tolerance is 1e-9:

* the rate difference's interval: ``confint_proportions_2indep(..., method="newcomb", compare="diff")``,
  Newcombe (1998) method 10 from Wilson intervals;
* the p-value: ``proportions_ztest`` with the two counts (pooled variance, two-sided);
* power and sample size: the two-proportion formula with a pooled variance under the null and the
  unpooled one under the alternative (Fleiss, Levin & Paik), which is statsmodels'
  ``power_proportions_2indep`` (built on ``statsmodels.stats.power.normal_power_het``) and
  ``samplesize_proportions_2indep_onetail``. ``NormalIndPower`` with Cohen's h is a different definition
  (the arcsine transform) and agrees only roughly, so it is checked loosely.
"""
from __future__ import annotations

import itertools
import math

import pytest

from crm_core.campaigns import measure

proportion = pytest.importorskip("statsmodels.stats.proportion")
power_module = pytest.importorskip("statsmodels.stats.power")

SIZES = [(20, 5), (90, 10), (450, 50), (900, 100), (300, 300), (2, 2), (5000, 500)]
SHARES = [0.0, 0.03, 0.2, 0.5, 0.81, 1.0]
GRID = [(round(a * n_t), n_t, round(b * n_c), n_c)
        for (n_t, n_c), a, b in itertools.product(SIZES, SHARES, SHARES)]


@pytest.mark.parametrize("s_t, n_t, s_c, n_c", GRID)
def test_newcombe_interval_matches_statsmodels(s_t, n_t, s_c, n_c):
    expected = proportion.confint_proportions_2indep(s_t, n_t, s_c, n_c, method="newcomb", compare="diff")
    assert measure.newcombe_interval(s_t, n_t, s_c, n_c) == pytest.approx(tuple(map(float, expected)), abs=1e-9)


@pytest.mark.parametrize("s_t, n_t, s_c, n_c", GRID)
def test_p_value_matches_statsmodels(s_t, n_t, s_c, n_c):
    pooled = (s_t + s_c) / (n_t + n_c)
    ours = measure.two_proportion_p_value(s_t, n_t, s_c, n_c)
    if pooled in (0.0, 1.0):
        assert ours == 1.0  # statsmodels divides 0 by 0 here (nan): both groups all 0 or all 1
        return
    _, expected = proportion.proportions_ztest([s_t, s_c], [n_t, n_c])
    assert ours == pytest.approx(float(expected), abs=1e-9)


@pytest.mark.parametrize("s_t, n_t, s_c, n_c", GRID)
def test_power_matches_statsmodels(s_t, n_t, s_c, n_c):
    rate_t, rate_c = s_t / n_t, s_c / n_c
    ours = measure.two_proportion_power(rate_t, rate_c, n_t, n_c)
    if rate_t * (1 - rate_t) + rate_c * (1 - rate_c) == 0:  # 0 against 1: no variance, statsmodels gives nan
        assert ours in (0.0, 1.0) or (rate_t == rate_c and ours == pytest.approx(0.05))
        return
    expected = proportion.power_proportions_2indep(rate_t - rate_c, rate_c, n_t, ratio=n_c / n_t, alpha=0.05,
                                                   return_results=False)
    assert ours == pytest.approx(float(expected), abs=1e-9)


@pytest.mark.parametrize("s_t, n_t, s_c, n_c", [case for case in GRID if case[0] / case[1] != case[2] / case[3]])
def test_sample_size_matches_statsmodels(s_t, n_t, s_c, n_c):
    rate_t, rate_c = s_t / n_t, s_c / n_c
    ratio = n_c / n_t
    per_treated = proportion.samplesize_proportions_2indep_onetail(rate_t - rate_c, rate_c, 0.8, ratio=ratio,
                                                                   alpha=0.05)
    ours = measure.members_needed(rate_t, rate_c, n_c / (n_t + n_c))
    assert ours == pytest.approx(float(per_treated) * (1 + ratio), rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("rate_t, rate_c, n_t, n_c", [(0.25, 0.2, 900, 100), (0.12, 0.1, 4500, 500),
                                                       (0.5, 0.4, 300, 300)])
def test_power_close_to_cohens_h(rate_t, rate_c, n_t, n_c):
    effect = power_module.NormalIndPower().power(
        effect_size=2 * math.asin(math.sqrt(rate_t)) - 2 * math.asin(math.sqrt(rate_c)),
        nobs1=n_t, alpha=0.05, ratio=n_c / n_t)
    assert measure.two_proportion_power(rate_t, rate_c, n_t, n_c) == pytest.approx(float(effect), abs=0.03)
