"""Fixtures of the app tier."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry


@pytest.fixture
def registry() -> CollectorRegistry:
    """A registry of the test's own, so the counters of one test never leak into another's."""
    return CollectorRegistry()
