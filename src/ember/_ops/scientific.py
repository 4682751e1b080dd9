"""ops family: scientific."""

__all__: list = []

TENSOR_METHODS: dict = {}
