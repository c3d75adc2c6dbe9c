"""Fixtures the unit tests of several rooms share."""

from __future__ import annotations

import warnings

import pytest


@pytest.fixture()
def warnings_are_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield
