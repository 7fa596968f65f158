"use client";

import Link from "next/link";
import { useEffect, useState, type FormEvent, type KeyboardEvent } from "react";
import { fetchChats } from "@/components/chat/chats-api";
import type { ChatSummary } from "@/components/chat/types";

// Wait for a pause in typing before searching, so each keystroke does not send a request.
const SEARCH_DEBOUNCE_MS = 250;

type Props = {
  chats: ChatSummary[];
  currentChatId: string | null;
  /** Narrow screens only: whether the list is shown over the conversation. */
  open: boolean;
  onClose: () => void;
  /** Runs when a link in the list is followed, before the navigation. */
  onNavigate: () => void;
  /** Runs when "New chat" is followed, before the navigation. */
  onNewChat: () => void;
  /** Renames a chat, resolving to an error sentence, or to null on success. */
  onRename: (chatId: string, title: string) => Promise<string | null>;
  /** Deletes a chat, resolving to an error sentence, or to null on success. */
  onDelete: (chatId: string) => Promise<string | null>;
};

type Search = { query: string; results: ChatSummary[] | null; error: string | null };

function PencilIcon() {
  return (
    <svg aria-hidden="true" viewBox="0 0 24 24" className="size-4" fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" strokeLinejoin="round">
      <path d="M4 20h4L19 9l-4-4L4 16z" />
      <path d="M13.5 6.5l4 4" />
    </svg>
  );
}

function TrashIcon() {
  return (
    <svg aria-hidden="true" viewBox="0 0 24 24" className="size-4" fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" strokeLinejoin="round">
      <path d="M4 7h16" />
      <path d="M9 7V4h6v3" />
      <path d="M6 7l1 13h10l1-13" />
    </svg>
  );
}

const iconButton =
  "rounded-md p-1.5 text-zinc-500 hover:bg-zinc-200 hover:text-zinc-900 dark:text-zinc-400 dark:hover:bg-zinc-800 dark:hover:text-zinc-100";
const smallButton = "rounded-md px-2 py-1 text-xs font-medium";

