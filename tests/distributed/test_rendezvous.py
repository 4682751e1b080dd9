"""ember.distributed.rendezvous against torch.distributed.rendezvous: the URL handlers'
results and errors in one process (the 4-process file:// rendezvous runs in
mesh_script.py)."""

import sys
from datetime import timedelta

import pytest
import torch.distributed as tdist

import ember.distributed as dist

# the modules (their names in the packages are the functions, as in PyTorch)
rendezvous_module = sys.modules["ember.distributed.rendezvous"]
torch_rendezvous_module = sys.modules["torch.distributed.rendezvous"]


def _outcome(call):
    try:
        store, rank, world_size = next(call())
    except Exception as error:  # noqa: BLE001 - the outcome is what is compared
        return type(error).__name__, str(error)
    return type(store).__name__, rank, world_size


def test_handlers_match_torch(tmp_path, monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    outcomes = {}
    for lib in (tdist, dist):
        folder = tmp_path / lib.__name__.split(".")[0]
        folder.mkdir()
        short = {"timeout": timedelta(seconds=5)}
        outcomes[lib] = [
            _outcome(lambda: lib.rendezvous(5)),
            _outcome(lambda: lib.rendezvous("file:///x", rank="0")),
            _outcome(lambda: lib.rendezvous("file:///x", world_size=1.5)),
            _outcome(lambda: lib.rendezvous("bogus://x")),
            _outcome(lambda: lib.rendezvous("tcp://127.0.0.1", 0, 1)),
            _outcome(lambda: lib.rendezvous("tcp://127.0.0.1:0", world_size=1)),
            _outcome(lambda: lib.rendezvous("tcp://127.0.0.1:0", rank=0)),
            _outcome(lambda: lib.rendezvous("tcp://127.0.0.1:0?rank=0&world_size=1", **short)),
            _outcome(lambda: lib.rendezvous("file://", 0, 1)),
            _outcome(lambda: lib.rendezvous(f"file://{folder}/store", world_size=1)),
            _outcome(lambda: lib.rendezvous(f"file://{folder}/store", 0, 1)),
            _outcome(lambda: lib.rendezvous("env://")),
            _outcome(lambda: lib.rendezvous("env://", 0)),
            _outcome(lambda: lib.rendezvous("env://", 0, 1)),
        ]
        monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
        outcomes[lib].append(_outcome(lambda: lib.rendezvous("env://", 0, 1)))
        monkeypatch.delenv("MASTER_ADDR")
    assert outcomes[dist] == outcomes[tdist]


def test_a_handler_yields_once_and_stores_are_shared(tmp_path):
    for lib in (tdist, dist):
        path = tmp_path / f"{lib.__name__}.store"
        handler = lib.rendezvous(f"file://{path}", 0, 1)
        store, rank, world_size = next(handler)
        store.set("k", "v")
        assert (rank, world_size, store.get("k")) == (0, 1, b"v")
        with pytest.raises(RuntimeError, match="Unable to perform rerendezvous"):
            next(handler)


def test_register_rendezvous_handler():
    registries = ((tdist, torch_rendezvous_module._rendezvous_handlers),
                  (dist, rendezvous_module._handlers))
    for lib, registry in registries:
        with pytest.raises(RuntimeError, match=r"Rendezvous handler for tcp:// already "):
            lib.register_rendezvous_handler("tcp", lambda url, **kwargs: None)

        def handler(url, **kwargs):
            yield url, kwargs, "seen"

        lib.register_rendezvous_handler("ember-test", handler)
        try:
            assert next(lib.rendezvous("ember-test://host/path", 1, 2, flag=True)) == (
                "ember-test://host/path?rank=1&world_size=2", {"flag": True}, "seen")
        finally:
            registry.pop("ember-test")
