"""Dynamic batching: requests that arrive close together run as one forward pass.

Each request hands in a batch of instances (N_i, ...). The batcher waits at most
``max_delay`` seconds for more requests, concatenates those whose trailing shapes match
up to ``max_batch_size`` instances, runs the model once in a worker thread, and hands each
request back its own rows. One forward pass over 32 rows costs far less than 32 passes
over one, which is where a small-model server's throughput comes from.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import numpy as np


@dataclass
class _Pending:
    inputs: np.ndarray
    future: asyncio.Future
    arrived: float = field(default_factory=time.perf_counter)


class DynamicBatcher:
    """Queues ``submit`` calls and runs ``run_batch(array) -> array`` on merged batches."""

    def __init__(self, run_batch, max_batch_size: int = 32, max_delay: float = 0.005,
                 stats=None) -> None:
        if max_batch_size < 1:
            raise ValueError(f"max_batch_size must be at least 1, got {max_batch_size}")
        self.run_batch = run_batch
        self.max_batch_size = max_batch_size
        self.max_delay = max_delay
        self.stats = stats
        self._queue: asyncio.Queue | None = None
        self._worker: asyncio.Task | None = None

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._worker = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            try:
                await self._worker
            except asyncio.CancelledError:
                pass
            self._worker = None

    async def submit(self, inputs: np.ndarray) -> np.ndarray:
        """The model's output rows for ``inputs`` (a batch along dim 0)."""
        if self._queue is None:
            await self.start()
        future = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(inputs, future))
        return await future

    async def _loop(self) -> None:
        carried = None  # a request that did not fit the previous batch
        while True:
            first = carried or await self._queue.get()
            carried = None
            batch, rows = [first], len(first.inputs)
            deadline = first.arrived + self.max_delay
            while rows < self.max_batch_size:
                timeout = deadline - time.perf_counter()
                if timeout <= 0:
                    break
                try:
                    nxt = await asyncio.wait_for(self._queue.get(), timeout)
                except asyncio.TimeoutError:
                    break
                if (nxt.inputs.shape[1:] != first.inputs.shape[1:]
                        or nxt.inputs.dtype != first.inputs.dtype
                        or rows + len(nxt.inputs) > self.max_batch_size):
                    carried = nxt
                    break
                batch.append(nxt)
                rows += len(nxt.inputs)
            await self._run(batch)

    async def _run(self, batch) -> None:
        merged = batch[0].inputs if len(batch) == 1 else np.concatenate(
            [p.inputs for p in batch])
        started = time.perf_counter()
        try:
            outputs = await asyncio.to_thread(self.run_batch, merged)
        except Exception as error:  # noqa: BLE001 - any model error belongs to its request
            if len(batch) > 1:  # find whose request the model rejects: run them one by one
                for pending in batch:
                    await self._run([pending])
                return
            if not batch[0].future.done():
                batch[0].future.set_exception(error)
            return
        if self.stats is not None:
            self.stats.record_batch(len(merged), time.perf_counter() - started)
        start = 0
        for pending in batch:
            stop = start + len(pending.inputs)
            if not pending.future.done():
                pending.future.set_result(outputs[start:stop])
            start = stop
