"""Try the sign-in doors and API tokens of a running server from outside, over HTTP.

    python tests/security/tryout/attack.py http://127.0.0.1:8101

Needs the demo data (`seed_demo`) and setup_server.py run first. Prints one line per try:
what was sent, what came back, and PASS when the door held. Exit status 1 if any did not.
Only `age_token` reaches into the database, to stand for time passing (90 days) and for an
administrator at the shell; every attack is an HTTP request.
"""

import re
import subprocess
import sys
import time
from pathlib import Path

import requests

BASE = sys.argv[1].rstrip("/") if len(sys.argv) > 1 else "http://127.0.0.1:8101"
ROOT = Path(__file__).resolve().parents[3]
PY = "/work/main/.venv/bin/python"
PASSWORD = "demo-password-2026"
ADMIN = "admin@demo.example-hospital.org"
VICTIM = "assistant@demo.example-hospital.org"  # locked out below
OWNER = "radiologist@demo.example-hospital.org"  # owns the API tokens
results = []


def check(label: str, ok: bool, seen: str) -> None:
    results.append(ok)
    print(f"{'PASS' if ok else 'FAIL'}  {label}: {seen}")


def browser() -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = "tryout"
    return session


def csrf(session: requests.Session, path: str) -> str:
    page = session.get(BASE + path)
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    return match.group(1) if match else session.cookies.get("csrftoken", "")


def password_step(session, email, password, next_path="/"):
    token = csrf(session, "/accounts/login/")
    return session.post(
        f"{BASE}/accounts/login/?next={next_path}",
        data={"csrfmiddlewaretoken": token, "login": email, "password": password},
        headers={"Referer": BASE + "/accounts/login/"},
        allow_redirects=False,
    )


def signed_in_as_admin(session) -> bool:
    response = session.get(BASE + "/admin/", allow_redirects=False)
    return response.status_code == 200 and "Site administration" in response.text


