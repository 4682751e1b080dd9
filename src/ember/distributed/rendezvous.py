"""rendezvous (``torch.distributed.rendezvous``): turn an ``init_method`` URL into the
(store, rank, world_size) the processes meet through.

Handlers are generators keyed by URL scheme: ``tcp://host:port`` (a TCPStore that rank
0 serves), ``env://`` (the same at MASTER_ADDR:MASTER_PORT, with RANK and WORLD_SIZE
from the environment unless the URL says) and ``file:///path`` (a FileStore). Register
another with ``register_rendezvous_handler``. ``rank`` and ``world_size`` arguments are
added to the URL's query, where the handlers read them.
"""

from __future__ import annotations

import numbers
import os
from datetime import timedelta
from urllib.parse import urlencode, urlparse

from ._config import default_pg_timeout
from ._store import FileStore
from ._tcp_store import TCPStore

__all__ = ["register_rendezvous_handler", "rendezvous"]

_handlers: dict = {}


def register_rendezvous_handler(scheme: str, handler) -> None:
    """Route ``scheme://`` URLs to ``handler(url, **kwargs)``, a generator of
    (store, rank, world_size) triplets."""
    if scheme in _handlers:
        raise RuntimeError(f"Rendezvous handler for {scheme}:// already registered")
    _handlers[scheme] = handler


def rendezvous(url: str, rank: int = -1, world_size: int = -1, **kwargs):
    """The handler's iterator of (store, rank, world_size) for ``url``."""
    if not isinstance(url, (str, bytes)):
        raise RuntimeError(f"`url` must be a string. {type(url)}: {url}")
    if not isinstance(rank, numbers.Integral):
        raise RuntimeError(f"`rank` must be an integer. {rank}")
    if not isinstance(world_size, numbers.Integral):
        raise RuntimeError(f"`world_size` must be an integer. {world_size}")
    url = url.decode() if isinstance(url, bytes) else url
    parsed = urlparse(url)
    extra = {name: value for name, value in (("rank", rank), ("world_size", world_size))
             if value != -1}
    if extra:
        query = "&".join(part for part in (parsed.query, urlencode(extra)) if part)
        url = parsed._replace(query=query).geturl()
    if parsed.scheme not in _handlers:
        raise RuntimeError(f"No rendezvous handler for {parsed.scheme}://")
    return _handlers[parsed.scheme](url, **kwargs)


def _error(scheme: str, message: str) -> ValueError:
    return ValueError(f"Error initializing torch.distributed using {scheme}:// rendezvous: "
                      f"{message}")


def _query(url: str) -> dict:
    query = urlparse(url).query
    return dict(pair.split("=", 1) for pair in query.split("&") if "=" in pair)


def _rank_and_size(scheme: str, query: dict) -> tuple:
    for name in ("rank", "world_size"):
        if name not in query:
            wording = "rank" if name == "rank" else "world size"
            raise _error(scheme, f"{wording} parameter missing")
    return int(query["rank"]), int(query["world_size"])


def _tcp_store(host, port, rank, world_size, timeout) -> TCPStore:
    return TCPStore(host, port, world_size, rank == 0, timeout, multi_tenant=True)


def _tcp_handler(url: str, timeout: timedelta = default_pg_timeout, **kwargs):
    parsed = urlparse(url)
    if parsed.port is None:
        raise _error("tcp", "port number missing")
    rank, world_size = _rank_and_size("tcp", _query(url))
    yield _tcp_store(parsed.hostname, parsed.port, rank, world_size, timeout), rank, world_size
    raise RuntimeError("Unable to perform re-rendezvous using tcp:// method")


def _env_handler(url: str, timeout: timedelta = default_pg_timeout, **kwargs):
    def environment(name):
        value = os.environ.get(name)
        if not value:
            raise _error("env", f"environment variable {name} expected, but not set")
        return value

    query = _query(url)
    rank = int(query["rank"]) if "rank" in query else int(environment("RANK"))
    world_size = int(query["world_size"]) if "world_size" in query else \
        int(environment("WORLD_SIZE"))
    host, port = environment("MASTER_ADDR"), int(environment("MASTER_PORT"))
    yield _tcp_store(host, port, rank, world_size, timeout), rank, world_size
    raise RuntimeError("Unable to perform re-rendezvous using env:// method")


def _file_handler(url: str, **kwargs):
    path = urlparse(url).path
    if not path:
        raise _error("file", "path missing")
    rank, world_size = _rank_and_size("file", _query(url))
    yield FileStore(path, world_size), rank, world_size
    raise RuntimeError("Unable to perform rerendezvous using file:// method")


register_rendezvous_handler("tcp", _tcp_handler)
register_rendezvous_handler("env", _env_handler)
register_rendezvous_handler("file", _file_handler)
