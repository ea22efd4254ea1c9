"""Read ahead: produce an iterator's items on a thread while the caller consumes earlier ones."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")
_END = object()


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def read_ahead(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """Yield `items`, computing up to `depth` of them ahead on a background thread.

    The producer's exceptions are raised here, in the consumer; if the consumer stops early,
    the producer stops too.
    """
    buffer: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                buffer.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
        except BaseException as error:  # handed to the consumer, which re-raises it
            put(_Failed(error))
            return
        put(_END)

    thread = threading.Thread(target=produce, name="ce-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item = buffer.get()
            if item is _END:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        thread.join()
