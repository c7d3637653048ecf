"""The C++ consumer (examples/cpp_consumer) loads an exported TorchScript surface through libtorch and
agrees with Python.

The example is built once against the libtorch inside the torch wheel into build/surface-consumer
(kept between runs, so later builds are incremental: the first takes ~25 s of CPU time).
"""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from ._export_helpers import (  # noqa: E402
    RTOL_DERIVATIVE,
    RTOL_FLOAT32,
    RTOL_VALUE,
    assert_matches,
    built_surface,
    consumer_executable,
    python_reference,
    random_points,
    run_consumer,
)
from ivfast.export import export_surface  # noqa: E402

# Builds the example against libtorch (a minute on a fresh clone): part of the slow set.
pytestmark = pytest.mark.slow











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
