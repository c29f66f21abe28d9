"""Running the points: in this process (`workers=0`) or one task per point on Dask (a local cluster or an
existing scheduler), with Ctrl-C handled (futures cancelled, the cluster closed, finished points cached)."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import SpecError, ToolError
from ..io import check_output_dir, claim_dir
from .cache import read_point, run_point, write_point
from .front import SweepOutcome, finish
from .points import Point, Sweep
from .spec import POINT_STATUSES_CACHED

Progress = Callable[..., None]


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during a sweep, after the cluster was shut down; the cache holds every finished point."""

    def __init__(self, cached: int, total: int, points_dir: Path) -> None:
        super().__init__(f"{cached} of {total} points cached in {points_dir}")
        self.cached, self.total, self.points_dir = cached, total, points_dir


def run_sweep(
    sweep: Sweep,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    fresh: bool = False,
    progress: Progress | None = None,
) -> SweepOutcome:
    """Run the points that are not cached (all with `fresh`), then write sweep.csv and the Pareto plot.

    `workers=0` runs the points in this process (no Dask); `scheduler` connects to an existing Dask cluster;
    otherwise a local cluster of `workers` processes (default: min(points to run, CPUs)).
    """
    t0 = time.perf_counter()
    say = progress or (lambda *_a, **_k: None)
    if scheduler is not None:
        scheduler = check_scheduler_address(scheduler)
    sweep.check_pareto()
    check_output_dir(sweep.output)  # a folder sparsesim did not write is refused before any work
    points = sweep.points()
    valid = [p for p in points if p.key is not None]
    points_dir = sweep.points_dir

    def claim() -> None:  # only once the points can run (e.g. the scheduler answered): else nothing written
        claim_dir(sweep.output)
        points_dir.mkdir(parents=True, exist_ok=True)

    unique = list({p.key: p for p in reversed(valid)}.values())[::-1]  # first point of each spec
    by_key: dict[str, dict[str, Any]] = {}
    if not fresh:
        for p in unique:
            rec = read_point(points_dir, str(p.key))
            if rec is not None:
                by_key[str(p.key)] = rec
    cached = len(by_key)
    todo = [p for p in unique if p.key not in by_key]
    run_id = uuid.uuid4().hex[:12]
    used_workers = 0
    done = 0

    def on_done(point: Point, record: dict[str, Any]) -> None:
        nonlocal done
        key = str(point.key)
        if record.get("status") in POINT_STATUSES_CACHED:
            on_disk = read_point(points_dir, key)
            if on_disk is None or on_disk.get("run_id") != record.get("run_id"):
                write_point(points_dir, record)  # the worker could not (no shared filesystem)
        by_key[key] = record
        done += 1
        say(f"{sweep.name}: points", done=done, total=len(todo))

    if todo:
        say(f"{len(valid)} points: {cached} cached, {len(todo)} to run")
        try:
            if workers == 0 and scheduler is None:
                used_workers = 1
                claim()
                for p in todo:
                    on_done(p, _guarded(p, str(points_dir), run_id))
            else:
                used_workers = _run_on_dask(
                    todo, str(points_dir), run_id, workers, scheduler, on_done, ready=claim
                )
        except KeyboardInterrupt:
            have = sum(1 for p in unique if read_point(points_dir, str(p.key)) is not None)
            raise SweepInterrupted(have, len(unique), points_dir) from None
    claim()
    records = {p.index: by_key[p.key] for p in valid if p.key in by_key}
    outcome = finish(sweep, points, records, cached, len(todo), used_workers, time.perf_counter() - t0)
    return outcome


def _guarded(point: Point, points_dir: str, run_id: str) -> dict[str, Any]:
    assert point.workload is not None and point.key is not None
    try:
        return run_point(
            point.workload.to_dict(), str(point.workload.base_dir), point.key, points_dir, run_id
        )
    except Exception as exc:  # a bug in the simulator: recorded, not cached, retried on rerun
        return _crash(point, exc)


def _crash(point: Point, exc: BaseException) -> dict[str, Any]:
    import traceback

    return {
        "hash": point.key,
        "status": "crash",
        "error": f"{type(exc).__name__}: {exc}",
        "traceback": "".join(traceback.format_exception(exc)),
        "summary": {},
    }


