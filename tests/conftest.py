"""Fixtures shared by the suite's test files (the checker's own fixtures are in the plugin)."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(scope="module")
def one_intra_op_thread():
    """The models counted in the flops tests (and the seed re-enactments' networks) are tiny:
    torch's intra-op thread pool only adds overhead, and with CI's two xdist workers on two
    cores it oversubscribes them (the fused encoder-layer kernel of a 3-token layer took 80 ms
    with 2 threads against 6 ms with 1)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
