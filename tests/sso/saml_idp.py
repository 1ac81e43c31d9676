"""A hospital's SAML 2.0 identity provider for the SSO tests: pysaml2 on loopback.

Its signing key and certificate are made when it starts (`make_key_and_certificate`); the
service provider it answers is read from our live server's SP metadata. Its login page signs
in whichever address is typed, with the AuthnContextClassRef the test chooses (the test
plays the person at the hospital's page). Answers go back through the browser as an
auto-submitting form (HTTP-POST binding), which the test posts to our ACS itself, so it can
also post a tampered or replayed one.
"""

import datetime
import html
import http.server
import re
import threading
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.config import IdPConfig
from saml2.metadata import entity_descriptor
from saml2.saml import NAME_FORMAT_URI, NAMEID_FORMAT_EMAILADDRESS
from saml2.server import Server
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

PASSWORD = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
MFA = "https://refeds.org/profile/mfa"


def make_key_and_certificate(directory: Path, common_name: str) -> tuple[Path, Path]:
    """A throw-away RSA key and self-signed certificate, written for xmlsec1 to read."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = directory / "idp.key", directory / "idp.crt"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


class SamlIdp(http.server.ThreadingHTTPServer):
    def __init__(self, directory: Path):
        super().__init__(("127.0.0.1", 0), _IdpHandler)
        self.base = f"http://127.0.0.1:{self.server_address[1]}"
        self.entity_id = f"{self.base}/metadata"
        self.key_file, self.cert_file = make_key_and_certificate(directory, "Test hospital IdP")
        self.server: Server | None = None
        # Set by a test: the entity id written as the assertion's audience instead of the SP's.
        self.audience_override: str | None = None
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def config(self, *sp_metadata: str) -> IdPConfig:
        config = IdPConfig()
        config.load(
            {
                "entityid": self.entity_id,
                "service": {
                    "idp": {
                        "endpoints": {
                            "single_sign_on_service": [
                                (f"{self.base}/sso/redirect", BINDING_HTTP_REDIRECT)
                            ]
                        },
                        "name_id_format": [NAMEID_FORMAT_EMAILADDRESS],
                        "policy": {
                            "default": {
                                "lifetime": {"minutes": 5},
                                "name_form": NAME_FORMAT_URI,
                                "sign_assertion": True,
                                "sign_response": False,
                            }
                        },
                    }
                },
                "key_file": str(self.key_file),
                "cert_file": str(self.cert_file),
                "xmlsec_binary": "/usr/bin/xmlsec1",
                "metadata": {"inline": list(sp_metadata)} if sp_metadata else {},
            }
        )
        return config

    def trust_sp(self, *sp_metadata: str) -> None:
        """Answer the service providers this metadata describes (as an IdP admin registers them)."""
        self.sp_metadata = sp_metadata
        self.server = Server(config=self.config(*sp_metadata))
        self.audience_override = None

    def metadata(self) -> str:
        return str(entity_descriptor(self.config()))

    def answer(self, saml_request: str, relay_state: str, *, email: str, authn_context: str):
        """The auto-submitting form the IdP hands the browser: (action, {field: value})."""
        request = self.server.parse_authn_request(saml_request, BINDING_HTTP_REDIRECT).message
        args = self.server.response_args(request, [BINDING_HTTP_POST])
        if self.audience_override:
            args["sp_entity_id"] = self.audience_override
        return self._signed_form(args, relay_state, email=email, authn_context=authn_context)

    def unsolicited(self, *, acs: str, sp_entity_id: str, email: str):
        """An IdP-initiated answer: signed, for our SP, but to no request of ours."""
        args = {"in_response_to": None, "destination": acs, "sp_entity_id": sp_entity_id}
        return self._signed_form(args, "", email=email, authn_context=PASSWORD)

    def _signed_form(self, args: dict, relay_state: str, *, email: str, authn_context: str):
        response = self.server.create_authn_response(
            {"mail": [email], "givenName": ["Test"], "sn": ["Person"]},
            userid=email,
            name_id=None,
            authn={"class_ref": authn_context, "authn_auth": self.entity_id},
            sign_assertion=True,
            sign_alg=SIG_RSA_SHA256,
            digest_alg=DIGEST_SHA256,
            **args,
        )
        form = self.server.apply_binding(
            BINDING_HTTP_POST, str(response), args["destination"], relay_state, response=True
        )["data"]
        action = html.unescape(re.search(r'action="([^"]+)"', form).group(1))
        fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form))
        return action, {name: html.unescape(value) for name, value in fields.items()}


class _IdpHandler(http.server.BaseHTTPRequestHandler):
    server: SamlIdp

    def do_GET(self):
        url = urlsplit(self.path)
        if url.path == "/metadata":
            return self._send(self.server.metadata(), "application/samlmetadata+xml")
        if url.path == "/sso/redirect":
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            hidden = "".join(
                f'<input type="hidden" name="{name}" value="{html.escape(query.get(name, ""))}">'
                for name in ("SAMLRequest", "RelayState")
            )
            return self._send(
                f'<form method="post" action="/sso/login">{hidden}'
                '<input name="login"><input name="authn_context"><button>Sign in</button></form>',
                "text/html",
            )
        self.send_error(404)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        form = {k: v[0] for k, v in parse_qs(body).items()}
        action, fields = self.server.answer(
            form["SAMLRequest"],
            form.get("RelayState", ""),
            email=form["login"],
            authn_context=form.get("authn_context") or PASSWORD,
        )
        inputs = "".join(
            f'<input type="hidden" name="{name}" value="{html.escape(value)}">'
            for name, value in fields.items()
        )
        self._send(
            f'<form method="post" action="{html.escape(action)}">{inputs}</form>', "text/html"
        )

    def _send(self, text: str, content_type: str):
        payload = text.encode()
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass
