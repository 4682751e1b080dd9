"""ops family: combine."""

__all__: list = []

TENSOR_METHODS: dict = {}
