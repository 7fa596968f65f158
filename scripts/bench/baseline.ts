import path from "node:path";

/** URL path of the baseline route in the benchmark's own build. */
export const BASELINE_ROUTE_PATH = "/api/bench-baseline/chat";
/** Where the benchmark writes the baseline route, relative to the root of its copy of the project. */
export const BASELINE_ROUTE_FILE = path.join("app", "api", "bench-baseline", "chat", "route.ts");
/** Source of the baseline route, relative to the project root. */
export const BASELINE_ROUTE_SOURCE = path.join("scripts", "bench", "baseline-route.ts");
