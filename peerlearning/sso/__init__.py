"""Hospital sign-in through the hospital's identity provider (OpenID Connect or SAML 2.0).

allauth does the protocol work; the subclasses here tighten what it accepts (the ID token's
signature and nonce are always checked) and read the IdP's statement that the person passed
its second factor, which the site may accept in place of our TOTP (`mfa.py`).
"""
