"""The LSTM and GRU step kernels on cuda (src/ember/_ops/_rnn_cuda.py) against torch: the forward
step that forms the recurrent product itself (one launch a step), over packed sequences
of different lengths in both directions, and the GEMM-plus-kernel step past
``MAX_FUSED_HIDDEN``. On CI the kernels' CUDA C++ runs on the CPU through the CuPy
double (g++)."""

import numpy as np
import torch

import ember
from ember._ops import _rnn_cuda


def _copy_weights(mine, theirs):
    for name, value in theirs.named_parameters():
        getattr(mine, name).data = ember.tensor(value.detach().numpy(), device="cuda")


def test_packed_bidirectional_lstm_steps_are_one_launch_each(launched_kernels):
    torch.manual_seed(0)
    theirs = torch.nn.LSTM(5, 7, num_layers=2, bidirectional=True)
    mine = ember.nn.LSTM(5, 7, num_layers=2, bidirectional=True).to("cuda")
    _copy_weights(mine, theirs)
    x = np.random.default_rng(0).standard_normal((6, 3, 5)).astype(np.float32)
    lengths = [6, 4, 1]
    t_packed = torch.nn.utils.rnn.pack_padded_sequence(torch.tensor(x, requires_grad=True),
                                                       lengths)
    e_x = ember.tensor(x, device="cuda", requires_grad=True)
    e_packed = ember.nn.utils.rnn.pack_padded_sequence(e_x, lengths)
    (t_out, _), (t_h, t_c) = (lambda o: (torch.nn.utils.rnn.pad_packed_sequence(o[0]), o[1]))(
        theirs(t_packed))
    (e_out, _), (e_h, e_c) = (lambda o: (ember.nn.utils.rnn.pad_packed_sequence(o[0]), o[1]))(
        mine(e_packed))
    for got, expected in ((e_out, t_out), (e_h, t_h), (e_c, t_c)):
        torch.testing.assert_close(torch.from_numpy(got.detach().cpu().numpy()),
                                   expected.detach())
    steps = launched_kernels.count("ember_lstm_step_forward_recurrent")
    assert steps == 2 * 2 * 6  # layers x directions x time steps
    (e_out.sum() + e_h.sum()).backward()
    (t_out.sum() + t_h.sum()).backward()
    for name, value in theirs.named_parameters():
        torch.testing.assert_close(
            torch.from_numpy(getattr(mine, name).grad.cpu().numpy()), value.grad)


def test_hidden_sizes_past_the_limit_keep_the_gemm(launched_kernels, monkeypatch):
    monkeypatch.setattr(_rnn_cuda, "MAX_FUSED_HIDDEN", 4)
    torch.manual_seed(1)
    theirs, mine = torch.nn.LSTM(3, 6), ember.nn.LSTM(3, 6).to("cuda")
    _copy_weights(mine, theirs)
    x = np.random.default_rng(1).standard_normal((4, 2, 3)).astype(np.float32)
    expected, _ = theirs(torch.tensor(x))
    got, _ = mine(ember.tensor(x, device="cuda"))
    torch.testing.assert_close(torch.from_numpy(got.detach().cpu().numpy()), expected.detach())
    assert "ember_lstm_step_forward_recurrent" not in launched_kernels
    assert launched_kernels.count("ember_lstm_step_forward") == 4


def _run_both(kind, layers, directions, seed):
    """One (seq 5, batch 3) pass of torch's and ember's ``kind`` (LSTM or GRU, input 4,
    hidden 6) with the same weights and h0, then backward of the same upstream
    gradient through the output and the last h; every value and gradient compared."""
    torch.manual_seed(seed)
    bidirectional = directions == 2
    theirs = getattr(torch.nn, kind)(4, 6, num_layers=layers, bidirectional=bidirectional)
    mine = getattr(ember.nn, kind)(4, 6, num_layers=layers,
                                   bidirectional=bidirectional).to("cuda")
    _copy_weights(mine, theirs)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((5, 3, 4)).astype(np.float32)
    h0 = rng.standard_normal((layers * directions, 3, 6)).astype(np.float32)
    upstream = rng.standard_normal((5, 3, 6 * directions)).astype(np.float32)
    grads = []
    for lib, device in ((torch, "cpu"), (ember, "cuda")):
        x_in = lib.tensor(x, device=device, requires_grad=True)
        h_in = lib.tensor(h0, device=device, requires_grad=True)
        state = h_in if kind == "GRU" else (h_in, lib.zeros(h0.shape, device=device))
        out, last = (theirs if lib is torch else mine)(x_in, state)
        last_h = last if kind == "GRU" else last[0]
        (out * lib.tensor(upstream, device=device)).sum().add(last_h.sum()).backward()
        grads.append([out.detach(), last_h.detach(), x_in.grad, h_in.grad])
    for expected, got in zip(*grads):
        torch.testing.assert_close(torch.from_numpy(got.cpu().numpy()), expected)
    for name, value in theirs.named_parameters():
        torch.testing.assert_close(
            torch.from_numpy(getattr(mine, name).grad.cpu().numpy()), value.grad)


def test_unpacked_lstm_backward_steps_are_one_launch_each(launched_kernels):
    _run_both("LSTM", layers=2, directions=1, seed=2)
    assert launched_kernels.count("ember_lstm_step_backward_recurrent") == 2 * 5
    assert "ember_lstm_step_backward" not in launched_kernels
    assert launched_kernels.count("ember_lstm_backward_factors") == 2  # once a layer


def test_gru_steps_are_one_launch_each_way(launched_kernels):
    _run_both("GRU", layers=2, directions=2, seed=3)
    assert launched_kernels.count("ember_gru_step_forward") == 2 * 2 * 5
    assert launched_kernels.count("ember_gru_step_backward") == 2 * 2 * 5


def test_packed_gru_backward_keeps_the_array_loop(launched_kernels):
    torch.manual_seed(4)
    theirs, mine = torch.nn.GRU(3, 5, bias=False), ember.nn.GRU(3, 5, bias=False).to("cuda")
    _copy_weights(mine, theirs)
    x = np.random.default_rng(8).standard_normal((4, 3, 3)).astype(np.float32)
    lengths = [4, 2, 1]
    t_x = torch.tensor(x, requires_grad=True)
    e_x = ember.tensor(x, device="cuda", requires_grad=True)
    t_out, t_h = theirs(torch.nn.utils.rnn.pack_padded_sequence(t_x, lengths))
    e_out, e_h = mine(ember.nn.utils.rnn.pack_padded_sequence(e_x, lengths))
    torch.testing.assert_close(torch.from_numpy(e_h.detach().cpu().numpy()), t_h.detach())
    t_h.sum().backward()
    e_h.sum().backward()
    torch.testing.assert_close(torch.from_numpy(e_x.grad.cpu().numpy()), t_x.grad)
    assert launched_kernels.count("ember_gru_step_forward") == 4
    assert "ember_gru_step_backward" not in launched_kernels


def test_empty_batch_runs_like_torch():
    """A batch of 0: the step kernel's first h is an empty copy, nothing is launched."""
    theirs = torch.nn.LSTM(3, 4, num_layers=2)
    mine = ember.nn.LSTM(3, 4, num_layers=2).to("cuda")
    _copy_weights(mine, theirs)
    t_out, (t_h, t_c) = theirs(torch.zeros(5, 0, 3))
    e_out, (e_h, e_c) = mine(ember.zeros(5, 0, 3, device="cuda"))
    for got, expected in ((e_out, t_out), (e_h, t_h), (e_c, t_c)):
        assert tuple(got.shape) == tuple(expected.shape)
