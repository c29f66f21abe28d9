"""`Weights`: a model's weight arrays by layer name, whose values may be drawn on first read.

What `LayerGraph.weights` and `PruneResult.weights` hold. Its own module (no networkx) so that
sparsesim.sparsity can use it without the graph library.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

import numpy as np


class Weights(MutableMapping[str, np.ndarray]):
    """Layer name -> weight array, whose values may still be pending (a zoo model built under
    sparsesim.models._init.deferred_init): reading a weight (`w[name]`, `.get`, `.values()`, ...) draws them
    first, so no reader ever sees an undrawn array. `shape(name)` and the names need no values; `peek(name)`
    gives the array as it is, for code that calls `ready()` before reading its values (sparsity.prune_layers
    with `ready=`). Pickled or copied, it is a plain dict of drawn weights."""

    def __init__(self, arrays: dict[str, np.ndarray], pending: Callable[[], None] | None = None) -> None:
        self._arrays = arrays
        self._pending = pending

    @property
    def pending(self) -> bool:
        return self._pending is not None

    def ready(self) -> None:
        """Draw the pending values (once)."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending()

    def peek(self, name: str) -> np.ndarray:
        """The array without drawing pending values: its shape and dtype are right, its values are not
        until `ready()` has run."""
        return self._arrays[name]

    def items_pending(self) -> Iterator[tuple[str, np.ndarray]]:
        """(name, array) pairs without drawing pending values (see `peek`)."""
        return iter(self._arrays.items())

    def shape(self, name: str) -> tuple[int, ...]:
        return tuple(self._arrays[name].shape)

    def __getitem__(self, name: str) -> np.ndarray:
        self.ready()
        return self._arrays[name]

    def __setitem__(self, name: str, value: np.ndarray) -> None:
        self._arrays[name] = value

    def __delitem__(self, name: str) -> None:
        del self._arrays[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._arrays)

    def __len__(self) -> int:
        return len(self._arrays)

    def __contains__(self, name: object) -> bool:
        return name in self._arrays

    def __reduce__(self) -> tuple[Any, ...]:
        self.ready()
        return (Weights, (dict(self._arrays),))
