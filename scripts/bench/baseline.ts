import path from "node:path";

/** URL path of the baseline route in the benchmark's own build. */
export const BASELINE_ROUTE_PATH = "/api/bench-baseline/chat";
/** Path of the baseline route in the benchmark's copy of the project, relative to the copy's root. */
export const BASELINE_ROUTE_FILE = path.join("app", "api", "bench-baseline", "chat", "route.ts");
/** Source of the baseline route, relative to the project root. */
export const BASELINE_ROUTE_SOURCE = path.join("scripts", "bench", "baseline-route.ts");
