import numpy as np
import pytest
import safetensors.torch as st
import torch

import ember
from ember.utils import safetensors as es
from oracle import as_numpy

DTYPES = ["float32", "float64", "float16", "bfloat16", "int64", "int32", "int8", "uint8", "bool"]


@pytest.mark.parametrize("dtype", DTYPES)
def test_roundtrip_with_torch(tmp_path, dtype):
    t = (torch.randn(3, 4) * 10).to(getattr(torch, dtype))
    st.save_file({"w": t, "b": t[0].clone()}, tmp_path / "t.safetensors")
    loaded = es.load_file(tmp_path / "t.safetensors")
    assert str(loaded["w"].dtype) == str(t.dtype)
    np.testing.assert_array_equal(as_numpy(loaded["w"]), as_numpy(t))
    es.save_file(loaded, tmp_path / "e.safetensors", metadata={"format": "pt"})
    back = st.load_file(tmp_path / "e.safetensors")
    assert torch.equal(back["w"], t) and torch.equal(back["b"], t[0])


def test_bytes_api_and_errors():
    data = es.save({"x": ember.ones(2, 2)})
    assert es.load(data)["x"].tolist() == [[1.0, 1.0], [1.0, 1.0]]
    with pytest.raises(ValueError):
        es.save({"x": [1, 2]})
    with pytest.raises(Exception):
        es.load(b"not a safetensors file")
