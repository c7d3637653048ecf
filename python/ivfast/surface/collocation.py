"""Point sets on which the fit is evaluated, laid out once in a single (k, tau) batch.

Layout of the batch (fixed part built once, random tail refilled in place every epoch):

``[k_aux x tau_aux grid | random grid points | adaptive points | I_asym | random wing points | quotes |
ATM (k=0) x tau_aux]``

The points that need derivatives come first, so that the network carries derivatives only for
the leading ``n_jet`` rows.

The penalties on the fixed grid alone see nothing between grid points, where an unconstrained
network can grow spikes; the random tail samples the same domain afresh each epoch (cube-root
uniform in k, log-uniform in tau), so over an epoch budget the whole domain is covered. The
adaptive points are where a dense check grid last found the no-arbitrage conditions violated
(:meth:`Collocation.add_adaptive`): they stay in the penalty until replaced, so a violation
found once keeps being penalised instead of hiding between points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .config import SmoothingConfig

__all__ = ["Collocation"]

_WING_MULTIPLES = (6.0, 4.0)
"""I_asym: k in {6 k_min, 4 k_min, 4 k_max, 6 k_max} (Ackerer et al. 2020, large-moneyness points)."""
_RANDOM_WING_RANGE = (2.0, 6.0)
"""Random wing points lie at 2..6 times k_min or k_max, between the grid's edge and I_asym."""
_GAP_FRACTIONS = (0.0, 1.0 / 16.0, 0.25, 0.75, 15.0 / 16.0)
"""Check-grid maturities added in every gap between quoted maturities (fractions of the gap).

The ATM curve bends at each quoted maturity (:mod:`ivfast.svi.atm`), so the prior's dw/dtau
changes fastest next to them; a calendar dip there can be narrower than a cell of the log-uniform
check axis (an SPX 2020 fit had one 0.011 years wide just after the 0.448-year expiry, between
two nodes 0.026 apart, which `ivfast check` then found)."""


