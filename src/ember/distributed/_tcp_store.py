"""TCPStore: a key-value store that one process serves over TCP and every process
(the server's own included) reaches as a client.

The server keeps the keys in a ``_KeyValue`` and runs a thread per client connection;
a request is one length-prefixed pickled ``(method, args)`` frame, answered by one
``("ok", result)`` or ``(error class name, message)`` frame. Blocking operations
(``get``, ``wait``, a blocking ``queue_pop``) block in the client's server thread, with
the client's timeout, so waiting clients never stop the others. ``multi_tenant=True``
stores of one process that name the same port share one server.
"""

from __future__ import annotations

import builtins
import errno
import pickle
import socket
import struct
import threading
import time
from datetime import timedelta

from . import _errors
from ._errors import DistNetworkError, DistStoreError
from ._store import _DEFAULT_TIMEOUT, _check_key, _check_timeout, _KeyValue, _MemoryStore
from ._store import _milliseconds, _WaitTimeout

__all__ = ["TCPStore"]

_LENGTH = struct.Struct("!Q")
_JOINED = "join"  # the server's count of clients that connected (not a user key)


def _send(sock, obj) -> None:
    payload = pickle.dumps(obj)
    sock.sendall(_LENGTH.pack(len(payload)) + payload)


def _recv_exactly(sock, count) -> bytes:
    chunks, received = [], 0
    while received < count:
        chunk = sock.recv(count - received)
        if not chunk:
            raise ConnectionError("Failed to recv, got 0 bytes. Connection was likely "
                                  "closed. Did the remote server shutdown or crash?")
        chunks.append(chunk)
        received += len(chunk)
    return b"".join(chunks)


def _recv(sock):
    (length,) = _LENGTH.unpack(_recv_exactly(sock, _LENGTH.size))
    return pickle.loads(_recv_exactly(sock, length))


class _Server:
    """The listening side: accepts clients and answers their requests from ``keys``."""

    def __init__(self, listener: socket.socket):
        self.listener = listener
        self.port = listener.getsockname()[1]
        self.keys = _KeyValue()
        self.joined = 0
        threading.Thread(target=self._accept, daemon=True,
                         name=f"ember-tcpstore-{self.port}").start()

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:  # closed
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._serve, args=(sock,), daemon=True,
                             name=f"ember-tcpstore-{self.port}-client").start()

    def _serve(self, sock) -> None:
        with sock:
            while True:
                try:
                    method, args = _recv(sock)
                except (ConnectionError, OSError, EOFError):
                    return
                try:
                    if method == _JOINED:
                        with self.keys.changed:
                            self.joined += 1
                            self.keys.changed.notify_all()
                        answer = ("ok", None)
                    else:
                        answer = ("ok", getattr(self.keys, method)(*args))
                except _WaitTimeout:
                    answer = ("_WaitTimeout", "")
                except Exception as error:  # noqa: BLE001 - sent back to the client
                    answer = (type(error).__name__, str(error))
                try:
                    _send(sock, answer)
                except OSError:
                    return

    def wait_for_clients(self, world_size: int, timeout: timedelta) -> None:
        with self.keys.changed:
            try:
                self.keys._until(lambda: self.joined >= world_size, timeout)
            except _WaitTimeout:
                seconds = max(1, round(timeout.total_seconds() + 0.4999))
                raise DistStoreError(f"Timed out after {seconds} seconds waiting for "
                                     f"clients. {self.joined}/{world_size} clients "
                                     f"joined.") from None

    def close(self) -> None:
        try:
            self.listener.close()
        except OSError:
            pass


_SHARED_SERVERS: dict = {}  # port -> _Server, for multi_tenant stores of this process
_SHARED_LOCK = threading.Lock()


def _listen(host: str, port: int, listen_fd) -> socket.socket:
    if listen_fd is not None:
        return socket.socket(fileno=int(listen_fd))
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(("", port))
    except OSError as error:
        listener.close()
        name = errno.errorcode.get(error.errno, "UNKNOWN")
        raise DistNetworkError(f"The server socket has failed to listen on any local "
                               f"network address. port: {port}, useIpv6: false, code: "
                               f"{-(error.errno or 0)}, name: {name}, message: "
                               f"{(error.strerror or '').lower()}") from None
    listener.listen(128)
    return listener


