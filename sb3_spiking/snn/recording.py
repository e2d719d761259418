"""Recording what spiking layers do: per-neuron spike counts, and spike/membrane traces.

Like :class:`~sb3_spiking.snn.accounting.OpCounter`, recording is done by forward hooks that exist
only inside a :class:`SpikeRecorder` context (and the networks inside run through torch there,
not the NumPy inference route, so the hooks fire); a network that is not being recorded runs
exactly the same code as if this module did not exist.

>>> with SpikeRecorder(policy, keep_traces=True) as rec:
...     policy.predict(obs)
>>> rec.layers["actor.mu.0.lifs.0"].rates()   # per-neuron firing rate over everything recorded
>>> rec.layers["actor.mu.0.lifs.0"].spikes    # [T, B, N] of the last call (keep_traces=True)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from sb3_spiking.snn.network import numpy_inference_off
from sb3_spiking.snn.neurons import LIF, LeakyReadout, _lif_forward


@dataclass
class LayerRecord:
    """What one layer did over the recorded calls.

    ``counts``: spikes per neuron (flattened over the neuron axes), summed over time and samples;
    ``steps``: time steps x samples recorded (the denominator of a per-neuron rate);
    ``samples``: decisions recorded. With ``keep_traces``, the last call's ``spikes`` and
    ``membrane`` (before reset) as ``[T, B, N]`` arrays and ``threshold`` ``[N]``; for a
    non-spiking readout (:class:`~sb3_spiking.snn.neurons.LeakyReadout`) only ``membrane``.
    """

    kind: str  # "lif" or "readout"
    counts: np.ndarray | None = None
    steps: int = 0
    samples: int = 0
    spikes: np.ndarray | None = None
    membrane: np.ndarray | None = None
    threshold: np.ndarray | None = None

    def rates(self) -> np.ndarray:
        """Per-neuron firing rate: spikes / (T x samples), in [0, 1]."""
        if self.counts is None or not self.steps:
            return np.zeros(0)
        return self.counts / self.steps


@dataclass
class SpikeRecorder:
    """Context manager recording every :class:`~sb3_spiking.snn.neurons.LIF` layer (and membrane
    readout) run inside ``module``.

    :param module: any module containing spiking layers (a policy, an actor, a ``SpikingMLP``).
    :param keep_traces: also keep the last call's spike and membrane traces (``[T, B, N]``); the
        membrane is recomputed from the layer's input current with the same recurrence.
    """

    module: nn.Module
    keep_traces: bool = False
    layers: dict[str, LayerRecord] = field(default_factory=dict)
    _handles: list = field(default_factory=list)

    def __enter__(self) -> SpikeRecorder:
        self._torch_route = numpy_inference_off(self.module)
        self._torch_route.__enter__()
        for name, mod in self.module.named_modules():
            if isinstance(mod, LIF):
                self._handles.append(mod.register_forward_hook(self._lif_hook(name)))
            elif isinstance(mod, LeakyReadout) and self.keep_traces:
                self._handles.append(mod.register_forward_hook(self._readout_hook(name)))
        return self

    def __exit__(self, *exc: Any) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        self._torch_route.__exit__(*exc)

    def _lif_hook(self, name: str):
        def hook(module: LIF, inputs: tuple, output: torch.Tensor | tuple) -> None:
            record = self.layers.setdefault(name, LayerRecord("lif"))
            carried = isinstance(output, tuple)  # (spikes [S, T, B, ...], membrane, ...): a carried call
            spikes = output[0].detach().transpose(0, 1).flatten(1, 2) if carried else output.detach()
            steps, batch = spikes.shape[:2]
            counts = spikes.sum((0, 1)).flatten().cpu().numpy().astype(np.float64)
            record.counts = counts if record.counts is None else record.counts + counts
            record.steps += steps * batch
            record.samples += batch
            if self.keep_traces and carried:
                # The starting membrane is not among a hook's inputs: keep the spikes only.
                record.spikes = spikes.flatten(2).cpu().numpy()
            elif self.keep_traces:
                current = inputs[0].detach()
                constant = len(inputs) > 1 and inputs[1] is not None
                beta, thr = module.neuron_params()
                with torch.no_grad():
                    _, mem = _lif_forward(
                        current, beta.detach(), thr.detach(), steps, constant, module.reset_mechanism == "zero", True
                    )
                record.spikes = spikes.flatten(2).cpu().numpy()
                record.membrane = mem.flatten(2).cpu().numpy()  # type: ignore[union-attr]
                record.threshold = thr.detach().expand(spikes.shape[2:]).flatten().cpu().numpy()

        return hook

    def _readout_hook(self, name: str):
        def hook(module: LeakyReadout, inputs: tuple, output: torch.Tensor) -> None:
            record = self.layers.setdefault(name, LayerRecord("readout"))
            with torch.no_grad():
                record.membrane = module.trace(inputs[0].detach()).cpu().numpy()
            record.samples += int(inputs[0].shape[1])

        return hook
