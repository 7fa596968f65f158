// Unsent drafts live in sessionStorage: per tab, kept across reloads and the redirect through
// sign-in, and gone when the tab closes. Storage can be full or disabled (some private modes),
// so every access may fail, and the draft is then not kept.
const KEY_PREFIX = "tollgate:draft:";

function draftKey(chatId: string | null): string {
  return `${KEY_PREFIX}${chatId ?? "new"}`;
}

export function readStoredDraft(chatId: string | null): string {
  try {
    return window.sessionStorage.getItem(draftKey(chatId)) ?? "";
  } catch {
    return "";
  }
}

/** Stores the draft of a chat (null for a new chat), or removes it when empty. */
export function storeDraft(chatId: string | null, text: string): void {
  try {
    if (text.trim()) window.sessionStorage.setItem(draftKey(chatId), text);
    else window.sessionStorage.removeItem(draftKey(chatId));
  } catch {
    // See the note at the top of this file.
  }
}
