"""Many chains (dates x underlyings) fitted on Dask, warm-started along each date range, resumable.

:func:`fit_many` submits one task per chain (:func:`~ivfast.scale.task.fit_one`) to a
``dask.distributed`` client: a local cluster by default, or any client (a scheduler address for a
real cluster). Each underlying's dates are split into chunks of consecutive dates; the chunks run
in parallel and, inside a chunk, each date's task depends on the previous date's and starts from
its fitted surface. Results go to a :class:`~ivfast.scale.ResultStore` as each chain finishes.

Chunk size trades parallelism against warm starts: a chunk's first date is fitted cold and the
others warm, so fewer, longer chunks save more epochs but leave workers idle once fewer chunks than
workers remain. The default gives every worker one chunk per underlying (all dates warm except one
per worker); bench/README.md ("Fitting many chains") has the measured epochs and wall times.
"""

from __future__ import annotations

import contextlib
import math
import os
import uuid
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import pandas as pd

from .._optional import require
from .manifest import chain_manifest
from .store import ResultStore
from .task import fit_one

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["fit_many", "date_chunks"]

_WARM_STARTS = ("previous", "completion", None)


def _check_chunk_size(chunk_size: int) -> None:
    if not (isinstance(chunk_size, int) and chunk_size >= 1):
        raise ValueError(f"chunk_size: expected a positive integer, got {chunk_size!r}")


def date_chunks(manifest: pd.DataFrame, chunk_size: int) -> list[list[dict[str, Any]]]:
    """Consecutive dates of each underlying in chunks of at most ``chunk_size`` rows.

    Parameters
    ----------
    manifest : pandas.DataFrame
        As :func:`~ivfast.scale.chain_manifest` returns it (sorted by underlying and date).
    chunk_size : int
        Dates per chunk (>= 1).

    Returns
    -------
    list of list of dict
        Manifest rows, chunk by chunk.
    """
    _check_chunk_size(chunk_size)
    chunks: list[list[dict[str, Any]]] = []
    for _, rows in manifest.groupby("underlying", sort=True):
        records = [{str(k): v for k, v in r.items()} for r in rows.to_dict("records")]
        chunks += [records[i:i + chunk_size] for i in range(0, len(records), chunk_size)]
    return chunks


