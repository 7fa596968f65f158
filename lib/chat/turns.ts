import { insertChatWithMessage, insertMessage, replaceLastAnswer, replaceLastQuestion, titleFromMessage } from "@/lib/chat/conversations";
import type { Database } from "@/lib/db/client";
import { ApiError } from "@/lib/errors";
import type { ChatMessage } from "@/lib/llm/tokens";

/**
 * What a chat request does: `send` adds a message, `regenerate` replaces the answer to the last
 * message with a new one, and `edit` replaces the last message with new text and gets its answer.
 */
export type TurnRequest = { action: "send"; message: string } | { action: "regenerate" } | { action: "edit"; message: string };

/** One model call of a chat: the messages sent to the model, and how its question and answer are stored. */
export type Turn = {
  action: TurnRequest["action"];
  /** Stored messages sent before `question`. */
  history: ChatMessage[];
  /** The user message the model is asked to answer. */
  question: string;
};

type StoredMessage = { role: "user" | "assistant"; content: string };

/**
 * Plans a turn from the chat's stored messages. Regenerate and edit work on the last user
 * message and drop everything after it from the prompt. Throws INVALID_INPUT when the chat has
 * no user message to work on.
 */
export function planTurn(request: TurnRequest, stored: StoredMessage[]): Turn {
  const history = stored.map(({ role, content }) => ({ role, content }));
  if (request.action === "send") return { action: "send", history, question: request.message };

  const lastQuestion = stored.findLastIndex((message) => message.role === "user");
  if (lastQuestion === -1) {
    const verb = request.action === "edit" ? "edit" : "answer again";
    throw new ApiError("INVALID_INPUT", `This chat has no message to ${verb}. Send a message first.`);
  }

  const question = request.action === "edit" ? request.message : stored[lastQuestion]!.content;
  return { action: request.action, history: history.slice(0, lastQuestion), question };
}

/**
 * Stores the question of an admitted turn: a new message, the edited one, or nothing for
 * regenerate. Without a chat id the turn starts a new chat, titled from the question. Returns
 * the chat's id.
 */
export async function saveTurnQuestion(
  db: Database,
  { turn, chatId, userId }: { turn: Turn; chatId: string | null; userId: string },
): Promise<string> {
  if (chatId === null) {
    if (turn.action !== "send") throw new Error(`A ${turn.action} turn needs an existing chat.`);
    return insertChatWithMessage(db, { userId, title: titleFromMessage(turn.question), role: "user", content: turn.question });
  }

  if (turn.action === "send") await insertMessage(db, { chatId, role: "user", content: turn.question });
  else if (turn.action === "edit") await replaceLastQuestion(db, { chatId, userId, content: turn.question });
  return chatId;
}

/**
 * Stores the answer of a turn. A regenerated answer replaces the previous one only now, when
 * new text exists, so a regenerate that fails before any text arrives keeps the old answer.
 */
export async function saveTurnAnswer(
  db: Database,
  { turn, chatId, userId, text }: { turn: Turn; chatId: string; userId: string; text: string },
) {
  if (turn.action === "regenerate") await replaceLastAnswer(db, { chatId, userId, content: text });
  else await insertMessage(db, { chatId, role: "assistant", content: text });
}
