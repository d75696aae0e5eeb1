"""A private Dovecot IMAP server for one test: its own config dir, port, passwd-file user and Maildir in a
temp folder. The system's Dovecot configuration and service are never touched."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.stacks import free_port

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
USER = "hubmail"
PASSWORD = "imap-secret"


def available() -> str | None:
    if not Path(DOVECOT).exists():
        return "dovecot is not installed (apt-get install -y dovecot-imapd)"
    return None


class Dovecot:
    def __init__(self, root: Path | None = None) -> None:
        # Dovecot's unprivileged processes must traverse the folder, and pytest's tmp dirs are 0700.
        self.root = root or Path(tempfile.mkdtemp(prefix="hub-dovecot-"))
        self.root.chmod(0o755)
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.conf = self.root / "dovecot.conf"
        self._write_config()

    def _write_config(self) -> None:
        if os.geteuid() == 0:
            mail_user = pwd.getpwnam("dovecot")
            login_user, internal_user = "dovenull", "dovecot"
        else:
            mail_user = pwd.getpwuid(os.geteuid())
            login_user = internal_user = mail_user.pw_name
        for sub in ("run", "state", "mail", "home"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        for sub in ("mail", "home"):
            os.chown(self.root / sub, mail_user.pw_uid, mail_user.pw_gid)
        (self.root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
        self.conf.write_text(
            f"""
protocols = imap
listen = 127.0.0.1
base_dir = {self.root}/run
state_dir = {self.root}/state
instance_name = hubtest-{self.port}
log_path = {self.root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{self.root}/mail/%u
first_valid_uid = {mail_user.pw_uid}
last_valid_uid = {mail_user.pw_uid}
default_login_user = {login_user}
default_internal_user = {internal_user}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.root}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_user.pw_uid} gid={mail_user.pw_gid} home={self.root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""
        )

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kill() takes the children down too
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dovecot exited: {self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    if s.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"dovecot did not answer: {self.log()}")

    def kill(self) -> None:
        """SIGKILL the whole server (master and children): a crash, not a clean shutdown."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None
        # The master leaves its pid file behind after a kill; a restart must not mistake it for a live server.
        for stale in (self.root / "run").glob("master.pid"):
            stale.unlink()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.proc = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else "(no log)"
