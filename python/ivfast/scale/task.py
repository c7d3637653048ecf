"""One chain's fit as a Dask task: idempotent, failure-recording, thread-limited."""

from __future__ import annotations

import os
import socket
import time
from typing import Any

from .store import ResultStore

__all__ = ["fit_one", "limit_threads"]


def limit_threads(threads: int) -> None:
    """Use ``threads`` torch threads in this process (its OpenMP pool follows ``OMP_NUM_THREADS``)."""
    import torch

    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def _failure(exc: BaseException) -> dict[str, Any]:
    return {"status": "failed", "reason": " ".join(f"{type(exc).__name__}: {exc}".split())[:2000]}


def _summary_fields(result: Any) -> dict[str, Any]:
    summary = result.summary
    fit, arb, seconds = summary["fit"], summary["arbitrage"], summary["seconds"]
    other = sum(n for kind, n in arb["counts"].items() if kind not in ("calendar", "butterfly"))
    return {
        "status": "ok", "reason": "",
        **{f"seconds_{step}": float(seconds[step]) for step in ("prepare", "fit", "check", "write", "total")},
        "epochs": int(fit["epochs"] or 0), "best_loss": float(fit["best_loss"]), "stop_reason": str(fit["stop_reason"]),
        "quotes": int(summary["quotes"]["fitted"]), "inside_bid_ask": float(fit["inside_bid_ask"]),
        "rmse_vol_points": float(fit["rmse_vol_points"]), "calendar": int(arb["calendar"]),
        "butterfly": int(arb["butterfly"]), "other_violations": int(other),
        "surface": str(result.files["surface"]), "summary": str(result.files["summary"]),
    }


def _start(init: dict[str, Any] | str | None) -> tuple[str, str | None]:
    """The store's ``init`` field and :func:`~ivfast.workflow.fit_chain`'s ``init`` for this start."""
    if isinstance(init, str):
        return init, init
    if init is not None and init.get("status") == "ok":
        return str(init["chain_id"]), str(init["surface"])
    return "", None


def fit_one(chain: dict[str, Any], store_root: str, init: dict[str, Any] | str | None, fit_options: dict[str, Any],
            threads: int = 1) -> dict[str, Any]:
    """Fit one chain with :func:`ivfast.workflow.fit_chain` and store its row.

    Parameters
    ----------
    chain : dict
        A :func:`~ivfast.scale.chain_manifest` row (``chain_id``, ``underlying``, ``date``, ``path``).
    store_root : str
        The :class:`~ivfast.scale.ResultStore` folder.
    init : dict, str or None
        The previous date's row: its surface warm-starts this fit when its status is "ok"; or
        ``"completion"`` (:data:`ivfast.workflow.COMPLETION`): start from the completion model's
        surface of this chain's quotes.
    fit_options : dict
        Keyword arguments of :func:`ivfast.workflow.fit_chain`.
    threads : int, default 1
        torch threads for the fit.

    Returns
    -------
    dict
        The chain's row (:data:`~ivfast.scale.RESULT_COLUMNS`). A chain already stored as "ok" is
        returned as stored, without fitting again, so a task that Dask reruns (its worker died, or a
        later task needs its lost result) does no work twice. Any error of the chain itself is
        recorded as status "failed" with the reason; only interrupts propagate.
    """
    from ..chain import read_chain
    from ..workflow import fit_chain

    store = ResultStore(store_root)
    stored = store.row(chain["chain_id"])
    if stored is not None and stored["status"] == "ok":
        return stored
    started = time.perf_counter()
    start = _start(init)
    row = {**chain, "attempt": 1 if stored is None else int(stored["attempt"]) + 1,
           "worker": f"{socket.gethostname()}:{os.getpid()}", "init": start[0]}
    try:
        limit_threads(threads)
        # Cboe and Yahoo files carry their date; plain tables take the file name's.
        as_of = None if read_chain(chain["path"]).attrs.get("as_of") else chain["date"]
        result = fit_chain(chain["path"], store.surface_dir(chain["chain_id"]), as_of=as_of,
                           init=start[1], **fit_options)
        row.update(_summary_fields(result))
    except Exception as exc:  # a bad chain is recorded and the run goes on
        row.update(_failure(exc), seconds_total=time.perf_counter() - started)
    store.write(row)
    return row
