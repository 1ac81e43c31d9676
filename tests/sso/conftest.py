"""Real identity providers on loopback for the hospital sign-in tests.

OpenID Connect: the certified npm `oidc-provider` (tests/sso/oidc_idp.mjs, installed by
`npm ci` in tests/sso). SAML 2.0: a pysaml2 identity provider in this process
(tests/sso/saml_idp.py). The person at the IdP's page is played by a `requests` session that
follows the redirects between the IdP and the live Django server, as a browser would.
Keys and certificates are made when the providers start; none is committed.
"""

import base64
import hashlib
import http.server
import json
import re
import secrets
import shutil
import subprocess
import threading
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests

HERE = Path(__file__).parent
OIDC_PROVIDER_ID = "hospital"
OIDC_CLIENT_ID = "peerlearning"
OIDC_OTHER_CLIENT_ID = "radiology-scheduler"
OIDC_OTHER_REDIRECT = "http://127.0.0.1:9/scheduler/callback"
CLIENT_SECRET = secrets.token_urlsafe(32)


@pytest.fixture(scope="session")
def need_service_session():
    from conftest import REQUIRE_SERVICES

    def check(available: bool, what: str):
        if available:
            return
        if REQUIRE_SERVICES:
            pytest.fail(f"{what} is required (REQUIRE_SERVICES=1) but not available")
        pytest.skip(f"{what} not available")

    return check


