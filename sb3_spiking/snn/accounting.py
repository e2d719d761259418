"""Spike and operation accounting, and the energy estimate built on it.

Counting is done by forward hooks that exist only inside an :class:`OpCounter` context, so a
network that is not being measured runs exactly the same code as if this module did not exist.

What is counted, per forward call:

- **LIF layers** (:class:`~sb3_spiking.snn.neurons.LIF`): spikes emitted and neuron-steps
  (neurons x T x batch), giving the firing rate.
- **Synaptic layers** (``nn.Linear``, ``nn.Conv2d``) tagged ``spike_input=True``: each input spike
  triggers one accumulate per outgoing synapse, so synaptic operations (SOPs) = sum over input
  spikes of their fan-out (exact for convolutions, borders included). A layer fed with spike
  rates (the rate decoder averages over T first) is tagged ``rate_input_steps=T`` and counted as
  the spikes behind the rates.
- **Every other Linear/Conv2d** (real-valued input: a direct-coded first layer, an ANN critic in
  the decision path): dense multiply-accumulates (MACs) for the rows it actually processed -- a
  first layer computed once counts once, not T times.
- **LSTM layers** (``nn.LSTM``, e.g. the ANN twin of a recurrent policy): dense MACs of the four
  gates' input and recurrent products per step, ``4 H (in + H)`` per layer.
- Modules may add their own dense work through a method ``extra_macs(inputs, output) -> int``
  (e.g. the population decoder's weighted sum), and their own accumulates driven by spikes
  through ``extra_sops(inputs, output) -> float`` (e.g. a spike-driven attention's products of
  spike matrices, which are not ``nn.Linear`` layers).

Energy uses the usual 45 nm CMOS figures (Horowitz, ISSCC 2014), as in the spiking-RL papers:
``E_AC = 0.9 pJ`` per accumulate and ``E_MAC = 4.6 pJ`` per multiply-accumulate. Neuron-state
updates and memory traffic are not included (for either network), so the ratio compares
arithmetic only. The ANN reference is the same-shape ANN (``ann_macs_per_sample`` of each
spiking network, plus the dense layers around it), all dense MACs, once per decision. A network
whose ANN cost depends on the input's shape (a transformer over a variable number of tokens)
defines ``ann_macs_of(inputs, output) -> float`` instead of ``ann_macs_per_sample``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from sb3_spiking.snn.network import numpy_inference_off
from sb3_spiking.snn.neurons import LIF

ENERGY_PER_AC_J = 0.9e-12
ENERGY_PER_MAC_J = 4.6e-12


@dataclass
class LayerCount:
    """Totals for one module over the counted calls."""

    kind: str  # "neurons", "synapse" or "dense"
    spikes: float = 0.0
    neuron_steps: float = 0.0
    synaptic_ops: float = 0.0
    macs: float = 0.0

    def as_dict(self, n: int) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        if self.kind == "neurons":
            out["firing_rate"] = self.spikes / self.neuron_steps if self.neuron_steps else 0.0
            out["spikes"] = self.spikes / n
        else:
            out["synaptic_ops"] = self.synaptic_ops / n
            out["macs"] = self.macs / n
        return out


def _linear_sops(module: nn.Linear, x: torch.Tensor) -> float:
    steps = getattr(module, "rate_input_steps", 0)
    # A layer fed with spike *rates* (mean over T) received x * T spikes per input.
    spikes = float(x.detach().sum()) * steps if steps else float(torch.count_nonzero(x))
    return spikes * module.out_features


def _conv_sops(module: nn.Conv2d, x: torch.Tensor) -> float:
    # Each active input pixel reaches (out_channels / groups) x (output positions whose receptive
    # field contains it); a convolution of the activity map with a ones kernel counts exactly that.
    active = (x != 0).to(x.dtype)
    groups = module.groups
    ones = torch.ones(groups, module.in_channels // groups, *module.kernel_size, dtype=x.dtype, device=x.device)
    per_position = F.conv2d(active, ones, None, module.stride, module.padding, module.dilation, groups)
    return float(per_position.sum()) * (module.out_channels // groups)


def _dense_macs(module: nn.Module, x: torch.Tensor, out: torch.Tensor) -> float:
    if isinstance(module, nn.Linear):
        return float(x.numel() // module.in_features) * module.in_features * module.out_features
    assert isinstance(module, nn.Conv2d)
    per_output = module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
    return float(out.numel()) * per_output


def _lstm_macs(module: nn.LSTM, x: torch.Tensor) -> float:
    """Dense MACs of an LSTM over its input ``[L, N, in]`` (or ``[N, in]``): per step and layer, the
    four gates' input and recurrent products, ``4 H (in + H)`` (``H`` = hidden, or projection,
    size); the element-wise gate arithmetic is not counted (as activations are not elsewhere)."""
    rows = float(x.numel() // x.shape[-1])
    out = module.proj_size or module.hidden_size
    directions = 2 if module.bidirectional else 1
    macs, width = 0.0, module.input_size
    for _ in range(module.num_layers):
        macs += directions * 4 * module.hidden_size * (width + out) + directions * module.proj_size * module.hidden_size
        width = out * directions
    return rows * macs


@dataclass
class OpCounter:
    """Context manager counting spikes and operations of everything run inside ``module``.

    >>> with OpCounter(net) as counter:
    ...     net(x)
    >>> counter.summary(n_samples=len(x))["energy_j"]
    """

    module: nn.Module
    layers: dict[str, LayerCount] = field(default_factory=dict)
    ann_macs: float = 0.0
    _handles: list = field(default_factory=list)

    def __enter__(self) -> OpCounter:
        inside_snn: set[int] = set()
        self._torch_route = numpy_inference_off(self.module)  # the hooks below live on torch modules
        self._torch_route.__enter__()
        for mod in self.module.modules():
            if getattr(mod, "ann_macs_per_sample", 0) or hasattr(mod, "ann_macs_of"):
                inside_snn.update(id(m) for m in mod.modules())
                self._handles.append(mod.register_forward_hook(self._snn_hook))
        for name, mod in self.module.named_modules():
            if isinstance(mod, LIF):
                self._handles.append(mod.register_forward_hook(self._make_lif_hook(name)))
            elif isinstance(mod, nn.LSTM):
                self._handles.append(mod.register_forward_hook(self._make_lstm_hook(name, id(mod) not in inside_snn)))
            elif isinstance(mod, (nn.Linear, nn.Conv2d)):
                hook = self._make_synapse_hook(name, id(mod) not in inside_snn)
                self._handles.append(mod.register_forward_hook(hook))
            if hasattr(mod, "extra_macs"):
                self._handles.append(mod.register_forward_hook(self._make_extra_hook(name)))
            if hasattr(mod, "extra_sops"):
                self._handles.append(mod.register_forward_hook(self._make_extra_sops_hook(name)))
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        self._torch_route.__exit__(*exc)

    def _layer(self, name: str, kind: str) -> LayerCount:
        if name not in self.layers:
            self.layers[name] = LayerCount(kind)
        return self.layers[name]

    def _snn_hook(self, module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        if hasattr(module, "ann_macs_of"):
            self.ann_macs += float(module.ann_macs_of(inputs, output))  # type: ignore[operator]
        else:
            self.ann_macs += module.ann_macs_per_sample * inputs[0].shape[0]  # type: ignore[operator]

    def _make_lif_hook(self, name: str):
        def hook(module: nn.Module, inputs: tuple, output: torch.Tensor | tuple) -> None:
            if isinstance(output, tuple):  # (spikes, membrane): a carried-membrane call
                output = output[0]
            count = self._layer(name, "neurons")
            count.spikes += float(output.detach().sum())
            count.neuron_steps += output.numel()

        return hook

    def _make_synapse_hook(self, name: str, counts_for_ann: bool):
        def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            x = inputs[0]
            if getattr(module, "spike_input", False):
                count = self._layer(name, "synapse")
                count.synaptic_ops += _linear_sops(module, x) if isinstance(module, nn.Linear) else _conv_sops(module, x)
            else:
                count = self._layer(name, "dense")
                macs = _dense_macs(module, x, output)
                count.macs += macs
                if counts_for_ann:
                    self.ann_macs += macs

        return hook

    def _make_lstm_hook(self, name: str, counts_for_ann: bool):
        def hook(module: nn.Module, inputs: tuple, output: tuple) -> None:
            macs = _lstm_macs(module, inputs[0])
            self._layer(name, "dense").macs += macs
            if counts_for_ann:
                self.ann_macs += macs

        return hook

    def _make_extra_hook(self, name: str):
        def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            self._layer(name, "dense").macs += float(module.extra_macs(inputs, output))  # type: ignore[operator]

        return hook

    def _make_extra_sops_hook(self, name: str):
        def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            self._layer(name, "synapse").synaptic_ops += float(module.extra_sops(inputs, output))  # type: ignore[operator]

        return hook

    def summary(self, n_samples: int) -> dict[str, Any]:
        """Per-decision figures (totals divided by ``n_samples``) and a per-layer breakdown."""
        n = max(int(n_samples), 1)
        spikes = sum(c.spikes for c in self.layers.values())
        steps = sum(c.neuron_steps for c in self.layers.values())
        sops = sum(c.synaptic_ops for c in self.layers.values()) / n
        macs = sum(c.macs for c in self.layers.values()) / n
        ann_macs = self.ann_macs / n
        energy = sops * ENERGY_PER_AC_J + macs * ENERGY_PER_MAC_J
        ann_energy = ann_macs * ENERGY_PER_MAC_J
        return {
            "firing_rate": spikes / steps if steps else 0.0,
            "spikes": spikes / n,
            "synaptic_ops": sops,
            "macs": macs,
            "energy_j": energy,
            "ann_macs": ann_macs,
            "ann_energy_j": ann_energy,
            "energy_ratio": energy / ann_energy if ann_energy else float("nan"),
            "n_samples": n,
            "constants": {"energy_per_ac_j": ENERGY_PER_AC_J, "energy_per_mac_j": ENERGY_PER_MAC_J},
            "layers": {name: c.as_dict(n) for name, c in self.layers.items()},
        }
