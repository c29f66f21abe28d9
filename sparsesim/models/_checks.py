"""Argument checks shared by the zoo factories.

Factories are usually called with values from workload.yaml, so a bad value is a user error: it is raised
as a one-line `ModelError` naming the `model.*` field, not as a shape error deep inside torch.
"""

from __future__ import annotations

from sparsesim.errors import ModelError


def check_positive(field: str, value: int, model: str) -> int:
    """`value` must be a positive int; `field` is the workload path (e.g. "model.num_classes")."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ModelError(f"{model} needs a positive integer (got {value!r})", path=field)
    return value


def check_image_size(input_size: int, model: str, *, minimum: int = 8, multiple: int = 1) -> int:
    """Image side in pixels: at least `minimum` (strides must leave a pixel), a multiple of `multiple`."""
    check_positive("model.input_size", input_size, model)
    if input_size < minimum:
        raise ModelError(
            f"{model} needs at least {minimum} pixels (got {input_size})", path="model.input_size"
        )
    if input_size % multiple:
        raise ModelError(
            f"{model} needs a multiple of {multiple} pixels "
            f"(got {input_size}; e.g. use {input_size // multiple * multiple or multiple})",
            path="model.input_size",
        )
    return input_size
