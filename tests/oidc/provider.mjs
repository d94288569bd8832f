// A real OpenID Provider (panva's certified oidc-provider) for seatkeeper's tests only.
// Listens on 127.0.0.1 (OIDC_PORT, default: any free port), prints {"issuer": ...} once
// it answers. Clients register themselves (dynamic registration); any login name signs
// in, with the claims OIDC_USERS (a JSON file: login -> {preferred_username, groups})
// gives it. Signing out at the end_session endpoint posts back-channel logout tokens.
import fs from "node:fs";
import http from "node:http";
import Provider from "oidc-provider";

const users = process.env.OIDC_USERS ? JSON.parse(fs.readFileSync(process.env.OIDC_USERS, "utf8")) : {};

const configuration = {
  clients: [],
  async findAccount(ctx, id) {
    const user = users[id] || {};
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          preferred_username: user.preferred_username || id,
          name: id,
          groups: user.groups || [],
        };
      },
    };
  },
  claims: { openid: ["sub"], profile: ["preferred_username", "name"], groups: ["groups"] },
  scopes: ["openid", "profile", "groups"],
  conformIdTokenClaims: false, // the username and groups ride in the ID token itself
  features: {
    devInteractions: { enabled: true }, // a plain login form: any login, any password
    registration: { enabled: true },
    backchannelLogout: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  pkce: { required: () => true },
  // It refuses to post to loopback addresses (as seatkeeper does): here seatkeeper is on one.
  fetch(url, options) {
    const { dispatcher, ...rest } = options;
    return globalThis.fetch(url, rest);
  },
  cookies: { keys: ["seatkeeper-tests-only"] },
  renderError(ctx, out) {
    ctx.type = "html";
    ctx.body = `<p id="error">${out.error}: ${out.error_description || ""}</p>`;
  },
};

const server = http.createServer();
server.listen(Number(process.env.OIDC_PORT || 0), "127.0.0.1", () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, configuration);
  provider.on("server_error", (ctx, error) => console.error("server_error", error));
  provider.on("backchannel.error", (client, error) => console.error("backchannel.error", error.message));
  // Its built-in pages ask Google for a font: the browser tests allow no other server.
  provider.use(async (ctx, next) => {
    await next();
    if (typeof ctx.body === "string") ctx.body = ctx.body.replace(/@import url\(https:\/\/fonts\.googleapis[^)]*\);/g, "");
  });
  server.on("request", provider.callback());
  console.log(JSON.stringify({ issuer }));
});
