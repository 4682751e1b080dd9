"""The transport under ember.distributed.rpc: every worker listens on a TCP socket, the
workers find each other through a TCPStore at ``init_method``, and each message is one
pickled tuple (tensors pickle as ember serializes them). Incoming calls run on a thread
pool of ``num_worker_threads``; replies come back on the caller's connection and
complete the caller's ``ember.futures.Future``. PyTorch uses TensorPipe for the same
job; a plain socket per pair of workers is what CPU processes on a few hosts need."""

from __future__ import annotations

import pickle
import socket
import threading
import traceback
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from urllib.parse import urlparse

from ...futures import Future
from .._tcp import _recv_frame as _recv
from .._tcp import _send_frame

DEFAULT_RPC_TIMEOUT_SEC = 60.0
DEFAULT_INIT_METHOD = "env://"
_TIMEOUT_TEXT = ("RPCErr:1:RPC ran for more than set timeout ({} ms) and will now be marked "
                 "with an error")


class WorkerInfo:
    """A worker's name and id (its rank), as ``torch.distributed.rpc.WorkerInfo``."""

    __slots__ = ("name", "id")

    def __init__(self, name: str, id: int):  # noqa: A002 - PyTorch's argument name
        self.name, self.id = name, id

    def __eq__(self, other):
        return isinstance(other, WorkerInfo) and (self.name, self.id) == (other.name, other.id)

    def __hash__(self):
        return hash((self.name, self.id))

    def __repr__(self):
        return f"WorkerInfo(id={self.id}, name={self.name})"

    def __reduce__(self):
        return WorkerInfo, (self.name, self.id)


class TensorPipeRpcBackendOptions:
    """Options of ``init_rpc`` as PyTorch's: where the workers meet (``tcp://host:port``
    or ``env://`` for MASTER_ADDR/MASTER_PORT), the size of each worker's thread pool and
    the default timeout in seconds of every call (0 or less waits forever). ``device_maps``
    and ``devices`` are kept for compatibility: tensors travel through host memory."""

    def __init__(self, *, num_worker_threads: int = 16,
                 rpc_timeout: float = DEFAULT_RPC_TIMEOUT_SEC,
                 init_method: str = DEFAULT_INIT_METHOD, device_maps=None, devices=None,
                 _transports=None, _channels=None):
        self.num_worker_threads = int(num_worker_threads)
        self.rpc_timeout = float(rpc_timeout)
        self.init_method = init_method
        self.device_maps = dict(device_maps or {})
        self.devices = list(devices or [])

    def set_device_map(self, to: str, device_map: dict) -> None:
        self.device_maps.setdefault(to, {}).update(device_map)

    def set_devices(self, devices: list) -> None:
        self.devices = list(devices)


def _send(sock, lock, message) -> None:
    """One pickled message, framed as the TCP transport's frames (``_tcp._send_frame``;
    ``_recv`` is its ``_recv_frame``)."""
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    with lock:
        _send_frame(sock, payload)


def _meeting_point(init_method: str):
    if init_method.startswith("env://"):
        import os
        return os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"])
    parsed = urlparse(init_method)
    if parsed.scheme != "tcp":
        raise ValueError(f"init_rpc: unsupported init_method {init_method!r} (use tcp:// or "
                         "env://)")
    return parsed.hostname, parsed.port


