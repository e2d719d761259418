"""The LIF scan, the leaky readout, the spike generators and the surrogates."""

import pytest
import snntorch as snn
import torch
from snntorch import surrogate as snn_surrogate

from sb3_spiking.snn import LIF, LeakyReadout, lif_reference, lif_scan, resolve_surrogate
from sb3_spiking.snn.encoders import regular_spikes
from sb3_spiking.snn.surrogates import SURROGATES


@pytest.mark.parametrize("name", sorted(SURROGATES))
@pytest.mark.parametrize("reset", ["subtract", "zero"])
@pytest.mark.parametrize("detach_reset", [True, False])
@pytest.mark.parametrize("constant", [False, True])
def test_scan_matches_autograd_reference(name, reset, detach_reset, constant):
    """The hand-written backward equals plain autograd through snnTorch's surrogate."""
    torch.manual_seed(0)
    steps, batch, n = 6, 4, 8
    cur = torch.randn(batch, n) if constant else torch.randn(steps, batch, n)
    cur = cur * 1.2
    if name == "sigmoid":  # snnTorch's sigmoid backward overflows to NaN below mem - thr = -3.5
        cur = cur.clamp(-0.5, 2.0)
    cur.requires_grad_()
    beta = (torch.rand(n) * 0.8 + 0.1).requires_grad_()
    thr = (torch.rand(n) * 0.5 + 0.5).requires_grad_()
    fn = resolve_surrogate(name)
    out = lif_scan(cur, beta, thr, steps, fn, constant, reset, detach_reset)
    ref = lif_reference(cur, beta, thr, steps, fn, constant, reset, detach_reset)
    assert torch.equal(out, ref)
    w = torch.randn_like(out)
    grads = torch.autograd.grad((out * w).sum(), [cur, beta, thr])
    grads_ref = torch.autograd.grad((ref * w).sum(), [cur, beta, thr])
    for g, g_ref in zip(grads, grads_ref, strict=False):
        torch.testing.assert_close(g, g_ref, rtol=1e-4, atol=1e-5)


def test_custom_surrogate_callable_uses_snntorch_gradient():
    fn = resolve_surrogate(snn_surrogate.atan(alpha=3.0))
    assert fn.name is None
    cur = torch.randn(5, 3, 4, requires_grad=True)
    beta, thr = torch.full((4,), 0.7), torch.full((4,), 1.0)
    out = lif_scan(cur, beta, thr, 5, fn)
    ref = lif_reference(cur, beta, thr, 5, fn)
    (g,) = torch.autograd.grad(out.sum(), cur)
    (g_ref,) = torch.autograd.grad(ref.sum(), cur)
    torch.testing.assert_close(g, g_ref)


@pytest.mark.parametrize("name", sorted(SURROGATES))
def test_fused_derivative_equals_snntorch(name):
    """Our fused derivatives are snnTorch's, measured through snnTorch's own autograd."""
    fn = resolve_surrogate(name)
    x = torch.linspace(-3, 3, 601).requires_grad_()
    (expected,) = torch.autograd.grad(fn.fn(x).sum(), x)
    torch.testing.assert_close(fn.derivative_(x.detach().clone()), expected, rtol=1e-5, atol=1e-6)
    g = torch.randn(601)
    torch.testing.assert_close(fn.grad_(x.detach().clone(), g), expected * g, rtol=1e-5, atol=1e-6)


def test_atan_grad_extremes_equal_snntorch():
    """The atan gradient (the default surrogate) at overflowing and non-finite inputs equals snnTorch's."""
    fn = resolve_surrogate("atan")
    x = torch.tensor([-1e30, -1e20, -1e-30, 0.0, 1e-30, 1e20, 1e30, float("inf"), float("nan")]).requires_grad_()
    g = torch.tensor([1.0, -2.0, 3.0, 0.5, -1.0, 2.0, -3.0, 1.0, 1.0])
    (expected,) = torch.autograd.grad(fn.fn(x), x, g)
    torch.testing.assert_close(fn.grad_(x.detach().clone(), g), expected, equal_nan=True)


def test_sigmoid_derivative_finite_where_snntorch_overflows():
    fn = resolve_surrogate("sigmoid")
    x = torch.tensor([-10.0, -3.0, 0.0, 3.0]).requires_grad_()
    (snn_grad,) = torch.autograd.grad(fn.fn(x).sum(), x)
    ours = fn.derivative_(x.detach().clone())
    assert torch.isnan(snn_grad[0]) and torch.isfinite(ours).all()
    torch.testing.assert_close(ours[1:], snn_grad[1:])


