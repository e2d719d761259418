"""What every offline algorithm of the package shares: the dataset it learns from, and a
``learn`` loop of gradient steps that never steps the environment (SpikingBCQ, decision
transformers)."""

from __future__ import annotations

import sys
import time
from abc import ABC, abstractmethod
from typing import Any, ClassVar, TypeVar

import numpy as np
from stable_baselines3.common.type_aliases import GymEnv, MaybeCallback

from sb3_spiking.offline.datasets import load_dataset
from sb3_spiking.snn.validation import check_int

SelfOffline = TypeVar("SelfOffline", bound="OfflineAlgorithmMixin")


class OfflineAlgorithmMixin(ABC):
    """Dataset handling and the offline ``learn`` loop, for SB3 algorithm subclasses (put it first
    in the bases).

    Subclasses call :meth:`_init_dataset` at the start of ``__init__``, implement
    :meth:`_load_data` (read the dataset into whatever they train from) and :meth:`_data_loaded`,
    and SB3's ``train(gradient_steps, batch_size)``.

    - ``dataset`` (not saved: a ``MinariDataset`` does not pickle) and ``dataset_id`` (saved): a
      loaded model reloads its data by id when it learns again, or from ``load(..., dataset=...)``.
    - ``learn(n)`` runs ``n`` gradient steps; callbacks are called after each (so
      ``EvalCallback(eval_freq=...)`` counts gradient steps); logs every ``log_interval`` steps.
    """

    #: defaults of ``learn``'s ``log_interval`` and ``tb_log_name``
    default_log_interval: ClassVar[int] = 1000
    default_tb_log_name: ClassVar[str] = "run"

    dataset: Any
    dataset_id: str | None
    batch_size: int
    env: Any
    num_timesteps: int
    start_time: int
    _num_timesteps_at_start: int
    ep_info_buffer: Any
    logger: Any

    def _init_dataset(self, dataset: Any, env: GymEnv | str | None, init_setup_model: bool) -> GymEnv | str | None:
        """Open ``dataset`` (a missing one fails here, before any model is built); returns ``env``,
        or the dataset's evaluation environment when ``env`` is None."""
        self.dataset, self.dataset_id = None, None
        if dataset is not None:
            self.dataset = load_dataset(dataset)
            self.dataset_id = self.dataset.id
            if env is None and init_setup_model:
                env = self.dataset.recover_environment(eval_env=True)
        elif init_setup_model:
            raise ValueError(
                f"{type(self).__name__} learns from a fixed dataset: pass dataset=<Minari dataset id or MinariDataset> "
                "(create one with sb3_spiking.offline.collect_dataset)"
            )
        return env

    def _open_dataset(self) -> Any:
        """The dataset given to the constructor or to ``load``, else the saved id (clear error if none)."""
        source = self.dataset if self.dataset is not None else self.dataset_id
        if source is None:
            raise ValueError(f"{type(self).__name__} has no dataset to learn from: pass dataset=... to load()")
        return load_dataset(source)

    @abstractmethod
    def _load_data(self) -> None:
        """Read the dataset (:meth:`_open_dataset`) into what ``train`` samples from."""

    @abstractmethod
    def _data_loaded(self) -> bool:
        """Whether :meth:`_load_data` has run."""

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "dataset"]  # type: ignore[misc]

    def learn(
        self: SelfOffline,
        total_timesteps: int,
        callback: MaybeCallback = None,
        log_interval: int | None = None,
        tb_log_name: str | None = None,
        reset_num_timesteps: bool = True,
        progress_bar: bool = False,
    ) -> SelfOffline:
        """Run ``total_timesteps`` **gradient steps** on the dataset; the environment is not stepped.

        :param log_interval: gradient steps between log dumps (default ``default_log_interval``).
        :param tb_log_name: TensorBoard run name (default ``default_tb_log_name``).

        Other parameters as SB3's ``learn``.
        """
        total_timesteps = check_int("total_timesteps", total_timesteps, minimum=0)
        log_interval = self.default_log_interval if log_interval is None else log_interval
        if not self._data_loaded():
            self._load_data()
        if self.env is None:  # loaded without an env: training does not need one, callbacks may
            self.set_env(self.dataset.recover_environment(eval_env=True))  # type: ignore[attr-defined]
        total_timesteps, callback = self._setup_learn(  # type: ignore[attr-defined]
            total_timesteps, callback, reset_num_timesteps, tb_log_name or self.default_tb_log_name, progress_bar
        )
        callback.on_training_start(locals(), globals())
        while self.num_timesteps < total_timesteps:
            self.train(gradient_steps=1, batch_size=self.batch_size)  # type: ignore[attr-defined]
            self.num_timesteps += 1
            self._update_current_progress_remaining(self.num_timesteps, total_timesteps)  # type: ignore[attr-defined]
            callback.update_locals(locals())
            if not callback.on_step():
                break
            if log_interval and self.num_timesteps % log_interval == 0:
                self._dump_offline_logs("time/gradient_steps")
        callback.on_training_end()
        return self

    def _dump_offline_logs(self, counter: str) -> None:
        """Record time, speed and (if any) episode statistics, and dump; ``counter`` names the step count."""
        elapsed = max((time.time_ns() - self.start_time) / 1e9, sys.float_info.epsilon)
        self.logger.record(counter, self.num_timesteps, exclude="tensorboard")
        self.logger.record("time/steps_per_second", int((self.num_timesteps - self._num_timesteps_at_start) / elapsed))
        self.logger.record("time/time_elapsed", int(elapsed), exclude="tensorboard")
        if self.ep_info_buffer:
            self.logger.record("rollout/ep_rew_mean", float(np.mean([ep["r"] for ep in self.ep_info_buffer])))
            self.logger.record("rollout/ep_len_mean", float(np.mean([ep["l"] for ep in self.ep_info_buffer])))
        self.logger.dump(step=self.num_timesteps)
