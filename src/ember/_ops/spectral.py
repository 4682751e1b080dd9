"""ops family: spectral."""

__all__: list = []

TENSOR_METHODS: dict = {}
