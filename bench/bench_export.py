"""Evaluating a fitted surface: eager PyTorch vs the exported TorchScript and AOTInductor (pt2) files.

Run with ``./run.sh bench -k export``. The surface has the default 4 x 40 softplus network. Each
row evaluates ``IVFAST_BENCH_EXPORT_POINTS`` points (default 1e6; set 1e8 for the large run) in
chunks of ``IVFAST_BENCH_EXPORT_CHUNK`` (default 65536) on CPU with 1 thread and with all
threads, and on CUDA when a GPU is visible; float64 and float32; value only (``w``) and value
with derivatives (``jet``). The terminal summary prints ns/point and the ratio to eager; the
printed lines give points/s and, per row, the peak memory of one chunk per point.

Compiling the pt2 packages takes minutes on a small machine (one per dtype and device); set
``IVFAST_BENCH_EXPORT_PT2=0`` to skip them.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("cvxpy")

from ivfast.surface import SmoothingConfig, fit_surface  # noqa: E402
from ivfast.export import export_surface  # noqa: E402

N_POINTS = int(float(os.environ.get("IVFAST_BENCH_EXPORT_POINTS", "1e6")))
CHUNK = int(float(os.environ.get("IVFAST_BENCH_EXPORT_CHUNK", "65536")))
WITH_PT2 = os.environ.get("IVFAST_BENCH_EXPORT_PT2", "1") != "0"
ALL_THREADS = torch.get_num_threads()

TARGETS = [("cpu", 1), ("cpu", ALL_THREADS)] + ([("cuda", 0)] if torch.cuda.is_available() else [])
DTYPES = {"float64": torch.float64, "float32": torch.float32}
BACKENDS = ["eager", "torchscript"] + (["pt2"] if WITH_PT2 else [])


@pytest.fixture(scope="module")
def surface():
    """A short fit with the default 4 x 40 network (speed does not depend on the weights' values)."""
    k, tau = (a.ravel() for a in np.meshgrid(np.linspace(-0.4, 0.3, 8), [0.1, 0.25, 0.5, 1.0, 1.5, 2.0]))
    theta = 0.04 * tau**0.9
    phi = 0.8 * theta**-0.3
    iv = np.sqrt(theta / 2 * (1 - 0.5 * phi * k + np.sqrt((phi * k - 0.5) ** 2 + 0.75)) / tau)
    config = SmoothingConfig(max_epochs=5, prior_init_iterations=5, progress=False)
    return fit_surface(k, tau, iv, config=config)


@pytest.fixture(scope="module")
def files(surface, tmp_path_factory):
    """Exported files, made on first use: (backend, dtype name, device) -> path."""
    folder = tmp_path_factory.mktemp("export-bench")
    cache: dict[tuple[str, str, str], object] = {}

    def get(backend: str, dtype: str, device: str):
        key = (backend, dtype, device)
        if key not in cache:
            # TorchScript files load anywhere: export once on CPU; pt2 compiles per device.
            on = device if backend == "pt2" else "cpu"
            suffix = ".pt2" if backend == "pt2" else ".pt"
            cache[key] = export_surface(surface, folder / f"{backend}-{dtype}-{on}{suffix}",
                                        format="pt2" if backend == "pt2" else "torchscript",
                                        dtype=DTYPES[dtype], device=on)
        return cache[key]

    return get


def _evaluator(backend: str, what: str, surface, path, dtype: torch.dtype, device: str):
    """A function of 1-D (k, tau) chunks on ``device`` returning the output tensor(s)."""
    if backend == "eager":
        model = copy.deepcopy(surface.model).to(device=device, dtype=dtype).eval().requires_grad_(False)
        return (lambda k, t: model(k, t, 0)[0]) if what == "w" else (lambda k, t: model(k, t)[:4])
    if backend == "torchscript":
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=DeprecationWarning, message=r".*torch\.jit.*")
            module = torch.jit.load(str(path), map_location=device)
        return module.forward if what == "w" else module.derivatives
    from torch._inductor.package import load_package

    return load_package(str(path), "model" if what == "w" else "derivatives")


