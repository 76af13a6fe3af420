"""Where a sweep's Optuna study lives, and finding trials whose worker died.

* default: ``sqlite:///{sweep_dir}/study.db``, an embedded SQLite file next to the trials;
* ``--storage=URL``: any SQLAlchemy URL Optuna accepts (``sqlite:///...``,
  ``postgresql+psycopg://user:password@host/db``, ``mysql+pymysql://...``); workers on several machines
  share one study through a database server;
* ``--storage=PATH`` (no ``://``): an Optuna journal file, e.g. on a shared NFS disk.

Database storages keep a heartbeat: a trial whose worker stopped beating for
:data:`GRACE_PERIOD_S` is marked failed by the next worker that starts a trial.
"""

from __future__ import annotations

import os
import socket
import time
import warnings
from pathlib import Path

import optuna
from optuna.storages import BaseStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend, JournalStorage
from optuna.trial import FrozenTrial, TrialState

from ignite_fire.errors import UserError

HEARTBEAT_INTERVAL_S = 60
GRACE_PERIOD_S = 180
SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
DRIVER_HINTS = {
    "psycopg": "pip install 'psycopg[binary]'",
    "psycopg2": "pip install psycopg2-binary",
    "pymysql": "pip install pymysql",
    "MySQLdb": "pip install mysqlclient",
}


def default_storage_url(sweep_dir: Path) -> str:
    return f"sqlite:///{(sweep_dir / 'study.db').resolve()}"


def display_url(url: str) -> str:
    """``url`` without its password, for messages."""
    if "://" not in url:
        return url
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("://", 1)[0] + "://..."


def storage_url(storage: str) -> str:
    """A bare ``*.db`` path becomes a SQLite URL; other paths stay journal files."""
    if "://" not in storage and storage.endswith(SQLITE_SUFFIXES):
        return f"sqlite:///{Path(storage).expanduser().resolve()}"
    return storage


def open_storage(url: str) -> BaseStorage:
    """The Optuna storage for ``url``; a missing driver or an unreachable server is a UserError."""
    if "://" not in url:
        path = Path(url).expanduser()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            return JournalStorage(JournalFileBackend(str(path)))
        except OSError as error:
            raise UserError(f"cannot use journal file --storage={url}: {error.strerror}") from error
    engine_kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {}
    last_error: Exception | None = None
    for attempt in range(5):  # workers starting together may race to create the tables
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # heartbeat_interval
                return RDBStorage(
                    url,
                    engine_kwargs=engine_kwargs,
                    heartbeat_interval=HEARTBEAT_INTERVAL_S,
                    grace_period=GRACE_PERIOD_S,
                )
        except ImportError as error:  # Optuna re-raises the driver's ModuleNotFoundError as an ImportError
            name = getattr(error.__cause__, "name", None) or error.name or "?"
            hint = DRIVER_HINTS.get(name, f"pip install {name}")
            raise UserError(f"--storage={display_url(url)} needs the database driver {name}: {hint}") from error
        except Exception as error:  # sqlalchemy's errors: bad URL, server down, locked file
            last_error = error
            if "Could not parse" in str(error) or type(error).__name__ == "ArgumentError":
                break
            time.sleep(0.5 * (attempt + 1))
    reason = str(getattr(last_error, "orig", None) or last_error).splitlines()[0]
    raise UserError(f"cannot open --storage={display_url(url)}: {reason}")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # an earlier process with this pid is gone
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_orphan(trial: FrozenTrial) -> bool:
    """A running trial whose worker process on this machine no longer exists."""
    host, pid = trial.user_attrs.get("host"), trial.user_attrs.get("pid")
    return (
        trial.state == TrialState.RUNNING and host == socket.gethostname() and isinstance(pid, int) and not _alive(pid)
    )


def fail_orphans(study: optuna.Study, storage: BaseStorage) -> list[int]:
    """Mark trials left running by a killed worker of this machine failed; returns their numbers."""
    numbers = []
    study_id = storage.get_study_id_from_name(study.study_name)
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if is_orphan(trial):
            trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, trial.number)
            try:
                storage.set_trial_state_values(trial_id, TrialState.FAIL)
            except optuna.exceptions.UpdateFinishedTrialError:
                continue  # another worker got there first
            numbers.append(trial.number)
    return numbers