def _run_on_dask(
    todo: list[Point],
    points_dir: str,
    run_id: str,
    workers: int | None,
    scheduler: str | None,
    on_done: Callable[[Point, dict[str, Any]], None],
    ready: Callable[[], None] = lambda: None,
) -> int:
    """Submit one task per point and hand each record to `on_done` as it completes; returns the worker count.
    `ready()` runs once the cluster is up, before the first task (it creates the output folder).

    On any exception (Ctrl-C included) the futures are cancelled and a local cluster is closed before the
    exception propagates; finished points are already in the cache.
    """
    try:
        from distributed import Client, wait
    except ImportError:
        raise ToolError(
            "sweeps run on Dask, which is not installed: pip install 'sparsesim[sweep]' "
            "(or pass --workers 0 to run the points in this process)"
        ) from None
    cluster = None
    if scheduler:
        _probe_scheduler(scheduler)  # refused or unroutable: fails in seconds, not after Client's timeout
        try:
            client = Client(scheduler, timeout=SCHEDULER_TIMEOUT_SECONDS)
        except (OSError, TimeoutError) as exc:
            raise ToolError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    else:
        cluster = local_cluster(workers or min(len(todo), os.cpu_count() or 1))
        client = Client(cluster)
    futures: list[Any] = []
    interrupted, restore_sigint = _watch_sigint()
    # Ctrl-C inside one of distributed's blocking calls can make its event-loop callback fail (a NameError in
    # distributed.utils.sync's cancel), which tornado logs as a traceback on stderr. Our own failures come
    # back through the futures, so that logger stays quiet while the points run: the user sees one line.
    tornado_app = logging.getLogger("tornado.application")
    tornado_level = tornado_app.level
    tornado_app.setLevel(logging.CRITICAL)
    try:
        ready()
        n_workers = len(client.nthreads()) or (workers or 1)
        for p in todo:
            assert p.workload is not None
            spec, base_dir = p.workload.to_dict(), str(p.workload.base_dir)
            key = f"sparsesim-point-{p.key}"  # one task per spec, also across clients of a shared cluster
            futures.append(client.submit(run_point, spec, base_dir, p.key, points_dir, run_id, key=key))
        point_of = {f.key: p for f, p in zip(futures, todo)}
        pending = set(futures)
        while pending:
            # Checked between waits: distributed may swallow a KeyboardInterrupt raised inside its own code.
            if interrupted.is_set():
                raise KeyboardInterrupt
            try:
                finished, pending = wait(pending, timeout=0.25, return_when="FIRST_COMPLETED")
            except TimeoutError:
                continue
            for fut in finished:
                p = point_of[fut.key]
                try:
                    record = fut.result()
                except Exception as exc:
                    record = _crash(p, exc)
                on_done(p, record)
        return n_workers
    except BaseException:
        with contextlib.suppress(Exception):
            client.cancel(futures, force=True)
        raise
    finally:
        restore_sigint()
        _quietly_close(client, cluster)
        tornado_app.setLevel(tornado_level)


SCHEDULER_TIMEOUT_SECONDS = 10  # our choice: a scheduler that accepted TCP answers in well under a second


def local_cluster(n_workers: int | None) -> Any:
    """The local Dask cluster sweeps and searches run on: one single-threaded process per worker (None: one
    per CPU), quiet, no dashboard on a fixed port, workers that leave Ctrl-C to this process."""
    from distributed import LocalCluster

    return LocalCluster(
        n_workers=n_workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        # The scheduler's HTTP routes on a free local port, not 8787 (busy: a warning on stderr).
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
        silence_logs=logging.ERROR,
        preload=[__name__],  # dask_setup below: the workers leave Ctrl-C to this process
    )


_SCHEDULER_SCHEMES = ("tcp", "tls", "ws", "wss")


def check_scheduler_address(address: str) -> str:
    """`--scheduler`: 'tcp://host:port' (or tls/ws/wss, or plain 'host:port' for tcp). Returns the address
    with its scheme; raises a one-line SpecError naming what is wrong."""
    from urllib.parse import urlsplit

    text = address.strip()
    full = text if "://" in text else f"tcp://{text}"
    hint = "give tcp://HOST:PORT, e.g. tcp://127.0.0.1:8786"
    try:
        parts = urlsplit(full)
        port = parts.port
    except ValueError as exc:
        raise SpecError(f"--scheduler {address!r}: {exc}; {hint}") from None
    if parts.scheme == "inproc":  # a cluster in this very process (distributed's in-process transport)
        return full
    if parts.scheme not in _SCHEDULER_SCHEMES:
        schemes = ", ".join(_SCHEDULER_SCHEMES)
        raise SpecError(f"--scheduler {address!r}: unknown scheme '{parts.scheme}' ({schemes}); {hint}")
    if not parts.hostname or port is None or parts.path not in ("", "/") or parts.query or parts.fragment:
        raise SpecError(f"--scheduler {address!r}: needs a host and a port; {hint}")
    if port == 0:
        raise SpecError(f"--scheduler {address!r}: port 0 is not a scheduler's port; {hint}")
    return full


def _probe_scheduler(address: str, timeout_s: float = 5.0) -> None:
    """Open (and close) a TCP connection to the scheduler: a refused or unroutable address fails fast."""
    from urllib.parse import urlsplit

    parts = urlsplit(address)
    if parts.scheme == "inproc":
        return
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=timeout_s):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ToolError(
            f"cannot reach the Dask scheduler at {address}: {reason} (is it running? start one with "
            "`dask scheduler`, or drop --scheduler to use a local cluster)"
        ) from None


def _watch_sigint() -> tuple[threading.Event, Callable[[], None]]:
    """Record Ctrl-C in an Event (and still raise KeyboardInterrupt at once); returns it and a restorer."""
    interrupted = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        return interrupted, lambda: None

    def on_sigint(signum: int, frame: Any) -> None:
        interrupted.set()
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_sigint)

    def restore() -> None:
        signal.signal(signal.SIGINT, previous)

    return interrupted, restore


def dask_setup(worker: Any) -> None:
    """Preload hook of the local cluster's workers: ignore SIGINT. A Ctrl-C at the terminal reaches the whole
    process group; this process then cancels the tasks and closes the cluster, and the workers must not die
    first with tracebacks of their own."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _quietly_close(client: Any, cluster: Any) -> None:
    """Close the client and a local cluster without the shutdown chatter of distributed's loggers."""
    loggers = [logging.getLogger(n) for n in ("distributed", "tornado", "asyncio")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    try:
        with contextlib.suppress(Exception):
            client.close(timeout=10)
        if cluster is not None:
            with contextlib.suppress(Exception):
                cluster.close(timeout=10)
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)
