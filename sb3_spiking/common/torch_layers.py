"""Features extractors for spiking policies."""

from __future__ import annotations

import torch as th
from gymnasium import spaces
from stable_baselines3.common.preprocessing import (
    is_image_space,
    is_image_space_channels_first,
)
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor


def check_image_space(observation_space: spaces.Space, normalized_image: bool = False, who: str = "CnnPolicy") -> None:
    """Raise a clear ``ValueError`` unless ``observation_space`` is a channel-first image space.

    :param normalized_image: images are taken as they come (dtype and bounds not checked; SB3's
        policies set it when ``normalize_images=False``).
    :param who: named in the message (e.g. ``"DSQN's CnnPolicy"``).
    """
    if not isinstance(observation_space, spaces.Box) or len(observation_space.shape) != 3:
        raise ValueError(
            f"{who} expects image observations (a Box of shape (C, H, W)), got {observation_space}; "
            "use 'MlpPolicy' for vector observations or 'MultiInputPolicy' for Dict observations"
        )
    if not is_image_space(observation_space, check_channels=False, normalized_image=normalized_image):
        raise ValueError(
            f"{who} expects uint8 images with values in [0, 255], got {observation_space} "
            f"(dtype {observation_space.dtype}). For images the policy should not scale by 1/255 (float "
            "images of any range, e.g. VecNormalize'd), pass policy_kwargs=dict(normalize_images=False)"
        )
    if not is_image_space_channels_first(observation_space):
        raise ValueError(
            f"{who} expects channel-first images (C, H, W), got shape {observation_space.shape}, which looks "
            "channel-last (H, W, C). SB3 models transpose image envs themselves (VecTransposeImage); "
            "wrap the env with VecTransposeImage when you build the policy yourself"
        )


class ImageInput(BaseFeaturesExtractor):
    """Hands (preprocessed) images on unchanged, for networks that take pixels directly.

    Spiking CNNs such as :class:`~sb3_spiking.snn.SpikingNatureCNN` own their convolutions (they
    must be spiking, and the first one runs once per forward), so the "features" are the images.

    :param observation_space: channel-first image space (checked, with a clear error).
    :param features_dim: width of the first fully-connected spiking layer after the convolutions
        (512, the Nature DQN's fc1, by default); it plays the role of NatureCNN's ``features_dim``.
    :param normalized_image: images are taken as they come, any dtype and range (set by the
        policy when ``normalize_images=False``, as SB3 does for its ``NatureCNN``).
    """

    def __init__(self, observation_space: spaces.Box, features_dim: int = 512, normalized_image: bool = False) -> None:
        check_image_space(observation_space, normalized_image, who="A spiking CnnPolicy")
        super().__init__(observation_space, features_dim)
        self.image_shape = tuple(int(v) for v in observation_space.shape)

    def forward(self, observations: th.Tensor) -> th.Tensor:
        return observations
