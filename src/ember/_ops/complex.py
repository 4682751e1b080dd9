"""ops family: complex."""

__all__: list = []

TENSOR_METHODS: dict = {}
