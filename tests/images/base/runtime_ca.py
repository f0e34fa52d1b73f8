"""Test CAs and server certificates made with the host's openssl, for the run-time CA tests
(`/etc/kubeflow/ca-certificates`, base/README.md "CA certificates at run time"); shared by
the tests of base and of its children.

`make_pki(tmp)` writes two folders:
- `ca/` (mounted on /etc/kubeflow/ca-certificates): `good-ca.crt` (a CA with keyUsage),
  `legacy-ca.pem` (a CA without keyUsage, as many corporate CAs: Python 3.13 rejects it),
  and bad input: `broken.pem` (a PEM block openssl cannot read), `notes.crt` (no PEM),
  `unreadable.crt` (mode 000), `README.txt` (neither *.crt nor *.pem: ignored);
- `server/` (mounted on SERVER_DIR): `good.crt`/`good.key` signed by the good CA,
  `legacy.crt`/`legacy.key` signed by the legacy CA, both for localhost and 127.0.0.1.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

CA_DIR = "/etc/kubeflow/ca-certificates"
SERVER_DIR = "/etc/kfnb-smoke-tls"
RUNTIME_BUNDLE = "/run/kubeflow/ca-certificates.crt"
SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
CA_VARIABLES = (
    "SSL_CERT_FILE",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "PIP_CERT",
    "NODE_EXTRA_CA_CERTS",
    "GIT_SSL_CAINFO",
)
GOOD_PORT = 8443
LEGACY_PORT = 8444
BAD_FILES = ("broken.pem", "notes.crt", "unreadable.crt")

_CONFIG = """\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = placeholder
[ca_with_key_usage]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ca_without_key_usage]
basicConstraints = critical, CA:TRUE
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


@dataclass(frozen=True)
class Pki:
    ca_dir: Path
    server_dir: Path

    def volumes(self) -> dict[str, dict[str, str]]:
        """docker SDK `volumes`: the CA folder and the servers' certificates, read-only."""
        return {
            str(self.ca_dir): {"bind": CA_DIR, "mode": "ro"},
            str(self.server_dir): {"bind": SERVER_DIR, "mode": "ro"},
        }


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _ca(work: Path, name: str, extensions: str) -> None:
    _openssl(
        "req", "-x509", "-config", "openssl.cnf", "-extensions", extensions,
        "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", "2",
        "-subj", f"/O=kfnb smoke/CN={name}",
        cwd=work,
    )  # fmt: skip


def _server(work: Path, name: str, ca: str) -> None:
    _openssl(
        "req", "-new", "-config", "openssl.cnf", "-newkey", "ec",
        "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", "/CN=localhost",
        cwd=work,
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
        "-set_serial", "0x6b666e62", "-days", "2", "-extfile", "openssl.cnf",
        "-extensions", "server", "-out", f"{name}.crt",
        cwd=work,
    )  # fmt: skip


def make_pki(tmp: Path) -> Pki:
    work = tmp / "work"
    ca_dir = tmp / "ca"
    server_dir = tmp / "server"
    for folder in (work, ca_dir, server_dir):
        folder.mkdir(parents=True)
    (work / "openssl.cnf").write_text(_CONFIG)
    _ca(work, "good-ca", "ca_with_key_usage")
    _ca(work, "legacy-ca", "ca_without_key_usage")
    _server(work, "good", "good-ca")
    _server(work, "legacy", "legacy-ca")

    (ca_dir / "good-ca.crt").write_bytes((work / "good-ca.crt").read_bytes())
    # CRLF line ends, as files edited on Windows have them.
    legacy = (work / "legacy-ca.crt").read_text().replace("\n", "\r\n")
    (ca_dir / "legacy-ca.pem").write_text(legacy, newline="")
    (ca_dir / "broken.pem").write_text(
        "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n"
    )
    (ca_dir / "notes.crt").write_text("ask the platform team for the CA\n")
    (ca_dir / "unreadable.crt").write_bytes((work / "good-ca.crt").read_bytes())
    (ca_dir / "README.txt").write_text("not a certificate file name\n")
    for name in ("good", "legacy"):
        for ext in ("crt", "key"):
            (server_dir / f"{name}.{ext}").write_bytes((work / f"{name}.{ext}").read_bytes())

    tmp.chmod(0o755)
    for folder in (ca_dir, server_dir):
        folder.chmod(0o755)
        for path in folder.iterdir():
            path.chmod(0o644)  # the keys too: the servers run as a random uid (test only)
    (ca_dir / "unreadable.crt").chmod(0o000)
    return Pki(ca_dir=ca_dir, server_dir=server_dir)
