import { NextResponse, type NextRequest } from "next/server";
import { ACCESS_COOKIE } from "@/lib/auth/cookies";
import { verifyAccessToken } from "@/lib/auth/tokens";
import { getConfig } from "@/lib/config";
import { ERRORS } from "@/lib/errors";

// Middleware guards pages: it verifies the access token's signature and expiry without touching
// the database, and sends a visitor without a valid token through refresh or to sign-in. API
// routes are not matched. Each handler verifies the token and loads the user itself, because a
// request can reach it without passing here and only it can see a revoked session. A second
// check here only added CPU to every LLM request. Middleware runs on the Node.js runtime (stable
// since Next.js 15.5), which costs less CPU per request than the Edge sandbox.

// Keep in step with `config.matcher` below.
const PROTECTED_PAGES = ["/chat", "/generate", "/dashboard", "/admin", "/account"];

function isProtectedPage(pathname: string): boolean {
  return PROTECTED_PAGES.some((page) => pathname === page || pathname.startsWith(`${page}/`));
}

/**
 * Checks whether a request loads a page as a document. Next.js removes its own RSC headers before
 * middleware runs, so the browser's Sec-Fetch-Mode decides, or, in browsers that do not send it,
 * whether the request accepts HTML.
 */
function isDocumentRequest(request: NextRequest): boolean {
  const mode = request.headers.get("sec-fetch-mode");
  if (mode) return mode === "navigate";
  return (request.headers.get("accept") ?? "").includes("text/html");
}

export async function middleware(request: NextRequest) {
  const { pathname, search } = request.nextUrl;
  const token = request.cookies.get(ACCESS_COOKIE)?.value;
  const verified = token ? await verifyAccessToken(token) : null;
  if (verified?.ok) return NextResponse.next();

  const code = !token || !verified || verified.ok ? "AUTH_REQUIRED" : verified.reason;
  if (!isProtectedPage(pathname)) return NextResponse.next();

  // Client-side navigations and link prefetches fetch the page with `fetch`, not as a document.
  // Sent through refresh, a prefetch of every visible link would rotate the refresh token in the
  // background. A 401 instead makes the router load the page in full when the user follows the
  // link, and that page load refreshes once, below.
  if (!isDocumentRequest(request)) {
    return NextResponse.json({ error: ERRORS[code].message, code }, { status: 401, headers: { "Cache-Control": "no-store" } });
  }

  // Redirects are built from APP_URL: behind some set-ups `request.url` names another host, and
  // a redirect there would lose the cookies.
  const { appUrl } = getConfig();
  const next = `${pathname}${search}`;
  // The refresh cookie is scoped to /api/auth, so it is invisible here. An access cookie that
  // is present but expired means a session may still be alive: go through refresh, which
  // rotates once and comes back, or continues to sign-in.
  const target = token ? new URL("/api/auth/refresh", appUrl) : new URL("/sign-in", appUrl);
  target.searchParams.set("next", next);
  return NextResponse.redirect(target, 307);
}

export const config = {
  runtime: "nodejs",
  matcher: [
    "/chat/:path*",
    "/generate/:path*",
    "/dashboard/:path*",
    "/admin/:path*",
    "/account/:path*",
  ],
};
