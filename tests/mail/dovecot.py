"""A real IMAP server for the tests: Debian's Dovecot, run from a throwaway folder.

`Dovecot().start()` writes its own configuration (../shared/SERVICES.md says what this machine
needs: a login user that is not root, `first_valid_uid` low enough for the `dovecot` user, a
mail folder that user owns), listens on free ports of 127.0.0.1 (plain/STARTTLS and IMAPS with a
trustme certificate), and accepts any user with the password `secret`. `append` drops a message
into a folder as a mail server delivering it would; `doveadm` kicks connections or lists what a
folder holds. Outside CI a machine without Dovecot skips the tests that need it (and says how to
install it); in CI that is a failure.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

PASSWORD = "secret"
USER = "sav"


def dovecot_binary() -> str:
    path = shutil.which("dovecot") or (
        "/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None
    )
    if path is None:
        reason = "dovecot is absent (apt-get install dovecot-imapd; .ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}: in CI the IMAP tests must run")
        pytest.skip(reason)
    return path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Dovecot:
    def __init__(self, *, idle: bool = True, tls: bool = False) -> None:
        self.binary = dovecot_binary()
        self.idle = idle
        self.tls = tls
        self.root = Path(tempfile.mkdtemp(prefix="ditbot-dovecot-"))
        self.root.chmod(0o755)  # the dovecot user must reach its mail folder inside
        self.config = self.root / "dovecot.conf"
        self.port = _free_port()
        self.tls_port = _free_port() if tls else 0
        self.client_context: ssl.SSLContext | None = None
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Dovecot:
        mail, home = self.root / "mail", self.root / "home"
        for folder in (mail, home):
            folder.mkdir()
            shutil.chown(folder, "dovecot", "dovecot")
        ssl_lines = "ssl = no\n"
        if self.tls:
            import trustme

            authority = trustme.CA()
            certificate = authority.issue_cert("127.0.0.1", "localhost")
            certificate.private_key_pem.write_to_path(str(self.root / "key.pem"))
            certificate.cert_chain_pems[0].write_to_path(str(self.root / "cert.pem"))
            ssl_lines = (
                f"ssl = yes\nssl_cert = <{self.root / 'cert.pem'}\n"
                f"ssl_key = <{self.root / 'key.pem'}\n"
            )
            self.client_context = ssl.create_default_context()
            authority.configure_trust(self.client_context)
        capability = "" if self.idle else "imap_capability = IMAP4rev1 LITERAL+ UIDPLUS MOVE\n"
        self.config.write_text(
            f"""base_dir = {self.root}/run
state_dir = {self.root}/state
log_path = {self.root}/dovecot.log
listen = 127.0.0.1
protocols = imap
{ssl_lines}disable_plaintext_auth = no
auth_failure_delay = 0
login_trusted_networks = 127.0.0.0/8
auth_mechanisms = plain login
mail_location = maildir:{mail}/%u
first_valid_uid = 1
default_login_user = dovenull
default_internal_user = dovecot
{capability}passdb {{
  driver = static
  args = password={PASSWORD}
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={home}/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.tls_port}
  }}
}}
""",
            encoding="utf-8",
        )
        # In the foreground (-F) and in a session of its own: the master is our child, so
        # `stop` reaps it at once. Daemonised, it was reparented to PID 1, and `stop` waited
        # for PID 1 to reap its zombie (1.5-2 s per test on a machine whose PID 1 is slow to).
        with open(self.root / "stderr.log", "wb") as stderr:  # what it says before its log
            self.process = subprocess.Popen(
                [self.binary, "-F", "-c", str(self.config)],
                start_new_session=True,
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
            )
        deadline = time.monotonic() + 10
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"dovecot exited with {self.process.returncode}: {self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as probe:
                    if probe.recv(200).startswith(b"* OK"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"dovecot did not start: {self.log()}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        """Kill the server's process group (the master and its children: nothing of it is
        worth a clean shutdown, which takes seconds), reap the master and remove the folder."""
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(10)
        shutil.rmtree(self.root, ignore_errors=True)

    def log(self) -> str:
        paths = (self.root / "stderr.log", self.root / "dovecot.log")
        return "".join(path.read_text(errors="replace") for path in paths if path.exists())

    def doveadm(self, *args: str) -> str:
        done = subprocess.run(
            ["doveadm", "-c", str(self.config), *args],
            check=True,
            timeout=30,
            capture_output=True,
            text=True,
        )
        return done.stdout

    def kick(self, user: str = USER) -> None:
        """Cut every connection of `user`, as a network failure or a server restart would."""
        self.doveadm("kick", user)

    def append(self, raw: bytes, folder: str = "INBOX", user: str = USER) -> None:
        """Deliver `raw` into `folder` (IMAP APPEND, as a delivery agent would store it)."""
        from imapclient import IMAPClient

        with IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=10) as client:
            client.login(user, PASSWORD)
            if not client.folder_exists(folder):
                client.create_folder(folder)
            client.append(folder, raw)

    def messages(self, folder: str = "INBOX", user: str = USER) -> list[tuple[int, set[bytes]]]:
        """(uid, flags) of each message in `folder`."""
        from imapclient import IMAPClient

        with IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=10) as client:
            client.login(user, PASSWORD)
            if not client.folder_exists(folder):
                return []
            client.select_folder(folder, readonly=True)
            uids = client.search(["ALL"])
            flags = client.get_flags(uids) if uids else {}
            return [(int(uid), set(flags[uid])) for uid in sorted(uids)]
