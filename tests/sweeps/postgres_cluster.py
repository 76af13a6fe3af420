"""A throwaway PostgreSQL cluster for tests: initdb in a temporary folder, a unix socket only, stopped after.

PostgreSQL refuses to run as root, so under root the cluster belongs to the ``postgres`` user (or
``nobody``) and its commands run through ``runuser``. The cluster listens on no TCP port at all
(``listen_addresses=''``): only on a socket in its own folder, so parallel tests never collide.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.helpers import HANG_TIMEOUT

SUPERUSER = "fire"
PORT = 5432  # only names the socket file (.s.PGSQL.5432) in the cluster's own folder


def postgres_bin() -> Path | None:
    """The folder of initdb/pg_ctl: on PATH, or Debian's /usr/lib/postgresql/N/bin."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(candidates[-1]).parent if candidates else None


def runuser() -> str | None:
    """util-linux's runuser, also where root's PATH lacks the sbin folders."""
    return shutil.which("runuser", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"]))


def missing_reason() -> str | None:
    """Why no cluster can be started here, or None."""
    if postgres_bin() is None:
        return "PostgreSQL is not installed (no initdb; apt-get install postgresql, as .ci/run does)"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "the PostgreSQL driver is missing: pip install 'psycopg[binary]' (in the test extra)"
    if os.geteuid() == 0 and runuser() is None:
        return "running as root without runuser: PostgreSQL cannot be started as root"
    return None


def _owner() -> str | None:
    """The user that runs the server when we are root (PostgreSQL refuses root), else None."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("running as root and there is neither a postgres nor a nobody user")


@contextmanager
def throwaway_cluster() -> Iterator[str]:
    """Start a cluster; yields its SQLAlchemy URL (``postgresql+psycopg://...``); stops and deletes it after."""
    bin_dir = postgres_bin()
    assert bin_dir is not None, missing_reason()
    owner = _owner()
    folder = Path(tempfile.mkdtemp(prefix="ignite_fire-pg-"))  # in /tmp, reachable by the owner
    if owner is not None:
        entry = pwd.getpwnam(owner)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    folder.chmod(0o755)
    data, log = folder / "data", folder / "server.log"

    def run(*command: str) -> None:
        prefix = [str(runuser()), "-u", owner, "--"] if owner is not None else []
        subprocess.run([*prefix, *command], check=True, capture_output=True, text=True, timeout=HANG_TIMEOUT)

    options = f"-k {folder} -p {PORT} -c listen_addresses='' -c fsync=off"
    try:
        run(str(bin_dir / "initdb"), "-D", str(data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8")
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start")
        try:
            yield f"postgresql+psycopg://{SUPERUSER}@/postgres?host={folder}&port={PORT}"
        finally:
            run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
