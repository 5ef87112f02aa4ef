"""Writing a national report's school entries with several processes.

Rendering an entry is ~30 µs of Python, so 200,000 schools take seconds on one core. Above
:data:`PARALLEL_MIN` schools the entries are cut into pieces of :data:`PIECE`, dealt round
robin to forked processes (one per core), and each process sends its pieces, one after the
other, down its own pipe. This process takes the pieces in order and moves them into the
output (``os.splice``: the kernel copies pipe to file; a plain read and write where the
output is no file). Nothing is staged on disk or in shared memory, the renderers never wait
for each other, and the bytes are the same as a single process writes.

A piece travels as frames: an 8-byte length and that many bytes, one frame per batch of
entries (sent with ``writev``, so a renderer never joins a piece into one large buffer),
then a frame of length 0. A negative length announces an error message instead, which is
raised here as a :class:`RuntimeError`. A renderer that dies without a word (killed, out of
memory) is an error too, never a truncated report.
"""
from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import struct
from typing import BinaryIO, Callable, Iterable

#: From this many schools, the JSON is rendered by several processes.
PARALLEL_MIN = 40_000
#: Schools per piece: small enough to keep every renderer busy to the end.
PIECE = 4096

_HEADER = struct.Struct("<q")
_PIPE_BYTES = 1 << 20           # a larger pipe: fewer switches between renderer and writer
_IOV_MAX = 1024                 # buffers per writev call (the POSIX minimum of IOV_MAX)

#: ``render(p)``: piece ``p``'s JSON values, in batches (lists of encoded values).
Render = Callable[[int], Iterable[list[bytes]]]


def worker_count(workers: int | None) -> int:
    """``workers`` if given, else one per core (at most 4) where ``fork`` is available."""
    if workers is not None:
        return max(1, workers)
    if not hasattr(os, "fork") or multiprocessing.get_start_method(allow_none=True) not in (None, "fork"):
        return 1
    return min(os.cpu_count() or 1, 4)


def pieces(n: int, workers: int) -> list[tuple[int, int]]:
    """[start, end) of each piece of ``n`` schools; one piece when not worth several processes."""
    if n < PARALLEL_MIN or workers <= 1:
        return [(0, n)] if n else []
    return [(a, min(a + PIECE, n)) for a in range(0, n, PIECE)]


class _Renderer:
    """A forked process rendering pieces ``k, k + step, …`` into its pipe, in that order."""

    def __init__(self, render: Render, count: int, k: int, step: int):
        read, write = os.pipe()
        try:
            import fcntl
            fcntl.fcntl(write, getattr(fcntl, "F_SETPIPE_SZ", 1031), _PIPE_BYTES)
        except (ImportError, OSError):
            pass
        self.pid = os.fork()
        if self.pid == 0:                        # the renderer: send its pieces, then leave at once
            status = 1
            try:
                os.close(read)
                gc.disable()                     # a collection would touch (copy) every shared page
                try:
                    for p in range(k, count, step):
                        # rendered whole before sending: while the writer still takes an
                        # earlier piece from another renderer, this one keeps working
                        _send_piece(write, list(render(p)), first=p == 0)
                    status = 0
                except BrokenPipeError:
                    pass                         # the writer gave up: nobody to tell
                except BaseException as exc:     # told to the writer, which raises it
                    message = f"{type(exc).__name__}: {exc}".encode("utf-8", "replace")
                    _write_all(write, _HEADER.pack(-len(message)) + message)
            finally:
                os._exit(status)
        os.close(write)
        self.fd = read
        self.done = False

    def next_frame(self) -> int:
        """The length of the next frame in the pipe, 0 at the end of a piece (raises if the
        renderer failed)."""
        header = _read_exact(self.fd, _HEADER.size)
        if len(header) < _HEADER.size:
            raise RuntimeError(f"rendering part of the report failed: {self._exit_reason()}")
        size = _HEADER.unpack(header)[0]
        if size < 0:
            message = _read_exact(self.fd, -size).decode("utf-8", "replace")
            raise RuntimeError(f"rendering part of the report failed: {message}")
        return size

    def _exit_reason(self) -> str:
        _, status = os.waitpid(self.pid, 0)
        self.done = True
        if os.WIFSIGNALED(status):
            return f"the process was killed by signal {os.WTERMSIG(status)}"
        return f"the process ended early (exit status {os.waitstatus_to_exitcode(status)})"

    def finish(self) -> None:
        """Reap the renderer (it has sent everything) and check that it ended well."""
        if not self.done:
            _, status = os.waitpid(self.pid, 0)
            self.done = True
            if os.waitstatus_to_exitcode(status) != 0:
                raise RuntimeError("rendering part of the report failed "
                                   f"(exit status {os.waitstatus_to_exitcode(status)})")

    def discard(self) -> None:
        """Close the pipe and stop the renderer if it still runs."""
        try:
            os.close(self.fd)
        except OSError:
            pass
        if not self.done:
            try:
                os.kill(self.pid, signal.SIGTERM)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            self.done = True


