"""DSA: one shared draw per step transforms the real and the synthetic batch alike."""
import pytest
import torch

from cobra_lab.augment import _APPLIERS, DSA
from cobra_lab.errors import UserError


@pytest.mark.parametrize("op", sorted(_APPLIERS))
def test_each_op_keeps_shape_and_is_differentiable(op):
    dsa = DSA(op)
    x = torch.randn(4, 3, 32, 32, requires_grad=True)
    out = dsa.apply(x, dsa.draw(torch.Generator().manual_seed(0), n=4, size=32))
    assert out.shape == x.shape
    out.sum().backward()
    assert x.grad is not None


@pytest.mark.parametrize("seed", range(6))
def test_shared_draw_applies_the_same_transform_to_real_and_synthetic(seed):
    dsa = DSA()
    generator = torch.Generator().manual_seed(seed)
    real = torch.randn(7, 3, 32, 32, generator=generator)
    synthetic = torch.cat([real[2:3], torch.randn(3, 3, 32, 32, generator=generator)])  # shares one image
    draw = dsa.draw(generator, n=1, size=32)
    real_out, syn_out = dsa.apply(real, draw), dsa.apply(synthetic, draw)
    torch.testing.assert_close(real_out[2], syn_out[0])


def test_shared_draw_changes_images_and_per_sample_draws_differ():
    generator = torch.Generator().manual_seed(0)
    image = torch.randn(1, 3, 32, 32, generator=generator).expand(8, 3, 32, 32).contiguous()
    dsa = DSA("color_scale_rotate")
    shared = dsa.apply(image, dsa.draw(generator, n=1, size=32))
    assert torch.allclose(shared[0], shared[1]) and not torch.allclose(shared[0], image[0])
    per_sample = dsa(image, generator)
    assert not torch.allclose(per_sample[0], per_sample[1])


def test_draws_are_reproducible_from_the_seed():
    x = torch.randn(5, 3, 32, 32)
    first = DSA()(x, torch.Generator().manual_seed(3))
    second = DSA()(x, torch.Generator().manual_seed(3))
    torch.testing.assert_close(first, second)


def test_crop_shifts_with_zero_fill_and_cutout_zeroes_a_square():
    x = torch.arange(1, 1 + 32 * 32, dtype=torch.float32).view(1, 1, 32, 32)
    dsa = DSA("crop")
    from cobra_lab.augment import Draw
    shifted = dsa.apply(x, Draw("crop", {"shift": torch.tensor([[2, -1]])}))
    torch.testing.assert_close(shifted[0, 0, :30, 1:], x[0, 0, 2:, :31])
    assert (shifted[0, 0, 30:] == 0).all() and (shifted[0, 0, :, 0] == 0).all()
    cut = DSA("cutout").apply(x, Draw("cutout", {"offset": torch.tensor([[10, 20]])}))
    assert (cut[0, 0, 2:18, 12:28] == 0).all() and int((cut == 0).sum()) == 16 * 16


def test_unknown_op_is_a_user_error():
    with pytest.raises(UserError, match="unknown DSA op 'blur'"):
        DSA("color_blur")
