"""The tool's own signing key: generated once, stored 0600 in the data directory, published
as a JWKS for platforms (deep-linking responses, client assertions for AGS and NRPS)."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from nbcampus.secretfiles import check_private, write_private

KEY_FILE = "lti_tool_key.pem"


class ToolKey:
    def __init__(self, private_key: rsa.RSAPrivateKey) -> None:
        self.private_key = private_key
        self.public_jwk: dict[str, Any] = RSAAlgorithm.to_jwk(
            private_key.public_key(), as_dict=True
        )
        self.kid = _thumbprint(self.public_jwk)
        self.public_jwk.update(kid=self.kid, alg="RS256", use="sig")

    @classmethod
    def load_or_create(cls, secrets_dir: Path) -> ToolKey:
        """The key in `secrets_dir`; a new 2048-bit RSA key on first use."""
        path = secrets_dir / KEY_FILE
        if path.exists():
            check_private(path)
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(key, rsa.RSAPrivateKey):
                raise ValueError(f"{path} does not hold an RSA private key")
            return cls(key)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        write_private(path, pem)
        return cls(key)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.public_jwk]}

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self.private_key, algorithm="RS256", headers={"kid": self.kid})

    def client_assertion(self, client_id: str, token_url: str) -> str:
        """The JWT a tool presents at a platform's token endpoint (LTI Security 1.0, 4.1)."""
        now = int(time.time())
        return self.sign(
            {
                "iss": client_id,
                "sub": client_id,
                "aud": token_url,
                "iat": now,
                "exp": now + 300,
                "jti": uuid.uuid4().hex,
            }
        )


def _thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 thumbprint: a kid that changes exactly when the key does."""
    canonical = json.dumps({k: jwk[k] for k in ("e", "kty", "n")}, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
