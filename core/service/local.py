"""A service process on this machine's loopback address, for the tests and the benchmark:
``edubalance serve`` in a subprocess on a free port, stopped when done. Every wait is bounded."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def is_ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/readyz", timeout=2) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def running_server(*args: str, log: Path | None = None, start_timeout: float = 60.0,
                   env: dict[str, str] | None = None) -> Iterator[str]:
    """``edubalance serve ARGS`` on a free loopback port; yields its base URL once it is ready.
    ``env`` adds to the environment (e.g. a PYTHONPATH for a plug-in)."""
    port = free_port()
    out = open(log, "wb") if log else subprocess.DEVNULL
    proc = subprocess.Popen([sys.executable, "-m", "edubalance.cli", "serve", "--host", HOST, "--port", str(port),
                             *args], stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})
    url = f"http://{HOST}:{port}"
    try:
        deadline = time.monotonic() + start_timeout
        while not is_ready(url):
            if proc.poll() is not None:
                raise RuntimeError(f"服务启动时退出（退出码 {proc.returncode}）。The server exited with {proc.returncode} while starting.")
            if time.monotonic() > deadline:
                raise RuntimeError(f"服务 {start_timeout:g} 秒后仍未就绪。The server was not ready after {start_timeout:g} s.")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        if not isinstance(out, int):      # the log file (not DEVNULL)
            out.close()
