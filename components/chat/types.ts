import type { AnswerUsage } from "@/lib/client/chat-stream";

export type ChatSummary = { id: string; title: string };

export type ChatMessageView = {
  id: string;
  role: "user" | "assistant";
  content: string;
  /** Only for answers streamed in this visit: saved messages carry no usage. */
  usage?: AnswerUsage;
  state?: "streaming" | "stopped" | "failed";
  /** Why a failed answer stopped, as the API worded it. */
  failure?: string;
};

/** Today's counters against the plan's daily limits, as `/api/me` returns them. */
export type Budget = {
  tokensPerDay: number;
  tokensToday: number;
  requestsPerDay: number;
  requestsToday: number;
  /** ISO time at which the UTC day, and with it both daily counters, resets. */
  dayResetAt: string;
};
