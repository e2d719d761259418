"""Spiking bodies: encoder -> (synaptic layer -> LIF) x L -> decoder, time-first."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn
from torch.nn.modules.module import _global_forward_hooks, _global_forward_pre_hooks

from sb3_spiking.snn.decoders import PopulationDecoder, make_decoder
from sb3_spiking.snn.encoders import _linear_numpy, make_encoder
from sb3_spiking.snn.neurons import make_hidden_units
from sb3_spiking.snn.options import SpikingOptions
from sb3_spiking.snn.validation import check_int


def check_finite_input(x: torch.Tensor, what: str = "observations") -> None:
    """Raise a clear error instead of silently propagating NaN/inf through T time steps.

    A sum is NaN/inf whenever an element is (inf - inf = NaN), and costs one reduction instead of
    the several ops of ``isfinite(x).all()`` (3 us against 14 us at batch 1, where it runs on
    every environment step); the exact check only runs to rule out an overflowing sum.
    """
    if math.isfinite(float(x.detach().sum())):
        return
    if not bool(torch.isfinite(x).all()):
        raise ValueError(
            f"The spiking network received {what} containing NaN or inf; "
            "check the environment (or wrap it with VecCheckNan to find the step)."
        )


#: Init assumptions (see :func:`init_synapse`): fraction of spiking inputs active per step, and the
#: target spread of the accumulated membrane in units of the threshold. Chosen by measuring
#: per-layer firing at init over encoders, depths 2-3, T in {5, 8, 64}, beta in {0.5, 0.9}: with
#: these values every layer fires at 5-30% (PyTorch's default init leaves layer 2 at ~0-2%).
INIT_INPUT_RATE = 0.2
INIT_GAIN = 2.0


def init_synapse(
    layer: nn.Linear | nn.Conv2d,
    threshold: float,
    beta: float,
    num_steps: int,
    spike_input: bool,
    input_power: float = 1.0,
) -> None:
    """Initialise a synaptic layer so that its LIF neurons fire at start.

    Weights ~ N(0, std^2) with ``std = gain * threshold / (g_T * sqrt(fan_in * p))``, where
    ``g_T = sum_{k<T} beta^k`` is how much a constant current accumulates over T steps and ``p`` the
    assumed fraction of active inputs (``INIT_INPUT_RATE`` for spikes, ``input_power``, the mean
    square of a real-valued input, otherwise). Bias 0.
    ``fan_in`` is ``in_features`` for a linear layer and ``in_channels/groups * kh * kw`` for a conv.
    """
    gain_t = float(num_steps) if beta >= 1.0 else (1.0 - beta**num_steps) / (1.0 - beta)
    p = INIT_INPUT_RATE if spike_input else input_power
    fan_in = layer.weight[0].numel()
    std = INIT_GAIN * threshold / (gain_t * (fan_in * p) ** 0.5)
    nn.init.normal_(layer.weight, 0.0, std)
    if layer.bias is not None:
        nn.init.zeros_(layer.bias)


def mark_synapse(layer: nn.Module, spike_input: bool) -> nn.Module:
    """Tag a synaptic layer for the accounting: spike inputs cost accumulates, real inputs MACs."""
    layer.spike_input = spike_input  # type: ignore[assignment]
    return layer


def set_train_mode(module: nn.Module, mode: bool) -> None:
    """``module.train(mode)``: same effect, about 4-6x cheaper.

    SB3 switches the policy's mode before every ``predict`` and every rollout step;
    ``nn.Module.train`` recurses through ``named_modules``/``children`` generators and sets the
    flag with ``Module.__setattr__``: 150 us for a TD3 policy's actor and critic at batch 1 on the
    CI machine, a third of an ANN ``predict``. This walks ``_modules`` directly and writes the
    flag into ``__dict__`` (the same attribute ``Module.__setattr__`` writes for a bool).
    A submodule whose class overrides ``train`` with its own logic gets that ``train`` called.
    """
    if not isinstance(mode, bool):
        raise ValueError("training mode is expected to be boolean")
    stack = [module]
    while stack:
        current = stack.pop()
        train = type(current).train
        if current is not module and train is not nn.Module.train and not getattr(train, "_fast_train", False):
            current.train(mode)
            continue
        current.__dict__["training"] = mode
        stack.extend(child for child in current._modules.values() if child is not None)


@contextmanager
def numpy_inference_off(module: nn.Module) -> Iterator[None]:
    """Inside the block, every :class:`SpikingNetwork` in ``module`` runs through torch (no NumPy
    inference route), so forward hooks on its layers fire; the flags are restored afterwards.
    Used by the accounting and recording contexts, whose hooks live on the torch modules."""
    saved = []
    for mod in module.modules():
        if isinstance(mod, SpikingNetwork):
            saved.append((mod, mod.__dict__.get("numpy_inference")))
            mod.numpy_inference = False
    try:
        yield
    finally:
        for mod, flag in saved:
            if flag is None:
                del mod.numpy_inference  # back to the class default
            else:
                mod.numpy_inference = flag


#: Largest batch the NumPy inference path takes (see ``SpikingMLP.forward``).
NUMPY_MAX_BATCH = 64


def has_forward_hooks(module: nn.Module) -> bool:
    """Whether a forward hook or pre-hook is registered on ``module``, on a submodule or globally:
    then its forward must run in torch (the NumPy route would skip the hooks).

    The module list is cached on first use (a built network or policy keeps its structure);
    checking the hook dicts then costs about 1 us.
    """
    modules = module.__dict__.get("_hook_check_modules")
    if modules is None:
        modules = module.__dict__["_hook_check_modules"] = tuple(module.modules())
    return bool(_global_forward_hooks or _global_forward_pre_hooks) or any(
        m._forward_hooks or m._forward_pre_hooks for m in modules
    )


class SpikingNetwork(nn.Module):
    """Base of spiking bodies; ``ann_macs_per_sample`` is the MAC count of the same-shape ANN.

    **The NumPy inference route.** A no-grad forward of a small float32 CPU batch (what SB3's
    ``predict`` and every rollout step do at batch 1) runs in NumPy instead of torch, with the same
    result to float32 rounding (see :meth:`SpikingMLP.numpy_ready` for the measured gain). It is
    skipped whenever a forward hook or pre-hook is registered on the network, on any of its
    submodules or globally (``torch.nn.modules.module.register_module_forward_hook``), so hooks
    always fire; ``OpCounter`` and ``SpikeRecorder`` rely on that. Opt out with
    ``numpy_inference = False``, per network (``net.numpy_inference = False``) or for every
    network (``SpikingNetwork.numpy_inference = False``): every forward then runs in torch.
    """

    ann_macs_per_sample: int = 0
    numpy_inference: bool = True

    def train(self, mode: bool = True) -> SpikingNetwork:
        """Same effect as ``nn.Module.train``, about 4x cheaper (see :func:`set_train_mode`)."""
        set_train_mode(self, mode)
        return self

    train._fast_train = True  # type: ignore[attr-defined]

    # -- the dense part shared by every body: (Linear -> LIF) x L -> decoder --------------------
    fcs: nn.ModuleList
    #: the hidden units after each ``fcs`` layer: :class:`~sb3_spiking.snn.LIF` neurons, or
    #: :class:`~sb3_spiking.snn.neurons.ReLUUnits` with ``neuron="relu"``. The attribute keeps the
    #: name it had when only LIF layers existed: it is part of every saved state dict and of the
    #: layer names users log (``actor.mu.0.lifs.0``). :attr:`hidden_units` names it for what it holds.
    lifs: nn.ModuleList
    decoder: nn.Module

    @property
    def hidden_units(self) -> nn.ModuleList:
        """The hidden units after each ``fcs`` layer (LIF or ReLU units): the same list as ``lifs``."""
        return self.lifs

    def _build_head(
        self,
        in_width: int,
        first_spike_input: bool,
        hidden_sizes: Sequence[int],
        out_features: int,
        options: SpikingOptions,
        extra_synapses: Sequence[nn.Module] = (),
        first_input_power: float = 1.0,
    ) -> None:
        """Create ``fcs``/``lifs`` (one hidden layer per ``hidden_sizes`` entry) and the decoder,
        tag every synapse for the accounting and initialise the spiking ones (``init_synapse``);
        ``extra_synapses`` (e.g. convolutions before the dense part) are initialised too, and
        ``first_input_power`` is the mean square of the first synapse's real-valued input."""
        widths = [in_width, *hidden_sizes]
        spiking = options.neuron == "lif"  # "relu": real-valued hidden units (an ablation)
        self.fcs = nn.ModuleList(
            mark_synapse(nn.Linear(w_in, w_out), spike_input=first_spike_input if i == 0 else spiking)
            for i, (w_in, w_out) in enumerate(itertools.pairwise(widths))
        )
        self.lifs = nn.ModuleList(make_hidden_units(options.neuron, w, **options.neuron_kwargs()) for w in hidden_sizes)
        self.decoder = make_decoder(
            options.decoder,
            hidden_sizes[-1],
            out_features,
            options.num_steps,
            readout=options.membrane_readout,
            neuron_kwargs=options.neuron_kwargs(),
            **(options.decoder_kwargs or {}),
        )
        for module in self.decoder.modules():
            if isinstance(module, nn.Linear):
                mark_synapse(module, spike_input=spiking)
        if not spiking:
            return  # ReLU units: keep PyTorch's default init, as an ANN would
        spiking_synapses = [*extra_synapses, *self.fcs]
        if isinstance(self.decoder, PopulationDecoder):
            spiking_synapses.append(self.decoder.linear)
        for i, layer in enumerate(spiking_synapses):
            power = first_input_power if i == 0 else 1.0
            init_synapse(layer, options.threshold, options.beta, options.num_steps, layer.spike_input, power)

    def _run_dense(self, h: torch.Tensor, constant: bool) -> torch.Tensor:
        """Spikes ``[T, B, H_last]`` of the dense layers; ``h`` is ``[B, F]`` when ``constant`` (the
        first layer then runs once), else ``[T, B, F]`` (each layer runs once on all T*B rows)."""
        for fc, units in zip(self.fcs, self.hidden_units, strict=True):
            if constant:
                h = units(fc(h), self.num_steps)
                constant = False
            else:
                steps, batch = h.shape[:2]
                h = units(fc(h.flatten(0, 1)).view(steps, batch, -1))
        return h


