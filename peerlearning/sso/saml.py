"""SAML 2.0: allauth's provider, keeping the assertion's AuthnContextClassRef for the MFA rule."""

from allauth.socialaccount.providers.saml.provider import SAMLProvider

# Stored beside the attributes in the account's extra data; written after them, so an IdP
# attribute of the same name cannot stand in for the signed authentication statement.
AUTHN_CONTEXTS_KEY = "peerlearning:authn_context_class_refs"


class HospitalSAMLProvider(SAMLProvider):
    package = "allauth.socialaccount.providers.saml"

    def extract_extra_data(self, data):
        return {**data.get_attributes(), AUTHN_CONTEXTS_KEY: list(data.get_last_authn_contexts())}

    def extract_common_fields(self, data):
        # The configured IdP is the hospital's directory: the address it asserts in a signed
        # assertion is the one it holds for that person.
        fields = super().extract_common_fields(data)
        if fields.get("email"):
            fields["email_verified"] = True
        return fields
