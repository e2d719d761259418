"""Spike and operation accounting against hand computations."""

import itertools

import pytest
import torch
from torch import nn

from sb3_spiking.snn import ENERGY_PER_AC_J, ENERGY_PER_MAC_J, OpCounter, SpikingMLP, SpikingOptions
from sb3_spiking.snn.accounting import _conv_sops


def _tiny_net(decoder="rate", hidden=(3,)):
    net = SpikingMLP(2, 1, list(hidden), SpikingOptions(num_steps=2, encoder="direct", decoder=decoder, beta=0.5))
    with torch.no_grad():
        net.fcs[0].weight.copy_(torch.tensor([[2.0, 0.0], [0.6, 0.0], [0.0, 1.0]]))
        net.fcs[0].bias.zero_()
    return net


def test_hand_computed_single_hidden_layer():
    # I = [2, 0.6, 0] every step. Neuron 0: mem 2 > 1 spike, post 1; mem 0.5 + 2 = 2.5 spike.
    # Neuron 1: 0.6, then 0.9: silent. Neuron 2: silent. -> 2 spikes in 3 neurons x 2 steps.
    net = _tiny_net()
    x = torch.tensor([[1.0, 0.0]])
    with OpCounter(net) as counter:
        net(x)
    r = counter.summary(n_samples=1)
    assert r["spikes"] == 2 and r["firing_rate"] == pytest.approx(2 / 6)
    assert r["macs"] == 2 * 3  # direct-coded first layer: dense, computed once (not T times)
    assert r["synaptic_ops"] == 2 * 1  # 2 spikes x fan-out 1 into the rate decoder
    assert r["ann_macs"] == 2 * 3 + 3 * 1
    assert r["energy_j"] == pytest.approx(2 * ENERGY_PER_AC_J + 6 * ENERGY_PER_MAC_J)
    assert r["ann_energy_j"] == pytest.approx(9 * ENERGY_PER_MAC_J)
    assert r["energy_ratio"] == pytest.approx(r["energy_j"] / r["ann_energy_j"])
    assert r["layers"]["lifs.0"]["spikes"] == 2 and r["layers"]["fcs.0"]["macs"] == 6


def test_hand_computed_spiking_layer_fan_out_and_batch_average():
    net = _tiny_net(decoder="membrane", hidden=(3, 4))
    x = torch.tensor([[1.0, 0.0], [0.0, 0.0]])  # second sample: silent first layer
    with OpCounter(net) as counter:
        net(x)
    r = counter.summary(n_samples=2)
    layer1 = r["layers"]["lifs.0"]["spikes"]  # per decision
    assert layer1 == pytest.approx(2 / 2)
    assert r["layers"]["fcs.1"]["synaptic_ops"] == pytest.approx(layer1 * 4)  # fan-out 4
    layer2 = r["layers"]["lifs.1"]["spikes"]
    assert r["layers"]["decoder.linear"]["synaptic_ops"] == pytest.approx(layer2 * 1)
    assert r["macs"] == pytest.approx(2 * 3)  # per decision
    assert r["ann_macs"] == 2 * 3 + 3 * 4 + 4 * 1


def test_conv_sops_exact_against_brute_force():
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 4, 3, stride=2, padding=1)
    x = (torch.rand(2, 3, 7, 7) > 0.7).float()
    out_h = out_w = 4
    brute = 0
    for b, c, i, j in itertools.product(range(2), range(3), range(7), range(7)):
        if x[b, c, i, j]:
            for y, z in itertools.product(range(out_h), range(out_w)):
                if 0 <= i - (2 * y - 1) < 3 and 0 <= j - (2 * z - 1) < 3:
                    brute += 4  # every output channel
    assert _conv_sops(conv, x) == brute


def test_counting_leaves_no_trace():
    net = _tiny_net()
    with OpCounter(net):
        net(torch.rand(3, 2))
    assert all(not m._forward_hooks for m in net.modules())


def test_dense_layers_outside_spiking_nets_count_for_both():
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    with OpCounter(model) as counter:
        model(torch.rand(5, 4))
    r = counter.summary(5)
    assert r["macs"] == r["ann_macs"] == 4 * 8 + 8 * 2
    assert r["energy_ratio"] == pytest.approx(1.0) and r["firing_rate"] == 0.0
