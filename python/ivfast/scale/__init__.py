"""Scale-out: many chains (dates x underlyings) fitted on Dask into one Parquet results store.

* :func:`fit_many` - the run: a local cluster by default, any ``dask.distributed`` client or
  scheduler address for a real one; warm-started along each date range; resumable;
* :func:`chain_manifest` - which chains, from file names ``<underlying>_<YYYY-MM-DD>...``;
* :class:`ResultStore` - the results (one Parquet row per chain) and each fit's files;
* :func:`synthetic_history` - a multi-date synthetic history of chains for tests and benchmarks.

Needs the ``scale`` extra (``pip install 'ivfast[scale]'``: dask.distributed and pyarrow) and the
torch extra for the fits.
"""

from __future__ import annotations

from .history import synthetic_history
from .manifest import MANIFEST_COLUMNS, chain_manifest
from .run import date_chunks, fit_many
from .store import RESULT_COLUMNS, ResultStore

__all__ = ["MANIFEST_COLUMNS", "RESULT_COLUMNS", "ResultStore", "chain_manifest", "date_chunks", "fit_many",
           "synthetic_history"]
