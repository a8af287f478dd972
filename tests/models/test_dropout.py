"""ByteDropout: nn.Dropout's job (the same rate to 1/256, the same scaling, the same gradient), with
its mask drawn from numpy's bytes on the CPU, and the same mask again from the same torch seed."""

import pytest
import torch

from sheetdl.models.tabular import ByteDropout, TabularNet


def _mask(p: float, shape=(400, 8, 128), seed: int = 0) -> torch.Tensor:
    torch.manual_seed(seed)
    layer = ByteDropout(p).train()
    return layer(torch.ones(shape))


def test_drops_at_the_rate_asked_to_the_nearest_256th_and_keeps_the_mean():
    out = _mask(0.1)
    dropped = round(0.1 * 256)  # 26 of 256 byte values: a rate of 0.1016
    kept = out != 0
    assert abs(1 - kept.float().mean().item() - dropped / 256) < 0.003  # 409,600 numbers: SE 0.0005
    assert torch.allclose(out[kept], torch.tensor(256 / (256 - dropped)))  # the kept ones scaled up
    assert abs(out.mean().item() - 1.0) < 0.005  # so the mean stays
    # not a pattern repeated along a dimension: each number has its own draw
    assert not torch.equal(kept[0], kept[1]) and not torch.equal(kept[:, 0], kept[:, 1])


def test_the_gradient_goes_through_the_kept_numbers_only_scaled_as_they_were():
    torch.manual_seed(1)
    x = torch.randn(64, 4, 32, requires_grad=True)
    out = ByteDropout(0.25).train()(x)
    out.sum().backward()
    scale = 256 / (256 - 64)
    assert torch.allclose(x.grad, (out != 0).float() * scale)
    assert torch.allclose(out, x.detach() * x.grad)


def test_the_same_torch_seed_gives_the_same_mask_and_another_seed_another():
    assert torch.equal(_mask(0.1, seed=3), _mask(0.1, seed=3))
    assert not torch.equal(_mask(0.1, seed=3), _mask(0.1, seed=4))
    # successive steps draw new masks
    torch.manual_seed(0)
    layer = ByteDropout(0.1).train()
    assert not torch.equal(layer(torch.ones(50, 50)), layer(torch.ones(50, 50)))


def test_evaluating_and_a_rate_of_zero_leave_the_numbers_alone():
    x = torch.randn(10, 3, 16)
    assert ByteDropout(0.1).eval()(x) is x
    assert ByteDropout(0.0).train()(x) is x
    with pytest.raises(ValueError, match="not in"):
        ByteDropout(1.0)


def test_the_network_uses_it_and_its_saved_weights_are_unchanged():
    """Dropout has no weights: the state dict (what a model file holds) has the same keys as with
    nn.Dropout, so model files from before it load as they did."""
    net = TabularNet(n_numeric=3, cardinalities=[4], vocab_sizes=[], n_outputs=2, dropout=0.1, ensemble=4)
    layers = [m for m in net.trunk if isinstance(m, ByteDropout)]
    assert len(layers) == 3 and all(m.p == 0.1 for m in layers)
    reference = torch.nn.Sequential(*[torch.nn.Dropout(0.1) if isinstance(m, ByteDropout) else m for m in net.trunk])
    assert list(reference.state_dict()) == list(net.trunk.state_dict())