def write_pieces(stream: BinaryIO, render: Render, count: int, workers: int,
                 progress: Callable[[int], None] | None = None, sizes: list[int] | None = None) -> None:
    """Write the JSON values of ``render(0) … render(count - 1)`` to ``stream`` in order,
    comma-separated (the inside of an array), rendered by ``workers`` forked processes.
    ``progress`` is called with ``sizes[p]`` once piece ``p`` is written."""
    stream.flush()
    try:
        out = stream.fileno()
    except (AttributeError, OSError, ValueError):
        out = None
    renderers = []
    try:
        step = min(workers, count)
        renderers = [_Renderer(render, count, k, step) for k in range(step)]
        for p in range(count):
            renderer = renderers[p % len(renderers)]
            size = renderer.next_frame()
            while size:
                out = _move(renderer.fd, size, out, stream)
                size = renderer.next_frame()
            if progress and sizes is not None:
                progress(sizes[p])
        for renderer in renderers:
            renderer.finish()
    finally:
        for renderer in renderers:
            renderer.discard()


def _move(pipe: int, size: int, out: int | None, stream: BinaryIO) -> int | None:
    """Move ``size`` bytes from ``pipe`` to the output; returns ``out``, or None once the
    output turned out not to take ``splice`` (from then on the bytes are read and written)."""
    while size and out is not None and hasattr(os, "splice"):
        try:
            moved = os.splice(pipe, out, size)
        except OSError:
            out = None                       # e.g. a terminal: nothing was moved by this call
            break
        if moved == 0:
            raise RuntimeError("rendering part of the report failed: the pipe closed early")
        size -= moved
    if size:
        data = _read_exact(pipe, size)
        if len(data) < size:
            raise RuntimeError("rendering part of the report failed: the pipe closed early")
        stream.write(data)
        stream.flush()
    return out


def _send_piece(fd: int, batches: Iterable[list[bytes]], first: bool) -> None:
    """Send one piece's values as frames (each preceded by a comma but the report's first)."""
    comma = not first
    for values in batches:
        if not values:
            continue
        buffers = []
        for value in values:
            if comma:
                buffers.append(b",")
            buffers.append(value)
            comma = True
        _write_all(fd, _HEADER.pack(sum(map(len, buffers))))
        for at in range(0, len(buffers), _IOV_MAX):
            _writev_all(fd, buffers[at:at + _IOV_MAX])
    _write_all(fd, _HEADER.pack(0))


def _writev_all(fd: int, buffers: list[bytes]) -> None:
    written = os.writev(fd, buffers)
    if written < sum(map(len, buffers)):          # a short write: send the rest plainly
        _write_all(fd, b"".join(buffers)[written:])


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _read_exact(fd: int, size: int) -> bytes:
    parts = []
    while size:
        data = os.read(fd, min(size, _PIPE_BYTES))
        if not data:
            break
        parts.append(data)
        size -= len(data)
    return b"".join(parts)
