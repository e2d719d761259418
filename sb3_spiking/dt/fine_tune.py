"""Online REINFORCE fine-tuning of a decision transformer (the second algorithm SNN-DT uses)."""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import torch as th
from stable_baselines3.common.base_class import maybe_make_env
from stable_baselines3.common.type_aliases import GymEnv, MaybeCallback
from stable_baselines3.common.utils import check_for_correct_spaces

from sb3_spiking.dt.context import DTContext
from sb3_spiking.dt.policies import check_observation_space
from sb3_spiking.snn.validation import check_int, check_real

SelfFineTune = TypeVar("SelfFineTune", bound="ReinforceFineTuneMixin")


class ReinforceFineTuneMixin:
    """:meth:`fine_tune`, a mixin of :class:`~sb3_spiking.dt.SpikingDecisionTransformer` (it acts
    through :meth:`~sb3_spiking.dt.context.ContextActingMixin._advance` and trains the policy's
    optimizer; SB3's ``_setup_learn`` and logger do the bookkeeping)."""

    def fine_tune(
        self: SelfFineTune,
        env: GymEnv | str,
        total_timesteps: int,
        learning_rate: float = 1e-4,
        gamma: float = 1.0,
        episodes_per_update: int = 8,
        ent_coef: float = 0.0,
        minibatch_size: int = 512,
        callback: MaybeCallback = None,
        log_interval: int = 1,
        reset_num_timesteps: bool = True,
        tb_log_name: str = "SpikingDecisionTransformerFineTune",
        progress_bar: bool = False,
    ) -> SelfFineTune:
        """Online REINFORCE fine-tuning of the (offline-trained) policy for ``total_timesteps``
        **environment steps**.

        Episodes are played with sampled actions (Discrete: softmax; Box: Gaussian around the tanh
        mean with the learnable ``log_std``), each conditioned on ``target_return`` with exact
        returns-to-go (the true rewards are used). Every ``episodes_per_update`` complete episodes,
        one gradient step of ``-mean(log pi(a_t | context_t) * A_t) - ent_coef * entropy`` with
        ``A_t`` the return from t (discounted by ``gamma``) normalised over the batch (mean baseline),
        recomputed on exactly the context windows the actions were chosen from. Steps of an
        episode still running when the budget ends are not used.

        :param env: environment or id (its spaces must match the model's); it becomes the model's env.
        :param total_timesteps: environment steps.
        :param learning_rate: learning rate of the fine-tuning steps.
        :param gamma: discount of the REINFORCE returns.
        :param episodes_per_update: complete episodes per gradient step.
        :param ent_coef: entropy bonus.
        :param minibatch_size: windows per forward pass when recomputing log-probabilities
            (gradients are accumulated, one optimizer step per update). This pass sets the memory
            peak: on CartPole, 512 peaked at 3.5-3.9 GB RSS, 128 at 1.2 GB
            (``benchmarks/dt_finetune_memory.py``).

        Other parameters as :meth:`learn`.
        """
        total_timesteps = check_int("total_timesteps", total_timesteps, minimum=0)
        learning_rate = check_real("learning_rate", learning_rate, 0.0, low_open=True)
        gamma = check_real("gamma", gamma, 0.0, 1.0)
        episodes_per_update = check_int("episodes_per_update", episodes_per_update)
        minibatch_size = check_int("minibatch_size", minibatch_size)
        env = maybe_make_env(env, self.verbose)
        check_observation_space(env.observation_space, type(self).__name__)
        vec_env = self._wrap_env(env, self.verbose)
        check_for_correct_spaces(vec_env, self.observation_space, self.action_space)
        self.n_envs = vec_env.num_envs  # offline training used another env (or none): any count works
        self.set_env(vec_env, force_reset=True)
        total_timesteps, callback = self._setup_learn(
            total_timesteps, callback, reset_num_timesteps, tb_log_name, progress_bar
        )
        callback.on_training_start(locals(), globals())
        assert self.env is not None
        n_envs = self.env.num_envs
        obs = np.asarray(self._last_obs, np.float32).reshape(n_envs, -1)
        starts = np.ones(n_envs, bool)
        received: np.ndarray | None = None
        ctx: DTContext | None = None
        running: list[list[tuple]] = [[] for _ in range(n_envs)]
        finished: list[dict[str, np.ndarray]] = []
        updates = 0
        while self.num_timesteps < total_timesteps:
            ctx, raw = self._advance(obs, ctx, starts, deterministic=False, rewards=received)
            new_obs, rewards, dones, infos = self.env.step(self.policy.to_env_actions(ctx.actions[:, -1]))
            self.num_timesteps += n_envs
            self._update_info_buffer(infos, dones)
            for i in range(n_envs):
                running[i].append(
                    (
                        ctx.observations[i, -1],
                        ctx.actions[i, -1],
                        raw[i],
                        ctx.returns_to_go[i, -1],
                        ctx.timesteps[i, -1],
                        rewards[i],
                    )
                )
                if dones[i]:
                    finished.append(self._episode_arrays(running[i]))
                    running[i] = []
            callback.update_locals(locals())
            if not callback.on_step():
                break
            obs, starts, received = np.asarray(new_obs, np.float32).reshape(n_envs, -1), dones, rewards
            if len(finished) >= episodes_per_update:
                self._reinforce_step(finished, learning_rate, gamma, ent_coef, minibatch_size)
                finished = []
                updates += 1
                if log_interval and updates % log_interval == 0:
                    self._dump_offline_logs("time/total_timesteps")
        callback.on_training_end()
        return self

    @staticmethod
    def _episode_arrays(steps: list[tuple]) -> dict[str, np.ndarray]:
        obs, actions, raw, rtg, timesteps, rewards = (np.asarray(x) for x in zip(*steps, strict=True))
        return {"obs": obs, "actions": actions, "raw": raw, "rtg": rtg, "timesteps": timesteps, "rewards": rewards}

    def _reinforce_step(
        self, episodes: list[dict[str, np.ndarray]], learning_rate: float, gamma: float, ent_coef: float, minibatch_size: int
    ) -> None:
        policy, k, dev = self.policy, self.context_len, self.device
        returns = []
        for ep in episodes:
            g, out = 0.0, np.empty(len(ep["rewards"]), np.float32)
            for t in range(len(out) - 1, -1, -1):
                g = float(ep["rewards"][t]) + gamma * g
                out[t] = g
            returns.append(out)
        ret = np.concatenate(returns)
        adv = (ret - ret.mean()) / (ret.std() + 1e-8)
        lengths = np.array([len(ep["rewards"]) for ep in episodes])
        first = np.repeat(np.cumsum(lengths) - lengths, lengths)
        cat = {key: np.concatenate([ep[key] for ep in episodes]) for key in episodes[0]}
        ends = np.arange(len(ret))
        offsets = np.arange(k) - (k - 1)
        valid = offsets[None, :] > -np.minimum(ends - first + 1, k)[:, None]
        idx = np.where(valid, ends[:, None] + offsets[None, :], ends[:, None])
        policy.set_training_mode(False)  # as the actions were chosen: no dropout
        for group in policy.optimizer.param_groups:
            group["lr"] = learning_rate
        policy.optimizer.zero_grad()
        total, losses, entropies = len(ret), [], []
        for lo in range(0, total, minibatch_size):
            sl = slice(lo, lo + minibatch_size)
            win, ok = idx[sl], valid[sl]
            out = policy.context_forward(
                th.as_tensor(cat["obs"][win], device=dev),
                th.as_tensor(cat["actions"][win], device=dev),
                th.as_tensor(cat["rtg"][win], device=dev),
                th.as_tensor(cat["timesteps"][win], device=dev),
                None if ok.all() else th.as_tensor(ok, device=dev),
                last_only=True,
            )
            dist = policy.distribution(out)
            taken = th.as_tensor(cat["raw"][sl], device=dev)
            logp, entropy = dist.log_prob(taken), dist.entropy()
            if not policy.discrete:
                logp, entropy = logp.sum(-1), entropy.sum(-1)
            a = th.as_tensor(adv[sl], device=dev)
            loss = (-(logp * a).sum() - ent_coef * entropy.sum()) / total
            loss.backward()
            losses.append(float(loss.detach()) * total)
            entropies.append(float(entropy.detach().sum()))
        th.nn.utils.clip_grad_norm_(policy.net.parameters(), self.max_grad_norm)
        policy.optimizer.step()
        self._n_updates += 1
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/pg_loss", sum(losses) / total)
        self.logger.record("train/entropy", sum(entropies) / total)
        self.logger.record("train/episode_return", float(np.mean([ep["rewards"].sum() for ep in episodes])))
