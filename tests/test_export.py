"""Export of fitted surfaces: TorchScript files, the loader, metadata, errors, isolation, CUDA.

The pt2 (AOTInductor) format is in test_export_pt2.py, the C++ consumer in test_export_cpp.py;
both reuse the surface builders and references defined here.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("cvxpy")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import ivfast  # noqa: E402
from ivfast.export import load_exported, read_metadata  # noqa: E402
from ivfast.export.load import FORMAT, METADATA_FILE  # noqa: E402
from ivfast.protocols import DifferentiableSurface  # noqa: E402
from ivfast.surface import FittedSurface, SmoothingConfig, fit_surface  # noqa: E402
from ivfast.surface.atm import MonotoneATMCurve  # noqa: E402
from ivfast.export import export_surface  # noqa: E402
from ivfast.surface.inputs import Quotes  # noqa: E402
from ivfast.surface.model import SurfaceModel  # noqa: E402
from ivfast.surface.network import CorrectionNetwork  # noqa: E402
from ivfast.surface.prior import SSVIPrior  # noqa: E402

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


@pytest.fixture(scope="module")
def fitted() -> FittedSurface:
    """A real (short) fit_surface result."""
    k, tau, iv = ssvi_quotes()
    return fit_surface(k, tau, iv, config=tiny_config(), seed=1)


@pytest.fixture(scope="module")
def torchscript_file(fitted, tmp_path_factory):
    return export_surface(fitted, tmp_path_factory.mktemp("ts") / "surface.pt")


@pytest.fixture(scope="module")
def torchscript_surface(torchscript_file):
    return load_exported(torchscript_file)


# --- accuracy -----------------------------------------------------------------------------------
def test_torchscript_equals_fitted_surface(fitted, torchscript_surface):
    exported = torchscript_surface
    k, tau = random_points(2000)
    assert_matches(exported.total_variance(k, tau), fitted.total_variance(k, tau), RTOL_VALUE)
    assert_matches(exported.implied_vol(k, tau), fitted.implied_vol(k, tau), RTOL_VALUE)
    for got, want in zip(exported.derivatives(k, tau), fitted.total_variance_derivatives(k, tau)):
        assert_matches(got, want, RTOL_VALUE)


def test_torchscript_derivatives_equal_autograd(fitted, torchscript_file):
    k, tau = random_points(500, seed=1)
    k, tau = k[6:], tau[6:]  # valid points only: autograd of the raw model has no NaN mask
    _, *derivs = load_exported(torchscript_file).derivatives(k, tau)
    for got, want in zip(derivs, autograd_derivatives(fitted, k, tau)):
        assert_matches(got, want, RTOL_DERIVATIVE)


@pytest.mark.parametrize("variant", [
    dict(activation="tanh"),
    dict(activation="sigmoid", log_tau_input=False),
    dict(network=False),
], ids=["tanh", "sigmoid-tau-input", "prior-only"])
def test_every_model_variant_exports_exactly(variant, tmp_path):
    surface = built_surface(**variant)
    exported = load_exported(export_surface(surface, tmp_path / "s.pt"))
    k, tau = random_points(300, seed=2)
    for got, want in zip(exported.derivatives(k, tau), surface.total_variance_derivatives(k, tau)):
        assert_matches(got, want, RTOL_VALUE)


def test_float32_export_within_target(fitted, tmp_path):
    exported = load_exported(export_surface(fitted, tmp_path / "s32.pt", dtype=torch.float32))
    k, tau = random_points(1000, seed=3)
    w = exported.total_variance(k, tau)
    assert w.dtype == np.float32
    assert_matches(w, fitted.total_variance(k, tau), RTOL_FLOAT32)


@settings(max_examples=30, deadline=None)
@given(k=st.floats(-3.0, 3.0), tau=st.floats(1e-4, 10.0))
def test_torchscript_matches_at_any_point(fitted, torchscript_surface, k, tau):
    assert_matches(torchscript_surface.total_variance(k, tau), fitted.total_variance(k, tau), RTOL_VALUE)


# --- interface --------------------------------------------------------------------------------------
def test_loader_broadcasts_chunks_and_keeps_tensors(fitted, torchscript_file):
    k, tau = np.linspace(-0.5, 0.5, 7)[:, None], np.array([0.1, 0.7, 1.9])
    want = fitted.total_variance(k, tau)
    chunked = load_exported(torchscript_file, chunk_size=4)
    assert_matches(chunked.total_variance(k, tau), want, RTOL_VALUE)
    assert_matches(chunked(k, tau), want, RTOL_VALUE)
    assert_matches(chunked.total_variance_derivatives(k, tau)[1], fitted.total_variance_derivatives(k, tau)[1],
                   RTOL_VALUE)
    out = chunked.total_variance(torch.as_tensor(k), torch.as_tensor(tau))
    assert isinstance(out, torch.Tensor) and out.shape == (7, 3)
    assert chunked.total_variance(np.empty(0), 1.0).shape == (0,)
    with pytest.raises(ValueError, match="broadcast"):
        chunked.total_variance(np.zeros(3), np.ones(4))


def test_raw_torchscript_module_broadcasts_any_shapes(fitted, torchscript_file):
    with pytest.warns(DeprecationWarning, match="torch.jit"):
        module = torch.jit.load(str(torchscript_file))
    k = torch.linspace(-0.3, 0.3, 12, dtype=torch.float32).reshape(2, 3, 2)  # cast to float64 inside
    tau = torch.tensor(0.6, dtype=torch.float64)
    assert_matches(module(k, tau).numpy(), fitted.total_variance(k.double().numpy(), 0.6), RTOL_VALUE)
    assert len(module.derivatives(k, tau)) == 4


def test_metadata_round_trip(fitted, torchscript_file):
    meta = load_exported(torchscript_file).metadata
    assert meta == read_metadata(torchscript_file)
    assert (meta["format"], meta["kind"], meta["dtype"], meta["device"]) == (FORMAT, "torchscript", "float64", "cpu")
    assert meta["ivfast_version"] == ivfast.__version__
    assert SmoothingConfig(**meta["config"]) == fitted.config
    assert meta["prior"] == fitted.prior_parameters()  # JSON round-trips floats exactly
    assert meta["training"]["info"]["epochs"] == fitted.info["epochs"]


def test_load_exported_is_public_and_a_surface(torchscript_surface):
    assert ivfast.load_exported is load_exported and "load_exported" in ivfast.__all__
    # Arbitrage checks and other surface consumers accept the loaded file as they accept the fit.
    assert isinstance(torchscript_surface, DifferentiableSurface)


# --- bad input ----------------------------------------------------------------------------------
def test_export_rejects_bad_arguments(fitted, tmp_path):
    with pytest.raises(ValueError, match="format"):
        export_surface(fitted, tmp_path / "a.onnx", format="onnx")
    with pytest.raises(ValueError, match="dtype"):
        export_surface(fitted, tmp_path / "a.pt", dtype=torch.float16)
    with pytest.raises(ValueError, match="device"):
        export_surface(fitted, tmp_path / "a.pt", device="meta")
    with pytest.raises(ValueError, match=".pt2"):
        export_surface(fitted, tmp_path / "a.pt", format="pt2")
    with pytest.raises(ValueError, match="FittedSurface"):
        export_surface(object(), tmp_path / "a.pt")


def _rewrite_metadata(source, target, change) -> None:
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename.endswith(f"extra/{METADATA_FILE}"):
                data = json.dumps(change(json.loads(data))).encode()
            dst.writestr(item, data)


def test_corrupt_or_foreign_files_raise_value_error(torchscript_file, tmp_path):
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(torchscript_file.read_bytes()[:5000])
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(np.random.default_rng(0).bytes(4096))
    newer = tmp_path / "newer.pt"
    _rewrite_metadata(torchscript_file, newer, lambda m: {**m, "format": "ivfast.exported_surface/99"})
    foreign = tmp_path / "foreign.pt"
    with pytest.warns(DeprecationWarning, match="torch.jit"):
        torch.jit.save(torch.jit.script(torch.nn.Linear(2, 1)), str(foreign))
    cases = {truncated: "not a readable", garbage: "not a readable", newer: "re-export",
             foreign: "not an exported", tmp_path / "missing.pt": "no such file"}
    for path, message in cases.items():
        with pytest.raises(ValueError, match=message):
            load_exported(path)


def test_damaged_payload_behind_valid_metadata_raises_value_error(torchscript_file, tmp_path):
    damaged = tmp_path / "damaged.pt"
    with zipfile.ZipFile(torchscript_file) as src, zipfile.ZipFile(damaged, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            dst.writestr(item, b"not torchscript" if item.filename.endswith(".pkl") else data)
    with pytest.raises(ValueError, match="could not be loaded"):
        load_exported(damaged)


def test_loader_rejects_non_numeric_points(torchscript_surface):
    with pytest.raises(ValueError, match="k: expected real numbers"):
        torchscript_surface.total_variance("abc", 1.0)


def test_loader_rejects_bad_arguments(torchscript_file):
    with pytest.raises(ValueError, match="chunk_size"):
        load_exported(torchscript_file, chunk_size=0)
    with pytest.raises(ValueError, match="device"):
        load_exported(torchscript_file, device="not-a-device")


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


def test_torchscript_loads_with_plain_torch_only(fitted, torchscript_file, tmp_path):
    k, tau = random_points(100, seed=4)
    np.save(tmp_path / "points.npy", np.stack([k, tau]))
    out = run_without_ivfast("""
        import sys, numpy as np, torch
        k, tau = (torch.as_tensor(a) for a in np.load(sys.argv[2]))
        m = torch.jit.load(sys.argv[1])
        np.save(sys.argv[3], np.stack([m(k, tau).numpy(), m.implied_vol(k, tau).numpy(),
                                        *(d.numpy() for d in m.derivatives(k, tau))]))
        print("ivfast" in sys.modules)
    """, str(torchscript_file), str(tmp_path / "points.npy"), str(tmp_path / "out.npy"))
    assert out.strip() == "False"
    got = np.load(tmp_path / "out.npy")
    want = [fitted.total_variance(k, tau), fitted.implied_vol(k, tau), *fitted.total_variance_derivatives(k, tau)]
    for g, w in zip(got, want):
        assert_matches(g, w, RTOL_VALUE)


# --- CUDA -----------------------------------------------------------------------------------------
@pytest.mark.cuda
@pytest.mark.parametrize("dtype, rtol", [(torch.float64, RTOL_VALUE), (torch.float32, RTOL_FLOAT32)])
def test_torchscript_exported_on_cpu_runs_on_cuda(fitted, tmp_path, dtype, rtol):
    exported = load_exported(export_surface(fitted, tmp_path / "s.pt", dtype=dtype), device="cuda")
    k, tau = random_points(4096, seed=5)
    out = exported.total_variance(torch.as_tensor(k), torch.as_tensor(tau))
    assert out.device.type == "cuda"
    assert_matches(out.cpu().numpy(), fitted.total_variance(k, tau), rtol)
    for got, want in zip(exported.derivatives(k, tau), fitted.total_variance_derivatives(k, tau)):
        # float32 derivatives: same ulp argument as values, relative to the largest magnitude.
        assert_matches(got, want, rtol if dtype == torch.float32 else RTOL_DERIVATIVE)
