"""Settings applied across a pipe graph: sharding, shuffling and random seeds (what the
DataLoader calls on a pipe)."""

from __future__ import annotations

import inspect
import warnings

from .datapipes.iter._transform import SHARDING_PRIORITIES
from .graph import traverse_dps

__all__ = ["apply_random_seed", "apply_sharding", "apply_shuffle_seed",
           "apply_shuffle_settings", "get_all_graph_pipes"]


def get_all_graph_pipes(graph) -> list:
    """Every pipe of a ``traverse_dps`` graph once, parents before inputs."""
    pipes, seen = [], set()

    def walk(sub):
        for key, (pipe, inner) in sub.items():
            if key in seen:
                continue
            seen.add(key)
            pipes.append(pipe)
            walk(inner)

    walk(graph)
    return pipes


def _has_method(pipe, *names) -> bool:
    return all(inspect.ismethod(getattr(pipe, name, None)) for name in names)


def apply_sharding(datapipe, num_of_instances: int, instance_id: int,
                   sharding_group=SHARDING_PRIORITIES.DEFAULT):
    """Call ``apply_sharding`` on the graph's sharding pipes; two on one branch raise."""

    def walk(graph, applied_above):
        for pipe, inner in graph.values():
            applied = applied_above
            if _has_method(pipe, "apply_sharding"):
                if applied_above is not None:
                    raise RuntimeError(
                        "Sharding twice on a single pipeline is likely unintended and will "
                        f"cause data loss. Sharding already applied to {applied_above} while "
                        f"trying to apply to {pipe}"
                    )
                if len(inspect.signature(pipe.apply_sharding).parameters) < 3:
                    pipe.apply_sharding(num_of_instances, instance_id)
                else:
                    pipe.apply_sharding(num_of_instances, instance_id,
                                        sharding_group=sharding_group)
                applied = pipe
            walk(inner, applied)

    walk(traverse_dps(datapipe), None)
    return datapipe


def apply_shuffle_settings(datapipe, shuffle: bool | None = None):
    """Turn every shuffler on or off (None: leave them). ``shuffle=True`` on a graph with
    none appends a ``shuffle()`` with PyTorch's warning and returns it."""
    if shuffle is None:
        return datapipe
    pipes = get_all_graph_pipes(traverse_dps(datapipe))
    shufflers = [p for p in pipes if _has_method(p, "set_shuffle", "set_seed")]
    if not shufflers and shuffle:
        warnings.warn(
            "`shuffle=True` was set, but the datapipe does not contain a `Shuffler`. Adding "
            "one at the end. Be aware that the default buffer size might not be sufficient "
            "for your task.",
            stacklevel=2,
        )
        datapipe = datapipe.shuffle()
        shufflers = [datapipe]
    for shuffler in shufflers:
        shuffler.set_shuffle(shuffle)
    return datapipe


def apply_random_seed(datapipe, rng):
    """Give every pipe with ``set_seed`` a seed drawn from the generator ``rng``."""
    from ... import empty, int64

    for pipe in get_all_graph_pipes(traverse_dps(datapipe)):
        if _has_method(pipe, "set_seed"):
            pipe.set_seed(int(empty((), dtype=int64).random_(generator=rng).item()))
    return datapipe


def apply_shuffle_seed(datapipe, rng):
    """Deprecated spelling of ``apply_random_seed``."""
    warnings.warn(
        "`apply_shuffle_seed` is deprecated since 1.12 and will be removed in the future "
        "releases. Please use `apply_random_seed` instead.",
        FutureWarning,
        stacklevel=2,
    )
    return apply_random_seed(datapipe, rng)
