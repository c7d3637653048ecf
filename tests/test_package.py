"""Packaging contracts: light import, public API, torch/OpenMP coexistence, CLI."""

from __future__ import annotations

import subprocess
import sys

import pytest

import ivfast


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)




def test_public_api_is_exported():
    for name in ("implied_vol", "black_price", "black_vega", "forward", "IVStatus"):
        assert name in ivfast.__all__ and hasattr(ivfast, name)
    assert ivfast.__version__


_OPENMP_KERNEL = (
    "import numpy as np, ivfast\n"
    "f, k = 100.0, np.linspace(50, 200, 200_000)\n"
    "p = ivfast.black_price(f, k, 1.0, 0.3, threads=2)\n"
    "v = ivfast.implied_vol(p, f, k, 1.0, threads=2)\n"
    "assert np.nanmax(np.abs(v - 0.3)) < 1e-12, np.nanmax(np.abs(v - 0.3))\n"
)
_TORCH_OP = (
    "import torch\n"
    "torch.set_num_threads(2)\n"
    "a = torch.randn(512, 512, dtype=torch.float64)\n"
    "assert torch.isfinite((a @ a).sum())\n"
)


@pytest.mark.parametrize("order", ["torch_first", "ivfast_first"])
def test_openmp_kernels_coexist_with_torch(order):
    """libgomp (ours) and torch's bundled OpenMP runtime in one process, both orders."""
    pytest.importorskip("torch")
    first, second = (_TORCH_OP, _OPENMP_KERNEL) if order == "torch_first" else (_OPENMP_KERNEL, _TORCH_OP)
    result = _run(first + second + _OPENMP_KERNEL + _TORCH_OP + "print('ok')")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("ok")


def test_cli_help_and_bad_command():
    ok = subprocess.run([sys.executable, "-m", "ivfast.cli", "--help"], capture_output=True, text=True)
    assert ok.returncode == 0 and "demo" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "ivfast.cli", "no-such-command"], capture_output=True, text=True)
    assert bad.returncode != 0
