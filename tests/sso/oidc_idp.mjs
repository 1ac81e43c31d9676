// A hospital's OpenID Connect provider for the SSO tests: the certified `oidc-provider`
// package on loopback, with its signing key made at start and a login page that signs in
// whichever address is typed (the test plays the person at the hospital's page).
//
// Environment: OIDC_TEST_CLIENTS, a JSON list of {client_id, client_secret, redirect_uris}.
// Prints one line of JSON, {"issuer": ...}, once it listens.
import { generateKeyPairSync } from "node:crypto";
import http from "node:http";
import { URLSearchParams } from "node:url";

import Provider from "oidc-provider";

const clients = JSON.parse(process.env.OIDC_TEST_CLIENTS || "[]").map((client) => ({
  ...client,
  grant_types: ["authorization_code"],
  response_types: ["code"],
  token_endpoint_auth_method: "client_secret_post",
}));

const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: "jwk" }), kid: "test-signing", use: "sig", alg: "RS256" };

const server = http.createServer();
server.listen(0, "127.0.0.1", () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients,
    jwks: { keys: [signingKey] },
    // amr and acr travel in every ID token, as the hospital IdPs we meet send them unasked.
    claims: {
      openid: ["sub", "acr", "amr", "auth_time", "sid"],
      email: ["email", "email_verified"],
      profile: ["name"],
    },
    findAccount: async (ctx, accountId) => ({
      accountId,
      claims: async () => ({ sub: accountId, email: accountId, email_verified: true }),
    }),
    features: { devInteractions: { enabled: false } },
    acrValues: ["urn:hospital:acr:password", "urn:hospital:acr:mfa"],
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    // The hospital's own application: no consent screen, the grant covers what it asks.
    loadExistingGrant: async (ctx) => {
      const grantId =
        ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope("openid email profile");
      await grant.save();
      return grant;
    },
  });
  provider.on("server_error", (ctx, err) => console.error("server_error", err));
  const oidc = provider.callback();

  server.on("request", async (req, res) => {
    const match = req.url.match(/^\/interaction\/([^/?]+)(\/login)?/);
    if (!match) return oidc(req, res);
    try {
      const details = await provider.interactionDetails(req, res);
      if (!match[2]) {
        res.setHeader("content-type", "text/html");
        return res.end(
          `<form method="post" action="/interaction/${details.uid}/login">` +
            `<input name="login"><input name="amr"><input name="acr"><button>Sign in</button></form>`,
        );
      }
      const body = new URLSearchParams(await readBody(req));
      const amr = (body.get("amr") || "pwd").split(",").filter(Boolean);
      const login = { accountId: body.get("login"), amr };
      if (body.get("acr")) login.acr = body.get("acr");
      await provider.interactionFinished(req, res, { login }, { mergeWithLastSubmission: false });
    } catch (err) {
      console.error(err);
      res.statusCode = 400;
      res.end(String(err));
    }
  });
  console.log(JSON.stringify({ issuer }));
});

function readBody(req) {
  return new Promise((resolve, reject) => {
    let data = "";
    req.on("data", (chunk) => (data += chunk));
    req.on("end", () => resolve(data));
    req.on("error", reject);
  });
}
