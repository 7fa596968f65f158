/**
 * A local OpenID Connect provider that replaces Google in Tollgate's tests and demos.
 *
 * `oauth2-mock-server` speaks the protocol (discovery, JWKS, the token endpoint with PKCE, signed
 * ID tokens). This file puts a consent page in front of its authorization endpoint, where a person
 * or a browser test picks who to be (email, name, whether the address is verified) and allows or
 * cancels, as on Google's own page. The chosen identity ends up in the ID token of that sign-in.
 *
 * To use it, set AUTH_GOOGLE_ISSUER=<printed URL> and any AUTH_GOOGLE_ID and
 * AUTH_GOOGLE_SECRET. Run it with `npx tsx e2e/oidc-server.ts --port 4020`. Control endpoints:
 *   POST /__control/outage  {"down": true} makes every other endpoint respond 503, as a provider
 *                           that is down would; {"down": false} brings it back
 *   POST /__control/reset   no outage, no remembered sign-ins (204)
 *   GET  /__control/health  200 once the server listens
 *
 * It binds 127.0.0.1 only.
 */
import { createHash } from "node:crypto";
import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import { OAuth2Issuer, OAuth2Service } from "oauth2-mock-server";

const HOST = "127.0.0.1";

export type OidcIdentity = { sub: string; email: string; emailVerified: boolean; name: string };

export type OidcServer = {
  /** The issuer URL, for AUTH_GOOGLE_ISSUER. */
  url: string;
  setOutage(down: boolean): void;
  reset(): void;
  close(): Promise<void>;
};

/** Returns a stable `sub` for an address. Google's `sub` is not derived from the address, but here it is. */
export function subjectFor(email: string): string {
  return `local-${createHash("sha256").update(email.trim().toLowerCase()).digest("hex").slice(0, 20)}`;
}

