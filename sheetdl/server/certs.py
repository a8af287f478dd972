"""A local certificate authority and a localhost certificate, made once with ``cryptography``.

Office add-ins must be served over HTTPS, also from localhost. The CA is what the user trusts
(``sheetdl addin install``); it is name-constrained to localhost/127.0.0.1, so even a leaked CA key
can't vouch for any other site. The leaf certificate is renewed when it nears its end.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from .config import private_file

__all__ = ["CertFiles", "ensure_certificates"]

CA_DAYS = 3650
#: Apple refuses TLS server certificates valid for more than 825 days
LEAF_DAYS = 800
RENEW_DAYS = 30


@dataclass(frozen=True)
class CertFiles:
    ca_cert: Path
    ca_key: Path
    cert: Path
    key: Path


def _files(folder: Path) -> CertFiles:
    return CertFiles(folder / "sheetdl-ca.pem", folder / "sheetdl-ca-key.pem",
                     folder / "localhost.pem", folder / "localhost-key.pem")


def ensure_certificates(folder: Path) -> CertFiles:
    """The certificate files in ``folder``, created (or the leaf renewed) when needed."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    f = _files(folder)
    if not (f.ca_cert.is_file() and f.ca_key.is_file()):
        _make_ca(f)
    if f.cert.is_file() and f.key.is_file():
        leaf = x509.load_pem_x509_certificate(f.cert.read_bytes())
        left = leaf.not_valid_after_utc - dt.datetime.now(dt.timezone.utc)
        ca = x509.load_pem_x509_certificate(f.ca_cert.read_bytes())
        if left > dt.timedelta(days=RENEW_DAYS) and leaf.issuer == ca.subject:
            return f
    ca_key = serialization.load_pem_private_key(f.ca_key.read_bytes(), password=None)
    ca = x509.load_pem_x509_certificate(f.ca_cert.read_bytes())
    _make_leaf(f, ca, ca_key)
    return f


def _key():
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key) -> str:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def _make_ca(f: CertFiles) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    key = _key()
    now = dt.datetime.now(dt.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "SheetDL"),
                      x509.NameAttribute(NameOID.COMMON_NAME, f"SheetDL local CA ({now:%Y-%m-%d %H:%M})")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.NameConstraints(
            permitted_subtrees=[x509.DNSName("localhost"),
                                x509.IPAddress(ipaddress.ip_network("127.0.0.1/32"))],
            excluded_subtrees=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    private_file(f.ca_key, _pem_key(key))
    private_file(f.ca_cert, cert.public_bytes(serialization.Encoding.PEM).decode("ascii"))


def _make_leaf(f: CertFiles, ca, ca_key) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = _key()
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=LEAF_DAYS))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    private_file(f.key, _pem_key(key))
    private_file(f.cert, (cert.public_bytes(serialization.Encoding.PEM)
                          + ca.public_bytes(serialization.Encoding.PEM)).decode("ascii"))
