"""The C++ consumer (examples/cpp_consumer) loads an exported TorchScript surface through libtorch and
agrees with Python.

The example is built once against the libtorch inside the torch wheel into build/surface-consumer
(kept between runs, so later builds are incremental: the first takes ~25 s of CPU time).
"""

from __future__ import annotations

import functools
import pathlib
import shutil
import subprocess

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from .test_export import (  # noqa: E402
    RTOL_DERIVATIVE,
    RTOL_FLOAT32,
    RTOL_VALUE,
    assert_matches,
    built_surface,
    random_points,
)
from ivfast.export import export_surface  # noqa: E402

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
    if not (BUILD_DIR / "CMakeCache.txt").is_file():
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


@pytest.fixture(scope="module")
def surface():
    return built_surface()


def test_cpp_consumer_matches_python_float64(surface, tmp_path):
    model = export_surface(surface, tmp_path / "surface.pt")
    k, tau = random_points(400, seed=11)
    out = run_consumer(model, k, tau, tmp_path)
    np.testing.assert_array_equal(out[:, 0], k)  # %.17g round-trips doubles exactly
    for column, want, rtol in zip(out[:, 2:].T, python_reference(surface, k, tau),
                                  (RTOL_VALUE, RTOL_VALUE, RTOL_DERIVATIVE, RTOL_DERIVATIVE, RTOL_DERIVATIVE)):
        assert_matches(column, want, rtol)


def test_cpp_consumer_matches_python_float32(surface, tmp_path):
    model = export_surface(surface, tmp_path / "surface32.pt", dtype=torch.float32)
    k, tau = random_points(200, seed=12)
    out = run_consumer(model, k, tau, tmp_path)
    assert_matches(out[:, 2], surface.total_variance(k, tau), RTOL_FLOAT32)


def test_cpp_consumer_reports_bad_files(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a model")
    points = tmp_path / "points.txt"
    points.write_text("0.1 0.5\n")
    result = subprocess.run([str(consumer_executable()), str(bad), str(points)], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 1 and result.stderr.startswith("error:")
    points.write_text("0.1 abc\n")
    result = subprocess.run([str(consumer_executable()), str(bad), str(points)], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 1 and "expected pairs of numbers" in result.stderr
