"""Small PyTorch-parity points checked against torch itself: LinAlgError's printed name,
assigning a NumPy array into a tensor slice, ``output_nr``, a grad_fn name, and the
non-leaf ``.grad`` warning."""

from __future__ import annotations

import pickle
import traceback

import torch

import ember


def _exception_of(call):
    try:
        call()
    except Exception as error:  # noqa: BLE001 - we compare whatever each library raises
        return error
    raise AssertionError("no exception")


def test_linalg_error_prints_its_private_name_as_torch():
    t_err = _exception_of(lambda: torch.linalg.inv(torch.zeros(2, 2)))
    e_err = _exception_of(lambda: ember.linalg.inv(ember.zeros(2, 2)))
    assert type(e_err) is ember.linalg.LinAlgError and isinstance(e_err, RuntimeError)
    assert repr(e_err) == repr(t_err)
    assert type(e_err).__name__ == type(t_err).__name__ == "_LinAlgError"
    assert type(e_err).__qualname__ == type(t_err).__qualname__
    t_last = traceback.format_exception_only(type(t_err), t_err)[-1]
    e_last = traceback.format_exception_only(type(e_err), e_err)[-1]
    assert t_last.startswith("torch._C._LinAlgError: linalg.inv: ")
    assert e_last.startswith("ember.linalg._LinAlgError: linalg.inv: ")
    assert e_last.split(": ", 1)[1] == t_last.split(": ", 1)[1]
    again = pickle.loads(pickle.dumps(e_err))
    assert type(again) is ember.linalg.LinAlgError and str(again) == str(e_err)
