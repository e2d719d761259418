"""Pieces shared by the spiking value networks of discrete-action agents (DSQN, SpikingQRDQN).

Both build one spiking body that maps an observation to ``out_features`` values (Q-values, or
``n_quantiles`` quantiles per action) and accept the same three observation kinds: vectors (a
spiking MLP on the flattened features), Dict observations (SB3's ``CombinedExtractor`` feeding a
spiking MLP) and images (the spiking Nature CNN on the pixels, through ``ImageInput``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from gymnasium import spaces
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor, CombinedExtractor, NatureCNN
from torch import nn

from sb3_spiking.common.mixins import SpikingPolicyMixin, with_features_extractor
from sb3_spiking.common.options import flat_feature_bounds
from sb3_spiking.common.torch_layers import ImageInput
from sb3_spiking.snn import SpikingMLP, SpikingNatureCNN, SpikingNetwork, SpikingOptions


def spiking_value_body(
    observation_space: spaces.Space,
    features_extractor: BaseFeaturesExtractor,
    features_dim: int,
    out_features: int,
    net_arch: list[int],
    options: SpikingOptions,
    normalize_images: bool = True,
) -> SpikingNetwork:
    """The spiking network ``features -> [B, out_features]`` of a value network.

    - ``ImageInput`` extractor (pixels): a :class:`~sb3_spiking.snn.SpikingNatureCNN` with fc
      layers ``[features_dim, *net_arch]`` (Nature DQN: ``[512]``);
    - any other extractor: a :class:`~sb3_spiking.snn.SpikingMLP` with hidden widths ``net_arch``
      (the encoders get the features' bounds where they are known).
    """
    if isinstance(features_extractor, ImageInput):
        return SpikingNatureCNN(features_extractor.image_shape, out_features, [features_dim, *net_arch], options)
    low, high = flat_feature_bounds(observation_space, features_extractor, normalize_images)
    return SpikingMLP(features_dim, out_features, net_arch, options, low, high)


def init_spiking_value_network(
    network: BasePolicy,
    out_features: int,
    observation_space: spaces.Space,
    action_space: spaces.Discrete,
    features_extractor: BaseFeaturesExtractor,
    features_dim: int,
    net_arch: list[int] | None = None,
    activation_fn: type[nn.Module] = nn.ReLU,
    normalize_images: bool = True,
    spiking_options: SpikingOptions | None = None,
) -> SpikingNetwork:
    """The ``__init__`` that DSQN's Q-network and SpikingQRDQN's quantile network share:
    ``BasePolicy.__init__`` (skipping SB3's own ``__init__``, which builds the ANN this class
    replaces), the attributes SB3 sets (``net_arch`` defaults to ``[64, 64]``, as SB3's) plus
    ``spiking_options``; returns the spiking body (:func:`spiking_value_body`) with
    ``out_features`` outputs, for the caller to store under SB3's attribute name."""
    BasePolicy.__init__(
        network, observation_space, action_space, features_extractor=features_extractor, normalize_images=normalize_images
    )
    network.net_arch = [64, 64] if net_arch is None else list(net_arch)
    network.activation_fn = activation_fn
    network.features_dim = features_dim
    network.spiking_options = spiking_options or SpikingOptions()
    return spiking_value_body(
        observation_space,
        features_extractor,
        features_dim,
        out_features,
        network.net_arch,
        network.spiking_options,
        normalize_images,
    )


def image_input_arguments(
    spiking: bool,
    features_extractor_class: type[BaseFeaturesExtractor],
    features_extractor_kwargs: dict[str, Any] | None,
    normalize_images: bool,
    net_arch: list[int] | None,
    ann_image_extractor: type[BaseFeaturesExtractor] = NatureCNN,
) -> tuple[type[BaseFeaturesExtractor], dict[str, Any] | None, list[int] | None]:
    """``(features_extractor_class, features_extractor_kwargs, net_arch)`` for the SB3 policy
    constructor, with the ``CnnPolicy`` (``ImageInput``) rules of the spiking value policies:

    - ``normalize_images=False``: images are taken as they come (any dtype, any range: float,
      VecNormalize'd, ...), SB3's rule for its ``NatureCNN``; a spiking CNN takes them as an input
      current, which can be any real value;
    - ``net_arch`` defaults to ``[]`` (as SB3's ``CnnPolicy``: outputs straight after fc1);
    - the ANN twin (``spiking=False``) gets ``ann_image_extractor`` (SB3's ``NatureCNN``) instead,
      with the keyword arguments it understands.

    Other extractors pass through unchanged.
    """
    if not issubclass(features_extractor_class, ImageInput):
        return features_extractor_class, features_extractor_kwargs, net_arch
    if not normalize_images:
        features_extractor_kwargs = {**(features_extractor_kwargs or {}), "normalized_image": True}
    if net_arch is None:
        net_arch = []
    if not spiking:
        features_extractor_class = ann_image_extractor
        features_extractor_kwargs = {
            k: v for k, v in (features_extractor_kwargs or {}).items() if k in ("features_dim", "normalized_image")
        }
    return features_extractor_class, features_extractor_kwargs, net_arch


class SpikingValuePolicyMixin(SpikingPolicyMixin):
    """Constructor rules of the spiking value policies (DSQN, SpikingQRDQN): ``spiking_critic`` is
    refused (the value network *is* the spiking network) and ``CnnPolicy`` arguments follow
    :func:`image_input_arguments`. Put it first in the bases, before the SB3 policy class."""

    #: features extractor that replaces ``ImageInput`` for the ANN twin (``spiking=False``)
    ann_image_extractor: ClassVar[type[BaseFeaturesExtractor]] = NatureCNN
    #: the algorithm and its value network, as the ``spiking_critic`` error names them
    algorithm_name: ClassVar[str]
    value_network_name: ClassVar[str]

    def _sb3_arguments(self, arguments: dict[str, Any]) -> dict[str, Any]:
        if self.spiking_critic:
            raise ValueError(
                f"spiking_critic does not apply to {self.algorithm_name}: its {self.value_network_name} is the "
                "spiking network (drop the option)"
            )
        extractor_class, extractor_kwargs, net_arch = image_input_arguments(
            self.spiking,
            arguments["features_extractor_class"],
            arguments["features_extractor_kwargs"],
            arguments["normalize_images"],
            arguments["net_arch"],
            self.ann_image_extractor,
        )
        return {
            **arguments,
            "features_extractor_class": extractor_class,
            "features_extractor_kwargs": extractor_kwargs,
            "net_arch": net_arch,
        }

    def _numpy_net(self, deterministic: bool) -> tuple[Any, Any]:
        # SB3 names the value network and its body alike: policy.q_net.q_net, .quantile_net.quantile_net
        (name,) = self.training_mode_parts
        network = getattr(self, name)
        return network.features_extractor, getattr(network, name)

    def _make_spiking_value_net(self, network_class: type[nn.Module]) -> nn.Module:
        """``network_class`` built from SB3's ``net_args`` with a fresh features extractor, on the
        policy's device (the body of SB3's ``make_q_net``/``make_quantile_net``)."""
        net_args = self._update_features_extractor(self.net_args, features_extractor=None)
        return network_class(**net_args, spiking_options=self.spiking_options).to(self.device)


def value_policy_variants(policy: type) -> tuple[type, type, type]:
    """``(MlpPolicy, CnnPolicy, MultiInputPolicy)`` of a spiking value policy: ``policy`` itself, ``policy`` with the
    ``ImageInput`` extractor (the spiking Nature CNN on the pixels) and with SB3's
    ``CombinedExtractor`` (Dict observations), as SB3 names its variants."""
    name = policy.__name__
    cnn = with_features_extractor(
        policy,
        ImageInput,
        "CnnPolicy",
        f""":class:`{name}` with the spiking Nature CNN on the pixels (direct input: the first
    convolution runs once per forward). ``features_extractor_kwargs=dict(features_dim=512)`` sets
    the fc1 width; ``net_arch`` adds spiking fc layers after it (default none).""",
    )
    multi_input = with_features_extractor(
        policy,
        CombinedExtractor,
        "MultiInputPolicy",
        f""":class:`{name}` for Dict observations: SB3's ``CombinedExtractor`` (an ANN CNN for
    image keys, flatten for the others) feeding a spiking MLP.""",
    )
    return policy, cnn, multi_input