class SpikingMLP(SpikingNetwork):
    """Spiking multi-layer perceptron ``[B, in] -> [B, out]``.

    Each hidden layer applies its ``Linear`` to all ``T*B`` rows in one call and then runs only the
    element-wise LIF recurrence over T. When the encoder output is constant over time (direct
    coding) the first ``Linear`` runs once on ``[B, in]``. No state survives a call.

    :param in_features: input width.
    :param out_features: output width (what an ANN head would output, before any squashing).
    :param hidden_sizes: widths of the spiking hidden layers (at least one).
    :param options: spiking options (T, coding, neuron parameters).
    :param obs_low: per-input lower bounds (used by rate/population encoders), optional.
    :param obs_high: per-input upper bounds, optional.
    :param check_inputs: raise on NaN/inf inputs (one reduction per forward).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        hidden_sizes: Sequence[int],
        options: SpikingOptions | None = None,
        obs_low: np.ndarray | torch.Tensor | None = None,
        obs_high: np.ndarray | torch.Tensor | None = None,
        check_inputs: bool = True,
    ) -> None:
        super().__init__()
        options = options or SpikingOptions()
        hidden_sizes = [check_int("net_arch entry", h) for h in hidden_sizes]
        if len(hidden_sizes) == 0:
            raise ValueError("A spiking network needs at least one hidden layer: net_arch must not be empty")
        self.options = options
        self.num_steps = options.num_steps
        self.in_features = check_int("in_features", in_features)
        self.out_features = check_int("out_features", out_features)
        self.hidden_sizes = list(hidden_sizes)
        self.check_inputs = check_inputs

        self.encoder = make_encoder(
            options.encoder, in_features, options.num_steps, low=obs_low, high=obs_high, **(options.encoder_kwargs or {})
        )
        self._build_head(self.encoder.out_features, self.encoder.emits_spikes, self.hidden_sizes, out_features, options)
        sizes = [in_features, *hidden_sizes, out_features]
        self.ann_macs_per_sample = sum(a * b for a, b in itertools.pairwise(sizes))

    def hidden_spikes(self, x: torch.Tensor) -> torch.Tensor:
        """Spikes ``[T, B, H_last]`` of the last hidden layer."""
        if self.check_inputs:
            check_finite_input(x)
        return self._run_dense(self.encoder(x), self.encoder.constant)

    def forward(self, x: torch.Tensor, with_rates: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """The output ``[B, out]``; with ``with_rates``, also the firing rates ``[B, H_last]``
        (spike count / T) of the last hidden layer, from the same forward: the real-valued latent
        gSDE draws its noise from."""
        if with_rates:
            spikes = self.hidden_spikes(x)
            return self.decoder(spikes), spikes.mean(0)
        if self._numpy_path_ok(x):
            return torch.from_numpy(self._numpy_forward(x.detach().numpy()))
        return self.decoder(self.hidden_spikes(x))

    def forward_with_rates(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``self(x, with_rates=True)``: through ``__call__``, so the accounting's hooks see it."""
        return self(x, with_rates=True)

    def _numpy_path_ok(self, x: torch.Tensor) -> bool:
        """Small, no-grad, float32 CPU batches run in NumPy.

        Why: at batch 1 a forward is ~60 tiny tensor ops and each torch op costs ~2 us of dispatch
        against ~0.5 us for a NumPy ufunc; on the 2-core CI machine the [256, 256], T=5 actor
        takes 285 us in torch and 110 us in NumPy (batch 8: 345 vs 165; batch 64: 869 vs 583).
        SB3 runs the policy at batch 1 on every environment step and in ``predict``. Whole
        batch-1 ``predict`` calls, NumPy route against torch route (``SpikingNetwork.numpy_inference
        = False``), measured interleaved on the 2-core CI machine while two training runs loaded it
        (``python benchmarks/numpy_route.py 1000 6``): SpikingTD3 [400, 300] T=5 497 vs 1061 us
        (2.1x), DSQN CartPole [64, 64] 346 vs 736 us (2.1x), SpikingPPO CartPole 766 vs 918 us
        (1.2x: only its body takes the route). Results match the torch path to float32 rounding
        (tests/test_engine.py checks every coding); the training forward and backward always run
        in torch.
        """
        return (
            not torch.is_grad_enabled()
            and x.device.type == "cpu"
            and x.dtype == torch.float32
            and x.dim() == 2
            and self.numpy_ready(x.shape[0])
        )

    def numpy_ready(self, batch: int) -> bool:
        """Whether a no-grad forward of ``batch`` float32 rows may run in NumPy (CPU weights,
        encoder and decoder with a NumPy twin, small batch)."""
        return (
            self.numpy_inference
            and batch <= NUMPY_MAX_BATCH
            and not has_forward_hooks(self)
            and hasattr(self.decoder, "numpy_forward")
            and self.encoder.numpy_ready()
            and self.fcs[0].weight.device.type == "cpu"
        )

    def _numpy_forward(self, obs: np.ndarray) -> np.ndarray:
        if self.check_inputs and not np.isfinite(obs.sum()) and not np.isfinite(obs).all():
            check_finite_input(torch.from_numpy(obs))  # raises with the usual message
        encoder = self.encoder
        h = encoder.numpy_forward(obs)
        constant = encoder.constant
        for fc, units in zip(self.fcs, self.hidden_units, strict=True):
            if constant:
                h = units.numpy_forward(_linear_numpy(fc, h), self.num_steps)
                constant = False
            else:
                steps, batch = h.shape[:2]
                h = units.numpy_forward(_linear_numpy(fc, h.reshape(steps * batch, -1)).reshape(steps, batch, -1))
        return self.decoder.numpy_forward(h)


# The spiking Nature CNN lives in cnn.py; these names stay importable from here.
from sb3_spiking.snn.cnn import NATURE_CNN_CONVS as NATURE_CNN_CONVS  # noqa: E402
from sb3_spiking.snn.cnn import PIXEL_POWER as PIXEL_POWER  # noqa: E402
from sb3_spiking.snn.cnn import SpikingNatureCNN as SpikingNatureCNN  # noqa: E402