class Agent:
    """One worker's end: its listener, one outgoing connection per peer, the pending
    calls it made and the pool that runs the calls made to it."""

    def __init__(self, name, rank, world_size, options, handler):
        from .._tcp_store import TCPStore
        self.info = WorkerInfo(name, rank)
        self.world_size, self.options, self._handler = world_size, options, handler
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("", 0))  # every interface: peers may be on other hosts
        self._listener.listen(64)
        self._pool = ThreadPoolExecutor(max(1, options.num_worker_threads),
                                        thread_name_prefix=f"rpc-{name}")
        self._pending, self._next_id, self._lock = {}, 0, threading.Lock()
        self._peers = {}
        threading.Thread(target=self._accept, daemon=True).start()
        host, port = _meeting_point(options.init_method)
        wait = timedelta(seconds=max(options.rpc_timeout, 60.0))
        self.store = TCPStore(host, port, world_size, rank == 0, wait)
        # advertise the address this host has on the route to the meeting point
        address = self.store._sock.getsockname()[0]
        self.store.set(f"rpc/worker/{rank}",
                       pickle.dumps((name, address, self._listener.getsockname()[1])))
        self.addresses, self.by_name = {}, {}
        for peer in range(world_size):
            peer_name, peer_host, peer_port = pickle.loads(self.store.get(f"rpc/worker/{peer}"))
            if peer_name in self.by_name:
                raise RuntimeError(f"RpcAgent name {peer_name} is not unique")
            self.addresses[peer] = (peer_host, peer_port)
            self.by_name[peer_name] = WorkerInfo(peer_name, peer)

    # -- naming --------------------------------------------------------------------------

    def worker_info(self, to) -> WorkerInfo:
        if isinstance(to, WorkerInfo):
            return to
        if isinstance(to, int) and not isinstance(to, bool):
            for info in self.by_name.values():
                if info.id == to:
                    return info
            raise RuntimeError(f"name:{self.info.name},rank:{self.info.id} could not find "
                               f"destination id {to}")
        found = self.by_name.get(to)
        if found is None:
            raise RuntimeError(f"name:{self.info.name},rank:{self.info.id} could not find "
                               f"destination name {to}")
        return found

    # -- calls made by this worker ---------------------------------------------------------

    def _connection(self, rank):
        with self._lock:
            peer = self._peers.get(rank)
            if peer is None:
                sock = socket.create_connection(self.addresses[rank], timeout=60)
                sock.settimeout(None)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                peer = self._peers[rank] = (sock, threading.Lock())
                threading.Thread(target=self._read_replies, args=(sock,), daemon=True).start()
            return peer

    def send(self, to: WorkerInfo, request, timeout: float) -> Future:
        """Send ``request`` to worker ``to``; the future completes with the reply."""
        future = Future()
        with self._lock:
            call_id = self._next_id
            self._next_id += 1
            self._pending[call_id] = future
        try:
            sock, lock = self._connection(to.id)
            _send(sock, lock, ("call", call_id, request))
        except BaseException:
            # an unpicklable argument or an unreachable peer fails here, in the caller
            with self._lock:
                self._pending.pop(call_id, None)
            raise
        if timeout > 0:
            timer = threading.Timer(timeout, self._expire, (call_id, timeout))
            timer.daemon = True
            timer.start()
            future.add_done_callback(lambda _: timer.cancel())
        return future

    def _expire(self, call_id, timeout):
        with self._lock:
            future = self._pending.pop(call_id, None)
        if future is not None:
            future.set_exception(RuntimeError(_TIMEOUT_TEXT.format(int(round(timeout * 1000)))))

    def _read_replies(self, sock):
        while True:
            try:
                _, call_id, ok, payload = pickle.loads(_recv(sock))
            except (ConnectionError, OSError):
                return
            except Exception as error:  # noqa: BLE001 - an unpicklable reply fails its call
                ok, payload, call_id = False, error, None
            with self._lock:
                future = self._pending.pop(call_id, None)
            if future is not None:
                (future.set_result if ok else future.set_exception)(payload)

    # -- calls made to this worker ---------------------------------------------------------

    def _accept(self):
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._serve, args=(sock, threading.Lock()),
                             daemon=True).start()

    def _serve(self, sock, lock):
        while True:
            try:
                data = _recv(sock)
            except (ConnectionError, OSError):
                sock.close()
                return
            self._pool.submit(self._run, sock, lock, data)

    def _run(self, sock, lock, data):
        """Unpickle (RRefs resolve here, on the worker), run, and answer; an error is sent
        back as PyTorch does: its type, with the remote worker and traceback in the text."""
        call_id = None
        try:
            _, call_id, request = pickle.loads(data)
            result = self._handler(request)
        except Exception as error:  # noqa: BLE001 - the caller re-raises it
            self._reply(sock, lock, call_id, False, self._remote_error(error))
            return
        if isinstance(result, Future):
            result.add_done_callback(lambda done: self._reply_future(sock, lock, call_id, done))
        else:
            self._reply(sock, lock, call_id, True, result)

    def _reply_future(self, sock, lock, call_id, done):
        try:
            value = done.wait()
        except Exception as error:  # noqa: BLE001 - the caller re-raises it
            self._reply(sock, lock, call_id, False, self._remote_error(error))
        else:
            self._reply(sock, lock, call_id, True, value)

    def _remote_error(self, error):
        text = (f"On {self.info}:\n{error!r}\n"
                + "".join(traceback.format_exception(type(error), error, error.__traceback__)))
        try:
            remade = type(error)(text)
            pickle.dumps(remade)
        except Exception:  # noqa: BLE001 - an exception type that cannot be rebuilt
            remade = RuntimeError(text)
        return remade

    def _reply(self, sock, lock, call_id, ok, payload):
        try:
            _send(sock, lock, ("reply", call_id, ok, payload))
        except (ConnectionError, OSError):
            pass
        except Exception as error:  # noqa: BLE001 - an unpicklable result
            _send(sock, lock, ("reply", call_id, False, self._remote_error(error)))

    def close(self):
        self._pool.shutdown(wait=True)
        with self._lock:
            peers, self._peers = list(self._peers.values()), {}
        for sock, _ in peers:
            sock.close()
        self._listener.close()
