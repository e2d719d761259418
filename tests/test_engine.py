"""Encoders, decoders, the spiking MLP and the option validation (no SB3 involved)."""

import itertools
import math

import numpy as np
import pytest
import torch

from sb3_spiking.snn import DECODERS, ENCODERS, SpikingMLP, SpikingOptions, make_decoder, make_encoder
from sb3_spiking.snn.encoders import PopulationEncoder, RateEncoder

LOW, HIGH = np.array([-1.0, -1.0, -8.0]), np.array([1.0, 1.0, 8.0])


@pytest.mark.parametrize("encoder,decoder", list(itertools.product(ENCODERS, DECODERS)))
def test_every_combination_builds_and_runs(encoder, decoder):
    net = SpikingMLP(3, 2, [32, 16], SpikingOptions(num_steps=4, encoder=encoder, decoder=decoder), LOW, HIGH)
    x = torch.rand(7, 3) * 2 - 1
    out = net(x)
    assert out.shape == (7, 2) and out.dtype == torch.float32 and torch.isfinite(out).all()
    out.sum().backward()
    for name, p in net.named_parameters():
        assert p.grad is not None, name


def test_direct_encoder_first_layer_runs_once():
    """The constant-current shortcut: fc0 sees [B, in], not [T*B, in]."""
    net = SpikingMLP(3, 1, [8], SpikingOptions(num_steps=6, encoder="direct", decoder="rate"))
    rows = []
    net.fcs[0].register_forward_hook(lambda m, i, o: rows.append(i[0].shape[0]))
    net(torch.randn(5, 3))
    assert rows == [5]


def test_encoder_shapes_and_flags():
    x = torch.rand(4, 3)
    for name in ENCODERS:
        enc = make_encoder(name, 3, 5, low=LOW, high=HIGH)
        out = enc(x)
        if enc.constant:
            assert out.shape == (4, enc.out_features)
        else:
            assert out.shape == (5, 4, enc.out_features)
        if enc.emits_spikes:
            assert set(out.unique().tolist()) <= {0.0, 1.0}
    assert make_encoder("population", 3, 5).out_features == 30


def test_rate_encoder_deterministic_in_eval_and_seeded_in_train():
    enc = RateEncoder(3, 8, low=LOW, high=HIGH)
    x = torch.rand(16, 3)
    enc.eval()
    assert torch.equal(enc(x), enc(x))
    # about p*T spikes per neuron, deterministically
    p = enc.probabilities(x)
    assert (enc(x).sum(0) - p * 8).abs().max() <= 1.0
    enc.train()
    a, b = RateEncoder(3, 8, LOW, HIGH, seed=3), RateEncoder(3, 8, LOW, HIGH, seed=3)
    assert torch.equal(a(x), b(x))
    assert not torch.equal(a(x), a(x))  # the stream moves on


def test_rate_encoder_normalisation():
    enc = RateEncoder(2, 4, low=np.array([0.0, -np.inf]), high=np.array([10.0, np.inf]))
    p = enc.probabilities(torch.tensor([[5.0, 0.0], [20.0, 100.0]]))
    torch.testing.assert_close(p, torch.tensor([[0.5, 0.5], [1.0, 1.0]]))


def test_population_encoder_receptive_fields():
    enc = PopulationEncoder(3, 5, pop_dim=10, low=LOW, high=HIGH)
    torch.testing.assert_close(enc.mu[2, 0], torch.tensor(-8.0))
    torch.testing.assert_close(enc.mu[2, -1], torch.tensor(8.0))
    torch.testing.assert_close(enc.sigma[0, 0], torch.tensor(math.sqrt(0.15) * 2 / 6))
    unbounded = PopulationEncoder(1, 5)
    torch.testing.assert_close(unbounded.mu[0, [0, -1]], torch.tensor([-3.0, 3.0]))
    act = enc.activation(enc.mu.detach()[:, 4][None])  # each dim at its 5th centre
    assert torch.allclose(act.view(3, 10)[:, 4], torch.ones(3))
    assert PopulationEncoder(3, 5, learnable=False).mu.requires_grad is False


def test_population_encoder_trains_mu_and_sigma():
    net = SpikingMLP(3, 1, [16], SpikingOptions(encoder="population", decoder="rate"), LOW, HIGH)
    net(torch.rand(32, 3)).sum().backward()
    assert net.encoder.mu.grad.abs().sum() > 0 and net.encoder.sigma.grad.abs().sum() > 0


