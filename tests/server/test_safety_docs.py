"""The add-in guide's Safety section (docs/addin.md, linked from the README) says what the certificate authority can vouch for, how to rotate the
token, and what the model file's hash does not do — and the certificate matches the words."""

from __future__ import annotations

import pytest
from builders import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
GUIDE = (ROOT / "docs" / "addin.md").read_text(encoding="utf-8")
SAFETY = GUIDE[GUIDE.index("## Safety"):]


def test_the_ca_reach_is_stated_and_matches_the_certificate(tmp_path):
    x509 = pytest.importorskip("cryptography.x509")
    from sheetdl.server.certs import ensure_certificates

    files = ensure_certificates(tmp_path / "certs")
    ca = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
    nc = ca.extensions.get_extension_for_class(x509.NameConstraints).value
    assert [str(n.value) for n in nc.permitted_subtrees] == ["localhost", "127.0.0.1/32"]
    # a dNSName constraint covers its subdomains: the README must not claim "localhost only"
    assert "`foo.localhost`" in SAFETY and "`127.0.0.1`" in SAFETY
    for text in (README, GUIDE):
        assert "vouch for `localhost`\n   only" not in text and "for `localhost` only" not in text


def test_the_readme_says_what_is_and_is_not_protected():
    for who in ("Other web pages", "Other users of this computer", "Other programs you run yourself"):
        assert who in SAFETY
    assert "sheetdl addin install` again" in GUIDE  # rotating the token
    assert "not a deliberate edit" in README and "tamper-proof" not in README.lower()
    assert "docs/addin.md" in README  # the README sends the reader to the guide
    assert "0700" in SAFETY and "0600" in SAFETY and "429" in SAFETY
