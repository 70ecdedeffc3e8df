"""Time units, array conversion, grouping of identical rows and the L-BFGS-B driver both models fit with."""
from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
from scipy.optimize import minimize
from threadpoolctl import threadpool_limits  # installed with scikit-learn

# Length of one model time unit in days. "W" reproduces the CDNOW summary (days / 7).
TIME_UNIT_DAYS: dict[str, float] = {"D": 1.0, "W": 7.0}
# Model time units per month, as lifetimes' customer_lifetime_value uses them.
UNITS_PER_MONTH: dict[str, float] = {"D": 30.0, "W": 4.345}

_LOG_BOUND = 18.0  # parameters are searched in [e^-18, e^18]; beyond that the data carry no information
ArrayLike = Any


def _unit_days(time_unit: str) -> float:
    if time_unit not in TIME_UNIT_DAYS:
        raise ValueError(f"time_unit must be one of {sorted(TIME_UNIT_DAYS)}, got {time_unit!r}")
    return TIME_UNIT_DAYS[time_unit]


def _float_array(values: ArrayLike) -> np.ndarray:
    # library boundary: polars Series / lists become numpy for scipy
    if isinstance(values, pl.Series):
        return values.cast(pl.Float64).to_numpy()
    return np.asarray(values, dtype=float)


def _grouped(columns: list[np.ndarray], weights: np.ndarray | None) -> tuple[list[np.ndarray], np.ndarray]:
    """Distinct rows of ``columns`` and the summed weight of each (counts when ``weights`` is None)."""
    names = [f"c{i}" for i in range(len(columns))]
    frame = pl.DataFrame({**dict(zip(names, columns)),
                          "w": np.ones(len(columns[0])) if weights is None else np.asarray(weights, dtype=float)})
    grouped = frame.group_by(names).agg(pl.col("w").sum()).filter(pl.col("w") > 0).sort(names)
    # library boundary: back to numpy for scipy
    return [grouped[n].to_numpy() for n in names], grouped["w"].to_numpy()


def _dot(left: np.ndarray, right: np.ndarray) -> float:
    """Inner product without BLAS: BLAS threads thrash on a busy 2-core server inside the optimiser loop."""
    return float(np.einsum("i,i->", left, right))


def _minimize_log(objective, starts: list[np.ndarray], bounds: list[tuple[float, float]], tol: float):
    """L-BFGS-B from the first start; later starts are tried only when it fails (objective returns value
    and gradient). The best successful result wins. BLAS is kept to one thread: its threads only add
    start-up cost on four parameters and thrash on a busy server."""
    best = None
    with threadpool_limits(limits=1, user_api="blas"):
        for start in starts:
            result = minimize(objective, start, jac=True, method="L-BFGS-B", bounds=bounds,
                              options={"maxiter": 400, "ftol": tol, "gtol": 1e-8})
            if np.isfinite(result.fun) and (best is None or result.fun < best.fun):
                best = result
            if best is not None and best.success:
                break
    return best