@contextlib.contextmanager
def _client(client: Client | str | None, workers: int | None) -> Iterator[tuple[Client, int]]:
    """Yield the client to use and the threads per task.

    ``client`` itself, a client of a scheduler address, or a local cluster of ``workers``
    single-threaded worker processes (closed afterwards).
    """
    require("distributed", "ivfast.scale.fit_many")
    import dask
    from distributed import Client, LocalCluster

    if client is not None and not isinstance(client, str):
        yield client, 1
        return
    if isinstance(client, str):
        with Client(client) as remote:
            yield remote, 1
        return
    cores = os.cpu_count() or 1
    n = cores if workers is None else workers
    if not (isinstance(n, int) and n >= 1):
        raise ValueError(f"workers: expected a positive integer, got {workers!r}")
    threads = max(1, cores // n)
    # Worker settings for torch training, set before the worker processes start (Dask reads its
    # config at import, so environment variables set later would not reach it):
    # * glibc's trim threshold, which Dask lowers to return memory to the OS, also pins the mmap
    #   threshold at 128 kB, so every collocation-sized tensor is mmap'ed and unmapped again: page
    #   faults took over half the CPU time of a fit (bench/README.md, "Fitting many chains");
    # * Dask's statistical profiler walks the task thread's deep torch stacks every 10 ms.
    environ = {name: threads for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    settings = {"distributed.nanny.pre-spawn-environ": environ, "distributed.worker.profile.enabled": False}
    with dask.config.set(settings), LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                                 dashboard_address=None, silence_logs=40) as cluster, \
            Client(cluster) as local:
        yield local, threads


def _task_slots(dask: Client, timeout: float = 60.0) -> int:
    """Tasks the cluster runs at once (its workers' threads), waiting for a first worker to join.

    A freshly started remote cluster may have no worker yet; sizing chunks for one slot would
    serialise the whole run.
    """
    if not dask.nthreads():
        try:
            dask.wait_for_workers(1, timeout=timeout)
        except TimeoutError as exc:
            raise ValueError(f"client: no Dask worker joined the scheduler within {timeout:g} s") from exc
    return max(1, sum(dask.nthreads().values()))


def _progress(total: int, enabled: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, disable=not enabled, unit="chain", dynamic_ncols=True)


def fit_many(
    chains: str | os.PathLike[str] | Iterable[str | os.PathLike[str]] | pd.DataFrame,
    *,
    out: str | os.PathLike[str],
    workers: int | None = None,
    client: Client | str | None = None,
    warm_start: str | None = "previous",
    chunk_size: int | None = None,
    progress: bool = True,
    **fit_options: Any,
) -> pd.DataFrame:
    """Fit a deep-smoothing surface to every chain, in parallel on Dask, into one results store.

    Parameters
    ----------
    chains : folder, glob pattern, iterable of paths, or DataFrame
        The chain files (see :func:`~ivfast.scale.chain_manifest`): one chain per underlying and date.
    out : str or os.PathLike
        The :class:`~ivfast.scale.ResultStore` folder. Rerunning on the same store skips the chains
        stored as "ok" and retries the failed ones.
    workers : int, optional
        Worker processes of the local cluster (default: one per core); each gets
        ``cores // workers`` torch and OpenMP threads, so workers x threads = cores.
    client : distributed.Client or str, optional
        An existing client, or a scheduler address such as ``"tcp://10.0.0.5:8786"``, instead of a
        local cluster. Its workers must see ``out`` and the chain files (shared storage).
    warm_start : {"previous", "completion", None}, default "previous"
        "previous": each date starts from the previous date's fit in its chunk; "completion":
        every date starts from the completion model's surface of its own quotes
        (:data:`ivfast.workflow.COMPLETION`), so no date waits for another and chunks are
        ignored; None: every fit starts cold.
    chunk_size : int, optional
        Dates per chunk (default ``ceil(dates per underlying / task slots)``, the slots being the
        workers' threads); see the module docstring.
    progress : bool, default True
        A progress bar over chains (ok / failed / running, with an ETA).
    **fit_options
        Keyword arguments of :func:`ivfast.workflow.fit_chain` (``config``, ``time_axis``, ``roots``,
        ``time_limit``, ``export``, ``chain_options``...), the same for every chain; ``figures`` is False unless given.

    Returns
    -------
    pandas.DataFrame
        The store's rows of these chains (:data:`~ivfast.scale.RESULT_COLUMNS`), by underlying and date.

    Raises
    ------
    ValueError
        Bad arguments or chain names. A chain that cannot be fitted is not an error: its row has
        status "failed" and the reason.
    KeyboardInterrupt
        After cancelling the tasks in flight; every chain finished so far is in the store.
    """
    if warm_start not in _WARM_STARTS:
        raise ValueError(f"warm_start: expected 'previous', 'completion' or None, got {warm_start!r}")
    for reserved in ("out_dir", "init", "as_of"):
        if reserved in fit_options:
            raise ValueError(f"{reserved}: set per chain by fit_many, not a fit option")
    if chunk_size is not None:
        _check_chunk_size(chunk_size)  # before a cluster starts
    fit_options.setdefault("figures", False)  # seconds per chain, and the plot extra: opt-in here
    manifest = chain_manifest(chains)
    store = ResultStore(out).create()
    run = uuid.uuid4().hex[:8]
    with _client(client, workers) as (dask, threads):
        per_underlying = int(manifest.groupby("underlying").size().max())
        size = chunk_size if chunk_size is not None else max(1, math.ceil(per_underlying / _task_slots(dask)))
        futures = []
        for chunk in date_chunks(manifest, size):
            previous: Any = None  # the previous date's future
            for row in chunk:
                init = previous if warm_start == "previous" else warm_start
                previous = dask.submit(fit_one, row, str(store.root), init, fit_options, threads,
                                       key=f"ivfast-fit-{row['chain_id']}-{run}", pure=False)
                futures.append(previous)
        _collect(dask, futures, store, manifest, progress)
    table = store.read()
    return table[table["chain_id"].isin(manifest["chain_id"])].reset_index(drop=True)


def _collect(dask: Client, futures: list[Any], store: ResultStore, manifest: pd.DataFrame, progress: bool) -> None:
    """Wait for every task, counting outcomes on the progress bar; record tasks that Dask gave up on."""
    from distributed import as_completed

    by_key = {f.key: row for f, row in zip(futures, manifest.set_index("chain_id").loc[
        [f.key.split("ivfast-fit-", 1)[1].rsplit("-", 1)[0] for f in futures]].reset_index().to_dict("records"))}
    counts = {"ok": 0, "failed": 0}
    bar = _progress(len(futures), progress)
    try:
        for future in as_completed(futures):
            try:
                status = future.result()["status"]
            except Exception as exc:  # e.g. KilledWorker, or an earlier date's task that Dask gave up on
                row = by_key[future.key]
                stored = store.row(row["chain_id"])
                status = "ok" if stored is not None and stored["status"] == "ok" else "failed"
                if status == "failed":  # never overwrite a finished fit; retried on the next run
                    store.write({**row, "status": "failed", "attempt": 1 if stored is None else stored["attempt"] + 1,
                                 "reason": f"{type(exc).__name__}: {exc}"[:2000]})
            counts[status] += 1
            running = sum(len(v) for v in dask.processing().values())
            bar.set_postfix(ok=counts["ok"], failed=counts["failed"], running=running, refresh=False)
            bar.update()
    except BaseException:
        dask.cancel(futures)
        raise
    finally:
        bar.close()
