"""The spiking Nature CNN (Mnih et al., 2015's convolutions with LIF neurons): pixels in, values out."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import nn

from sb3_spiking.snn.network import SpikingNetwork, check_finite_input, mark_synapse
from sb3_spiking.snn.neurons import LIF
from sb3_spiking.snn.options import SpikingOptions
from sb3_spiking.snn.validation import check_int

#: (out_channels, kernel, stride) of the Nature-DQN convolutions (Mnih et al., 2015).
NATURE_CNN_CONVS = ((32, 8, 4), (64, 4, 2), (64, 3, 1))


#: Mean square of scaled Atari frames assumed by the conv1 init (measured on frame-stacked
#: pixels / 255 under random play: Pong 0.21, Breakout 0.08, SpaceInvaders 0.015).
PIXEL_POWER = 0.1


class SpikingNatureCNN(SpikingNetwork):
    """The Nature-DQN network, spiking: ``[B, C, H, W] -> [B, out]``.

    conv 32/8/4 -> LIF -> conv 64/4/2 -> LIF -> conv 64/3/1 -> LIF -> (Linear -> LIF) per
    ``hidden_sizes`` (``[512]`` is the Nature fc1) -> decoder (readout of DSQN: ``"membrane"``,
    Chen et al.; ``"rate"``, Liu et al.; or ``"learnable"``/``"population"``).

    Pixels enter directly as a constant input current, so the first convolution runs once per
    forward, not T times; every later layer runs once on all ``T*B`` rows. Conv LIF neurons have
    one ``beta``/``threshold`` per channel (shape ``(C, 1, 1)``).

    :param image_shape: ``(C, H, W)``, channel first, already scaled (e.g. pixels / 255).
    :param out_features: outputs (Q-values: number of actions).
    :param hidden_sizes: widths of the spiking fully-connected layers after the convolutions.
    :param options: spiking options; the encoder must be ``"direct"``.
    :param check_inputs: raise on NaN/inf inputs.
    """

    def __init__(
        self,
        image_shape: Sequence[int],
        out_features: int,
        hidden_sizes: Sequence[int] = (512,),
        options: SpikingOptions | None = None,
        check_inputs: bool = True,
    ) -> None:
        super().__init__()
        options = options or SpikingOptions()
        if options.encoder != "direct":
            raise ValueError(
                f"The spiking CNN takes pixels as a constant input current: encoder must be 'direct', "
                f"got {options.encoder!r} (rate/learnable/population encoders are for vector observations)"
            )
        if options.neuron != "lif":
            raise ValueError(f"The spiking CNN supports neuron='lif' only, got neuron={options.neuron!r}")
        if len(image_shape) != 3:
            raise ValueError(f"image_shape must be (channels, height, width), got {tuple(image_shape)}")
        channels, height, width = (check_int("image_shape entry", v) for v in image_shape)
        hidden_sizes = [check_int("hidden size", h) for h in hidden_sizes]
        if not hidden_sizes:
            raise ValueError("The spiking CNN needs at least one fully-connected spiking layer (e.g. [512])")
        self.options = options
        self.num_steps = options.num_steps
        self.image_shape = (channels, height, width)
        self.out_features = check_int("out_features", out_features)
        self.hidden_sizes = hidden_sizes
        self.check_inputs = check_inputs

        convs, lifs, ann_macs = [], [], 0
        in_c, h, w = channels, height, width
        for i, (out_c, kernel, stride) in enumerate(NATURE_CNN_CONVS):
            h, w = (h - kernel) // stride + 1, (w - kernel) // stride + 1
            if h < 1 or w < 1:
                raise ValueError(
                    f"Images of shape {self.image_shape} are too small for the Nature CNN (needs at least 36x36 pixels)"
                )
            convs.append(mark_synapse(nn.Conv2d(in_c, out_c, kernel, stride), spike_input=i > 0))
            lifs.append(LIF((out_c, 1, 1), **options.neuron_kwargs()))
            ann_macs += out_c * h * w * in_c * kernel * kernel
            in_c = out_c
        self.convs = nn.ModuleList(convs)
        self.conv_lifs = nn.ModuleList(lifs)
        self.n_flatten = in_c * h * w
        self._build_head(
            self.n_flatten, True, hidden_sizes, out_features, options, extra_synapses=convs, first_input_power=PIXEL_POWER
        )
        sizes = [self.n_flatten, *hidden_sizes, out_features]
        self.ann_macs_per_sample = ann_macs + sum(a * b for a, b in itertools.pairwise(sizes))

    def hidden_spikes(self, x: torch.Tensor) -> torch.Tensor:
        """Spikes ``[T, B, hidden_sizes[-1]]`` of the last fully-connected layer."""
        if self.check_inputs:
            check_finite_input(x)
        steps, batch = self.num_steps, x.shape[0]
        h = self.conv_lifs[0](self.convs[0](x), steps)  # constant current: conv1 once
        for conv, lif in zip(self.convs[1:], self.conv_lifs[1:], strict=True):
            current = conv(h.flatten(0, 1))
            h = lif(current.view(steps, batch, *current.shape[1:]))
        return self._run_dense(h.flatten(2), constant=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.hidden_spikes(x))
