"""pt2 (torch.export + AOTInductor) export of fitted surfaces.

Compiling a package takes from ~40 s (idle 2-core machine, warm inductor cache) to a few minutes,
so this module compiles once (module fixture) and every test shares the package; the module is
marked ``slow`` for that reason.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from ._export_helpers import (  # noqa: E402
    RTOL_DERIVATIVE,
    RTOL_FLOAT32,
    RTOL_VALUE,
    assert_matches,
    autograd_derivatives,
    built_surface,
    random_points,
    python_reference,
    run_consumer,
    run_without_ivfast,
)
from ivfast.export import load_exported, read_metadata  # noqa: E402
from ivfast.export.load import METADATA_KEY  # noqa: E402
from ivfast.export import export_surface  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def surface():
    return built_surface()


@pytest.fixture(scope="module")
def package(surface, tmp_path_factory):
    return export_surface(surface, tmp_path_factory.mktemp("pt2") / "surface.pt2", format="pt2")


@pytest.fixture(scope="module")
def loaded(package):
    return load_exported(package)


def test_pt2_equals_fitted_surface(surface, loaded):
    k, tau = random_points(3000, seed=21)
    assert_matches(loaded.total_variance(k, tau), surface.total_variance(k, tau), RTOL_VALUE)
    assert_matches(loaded.implied_vol(k, tau), surface.implied_vol(k, tau), RTOL_VALUE)
    w, *derivs = loaded.derivatives(k, tau)
    want_w, *want_derivs = surface.total_variance_derivatives(k, tau)
    assert_matches(w, want_w, RTOL_VALUE)
    for got, want in zip(derivs, want_derivs):
        assert_matches(got, want, RTOL_DERIVATIVE)


def test_pt2_derivatives_equal_autograd(surface, loaded):
    k, tau = random_points(500, seed=22)
    k, tau = k[6:], tau[6:]  # valid points only: autograd of the raw model has no NaN mask
    _, *derivs = loaded.derivatives(k, tau)
    for got, want in zip(derivs, autograd_derivatives(surface, k, tau)):
        assert_matches(got, want, RTOL_DERIVATIVE)


def test_pt2_handles_shapes_chunks_and_single_points(surface, package):
    chunked = load_exported(package, chunk_size=5)
    k, tau = np.linspace(-0.5, 0.5, 9)[:, None], np.array([0.05, 1.0, 3.0])
    assert_matches(chunked.total_variance(k, tau), surface.total_variance(k, tau), RTOL_VALUE)
    assert_matches(chunked.total_variance(0.1, 0.7), surface.total_variance(0.1, 0.7), RTOL_VALUE)


def test_pt2_metadata(package, loaded):
    meta = read_metadata(package)
    assert (meta["kind"], meta["dtype"], meta["device"]) == ("pt2", "float64", "cpu")
    assert loaded.metadata == meta
    compiled = torch._inductor.aoti_load_package(str(package))
    assert compiled.get_metadata()[f"{METADATA_KEY}_dtype"] == "float64"


def test_pt2_loads_with_plain_torch_only(surface, package, tmp_path):
    k, tau = random_points(64, seed=23)
    np.save(tmp_path / "points.npy", np.stack([k, tau]))
    out = run_without_ivfast("""
        import sys, numpy as np, torch
        from torch._inductor.package import load_package
        k, tau = (torch.as_tensor(a) for a in np.load(sys.argv[2]))
        value = torch._inductor.aoti_load_package(sys.argv[1])
        derivs = load_package(sys.argv[1], "derivatives")(k, tau)
        np.save(sys.argv[3], np.stack([value(k, tau).numpy(), *(d.numpy() for d in derivs)]))
        print("ivfast" in sys.modules)
    """, str(package), str(tmp_path / "points.npy"), str(tmp_path / "out.npy"))
    assert out.strip() == "False"
    got = np.load(tmp_path / "out.npy")
    want = surface.total_variance_derivatives(k, tau)
    for g, w, rtol in zip(got, [want[0], *want], [RTOL_VALUE] * 2 + [RTOL_DERIVATIVE] * 3):
        assert_matches(g, w, rtol)


def test_pt2_cpp_consumer_matches_python(surface, package, tmp_path):
    k, tau = random_points(300, seed=24)
    out = run_consumer(package, k, tau, tmp_path)
    for column, want, rtol in zip(out[:, 2:].T, python_reference(surface, k, tau),
                                  (RTOL_VALUE, RTOL_VALUE, RTOL_DERIVATIVE, RTOL_DERIVATIVE, RTOL_DERIVATIVE)):
        assert_matches(column, want, rtol)


def test_pt2_errors(package, tmp_path):
    truncated = tmp_path / "truncated.pt2"
    truncated.write_bytes(package.read_bytes()[:4096])
    with pytest.raises(ValueError, match="not a readable"):
        load_exported(truncated)
    with pytest.raises(ValueError, match="cuda"):  # compiled for CPU (or no CUDA at all)
        load_exported(package, device="cuda")


@pytest.mark.cuda
@pytest.mark.parametrize("dtype, rtol", [(torch.float64, RTOL_VALUE), (torch.float32, RTOL_FLOAT32)])
def test_pt2_compiled_for_cuda(surface, tmp_path, dtype, rtol):
    exported = load_exported(export_surface(surface, tmp_path / "s.pt2", format="pt2", dtype=dtype, device="cuda"),
                             device="cuda")
    k, tau = random_points(4096, seed=25)
    out = exported.total_variance(torch.as_tensor(k), torch.as_tensor(tau))
    assert out.device.type == "cuda"
    assert_matches(out.cpu().numpy(), surface.total_variance(k, tau), rtol)
    for got, want in zip(exported.derivatives(k, tau), surface.total_variance_derivatives(k, tau)):
        assert_matches(got, want, rtol if dtype == torch.float32 else RTOL_DERIVATIVE)