@pytest.mark.parametrize("reset", ["subtract", "zero"])
def test_lif_matches_snntorch_leaky(reset):
    """Same semantics as snn.Leaky(reset_delay=False), stepped with an explicit membrane."""
    torch.manual_seed(1)
    cur = torch.randn(8, 5, 16) * 0.8
    leaky = snn.Leaky(beta=0.6, threshold=1.0, reset_mechanism=reset, reset_delay=False)
    mem, out = torch.zeros(5, 16), []
    for t in range(8):
        spk, mem = leaky(cur[t], mem)
        out.append(spk)
    assert torch.equal(LIF(16, beta=0.6, threshold=1.0, reset_mechanism=reset)(cur), torch.stack(out))


def test_lif_step_equals_forward_and_keeps_no_state():
    torch.manual_seed(2)
    lif = LIF(7, beta=0.8, threshold=0.9)
    cur = torch.randn(6, 3, 7)
    mem, steps = None, []
    for t in range(6):
        spk, mem = lif.step(cur[t], mem)
        steps.append(spk)
    first = lif(cur)
    assert torch.equal(first, torch.stack(steps))
    lif(torch.randn(6, 9, 7) * 5)  # another batch size in between must not matter
    assert torch.equal(lif(cur), first)


def test_constant_current_equals_expanded_sequence():
    lif = LIF(10, beta=0.5)
    cur = torch.randn(4, 10) * 2
    assert torch.equal(lif(cur, num_steps=6), lif(cur.expand(6, 4, 10)))


def test_learnable_neuron_parameters_get_gradients():
    lif = LIF(5, learn_beta=True, learn_threshold=True)
    assert isinstance(lif.beta, torch.nn.Parameter) and isinstance(lif.threshold, torch.nn.Parameter)
    out = lif(torch.randn(5, 8, 5) * 2)
    out.sum().backward()
    assert lif.beta.grad is not None and lif.beta.grad.abs().sum() > 0
    assert lif.threshold.grad is not None and lif.threshold.grad.abs().sum() > 0
    fixed = LIF(5)
    assert "beta" in dict(fixed.named_buffers()) and not list(fixed.parameters())


@pytest.mark.parametrize("readout", ["max", "mean", "last"])
@pytest.mark.parametrize("learn_beta", [False, True])
def test_leaky_readout_matches_recurrence(readout, learn_beta):
    torch.manual_seed(3)
    steps, batch, n = 7, 4, 3
    li = LeakyReadout(n, steps, beta=0.6, learn_beta=learn_beta, readout=readout)
    if learn_beta:
        with torch.no_grad():
            li.beta.copy_(torch.tensor([0.3, 0.6, 0.9]))
    cur = torch.randn(steps, batch, n)
    mem, trace = torch.zeros(batch, n), []
    for t in range(steps):
        mem = li.beta.detach() * mem + cur[t]
        trace.append(mem)
    trace = torch.stack(trace)
    expected = {"max": trace.amax(0), "mean": trace.mean(0), "last": trace[-1]}[readout]
    torch.testing.assert_close(li(cur), expected)
    torch.testing.assert_close(li.trace(cur), trace)


def test_leaky_readout_cache_follows_load_state_dict():
    li = LeakyReadout(2, 4, beta=0.5)
    cur = torch.ones(4, 1, 2)
    before = li(cur)
    other = LeakyReadout(2, 4, beta=0.9)
    li.load_state_dict(other.state_dict())
    assert not torch.equal(li(cur), before)
    torch.testing.assert_close(li(cur), other(cur))


@pytest.mark.parametrize("steps", [1, 5, 64])
def test_regular_spikes_equal_integrate_and_fire(steps):
    rate = torch.rand(32, 12)
    neuron = LIF(12, beta=1.0, threshold=0.999)
    assert torch.equal(regular_spikes(rate, steps), neuron(rate, num_steps=steps))


def test_regular_spikes_pass_gradient_straight_through():
    rate = torch.rand(3, 4, requires_grad=True)
    g = torch.randn(5, 3, 4)
    (grad,) = torch.autograd.grad((regular_spikes(rate, 5) * g).sum(), rate)
    torch.testing.assert_close(grad, g.sum(0))


def test_surrogate_errors():
    with pytest.raises(ValueError, match="Unknown surrogate='nope'"):
        resolve_surrogate("nope")
    with pytest.raises(ValueError, match="broken in snnTorch"):
        resolve_surrogate("triangular")
    with pytest.raises(TypeError, match="surrogate must be"):
        resolve_surrogate(3.0)
    with pytest.raises(ValueError, match="Heaviside"):
        resolve_surrogate(torch.sigmoid)
    with pytest.raises(ValueError, match="reset_mechanism"):
        LIF(3, reset_mechanism="none")


def test_surrogate_pickles_by_name():
    import pickle

    fn = pickle.loads(pickle.dumps(resolve_surrogate("fast_sigmoid")))
    assert fn.name == "fast_sigmoid" and fn.params == {"slope": 25.0}
