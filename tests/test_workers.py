"""`make test` runs pytest in two xdist workers (tests/conftest.py): each keeps to one torch/BLAS/polars
thread, and a test's xdist_group reaches the scheduler."""

from __future__ import annotations

import os

import pytest

in_workers = pytest.mark.skipif(int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) < 2,
                                reason="one process (pytest -n 0): nothing is shared")


@in_workers
def test_worker__one_torch_and_blas_thread():
    import torch
    from threadpoolctl import threadpool_info

    from gaitsae.runtime import SMALL_STEP, choose_threads

    assert os.environ["OMP_NUM_THREADS"] == "1" and torch.get_num_threads() == 1
    assert [p["num_threads"] for p in threadpool_info() if p["num_threads"] != 1] == []
    assert choose_threads(0, 256, SMALL_STEP, 1, torch.device("cpu")) == 1  # a large step too


@in_workers
def test_worker__one_thread_for_the_csv_reader():
    import polars

    assert polars.thread_pool_size() == 1


@in_workers
@pytest.mark.xdist_group("workers")
def test_worker__the_group_is_in_the_node_id(request):
    if not getattr(request.config.option, "loadgroup", False):  # set in each worker by xdist
        pytest.skip("not --dist loadgroup")
    assert request.node.nodeid.endswith("@workers")
