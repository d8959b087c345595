"""A benchmark's fresh process: its last printed line, or one line saying what failed."""
import sys

import pytest

from cobra_lab.bench.children import child_last_line


def test_the_last_printed_line_comes_back():
    assert child_last_line([sys.executable, "-c", "print('first'); print('last')"], "printing") == "last"


def test_a_failing_child_is_one_line_naming_what_failed():
    failing = [sys.executable, "-c", "raise RuntimeError('no device')"]
    with pytest.raises(SystemExit, match=r"^timing 'x' failed: RuntimeError: no device$"):
        child_last_line(failing, "timing 'x'")
