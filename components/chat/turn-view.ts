import type { ChatMessageView } from "@/components/chat/types";

/** A turn as the chat screen starts it. The chat id is added when it is sent. */
export type TurnInput = { action: "send"; message: string } | { action: "regenerate" } | { action: "edit"; message: string };

// Matches the server's chat titles closely enough for the sidebar until the next page load.
const TITLE_LENGTH = 60;

export function titleFromMessage(message: string): string {
  const oneLine = message.replace(/\s+/g, " ").trim();
  return oneLine.length > TITLE_LENGTH ? `${oneLine.slice(0, TITLE_LENGTH - 3)}...` : oneLine;
}

export function lastQuestionIndex(messages: ChatMessageView[]): number {
  return messages.findLastIndex((message) => message.role === "user");
}

export function countQuestions(messages: ChatMessageView[]): number {
  return messages.filter((message) => message.role === "user").length;
}

/**
 * Returns the conversation as shown while a turn streams, mirroring what the server stores:
 * send appends a question, regenerate drops the answers to the last question, and edit replaces
 * the last question and its answers. Each ends with an empty answer in the `streaming` state.
 */
export function showTurnStarted(
  messages: ChatMessageView[],
  turn: TurnInput,
  ids: { questionId: string; answerId: string },
): ChatMessageView[] {
  const answer: ChatMessageView = { id: ids.answerId, role: "assistant", content: "", state: "streaming" };
  if (turn.action === "send") return [...messages, { id: ids.questionId, role: "user", content: turn.message }, answer];

  const last = lastQuestionIndex(messages);
  if (turn.action === "regenerate") return [...messages.slice(0, last + 1), answer];
  return [...messages.slice(0, Math.max(last, 0)), { id: ids.questionId, role: "user", content: turn.message }, answer];
}
