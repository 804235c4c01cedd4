"""A registry token service (the Docker/Distribution token protocol) for a real registry in token mode.

It checks HTTP basic credentials and issues RS256 JWTs whose `x5c` header carries a self-signed
certificate; the registry is configured to trust exactly that certificate.
"""

from __future__ import annotations

import base64
import datetime
import json
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from loopback_http import LoopbackServer, QuietHandler

SERVICE = "vexxy-test-registry"
ISSUER = "vexxy-test-token-issuer"


class TokenService(LoopbackServer):
    def __init__(self, directory: Path, username: str, password: str):
        self.username, self.password = username, password
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ISSUER)])
        now = datetime.datetime.now(datetime.UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        self.bundle = directory / "token-root.pem"
        self.bundle.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))
        self.issued = 0
        service = self

        class Handler(QuietHandler):
            def do_GET(self):
                header = self.headers.get("Authorization", "")
                expected = "Basic " + base64.b64encode(f"{service.username}:{service.password}".encode()).decode()
                if header != expected:
                    self.send_response(401)
                    self.end_headers()
                    return
                query = parse_qs(urlparse(self.path).query)
                access = []
                for scope in query.get("scope", []):
                    kind, name, actions = scope.split(":", 2)
                    access.append({"type": kind, "name": name, "actions": actions.split(",")})
                body = json.dumps({"token": service.token(access), "expires_in": 300}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

        self.serve(Handler)

    @property
    def realm(self) -> str:
        return f"{self.url}/token"

    def token(self, access: list[dict]) -> str:
        self.issued += 1
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": self.username,
            "aud": SERVICE,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        x5c = [base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()]
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"x5c": x5c})

    def registry_config(self) -> str:
        return (
            "auth:\n  token:\n"
            f"    realm: {self.realm}\n    service: {SERVICE}\n    issuer: {ISSUER}\n    rootcertbundle: {self.bundle}\n"
        )