export async function startOidcServer(options: { port?: number } = {}): Promise<OidcServer> {
  const issuer = new OAuth2Issuer();
  await issuer.keys.generate("RS256");
  const service = new OAuth2Service(issuer);
  // Identities chosen on the consent page, by the authorization code issued for them.
  const identities = new Map<string, OidcIdentity>();
  let down = false;

  service.on("beforeAuthorizeRedirect", ({ url }: { url: URL }, req: IncomingMessage) => {
    const code = url.searchParams.get("code");
    if (code) identities.set(code, readConsent(new URL(req.url ?? "/", "http://local")));
  });
  service.on("beforeTokenSigning", (token: { payload: Record<string, unknown> }, req: IncomingMessage & { body?: Record<string, string> }) => {
    const identity = identities.get(req.body?.code ?? "");
    if (!identity) return;
    Object.assign(token.payload, {
      sub: identity.sub,
      email: identity.email,
      email_verified: identity.emailVerified,
      name: identity.name,
    });
  });

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://local");
    if (url.pathname.startsWith("/__control/")) return handleControl(req, res, url);
    if (down) return sendText(res, 503, "The identity provider is unavailable.");
    if (url.pathname === "/authorize") {
      const decision = url.searchParams.get("decision");
      if (decision === null) return sendConsentPage(res, url);
      if (decision !== "allow") return sendDenied(res, url);
    }
    service.requestHandler(req, res);
  });

  function handleControl(req: IncomingMessage, res: ServerResponse, url: URL): void {
    if (req.method === "GET" && url.pathname === "/__control/health") return sendText(res, 200, "ok");
    if (req.method === "POST" && url.pathname === "/__control/reset") {
      down = false;
      identities.clear();
      res.writeHead(204).end();
      return;
    }
    if (req.method === "POST" && url.pathname === "/__control/outage") {
      let body = "";
      req.setEncoding("utf8");
      req.on("data", (chunk: string) => (body += chunk));
      req.on("end", () => {
        try {
          down = (JSON.parse(body) as { down?: unknown }).down === true;
          sendText(res, 200, JSON.stringify({ down }));
        } catch {
          sendText(res, 400, 'Send {"down": true} or {"down": false}.');
        }
      });
      return;
    }
    sendText(res, 404, "Unknown control endpoint.");
  }

  server.listen(options.port ?? 0, HOST);
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  // The library would announce http://localhost:PORT, but Auth.js requires the discovered issuer
  // to equal the configured one exactly.
  issuer.url = `http://${HOST}:${port}`;

  return {
    url: issuer.url,
    setOutage(value) {
      down = value;
    },
    reset() {
      down = false;
      identities.clear();
    },
    close: () =>
      new Promise((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function readConsent(url: URL): OidcIdentity {
  const email = url.searchParams.get("email")?.trim() || "casey@example.test";
  return {
    sub: url.searchParams.get("sub")?.trim() || subjectFor(email),
    email,
    emailVerified: url.searchParams.get("email_verified") === "on",
    name: url.searchParams.get("name")?.trim() || "Casey Example",
  };
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

/** Sends the consent page, with the sign-in's own parameters as hidden fields. */
function sendConsentPage(res: ServerResponse, url: URL): void {
  const hidden = [...url.searchParams]
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join("\n      ");
  const html = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Local identity provider</title>
<style>body{font:16px system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem}label{display:block;margin:.8rem 0}
input[type=email],input[type=text]{display:block;width:100%;padding:.4rem;margin-top:.2rem;box-sizing:border-box}button{margin:.8rem .5rem 0 0;padding:.5rem 1rem}</style>
</head>
<body>
  <h1>Local identity provider</h1>
  <p>This page replaces Google's sign-in page in tests and demos. Choose who to sign in as.</p>
  <form method="get" action="/authorize">
      ${hidden}
    <label>Email <input type="email" name="email" value="casey@example.test" required></label>
    <label>Name <input type="text" name="name" value="Casey Example"></label>
    <label>Account id (optional) <input type="text" name="sub" placeholder="derived from the email address"></label>
    <label><input type="checkbox" name="email_verified" checked> The provider has verified this email address</label>
    <button type="submit" name="decision" value="allow">Continue</button>
    <button type="submit" name="decision" value="deny" formnovalidate>Cancel</button>
  </form>
</body>
</html>`;
  res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" }).end(html);
}

/** Redirects back to the app with error=access_denied, as Google does when the person cancels. */
function sendDenied(res: ServerResponse, url: URL): void {
  const redirectUri = url.searchParams.get("redirect_uri");
  if (!redirectUri) return sendText(res, 400, "redirect_uri is required.");
  const target = new URL(redirectUri);
  target.searchParams.set("error", "access_denied");
  target.searchParams.set("error_description", "The person cancelled the sign-in.");
  const state = url.searchParams.get("state");
  if (state) target.searchParams.set("state", state);
  res.writeHead(302, { location: target.toString() }).end();
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8" }).end(text);
}

// ---------------------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------------------

const USAGE = `Usage: npx tsx e2e/oidc-server.ts [--port PORT]

Starts a local OpenID Connect provider on 127.0.0.1 that replaces Google, and prints its
issuer URL for AUTH_GOOGLE_ISSUER.
  --port PORT  TCP port to listen on, from 0 to 65535 (default 0, which picks a free port)`;

async function runCli(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { port: { type: "string" }, help: { type: "boolean", short: "h" } } });
  if (values.help === true) {
    console.log(USAGE);
    return;
  }
  const port = Number(values.port ?? 0);
  if (!/^\d+$/.test(values.port ?? "0") || port > 65_535) {
    console.error(`Invalid --port ${JSON.stringify(values.port)}: expected an integer from 0 to 65535.\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  const server = await startOidcServer({ port });
  console.log(`Local OpenID Connect provider listening, issuer ${server.url}`);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      server.close().finally(() => process.exit(0));
    });
  }
}

// The file is both a module and a script, as openai-server.ts is.
const entryScript = process.argv[1] ?? "";
if (/(^|[\\/])oidc-server\.[cm]?[jt]s$/.test(entryScript)) {
  runCli(process.argv.slice(2)).catch((error: unknown) => {
    console.error("oidc-server: failed to start:", error);
    process.exit(1);
  });
}
