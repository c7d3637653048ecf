"""Surface builders, references and runners shared by the export tests (torch).

Import only after ``pytest.importorskip("torch")``.
"""

from __future__ import annotations

import functools
import pathlib
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
import torch

from ivfast.surface import FittedSurface, SmoothingConfig
from ivfast.surface.atm import MonotoneATMCurve
from ivfast.surface.inputs import Quotes
from ivfast.surface.model import SurfaceModel
from ivfast.surface.network import CorrectionNetwork
from ivfast.surface.prior import SSVIPrior

# Exported float64 graphs run the same operations as FittedSurface, in another order at most
# (traced graph, fused AOTInductor kernels): a few ulp of w, hence 1e-12 relative.
RTOL_VALUE = 1e-12


# Derivatives are differences of large terms: at the shortest maturities in the far wings (tau =
# 0.0045, k = -0.93, so k/sqrt(tau) = -14) the network's k-jets cancel terms up to ~1e5 times the
# result, and two float64 paths (forward jets, reverse-mode autograd) agree to 5e-9 relative there
# (measured on the fitted fixture; 1e-13 at ordinary points). 1e-7 still fails any wrong or missing
# chain-rule term, which is an O(1) relative error.
RTOL_DERIVATIVE = 1e-7


# float32 weights and arithmetic: ~6e-8 per operation through ~10 layers of ops with O(1)-conditioned
# intermediates; 1e-5 relative is the float32 acceptance target.
RTOL_FLOAT32 = 1e-5


_TAUS = np.array([0.08, 0.25, 0.5, 1.0, 1.5, 2.0])


_KS = np.linspace(-0.4, 0.3, 6)


def ssvi_quotes() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(k, tau, iv) on a 6 x 6 grid of a power-law SSVI with a skew (rho = -0.5)."""
    k, tau = (a.ravel() for a in np.meshgrid(_KS, _TAUS))
    theta = 0.04 * tau**0.9
    phi = 0.8 * theta**-0.3
    w = theta / 2 * (1 - 0.5 * phi * k + np.sqrt((phi * k - 0.5) ** 2 + 0.75))
    return k, tau, np.sqrt(w / tau)


def tiny_config(**changes) -> SmoothingConfig:
    """A config that fits in seconds: small network and collocation, few epochs."""
    base = SmoothingConfig(hidden_layers=(12, 12), max_epochs=15, n_k_aux=4, n_tau_aux=4, n_random=8,
                           n_random_wing=4, n_adaptive=8, check_every=10, check_grid=(5, 5),
                           prior_init_iterations=5, log_every=5, progress=False)
    return base.replace(**changes)


def built_surface(activation: str = "softplus", hidden=(10, 7, 9), log_tau_input: bool = True,
                  network: bool = True, seed: int = 3) -> FittedSurface:
    """A FittedSurface assembled without training: fitted ATM curve, skewed prior, random network.

    Random weights of the default initialisation make the network factor vary by O(10 %) over the
    domain, so every term of the product and chain rules matters.
    """
    k, tau, iv = ssvi_quotes()
    taus = np.unique(tau)
    atm = MonotoneATMCurve.fit(taus, 0.04 * taus**0.9)
    prior = SSVIPrior()
    prior.set_parameters(-0.45, 0.3, 0.9)
    config = SmoothingConfig(hidden_layers=hidden, activation=activation, log_tau_input=log_tau_input,
                             use_network=network)
    net = None
    if network:
        time = np.log(tau) if log_tau_input else tau
        net = CorrectionNetwork(hidden, activation, config.max_output_scale, input_mean=(k.mean(), time.mean()),
                                input_scale=(k.std(), time.std()), log_tau_input=log_tau_input,
                                generator=torch.Generator().manual_seed(seed))
    model = SurfaceModel(atm, prior, net).eval()
    info = {"best_loss": float("nan"), "epochs": 0, "stop_reason": "constructed"}
    return FittedSurface(model, config, pd.DataFrame(), Quotes(k, tau, iv, None), info)


def random_points(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Points inside and well outside the quoted domain, with a few invalid ones (NaN expected)."""
    rng = np.random.default_rng(seed)
    k = rng.uniform(-1.5, 1.5, n)
    tau = np.exp(rng.uniform(np.log(1e-3), np.log(5.0), n))
    k[:3], tau[3:6] = np.nan, (0.0, -1.0, np.inf)
    return k, tau


