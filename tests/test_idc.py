"""IDC: the multi-formation decode, per-cell statistics against a loop, decoded evaluation, FairDD's reduction."""
import pytest
import torch
import torch.nn.functional as F
from engine_fixtures import loop_over_cells, random_grouped_data, smoke_config

from cobra_lab.config import resolve
from cobra_lab.errors import UserError
from cobra_lab.loops import distill
from cobra_lab.methods import METHODS
from cobra_lab.methods.idc import decode_zoom, idc_outer_loop
from cobra_lab.sampling import CellSampler
from cobra_lab.synset import decoded


def _method(**distill_options):
    method = METHODS.build("idc", smoke_config("idc", "cobra", **distill_options), (3, 16, 16), 4)
    net = method.new_net(torch.Generator().manual_seed(0))
    method.prepare(net, None, None, torch.Generator())
    return method, net


def test_decode_cuts_each_image_into_upsampled_pieces_row_by_row():
    x = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    out = decode_zoom(x, 2)
    assert out.shape == (8, 3, 8, 8)
    quadrants = [x[:, :, :4, :4], x[:, :, :4, 4:], x[:, :, 4:, :4], x[:, :, 4:, 4:]]
    for piece, quadrant in enumerate(quadrants):
        expected = F.interpolate(quadrant, size=(8, 8), mode="bilinear", align_corners=True)
        torch.testing.assert_close(out[piece::4], expected)  # image i's pieces are rows 4i .. 4i + 3
    # corners aligned: a piece's corner pixels are the quadrant's own
    assert torch.equal(out[1, :, 0, 0], x[0, :, 0, 4]) and torch.equal(out[3, :, -1, -1], x[0, :, -1, -1])


def test_decode_keeps_constants_pads_odd_sizes_and_factor_one_is_the_identity():
    constant = torch.full((1, 3, 9, 9), 0.7)
    out = decode_zoom(constant, 3)
    assert out.shape == (9, 3, 9, 9) and torch.allclose(out, torch.full_like(out, 0.7))
    odd = decode_zoom(constant, 2)  # 9 px: padded with zeros to 10, pieces of 5
    assert odd.shape == (4, 3, 9, 9) and torch.allclose(odd[0], torch.full_like(odd[0], 0.7))
    assert odd[3, :, -1, -1].abs().max() == 0  # the bottom-right piece ends in padding
    x = torch.randn(2, 3, 8, 8)
    assert decode_zoom(x, 1) is x


def test_a_factor_that_leaves_pieces_under_two_pixels_is_a_one_line_error():
    with pytest.raises(UserError, match=r"distill.factor=5 cuts a 8 px image .* use distill.factor <= 4"):
        METHODS.build("idc", smoke_config("idc", "cobra", factor=5), (3, 8, 8), 4)