class TCPStore(_MemoryStore):
    """A store served over TCP by the process that passes ``is_master=True``.

    Args:
        host_name: where the server is (clients connect there; the server listens on
            every address).
        port: the server's port; 0 with ``is_master`` picks a free one (read it back
            from ``.port``).
        world_size: how many clients (the server's own included) the server waits for
            when ``wait_for_workers`` is True; None waits for nobody.
        is_master: run the server in this process.
        timeout: how long to wait to connect, for the workers, and by default in
            ``get``/``wait``.
        multi_tenant: stores of this process on the same port share one server.
        master_listen_fd: a listening socket's file descriptor for the server to use.
        use_libuv: accepted for compatibility (ember's server is Python threads).

    Example::

        >>> server = TCPStore("127.0.0.1", 0, 2, True, timedelta(seconds=30),
        ...                   wait_for_workers=False)
        >>> client = TCPStore("127.0.0.1", server.port, 2, False)
        >>> client.set("first_key", "first_value")
        >>> server.get("first_key")
        b'first_value'
    """

    def __init__(self, host_name: str, port: int, world_size: int | None = None,
                 is_master: bool = False, timeout: timedelta = _DEFAULT_TIMEOUT,
                 wait_for_workers: bool = True, multi_tenant: bool = False,
                 master_listen_fd: int | None = None, use_libuv: bool = True):
        if not isinstance(host_name, str):
            raise TypeError(f"TCPStore(): host_name must be str, got "
                            f"{type(host_name).__name__}")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port < 65536:
            raise TypeError(f"TCPStore(): port must be an int in [0, 65535], got {port!r}")
        super().__init__(_check_timeout(timeout, "TCPStore"))
        self._host, self._world_size = host_name, world_size
        self._is_master, self._multi_tenant = bool(is_master), bool(multi_tenant)
        self._server = self._start_server(port, master_listen_fd) if is_master else None
        self._port = self._server.port if self._server is not None else port
        self._sock = self._connect()
        self._lock = threading.Lock()
        self._request(_JOINED)
        if self._server is not None and wait_for_workers and world_size is not None:
            self._server.wait_for_clients(int(world_size), self.timeout)

    def _start_server(self, port, listen_fd) -> _Server:
        if self._multi_tenant:
            with _SHARED_LOCK:
                server = _SHARED_SERVERS.get(port) if port else None
                if server is None:
                    server = _Server(_listen(self._host, port, listen_fd))
                    _SHARED_SERVERS[server.port] = server
                return server
        return _Server(_listen(self._host, port, listen_fd))

    def _connect(self) -> socket.socket:
        deadline = time.monotonic() + self.timeout.total_seconds()
        while True:
            try:
                sock = socket.create_connection(
                    (self._host, self._port), timeout=max(0.05, deadline - time.monotonic()))
                break
            except OSError:
                if time.monotonic() >= deadline:
                    raise DistNetworkError(
                        f"The client socket has timed out after {_milliseconds(self.timeout)}"
                        f"ms while trying to connect to ({self._host}, {self._port}).") from None
                time.sleep(0.02)
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def _request(self, method, *args):
        with self._lock:
            try:
                _send(self._sock, (method, args))
                status, result = _recv(self._sock)
            except (ConnectionError, OSError) as error:
                raise DistNetworkError(str(error) or type(error).__name__) from None
        if status == "ok":
            return result
        if status == "_WaitTimeout":
            raise _WaitTimeout
        error_type = getattr(_errors, status, None) or getattr(builtins, status, None)
        if not (isinstance(error_type, type) and issubclass(error_type, Exception)):
            error_type = RuntimeError
        raise error_type(result)

    def _call(self, method, *args):
        return self._request(method, *args)

    def _timed_out(self, keys, timeout):
        listed = ", ".join("/" + key for key in keys)
        return DistStoreError(f"wait timeout after {_milliseconds(timeout)}ms, keys: {listed}")

    def barrier(self, key, world_size, timeout=None):
        """Wait until ``world_size`` clients have called ``barrier(key, ...)``: the
        server counts them under ``key``."""
        key = _check_key(key, "barrier")
        timeout = self.timeout if timeout is None else _check_timeout(timeout, "barrier")
        try:
            self._request("barrier", key, int(world_size), timeout)
        except _WaitTimeout:
            raise DistStoreError(f"barrier timeout after {_milliseconds(timeout)}ms, key: "
                                 f"{key}") from None

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        return self._port

    @property
    def libuvBackend(self) -> bool:  # noqa: N802 - PyTorch's name
        """False: ember's server is not libuv."""
        return False

    def clone(self) -> TCPStore:
        """A new client connection to the same server."""
        return TCPStore(self._host, self._port, self._world_size, False, self.timeout,
                        wait_for_workers=False)

    def __repr__(self):
        role = f", server=TCPServer(port={self._port})" if self._server is not None else ""
        return f"TCPStore(client=TCPClient({self._host}:{self._port}){role})"

    def __del__(self):
        sock = getattr(self, "_sock", None)
        if sock is not None:
            sock.close()
        server = getattr(self, "_server", None)
        if server is not None and not self._multi_tenant:
            server.close()
