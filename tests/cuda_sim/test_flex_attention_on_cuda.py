"""flex_attention on cuda (real CuPy on a GPU, else the NumPy-backed fake): block masks
built on the device, the same values and gradients as on the cpu."""

import numpy as np
import torch

import ember
from ember.nn.attention import flex_attention as EF


def _causal(b, h, q_idx, kv_idx):
    return q_idx >= kv_idx


def test_flex_attention_on_cuda_matches_cpu():
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((1, 2, 8, 4)) for _ in range(3)] + [rng.standard_normal(15)]
    results = []
    for device in ("cpu", "cuda"):
        q, k, v, table = [ember.tensor(a, device=device, requires_grad=True) for a in arrays]
        mask = EF.create_block_mask(_causal, None, None, 8, 8, device=device, BLOCK_SIZE=4)
        assert mask.kv_num_blocks.device.type == device
        assert "██" in str(mask) and mask.to(device).kv_indices.device.type == device
        out, aux = EF.flex_attention(
            q, k, v, block_mask=mask, score_mod=lambda s, b, h, qi, kv: s + table[qi - kv + 7],
            return_aux=EF.AuxRequest(lse=True))
        (out.sum() + aux.lse.sum()).backward()
        results.append([t.detach().cpu().numpy() for t in (out, aux.lse, q.grad, table.grad)])
    for on_cpu, on_cuda in zip(*results):
        torch.testing.assert_close(torch.from_numpy(on_cuda), torch.from_numpy(on_cpu))
