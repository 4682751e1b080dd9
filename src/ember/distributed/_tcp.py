"""A pure-Python transport for processes that no MPI launcher started.

``multiprocessing.spawn`` scripts call ``init_process_group("gloo", rank=r, world_size=w)``
in independent interpreters, which cannot join one MPI job. For them ember connects every
pair of processes with a TCP socket: rank 0 listens on MASTER_ADDR:MASTER_PORT, the
others tell it where they listen, it sends everyone the table, and the rest of the mesh
connects. A reader thread per connection drains incoming messages into per-(peer, key)
queues, so sends never wait on the receiver and no ordering of sends and receives can
deadlock.

The classes below answer the subset of mpi4py's ``Comm`` and ``MPI`` API that
``_collectives`` and ``_group`` call, so one collective implementation serves both
transports. Collectives are simple (reduce at rank 0 in rank order and send the result
back, which also makes every rank's result bit-identical), meant for the few processes of
one machine. The non-blocking ones run on a worker thread per communicator, so
``async_op=True`` and DDP's bucketed all-reduces overlap the caller's work.
"""

from __future__ import annotations

import collections
import pickle
import queue
import socket
import struct
import threading
import time

import numpy as np

_HEADER = struct.Struct("!QQ")  # key length, payload length


class _Op:
    __slots__ = ("ufunc",)

    def __init__(self, ufunc):
        self.ufunc = ufunc


class _Status:
    def __init__(self):
        self.source = -1

    def Get_source(self) -> int:
        return self.source


class _Request:
    """A finished send, or a receive that completes on Wait/Test."""

    def __init__(self, complete=None):
        self._complete = complete  # complete(block) -> source rank, or None if not ready
        self._source = -1
        self._done = complete is None

    def Wait(self, status=None):
        if not self._done:
            self._source = self._complete(True)
            self._done = True
        if status is not None:
            status.source = self._source

    def Test(self, status=None) -> bool:
        if not self._done:
            source = self._complete(False)
            if source is None:
                return False
            self._source, self._done = source, True
        if status is not None:
            status.source = self._source
        return True

    @staticmethod
    def Waitall(requests):
        for request in requests:
            request.Wait()

    @staticmethod
    def Testall(requests) -> bool:
        return all(request.Test() for request in requests)


class MPI:
    """The constants and classes of mpi4py's ``MPI`` that ember's collectives use."""

    IN_PLACE = object()
    BYTE = "BYTE"
    UNDEFINED = -32766
    ANY_SOURCE = -1
    ANY_TAG = -1
    SUM = _Op(np.add)
    PROD = _Op(np.multiply)
    MIN = _Op(np.minimum)
    MAX = _Op(np.maximum)
    BAND = _Op(np.bitwise_and)
    BOR = _Op(np.bitwise_or)
    BXOR = _Op(np.bitwise_xor)
    Status = _Status
    Request = _Request


def _recv_exactly(sock, count) -> bytearray:
    buffer = bytearray(count)
    view = memoryview(buffer)
    received = 0
    while received < count:
        got = sock.recv_into(view[received:])
        if got == 0:
            raise ConnectionError("connection closed")
        received += got
    return buffer


def _send_frame(sock, payload: bytes) -> None:
    sock.sendall(struct.pack("!Q", len(payload)) + payload)


def _recv_frame(sock) -> bytes:
    (length,) = struct.unpack("!Q", _recv_exactly(sock, 8))
    return bytes(_recv_exactly(sock, length))


