"""Export of fitted surfaces: TorchScript files, the loader, metadata, errors, isolation, CUDA.

The pt2 (AOTInductor) format is in test_export_pt2.py, the C++ consumer in test_export_cpp.py;
the surface builders and references all three use are in tests/_export_helpers.py.
"""

from __future__ import annotations

import json
import zipfile

import numpy as np
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
from ivfast.export import export_surface  # noqa: E402

from ._export_helpers import (  # noqa: E402
    RTOL_DERIVATIVE,
    RTOL_FLOAT32,
    RTOL_VALUE,
    assert_matches,
    autograd_derivatives,
    built_surface,
    random_points,
    run_without_ivfast,
    ssvi_quotes,
    tiny_config,
)
















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
