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


def test_unpacked_lstm_backward_steps_are_one_launch_each(launched_kernels):
    torch.manual_seed(2)
    theirs, mine = torch.nn.LSTM(4, 6, num_layers=2), ember.nn.LSTM(4, 6, num_layers=2)
    mine = mine.to("cuda")
    _copy_weights(mine, theirs)
    x = np.random.default_rng(2).standard_normal((5, 3, 4)).astype(np.float32)
    h0 = np.random.default_rng(3).standard_normal((2, 3, 6)).astype(np.float32)
    t_x, t_h0 = torch.tensor(x, requires_grad=True), torch.tensor(h0, requires_grad=True)
    e_x = ember.tensor(x, device="cuda", requires_grad=True)
    e_h0 = ember.tensor(h0, device="cuda", requires_grad=True)
    t_out, (t_h, _) = theirs(t_x, (t_h0, torch.zeros(2, 3, 6)))
    e_out, (e_h, _) = mine(e_x, (e_h0, ember.zeros(2, 3, 6, device="cuda")))
    upstream = np.random.default_rng(4).standard_normal((5, 3, 6)).astype(np.float32)
    (t_out * torch.tensor(upstream)).sum().add(t_h.sum()).backward()
    (e_out * ember.tensor(upstream, device="cuda")).sum().add(e_h.sum()).backward()
    for got, expected in ((e_x.grad, t_x.grad), (e_h0.grad, t_h0.grad)):
        torch.testing.assert_close(torch.from_numpy(got.cpu().numpy()), expected)
    for name, value in theirs.named_parameters():
        torch.testing.assert_close(
            torch.from_numpy(getattr(mine, name).grad.cpu().numpy()), value.grad)
    assert launched_kernels.count("ember_lstm_step_backward_recurrent") == 2 * 5
    assert "ember_lstm_step_backward" not in launched_kernels


def test_gru_steps_are_one_launch_each_way(launched_kernels):
    torch.manual_seed(3)
    theirs = torch.nn.GRU(4, 6, num_layers=2, bidirectional=True)
    mine = ember.nn.GRU(4, 6, num_layers=2, bidirectional=True).to("cuda")
    _copy_weights(mine, theirs)
    x = np.random.default_rng(5).standard_normal((5, 3, 4)).astype(np.float32)
    h0 = np.random.default_rng(6).standard_normal((4, 3, 6)).astype(np.float32)
    t_x, t_h0 = torch.tensor(x, requires_grad=True), torch.tensor(h0, requires_grad=True)
    e_x = ember.tensor(x, device="cuda", requires_grad=True)
    e_h0 = ember.tensor(h0, device="cuda", requires_grad=True)
    t_out, t_h = theirs(t_x, t_h0)
    e_out, e_h = mine(e_x, e_h0)
    for got, expected in ((e_out, t_out), (e_h, t_h)):
        torch.testing.assert_close(torch.from_numpy(got.detach().cpu().numpy()),
                                   expected.detach())
    upstream = np.random.default_rng(7).standard_normal((5, 3, 12)).astype(np.float32)
    (t_out * torch.tensor(upstream)).sum().add(t_h.sum()).backward()
    (e_out * ember.tensor(upstream, device="cuda")).sum().add(e_h.sum()).backward()
    for got, expected in ((e_x.grad, t_x.grad), (e_h0.grad, t_h0.grad)):
        torch.testing.assert_close(torch.from_numpy(got.cpu().numpy()), expected)
    for name, value in theirs.named_parameters():
        torch.testing.assert_close(
            torch.from_numpy(getattr(mine, name).grad.cpu().numpy()), value.grad)
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