def test_decoders_shapes():
    spikes = (torch.rand(5, 4, 12) > 0.5).float()
    for name in DECODERS:
        readout = "mean" if name == "membrane" else None
        dec = make_decoder(name, 12, 3, 5, readout=readout)
        assert dec(spikes).shape == (4, 3)


def test_no_state_between_calls_and_batch_invariance():
    torch.manual_seed(0)
    for encoder, decoder in itertools.product(ENCODERS, DECODERS):
        net = SpikingMLP(3, 2, [16, 16], SpikingOptions(encoder=encoder, decoder=decoder), LOW, HIGH).eval()
        x = torch.rand(6, 3) * 2 - 1
        with torch.no_grad():
            full = net(x)
            assert torch.equal(net(x), full)
            rows = torch.cat([net(x[i : i + 1]) for i in range(6)])
        torch.testing.assert_close(rows, full, rtol=1e-5, atol=1e-6)


def test_init_makes_every_layer_fire():
    for encoder in ENCODERS:
        net = SpikingMLP(3, 1, [256, 256], SpikingOptions(encoder=encoder, decoder="rate"), LOW, HIGH).eval()
        h = net.encoder(torch.rand(256, 3) * 2 - 1)
        rates = []
        with torch.no_grad():
            for i, (fc, lif) in enumerate(zip(net.fcs, net.lifs, strict=False)):
                h = lif(fc(h), net.num_steps) if i == 0 and net.encoder.constant else lif(fc(h.flatten(0, 1)).view(5, 256, -1))
                rates.append(h.mean().item())
        assert all(0.02 < r < 0.6 for r in rates), (encoder, rates)


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        (dict(num_steps=0), ValueError, "num_steps must be an int >= 1"),
        (dict(num_steps=-3), ValueError, "num_steps"),
        (dict(num_steps=2.5), ValueError, "num_steps"),
        (dict(num_steps=None), ValueError, "num_steps"),
        (dict(num_steps=True), ValueError, "num_steps"),
        (dict(encoder="poisson"), ValueError, "Unknown encoder='poisson'; allowed values: direct, rate"),
        (dict(decoder="softmax"), ValueError, "Unknown decoder='softmax'"),
        (dict(decoder="membrane", membrane_readout="min"), ValueError, "Unknown membrane_readout='min'"),
        (dict(decoder="rate", membrane_readout="max"), ValueError, "only applies to decoder='membrane'"),
        (dict(surrogate="relu"), ValueError, "Unknown surrogate='relu'"),
        (dict(beta=0.0), ValueError, r"beta must be a number in \(0, 1\]"),
        (dict(beta=1.5), ValueError, "beta must be a number in"),
        (dict(beta=float("nan")), ValueError, "beta must be a finite number"),
        (dict(threshold=0.0), ValueError, "threshold must be > 0"),
        (dict(threshold=-1), ValueError, "threshold must be > 0"),
        (dict(learn_beta="yes"), TypeError, "learn_beta must be True or False"),
        (dict(reset_mechanism="hard"), ValueError, "Unknown reset_mechanism='hard'"),
        (dict(encoder_kwargs=dict(pop_dimension=4)), ValueError, r"encoder_kwargs has unknown key\(s\) \['pop_dimension'\]"),
        (dict(encoder="direct", encoder_kwargs=dict(pop_dim=4)), ValueError, "allowed: none"),
        (dict(decoder_kwargs=[1]), TypeError, "decoder_kwargs must be a dict"),
    ],
)
def test_bad_options_raise_clear_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        SpikingOptions(**kwargs)


def test_bad_network_arguments():
    with pytest.raises(ValueError, match="at least one hidden layer"):
        SpikingMLP(3, 1, [])
    with pytest.raises(ValueError, match="pop_dim must be an int >= 1"):
        SpikingMLP(3, 1, [4], SpikingOptions(encoder="population", encoder_kwargs=dict(pop_dim=0)))


def test_nan_and_inf_inputs_raise():
    net = SpikingMLP(3, 1, [4], SpikingOptions(encoder="direct", decoder="rate"))
    for bad in (float("nan"), float("inf"), -float("inf")):
        x = torch.zeros(2, 3)
        x[1, 2] = bad
        with pytest.raises(ValueError, match="NaN or inf"):
            net(x)
    net(torch.full((2, 3), 3e38))  # large but finite: the fast check must not misfire


