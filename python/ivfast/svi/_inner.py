"""The quasi-explicit inner solve of an SVI slice fit (Zeliade 2009; see :mod:`ivfast.svi.fit`).

For fixed (m, sigma), the best (a, d, c) of ``w = a + d y + c sqrt(y^2 + 1)`` is a 3-variable
least-squares problem under linear constraints, solved exactly by enumerating the active sets of
its KKT system, batched over many (m, sigma) at once.
"""

from __future__ import annotations

import itertools

import numpy as np

__all__ = ["N_CON", "inner_solve", "active_set_solve"]

# Constraint rows over x = (a, d, c): A x >= lower; lower[2:4] are scaled by -S*sigma.
_A = np.array(
    [[0, -1, 1], [0, 1, 1], [0, -1, -1], [0, 1, -1], [1, -1, 1], [1, 1, 1]],
    dtype=np.float64,
)
N_CON = _A.shape[0]



def _active_sets() -> np.ndarray:
    """Return indicator rows of every active set with linearly independent constraint normals."""
    rows = []
    for size in range(4):
        for subset in itertools.combinations(range(N_CON), size):
            if size == 0 or np.linalg.matrix_rank(_A[list(subset)]) == size:
                row = np.zeros(N_CON, dtype=bool)
                row[list(subset)] = True
                rows.append(row)
    return np.array(rows)


_ACTIVE = _active_sets()


def _kkt_template() -> np.ndarray:
    """KKT matrices [[H, -A^T], [A_S, I_inactive]] with H left zero, one per active set."""
    n = 3 + N_CON
    t = np.zeros((len(_ACTIVE), n, n))
    t[:, :3, 3:] = -_A.T
    for s, active in enumerate(_ACTIVE):
        t[s, 3:, :3] = _A * active[:, None]
        t[s, 3:, 3:] = np.diag(~active).astype(np.float64)
    return t


_KKT = _kkt_template()


def inner_solve(
    m: np.ndarray, sigma: np.ndarray, k: np.ndarray, w: np.ndarray, wt: np.ndarray, slope: float
) -> tuple[np.ndarray, np.ndarray]:
    """Best (a, d, c) and weighted SSE for each (m[i], sigma[i]) (exact constrained LS)."""
    basis = np.empty((len(m), 3, k.size))  # rows 1, y, sqrt(y^2 + 1) with y = (k - m)/sigma
    basis[:, 0] = 1.0
    y = basis[:, 1]
    np.divide(k[None, :] - m[:, None], sigma[:, None], out=y)
    np.sqrt(y * y + 1.0, out=basis[:, 2])
    bw = basis * wt
    H = bw @ basis.transpose(0, 2, 1)
    diag = np.arange(3)
    H[:, diag, diag] *= 1.0 + 1e-13  # keeps the KKT systems solvable when columns nearly coincide
    r = bw @ w
    lower = np.zeros((len(m), N_CON))
    lower[:, 2:4] = -slope * sigma[:, None]
    tol = 1e-10 * (1.0 + slope * sigma)[:, None]
    # A convex QP whose unconstrained minimiser is feasible is solved by it; enumerate the
    # active sets only for the other (m, sigma).
    x = np.linalg.solve(H, r[..., None])[..., 0]
    outside = ~(x @ _A.T >= lower - tol).all(axis=1)
    if outside.any():
        x[outside] = active_set_solve(H[outside], r[outside], lower[outside], tol[outside])
    sse = ((H @ x[..., None])[..., 0] * x).sum(axis=1) - 2.0 * (x * r).sum(axis=1) + wt @ (w * w)
    return x, np.maximum(sse, 0.0)


def active_set_solve(H: np.ndarray, r: np.ndarray, lower: np.ndarray, tol: np.ndarray) -> np.ndarray:
    """Minimiser of x^T H x - 2 r^T x over A x >= lower: best feasible KKT point over all active sets."""
    G, S = len(H), len(_ACTIVE)
    M = np.broadcast_to(_KKT, (G, S) + _KKT.shape[1:]).copy()
    M[:, :, :3, :3] = H[:, None]
    rhs = np.zeros((G, S, 3 + N_CON))
    rhs[:, :, :3] = r[:, None]
    rhs[:, :, 3:] = lower[:, None] * _ACTIVE[None]
    x = np.linalg.solve(M, rhs[..., None])[..., :3, 0]
    feasible = (np.einsum("ij,gsj->gsi", _A, x) >= lower[:, None] - tol[:, None]).all(axis=-1)
    obj = np.einsum("gsi,gij,gsj->gs", x, H, x) - 2.0 * np.einsum("gsi,gi->gs", x, r)
    best = np.argmin(np.where(feasible, obj, np.inf), axis=1)
    return x[np.arange(G), best]
