"""Run many tasks that share large inputs on a Dask cluster, sending the shared inputs once.

A Dask task submitted with a large array among its arguments carries the array
with it; a thousand tasks would send the expression matrix a thousand times.
:func:`map_on_cluster` scatters the shared inputs to every worker once
(``broadcast``) and submits tasks that name them, so each task carries only
its own small arguments.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Sequence

from core.errors import InputError

#: Seconds to wait for the scheduler to answer, and then for its first worker.
CONNECT_TIMEOUT, WORKER_TIMEOUT = 30, 120


def map_on_cluster(scheduler: str, func: Callable, shared: Sequence[Any],
                   tasks: Sequence[tuple]) -> Iterator[tuple[int, Any]]:
    """Run ``func(*shared, *tasks[i])`` for every ``i`` on a Dask cluster, yielding results as they finish.

    Parameters
    ----------
    scheduler : str
        Address of a running Dask scheduler (``tcp://host:8786``). Its workers
        must be able to import ``func`` (the project installed there).
    func : callable
        A module-level function (workers import it by name).
    shared : sequence
        Arguments common to every task, scattered to every worker once.
    tasks : sequence of tuple
        Each task's own arguments, after the shared ones.

    Yields
    ------
    (index, result)
        ``index`` into ``tasks``, in order of completion.

    Raises
    ------
    core.errors.InputError
        The scheduler cannot be reached, or it has no worker within
        :data:`WORKER_TIMEOUT` seconds.
    """
    from distributed import Client, as_completed

    try:
        client = Client(scheduler, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as error:
        raise InputError(f"cannot reach the Dask scheduler at {scheduler!r} ({error}); start it with "
                         "`dask scheduler` and check the address") from None
    with client:
        try:
            client.wait_for_workers(1, timeout=WORKER_TIMEOUT)
        except TimeoutError:
            raise InputError(f"the Dask scheduler at {scheduler!r} has no worker after {WORKER_TIMEOUT} s; start "
                             f"one with `dask worker {scheduler}`") from None
        # hash=False: every call scatters its own copy, never reusing (or releasing) another caller's data
        handles = client.scatter(list(shared), broadcast=True, hash=False)
        futures = {client.submit(func, *handles, *args, pure=False): i for i, args in enumerate(tasks)}
        for future in as_completed(futures):
            yield futures[future], future.result()
