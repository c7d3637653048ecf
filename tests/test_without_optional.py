"""ivfast without its optional dependencies: the core imports and works, and whatever needs torch
or matplotlib raises an ImportError that says which extra to install (after iminuit's
``test_without_*``). Each case runs in a fresh interpreter in which the dependency cannot be imported.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

_BLOCK = """
import sys
class _Block:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {blocked!r}:
            raise ImportError(f"No module named {{name!r}} (blocked by the test)")
sys.meta_path.insert(0, _Block())
"""


def _run(body: str, *blocked: str, args: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    code = _BLOCK.format(blocked=set(blocked)) + textwrap.dedent(body)
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300)


def test_import_ivfast_loads_neither_torch_nor_matplotlib():
    result = _run("""
        import sys, ivfast
        print(sorted(m for m in ("torch", "matplotlib", "cvxpy") if m in sys.modules))
        ivfast.SmoothingConfig  # a torch-backed name loads torch on first access
        print("torch" in sys.modules)
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["[]", "True"]


def test_without_torch_the_core_works_and_torch_features_say_what_to_install():
    result = _run("""
        import numpy as np, ivfast
        vol = ivfast.implied_vol(ivfast.black_price(100.0, 110.0, 0.5, 0.2), 100.0, 110.0, 0.5)
        assert abs(vol - 0.2) < 1e-14, vol
        k, tau, iv = ivfast.datasets.ackerer_quotes()
        w = iv**2 * tau
        assert ivfast.svi.fit_ssvi(k, tau, w).satisfies_gj_conditions()
        for module, name in [(ivfast, n) for n in ("fit_surface", "FittedSurface", "SmoothingConfig",
                                                    "export_surface")] + [(ivfast.surrogate, "train")]:
            try:
                getattr(module, name)
            except ImportError as exc:
                assert "pip install 'ivfast[torch]'" in str(exc), exc
            else:
                raise AssertionError(f"ivfast.{name} imported without torch")
        print("ok")
    """, "torch")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_without_torch_ivfast_fit_exits_with_the_install_hint(tmp_path):
    chain = tmp_path / "chain.csv"
    chain.write_text("tau,strike,type,bid,ask\n0.5,100,call,5,5.2\n")
    result = _run("""
        import sys
        from ivfast.cli import main
        sys.exit(main(["fit", sys.argv[1], "--out", sys.argv[2]]))
    """, "torch", args=(str(chain), str(tmp_path / "out")))
    assert result.returncode == 2, result.stderr
    assert "ivfast[torch]" in result.stderr


@pytest.mark.parametrize("blocked", ["matplotlib"])
def test_without_matplotlib_a_plot_says_what_to_install(tmp_path, blocked):
    result = _run("""
        import sys, numpy as np, ivfast
        report = ivfast.arbitrage.check_vols(np.array([100.0]), np.array([0.5]), np.array([[0.2]]),
                                             np.array([100.0]))
        try:
            report.plot(sys.argv[1])
        except ImportError as exc:
            assert "pip install 'ivfast[plot]'" in str(exc), exc
            print("ok")
    """, blocked, args=(str(tmp_path / "a.png"),))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
