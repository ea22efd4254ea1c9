"""Parse a file in a second process, so reading and validating overlap writing in this one."""

from __future__ import annotations

import gc
import multiprocessing
import queue
from collections.abc import Generator
from multiprocessing.queues import Queue
from pathlib import Path

from campaign_engine.ingest import reading
from campaign_engine.ingest.reading import Parsed, parse_chunks
from campaign_engine.ingest.records import Kind

DEPTH = 3  # chunks parsed ahead: bounds the memory the pipe may hold


class ParserFailed(RuntimeError):
    """The parser process died without saying why."""


def _produce(path: Path, fmt: str, kind: Kind, chunk: int, out: Queue[object]) -> None:
    gc.disable()  # as in the importing process: refcounting frees the rows
    try:
        for parsed in parse_chunks(path, fmt, kind, chunk):
            out.put(parsed)
            gc.collect(0)
    except Exception as error:  # handed to the parent, which raises it
        out.put(error)
    out.put(None)


def parse_in_process(path: Path, fmt: str, kind: Kind) -> Generator[Parsed, None, None]:
    """Yield the chunks of `path` as `parse_chunks` would, computed by a spawned process.

    A parsing error is raised here; closing the generator early stops the process.
    """
    context = multiprocessing.get_context("spawn")  # no fork: the parent holds DB connections
    out: Queue[object] = context.Queue(maxsize=DEPTH)
    # The child imports everything afresh: settings of this process are passed explicitly.
    args = (path, fmt, kind, reading.CHUNK, out)
    process = context.Process(target=_produce, args=args, daemon=True)
    process.start()
    try:
        while True:
            try:
                item = out.get(timeout=1.0)
            except queue.Empty:
                if not process.is_alive():
                    raise ParserFailed(
                        f"the parser process stopped (exit code {process.exitcode})"
                    ) from None
                continue
            if item is None:
                return
            if isinstance(item, Exception):
                raise item
            assert isinstance(item, Parsed)
            yield item
    finally:
        if process.is_alive():
            process.terminate()
        process.join()
        out.close()
