#!/usr/bin/env bash
# GPU check of export and completion (<= 8 minutes). Without a CUDA GPU it runs the CPU part and
# says what it skipped. Usage: bash bench/gpu_check.sh [OUT_JSON]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-${OUT:-/tmp}/gpu_check.json}"
if [ -d .venv ]; then source .venv/bin/activate; fi

HAVE_CUDA=$(python -c "import torch; print(int(torch.cuda.is_available()))")
echo "== CUDA tests (export and completion; they skip without a GPU)"
timeout 240 python -m pytest -q tests/test_export.py tests/test_completion.py -k "cuda or export" \
  -p no:cacheprovider || { echo "CUDA tests failed"; exit 1; }

echo "== throughput"
timeout 240 python - "$OUT" "$HAVE_CUDA" <<'PY'
import json, sys, tempfile, time
import numpy as np, torch
import ivfast
from ivfast.completion import complete_surfaces, load_weights
from ivfast.completion.corpus import synthetic_corpus
from ivfast.completion.tokens import pad_tokens, spread_subset
from ivfast.completion.quotes import atm_curve, chain_features

out, have_cuda = sys.argv[1], sys.argv[2] == "1"
result = {"cuda": have_cuda, "device": torch.cuda.get_device_name(0) if have_cuda else None}
s = synthetic_corpus(4, 1000)[0]
surface = ivfast.complete_surface(s.k, s.tau, s.iv)
path = surface.export(tempfile.mkdtemp() + "/completed.pt", dtype=torch.float32)

def points_per_s(device, n):
    exported = ivfast.load_exported(path, device=device)
    k = torch.rand(n, device=device, dtype=torch.float32) - 0.5
    tau = torch.rand(n, device=device, dtype=torch.float32) * 2 + 0.01
    exported(k[:1000], tau[:1000])
    if device == "cuda": torch.cuda.synchronize()
    t0 = time.perf_counter(); exported(k, tau)
    if device == "cuda": torch.cuda.synchronize()
    return n / (time.perf_counter() - t0)

result["export_points_per_s_cpu_float32_1e6"] = points_per_s("cpu", 1_000_000)
samples = synthetic_corpus(64, 1000)
t0 = time.perf_counter(); complete_surfaces([(x.k, x.tau, x.iv) for x in samples], refine_steps=0)
result["completion_surfaces_per_s_cpu_network_only"] = len(samples) / (time.perf_counter() - t0)
if have_cuda:
    result["export_points_per_s_cuda_float32_1e8"] = points_per_s("cuda", 100_000_000)
    net = load_weights()[0]["ssvi"].to("cuda")
    subs = [spread_subset(x.k, x.tau, 128) for x in samples]
    feats = np.array([chain_features(x.k, x.tau, x.iv, atm_curve(x.k, x.tau, x.iv)) for x in samples])
    tok = pad_tokens([x.k[i] for x, i in zip(samples, subs)], [x.tau[i] for x, i in zip(samples, subs)],
                     [x.iv[i] for x, i in zip(samples, subs)], [i.size for i in subs], feats)
    for f in ("k", "tau", "iv", "observed", "query", "features"):
        setattr(tok, f, getattr(tok, f).cuda())
    with torch.no_grad():
        net(tok); torch.cuda.synchronize(); t0 = time.perf_counter()
        for _ in range(10): net(tok)
        torch.cuda.synchronize()
    result["completion_network_surfaces_per_s_cuda"] = 10 * len(samples) / (time.perf_counter() - t0)
else:
    print("no CUDA GPU: skipped the GPU export throughput (1e8 float32 points) and GPU completion surfaces/s")
print(json.dumps(result, indent=1))
open(out, "w").write(json.dumps(result, indent=1))
PY
echo "wrote $OUT"
