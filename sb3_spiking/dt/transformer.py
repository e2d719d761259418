"""The decision-transformer network, spiking or not: tensors in, tensors out (no SB3 here).

A GPT-style causal transformer over interleaved ``(return-to-go, state, action)`` tokens (Chen et
al., "Decision Transformer", NeurIPS 2021); the action at step t is read from the output of the
state token ``s_t``. Three attention modes (option ``attention`` plus ``spiking``):

- ANN (``spiking=False``): softmax attention, GELU feed-forward.
- ``"softmax"`` (spiking, the SNN-DT seed, Pandey & Biswas 2025): the Q/K/V currents drive LIF
  neurons for T steps; their **spike counts** (as rates, count / T) make the scores ``q k^T`` and
  the values, followed by a normal softmax.
- ``"spike_driven"`` (spiking, softmax-free, in the spirit of Spikformer's SSA and Decision
  SpikeFormer): at every time step the *binary* spike matrices give ``A_t = Q_t K_t^T`` (integer
  coincidence counts), masked causally and averaged over the visible keys, ``O_t = A_t V_t``; O
  drives a LIF layer whose spike rates feed the output projection. No exponentials, no softmax.

With ``spiking_ffn`` (default) the feed-forward hidden units are LIF neurons too (their rates feed
the second linear layer, which then costs accumulates, not MACs). Embeddings, LayerNorms, the
residual stream and the action head stay real-valued (direct coding of the tokens).

Time-first and stateless, as the engine: each linear layer runs once on all rows (once for a
constant current), and only the element-wise LIF recurrence (:func:`~sb3_spiking.snn.lif_scan`)
runs over T. Membranes start at rest on every forward.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from sb3_spiking.snn.network import init_synapse, mark_synapse
from sb3_spiking.snn.neurons import LIF
from sb3_spiking.snn.options import SpikingOptions

ATTENTIONS = ("softmax", "spike_driven")

#: Feed-forward width as a multiple of the model width (GPT-2's 4).
FFN_RATIO = 4

#: Initial gain (times ``1 / head_dim``) of the spike-driven attention's output current, per
#: channel and learnable (in hardware: a per-neuron threshold scale). With :func:`init_synapse`
#: Q/K/V fire at ~22% at start, so a query-key overlap is ~0.05 dh and the visible-key average of
#: ``A V`` ~0.01 dh per channel; 50 / dh puts the current near 0.5 and the attention LIF layer at
#: ~25% firing (measured at start: 27% / 24% in the two blocks at dh = 128, 33% / 29% at dh = 32).
SPIKE_DRIVEN_GAIN = 50.0


class AttentionCore(nn.Module):
    """``softmax(q k^T / sqrt(dh) + mask) v`` on real-valued (ANN) or spike-rate (SNN-DT) inputs.

    A module of its own so that the accounting can count its products (``extra_macs``): they are
    dense multiply-accumulates in both cases (spike *counts* multiply each other).
    """

    def __init__(self, dropout: float) -> None:
        super().__init__()
        self.dropout = dropout

    def forward(
        self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None, causal: bool = True
    ) -> torch.Tensor:
        """``q``: ``[B, H, Nq, dh]``, ``k, v``: ``[B, H, Nk, dh]``; ``mask``: bool ``[B, 1, Nq, Nk]``
        (True: may attend), or ``None``: plain causal (``causal``) or every key visible."""
        p = self.dropout if self.training else 0.0
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p, is_causal=mask is None and causal)

    def extra_macs(self, inputs: tuple, output: torch.Tensor) -> float:
        q, k = inputs[0], inputs[1]
        return 2.0 * q.shape[:-1].numel() * k.shape[-2] * q.shape[-1]  # q k^T and (.) v, as computed


class SpikeDrivenCore(nn.Module):
    """Softmax-free attention on binary spikes: ``O_t = ((Q_t K_t^T) * w) V_t`` for every step t.

    ``w`` holds the causal/padding mask divided by the number of visible keys of each query (so
    the current does not grow with the context). For binary Q, K, V every product is a
    coincidence count, i.e. accumulates: ``extra_sops`` counts one per coincident spike pair in
    ``Q K^T`` and, in ``A V``, one per (nonzero visible score, value spike); the per-query
    normalisation (one multiply per output element) is counted as dense MACs.
    """

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """``q``: spikes ``[T, B, H, Nq, dh]``, ``k, v``: ``[T, B, H, Nk, dh]``; ``weights``:
        ``[B or 1, 1, Nq, Nk]``."""
        scores = torch.matmul(q, k.transpose(-1, -2)).mul_(weights)
        return torch.matmul(scores, v)

    def extra_sops(self, inputs: tuple, output: torch.Tensor) -> float:
        q, k, v, weights = inputs
        visible = (weights != 0).to(q.dtype)
        scores = torch.matmul(q, k.transpose(-1, -2)) * visible
        qk = float(scores.sum())
        av = float(torch.matmul((scores != 0).to(q.dtype), v.sum(-1, keepdim=True)).sum())
        return qk + av

    def extra_macs(self, inputs: tuple, output: torch.Tensor) -> float:
        return float(output.numel())


class Block(nn.Module):
    """Pre-LayerNorm transformer block: ``x + attn(ln1(x))``, then ``x + ffn(ln2(x))``.

    :param dim: model width.
    :param n_heads: attention heads (``dim`` must be divisible by it).
    :param dropout: dropout on attention weights (softmax modes) and on both residual branches.
    :param options: spiking options, or ``None`` for the ANN block.
    :param attention: ``"softmax"`` or ``"spike_driven"`` (spiking blocks only).
    :param spiking_ffn: LIF hidden units in the feed-forward part (spiking blocks only).
    """

    def __init__(
        self,
        dim: int,
        n_heads: int,
        dropout: float,
        options: SpikingOptions | None,
        attention: str = "softmax",
        spiking_ffn: bool = True,
    ) -> None:
        super().__init__()
        self.dim, self.n_heads, self.head_dim = dim, n_heads, dim // n_heads
        self.spiking = options is not None
        self.attention = attention if self.spiking else "ann"
        self.spiking_ffn = self.spiking and spiking_ffn
        self.num_steps = options.num_steps if options is not None else 1
        self.ln1, self.ln2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv = mark_synapse(nn.Linear(dim, 3 * dim), spike_input=False)
        self.proj = nn.Linear(dim, dim)
        self.fc1 = mark_synapse(nn.Linear(dim, FFN_RATIO * dim), spike_input=False)
        self.fc2 = nn.Linear(FFN_RATIO * dim, dim)
        self.drop = nn.Dropout(dropout)
        if self.attention == "spike_driven":
            self.core: nn.Module = SpikeDrivenCore()
            self.attn_lif = LIF(dim, **options.neuron_kwargs())  # type: ignore[union-attr]
            self.attn_gain = nn.Parameter(torch.full((dim,), SPIKE_DRIVEN_GAIN / self.head_dim))
        else:
            self.core = AttentionCore(dropout)
        spikes_into_proj = self.attention == "spike_driven"
        self._mark_rate_input(self.proj, spikes_into_proj)
        self._mark_rate_input(self.fc2, self.spiking_ffn)
        if self.spiking:
            kw = options.neuron_kwargs()  # type: ignore[union-attr]
            self.qkv_lif = LIF(3 * dim, **kw)
            # LayerNorm output has unit power: place the currents so that the neurons fire at start.
            init_synapse(self.qkv, options.threshold, options.beta, options.num_steps, False, 1.0)  # type: ignore[union-attr]
            if self.spiking_ffn:
                self.ffn_lif = LIF(FFN_RATIO * dim, **kw)
                init_synapse(self.fc1, options.threshold, options.beta, options.num_steps, False, 1.0)  # type: ignore[union-attr]

    def _mark_rate_input(self, layer: nn.Linear, spikes: bool) -> None:
        # Fed with spike rates (mean over T): the accounting counts the spikes behind the rates.
        mark_synapse(layer, spike_input=spikes)
        if spikes:
            layer.rate_input_steps = self.num_steps  # type: ignore[assignment]

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        """``[..., N, dim] -> [..., H, N, dh]``."""
        *lead, n, _ = x.shape
        return x.view(*lead, n, self.n_heads, self.head_dim).transpose(-3, -2)

    def _merge(self, x: torch.Tensor) -> torch.Tensor:
        """``[..., H, N, dh] -> [..., N, dim]``."""
        *lead, _, n, _ = x.shape
        return x.transpose(-3, -2).reshape(*lead, n, self.dim)

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None, weights: torch.Tensor | None, query: int | None = None
    ) -> torch.Tensor:
        """``x``: ``[B, N, dim]``; ``mask``: bool ``[B, 1, N, N]`` or None (causal, no padding);
        ``weights``: the spike-driven mask (see :class:`SpikeDrivenCore`). With ``query`` (a token
        index), only that token's output is computed (``[B, 1, dim]``, keys up to ``query``): what
        the last block needs to act."""
        steps = self.num_steps
        cur = self.qkv(self.ln1(x))  # one product for all T steps: the current is constant
        rows = slice(None) if query is None else slice(query, query + 1)
        keys = slice(None) if query is None else slice(0, query + 1)
        if mask is not None:
            mask = mask[:, :, rows, keys]
        causal = query is None
        if self.attention == "ann":
            q, k, v = (self._heads(t) for t in cur.split(self.dim, -1))
            att = self._merge(self.core(q[..., rows, :], k[..., keys, :], v[..., keys, :], mask, causal))
        elif self.attention == "softmax":
            rates = self.qkv_lif(cur, steps).mean(0)  # spike counts / T
            q, k, v = (self._heads(t) for t in rates.split(self.dim, -1))
            att = self._merge(self.core(q[..., rows, :], k[..., keys, :], v[..., keys, :], mask, causal))
        else:
            assert weights is not None
            spikes = self.qkv_lif(cur, steps)  # [T, B, N, 3 dim]
            q, k, v = (self._heads(t) for t in spikes.split(self.dim, -1))
            out = self.core(q[..., rows, :], k[..., keys, :], v[..., keys, :], weights[:, :, rows, keys])
            att = self.attn_lif(self._merge(out) * self.attn_gain).mean(0)  # [T, B, Nq, dim] -> rates
        x = x[:, rows] + self.drop(self.proj(att))
        hidden = self.fc1(self.ln2(x))
        hidden = self.ffn_lif(hidden, steps).mean(0) if self.spiking_ffn else F.gelu(hidden)
        return x + self.drop(self.fc2(hidden))


class DecisionTransformerNet(nn.Module):
    """Causal transformer over ``(R_t, s_t, a_t)`` tokens; outputs an action from each ``s_t``.

    :param obs_dim: flattened observation width (observations enter normalised).
    :param action_dim: number of discrete actions, or the Box action width.
    :param discrete: Discrete actions (embedding in, logits out) or Box (linear in, tanh out).
    :param max_ep_len: size of the timestep embedding (timesteps are clamped below it).
    :param hidden_dim: model width (SNN-DT: 128).
    :param n_layers: transformer blocks (SNN-DT: 2).
    :param n_heads: attention heads (SNN-DT: 1).
    :param dropout: dropout probability.
    :param options: spiking options, or ``None`` for the ANN decision transformer.
    :param attention: ``"softmax"`` (spike-count scores + softmax) or ``"spike_driven"``.
    :param spiking_ffn: LIF hidden units in the feed-forward parts.
    """

    def __init__(
        self,
        obs_dim: int,
        action_dim: int,
        discrete: bool,
        max_ep_len: int,
        hidden_dim: int = 128,
        n_layers: int = 2,
        n_heads: int = 1,
        dropout: float = 0.1,
        options: SpikingOptions | None = None,
        attention: str = "softmax",
        spiking_ffn: bool = True,
    ) -> None:
        super().__init__()
        if hidden_dim % n_heads:
            raise ValueError(f"hidden_dim ({hidden_dim}) must be divisible by n_heads ({n_heads})")
        self.obs_dim, self.action_dim, self.discrete = obs_dim, action_dim, discrete
        self.hidden_dim, self.n_layers, self.max_ep_len = hidden_dim, n_layers, max_ep_len
        self.spiking = options is not None
        self.attention = attention
        self.embed_timestep = nn.Embedding(max_ep_len, hidden_dim)
        self.embed_return = nn.Linear(1, hidden_dim)
        self.embed_state = nn.Linear(obs_dim, hidden_dim)
        self.embed_action: nn.Module = nn.Embedding(action_dim, hidden_dim) if discrete else nn.Linear(action_dim, hidden_dim)
        self.embed_ln = nn.LayerNorm(hidden_dim)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(
            Block(hidden_dim, n_heads, dropout, options, attention, spiking_ffn) for _ in range(n_layers)
        )
        self.ln_f = nn.LayerNorm(hidden_dim)
        self.action_head = nn.Linear(hidden_dim, action_dim)
        self._mask_cache: dict[tuple, torch.Tensor] = {}

    def _causal(self, n: int, device: torch.device) -> torch.Tensor:
        key = (n, device)
        if key not in self._mask_cache:
            self._mask_cache[key] = torch.ones(n, n, dtype=torch.bool, device=device).tril_()
        return self._mask_cache[key]

    def _masks(
        self, valid: torch.Tensor | None, n: int, device: torch.device
    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """(bool mask for softmax attention, weights for spike-driven attention) of ``n`` tokens."""
        causal = self._causal(n, device)
        if valid is None:
            mask = None
            allowed = causal.unsqueeze(0).unsqueeze(0)
        else:
            keys = valid.repeat_interleave(3, dim=1)  # [B, N]: three tokens per step
            # A padded query sees only itself (its output is never used): no row is all -inf.
            allowed = (causal & keys[:, None, :]) | torch.eye(n, dtype=torch.bool, device=device)
            mask = allowed.unsqueeze(1)
            allowed = mask
        if self.attention != "spike_driven" or not self.spiking:
            return mask, None
        visible = allowed.to(torch.float32)
        return mask, visible / visible.sum(-1, keepdim=True)

    def forward(
        self,
        states: torch.Tensor,
        actions: torch.Tensor,
        returns_to_go: torch.Tensor,
        timesteps: torch.Tensor,
        valid: torch.Tensor | None = None,
        last_only: bool = False,
    ) -> torch.Tensor:
        """Action outputs (logits or tanh means) at every step ``[B, L, out]``, or at the last
        step only ``[B, out]``.

        :param states: normalised observations ``[B, L, obs_dim]``.
        :param actions: ``[B, L]`` indices (Discrete) or ``[B, L, act_dim]`` in [-1, 1] (Box).
            The last action of a context being acted upon is a placeholder: with causal attention
            it cannot influence the output at the last state.
        :param returns_to_go: scaled returns-to-go ``[B, L]``.
        :param timesteps: ``[B, L]`` int64, already clamped to ``max_ep_len - 1``.
        :param valid: bool ``[B, L]``, False for left padding; ``None``: every step is real.
        :param last_only: compute the action head on the last state only (what acting needs).
        """
        batch, length = states.shape[:2]
        time = self.embed_timestep(timesteps)
        tokens = torch.stack(
            (
                self.embed_return(returns_to_go.unsqueeze(-1)) + time,
                self.embed_state(states) + time,
                self.embed_action(actions) + time,
            ),
            dim=2,
        ).reshape(batch, 3 * length, self.hidden_dim)
        x = self.drop(self.embed_ln(tokens))
        mask, weights = self._masks(valid, 3 * length, states.device)
        last = len(self.blocks) - 1
        for i, block in enumerate(self.blocks):
            # acting needs only the last state token (index N - 2) out of the last block
            x = block(x, mask, weights, 3 * length - 2 if last_only and i == last else None)
        state_out = x[:, -1] if last_only else x[:, 1::3]
        return self.action_head(self.ln_f(state_out))

    def ann_macs_of(self, inputs: tuple, output: torch.Tensor) -> float:
        """MACs of the same-shape ANN decision transformer for this call (accounting reference)."""
        states = inputs[0]
        batch, length = states.shape[:2]
        rows, n, d = batch * length, 3 * length, self.hidden_dim
        macs = rows * d * (self.obs_dim + 1 + (0 if self.discrete else self.action_dim))
        qkv, rest = 3 * d * d, d * d + 2 * FFN_RATIO * d * d  # per token: Q/K/V; out + feed-forward
        full_block = batch * (n * (qkv + rest) + 2 * n * n * d)
        if output.dim() == 2:  # last_only: the last block computes one query (keys 0..N-2)
            macs += (self.n_layers - 1) * full_block + batch * (n * qkv + 2 * (n - 1) * d + rest)
            return float(macs + batch * d * self.action_dim)
        return float(macs + self.n_layers * full_block + rows * d * self.action_dim)
