import type { PlanName, PlanTable } from "@/lib/limits/plans";
import type { AdminUserRow } from "@/lib/usage/queries";

// Share of a daily limit at which a user is flagged as near it.
export const NEAR_LIMIT_SHARE = 0.8;
// Today's spend is an anomaly when it passes this multiple of the user's own recent daily average...
const ANOMALY_MULTIPLE = 5;
// ...and is at least this much, so a user going from one cent to six is not flagged.
const ANOMALY_MIN_USD = 0.05;

export type FlaggedUser = AdminUserRow & { nearLimit: boolean; anomaly: boolean };

/** Adds near-limit and anomaly flags to the admin list. */
export function flagUsers(users: AdminUserRow[], plans: PlanTable): FlaggedUser[] {
  return users.map((user) => {
    const limits = plans[user.plan as PlanName];
    const nearLimit =
      user.tokensToday >= limits.tokensPerDay * NEAR_LIMIT_SHARE || user.requestsToday >= limits.requestsPerDay * NEAR_LIMIT_SHARE;
    const anomaly = user.costTodayUsd >= ANOMALY_MIN_USD && user.costTodayUsd > user.averageDailyCostUsd * ANOMALY_MULTIPLE;
    return { ...user, nearLimit, anomaly };
  });
}
