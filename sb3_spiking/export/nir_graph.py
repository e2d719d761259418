"""The NIR mapping: the acting network of a trained model -> :class:`nir.NIRGraph`.

Why our own mapping rather than snnTorch's exporter (``snntorch.export_to_nir``): our layers are
the engine's own :class:`~sb3_spiking.snn.LIF` (a fused scan with per-neuron ``beta`` and
``threshold``), not ``snntorch.Leaky`` modules its tracer recognises; the membrane decoder's
leaky integrator (``nir.LI``), the population and spike-count decoders, the constant input
current of the direct encoder, the T loop and the readout are not in snnTorch's graph at all;
and its ``Leaky`` mapping needs per-neuron parameters expanded by hand anyway (a scalar ``beta``
fails NIR's type inference, conv parameters must be ``(C, H, W)``). The neuron mapping itself is
snnTorch's, so snnTorch's importer and every tool that follows its convention read our LIF nodes
the same way:

- ``LIF(beta, threshold)`` -> ``nir.LIF(tau=dt/(1-beta), r=1/(1-beta), v_leak=0,
  v_threshold=threshold, v_reset=0)`` with ``dt = 1e-4``: one forward-Euler step of
  ``tau dv/dt = (v_leak - v) + r I`` is exactly ``v <- beta v + I``;
- ``beta = 1`` (integrate-and-fire, converted DQNs) -> ``nir.IF(r=1/dt)``;
- the membrane decoder's leaky integrator -> ``nir.LI`` with the same ``tau``/``r`` (``nir.I`` for
  ``beta = 1``).

NIR's LIF resets *to* ``v_reset``; it has no subtractive reset. Only ``reset_mechanism="zero"``
networks export exactly; a ``"subtract"`` network is refused unless ``allow_reset_mismatch=True``,
which exports it anyway and measures how often the graph's action agrees with ``predict``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch
from torch import nn

from sb3_spiking.export.acting import SUPPORTED, _Acting, _acting_network, _unsupported
from sb3_spiking.snn.decoders import (
    LearnableDecoder,
    MembraneDecoder,
    PopulationDecoder,
    RateDecoder,
    SpikeCountDecoder,
)
from sb3_spiking.snn.network import SpikingMLP, SpikingNatureCNN, SpikingNetwork
from sb3_spiking.snn.neurons import LIF

# SUPPORTED moved to export/acting.py with the code that enforces it; it stays importable from here.
__all__ = ["DT", "NIR_EXTRA", "SUPPORTED", "to_nir"]

#: The time step the NIR time constants assume (snnTorch's and SpikingJelly's default).
DT = 1e-4

#: How to install what the export needs.
NIR_EXTRA = 'pip install -e ".[nir]" (from the sb3-spiking checkout)'

_ENCODER_WHY = {
    "rate": "its spike trains are computed from the observation in closed form (floor((t+1)*p), "
    "p the clipped, rescaled observation) outside any NIR node",
    "learnable": "it feeds a different input frame at every time step (Linear(D, D*T) split into T frames), "
    "which a time-invariant NIR graph cannot express",
    "population": "its Gaussian receptive fields (exp(-(x-mu)^2/2sigma^2)) are no NIR node, and its "
    "integrate-and-fire encoding neurons reset by subtraction",
}


def _import_nir() -> Any:
    try:
        import nir
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ImportError(f"NIR export needs the 'nir' package: {NIR_EXTRA}") from exc
    return nir


# -- nodes ------------------------------------------------------------------------------------
def _np(tensor: torch.Tensor, dtype: Any = np.float32) -> np.ndarray:
    return tensor.detach().cpu().numpy().astype(dtype)


def _affine(nir: Any, layer: nn.Linear, rows: slice | None = None) -> Any:
    weight, bias = _np(layer.weight), _np(layer.bias)
    if rows is not None:
        weight, bias = weight[rows], bias[rows]
    return nir.Affine(weight=np.ascontiguousarray(weight), bias=np.ascontiguousarray(bias))


def _neuron_arrays(beta: torch.Tensor, thr: torch.Tensor | None, shape: tuple[int, ...], rows: slice | None):
    beta_a = np.broadcast_to(_np(beta, np.float64), shape).copy()
    thr_a = None if thr is None else np.broadcast_to(_np(thr, np.float64), shape).copy()
    if rows is not None:
        beta_a = beta_a[rows]
        thr_a = None if thr_a is None else thr_a[rows]
    return beta_a, thr_a


def _is_integrate_and_fire(beta: np.ndarray, where: str) -> bool:
    """True for integrate-and-fire (every beta = 1); raise when only some neurons are."""
    ones = beta == 1.0
    if ones.all():
        return True
    if ones.any():
        raise ValueError(
            f"{where}: some neurons have beta = 1 (no leak) and others beta < 1; NIR needs one neuron type per "
            "node (nir.IF or nir.LIF). Keep beta < 1 (learn_beta clamps to [0, 1]) or use beta = 1 everywhere"
        )
    return False


def _lif_node(nir: Any, lif: LIF, shape: tuple[int, ...], rows: slice | None = None, where: str = "") -> Any:
    beta_t, thr_t = lif.neuron_params()
    beta, thr = _neuron_arrays(beta_t, thr_t, shape, rows)
    zeros = np.zeros_like(thr)
    if _is_integrate_and_fire(beta, where):
        return nir.IF(r=np.full_like(thr, 1.0 / DT), v_threshold=thr, v_reset=zeros)
    return nir.LIF(tau=DT / (1.0 - beta), r=1.0 / (1.0 - beta), v_leak=zeros, v_threshold=thr, v_reset=zeros)


def _li_node(nir: Any, decoder: MembraneDecoder, rows: slice | None) -> Any:
    readout = decoder.readout
    beta_t = readout.beta.clamp(1e-6, 1.0) if readout.learn_beta else readout.beta
    beta, _ = _neuron_arrays(beta_t, None, tuple(readout.beta.shape), rows)
    if _is_integrate_and_fire(beta, "the membrane decoder"):
        return nir.I(r=np.full_like(beta, 1.0 / DT))
    return nir.LI(tau=DT / (1.0 - beta), r=1.0 / (1.0 - beta), v_leak=np.zeros_like(beta))


def _conv_node(nir: Any, conv: nn.Conv2d, in_hw: tuple[int, int]) -> Any:
    return nir.Conv2d(
        input_shape=in_hw,
        weight=_np(conv.weight),
        stride=np.asarray(conv.stride, dtype=np.int64),
        padding=np.asarray(conv.padding, dtype=np.int64),
        dilation=np.asarray(conv.dilation, dtype=np.int64),
        groups=int(conv.groups),
        bias=_np(conv.bias),
    )


def _exportable_lifs(body: SpikingNetwork, allow_reset_mismatch: bool) -> list[LIF]:
    """Raise a clear error for what NIR cannot express; return the body's LIF layers."""
    options = body.options
    if options.neuron != "lif":
        raise ValueError(
            f"neuron={options.neuron!r}: the hidden units are real-valued ReLUs, not spiking neurons; "
            "only neuron='lif' networks are exported to NIR"
        )
    if options.encoder != "direct":
        raise ValueError(
            f"encoder={options.encoder!r} cannot be expressed in NIR: {_ENCODER_WHY[options.encoder]}. "
            "Train with encoder='direct' (the observation as a constant input current) to export"
        )
    decoder = body.decoder
    if isinstance(decoder, LearnableDecoder):
        raise ValueError(
            "decoder='learnable' cannot be expressed in NIR: its Linear reads the spikes of all T steps "
            "concatenated, i.e. the whole spike train at once. Use decoder='membrane' (a leaky integrator, "
            "nir.LI), 'rate' or 'population' to export"
        )
    if not isinstance(decoder, (MembraneDecoder, RateDecoder, PopulationDecoder, SpikeCountDecoder)):
        raise ValueError(f"The decoder {type(decoder).__name__} has no NIR mapping")
    lifs = [m for m in body.modules() if isinstance(m, LIF)]
    subtract = sorted({m.reset_mechanism for m in lifs} - {"zero"})
    if subtract and not allow_reset_mismatch:
        raise ValueError(
            "This network uses reset_mechanism='subtract' (the default), and NIR has no subtractive-reset "
            "neuron: its LIF resets the membrane to v_reset, so the graph of a subtract-reset network fires "
            "differently from the network. Either train with "
            "policy_kwargs=dict(reset_mechanism='zero'), which exports exactly, or pass "
            "allow_reset_mismatch=True (command line: --allow-reset-mismatch) to export it as reset-to-zero "
            "and get the measured action agreement in graph.metadata['reset_mismatch']"
        )
    return lifs


