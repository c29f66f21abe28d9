"""User-facing errors.

Every error a user can cause (bad YAML, unknown model, N > M, a corrupt ONNX file, ...) is raised as a
`SparsesimError` whose message is one line naming the offending field or file and what is allowed.
The CLI prints `error: <message>` and exits with `exit_code`; it never shows a traceback for these.
"""

from __future__ import annotations


class SparsesimError(Exception):
    """An error caused by the user's input. `str(err)` is a single line fit for the console."""

    exit_code: int = 2

    def __init__(self, message: str, *, path: str | None = None) -> None:
        message = " ".join(str(message).split())  # one line, whatever the source message looked like
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)


class SpecError(SparsesimError):
    """The workload file is malformed or names something that does not exist."""


class ModelError(SparsesimError):
    """A model cannot be built, loaded or traced."""


class SparsityError(SparsesimError):
    """A sparsity rule cannot be applied to a tensor (e.g. a shape that does not divide)."""


class ToolError(SparsesimError):
    """An external tool (Icarus, Verilator, Yosys, Vivado, SCALE-Sim) is missing or failed."""

    exit_code = 3
