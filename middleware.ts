import { NextResponse, type NextRequest } from "next/server";
import { ACCESS_COOKIE } from "@/lib/auth/cookies";
import { verifyAccessToken } from "@/lib/auth/tokens";
import { getConfig } from "@/lib/config";
import { ERRORS } from "@/lib/errors";

// Middleware runs on the Edge runtime: it verifies the access token's signature and expiry
// without touching the database. Route handlers verify again and load the user, because a
// request can reach them without passing here, and only they can see a revoked session.

const PROTECTED_PAGES = ["/chat", "/dashboard", "/admin", "/account"];

function isProtectedPage(pathname: string): boolean {
  return PROTECTED_PAGES.some((page) => pathname === page || pathname.startsWith(`${page}/`));
}

export async function middleware(request: NextRequest) {
  const { pathname, search } = request.nextUrl;
  const token = request.cookies.get(ACCESS_COOKIE)?.value;
  const verified = token ? await verifyAccessToken(token) : null;
  if (verified?.ok) return NextResponse.next();

  if (pathname.startsWith("/api/")) {
    const code = !token ? "AUTH_REQUIRED" : verified!.ok ? "AUTH_REQUIRED" : verified!.reason;
    return NextResponse.json({ error: ERRORS[code].message, code }, { status: 401 });
  }

  if (!isProtectedPage(pathname)) return NextResponse.next();

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
  matcher: [
    "/api/chat/:path*",
    "/api/generate/:path*",
    "/api/usage/:path*",
    "/api/me/:path*",
    "/api/admin/:path*",
    "/chat/:path*",
    "/dashboard/:path*",
    "/admin/:path*",
    "/account/:path*",
  ],
};
