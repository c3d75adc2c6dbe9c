"""Images the format tests share: an asymmetric depth image, 16-bit counts, and the refusal check."""

from __future__ import annotations

import re

import numpy as np
import pytest

from depth_node.core.formats import (
    FormatError,
)

DEPTH = np.array([[1.5, 2.25, 3.0, 4.125], [5.5, 6.0, 7.75, 8.5], [9.0, 10.5, 11.25, 12.0]], dtype=np.float32)
"""3x4 and asymmetric: a flipped or transposed read cannot pass."""


def refused(call, message: str) -> str:
    """The whole FormatError text of ``call()``, checked against ``message`` (a regular expression, to its end)."""
    with pytest.raises(FormatError) as raised:
        call()
    assert re.search(message + "$", str(raised.value)), str(raised.value)
    return str(raised.value)


COUNTS = np.array([[0, 1, 1000, 65535], [1234, 2, 0, 40000], [7, 65534, 300, 5]], dtype=np.uint16)