class Mesh:
    """A socket to every other process and the queues their messages arrive in."""

    def __init__(self, rank: int, size: int, host: str, port: int, timeout: float):
        self.rank, self.size = rank, size
        self._inbox = collections.defaultdict(collections.deque)
        self._closed = set()
        self._arrived = threading.Condition()
        self._sockets = {}
        self._send_locks = {}
        if size > 1:
            self._connect(host, port, timeout)
        for peer, sock in self._sockets.items():
            self._send_locks[peer] = threading.Lock()
            threading.Thread(target=self._read, args=(peer, sock), daemon=True,
                             name=f"ember-dist-recv-{peer}").start()

    # -- rendezvous ----------------------------------------------------------------------

    def _connect(self, host, port, timeout) -> None:
        deadline = time.monotonic() + timeout
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if self.rank == 0:
            listener.bind(("", port))
            listener.listen(self.size)
            table = {0: (host, port)}
            for _ in range(self.size - 1):
                sock = self._accept(listener, deadline)
                peer, peer_port = pickle.loads(_recv_frame(sock))
                table[peer] = (sock.getpeername()[0], peer_port)
                self._sockets[peer] = sock
            for sock in self._sockets.values():
                _send_frame(sock, pickle.dumps(table))
        else:
            listener.bind(("", 0))
            listener.listen(self.size)
            master = self._dial(host, port, deadline)
            _send_frame(master, pickle.dumps((self.rank, listener.getsockname()[1])))
            table = pickle.loads(_recv_frame(master))
            self._sockets[0] = master
            for peer in range(1, self.rank):  # connect down, accept from above
                sock = self._dial(*table[peer], deadline)
                _send_frame(sock, pickle.dumps(self.rank))
                self._sockets[peer] = sock
            for _ in range(self.size - 1 - self.rank):
                sock = self._accept(listener, deadline)
                self._sockets[pickle.loads(_recv_frame(sock))] = sock
        listener.close()
        for sock in self._sockets.values():
            sock.settimeout(None)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _accept(self, listener, deadline):
        listener.settimeout(max(0.0, deadline - time.monotonic()))
        try:
            sock, _ = listener.accept()
        except TimeoutError:
            raise RuntimeError(f"Timed out initializing process group: rank {self.rank} of "
                               f"{self.size} waited for the other ranks to connect") from None
        sock.settimeout(max(1.0, deadline - time.monotonic()))
        return sock

    def _dial(self, host, port, deadline):
        while True:
            try:
                return socket.create_connection((host, port), timeout=5)
            except OSError as error:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Timed out initializing process group: rank "
                                       f"{self.rank} could not connect to {host}:{port} "
                                       f"({error})") from None
                time.sleep(0.05)

    # -- messages --------------------------------------------------------------------------

    def _read(self, peer, sock) -> None:
        try:
            while True:
                key_length, length = _HEADER.unpack(_recv_exactly(sock, _HEADER.size))
                key = pickle.loads(_recv_exactly(sock, key_length))
                payload = _recv_exactly(sock, length)
                with self._arrived:
                    self._inbox[(peer, key)].append(payload)
                    self._arrived.notify_all()
        except (ConnectionError, OSError):
            with self._arrived:
                self._closed.add(peer)
                self._arrived.notify_all()

    def send(self, peer: int, key, data) -> None:
        payload = memoryview(data).cast("B") if not isinstance(data, bytes) else data
        if peer == self.rank:
            with self._arrived:
                self._inbox[(peer, key)].append(bytearray(payload))
                self._arrived.notify_all()
            return
        encoded_key = pickle.dumps(key)
        with self._send_locks[peer]:
            sock = self._sockets[peer]
            sock.sendall(_HEADER.pack(len(encoded_key), len(payload)) + encoded_key)
            sock.sendall(payload)

    def receive(self, peers, key, block=True):
        """(peer, payload) of the first message under ``key`` from one of ``peers``;
        None when ``block`` is False and nothing has arrived."""
        with self._arrived:
            while True:
                for peer in peers:
                    queue = self._inbox.get((peer, key))
                    if queue:
                        payload = queue.popleft()
                        if not queue:
                            del self._inbox[(peer, key)]
                        return peer, payload
                if not block:
                    return None
                lost = self._closed.intersection(peers)
                if lost:
                    raise RuntimeError(f"Connection closed by peer rank {min(lost)} while rank "
                                       f"{self.rank} waited for it")
                self._arrived.wait()

    def close(self) -> None:
        for sock in self._sockets.values():
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        self._sockets.clear()


def _collective(body):
    def start(self, *args):
        return self._submit(body, self._next_key(), args)
    start.__name__ = body.__name__
    return start


def _work_through(jobs) -> None:
    while True:
        job = jobs.get()
        if job is None:
            return
        job()


