"""Completion weights files: version-stamped, loaded without unpickling code.

A file holds one or more named networks (``"ssvi"``: ivfast's completion model, ``"ivyspt"``: the
published IvySPT) with their configurations and how they were trained. The shipped file,
:data:`DEFAULT_WEIGHTS`, is made by ``python -m ivfast.completion.train`` (bit-for-bit from its
seed); nothing is downloaded.
"""

from __future__ import annotations

import json
import os
import pathlib
import pickle
from typing import Any

import torch

from .model import CompletionConfig, CompletionNet

__all__ = ["WEIGHTS_FORMAT", "DEFAULT_WEIGHTS", "save_weights", "load_weights"]

WEIGHTS_FORMAT = "ivfast.completion/1"
"""Format and model version; a file of another version is refused (the networks would differ)."""

DEFAULT_WEIGHTS = pathlib.Path(__file__).with_name("default_weights.pt")
"""The pre-trained weights shipped inside the package."""


def save_weights(path: str | os.PathLike[str], networks: dict[str, CompletionNet], info: dict[str, Any]) -> None:
    """Write networks to a weights file.

    Parameters
    ----------
    path : str or os.PathLike
        Output file (``.pt``).
    networks : dict of str to CompletionNet
        The networks by name.
    info : dict
        JSON-serialisable training record (seed, steps, corpus, timings).
    """
    payload = {
        "format": WEIGHTS_FORMAT,
        "info": json.dumps(info, sort_keys=True),
        "configs": {name: net.config.to_json() for name, net in networks.items()},
        "states": {name: {k: v.detach().clone() for k, v in net.state_dict().items()}
                   for name, net in networks.items()},
    }
    torch.save(payload, path)


def load_weights(path: str | os.PathLike[str] | None = None) -> tuple[dict[str, CompletionNet], dict[str, Any]]:
    """Read a weights file (``torch.load(weights_only=True)``).

    Parameters
    ----------
    path : str or os.PathLike, optional
        The file (default :data:`DEFAULT_WEIGHTS`).

    Returns
    -------
    networks : dict of str to CompletionNet
        In eval mode, on the CPU.
    info : dict
        The training record.

    Raises
    ------
    ValueError
        ``weights``: the file is missing, not a torch archive, not a completion weights file, or
        of another version than :data:`WEIGHTS_FORMAT`.
    """
    path = DEFAULT_WEIGHTS if path is None else pathlib.Path(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError) as exc:
        raise ValueError(f"weights: cannot read {os.fspath(path)!r} ({exc})") from None
    if not isinstance(payload, dict) or "format" not in payload:
        raise ValueError(f"weights: {os.fspath(path)!r} is not an ivfast completion weights file")
    if payload["format"] != WEIGHTS_FORMAT:
        raise ValueError(f"weights: {os.fspath(path)!r} is version {payload['format']!r}; this ivfast reads "
                         f"{WEIGHTS_FORMAT!r} (regenerate it with python -m ivfast.completion.train)")
    networks = {}
    for name, text in payload["configs"].items():
        net = CompletionNet(CompletionConfig.from_json(text))
        net.load_state_dict(payload["states"][name])
        networks[name] = net.eval()
    return networks, json.loads(payload["info"])
