import type { NextConfig } from "next";

const development = process.env.NODE_ENV === "development";

// Next.js inlines the scripts that boot each page, so script-src needs 'unsafe-inline' unless
// every page gets a per-request nonce from middleware. The policy still blocks scripts, frames,
// plugins and form posts from any other origin, and framing by any site (frame-ancestors).
// TODO: move to a nonce-based policy with 'strict-dynamic' so that injected inline script is refused too.
const contentSecurityPolicy = [
  "default-src 'self'",
  // React's development build evaluates source maps, which needs 'unsafe-eval'; production does not.
  `script-src 'self' 'unsafe-inline'${development ? " 'unsafe-eval'" : ""}`,
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const securityHeaders = [
  { key: "Content-Security-Policy", value: contentSecurityPolicy },
  // For browsers that predate frame-ancestors.
  { key: "X-Frame-Options", value: "DENY" },
  { key: "X-Content-Type-Options", value: "nosniff" },
  // Other sites see only the origin, never a path or query string (which may hold a chat id).
  { key: "Referrer-Policy", value: "strict-origin-when-cross-origin" },
  { key: "Permissions-Policy", value: "camera=(), microphone=(), geolocation=(), payment=()" },
  { key: "Cross-Origin-Opener-Policy", value: "same-origin" },
  // Browsers ignore this header on plain HTTP, so local development is not pinned to HTTPS.
  { key: "Strict-Transport-Security", value: "max-age=31536000" },
];

const nextConfig: NextConfig = {
  // PGlite loads its WebAssembly and data files from its own package folder at run time,
  // so it must stay outside the server bundle.
  serverExternalPackages: ["@electric-sql/pglite"],
  poweredByHeader: false,
  async headers() {
    return [{ source: "/:path*", headers: securityHeaders }];
  },
};

export default nextConfig;