def _points(dtype: torch.dtype, device: str):
    generator = torch.Generator().manual_seed(7)
    k = (torch.rand(N_POINTS, generator=generator, dtype=torch.float64) - 0.5) * 1.2
    tau = torch.exp(torch.empty(N_POINTS, dtype=torch.float64).uniform_(np.log(0.02), np.log(3.0),
                                                                        generator=generator))
    return k.to(device=device, dtype=dtype), tau.to(device=device, dtype=dtype)


@pytest.mark.parametrize("what", ["w", "jet"])
@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("device, threads", TARGETS, ids=[f"{d}-{t}t" if d == "cpu" else d for d, t in TARGETS])
@pytest.mark.parametrize("backend", BACKENDS)
def test_export_throughput(benchmark, ratio_table, surface, files, backend, device, threads, dtype, what):
    path = None if backend == "eager" else files(backend, dtype, device)
    evaluate = _evaluator(backend, what, surface, path, DTYPES[dtype], device)
    k, tau = _points(DTYPES[dtype], device)
    previous = torch.get_num_threads()
    torch.set_num_threads(threads or previous)

    def run():
        with torch.inference_mode():
            for start in range(0, N_POINTS, CHUNK):
                evaluate(k[start:start + CHUNK], tau[start:start + CHUNK])
        if device == "cuda":
            torch.cuda.synchronize()

    try:
        run()  # warm-up: TorchScript's profiling executor optimises on the first calls
        benchmark.pedantic(run, rounds=3, iterations=1)
    finally:
        torch.set_num_threads(previous)
    where = f"{device} {threads} thread(s)" if device == "cpu" else device
    label = f"{what} {dtype} {where}: {backend}"
    ratio_table(f"surface evaluation, {N_POINTS:.0e} points, {what} {dtype} {where}").add(label, benchmark, N_POINTS)
    print(f"\n{label}: {N_POINTS / benchmark.stats.stats.median:.3e} points/s")


_MEMORY_PROBE = """
import os, resource, sys, warnings, torch
warnings.simplefilter("ignore")
path, what, chunk = sys.argv[1], sys.argv[2], int(sys.argv[3])
if path.endswith(".pt2"):
    from torch._inductor.package import load_package
    f = load_package(path, "model" if what == "w" else "derivatives")
    dtype = torch.float64 if "float64" in path else torch.float32
else:
    m = torch.jit.load(path)
    f = m.forward if what == "w" else m.derivatives
    dtype = m.anchor.dtype
k, t = torch.zeros(chunk, dtype=dtype), torch.ones(chunk, dtype=dtype)
with torch.inference_mode():
    f(k[:8], t[:8]); f(k[:8], t[:8])
    # Current RSS before (the lifetime peak may hold transient import/load memory), peak RSS after.
    with open("/proc/self/statm") as statm:
        before = int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    f(k, t)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print((after - before) / chunk)
"""


@pytest.mark.parametrize("what", ["w", "jet"])
@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("backend", [b for b in BACKENDS if b != "eager"])
def test_export_cold_start_and_memory(benchmark, files, backend, dtype, what):
    """A fresh process that loads the file and evaluates one 2^20-point call (CPU): the time is the
    cold start (import torch, load, first call); the printed memory is the peak resident memory during
    that call above the resident memory before it, per point (Linux /proc; includes allocator slack)."""
    path = files(backend, dtype, "cpu")
    chunk = 1 << 20

    def probe() -> float:
        result = subprocess.run([sys.executable, "-c", _MEMORY_PROBE, str(path), what, str(chunk)],
                                capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr[-2000:]
        return float(result.stdout)

    per_point = benchmark.pedantic(probe, rounds=1, iterations=1)
    print(f"\nmemory {backend} {dtype} {what}: {per_point:.0f} bytes/point (peak RSS growth of one 2^20 call)")
