"""Shared pytest configuration: paths to optional real data and GPU/torch skips."""

from __future__ import annotations

import pathlib

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
CHAINS = REPO.parent / "shared" / "data" / "chains"


def pytest_collection_modifyitems(config, items):
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except ImportError:
        has_cuda = False
    skip_cuda = pytest.mark.skip(reason="needs a CUDA GPU (none visible)")
    for item in items:
        if "cuda" in item.keywords and not has_cuda:
            item.add_marker(skip_cuda)


@pytest.fixture(scope="session")
def chains_dir() -> pathlib.Path:
    """Folder of the real option-chain snapshots (../shared/data/chains); skip when absent."""
    if not CHAINS.is_dir():
        pytest.skip("real option chains not present (../shared/data/chains)")
    return CHAINS
