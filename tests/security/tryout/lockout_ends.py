"""The lockout ends when its period does. Against a server started with
LOGIN_LOCKOUT_MINUTES=1:  python tests/security/tryout/lockout_ends.py http://127.0.0.1:8102"""

import re
import sys
import time

import requests

BASE = sys.argv[1].rstrip("/") if len(sys.argv) > 1 else "http://127.0.0.1:8102"
VICTIM = "trainee@demo.example-hospital.org"
PASSWORD = "demo-password-2026"


def sign_in(password: str) -> requests.Response:
    session = requests.Session()
    page = session.get(BASE + "/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    return session.post(
        BASE + "/accounts/login/",
        data={"csrfmiddlewaretoken": token, "login": VICTIM, "password": password},
        headers={"Referer": BASE + "/accounts/login/"},
        allow_redirects=False,
    )


# allauth counts failures in a window that starts with the first of them: the lockout ends
# LOGIN_LOCKOUT_MINUTES after the first wrong password.
began = time.monotonic()
for n in range(5):
    sign_in(f"guess {n}")
seen = []
while True:
    response = sign_in(PASSWORD)
    elapsed = time.monotonic() - began
    accepted = response.status_code == 302
    seen.append((round(elapsed), "accepted" if accepted else "refused"))
    if accepted or elapsed > 120:
        break
    time.sleep(10)
print("right password, seconds after the first of 5 wrong ones:", seen)
refused_first = all(state == "refused" for _, state in seen[:-1]) and seen[0][1] == "refused"
sys.exit(0 if refused_first and seen[-1][1] == "accepted" and seen[-1][0] >= 60 else 1)