@pytest.mark.parametrize("encoder,decoder", list(itertools.product(ENCODERS, DECODERS)))
@pytest.mark.parametrize("reset", ["subtract", "zero"])
def test_numpy_inference_path_matches_torch(encoder, decoder, reset):
    """The NumPy fast path (small no-grad CPU batches) computes what the torch path computes."""
    torch.manual_seed(0)
    opts = SpikingOptions(
        num_steps=5, encoder=encoder, decoder=decoder, reset_mechanism=reset, learn_beta=True, learn_threshold=True
    )
    net = SpikingMLP(3, 2, [32, 16], opts, LOW, HIGH).eval()
    with torch.no_grad():  # per-neuron values, so broadcasting is exercised
        for lif in net.lifs:
            lif.beta.uniform_(0.3, 0.9)
            lif.threshold.uniform_(0.6, 1.2)
    x = torch.rand(7, 3) * 2 - 1
    with torch.no_grad():
        assert net._numpy_path_ok(x)
        fast = net(x)
        net.numpy_inference = False
        reference = net(x)
    assert fast.dtype == torch.float32 and fast.shape == reference.shape
    torch.testing.assert_close(fast, reference, rtol=1e-5, atol=1e-5)


def test_numpy_path_only_where_it_applies():
    net = SpikingMLP(3, 1, [8], SpikingOptions(encoder="rate")).train()
    x = torch.rand(4, 3)
    with torch.no_grad():
        assert not net._numpy_path_ok(x)  # stochastic coding in training mode stays in torch
        net.eval()
        assert net._numpy_path_ok(x)
        assert not net._numpy_path_ok(torch.rand(65, 3))  # large batches: torch
        assert not net._numpy_path_ok(x.double())
    assert not net._numpy_path_ok(x)  # grad enabled: torch (autograd)
    with torch.no_grad(), pytest.raises(ValueError, match="NaN or inf"):
        net(torch.tensor([[0.0, float("nan"), 1.0]]))


@pytest.mark.parametrize("training", [True, False])
def test_rate_encoder_passes_a_straight_through_gradient(training):
    """Spike values are unchanged, and the input gets d spikes / d p = 1 per step (without it a
    rate-coded critic gave the actor dQ/da = 0)."""
    enc = RateEncoder(3, 4, low=np.full(3, -1.0), high=np.full(3, 1.0)).train(training)
    obs = torch.tensor([[-0.5, 0.0, 0.5]], requires_grad=True)
    spikes = enc(obs)
    assert set(torch.unique(spikes.detach()).tolist()) <= {0.0, 1.0}
    spikes.sum().backward()
    torch.testing.assert_close(obs.grad, torch.full((1, 3), 4 * 0.5))  # T steps x d p / d obs (1 / span)
    net = SpikingMLP(3, 1, [16], SpikingOptions(encoder="rate", num_steps=4), np.full(3, -1.0), np.full(3, 1.0))
    x = torch.zeros(2, 3, requires_grad=True)
    net(x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_relu_neurons_option():
    """neuron="relu": real-valued hidden units (the ACSF "coders around an ANN" ablation); NumPy
    and torch routes agree, the accounting counts their fan-out as MACs, the CNN refuses it."""
    from sb3_spiking.snn import ReLUUnits, SpikingNatureCNN
    from sb3_spiking.snn.accounting import OpCounter

    options = SpikingOptions(encoder="learnable", decoder="learnable", num_steps=4, neuron="relu")
    net = SpikingMLP(3, 2, [8, 8], options)
    assert all(isinstance(u, ReLUUnits) for u in net.lifs)
    x = torch.randn(5, 3)
    with torch.no_grad():
        fast = net(x)
        net.numpy_inference = False
        reference = net(x)
    torch.testing.assert_close(fast, reference)
    with OpCounter(net) as counter:
        net(x)
    summary = counter.summary(5)
    assert summary["spikes"] == 0 and summary["synaptic_ops"] == 0
    assert summary["macs"] == 3 * 12 + 4 * (3 * 8 + 8 * 8) + 32 * 2  # encoder, T x hidden layers, decoder
    with pytest.raises(ValueError, match="Unknown neuron='tanh'"):
        SpikingOptions(neuron="tanh")
    with pytest.raises(ValueError, match="neuron='lif' only"):
        SpikingNatureCNN((4, 84, 84), 6, options=SpikingOptions(neuron="relu"))