class Comm:
    """A communicator over some of the mesh's processes (group rank order ``members``)."""

    def __init__(self, mesh: Mesh, members: list, cid: tuple, owns_mesh: bool = False):
        self.mesh, self.members, self.cid = mesh, members, cid
        self.rank = members.index(mesh.rank)
        self._sequence = 0
        self._children = 0
        self._owns_mesh = owns_mesh
        self._jobs = None  # the worker thread's queue, made on first use

    def Get_rank(self) -> int:
        return self.rank

    def Get_size(self) -> int:
        return len(self.members)

    def _next_key(self):
        self._sequence += 1
        return (self.cid, self._sequence)

    def _send(self, to, key, data):
        self.mesh.send(self.members[to], key, data)

    def _recv(self, source, key) -> bytearray:
        return self.mesh.receive((self.members[source],), key)[1]

    def _others(self):
        return [r for r in range(len(self.members)) if r != self.rank]

    # -- byte-level collectives (buffers are NumPy arrays) ---------------------------------

    def _reduce_to(self, root, array, op, key):
        """Rank order reduction of every rank's ``array`` at ``root`` (returned there)."""
        if self.rank != root:
            self._send(root, key, np.ascontiguousarray(array))
            return None
        total = None
        for source in range(len(self.members)):
            part = array if source == root else np.frombuffer(
                self._recv(source, key), array.dtype).reshape(array.shape)
            total = part.copy() if total is None else op.ufunc(total, part)
        return total

    def _allreduce(self, key, sendbuf, recvbuf, op):
        array = recvbuf if sendbuf is MPI.IN_PLACE else sendbuf
        total = self._reduce_to(0, array, op, key)
        if self.rank == 0:
            for peer in self._others():
                self._send(peer, key, total)
            recvbuf[...] = total
        else:
            recvbuf[...] = np.frombuffer(self._recv(0, key), recvbuf.dtype).reshape(
                recvbuf.shape)
        return _Request()

    def _reduce(self, key, sendbuf, recvbuf, op, root):
        array = recvbuf if sendbuf is MPI.IN_PLACE else sendbuf
        total = self._reduce_to(root, array, op, key)
        if self.rank == root:
            recvbuf[...] = total
        return _Request()

    def _reduce_scatter_block(self, key, sendbuf, recvbuf, op):
        total = sendbuf.copy()
        self._allreduce(key, MPI.IN_PLACE, total, op)
        count = recvbuf.size
        recvbuf[...] = total.reshape(-1)[self.rank * count:(self.rank + 1) * count]
        return _Request()

    def _bcast(self, key, buf, root):
        if self.rank == root:
            for peer in self._others():
                self._send(peer, key, buf)
        else:
            buf[...] = np.frombuffer(self._recv(root, key), buf.dtype).reshape(buf.shape)
        return _Request()

    def _allgather(self, key, sendbuf, recvbuf):
        for peer in self._others():
            self._send(peer, key, sendbuf)
        rows = recvbuf.reshape(len(self.members), -1)
        for source in range(len(self.members)):
            rows[source] = sendbuf if source == self.rank else np.frombuffer(
                self._recv(source, key), np.uint8)
        return _Request()

    def _gather(self, key, sendbuf, recvbuf, root):
        if self.rank != root:
            self._send(root, key, sendbuf)
            return _Request()
        rows = recvbuf.reshape(len(self.members), -1)
        for source in range(len(self.members)):
            rows[source] = sendbuf if source == root else np.frombuffer(
                self._recv(source, key), np.uint8)
        return _Request()

    def _scatter(self, key, sendbuf, recvbuf, root):
        if self.rank == root:
            for peer in self._others():
                self._send(peer, key, np.ascontiguousarray(sendbuf[peer]))
            recvbuf[...] = sendbuf[root]
        else:
            recvbuf[...] = np.frombuffer(self._recv(root, key), np.uint8)
        return _Request()

    def _alltoallv(self, key, send_spec, recv_spec):
        send, (send_counts, send_displs), _ = send_spec
        recv, (recv_counts, recv_displs), _ = recv_spec
        for peer in range(len(self.members)):
            start = send_displs[peer]
            self._send(peer, key, send[start:start + send_counts[peer]])
        for source in range(len(self.members)):
            start = recv_displs[source]
            recv[start:start + recv_counts[source]] = np.frombuffer(
                self._recv(source, key), np.uint8)
        return _Request()

    def _barrier(self, key):
        self._allreduce(key, MPI.IN_PLACE, np.zeros(1, np.int8), MPI.SUM)

    # The public non-blocking calls: each takes its message key now, in call order (the
    # same on every rank), and runs on the communicator's worker thread, so it overlaps
    # the caller's work and returns at once, as MPI's do.
    Iallreduce = _collective(_allreduce)
    Ireduce = _collective(_reduce)
    Ireduce_scatter_block = _collective(_reduce_scatter_block)
    Ibcast = _collective(_bcast)
    Iallgather = _collective(_allgather)
    Igather = _collective(_gather)
    Iscatter = _collective(_scatter)
    Ialltoallv = _collective(_alltoallv)
    Ibarrier = _collective(_barrier)

    def _submit(self, body, key, args):
        if self._jobs is None:
            self._jobs = queue.SimpleQueue()
            threading.Thread(target=_work_through, args=(self._jobs,), daemon=True,
                             name=f"ember-dist-comm-{self.cid}").start()
        done, failure = threading.Event(), []

        def job():
            try:
                body(self, key, *args)
            except BaseException as error:  # noqa: BLE001 - re-raised by Wait
                failure.append(error)
            finally:
                done.set()

        def complete(block):
            if not (done.wait() if block else done.is_set()):
                return None
            if failure:
                raise failure[0]
            return -1
        self._jobs.put(job)
        return _Request(complete)

    def Isend(self, buf, dest, tag):
        self._send(dest, (self.cid, "p2p", tag), buf)
        return _Request()

    def Irecv(self, buf, source, tag):
        peers = [self.members[r] for r in (self._others() if source == MPI.ANY_SOURCE
                                           else [source])]
        key = (self.cid, "p2p", tag)

        def complete(block):
            got = self.mesh.receive(peers, key, block)
            if got is None:
                return None
            peer, payload = got
            buf[...] = np.frombuffer(payload, np.uint8)
            return self.members.index(peer)
        return _Request(complete)

    # -- Python objects (pickled) ----------------------------------------------------------

    def allgather(self, obj) -> list:
        key = self._next_key()
        data = pickle.dumps(obj)
        for peer in self._others():
            self._send(peer, key, data)
        return [obj if source == self.rank else pickle.loads(self._recv(source, key))
                for source in range(len(self.members))]

    def bcast(self, obj, root):
        key = self._next_key()
        if self.rank == root:
            data = pickle.dumps(obj)
            for peer in self._others():
                self._send(peer, key, data)
            return obj
        return pickle.loads(self._recv(root, key))

    def gather(self, obj, root):
        key = self._next_key()
        if self.rank != root:
            self._send(root, key, pickle.dumps(obj))
            return None
        return [obj if source == root else pickle.loads(self._recv(source, key))
                for source in range(len(self.members))]

    def scatter(self, values, root):
        key = self._next_key()
        if self.rank == root:
            for peer in self._others():
                self._send(peer, key, pickle.dumps(values[peer]))
            return values[root]
        return pickle.loads(self._recv(root, key))

    def send(self, obj, dest, tag=0):
        self._send(dest, (self.cid, "obj", tag), pickle.dumps(obj))

    def recv(self, source=MPI.ANY_SOURCE, tag=0, status=None):
        peers = [self.members[r] for r in (self._others() if source == MPI.ANY_SOURCE
                                           else [source])]
        peer, payload = self.mesh.receive(peers, (self.cid, "obj", tag))
        if status is not None:
            status.source = self.members.index(peer)
        return pickle.loads(payload)

    # -- communicators ---------------------------------------------------------------------

    def Dup(self):
        self._children += 1
        return Comm(self.mesh, list(self.members), self.cid + (self._children,))

    def Split(self, color, key=0):
        self._children += 1
        everyone = self.allgather((color, key, self.rank))
        if color == MPI.UNDEFINED:
            return None
        chosen = sorted((k, r) for c, k, r in everyone if c == color)
        members = [self.members[r] for _, r in chosen]
        return Comm(self.mesh, members, self.cid + (self._children, color))

    def Free(self) -> None:
        if self._jobs is not None:
            self._jobs.put(None)
            self._jobs = None
        if self._owns_mesh:
            self.mesh.close()


def world(rank: int, size: int, host: str, port: int, timeout: float) -> Comm:
    """Connect ``size`` processes (this one is ``rank``) through ``host:port``."""
    mesh = Mesh(rank, size, host, port, timeout)
    return Comm(mesh, list(range(size)), (0,), owns_mesh=True)
