"""Shared fixtures: one random-weight MODNet per test session."""

from __future__ import annotations

import pytest

from modnet.architecture import MODNet, build_random_modnet


@pytest.fixture(scope="session")
def random_modnet() -> MODNet:
    """MODNet with random (seeded) weights, in eval mode. Do not modify it in a test."""
    return build_random_modnet(seed=0)
