"""A plain NumPy simulator of an exported NIR graph: it reads nothing but the graph.

It follows ``graph.metadata`` (written by :func:`~sb3_spiking.export.to_nir`): pre-process the
observation, present it for ``num_steps`` steps of ``dt``, run every node once per step in graph
order, read the output node out (``readout``) and post-process into an action. It uses no
module of this package's engine and no torch, so agreeing with ``model.predict`` checks the graph,
not the code that wrote it. Node types: Input, Output, Affine, Linear, Scale, Conv2d, Flatten,
LIF, IF, LI, I (integrator).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from graphlib import TopologicalSorter
from typing import Any

import numpy as np


@dataclass
class SimulationResult:
    """What :func:`simulate` returns.

    :ivar actions: the actions, as ``model.predict(obs, deterministic=True)`` returns them.
    :ivar outputs: the readout ``[B, n_outputs]`` before post-processing (Q-values, pre-tanh
        actions, logits).
    :ivar trace: the output node's value at every step, ``[T, B, n_outputs]``.
    :ivar spikes: spikes ``[T, B, ...]`` of every LIF/IF node, by node name.
    """

    actions: np.ndarray
    outputs: np.ndarray
    trace: np.ndarray
    spikes: dict[str, np.ndarray]


def read_metadata(graph: Any) -> dict[str, Any]:
    """``graph.metadata`` as plain Python values (what ``nir.read`` returns holds NumPy scalars and
    bytes); arrays stay NumPy arrays."""

    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, bytes):
            return value.decode("utf8")
        if isinstance(value, np.ndarray) and value.ndim == 0:
            return plain(value.item())
        if isinstance(value, np.generic):
            return value.item()
        return value

    return plain(dict(graph.metadata))


def _meta(graph: Any) -> dict[str, Any]:
    meta = read_metadata(graph)
    for key in ("num_steps", "dt", "readout", "preprocess", "postprocess"):
        if key not in meta:
            raise ValueError(f"The graph's metadata has no {key!r}: it was not written by sb3_spiking.export.to_nir")
    return meta


def _shape(value: Any) -> tuple[int, ...]:
    return tuple(int(v) for v in np.asarray(value).reshape(-1))


def _preprocess(meta: dict[str, Any], observations: Any, input_shape: tuple[int, ...]) -> tuple[np.ndarray, bool]:
    pre = meta["preprocess"]
    obs_shape = _shape(pre["observation_shape"])
    x = np.asarray(observations)
    if x.shape == obs_shape:
        x, vectorized = x[None], False
    elif x.shape[1:] == obs_shape:
        vectorized = True
    else:
        raise ValueError(f"Observations of shape {x.shape} do not match the graph's observation shape {obs_shape}")
    x = x.astype(np.float32)
    norm = pre.get("normalize")
    if norm is not None:
        mean, var = np.asarray(norm["mean"]), np.asarray(norm["var"])
        clip = float(norm["clip_obs"])
        x = np.clip((x - mean) / np.sqrt(var + float(norm["epsilon"])), -clip, clip).astype(np.float32)
    scale = float(pre.get("scale", 1.0))
    if scale != 1.0:
        x = x * np.float32(scale)
    return x.reshape(x.shape[0], *input_shape), vectorized


def _postprocess(meta: dict[str, Any], out: np.ndarray, vectorized: bool) -> np.ndarray:
    post = meta["postprocess"]
    kind = post["type"]
    if kind == "argmax":
        actions = out.argmax(axis=1)
    elif kind == "argmax_segments":
        nvec = _shape(post["nvec"])
        bounds = np.cumsum((0, *nvec))
        actions = np.stack([out[:, a:b].argmax(axis=1) for a, b in itertools.pairwise(bounds)], axis=1)
    elif kind == "threshold":
        actions = (out > 0).astype(np.int8).reshape(-1, *_shape(post["action_shape"]))
    elif kind == "box":
        low, high = np.asarray(post["low"], np.float32), np.asarray(post["high"], np.float32)
        if post["squash"] == "tanh":
            actions = low + 0.5 * (np.tanh(out) + 1.0) * (high - low)
        else:
            actions = np.clip(out, low, high)
        actions = actions.reshape(-1, *_shape(post["action_shape"]))
    else:
        raise ValueError(f"Unknown postprocess type {kind!r}")
    return actions if vectorized else actions[0]


def _conv2d(x: np.ndarray, node: Any) -> np.ndarray:
    groups = int(np.asarray(node.groups))
    dilation = _shape(node.dilation)
    if groups != 1 or any(d != 1 for d in dilation):
        raise ValueError("simulate runs Conv2d with groups=1 and dilation=1 only")
    stride = _shape(node.stride)
    stride = stride * 2 if len(stride) == 1 else stride
    pad = _shape(node.padding)
    pad = pad * 2 if len(pad) == 1 else pad
    if any(pad):
        x = np.pad(x, ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])))
    weight = np.asarray(node.weight, np.float32)
    kh, kw = weight.shape[-2:]
    windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, :: stride[0], :: stride[1]]
    out = np.einsum("bchwij,ocij->bohw", windows, weight, optimize=True)
    return out + np.asarray(node.bias, np.float32)[None, :, None, None]


class _Neuron:
    """Forward-Euler coefficients of a LIF/IF/LI/I node: ``v <- a * v + b * I + c``."""

    def __init__(self, node: Any, kind: str, dt: float) -> None:
        if kind in ("LIF", "LI"):
            tau = np.asarray(node.tau, np.float64)
            k = dt / tau
            a, b, c = 1.0 - k, k * np.asarray(node.r, np.float64), k * np.asarray(node.v_leak, np.float64)
        else:  # IF, I: dv/dt = r I
            r = np.asarray(node.r, np.float64)
            a, b, c = np.ones_like(r), dt * r, np.zeros_like(r)
        self.a, self.b = a.astype(np.float32), b.astype(np.float32)
        self.c = c.astype(np.float32) if np.any(c) else None
        self.b_one = bool(np.all(self.b == 1.0))
        self.spiking = kind in ("LIF", "IF")
        if self.spiking:
            self.thr = np.asarray(node.v_threshold, np.float32)
            self.v_reset = np.asarray(node.v_reset, np.float32)
        self.v: np.ndarray | None = None

    def step(self, current: np.ndarray) -> np.ndarray:
        inp = current if self.b_one else current * self.b
        v = inp.copy() if self.v is None else self.v * self.a + inp  # from rest: v = b * I
        if self.c is not None:
            v = v + self.c
        if not self.spiking:
            self.v = v
            return v
        spikes = (v > self.thr).astype(np.float32)
        self.v = np.where(spikes > 0, self.v_reset, v).astype(np.float32)
        return spikes


def simulate(graph: Any, observations: Any) -> SimulationResult:  # noqa: C901 (one pass over the node kinds)
    """Run an exported NIR graph on raw observations and return the actions (and what led to them).

    :param graph: a graph from :func:`~sb3_spiking.export.to_nir` or ``nir.read``.
    :param observations: one observation (of the observation space's shape) or a batch of them,
        as ``model.predict`` takes them.
    """
    meta = _meta(graph)
    nodes, dt, steps = graph.nodes, float(meta["dt"]), int(meta["num_steps"])
    preds: dict[str, list[str]] = {name: [] for name in nodes}
    for src, dst in graph.edges:
        preds[dst].append(src)
    order = list(TopologicalSorter(preds).static_order())
    inputs = [n for n in order if type(nodes[n]).__name__ == "Input"]
    outputs = [n for n in order if type(nodes[n]).__name__ == "Output"]
    if len(inputs) != 1 or len(outputs) != 1:
        raise ValueError("simulate runs graphs with one Input and one Output node")
    input_shape = _shape(nodes[inputs[0]].input_type["input"])
    x, vectorized = _preprocess(meta, observations, input_shape)
    batch = x.shape[0]

    neurons: dict[str, _Neuron] = {}
    for name in order:
        kind = type(nodes[name]).__name__
        if kind in ("LIF", "IF", "LI", "I"):
            neurons[name] = _Neuron(nodes[name], kind, dt)
    spikes: dict[str, list[np.ndarray]] = {n: [] for n, neuron in neurons.items() if neuron.spiking}
    trace = []
    for _ in range(steps):
        values: dict[str, np.ndarray] = {}
        for name in order:
            node, kind = nodes[name], type(nodes[name]).__name__
            if kind == "Input":
                values[name] = x
                continue
            inp = values[preds[name][0]]
            for other in preds[name][1:]:
                inp = inp + values[other]
            if kind == "Output":
                out = inp
            elif name in neurons:
                out = neurons[name].step(inp)
                if name in spikes:
                    spikes[name].append(out)
            elif kind in ("Affine", "Linear"):
                out = inp.reshape(batch, -1) @ np.asarray(node.weight, np.float32).T
                if kind == "Affine":
                    out = out + np.asarray(node.bias, np.float32)
            elif kind == "Scale":
                out = inp * np.asarray(node.scale, np.float32)
            elif kind == "Conv2d":
                out = _conv2d(inp, node)
            elif kind == "Flatten":
                start, end = int(node.start_dim), int(node.end_dim)
                shape = inp.shape[1:]
                end = end % len(shape)
                out = inp.reshape(batch, *shape[:start], math.prod(shape[start : end + 1]), *shape[end + 1 :])
            else:
                raise ValueError(f"simulate does not run NIR node type {kind} (node {name!r})")
            values[name] = out.astype(np.float32, copy=False)
        trace.append(values[outputs[0]].reshape(batch, -1))
    tr = np.stack(trace)
    readout = meta["readout"]
    if readout == "max":
        out = tr.max(axis=0)
    elif readout == "mean":
        out = tr.mean(axis=0)
    elif readout == "last":
        out = tr[-1]
    elif readout == "spike_count_plus_membrane":
        neuron = neurons[meta["readout_node"]]
        out = tr.sum(axis=0) + neuron.v.reshape(batch, -1)
    else:
        raise ValueError(f"Unknown readout {readout!r}")
    return SimulationResult(
        actions=_postprocess(meta, out, vectorized),
        outputs=out,
        trace=tr,
        spikes={name: np.stack(s) for name, s in spikes.items()},
    )
