"""Fixtures of the unit tier (its helpers are in tests/helpers.py)."""

from __future__ import annotations

import pytest

from bridge.core.events import Kind


@pytest.fixture
def all_topics() -> dict[Kind, str]:
    """A topic for every kind, validation included, so any event can be mapped."""
    return {kind: f"t.{kind}" for kind in Kind}