def assert_matches(got, want, rtol: float) -> None:
    """Relative agreement where finite, and NaN exactly where the reference is NaN."""
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    finite = ~np.isnan(want)
    scale = np.maximum(np.abs(want[finite]), np.abs(want[finite]).max() * 1e-3)
    assert np.max(np.abs(got[finite] - want[finite]) / scale) <= rtol


def autograd_derivatives(surface: FittedSurface, k: np.ndarray, tau: np.ndarray) -> list[np.ndarray]:
    """dw/dk, d2w/dk2, dw/dtau by reverse-mode autograd on the value-only forward (an independent path)."""
    k_t = torch.as_tensor(k).requires_grad_(True)
    tau_t = torch.as_tensor(tau).requires_grad_(True)
    w = surface.model(k_t, tau_t, 0)[0]
    w_k, w_tau = torch.autograd.grad(w.sum(), (k_t, tau_t), create_graph=True)
    (w_kk,) = torch.autograd.grad(w_k.sum(), k_t)
    return [x.detach().numpy() for x in (w_k, w_kk, w_tau)]


# --- isolation ----------------------------------------------------------------------------------
_BLOCK_IVFAST = textwrap.dedent("""
    import sys
    class _Block:
        def find_spec(self, name, path=None, target=None):
            if name == "ivfast" or name.startswith("ivfast."):
                raise ImportError("ivfast is blocked in this process")
    sys.meta_path.insert(0, _Block())
""")


def run_without_ivfast(body: str, *args: str) -> str:
    """Run ``body`` in ``python -I`` with every ivfast import blocked; return its stdout."""
    code = _BLOCK_IVFAST + textwrap.dedent(body)
    result = subprocess.run([sys.executable, "-I", "-W", "ignore::DeprecationWarning", "-c", code, *args],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


# --- the C++ consumer (examples/cpp_consumer) ---------------------------------------------------
REPO = pathlib.Path(__file__).resolve().parents[1]


SOURCE_DIR = REPO / "examples" / "cpp_consumer"


BUILD_DIR = REPO / "build" / "surface-consumer"


@functools.cache
def consumer_executable() -> pathlib.Path:
    """Configure (first time) and build the example, once per session; skip without a C++ toolchain."""
    cmake = shutil.which("cmake")
    if cmake is None:
        pytest.skip("cmake not found: cannot build the C++ consumer")
    if not any(shutil.which(c) for c in ("c++", "g++", "clang++")):
        pytest.skip("no C++ compiler (c++, g++, clang++) found: cannot build the C++ consumer")
    if not (pathlib.Path(torch.utils.cmake_prefix_path) / "Torch" / "TorchConfig.cmake").is_file():
        pytest.skip("this torch installation ships no libtorch CMake package (share/cmake/Torch)")
    cache = BUILD_DIR / "CMakeCache.txt"
    if cache.is_file() and f"CMAKE_HOME_DIRECTORY:INTERNAL={SOURCE_DIR}" not in cache.read_text():
        shutil.rmtree(BUILD_DIR)  # configured from another source folder: configure afresh
    if not cache.is_file():
        generator = ["-G", "Ninja"] if shutil.which("ninja") else []
        _check_call([cmake, "-S", str(SOURCE_DIR), "-B", str(BUILD_DIR), *generator, "-DCMAKE_BUILD_TYPE=Release",
                     f"-DCMAKE_PREFIX_PATH={torch.utils.cmake_prefix_path}"], "configure")
    _check_call([cmake, "--build", str(BUILD_DIR)], "build")
    return BUILD_DIR / "surface_consumer"


def _check_call(command: list[str], step: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"C++ consumer {step} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"


def run_consumer(model: pathlib.Path, k: np.ndarray, tau: np.ndarray, tmp_path: pathlib.Path) -> np.ndarray:
    """Columns k, tau, w, iv, dw/dk, d2w/dk2, dw/dtau as printed by the C++ program."""
    points = tmp_path / "points.txt"
    np.savetxt(points, np.column_stack([k, tau]), fmt="%.17g")
    result = subprocess.run([str(consumer_executable()), str(model), str(points)], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return np.loadtxt(result.stdout.splitlines(), ndmin=2)


def python_reference(surface, k: np.ndarray, tau: np.ndarray) -> list[np.ndarray]:
    w, w_k, w_kk, w_tau = surface.total_variance_derivatives(k, tau)
    return [w, surface.implied_vol(k, tau), w_k, w_kk, w_tau]
