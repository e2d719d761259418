"""Dead-worker detection for distributed tuning: Optuna's RDB heartbeats, on by default.

``rl_zoo3 train --algo <spiking algo> -optimize --storage <database URL>`` (PostgreSQL, MySQL,
SQLite: any SQLAlchemy URL) shares one study between workers. Without a heartbeat, a worker that
dies mid-trial (``kill -9``, OOM, machine lost) leaves its trial ``RUNNING`` for ever. For our
algorithms the plug-in therefore opens such a URL as

.. code-block:: python

    optuna.storages.RDBStorage(
        url,
        heartbeat_interval=60,  # each running trial writes a heartbeat every 60 s
        grace_period=120,  # no heartbeat for 120 s: the trial is stale
        heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=3),
    )

Optuna's own mechanism then does the rest: every worker, before it starts a trial, marks the
stale trials of the study ``FAIL`` and the callback enqueues each as a new ``WAITING`` trial with
the same parameters (``RetryHeartbeatStaleTrialCallback.retried_trial_number(trial)`` names the
original), which the next worker to ask for a trial runs. The plug-in adds one check of its own
(:func:`sweep_stale_trials`) when a worker has finished its trials, so that the last worker to exit
still fails a trial that went stale during its last trial (the retry then waits for the next
worker).

Settings (environment variables, read when the study is opened):

=================================== ======= ==================================================
``SB3_SPIKING_HEARTBEAT_INTERVAL``  ``60``  seconds between heartbeats; ``0``/``off``: no heartbeat
``SB3_SPIKING_GRACE_PERIOD``        ``120`` seconds without heartbeat before a trial is stale
                                            (``>= interval``; default ``2 * interval``)
``SB3_SPIKING_MAX_RETRY``           ``3``   retries of one trial; ``none``: unlimited, ``0``: none
=================================== ======= ==================================================

The journal file (``--storage logs/tune.log``, ``JournalStorage``) has no heartbeat in Optuna
(it is not a ``BaseHeartbeat`` storage): a dead local worker's trial stays ``RUNNING`` there.
"""

from __future__ import annotations

import inspect
import os
import sys
import warnings
from dataclasses import dataclass
from typing import Any

ENV_INTERVAL = "SB3_SPIKING_HEARTBEAT_INTERVAL"
ENV_GRACE = "SB3_SPIKING_GRACE_PERIOD"
ENV_MAX_RETRY = "SB3_SPIKING_MAX_RETRY"

DEFAULT_INTERVAL = 60
DEFAULT_MAX_RETRY = 3


