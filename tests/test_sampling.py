"""Real batches per (class, group) cell."""
import torch

from cobra_lab.sampling import CellSampler, stratified_quota


def test_stratified_quota_spreads_shortfall():
    assert stratified_quota(torch.tensor([100, 2, 50, 0]), 30).tolist() == [14, 2, 14, 0]
    assert stratified_quota(torch.tensor([3, 4]), 30).tolist() == [3, 4]
    assert int(stratified_quota(torch.tensor([9, 9, 9]), 10).sum()) == 10


def _skewed_labels(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Classes and groups of n images over 3 classes and 3 groups, 90 % of class k (plus a few) in group k."""
    generator = torch.Generator().manual_seed(0)
    y = torch.randint(0, 3, (n,), generator=generator)
    return y, torch.where(torch.rand(n, generator=generator) < 0.9, y, torch.randint(0, 3, (n,), generator=generator))


def test_every_mode_sees_the_same_budget_and_cells_are_right():
    generator = torch.Generator().manual_seed(0)
    y, a = _skewed_labels(500)
    stratified = CellSampler(y, a, 3, 3, 30, sampling="stratified")
    pooled = CellSampler(y, a, 3, 3, 30, sampling="pooled")
    first, second = stratified.sample(generator), pooled.sample(generator)
    assert first.index.numel() == second.index.numel() == 90
    assert first.index.unique().numel() == 90  # without replacement
    torch.testing.assert_close(first.cell, y[first.index] * 3 + a[first.index])
    torch.testing.assert_close(second.cell, y[second.index])
    assert (torch.bincount(first.cell, minlength=9).view(3, 3) == first.counts).all()
    assert first.counts.min() > 0 and second.counts.shape == (3, 1)


def test_samples_change_between_steps_and_repeat_with_the_seed():
    y = torch.arange(200) % 2
    a = torch.arange(200) % 4
    sampler = CellSampler(y, a, 2, 4, 20, sampling="stratified")
    one = sampler.sample(torch.Generator().manual_seed(3)).index
    two = sampler.sample(torch.Generator().manual_seed(3)).index
    generator = torch.Generator().manual_seed(3)
    sampler.sample(generator)
    three = sampler.sample(generator).index
    assert torch.equal(one, two) and not torch.equal(one, three)


def test_grouped_sampling_draws_like_pooled_but_keeps_group_cells():
    y, a = _skewed_labels(600)
    grouped = CellSampler(y, a, 3, 3, 30, sampling="grouped")
    pooled = CellSampler(y, a, 3, 3, 30, sampling="pooled")
    first = grouped.sample(torch.Generator().manual_seed(4))
    torch.testing.assert_close(first.index, pooled.sample(torch.Generator().manual_seed(4)).index)  # same draw
    torch.testing.assert_close(first.cell, y[first.index] * 3 + a[first.index])
    assert (torch.bincount(first.cell, minlength=9).view(3, 3) == first.counts).all()
    assert (first.counts.sum(1) == 30).all() and (grouped.population == torch.bincount(y * 3 + a).view(3, 3)).all()
    # the group mix follows the class's: the majority group dominates, unlike a stratified batch
    assert (first.counts.argmax(1) == torch.arange(3)).all()
    assert not torch.equal(first.counts, grouped.sample(torch.Generator().manual_seed(5)).counts)


def test_unknown_sampling_is_a_user_error():
    import pytest

    from cobra_lab.errors import UserError
    with pytest.raises(UserError, match="sampling"):
        CellSampler(torch.zeros(4, dtype=torch.long), torch.zeros(4, dtype=torch.long), 1, 1, 2, sampling="strat")


def test_a_step_keeps_each_units_first_images_of_one_random_order():
    y, a = _skewed_labels(300)
    for sampling in ("stratified", "pooled", "grouped"):
        sampler = CellSampler(y, a, 3, 3, 20, sampling=sampling)
        batch = sampler.sample(torch.Generator().manual_seed(4))
        unit = y * 3 + a if sampling == "stratified" else y  # [N]
        keys = unit + torch.rand(300, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
        order = torch.argsort(keys)  # the same random order, unit by unit
        kept_per_unit = torch.bincount(unit[batch.index], minlength=int(unit.max()) + 1)
        expected = torch.cat([order[unit[order] == u][:kept_per_unit[u]] for u in range(kept_per_unit.numel())])
        assert torch.equal(batch.index, expected), sampling  # each unit's first images, in the sorted order
