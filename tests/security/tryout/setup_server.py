"""Arrange a `make run` server for the HTTP tryout (run with `manage.py shell < this`).

The site administrator gets TOTP with a secret written to var/tryout-secret (what an
authenticator app holds); nothing else is arranged: the attacker's side is HTTP only.
"""

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

from peerlearning.demo import login_email
from peerlearning.models import User

admin = User.objects.get(email=login_email("admin"))
Authenticator.objects.filter(user=admin).delete()
secret = generate_totp_secret()
TOTP.activate(admin, secret)
with open("var/tryout-secret", "w") as file:
    file.write(secret)
print("TOTP set up for", admin.email)
