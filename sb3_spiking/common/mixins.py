"""The mixins every spiking policy and algorithm class is built from (put them first in the bases).

- :class:`SpikingPolicyMixin`: parses, validates and stores the spiking options of a policy, and
  saves them with it; :class:`SpikingActorCriticNetworksMixin` (TD3/SAC/TQC's ``make_actor``/
  ``make_critic``) and :class:`SpikingModelMixin` (the networks inside a policy) build on it;
- :class:`SpikingAlgorithmMixin`: the algorithm side (action-space check, resolved options
  written back into ``policy_kwargs``, ``load`` that accepts the dict a model was built with).
"""

from __future__ import annotations

import inspect
import io
import pathlib
import warnings
import zipfile
from typing import Any, ClassVar

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.base_class import maybe_make_env
from stable_baselines3.common.save_util import json_to_data, open_path
from stable_baselines3.common.type_aliases import GymEnv

from sb3_spiking.common import fast_predict
from sb3_spiking.common.options import RL_KEYS, SPIKING_KEYS, _constructor_parameters
from sb3_spiking.snn.network import has_forward_hooks, set_train_mode
from sb3_spiking.snn.options import SpikingOptions
from sb3_spiking.snn.validation import check_bool


class SpikingPolicyMixin:
    """Parses and stores the spiking options of a policy; used by every spiking policy class.

    Put the mixin first in the bases, before the SB3 policy class. Its constructor takes the SB3
    class's parameters plus the spiking options: every keyword the SB3 constructor does not name is
    a spiking option (an unknown one gets an error listing them). It resolves them *before* the SB3
    constructor builds the networks, then calls it with the arguments :meth:`_sb3_arguments` returns
    (the hook where a policy adjusts SB3's arguments, e.g. a default ``net_arch`` for a spiking
    body). A subclass that needs its own constructor calls :meth:`_init_spiking` first, then SB3's.
    ``_get_constructor_parameters`` adds every spiking option to SB3's (``save``/``load`` then
    restore them all). ``spiking_defaults`` holds an algorithm's own defaults, if it needs any.
    """

    spiking_defaults: ClassVar[dict[str, Any]] = {}
    spiking_options: SpikingOptions
    spiking: bool
    spiking_critic: bool

    @classmethod
    def _resolve_spiking(cls, spiking_kwargs: dict[str, Any]) -> tuple[SpikingOptions, bool, bool]:
        """(options, spiking, spiking_critic) from the spiking keys of ``policy_kwargs`` and this
        class's ``spiking_defaults``; the one place where the spiking options are resolved."""
        unknown = set(spiking_kwargs) - set(SPIKING_KEYS)
        if unknown:
            raise TypeError(
                f"{cls.__name__} got unknown policy_kwargs {sorted(unknown)}; "
                f"spiking options are: {', '.join(SPIKING_KEYS)} (plus SB3's own, e.g. net_arch)"
            )
        merged = {**cls.spiking_defaults, **spiking_kwargs}
        spiking = check_bool("spiking", merged.pop("spiking", True))
        spiking_critic = check_bool("spiking_critic", merged.pop("spiking_critic", False))
        options = SpikingOptions(**merged)
        if not spiking:
            # The ANN twin has no spiking options: say so for any that would change the network
            # (values equal to the defaults, as a reload's resolved options are, say nothing).
            defaults = SpikingOptions(**{k: v for k, v in cls.spiking_defaults.items() if k not in RL_KEYS})
            ignored = sorted(k for k, v in merged.items() if getattr(defaults, k) != getattr(options, k))
            if ignored or spiking_critic:
                warnings.warn(
                    f"{cls.__name__}: spiking=False builds the plain SB3 (ANN) networks, which ignore "
                    f"{', '.join(ignored + (['spiking_critic'] if spiking_critic else []))}",
                    UserWarning,
                    stacklevel=2,
                )
        return options, spiking, spiking_critic

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if "spiking_options" in self.__dict__:  # a subclass constructor resolved them (_init_spiking)
            super().__init__(*args, **kwargs)  # type: ignore[call-arg]
            return
        signature = inspect.signature(super().__init__)  # the SB3 policy class's constructor
        self._init_spiking({k: kwargs.pop(k) for k in list(kwargs) if k not in signature.parameters})
        arguments = signature.bind(*args, **kwargs)
        arguments.apply_defaults()
        super().__init__(**self._sb3_arguments(dict(arguments.arguments)))  # type: ignore[call-arg]

    def _sb3_arguments(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """The SB3 constructor's arguments (every parameter, by name), adjusted for this policy;
        the spiking options are resolved already (``self.spiking``, ``self.spiking_options``)."""
        return arguments

    def _init_spiking(self, spiking_kwargs: dict[str, Any]) -> None:
        self.spiking_options, self.spiking, self.spiking_critic = self._resolve_spiking(spiking_kwargs)

    @classmethod
    def resolve_policy_kwargs(cls, policy_kwargs: dict[str, Any]) -> dict[str, Any]:
        """``policy_kwargs`` with its spiking options resolved as a model of this policy class
        stores them (every option, defaults included): what ``SpikingAlgorithmMixin`` writes back.
        Raises the usual errors for invalid options."""
        spiking = {k: v for k, v in policy_kwargs.items() if k in SPIKING_KEYS}
        options, spiking_, spiking_critic = cls._resolve_spiking(spiking)
        resolved = {k: v for k, v in policy_kwargs.items() if k not in SPIKING_KEYS}
        return {**resolved, **_constructor_parameters(options, spiking_, spiking_critic)}

    #: What SB3's ``set_training_mode`` of the base policy switches: the submodules named here
    #: (TD3/SAC: ``actor`` and ``critic``, not the targets; DQN: ``q_net``), or the whole policy
    #: when the tuple is empty (``BasePolicy``'s rule).
    training_mode_parts: ClassVar[tuple[str, ...]] = ()

    def set_training_mode(self, mode: bool) -> None:
        """Same effect as SB3's ``set_training_mode`` of the base policy, 4-6x cheaper
        (:func:`~sb3_spiking.snn.network.set_train_mode`); it runs before every ``predict``."""
        for part in self.training_mode_parts or (None,):
            set_train_mode(self if part is None else getattr(self, part), mode)  # type: ignore[arg-type]
        self.__dict__["training"] = mode

    def predict(
        self,
        observation: Any,
        state: tuple[np.ndarray, ...] | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
        **kwargs: Any,
    ) -> tuple[Any, tuple[np.ndarray, ...] | None]:
        """SB3's ``predict``; small vector-observation batches on the CPU take a NumPy route with
        the same result (see :mod:`sb3_spiking.common.fast_predict`). Extra keyword arguments
        (e.g. MaskablePPO's ``action_masks``) go to the base policy's ``predict``."""
        actions = None if kwargs else self._numpy_predict(observation, deterministic)
        if actions is None:
            return super().predict(observation, state, episode_start, deterministic, **kwargs)  # type: ignore[misc]
        return actions, state

    def _numpy_predict(self, observation: Any, deterministic: bool) -> np.ndarray | None:
        """Actions for ``observation`` without torch, or None where only SB3's route applies."""
        net = self._numpy_net(deterministic) if self.spiking else None
        if net is None or has_forward_hooks(self):  # type: ignore[arg-type]  # hooks must fire: SB3's route
            return None
        batch = fast_predict.numpy_observation(self, net[0], observation)
        if batch is None or not fast_predict.ready(net[1], batch[0].shape[0]):
            return None
        if self.training:  # type: ignore[attr-defined]
            self.set_training_mode(False)  # SB3's predict leaves the policy in eval mode
        with torch.no_grad():  # large products inside the NumPy route still call torch
            out = net[1]._numpy_forward(batch[0])
        return self._numpy_actions(out, batch[1])

    def _numpy_net(self, deterministic: bool) -> tuple[Any, Any] | None:
        """(features extractor, spiking body) of the NumPy route, or None: no such route."""
        return None

    def _numpy_actions(self, out: np.ndarray, vectorized: bool) -> np.ndarray:
        """Actions from the spiking body's output ``[n, out]`` (the tail of SB3's ``predict``)."""
        raise NotImplementedError

    def _spiking_constructor_parameters(self) -> dict[str, Any]:
        return _constructor_parameters(self.spiking_options, self.spiking, self.spiking_critic)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()  # type: ignore[misc]
        data.update(self._spiking_constructor_parameters())
        return data


class SpikingActorCriticNetworksMixin(SpikingPolicyMixin):
    """``make_actor``/``make_critic`` of the off-policy actor-critic policies (TD3/DDPG, SAC, TQC):
    the spiking actor replaces SB3's when ``spiking``, the spiking critic SB3's when ``spiking``
    and ``spiking_critic``; both are built from SB3's own ``actor_kwargs``/``critic_kwargs``."""

    #: spiking networks of the concrete policy (built with the SB3 policy's actor/critic kwargs)
    spiking_actor_class: ClassVar[type[torch.nn.Module]]
    spiking_critic_class: ClassVar[type[torch.nn.Module]]
    training_mode_parts = ("actor", "critic")
    actor_kwargs: dict[str, Any]
    critic_kwargs: dict[str, Any]

    def make_actor(self, features_extractor: Any = None) -> Any:
        if not self.spiking:
            return super().make_actor(features_extractor)  # type: ignore[misc]
        actor_kwargs = self._update_features_extractor(self.actor_kwargs, features_extractor)  # type: ignore[attr-defined]
        return self.spiking_actor_class(**actor_kwargs, spiking_options=self.spiking_options).to(self.device)  # type: ignore[attr-defined]

    def make_critic(self, features_extractor: Any = None) -> Any:
        if not (self.spiking and self.spiking_critic):
            return super().make_critic(features_extractor)  # type: ignore[misc]
        critic_kwargs = self._update_features_extractor(self.critic_kwargs, features_extractor)  # type: ignore[attr-defined]
        return self.spiking_critic_class(**critic_kwargs, spiking_options=self.spiking_options).to(self.device)  # type: ignore[attr-defined]


class SpikingModelMixin:
    """For the networks inside a policy that take ``spiking_options`` (actors, Q-networks): SB3's
    ``_get_constructor_parameters`` plus those options. Put it first in the bases."""

    spiking_options: SpikingOptions

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()  # type: ignore[misc]
        data["spiking_options"] = self.spiking_options
        return data


def store_resolved_policy_kwargs(model: Any) -> None:
    """Write the resolved spiking options of ``model.policy`` (the user's choices plus this
    version's defaults) into ``model.policy_kwargs``, which SB3 saves with the model: a saved
    agent reloads with exactly the options it was trained with, even if a later release changes
    a default. Every algorithm calls it right after building its policy."""
    if isinstance(model.policy, SpikingPolicyMixin):
        model.policy_kwargs = {**model.policy_kwargs, **model.policy._spiking_constructor_parameters()}


def sb3_policy_aliases(mlp_policy: type, cnn_policy: type, multi_input_policy: type) -> dict[str, type]:
    """An algorithm's ``policy_aliases`` for SB3's three policy names."""
    return {"MlpPolicy": mlp_policy, "CnnPolicy": cnn_policy, "MultiInputPolicy": multi_input_policy}


def with_features_extractor(base: type, extractor: type, name: str, doc: str) -> type:
    """A subclass of the policy ``base`` whose default ``features_extractor_class`` is ``extractor``
    (SB3's ``CnnPolicy``/``MultiInputPolicy`` pattern), named ``name``, with docstring ``doc``."""

    def __init__(self, *args: Any, features_extractor_class: type = extractor, **kwargs: Any) -> None:
        base.__init__(self, *args, features_extractor_class=features_extractor_class, **kwargs)

    attrs = {"__init__": __init__, "__doc__": doc, "__module__": base.__module__, "__qualname__": name}
    return type(name, (base,), attrs)


def make_env_checked(algo_name: str, env: GymEnv | str | None, allowed: tuple[type[spaces.Space], ...], verbose: int = 0):
    """Make ``env`` if it is an id and check its action space, with an error naming the algorithm.

    SB3 itself only asserts (``AssertionError``) deep inside ``BaseAlgorithm.__init__``.
    """
    if env is None:
        return env
    env = maybe_make_env(env, verbose)
    if not isinstance(env.action_space, allowed):
        names = ", ".join(cls.__name__ for cls in allowed)
        raise ValueError(
            f"{algo_name} supports only {names} action spaces, but the environment has {env.action_space}"
            + (" (use DSQN or SpikingActorCriticPolicy with PPO for discrete actions)" if names == "Box" else "")
            + (" (use SpikingTD3, SpikingDDPG or SpikingSAC for continuous actions)" if names == "Discrete" else "")
        )
    return env


class SpikingAlgorithmMixin:
    """Algorithm-side glue shared by every spiking algorithm class (put it first in the bases).

    - The action space is checked before SB3's own ``assert``, with an error naming the class.
    - After the policy is built, the *resolved* spiking options (the user's choices plus this
      version's defaults) are written back into ``policy_kwargs``, which SB3 saves with the model:
      a saved agent reloads with exactly the options it was trained with, even if a later release
      changes a default.
    - ``load(path, policy_kwargs=...)`` therefore compares like with like: the given dict is
      resolved the same way before SB3's check (see :func:`match_stored_policy_kwargs`).
    """

    #: Action-space types the algorithm accepts (checked with a clear error).
    spiking_action_spaces: ClassVar[tuple[type[spaces.Space], ...]] = (spaces.Box,)
    #: ``policy_kwargs`` keys the SB3 algorithm fills in itself from its own arguments (A2C's
    #: RMSprop ``optimizer_class``/``optimizer_kwargs``, SAC's ``use_sde``, DDPG's ``n_critics``):
    #: ``load`` compares them only where the given ``policy_kwargs`` names them.
    algorithm_policy_kwargs: ClassVar[tuple[str, ...]] = ()
    policy: Any
    policy_kwargs: dict[str, Any]

    def __init__(self, policy: Any, env: GymEnv | str | None, *args: Any, **kwargs: Any) -> None:
        env = make_env_checked(type(self).__name__, env, self.spiking_action_spaces, kwargs.get("verbose", 0))
        super().__init__(policy, env, *args, **kwargs)  # type: ignore[call-arg]

    def _setup_model(self) -> None:
        super()._setup_model()  # type: ignore[misc]
        store_resolved_policy_kwargs(self)

    def _setup_learn(self, total_timesteps: int, *args: Any, **kwargs: Any) -> Any:
        """SB3's ``_setup_learn``, plus a warning when the budget ends before ``learning_starts``
        (off-policy algorithms): such a run takes no gradient step and saves an untrained agent,
        silently in SB3 (an easy mistake with RL Zoo's ``-n`` below the file's ``learning_starts``)."""
        total, callback = super()._setup_learn(total_timesteps, *args, **kwargs)  # type: ignore[misc]
        learning_starts = getattr(self, "learning_starts", None)
        if isinstance(learning_starts, int) and total <= learning_starts:
            warnings.warn(
                f"{type(self).__name__}.learn: the run ends at {total} env steps, at or before "
                f"learning_starts={learning_starts}, so no gradient step will be taken and the agent stays "
                "untrained; give a larger budget (rl_zoo3: -n) or a smaller learning_starts "
                "(rl_zoo3: -params learning_starts:1000)",
                UserWarning,
                stacklevel=4,  # the user's learn(...) (through SB3's learn methods)
            )
        return total, callback

    @classmethod
    def load(  # type: ignore[override]
        cls,
        path: str | pathlib.Path | io.BufferedIOBase,
        env: GymEnv | None = None,
        device: torch.device | str = "auto",
        custom_objects: dict[str, Any] | None = None,
        print_system_info: bool = False,
        force_reset: bool = True,
        **kwargs: Any,
    ) -> Any:
        """SB3's ``load``; a ``policy_kwargs`` that resolves to the stored (resolved) options is
        accepted, e.g. the dict the model was built with. One that differs gets SB3's error."""
        match_stored_policy_kwargs(cls, path, kwargs, custom_objects, cls.algorithm_policy_kwargs)
        return super().load(path, env, device, custom_objects, print_system_info, force_reset, **kwargs)  # type: ignore[misc]


def _stored_data(path: str | pathlib.Path | io.BufferedIOBase, custom_objects: dict[str, Any] | None) -> dict[str, Any]:
    """The class parameters of a saved model (the zip's ``data`` entry only, not the weights); a
    file object is left at the position it had, for SB3's ``load`` to read it again."""
    file = open_path(path, "r", suffix="zip")
    start = None if isinstance(path, (str, pathlib.Path)) else file.tell()
    try:
        with zipfile.ZipFile(file) as archive:
            if "data" not in archive.namelist():
                return {}
            return json_to_data(archive.read("data").decode(), custom_objects=custom_objects) or {}
    except zipfile.BadZipFile:
        return {}  # SB3's load raises its own error
    finally:
        if start is None:
            file.close()
        else:
            file.seek(start)


def match_stored_policy_kwargs(
    algo: type,
    path: str | pathlib.Path | io.BufferedIOBase,
    kwargs: dict[str, Any],
    custom_objects: dict[str, Any] | None = None,
    algorithm_keys: tuple[str, ...] = (),
) -> None:
    """Drop ``kwargs["policy_kwargs"]`` when it resolves to the ``policy_kwargs`` stored in ``path``.

    A spiking model stores its *resolved* options (every spiking option, defaults included), so
    SB3's ``load`` check ``policy_kwargs != stored`` fails for the very dict the model was built
    with. Here the given dict goes through the stored policy class's option resolution
    (:meth:`SpikingPolicyMixin.resolve_policy_kwargs`); keys in ``algorithm_keys`` that the algorithm
    filled in itself are compared only where the given dict names them. When the two agree the
    argument is dropped (the model gets the stored dict, as without the argument); otherwise it is
    left for SB3's check to reject with its usual error.
    """
    given = kwargs.get("policy_kwargs")
    if not isinstance(given, dict):
        return
    data = _stored_data(path, custom_objects)
    stored = data.get("policy_kwargs")
    policy_class = data.get("policy_class")
    if not isinstance(stored, dict):
        return
    stored = {k: v for k, v in stored.items() if k != "device"}  # as SB3's load
    if isinstance(policy_class, str):
        policy_class = getattr(algo, "policy_aliases", {}).get(policy_class)
    resolved = dict(given)
    if isinstance(policy_class, type) and issubclass(policy_class, SpikingPolicyMixin):
        try:
            resolved = policy_class.resolve_policy_kwargs(given)
        except (TypeError, ValueError):
            return  # invalid options cannot match the stored (valid) ones: SB3's error follows
    for key in algorithm_keys:
        if key in stored and key not in given:
            resolved[key] = stored[key]
    try:
        same = bool(resolved == stored)
    except Exception:
        same = False
    if same:
        del kwargs["policy_kwargs"]
