"""Every method and mode distils at smoke size exactly the set the engine distilled before its loops were
restructured (``engine_golden.py`` says how those sets were saved)."""
import pytest
import torch
from engine_golden import CASES, EXTRACTOR_CASE, GOLDEN_FILE, distilled

GOLDEN = torch.load(GOLDEN_FILE, weights_only=True)


@pytest.mark.parametrize("case", [*CASES, EXTRACTOR_CASE], ids="/".join)
def test_the_set_is_bitwise_the_saved_one(case):
    ours, saved = distilled(*case), GOLDEN["/".join(case)]
    assert torch.equal(ours["x"], saved["x"]) and torch.equal(ours["losses"], saved["losses"])
