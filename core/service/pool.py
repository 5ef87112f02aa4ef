"""The evaluation processes: CPU-bound judging off the event loop, in parallel, with a time limit.

Each worker process builds its own :class:`~.jobs.Jobs` (its own Evaluator) once and then
serves one request at a time over a pipe. Processes rather than threads because judging holds
the GIL (threads would take turns), because an Evaluator and its rule back ends are not made
for concurrent calls, and because a process can be stopped: a request over its time limit gets
its worker killed and replaced, which a thread cannot be.

The event loop hands a job to an idle worker; at most ``workers`` jobs run and ``max_queue``
wait, the rest get 503 at once.
"""
from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import traceback
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .problems import ServiceProblem, unreadable_file
from .settings import Settings

log = logging.getLogger("edubalance.service")
_CONTEXT = multiprocessing.get_context("spawn")     # a clean interpreter: no event loop, no threads


def _worker_main(conn: Any, settings: Settings) -> None:
    """A worker process: build the evaluator, say ready, then answer jobs until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)      # the server stops its workers itself
    from ..errors import InvalidInput
    from ..loading import InputError
    from .jobs import Jobs
    try:
        jobs = Jobs(settings)
    except Exception as exc:  # e.g. a broken override file: the server says so and stops
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", os.getpid()))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        name, args = message
        try:
            reply = ("ok", getattr(jobs, name)(*args))
        except ServiceProblem as p:
            reply = _problem_reply(p)
        except InputError as exc:
            reply = _problem_reply(unreadable_file(exc))
        except InvalidInput as exc:
            reply = _problem_reply(ServiceProblem("records-rejected", str(exc), exc.to_list()))
        except Exception:
            reply = ("error", traceback.format_exc())
        conn.send(reply)


def _problem_reply(p: ServiceProblem) -> tuple[str, tuple]:
    """A problem as the worker sends it back (the exception itself is not sent: its parts are)."""
    return "problem", (p.kind, p.detail, p.problems)


class Worker:
    def __init__(self, settings: Settings):
        self.conn, child = _CONTEXT.Pipe()
        self.process = _CONTEXT.Process(target=_worker_main, args=(child, settings), daemon=True,
                                        name="edubalance-worker")
        self.process.start()
        child.close()
        self.ready = False

    def wait_ready(self) -> None:
        """Block until the worker has built its evaluator (raise if it could not)."""
        try:
            kind, value = self.conn.recv()
        except EOFError:
            raise RuntimeError("评估进程启动失败 an evaluation process exited while starting") from None
        if kind != "ready":
            raise RuntimeError(f"评估进程启动失败 an evaluation process could not start: {value}")
        self.ready = True

    def call(self, name: str, args: tuple) -> tuple:
        self.conn.send((name, args))
        return self.conn.recv()

    def kill(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.conn.close()

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.process.join(5)
        if self.process.is_alive():
            self.kill()
        self.conn.close()


class Pool:
    """``settings.workers`` worker processes, handed out one request at a time."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.size = settings.workers
        self._idle: asyncio.Queue[Worker] | None = None
        self._all: set[Worker] = set()
        self._waiting = 0
        self._closing = False
        # One thread per worker waits on its pipe; two more start replacements.
        self._threads = ThreadPoolExecutor(self.size + 2, thread_name_prefix="edubalance-pipe")

    @property
    def alive(self) -> int:
        """Workers that have compiled their packs and are running."""
        return sum(1 for w in self._all if w.ready and w.process.is_alive())

    async def start(self) -> None:
        """Start every worker and wait until each has compiled its packs."""
        self._idle = asyncio.Queue()
        loop = asyncio.get_running_loop()
        workers = [Worker(self.settings) for _ in range(self.size)]
        self._all.update(workers)
        try:
            await asyncio.gather(*(loop.run_in_executor(self._threads, w.wait_ready) for w in workers))
        except Exception:
            self.close()
            raise
        for w in workers:
            self._idle.put_nowait(w)

    async def _replace(self, worker: Worker) -> None:
        """Put a fresh worker in place of one that was killed or died."""
        self._all.discard(worker)
        if self._closing:
            return
        fresh = Worker(self.settings)
        self._all.add(fresh)
        try:
            await asyncio.get_running_loop().run_in_executor(self._threads, fresh.wait_ready)
        except RuntimeError as exc:
            log.error("replacing an evaluation process failed: %s", exc)
            self._all.discard(fresh)
            return
        assert self._idle is not None
        self._idle.put_nowait(fresh)

    async def run(self, name: str, *args: Any) -> Any:
        """Run job ``name`` in a worker within the time limit; a problem is raised as such."""
        assert self._idle is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.timeout
        try:                                    # an idle worker takes the job at once, without queueing
            worker = self._idle.get_nowait()
        except asyncio.QueueEmpty:
            worker = await self._wait_for_worker()
        try:
            kind, value = await asyncio.wait_for(loop.run_in_executor(self._threads, worker.call, name, args),
                                                 max(0.0, deadline - loop.time()))
        except TimeoutError:
            worker.kill()
            asyncio.ensure_future(self._replace(worker))
            raise self._timeout() from None
        except (EOFError, OSError, BrokenPipeError):
            worker.kill()
            asyncio.ensure_future(self._replace(worker))
            raise ServiceProblem("internal-error", "评估进程意外退出，已重启。The evaluation process exited "
                                                   "unexpectedly and was restarted.") from None
        self._idle.put_nowait(worker)
        if kind == "ok":
            return value
        if kind == "problem":
            raise ServiceProblem(*value)
        log.error("evaluation failed in job %s:\n%s", name, value)
        raise ServiceProblem("internal-error", "评估过程中出现内部错误，详情已记入服务日志。"
                                               "An internal error occurred while evaluating; the service log has "
                                               "the details.")

    async def _wait_for_worker(self) -> Worker:
        """Queue for a worker, or get 503 at once when ``max_queue`` requests are already waiting."""
        assert self._idle is not None
        if self._waiting >= self.settings.max_queue:
            raise ServiceProblem("busy", f"同时处理的请求已满（{self.size} 个评估进程，{self.settings.max_queue} "
                                         f"个排队），请稍后重试。All {self.size} evaluation processes are busy and "
                                         f"{self.settings.max_queue} requests are waiting; retry later.",
                                 headers={"Retry-After": "1"})
        self._waiting += 1
        try:
            return await asyncio.wait_for(self._idle.get(), self.settings.timeout)
        except TimeoutError:
            raise self._timeout() from None
        finally:
            self._waiting -= 1

    def _timeout(self) -> ServiceProblem:
        t = self.settings.timeout
        return ServiceProblem("timeout", f"请求超过 {t:g} 秒的时间上限，已中止。The request took longer than the "
                                         f"limit of {t:g} s and was stopped.", headers={"Retry-After": "5"})

    def close(self) -> None:
        self._closing = True
        for w in list(self._all):
            w.stop()
        self._all.clear()
        self._threads.shutdown(wait=False, cancel_futures=True)
