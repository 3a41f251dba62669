# SPDX-License-Identifier: BSD-2-Clause
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from usdt_testlib import Recorder  # noqa: E402


@pytest.fixture
def rec():
    return Recorder()
