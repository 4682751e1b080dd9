"""Pipelining's error types, at PyTorch's module path."""

__all__ = ["PipeliningMetadataError", "validate_tensors_metadata"]


class PipeliningMetadataError(RuntimeError):
    """Raised on metadata mismatches during pipeline communication."""


def validate_tensors_metadata(desc: str, expected: list, actual) -> None:
    """Raise when ``actual`` tensors differ in count, shape or dtype from ``expected``
    ``(shape, dtype)`` pairs; messages as PyTorch's ``validate_tensors_metadata``."""
    import ember

    if len(expected) != len(actual):
        raise PipeliningMetadataError(f"{desc}: expected {len(expected)} tensors, "
                                      f"got {len(actual)}")
    for index, ((shape, dtype), tensor) in enumerate(zip(expected, actual)):
        diffs = []
        if tuple(tensor.shape) != tuple(shape):
            diffs.append(f"shape mismatch: {ember.Size(shape)!r} vs {tensor.shape!r}")
        if tensor.dtype != dtype:
            diffs.append(f"dtype mismatch: {dtype} vs {tensor.dtype}")
        if diffs:
            raise PipeliningMetadataError(f"{desc}[{index}]: {'; '.join(diffs)}")
