"""Language-model odds and ends the other scripts leave out: an LSTM with proj_size
(LSTMP: the hidden state is projected, the cell is not), nn.AdaptiveLogSoftmaxWithLoss
over a Zipf-ish vocabulary (head + tail clusters, log_prob and predict agreeing with the
full distribution), Embedding(max_norm=...) renormalising rows in place, decoding
filters written as people write them for generate(): temperature, top-k, top-p (nucleus)
via sort/cumsum/scatter, a repetition penalty via gather/scatter, and the logits
processors checked on fixed numbers; a Gumbel-softmax relaxation (hard straight-through
one-hots) and RelaxedOneHotCategorical, printed by shape and one-hotness since they
sample; get_total_norm / clip_grads_with_norm_ and clip_grad_value_. Weights come from
fixed values."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import RelaxedOneHotCategorical


def fixed_(module, scale=0.3, phase=0.0):
    with torch.no_grad():
        for i, p in enumerate(module.parameters()):
            values = np.sin(np.arange(p.numel()) * 0.59 + i + phase) * scale
            p.copy_(torch.from_numpy(values.reshape(tuple(p.shape))))
    return module


vocab, dim = 40, 12
lstm = fixed_(nn.LSTM(dim, 16, num_layers=2, proj_size=6, batch_first=True))
print(lstm)
print("weights:", [(name, tuple(p.shape)) for name, p in lstm.named_parameters()][:5])
x = torch.tensor(np.cos(np.arange(3 * 5 * dim) * 0.31).reshape(3, 5, dim), dtype=torch.float32)
h0 = torch.zeros(2, 3, 6)
c0 = torch.zeros(2, 3, 16)
out, (h, c) = lstm(x, (h0, c0))
print("out/h/c:", tuple(out.shape), tuple(h.shape), tuple(c.shape),
      "last step == h:", torch.allclose(out[:, -1], h[-1]))
print("out[0, -1]:", [round(v, 5) for v in out[0, -1].tolist()])

# a manual LSTMP step reproduces layer 0's first output
w_ih, w_hh, b_ih, b_hh, w_hr = (getattr(lstm, n + "_l0") for n in
                                ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr"))
gates = x[:, 0] @ w_ih.t() + b_ih + h0[0] @ w_hh.t() + b_hh
i, f, g, o = gates.chunk(4, 1)
cell = torch.sigmoid(f) * c0[0] + torch.sigmoid(i) * torch.tanh(g)
hidden = (torch.sigmoid(o) * torch.tanh(cell)) @ w_hr.t()
layer0 = nn.LSTM(dim, 16, proj_size=6, batch_first=True)
layer0.load_state_dict({k[:-1] + "0": v for k, v in lstm.state_dict().items() if k.endswith("l0")})
print("manual LSTMP step matches:", torch.allclose(layer0(x)[0][:, 0], hidden, atol=1e-6))

asm = fixed_(nn.AdaptiveLogSoftmaxWithLoss(6, vocab, cutoffs=[8, 20], div_value=2.0), phase=1.0)
print(asm.head, asm.tail[1], sep="\n")
targets = torch.tensor([0, 3, 9, 15, 22, 39, 7, 25, 1, 30, 12, 5, 2, 35, 19])
hidden_states = out.reshape(-1, 6)
result = asm(hidden_states, targets)
log_probs = asm.log_prob(hidden_states)
print(f"adaptive loss {result.loss.item():.5f}", tuple(result.output.shape),
      "== -mean(output):", torch.allclose(result.loss, -result.output.mean()))
print("log_prob normalised:", torch.allclose(log_probs.exp().sum(1), torch.ones(15), atol=1e-5),
      "matches output:", torch.allclose(log_probs.gather(1, targets[:, None]).squeeze(1),
                                        result.output, atol=1e-6),
      "predict == argmax:",
      torch.equal(asm.predict(hidden_states), log_probs.argmax(1)))
result.loss.backward()
print("tail grads:", [round(p.grad.norm().item(), 5) for p in asm.tail[0].parameters()])

embedding = nn.Embedding(vocab, dim, max_norm=1.0)
fixed_(embedding, scale=0.9)
before = embedding.weight[[3, 4]].norm(dim=1)
looked_up = embedding(torch.tensor([3, 3, 4]))
print("max_norm renorms rows in place:", [round(v, 4) for v in before.tolist()],
      [round(v, 4) for v in embedding.weight[[3, 4]].norm(dim=1).tolist()],
      "others untouched:", round(embedding.weight[5].norm().item(), 4),
      tuple(looked_up.shape))


def top_k_top_p_filtering(logits, top_k=0, top_p=1.0, filter_value=-float("inf")):
    if top_k > 0:
        kth = torch.topk(logits, top_k)[0][..., -1, None]
        logits = logits.masked_fill(logits < kth, filter_value)
    if top_p < 1.0:
        sorted_logits, sorted_indices = torch.sort(logits, descending=True)
        cumulative_probs = torch.cumsum(F.softmax(sorted_logits, dim=-1), dim=-1)
        sorted_indices_to_remove = cumulative_probs > top_p
        sorted_indices_to_remove[..., 1:] = sorted_indices_to_remove[..., :-1].clone()
        sorted_indices_to_remove[..., 0] = False
        indices_to_remove = sorted_indices_to_remove.scatter(1, sorted_indices,
                                                             sorted_indices_to_remove)
        logits = logits.masked_fill(indices_to_remove, filter_value)
    return logits


def repetition_penalty(logits, previous, penalty=1.3):
    score = torch.gather(logits, 1, previous)
    score = torch.where(score < 0, score * penalty, score / penalty)
    return logits.scatter(1, previous, score)


logits = torch.tensor([[2.0, 1.0, 0.5, -1.0, 0.0, 3.0], [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]])
print("top-k 2:", top_k_top_p_filtering(logits, top_k=2).tolist())
print("top-p 0.8:", top_k_top_p_filtering(logits, top_p=0.8).tolist())
penalised = repetition_penalty(logits, torch.tensor([[5, 3], [0, 0]]))
print("penalised:", [[round(v, 4) for v in row] for row in penalised.tolist()])
filtered = top_k_top_p_filtering(logits / 0.7, top_k=4, top_p=0.9)
probs = F.softmax(filtered, dim=-1)
print("filtered probs:", [[round(v, 5) for v in row] for row in probs.tolist()])
torch.manual_seed(0)
draws = torch.multinomial(probs, 50, replacement=True)
print("draws only from kept tokens:", bool(torch.isfinite(filtered.gather(1, draws)).all()))

g = F.gumbel_softmax(logits, tau=0.5, hard=True)
print("hard gumbel one-hot:", tuple(g.shape), g.sum(1).tolist(),
      sorted(set(g.flatten().tolist())))
soft_logits = logits.clone().requires_grad_()
(F.gumbel_softmax(soft_logits, tau=0.5, hard=True) * torch.arange(6.0)).sum().backward()
print("straight-through gradient flows:", soft_logits.grad is not None,
      torch.allclose(soft_logits.grad.sum(1), torch.zeros(2), atol=1e-5))
relaxed = RelaxedOneHotCategorical(torch.tensor(0.3), logits=logits)
sample = relaxed.rsample()
print("relaxed sample on the simplex:", tuple(sample.shape),
      torch.allclose(sample.sum(1), torch.ones(2)), bool((sample >= 0).all()))
fixed_point = torch.softmax(torch.tensor([[1.0, 2.0, 0.5]]), -1)
dist = RelaxedOneHotCategorical(torch.tensor(0.5), probs=fixed_point)
print(f"relaxed log_prob: {dist.log_prob(torch.tensor([[0.2, 0.7, 0.1]])).item():.5f}")

params = [torch.tensor([3.0, 4.0], requires_grad=True), torch.tensor([[12.0]], requires_grad=True)]
for p in params:
    p.grad = p.detach().clone()
grads = [p.grad for p in params]
total = torch.nn.utils.get_total_norm(grads, norm_type=2.0)
torch.nn.utils.clip_grads_with_norm_(params, max_norm=6.5, total_norm=total)
print(f"total norm {total.item():.4f} clipped:", [p.grad.tolist() for p in params])
torch.nn.utils.clip_grad_value_(params, clip_value=1.0)
print("clipped by value:", [p.grad.tolist() for p in params],
      f"inf norm {torch.nn.utils.get_total_norm(grads, norm_type=float('inf')).item():.4f}")
