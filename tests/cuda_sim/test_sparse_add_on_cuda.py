"""sparse + sparse on cuda as PyTorch's CUDA kernel: entries concatenated (no merge, no
host sync), merged only once they outnumber the tensor's elements (seen on an H200: torch
2.11's (1, 2, 2) sum of two 4-entry coalesced tensors came back with 4 entries). The merged
entries go back in through alias_into_sparse, which flags a tensor coalesced only below two
entries (SparseTensorImpl::set_indices_and_values_unsafe): the H200's torch-cuda reported
that (1, 2, 2) sum as not coalesced."""

import numpy as np

import ember


def _coo(device, indices, values, size):
    return ember.sparse_coo_tensor(indices, values, size, device=device).coalesce()


def test_sum_concatenates_while_entries_fit():
    a = _coo("cuda", [[0, 2], [1, 3]], [1.0, 2.0], (3, 4))
    b = _coo("cuda", [[0, 1], [1, 1]], [10.0, 20.0], (3, 4))
    total = a + b
    assert not total.is_coalesced() and total._nnz() == 4
    np.testing.assert_array_equal(total.to_dense().cpu().numpy(),
                                  (a.to_dense() + b.to_dense()).cpu().numpy())
    on_cpu = a.cpu() + b.cpu()  # the CPU kernel merges coalesced operands
    assert on_cpu.is_coalesced() and on_cpu._nnz() == 3


def test_sum_merges_once_entries_outnumber_elements():
    indices = [[0, 0, 0, 0], [0, 0, 1, 1], [0, 1, 0, 1]]
    a = _coo("cuda", indices, [1.0, 2.0, 3.0, 4.0], (1, 2, 2))
    total = a + a * 3
    assert not total.is_coalesced() and total._nnz() == 4
    np.testing.assert_array_equal(total._values().cpu().numpy(), [4.0, 8.0, 12.0, 16.0])
    np.testing.assert_array_equal(total._indices().cpu().numpy(), indices)


def test_merged_sum_of_one_entry_is_flagged_coalesced():
    """Two entries over one element merge into one: below two entries, coalesced."""
    a = _coo("cuda", [[0], [0]], [2.0], (1, 1))
    total = a + a
    assert total.is_coalesced() and total._nnz() == 1
    np.testing.assert_array_equal(total._values().cpu().numpy(), [4.0])
