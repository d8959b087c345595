"""Worker threads and the caller's thread count while they work."""
import pytest
import torch

from cobra_lab.accel.threads import one_thread, single_threaded_pool


def test_pool_threads_run_torch_with_one_thread_and_the_pool_is_kept():
    pool = single_threaded_pool(2)
    assert list(pool.map(lambda _: torch.get_num_threads(), range(4))) == [1, 1, 1, 1]
    assert single_threaded_pool(2) is pool


def test_one_thread_restores_the_count_even_after_an_error():
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with pytest.raises(RuntimeError), one_thread():
            assert torch.get_num_threads() == 1
            raise RuntimeError("inside")
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(previous)