def test_real_statistics_of_every_cell_match_aloop_over_cells():
    method, net = _method(real_chunk=5)  # several chunks
    generator = torch.Generator().manual_seed(3)
    y, a = torch.arange(80) % 4, torch.randint(0, 3, (80,), generator=generator)
    x = torch.randn(80, 3, 16, 16, generator=generator)
    batch = CellSampler(y, a, 4, 3, 12, "stratified").sample(generator)
    stats = method.real_statistics(net, x[batch.index], batch, lambda images: images)  # [12, D]
    expected = loop_over_cells(net, x[batch.index], batch.cell, batch.cell // 3, 12)
    torch.testing.assert_close(stats, expected, rtol=1e-4, atol=1e-6)


def test_synthetic_statistics_are_each_classs_gradient_on_its_decoded_images():
    method, net = _method()
    x_syn = torch.randn(8, 3, 16, 16, generator=torch.Generator().manual_seed(4), requires_grad=True)
    stats = method.synthetic_statistics(net, x_syn, lambda images: images)  # [4, D]
    pieces = decode_zoom(x_syn, 2)  # [32, ...]: 8 per class
    cell = torch.arange(4).repeat_interleave(8)
    expected = loop_over_cells(net, pieces, cell, cell, 4, create_graph=True)
    torch.testing.assert_close(stats, expected, rtol=1e-4, atol=1e-6)
    grad, = torch.autograd.grad(method.distance(stats, expected.detach().flip(0)).sum(), x_syn)
    assert grad.abs().sum() > 0


def test_loops_follow_the_ipc_and_the_net_is_trained_only_when_asked():
    assert [idc_outer_loop(ipc) for ipc in (1, 10, 50, 100)] == [1, 10, 30, 30]
    method, net = _method()
    assert method.rounds() == 2 and method.inner == 0
    before = [p.clone() for p in net.parameters()]
    x_syn, y_syn = torch.randn(8, 3, 16, 16), torch.arange(4).repeat_interleave(2)
    method.between_rounds(net, x_syn, y_syn, torch.Generator().manual_seed(0))
    assert all(torch.equal(p, q) for p, q in zip(before, net.parameters()))
    trained, net = _method(inner_loop=1)
    trained.between_rounds(net, x_syn, y_syn, torch.Generator().manual_seed(0))
    assert not all(torch.equal(p, q) for p, q in zip(before, net.parameters()))


def test_evaluation_sees_the_decoded_set():
    data = random_grouped_data()
    config = smoke_config("idc", "cobra")
    synset = distill(data, config, progress=False)
    assert synset.x.shape == (8, 3, 16, 16)  # stored: ipc per class
    shown = decoded(synset, config, data.num_classes)
    assert shown.x.shape == (32, 3, 16, 16) and torch.equal(shown.x, decode_zoom(synset.x, 2))
    assert torch.equal(shown.y, torch.arange(4).repeat_interleave(8))
    assert torch.equal(shown.init_group, synset.init_group.repeat_interleave(4))
    dc_config = smoke_config("dc", "cobra")
    assert decoded(synset, dc_config, data.num_classes) is synset  # other methods train on the stored set


def test_the_preset_averages_fairdds_per_group_distances():
    config = resolve("cdigits_bg", "idc", "fairdd", 2, profile="smoke", preset="idc_official")
    assert config["distill"]["fairdd_reduction"] == "mean"
    assert resolve("cdigits_bg", "idc", "fairdd", 2, profile="smoke")["distill"]["fairdd_reduction"] == "sum"
    data = random_grouped_data()
    summed = distill(data, smoke_config("idc", "fairdd", outer_loop=1), progress=False)
    averaged = distill(data, smoke_config("idc", "fairdd", outer_loop=1, fairdd_reduction="mean"), progress=False)
    # the first loss comes before any step; three groups in every class: the mean is the sum over three
    assert averaged.losses[0] == pytest.approx(summed.losses[0] / 3, rel=1e-5)


def test_the_df_mode_runs_with_idc():
    data = random_grouped_data()
    synset = distill(data, smoke_config("idc", "df"), progress=False)
    assert synset.x.shape == (8, 3, 16, 16) and not torch.allclose(synset.x, data.train.x[synset.init_index])


def test_a_stored_run_evaluates_on_the_decoded_set_and_stores_the_compact_one(tmp_path, monkeypatch):
    import cobra_lab.runner as runner
    from cobra_lab.store import RunDir

    seen = {}
    evaluate = runner.evaluate

    def recording_evaluate(x, y, *args, **kwargs):
        seen["x"], seen["y"] = x.shape, y.tolist()
        return evaluate(x, y, *args, **kwargs)

    monkeypatch.setattr(runner, "evaluate", recording_evaluate)
    config = resolve("cdigits_bg", "idc", "cobra", 2, profile="smoke")
    runner.run_one(config, root=tmp_path, progress=False)
    assert seen["x"] == (10 * 2 * 4, 3, 32, 32) and seen["y"] == torch.arange(10).repeat_interleave(8).tolist()
    assert RunDir(config, tmp_path).load_synset()["x"].shape == (10 * 2, 3, 32, 32)
