"""Shared pytest set-up.

Hypothesis runs derandomized by default, so CI and every developer run the same examples and a failure
reproduces on the next run; `pytest --hypothesis-profile explore` draws new random examples (a bug found
that way becomes a fixed regression test beside the property)."""

from __future__ import annotations

from hypothesis import settings

settings.register_profile("default", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile("default")
