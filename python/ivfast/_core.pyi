"""Type stubs of the private compiled module ivfast._core (use the ivfast package API instead).

Array arguments are float64 (uint8 for is_call), C-contiguous, with either n elements or one
element broadcast to all n.
"""

import enum

import numpy as np
from numpy.typing import NDArray

class IVStatus(enum.IntEnum):
    OK = 0
    BELOW_INTRINSIC = 1
    ABOVE_UPPER_BOUND = 2
    INVALID_INPUT = 3
    BELOW_PRICE_ACCURACY = 4
    EARLY_EXERCISE = 5
    NO_CONVERGENCE = 6

class ModelKind(enum.Enum):
    BLACK_SCHOLES = 0
    HESTON = 1
    BATES = 2

class OptionSide(enum.Enum):
    PUT = 0
    CALL = 1
    OUT_OF_THE_MONEY = 2

def black_price(
    forward: NDArray[np.float64],
    strike: NDArray[np.float64],
    tau: NDArray[np.float64],
    vol: NDArray[np.float64],
    is_call: NDArray[np.uint8],
    discount: NDArray[np.float64],
    n: int,
    threads: int,
) -> NDArray[np.float64]: ...
def black_vega(
    forward: NDArray[np.float64],
    strike: NDArray[np.float64],
    tau: NDArray[np.float64],
    vol: NDArray[np.float64],
    is_call: NDArray[np.uint8],
    discount: NDArray[np.float64],
    n: int,
    threads: int,
) -> NDArray[np.float64]: ...
def implied_vol(
    price: NDArray[np.float64],
    forward: NDArray[np.float64],
    strike: NDArray[np.float64],
    tau: NDArray[np.float64],
    is_call: NDArray[np.uint8],
    discount: NDArray[np.float64],
    n: int,
    threads: int,
) -> tuple[NDArray[np.float64], NDArray[np.int8]]: ...
def _select_kernel_isa(request: str = "") -> str: ...
def fourier_prices(
    kind: ModelKind,
    params: NDArray[np.float64],
    strikes: NDArray[np.float64],
    taus: NDArray[np.float64],
    spot: float,
    rate: float,
    dividend: float,
    side: OptionSide,
    threads: int,
    tolerance: float,
) -> NDArray[np.float64]: ...
def american_price(
    spot: NDArray[np.float64],
    strike: NDArray[np.float64],
    tau: NDArray[np.float64],
    vol: NDArray[np.float64],
    rate: NDArray[np.float64],
    dividend_yield: NDArray[np.float64],
    is_call: NDArray[np.uint8],
    curve_times: NDArray[np.float64],
    curve_rates: NDArray[np.float64],
    dividends: NDArray[np.float64],
    n: int,
    threads: int,
    space_nodes: int,
    time_steps: int,
    extrapolate: bool,
) -> NDArray[np.float64]: ...
def american_implied_vol(
    price: NDArray[np.float64],
    spot: NDArray[np.float64],
    strike: NDArray[np.float64],
    tau: NDArray[np.float64],
    rate: NDArray[np.float64],
    dividend_yield: NDArray[np.float64],
    is_call: NDArray[np.uint8],
    curve_times: NDArray[np.float64],
    curve_rates: NDArray[np.float64],
    dividends: NDArray[np.float64],
    n: int,
    threads: int,
    space_nodes: int,
    time_steps: int,
    extrapolate: bool,
) -> tuple[NDArray[np.float64], NDArray[np.int8]]: ...
