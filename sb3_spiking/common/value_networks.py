"""Pieces shared by the spiking value networks of discrete-action agents (DSQN, SpikingQRDQN).

Both build one spiking body that maps an observation to ``out_features`` values (Q-values, or
``n_quantiles`` quantiles per action) and accept the same three observation kinds: vectors (a
spiking MLP on the flattened features), Dict observations (SB3's ``CombinedExtractor`` feeding a
spiking MLP) and images (the spiking Nature CNN on the pixels, through ``ImageInput``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from gymnasium import spaces
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor, NatureCNN

from sb3_spiking.common.mixins import SpikingPolicyMixin
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