class TokenProxy(http.server.ThreadingHTTPServer):
    """Stands between our server and the IdP's token endpoint, as a hostile proxy would.

    `swap(id_token) -> id_token` changes the ID token of the next answers; `seen` keeps
    every ID token that passed, for the replay test.
    """

    def __init__(self, upstream: str):
        self.upstream = upstream
        self.swap = None
        self.seen: list[str] = []
        super().__init__(("127.0.0.1", 0), _TokenProxyHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/token"


class _TokenProxyHandler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        headers = {
            k: v for k, v in self.headers.items() if k.lower() in ("content-type", "authorization")
        }
        upstream = requests.post(self.server.upstream, data=body, headers=headers, timeout=10)
        answer = upstream.json()
        if "id_token" in answer:
            self.server.seen.append(answer["id_token"])
            if self.server.swap:
                answer["id_token"] = self.server.swap(answer["id_token"])
        payload = json.dumps(answer).encode()
        self.send_response(upstream.status_code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


class OidcIdp:
    def __init__(self, process, issuer: str):
        self.process = process
        self.issuer = issuer
        self.config = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
        self.proxy = TokenProxy(self.config["token_endpoint"])

    def id_token_for_other_client(self, email: str) -> str:
        """A genuine ID token the IdP issued to another application, for the same person."""
        session = requests.Session()
        verifier = secrets.token_urlsafe(48)
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        response = session.get(
            self.config["authorization_endpoint"],
            params={
                "client_id": OIDC_OTHER_CLIENT_ID,
                "response_type": "code",
                "scope": "openid email",
                "redirect_uri": OIDC_OTHER_REDIRECT,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
                "nonce": secrets.token_urlsafe(16),
                "state": "s",
            },
            timeout=10,
        )
        response = idp_login(session, response, email=email)
        while not response.headers.get("Location", "").startswith(OIDC_OTHER_REDIRECT):
            response = session.get(
                urljoin(response.url, response.headers["Location"]),
                allow_redirects=False,
                timeout=10,
            )
        code = parse_qs(urlsplit(response.headers["Location"]).query)["code"][0]
        tokens = requests.post(
            self.config["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": OIDC_OTHER_REDIRECT,
                "code_verifier": verifier,
                "client_id": OIDC_OTHER_CLIENT_ID,
                "client_secret": CLIENT_SECRET,
            },
            timeout=10,
        ).json()
        return tokens["id_token"]


def idp_login(session, page, *, email: str, amr: str = "pwd", acr: str = ""):
    """Fill in the IdP's login page; the answer is not followed past the IdP."""
    assert "/interaction/" in page.url, page.text[:500]
    action = re.search(r'action="([^"]+)"', page.text).group(1)
    response = session.post(
        urljoin(page.url, action),
        data={"login": email, "amr": amr, "acr": acr},
        allow_redirects=False,
        timeout=10,
    )
    while response.is_redirect and urlsplit(response.headers["Location"]).port in (
        None,
        urlsplit(page.url).port,
    ):
        response = session.get(
            urljoin(response.url, response.headers["Location"]), allow_redirects=False, timeout=10
        )
    return response


@pytest.fixture(scope="session")
def _oidc_idp_process(live_server):
    node, npm = shutil.which("node"), shutil.which("npm")
    if node and npm and not (HERE / "node_modules" / "oidc-provider").exists():
        # A fresh worktree: the same install `.ci/run` does, from npm's cache when it can.
        subprocess.run(
            [npm, "ci", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=HERE,
            timeout=300,
            check=False,
        )
    if node is None or not (HERE / "node_modules" / "oidc-provider").exists():
        yield None
        return
    callback = f"{live_server.url}/accounts/oidc/{OIDC_PROVIDER_ID}/login/callback/"
    clients = [
        {"client_id": OIDC_CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uris": [callback]},
        {
            "client_id": OIDC_OTHER_CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uris": [OIDC_OTHER_REDIRECT],
        },
    ]
    process = subprocess.Popen(
        [node, str(HERE / "oidc_idp.mjs")],
        cwd=HERE,
        env={"PATH": "/usr/bin:/bin", "OIDC_TEST_CLIENTS": json.dumps(clients)},
        stdout=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline()
    try:
        idp = OidcIdp(process, json.loads(line)["issuer"])
    except (ValueError, KeyError, requests.RequestException):
        process.kill()
        process.wait()
        yield None
        return
    yield idp
    idp.proxy.shutdown()
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def oidc_idp(_oidc_idp_process, need_service_session):
    need_service_session(_oidc_idp_process is not None, "the OpenID Connect test provider (node)")
    _oidc_idp_process.proxy.swap = None
    return _oidc_idp_process


@pytest.fixture
def oidc_site(settings, oidc_idp):
    """Our site configured for the test IdP; `mfa_amr`/`mfa_acr` empty unless a test sets them."""

    def configure(**app_settings):
        settings.SOCIALACCOUNT_PROVIDERS = {
            **settings.SOCIALACCOUNT_PROVIDERS,
            "openid_connect": {
                **settings.SOCIALACCOUNT_PROVIDERS["openid_connect"],
                "APPS": [
                    {
                        "provider_id": OIDC_PROVIDER_ID,
                        "name": "Hospital sign-in",
                        "client_id": OIDC_CLIENT_ID,
                        "secret": CLIENT_SECRET,
                        "settings": {
                            "server_url": oidc_idp.issuer,
                            "openid_configuration_overrides": {
                                "token_endpoint": oidc_idp.proxy.url
                            },
                            **app_settings,
                        },
                    }
                ],
            },
        }

    configure()
    return configure


def follow(session, response):
    while response.is_redirect:
        response = session.get(
            urljoin(response.url, response.headers["Location"]), allow_redirects=False, timeout=30
        )
    return response


def start_sign_in(session, live_server, path: str):
    """Press the SSO button on our site: allauth's confirmation form, posted with its token."""
    page = session.get(f"{live_server.url}{path}", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    return session.post(page.url, data={"csrfmiddlewaretoken": token}, timeout=30)


def signed_in_email(session, live_server) -> str | None:
    """Whom our site takes this browser for: the address on the profile page, or None."""
    response = session.get(f"{live_server.url}/profile/", allow_redirects=False, timeout=30)
    if response.status_code != 200:
        return None
    match = re.search(r"[\w.+-]+@[\w-]+\.example", response.text)
    return match.group(0) if match else "?"


SAML_ORGANIZATION = "hospital"
SAML_SP_ENTITY_ID = "https://peerlearning.hospital.example/saml"


@pytest.fixture(scope="session")
def _saml_idp_server(tmp_path_factory):
    if shutil.which("xmlsec1") is None:
        yield None
        return
    from tests.sso.saml_idp import SamlIdp

    idp = SamlIdp(tmp_path_factory.mktemp("saml-idp"))
    yield idp
    idp.shutdown()


@pytest.fixture
def saml_idp(_saml_idp_server, need_service_session):
    need_service_session(_saml_idp_server is not None, "the SAML test provider (xmlsec1)")
    return _saml_idp_server


@pytest.fixture
def saml_site(settings, saml_idp, live_server):
    """Our site configured for the test IdP, and the IdP told about our SP metadata."""

    def configure(**app_settings):
        settings.SOCIALACCOUNT_PROVIDERS = {
            **settings.SOCIALACCOUNT_PROVIDERS,
            "saml": {
                **settings.SOCIALACCOUNT_PROVIDERS["saml"],
                "APPS": [
                    {
                        "client_id": SAML_ORGANIZATION,
                        "name": "Hospital sign-in",
                        "settings": {
                            "idp": {
                                "entity_id": saml_idp.entity_id,
                                "metadata_url": f"{saml_idp.base}/metadata",
                            },
                            "sp": {"entity_id": SAML_SP_ENTITY_ID},
                            "attribute_mapping": {"email": ["urn:oid:0.9.2342.19200300.100.1.3"]},
                            "advanced": {
                                "want_assertion_signed": True,
                                "reject_idp_initiated_sso": True,
                                # The live server is http://localhost:…, a single-label host.
                                "allow_single_label_domains": True,
                            },
                            **app_settings,
                        },
                    }
                ],
            },
        }

    configure()
    metadata = requests.get(
        f"{live_server.url}/accounts/saml/{SAML_ORGANIZATION}/metadata/", timeout=30
    )
    metadata.raise_for_status()
    saml_idp.trust_sp(metadata.text)
    return configure