def _build_graph(nir: Any, acting: _Acting) -> tuple[dict[str, Any], list[tuple[str, str]], str, str, int]:
    """Nodes and edges of the acting network; returns (nodes, edges, readout, readout_node, n_out)."""
    body, rows = acting.body, acting.rows
    nodes: dict[str, Any] = {}
    edges: list[tuple[str, str]] = []
    last = ["input"]

    def add(name: str, node: Any) -> None:
        nodes[name] = node
        edges.append((last[0], name))
        last[0] = name

    if isinstance(body, SpikingNatureCNN):
        channels, h, w = body.image_shape
        nodes["input"] = nir.Input(input_type={"input": np.array([channels, h, w])})
        for i, (conv, lif) in enumerate(zip(body.convs, body.conv_lifs, strict=True)):
            add(f"conv_{i}", _conv_node(nir, conv, (h, w)))
            h = (h + 2 * conv.padding[0] - conv.dilation[0] * (conv.kernel_size[0] - 1) - 1) // conv.stride[0] + 1
            w = (w + 2 * conv.padding[1] - conv.dilation[1] * (conv.kernel_size[1] - 1) - 1) // conv.stride[1] + 1
            channels = conv.out_channels
            add(f"conv_lif_{i}", _lif_node(nir, lif, (channels, h, w), where=f"conv layer {i}"))
        add("flatten", nir.Flatten(input_type={"input": np.array([channels, h, w])}, start_dim=0, end_dim=-1))
    elif isinstance(body, SpikingMLP):
        nodes["input"] = nir.Input(input_type={"input": np.array([body.in_features])})
    else:
        raise _unsupported(f"The network {type(body).__name__} has no NIR mapping")
    for i, (fc, lif) in enumerate(zip(body.fcs, body.lifs, strict=True)):
        add(f"fc_{i}", _affine(nir, fc))
        add(f"lif_{i}", _lif_node(nir, lif, (fc.out_features,), where=f"hidden layer {i}"))

    decoder = body.decoder
    n_out = decoder.out_features if rows is None else len(range(*rows.indices(decoder.out_features)))
    if isinstance(decoder, MembraneDecoder):
        add("decoder_fc", _affine(nir, decoder.linear, rows))
        add("decoder_li", _li_node(nir, decoder, rows))
        readout, readout_node = decoder.readout.readout, "decoder_li"
    elif isinstance(decoder, RateDecoder):
        add("decoder_fc", _affine(nir, decoder.linear, rows))
        readout, readout_node = "mean", "decoder_fc"
    elif isinstance(decoder, SpikeCountDecoder):
        add("decoder_fc", _affine(nir, decoder.linear, rows))
        add("decoder_lif", _lif_node(nir, decoder.lif, (decoder.out_features,), rows, where="the output neurons"))
        readout, readout_node = "spike_count_plus_membrane", "decoder_lif"
    else:  # PopulationDecoder: rates of the populations, weighted per output (a block-diagonal Affine)
        pop = decoder.pop_dim
        add("decoder_fc", _affine(nir, decoder.linear))
        add("decoder_lif", _lif_node(nir, decoder.lif, (decoder.out_features * pop,), where="the output populations"))
        pop_w, pop_b = _np(decoder.pop_weight), _np(decoder.pop_bias)
        weight = np.zeros((decoder.out_features, decoder.out_features * pop), dtype=np.float32)
        for j in range(decoder.out_features):
            weight[j, j * pop : (j + 1) * pop] = pop_w[j]
        if rows is not None:
            weight, pop_b = weight[rows], pop_b[rows]
        add("decoder_pop", nir.Affine(weight=np.ascontiguousarray(weight), bias=np.ascontiguousarray(pop_b)))
        readout, readout_node = "mean", "decoder_pop"
    nodes["output"] = nir.Output(output_type={"output": np.array([n_out])})
    edges.append((last[0], "output"))
    return nodes, edges, readout, readout_node, n_out