@dataclass
class Collocation:
    """All evaluation points in one batch plus the slices that select each set.

    Built by :meth:`build`; the fields are the batch (``k``, ``tau``: float64 tensors, which the
    trainer may cast to its dtype, on the
    training device), one slice per point set in the layout of the module docstring, the
    number ``n_jet`` of leading rows that need derivatives, and the sampling domain.
    """

    k: torch.Tensor
    tau: torch.Tensor
    quotes: slice
    atm: slice
    arbitrage: slice  # fixed grid + random grid points + adaptive points
    wings: slice  # I_asym + random wing points
    random: slice
    random_wing: slice
    adaptive: slice
    n_jet: int  # arbitrage and wing points lead the batch: derivatives are needed there only
    k_root_range: tuple[float, float]
    log_tau_range: tuple[float, float]
    k_wing: tuple[float, float]
    tau_aux: np.ndarray
    maturities: np.ndarray
    _next_adaptive: int = 0

    @classmethod
    def build(cls, k: np.ndarray, tau: np.ndarray, config: SmoothingConfig,
              device: torch.device | str = "cpu") -> Collocation:
        """Lay out the batch for quotes at (k, tau).

        Parameters
        ----------
        k, tau : ndarray
            Flat float64 log-moneyness ``ln(K/F)`` and years to expiry (> 0) of the quotes.
        config : SmoothingConfig
            Collocation sizes, the shortest and longest auxiliary maturities and the k extent.
        device : torch.device or str
            Where the batch lives.

        Returns
        -------
        Collocation
            The random parts hold placeholders until the first :meth:`resample`.
        """
        # The grid spans twice the extremes, so half the requested extent suffices.
        half = 0.5 * config.k_aux_extent
        k_min, k_max = float(min(k.min(), -1e-3, -half)), float(max(k.max(), 1e-3, half))
        tau_max = max(float(tau.max()), config.tau_max_aux)
        log_tau_range = (np.log(min(config.tau_min_aux, tau.min())), np.log(tau_max))
        tau_aux = np.exp(np.linspace(*log_tau_range, config.n_tau_aux))
        k_root_range = (-np.cbrt(-2.0 * k_min), np.cbrt(2.0 * k_max))
        k_aux = np.linspace(*k_root_range, config.n_k_aux) ** 3
        grid_k, grid_tau = (a.ravel() for a in np.meshgrid(k_aux, tau_aux, indexing="ij"))
        k_asym = np.array([m * k_min for m in _WING_MULTIPLES] + [m * k_max for m in _WING_MULTIPLES[::-1]])
        asym_k, asym_tau = (a.ravel() for a in np.meshgrid(k_asym, tau_aux, indexing="ij"))
        placeholder_k = np.zeros(config.n_random)
        placeholder_wing = np.full(config.n_random_wing, k_max)
        # Adaptive slots start as copies of grid points (harmless duplicates until filled).
        adaptive = np.resize(np.arange(grid_k.size), config.n_adaptive)
        parts = [  # (k, tau) in batch order; random parts are refilled by resample()
            (grid_k, grid_tau), (placeholder_k, np.full(config.n_random, tau_max)),
            (grid_k[adaptive], grid_tau[adaptive]),
            (asym_k, asym_tau), (placeholder_wing, np.full(config.n_random_wing, tau_max)),
            (k, tau), (np.zeros_like(tau_aux), tau_aux),
        ]
        edges = [int(e) for e in np.cumsum([0] + [p[0].size for p in parts])]
        k_all = torch.as_tensor(np.concatenate([p[0] for p in parts]), dtype=torch.float64)
        tau_all = torch.as_tensor(np.concatenate([p[1] for p in parts]), dtype=torch.float64)
        return cls(
            k=k_all.to(device), tau=tau_all.to(device),
            arbitrage=slice(edges[0], edges[3]), random=slice(edges[1], edges[2]),
            adaptive=slice(edges[2], edges[3]),
            wings=slice(edges[3], edges[5]), random_wing=slice(edges[4], edges[5]),
            quotes=slice(edges[5], edges[6]), atm=slice(edges[6], edges[7]), n_jet=edges[5],
            k_root_range=(float(k_root_range[0]), float(k_root_range[1])),
            log_tau_range=(float(log_tau_range[0]), float(log_tau_range[1])),
            k_wing=(k_min, k_max), tau_aux=tau_aux, maturities=np.unique(tau),
        )

    def resample(self, generator: torch.Generator) -> None:
        """Draw fresh random grid and wing points in place.

        Parameters
        ----------
        generator : torch.Generator
            Random source on the batch's device.
        """
        n = self.random.stop - self.random.start
        if n:
            lo, hi = self.k_root_range
            u = torch.rand(n, generator=generator, dtype=torch.float64, device=generator.device)
            self.k[self.random] = (lo + (hi - lo) * u).pow(3)
            self._fill_tau(self.random, generator)
        n = self.random_wing.stop - self.random_wing.start
        if n:
            lo, hi = _RANDOM_WING_RANGE
            u = torch.rand(n, generator=generator, dtype=torch.float64, device=generator.device)
            side = torch.rand(n, generator=generator, dtype=torch.float64, device=generator.device) < 0.5
            edge = torch.where(side, self.k_wing[0], self.k_wing[1])
            self.k[self.random_wing] = edge * (lo + (hi - lo) * u)
            self._fill_tau(self.random_wing, generator)

    def _fill_tau(self, where: slice, generator: torch.Generator) -> None:
        lo, hi = self.log_tau_range
        u = torch.rand(where.stop - where.start, generator=generator, dtype=torch.float64,
                       device=generator.device)
        self.tau[where] = torch.exp(lo + (hi - lo) * u)

    @property
    def adaptive_capacity(self) -> int:
        """Number of adaptive slots."""
        return self.adaptive.stop - self.adaptive.start

    def add_adaptive(self, k: torch.Tensor, tau: torch.Tensor) -> None:
        """Put points into the adaptive slots, overwriting the oldest first (ring buffer).

        Parameters
        ----------
        k, tau : torch.Tensor
            1-d tensors of one length; points beyond the slots' capacity are ignored.
        """
        capacity = self.adaptive_capacity
        n = min(k.numel(), capacity)
        if n == 0:
            return
        slots = (self._next_adaptive + torch.arange(n)) % capacity + self.adaptive.start
        slots = slots.to(self.k.device)
        self.k[slots] = k[:n].to(self.k)
        self.tau[slots] = tau[:n].to(self.tau)
        self._next_adaptive = (self._next_adaptive + n) % capacity

    def check_axes(self, n_k: int, n_tau: int, generator: torch.Generator | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
        """Make strictly increasing k and tau axes of a dense check grid over the collocation domain.

        The axes are cube-root uniform in k and log-uniform in tau; with a generator, shifted by
        a random fraction (under half) of a cell so that successive checks see different points.
        The tau axis also holds the quoted maturities (where the quotes pull hardest on the
        smile) and, without a generator (the stopping check and the certificate), points in each
        gap between them (:data:`_GAP_FRACTIONS`), where the prior's slope in tau turns, and
        ``n_tau`` log-spaced maturities from the first quoted one to the last. Without those, a
        fit of SPY's one-month chain passed its certificate with a calendar dip of 3.5e-5 at
        tau = 0.0165 (between the first two expiries) that ivfast fit's report grid then found.

        Parameters
        ----------
        n_k, n_tau : int
            Axis lengths (>= 2).
        generator : torch.Generator, optional
            Random source of the shift; None: no shift.

        Returns
        -------
        tuple of 2 ndarray
            The k axis (log-moneyness) and the tau axis (years).
        """
        shift = (np.full(2, 0.5) if generator is None else
                 torch.rand(2, generator=generator, dtype=torch.float64, device=generator.device).cpu().numpy())
        # A shift below half a cell clamps at most the end points, so the axes stay strictly increasing.
        u = np.clip(np.linspace(0.0, 1.0, n_k) + (shift[0] - 0.5) / (n_k - 1), 0.0, 1.0)
        v = np.clip(np.linspace(0.0, 1.0, n_tau) + (shift[1] - 0.5) / (n_tau - 1), 0.0, 1.0)
        (k_lo, k_hi), (t_lo, t_hi) = self.k_root_range, self.log_tau_range
        k_axis, tau_axis = (k_lo + (k_hi - k_lo) * u) ** 3, np.exp(t_lo + (t_hi - t_lo) * v)
        m = self.maturities
        if generator is not None:
            return k_axis, np.union1d(tau_axis, m)
        gaps = (m[:-1, None] + np.diff(m)[:, None] * np.asarray(_GAP_FRACTIONS)).ravel()
        # The quoted range again at the axis' length: as dense as ivfast fit's own report grid
        # (100 log-spaced maturities there), which the 3-year axis is not for a one-month chain.
        quoted = np.geomspace(m[0], m[-1], n_tau) if m.size > 1 else m
        return k_axis, np.union1d(tau_axis, np.concatenate([gaps, m, quoted]))
