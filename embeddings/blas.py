"""How many threads the BLAS libraries in this process (numpy's, FAISS's) may use."""
from __future__ import annotations

from threadpoolctl import threadpool_limits


def limit_blas_threads(threads: int) -> None:
    """Cap every loaded BLAS at `threads`, for the rest of the process.

    An answer is a few dozen products of small matrices; a multi-threaded BLAS wakes its threads for each,
    and they spin afterwards, taking the cores the model's next encode needs (bench/RESULTS.md, 2026-12-04).
    """
    threadpool_limits(limits=threads, user_api="blas")