_READOUT_WHY = {
    "max": "output = max over the num_steps values the output node takes (membrane max, Chen et al.)",
    "mean": "output = mean over the num_steps values the output node takes",
    "last": "output = the output node's value at the last step",
    "spike_count_plus_membrane": "output = number of spikes of readout_node over the num_steps steps plus its "
    "membrane potential after the last step (after its reset)",
}


def to_nir(
    model: Any,
    allow_reset_mismatch: bool = False,
    observations: np.ndarray | None = None,
    vec_normalize: Any = None,
) -> Any:
    """The NIR graph of the network that acts in ``model``.

    Exported: the actor of SpikingTD3 / SpikingDDPG / SpikingSAC (its mean) and of
    ``SpikingActorCriticPolicy`` (SpikingPPO, SpikingA2C), the Q-network of DSQN (MLP and the
    spiking Nature CNN) and of converted DQNs. Nodes: ``input`` -> (``conv_i`` -> ``conv_lif_i``)
    x 3 -> ``flatten`` (CNN) -> (``fc_i`` Affine -> ``lif_i`` LIF) per hidden layer -> decoder
    (``decoder_fc`` Affine, then ``decoder_li`` LI for the membrane decoder, ``decoder_lif`` LIF
    for the spike-count decoder, ``decoder_lif`` + ``decoder_pop`` Affine for the population
    decoder) -> ``output``. Every neuron parameter is expanded to its layer's shape.

    ``graph.metadata`` makes the graph self-describing: ``num_steps`` (T), ``dt`` (the step the
    time constants assume), ``input_encoding`` (``"constant"``: the same input at every step),
    ``readout`` (how the output node's T values become the output: ``"max"``, ``"mean"``,
    ``"last"``, ``"spike_count_plus_membrane"``) with ``readout_node``, ``preprocess`` (how an
    observation becomes the input) and ``postprocess`` (how the output becomes the action: tanh and
    rescaling, clipping, arg-max), ``reset_mechanism``, ``exact``. :func:`simulate` follows them.

    :param model: a trained spiking SB3 algorithm (or its policy).
    :param allow_reset_mismatch: export a ``reset_mechanism="subtract"`` network as reset-to-zero
        (NIR has no subtractive reset) instead of raising; the action agreement between the graph
        and ``model.predict`` is measured and stored in ``graph.metadata["reset_mismatch"]`` (and
        warned about).
    :param observations: raw observations for that measurement (default: 256 samples of the
        observation space; pass observations from the environment for a meaningful number).
    :param vec_normalize: a ``VecNormalize`` whose observation statistics the model was trained
        with: written into ``metadata["preprocess"]["normalize"]`` (the graph's reader applies them).
    :raises ValueError: for models, options, encoders or decoders NIR cannot express (the message
        says which option and what to use instead).
    """
    nir = _import_nir()
    acting = _acting_network(model)
    lifs = _exportable_lifs(acting.body, allow_reset_mismatch)
    if vec_normalize is not None and getattr(vec_normalize, "norm_obs", False):
        rms = vec_normalize.obs_rms
        if isinstance(rms, dict):
            raise _unsupported("VecNormalize over Dict observations is not exported")
        acting.preprocess["normalize"] = {
            "mean": np.asarray(rms.mean, dtype=np.float64),
            "var": np.asarray(rms.var, dtype=np.float64),
            "epsilon": float(vec_normalize.epsilon),
            "clip_obs": float(vec_normalize.clip_obs),
            "description": "first: obs = clip((obs - mean) / sqrt(var + epsilon), -clip_obs, clip_obs) (VecNormalize)",
        }
    nodes, edges, readout, readout_node, n_out = _build_graph(nir, acting)
    resets = sorted({m.reset_mechanism for m in lifs})
    import sb3_spiking

    metadata: dict[str, Any] = {
        "producer": f"sb3-spiking {sb3_spiking.__version__}",
        "algorithm": acting.algorithm,
        "network": acting.network,
        "num_steps": int(acting.body.num_steps),
        "dt": DT,
        "time_stepping": (
            "every state starts at 0; at each of num_steps steps every node runs once in graph order on the "
            "current step's input (no delay on edges); LIF/LI/IF/I take one forward-Euler step of dt: "
            "v <- v + dt/tau * (v_leak - v + r * I) (IF/I: v <- v + dt * r * I); a LIF/IF neuron spikes "
            "(output 1, else 0) when v > v_threshold and its v is then set to v_reset"
        ),
        "input_encoding": "constant",
        "readout": readout,
        "readout_node": readout_node,
        "readout_description": _READOUT_WHY[readout],
        "n_outputs": int(n_out),
        "reset_mechanism": resets[0] if len(resets) == 1 else ",".join(resets),
        "exact": resets == ["zero"],
        "preprocess": acting.preprocess,
        "postprocess": acting.postprocess,
    }
    if acting.notes:
        metadata["notes"] = "; ".join(acting.notes)
    graph = nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata)
    if resets != ["zero"]:
        metadata["reset_mismatch"] = _reset_mismatch(model, graph, observations)
        m = metadata["reset_mismatch"]
        warnings.warn(
            f"Exported a reset_mechanism='subtract' network as reset-to-zero (NIR has no subtractive reset): "
            f"the graph's action agrees with predict on {100 * m['action_agreement']:.1f}% of "
            f"{m['n_observations']} observations ({m['observations']})",
            stacklevel=2,
        )
    return graph


def _reset_mismatch(model: Any, graph: Any, observations: np.ndarray | None) -> dict[str, Any]:
    """How often the reset-to-zero graph gives ``predict``'s action."""
    from sb3_spiking.export.simulator import simulate

    policy = getattr(model, "policy", model)
    source = "given"
    if observations is None:
        space = policy.observation_space
        space.seed(0)
        observations = np.stack([space.sample() for _ in range(256)])
        source = "256 samples of the observation space"
    observations = np.asarray(observations)
    expected, _ = policy.predict(observations, deterministic=True)
    got = simulate(graph, observations).actions
    expected = np.asarray(expected).reshape(len(observations), -1)
    got = np.asarray(got).reshape(len(observations), -1)
    if graph.metadata["postprocess"]["type"] == "box":
        diff = np.abs(expected.astype(np.float64) - got).max(axis=1)
        agree = diff <= 1e-4
        extra = {"max_abs_action_difference": float(diff.max()), "mean_abs_action_difference": float(diff.mean())}
    else:
        agree = (expected == got).all(axis=1)
        extra = {}
    return {
        "action_agreement": float(agree.mean()),
        "n_observations": len(observations),
        "observations": source,
        "rule": "Box: every action component within 1e-4; discrete: the same action",
        **extra,
    }