@dataclass(frozen=True)
class HeartbeatSettings:
    """Heartbeat settings of a tuning study on a database.

    :param interval: seconds between two heartbeats of a running trial; None: heartbeat off.
    :param grace_period: seconds without heartbeat after which a trial is stale (failed and
        retried); None: ``2 * interval`` (Optuna's default).
    :param max_retry: how many times one trial's parameters are retried; None: without limit.
    """

    interval: int | None = DEFAULT_INTERVAL
    grace_period: int | None = None
    max_retry: int | None = DEFAULT_MAX_RETRY

    def __post_init__(self) -> None:
        for name in ("interval", "grace_period"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
                raise ValueError(f"heartbeat {name} must be a positive whole number of seconds or None, got {value!r}")
        if self.max_retry is not None and (
            isinstance(self.max_retry, bool) or not isinstance(self.max_retry, int) or self.max_retry < 0
        ):
            raise ValueError(f"max_retry must be an int >= 0 or None (no limit), got {self.max_retry!r}")
        if self.interval is not None and self.grace_period is not None and self.grace_period < self.interval:
            raise ValueError(
                f"grace_period ({self.grace_period} s) must be at least the heartbeat interval ({self.interval} s): "
                "a live worker's trial would be failed between two heartbeats"
            )

    @property
    def enabled(self) -> bool:
        return self.interval is not None

    @classmethod
    def from_env(cls, environ: Any = None) -> HeartbeatSettings:
        """Settings from ``SB3_SPIKING_HEARTBEAT_INTERVAL`` / ``_GRACE_PERIOD`` / ``_MAX_RETRY``
        (unset: the defaults); a bad value raises ``ValueError`` naming the variable."""
        environ = os.environ if environ is None else environ

        def read(name: str, default: int | None, off_words: tuple[str, ...], off_value: Any) -> int | None:
            raw = environ.get(name, "").strip()
            if raw == "":
                return default
            if raw.lower() in off_words:
                return off_value
            try:
                return int(raw)
            except ValueError:
                alternatives = f" or {'/'.join(off_words)}" if off_words else ""
                raise ValueError(f"{name}={raw!r}: expected a whole number{alternatives}") from None

        interval = read(ENV_INTERVAL, DEFAULT_INTERVAL, ("off", "none"), None)
        if interval == 0:
            interval = None
        grace = read(ENV_GRACE, None, (), None)
        max_retry = read(ENV_MAX_RETRY, DEFAULT_MAX_RETRY, ("none", "unlimited"), None)
        try:
            return cls(interval, grace if interval is not None else None, max_retry)
        except ValueError as exc:
            raise ValueError(f"{exc} ({ENV_INTERVAL}, {ENV_GRACE}, {ENV_MAX_RETRY})") from None


def is_rdb_url(storage: Any) -> bool:
    """Whether ``storage`` (the zoo's ``--storage`` string) names a database Optuna opens as an
    ``RDBStorage`` (``postgresql+psycopg2://...``, ``sqlite:///...``), not a journal file."""
    return (
        isinstance(storage, str)
        and "://" in storage
        and not storage.endswith(".log")
        and not storage.startswith(("redis", "grpc"))
    )


def _retry_callback(max_retry: int | None) -> Any:
    import optuna

    # Optuna >= 4.9 names it RetryHeartbeatStaleTrialCallback (RetryFailedTrialCallback: an alias)
    cls = getattr(optuna.storages, "RetryHeartbeatStaleTrialCallback", None) or optuna.storages.RetryFailedTrialCallback
    return cls(max_retry=max_retry)


def heartbeat_storage(url: str, settings: HeartbeatSettings | None = None) -> Any:
    """``optuna.storages.RDBStorage(url)`` with heartbeats and the retry callback of ``settings``
    (default: :meth:`HeartbeatSettings.from_env`); the plain storage when heartbeats are off."""
    import optuna

    if not is_rdb_url(url):
        raise ValueError(f"not a database URL: {url!r} (e.g. postgresql+psycopg2://user:pw@host/db, sqlite:///tune.db)")
    settings = HeartbeatSettings.from_env() if settings is None else settings
    if not settings.enabled:
        return optuna.storages.RDBStorage(url)
    callback_arg = (
        "heartbeat_stale_trial_callback"
        if "heartbeat_stale_trial_callback" in inspect.signature(optuna.storages.RDBStorage).parameters
        else "failed_trial_callback"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.storages.RDBStorage(
            url,
            heartbeat_interval=settings.interval,
            grace_period=settings.grace_period,
            **{callback_arg: _retry_callback(settings.max_retry)},
        )


def sweep_stale_trials(study: Any) -> list[int]:
    """Fail the study's stale trials now (Optuna's ``fail_stale_trials``, which also runs the retry
    callback); returns the numbers of the retries left ``WAITING`` for a next worker."""
    import optuna

    get_interval = getattr(study._storage, "get_heartbeat_interval", None)
    if get_interval is None or get_interval() is None:
        return []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
    waiting = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.WAITING,))
    return [t.number for t in waiting if "failed_trial" in t.system_attrs]


def report_waiting_retries(numbers: list[int], study_name: str | None) -> None:
    if numbers:
        sys.stderr.write(
            f"sb3-spiking: trial(s) {', '.join(map(str, numbers))} of study {study_name!r} retry trials of a dead "
            "worker and are waiting: start one more worker with the same command to run them\n"
        )