def totp_code(secret: str) -> str:
    sys.path.insert(0, str(ROOT))
    import base64
    import hashlib
    import hmac
    import struct

    counter = struct.pack(">Q", int(time.time()) // 30)
    digest = hmac.new(base64.b32decode(secret), counter, hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = (struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 10**6
    return f"{value:06d}"


def age_token(prefix: str, days: int) -> None:
    """Stand for time passing: the token was made `days` ago (the only database reach)."""
    code = (
        "from datetime import timedelta; from django.utils import timezone; "
        "from peerlearning.models import ApiToken; "
        f"ApiToken.objects.filter(prefix='{prefix}').update("
        f"created_at=timezone.now()-timedelta(days={days}), "
        f"expires_at=timezone.now()-timedelta(days={days - 90}))"
    )
    subprocess.run([PY, "manage.py", "shell", "-c", code], cwd=ROOT, check=True)


# 1. The admin door ---------------------------------------------------------------------------
print("# A staff password alone, for an account with TOTP")
attacker = browser()
token = csrf(attacker, "/accounts/login/")
response = attacker.post(
    BASE + "/admin/login/?next=/admin/",
    data={"csrfmiddlewaretoken": token, "username": ADMIN, "password": PASSWORD},
    headers={"Referer": BASE + "/admin/login/"},
    allow_redirects=False,
)
check(
    "POST /admin/login/ with the right password",
    response.status_code == 302
    and response.headers["Location"].startswith("/accounts/login/")
    and not signed_in_as_admin(attacker),
    f"{response.status_code} -> {response.headers.get('Location')}; /admin/ "
    f"{attacker.get(BASE + '/admin/', allow_redirects=False).status_code}",
)
attacker = browser()
response = password_step(attacker, ADMIN, PASSWORD, "/admin/")
after = {
    path: attacker.get(BASE + path, allow_redirects=False).status_code
    for path in ("/admin/", "/audit/", "/outbox/", "/admin/peerlearning/sitepolicy/1/change/")
}
api = attacker.get(BASE + "/api/v1/me/", allow_redirects=False).status_code
check(
    "password at /accounts/login/, then the admin pages without the code",
    response.headers.get("Location", "").startswith("/accounts/2fa/authenticate/")
    and all(code == 302 for code in after.values())
    and api in (401, 403),
    f"login {response.status_code} -> {response.headers.get('Location')}; {after}; API {api}",
)
secret = (ROOT / "var/tryout-secret").read_text().strip()
token = csrf(attacker, "/accounts/2fa/authenticate/")
wrong = attacker.post(
    BASE + "/accounts/2fa/authenticate/",
    data={"csrfmiddlewaretoken": token, "code": "000000"},
    headers={"Referer": BASE + "/accounts/2fa/authenticate/"},
    allow_redirects=False,
)
check(
    "a wrong code",
    wrong.status_code == 200 and not signed_in_as_admin(attacker),
    f"{wrong.status_code}, /admin/ "
    f"{attacker.get(BASE + '/admin/', allow_redirects=False).status_code}",
)
owner_of_device = browser()
password_step(owner_of_device, ADMIN, PASSWORD, "/admin/")
token = csrf(owner_of_device, "/accounts/2fa/authenticate/")
right = owner_of_device.post(
    BASE + "/accounts/2fa/authenticate/",
    data={"csrfmiddlewaretoken": token, "code": totp_code(secret)},
    headers={"Referer": BASE + "/accounts/2fa/authenticate/"},
    allow_redirects=False,
)
check(
    "control: password and the right code",
    signed_in_as_admin(owner_of_device),
    f"{right.status_code} -> {right.headers.get('Location')}; /admin/ 200",
)

# 2. Lockout at every door --------------------------------------------------------------------
print("# Repeated wrong passwords, then the right one")
attacker = browser()
for n in range(12):
    token = csrf(attacker, "/accounts/login/")
    attacker.post(
        BASE + "/admin/login/",
        data={"csrfmiddlewaretoken": token, "username": VICTIM, "password": f"guess {n}"},
        headers={"Referer": BASE + "/admin/login/"},
        allow_redirects=False,
    )
check(
    "12 guesses at /admin/login/ are never checked (no session, nothing to count)",
    "sessionid" not in attacker.cookies
    or attacker.get(BASE + "/", allow_redirects=False).status_code == 302,
    f"home {attacker.get(BASE + '/', allow_redirects=False).status_code}",
)
for n in range(5):
    password_step(attacker, VICTIM, f"guess {n}")
locked = password_step(attacker, VICTIM, PASSWORD)
check(
    "after 5 wrong at /accounts/login/, the right password there",
    locked.status_code == 200 and "Too many failed" in locked.text,
    f"{locked.status_code}, 'Too many failed login attempts' shown",
)
other = browser()
locked_elsewhere = password_step(other, VICTIM, PASSWORD)
check(
    "the right password from another client while locked",
    locked_elsewhere.status_code == 200 and "Too many failed" in locked_elsewhere.text,
    f"{locked_elsewhere.status_code}",
)
token = csrf(other, "/accounts/login/")
via_admin = other.post(
    BASE + "/admin/login/",
    data={"csrfmiddlewaretoken": token, "username": VICTIM, "password": PASSWORD},
    headers={"Referer": BASE + "/admin/login/"},
    allow_redirects=False,
)
check(
    "the right password at /admin/login/ while locked",
    other.get(BASE + "/", allow_redirects=False).status_code == 302,
    f"{via_admin.status_code} -> {via_admin.headers.get('Location')}, home still 302",
)

# 3. API tokens ---------------------------------------------------------------------------------
print("# API tokens: expired, revoked, made before a password change")
owner = browser()
password_step(owner, OWNER, PASSWORD)


def make_token(name: str) -> tuple[str, str]:
    token = csrf(owner, "/profile/")
    page = owner.post(
        BASE + "/profile/api-token/",
        data={"csrfmiddlewaretoken": token, "name": name},
        headers={"Referer": BASE + "/profile/"},
    )
    key = re.search(r'<code id="new-token">([^<]+)</code>', page.text).group(1)
    return key, key[:10]


def seen(response: requests.Response) -> str:
    return f"{response.status_code} {response.text}"


def call(key: str) -> requests.Response:
    return requests.get(BASE + "/api/v1/me/", headers={"Authorization": f"Token {key}"}, timeout=30)


expired, expired_prefix = make_token("tryout expired")
revoked, revoked_prefix = make_token("tryout revoked")
before_password, _ = make_token("tryout password")
check("control: a fresh token", call(expired).status_code == 200, "200")
age_token(expired_prefix, days=91)
response = call(expired)
check("a token made 91 days ago", response.status_code == 401, seen(response))
profile = owner.get(BASE + "/profile/").text
token_id = re.search(
    rf"<code>{re.escape(revoked_prefix)}…</code>.*?/profile/api-tokens/(\d+)/revoke/", profile, re.S
).group(1)
owner.post(
    f"{BASE}/profile/api-tokens/{token_id}/revoke/",
    data={"csrfmiddlewaretoken": csrf(owner, "/profile/")},
    headers={"Referer": BASE + "/profile/"},
)
response = call(revoked)
check("a token revoked on the profile page", response.status_code == 401, seen(response))
check("control: before the password change", call(before_password).status_code == 200, "200")
new_password = "tryout passphrase " + str(int(time.time()))
token = csrf(owner, "/accounts/password/change/")
changed = owner.post(
    BASE + "/accounts/password/change/",
    data={
        "csrfmiddlewaretoken": token,
        "oldpassword": PASSWORD,
        "password1": new_password,
        "password2": new_password,
    },
    headers={"Referer": BASE + "/accounts/password/change/"},
    allow_redirects=False,
)
response = call(before_password)
check(
    "a token made before the password changed",
    changed.status_code == 302 and response.status_code == 401,
    f"change {changed.status_code}; {response.status_code} {response.text}",
)
response = call("pl_" + "A" * 43)
check("a made-up token", response.status_code == 401, f"{response.status_code}")
# 4. The production policy --------------------------------------------------------------------
print("# The production policy (MFA for champions and the rest), set by the administrator")
POLICY = "/admin/peerlearning/sitepolicy/1/change/"
FIELDS = [
    "mfa_required_for_administrators",
    "mfa_required_for_leaders",
    "mfa_required_for_champions",
    "mfa_required_for_admin_assistants",
    "mfa_required_for_quality",
]


def set_policy(on: bool) -> int:
    data = {"csrfmiddlewaretoken": csrf(owner_of_device, POLICY)}
    if on:
        data.update(dict.fromkeys(FIELDS, "on"))
    return owner_of_device.post(
        BASE + POLICY, data=data, headers={"Referer": BASE + POLICY}, allow_redirects=False
    ).status_code


set_policy(on=True)
champion = browser()
password_step(champion, "champion@demo.example-hospital.org", PASSWORD)
queue = champion.get(BASE + "/submissions/queue/", allow_redirects=False)
made = champion.post(
    BASE + "/profile/api-token/",
    data={"csrfmiddlewaretoken": champion.cookies.get("csrftoken", "")},
    headers={"Referer": BASE + "/profile/"},
    allow_redirects=False,
)
api_session = champion.get(BASE + "/api/v1/submissions/", allow_redirects=False)
check(
    "a champion without TOTP, password only: the queue, a new token, the API by session",
    queue.status_code == 302
    and queue.headers["Location"].startswith("/accounts/2fa/totp/activate/")
    and made.status_code == 302
    and "/accounts/2fa/" in made.headers["Location"]
    and api_session.status_code == 403,
    f"queue {queue.status_code} -> {queue.headers.get('Location')}; token "
    f"{made.status_code} -> {made.headers.get('Location')}; API {api_session.status_code}",
)
set_policy(on=False)  # back to the demo's policy

print(f"\n{sum(results)}/{len(results)} held")
# Leave the demo password as printed by seed_demo.
token = csrf(owner, "/accounts/password/change/")
owner.post(
    BASE + "/accounts/password/change/",
    data={
        "csrfmiddlewaretoken": token,
        "oldpassword": new_password,
        "password1": PASSWORD,
        "password2": PASSWORD,
    },
    headers={"Referer": BASE + "/accounts/password/change/"},
)
sys.exit(0 if all(results) else 1)