export function ChatSidebar({ chats, currentChatId, open, onClose, onNavigate, onNewChat, onRename, onDelete }: Props) {
  const [search, setSearch] = useState<Search>({ query: "", results: null, error: null });
  const [renaming, setRenaming] = useState<{ chatId: string; title: string } | null>(null);
  const [confirmingDelete, setConfirmingDelete] = useState<string | null>(null);
  const [pending, setPending] = useState(false);
  const [actionError, setActionError] = useState<string | null>(null);

  const query = search.query.trim();
  useEffect(() => {
    if (!query) return;
    const controller = new AbortController();
    const timer = setTimeout(async () => {
      try {
        const result = await fetchChats(query, controller.signal);
        setSearch((current) =>
          current.query.trim() !== query
            ? current
            : { ...current, results: result.ok ? result.value : current.results, error: result.ok ? null : result.message },
        );
      } catch {
        // Aborted: a newer query replaced this one.
      }
    }, SEARCH_DEBOUNCE_MS);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [query]);

  const visibleChats = query ? search.results : chats;

  function patchResults(change: (results: ChatSummary[]) => ChatSummary[]) {
    setSearch((current) => (current.results ? { ...current, results: change(current.results) } : current));
  }

  async function submitRename(event: FormEvent) {
    event.preventDefault();
    if (!renaming || pending) return;
    const title = renaming.title.trim();
    if (!title) return;

    setPending(true);
    const error = await onRename(renaming.chatId, title);
    setPending(false);
    setActionError(error);
    if (error) return;
    patchResults((results) => results.map((chat) => (chat.id === renaming.chatId ? { ...chat, title } : chat)));
    setRenaming(null);
  }

  async function confirmDelete(chatId: string) {
    if (pending) return;
    setPending(true);
    const error = await onDelete(chatId);
    setPending(false);
    setActionError(error);
    if (error) return;
    patchResults((results) => results.filter((chat) => chat.id !== chatId));
    setConfirmingDelete(null);
  }

  function cancelOnEscape(event: KeyboardEvent) {
    if (event.key !== "Escape") return;
    event.preventDefault();
    setRenaming(null);
  }

  return (
    <aside
      id="chat-list"
      aria-label="Chats"
      className={`${open ? "flex" : "hidden"} absolute inset-0 z-10 flex-col bg-zinc-50 md:static md:flex md:w-72 md:shrink-0 md:border-r md:border-zinc-200 dark:bg-zinc-950 md:dark:border-zinc-800`}
    >
      <div className="flex items-center justify-between gap-2 p-3">
        <Link
          href="/chat"
          onClick={onNewChat}
          className="flex-1 rounded-lg border border-zinc-300 bg-white px-3 py-2 text-center text-sm font-medium hover:bg-zinc-100 dark:border-zinc-700 dark:bg-zinc-900 dark:hover:bg-zinc-800"
        >
          New chat
        </Link>
        <button
          type="button"
          onClick={onClose}
          className="rounded-md px-2 py-2 text-sm text-zinc-600 hover:bg-zinc-100 md:hidden dark:text-zinc-400 dark:hover:bg-zinc-800"
        >
          Close
        </button>
      </div>

      <div className="px-3 pb-2">
        <label htmlFor="chat-search" className="sr-only">
          Search chats
        </label>
        <input
          id="chat-search"
          type="search"
          value={search.query}
          onChange={(event) => setSearch((current) => ({ ...current, query: event.target.value }))}
          placeholder="Search chats"
          autoComplete="off"
          className="block w-full rounded-lg border border-zinc-300 bg-white px-3 py-1.5 text-sm placeholder:text-zinc-400 focus:border-indigo-500 focus:ring-2 focus:ring-indigo-500/30 focus:outline-none dark:border-zinc-700 dark:bg-zinc-900"
        />
      </div>

      <h2 className="px-4 pt-1 pb-2 text-xs font-semibold tracking-wide text-zinc-500 uppercase">
        {query ? "Search results" : "Recent chats"}
      </h2>
      {actionError && (
        <p role="alert" className="mx-3 mb-2 rounded-md bg-red-50 px-2 py-1 text-xs text-red-800 dark:bg-red-950/50 dark:text-red-200">
          {actionError}
        </p>
      )}
      {query && search.error && (
        <p role="alert" className="px-4 text-sm text-red-700 dark:text-red-300">
          {search.error}
        </p>
      )}
      {visibleChats === null ? (
        <p className="px-4 text-sm text-zinc-500" aria-live="polite">
          Searching…
        </p>
      ) : visibleChats.length === 0 ? (
        <p className="px-4 text-sm text-zinc-500" aria-live="polite">
          {query ? `No chats match “${query}”.` : "No chats yet."}
        </p>
      ) : (
        <ul className="flex-1 space-y-0.5 overflow-y-auto px-2 pb-3">
          {visibleChats.map((chat) => {
            const current = chat.id === currentChatId;
            if (renaming?.chatId === chat.id) {
              return (
                <li key={chat.id}>
                  <form onSubmit={submitRename} className="flex items-center gap-1 rounded-md bg-white p-1 dark:bg-zinc-900">
                    <label htmlFor="rename-chat" className="sr-only">
                      New title
                    </label>
                    <input
                      id="rename-chat"
                      autoFocus
                      value={renaming.title}
                      maxLength={120}
                      onChange={(event) => setRenaming({ chatId: chat.id, title: event.target.value })}
                      onKeyDown={cancelOnEscape}
                      className="min-w-0 flex-1 rounded border border-zinc-300 bg-white px-2 py-1 text-sm focus:border-indigo-500 focus:outline-none dark:border-zinc-700 dark:bg-zinc-950"
                    />
                    <button type="submit" disabled={pending} className={`${smallButton} bg-indigo-600 text-white hover:bg-indigo-500`}>
                      Save
                    </button>
                    <button type="button" onClick={() => setRenaming(null)} className={`${smallButton} text-zinc-600 hover:bg-zinc-100 dark:text-zinc-300 dark:hover:bg-zinc-800`}>
                      Cancel
                    </button>
                  </form>
                </li>
              );
            }
            if (confirmingDelete === chat.id) {
              return (
                <li key={chat.id} className="rounded-md bg-red-50 p-2 text-sm dark:bg-red-950/40">
                  <p className="truncate text-red-900 dark:text-red-100" title={chat.title}>
                    Delete “{chat.title}”?
                  </p>
                  <div className="mt-1.5 flex gap-1">
                    <button
                      type="button"
                      disabled={pending}
                      onClick={() => confirmDelete(chat.id)}
                      className={`${smallButton} bg-red-600 text-white hover:bg-red-500`}
                    >
                      Delete
                    </button>
                    <button
                      type="button"
                      onClick={() => setConfirmingDelete(null)}
                      className={`${smallButton} text-zinc-700 hover:bg-red-100 dark:text-zinc-200 dark:hover:bg-red-900/40`}
                    >
                      Cancel
                    </button>
                  </div>
                </li>
              );
            }
            return (
              <li key={chat.id} className="group flex items-center gap-0.5">
                <Link
                  href={`/chat/${chat.id}`}
                  onClick={onNavigate}
                  aria-current={current ? "page" : undefined}
                  title={chat.title}
                  className={`block min-w-0 flex-1 truncate rounded-md px-3 py-2 text-sm ${
                    current
                      ? "bg-zinc-200 font-medium text-zinc-900 dark:bg-zinc-800 dark:text-zinc-50"
                      : "text-zinc-700 hover:bg-zinc-100 dark:text-zinc-300 dark:hover:bg-zinc-900"
                  }`}
                >
                  {chat.title}
                </Link>
                {/* Always shown on touch screens; with a mouse, on hover or keyboard focus. */}
                <div className={`flex shrink-0 ${current ? "" : "md:opacity-0 md:group-focus-within:opacity-100 md:group-hover:opacity-100"}`}>
                  {/* Named by hidden text, not aria-label: label queries (Playwright's getByLabel, for
                      one) read aria-label, so a chat titled "message 1" would match the "Message" input. */}
                  <button
                    type="button"
                    title="Rename"
                    onClick={() => {
                      setActionError(null);
                      setConfirmingDelete(null);
                      setRenaming({ chatId: chat.id, title: chat.title });
                    }}
                    className={iconButton}
                  >
                    <PencilIcon />
                    <span className="sr-only">Rename “{chat.title}”</span>
                  </button>
                  <button
                    type="button"
                    title="Delete"
                    onClick={() => {
                      setActionError(null);
                      setRenaming(null);
                      setConfirmingDelete(chat.id);
                    }}
                    className={iconButton}
                  >
                    <TrashIcon />
                    <span className="sr-only">Delete “{chat.title}”</span>
                  </button>
                </div>
              </li>
            );
          })}
        </ul>
      )}
    </aside>
  );
}
