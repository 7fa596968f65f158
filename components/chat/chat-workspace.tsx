"use client";

import { usePathname, useRouter } from "next/navigation";
import { useEffect, useRef, useState } from "react";
import { ChatSidebar } from "@/components/chat/chat-sidebar";
import { deleteChat, fetchChats, renameChat, requestGeneratedTitle } from "@/components/chat/chats-api";
import { Composer, type Rejection } from "@/components/chat/composer";
import { readStoredDraft, storeDraft } from "@/components/chat/draft-storage";
import { MessageList, type EditingState } from "@/components/chat/message-list";
import { countQuestions, lastQuestionIndex, showTurnStarted, titleFromMessage, type TurnInput } from "@/components/chat/turn-view";
import type { Budget, ChatMessageView, ChatSummary } from "@/components/chat/types";
import { apiFetch } from "@/lib/client/api";
import { streamChatAnswer, type ChatTurn } from "@/lib/client/chat-stream";

type MeResponse = {
  limits: { tokensPerDay: number; requestsPerDay: number };
  usage: { tokensToday: number; requestsToday: number; dayResetAt: string };
  models: string[];
};

/** Reads today's budget and the plan's models from `/api/me`, or null when that fails. */
async function fetchAccount(): Promise<{ budget: Budget; models: string[] } | null> {
  try {
    const response = await apiFetch("/api/me", { cache: "no-store" });
    if (!response.ok) return null;
    const { limits, usage, models } = (await response.json()) as MeResponse;
    const budget = {
      tokensPerDay: limits.tokensPerDay,
      tokensToday: usage.tokensToday,
      requestsPerDay: limits.requestsPerDay,
      requestsToday: usage.requestsToday,
      dayResetAt: usage.dayResetAt,
    };
    return { budget, models };
  } catch {
    // The budget line keeps its last value, and the next answer fetches it again.
    return null;
  }
}

// With a mouse, the message input takes focus when a chat opens. On touch screens that would
// open the keyboard over the conversation, so it waits for a tap.
function prefersAutoFocus(): boolean {
  return window.matchMedia("(hover: hover) and (pointer: fine)").matches;
}

type Props = {
  /** Server-rendered state: the chat list, and the selected chat with its messages (null for a new chat). */
  initial: { chatId: string | null; chats: ChatSummary[]; messages: ChatMessageView[] };
  budget: Budget;
  models: string[];
  demo: boolean;
};

export function ChatWorkspace({ initial, budget: serverBudget, models: serverModels, demo }: Props) {
  const [shownProps, setShownProps] = useState({ initial, serverBudget, serverModels });
  const [chatId, setChatId] = useState(initial.chatId);
  const [chats, setChats] = useState(initial.chats);
  const [messages, setMessages] = useState(initial.messages);
  const [budget, setBudget] = useState(serverBudget);
  const [models, setModels] = useState(serverModels);
  const [draft, setDraft] = useState("");
  const [model, setModel] = useState(serverModels[0] ?? null);
  const [streaming, setStreaming] = useState(false);
  const [rejection, setRejection] = useState<Rejection | null>(null);
  const [editing, setEditing] = useState<EditingState | null>(null);
  const [chatsOpen, setChatsOpen] = useState(false);
  const abortRef = useRef<AbortController | null>(null);
  const inputRef = useRef<HTMLTextAreaElement>(null);
  const chatIdRef = useRef(chatId);
  const router = useRouter();
  const pathname = usePathname();

  // A new server render replaces what this visit built up locally: another chat, or "New chat"
  // while this component stays mounted after the URL was rewritten to a new chat's id. A render
  // of the same chat while an answer streams (a refresh) keeps the answer.
  if (shownProps.initial !== initial || shownProps.serverBudget !== serverBudget || shownProps.serverModels !== serverModels) {
    setShownProps({ initial, serverBudget, serverModels });
    setBudget(serverBudget);
    setModels(serverModels);
    if (initial.chatId !== chatId || !streaming) {
      setChatId(initial.chatId);
      setChats(initial.chats);
      setMessages(initial.messages);
      setRejection(null);
      setEditing(null);
      setChatsOpen(false);
    }
  }

  useEffect(() => {
    chatIdRef.current = chatId;
  }, [chatId]);

  // Each chat keeps its unsent draft for the tab's lifetime, so a message typed before a failed
  // session refresh (and the sign-in that follows) is still there afterwards.
  useEffect(() => {
    setDraft(readStoredDraft(initial.chatId));
    if (prefersAutoFocus()) inputRef.current?.focus();
  }, [initial.chatId]);

  // Leaving the page stops an answer in progress; the server then records it as aborted.
  useEffect(() => () => abortRef.current?.abort(), []);

  // Back and Forward restore a history entry with the router state it was created with. For a
  // chat whose id was written into the URL by `adoptNewChat`, that state is the empty new-chat
  // page, so the chat is loaded from the server instead.
  const urlChatId = pathname.startsWith("/chat/") ? decodeURIComponent(pathname.slice("/chat/".length)) : null;
  useEffect(() => {
    if (urlChatId && urlChatId !== initial.chatId && urlChatId !== chatId) router.refresh();
  }, [urlChatId, initial.chatId, chatId, router]);

  function focusInput() {
    inputRef.current?.focus();
  }

  function changeDraft(text: string) {
    setDraft(text);
    storeDraft(chatId, text);
  }

  function adoptNewChat(newChatId: string, firstMessage: string) {
    setChatId(newChatId);
    chatIdRef.current = newChatId;
    setChats((current) =>
      current.some((chat) => chat.id === newChatId) ? current : [{ id: newChatId, title: titleFromMessage(firstMessage) }, ...current],
    );
    // Next.js keeps its router in step with history.replaceState, so this changes the URL without
    // a server render: the answer on screen, with its usage line, stays as it is.
    window.history.replaceState(null, "", `/chat/${newChatId}`);
  }

  function moveChatToTop(id: string) {
    setChats((current) => {
      const chat = current.find((entry) => entry.id === id);
      return chat ? [chat, ...current.filter((entry) => entry.id !== id)] : current;
    });
  }

  async function refreshAccount() {
    const latest = await fetchAccount();
    if (!latest) return;
    setBudget(latest.budget);
    setModels(latest.models);
    // A plan change can take the chosen model away, and the plan's default then takes over.
    setModel((current) => (current && latest.models.includes(current) ? current : (latest.models[0] ?? null)));
  }

  /**
   * Finds the chat a new-chat message went to when the answer was stopped before the response
   * named it: the server stores the message once the request is admitted, before any text.
   */
  async function recoverStoppedChat(question: string) {
    const listed = await fetchChats("");
    if (!listed.ok || chatIdRef.current !== null) return;
    setChats(listed.value);
    const known = new Set(chats.map((chat) => chat.id));
    const stored = listed.value.find((chat) => !known.has(chat.id) && chat.title === titleFromMessage(question));
    if (stored) adoptNewChat(stored.id, question);
  }

  /** Requests a generated title after a chat's first answer. The server decides whether to call the model, and meters the call. */
  async function titleChat(id: string) {
    const result = await requestGeneratedTitle(id);
    if (!result.ok || !result.value.generated) return;
    const { title } = result.value;
    setChats((current) => current.map((chat) => (chat.id === id ? { ...chat, title } : chat)));
    await refreshAccount();
  }

  async function runTurn(input: TurnInput) {
    if (streaming) return;
    if (input.action !== "send" && !chatId) return;

    const before = messages;
    const question = input.action === "regenerate" ? (before[lastQuestionIndex(before)]?.content ?? "") : input.message;
    const answerId = `answer-${crypto.randomUUID()}`;
    const questionId = `question-${crypto.randomUUID()}`;
    const started = showTurnStarted(before, input, { questionId, answerId });
    const updateAnswer = (change: (answer: ChatMessageView) => ChatMessageView) =>
      setMessages((current) => current.map((message) => (message.id === answerId ? change(message) : message)));

    setMessages(started);
    if (input.action === "send") setDraft("");
    // The stored copy of the draft stays until the server has the message: a refresh that fails
    // sends the browser to sign-in in the middle of this request, and the draft must survive that.
    const draftChatId = chatId;
    const forgetStoredDraft = () => {
      if (input.action === "send") storeDraft(draftChatId, "");
    };
    setEditing(null);
    setRejection(null);
    setStreaming(true);
    focusInput();

    const turn: ChatTurn = input.action === "send" ? { ...input, chatId } : { ...input, chatId: chatId! };
    let turnChatId = chatId;
    const controller = new AbortController();
    abortRef.current = controller;
    try {
      const result = await streamChatAnswer({
        turn,
        model: models.length > 1 ? model : null,
        signal: controller.signal,
        onChatId: (id) => {
          forgetStoredDraft();
          if (turnChatId === null) adoptNewChat(id, question);
          turnChatId = id;
        },
        onDelta: (piece) => updateAnswer((answer) => ({ ...answer, content: answer.content + piece })),
      });

      if (result.kind !== "rejected") forgetStoredDraft();
      if (result.kind === "done") {
        updateAnswer((answer) => ({ ...answer, state: undefined, usage: result.usage }));
        const doneChatId = result.chatId ?? turnChatId;
        if (doneChatId && doneChatId !== turnChatId) adoptNewChat(doneChatId, question);
        if (doneChatId) moveChatToTop(doneChatId);
        // The title runs after the answer, so it never delays it.
        if (doneChatId && countQuestions(started) === 1) void titleChat(doneChatId);
      } else if (result.kind === "failed") {
        updateAnswer((answer) => ({ ...answer, state: "failed", failure: result.message }));
      } else if (result.kind === "incomplete") {
        updateAnswer((answer) => ({ ...answer, state: "failed", failure: "The answer ended before it was complete. Try again." }));
      } else {
        // Nothing was stored for a rejected request, so the conversation goes back to how it was
        // and the typed text returns to where it was typed, ready to send again.
        setMessages(before);
        if (input.action === "send") changeDraftAfterRejection(input.message);
        else if (input.action === "edit") setEditing({ text: input.message });
        setRejection({
          code: result.code,
          message: result.message,
          resetsAt: result.retryAfterSeconds === null ? null : Date.now() + result.retryAfterSeconds * 1000,
        });
      }
    } catch {
      if (controller.signal.aborted) {
        forgetStoredDraft();
        updateAnswer((answer) => ({ ...answer, state: "stopped" }));
        if (turnChatId === null) void recoverStoppedChat(question);
      } else {
        updateAnswer((answer) => ({
          ...answer,
          state: "failed",
          failure: "The connection to the server was lost. Check your connection and try again.",
        }));
      }
    } finally {
      if (abortRef.current === controller) abortRef.current = null;
      setStreaming(false);
      await refreshAccount();
    }
  }

  function changeDraftAfterRejection(text: string) {
    setDraft((current) => {
      const restored = current || text;
      storeDraft(chatIdRef.current, restored);
      return restored;
    });
  }

  function send() {
    const text = draft.trim();
    if (text) void runTurn({ action: "send", message: text });
  }

  function stop() {
    abortRef.current?.abort();
    focusInput();
  }

  /**
   * Opens an empty chat. This page may have been opened as "New chat" and had its URL rewritten
   * to the new chat's id. The router then serves `/chat` from its cache without a new server
   * render, so the screen is emptied here rather than left to new props.
   */
  function openNewChat() {
    stop();
    setChatsOpen(false);
    if (initial.chatId !== null) return;
    setChatId(null);
    chatIdRef.current = null;
    setMessages([]);
    setRejection(null);
    setEditing(null);
    setDraft(readStoredDraft(null));
  }

  async function renameChatInList(id: string, title: string): Promise<string | null> {
    const result = await renameChat(id, title);
    if (!result.ok) return result.message;
    setChats((current) => current.map((chat) => (chat.id === id ? { ...chat, title: result.value.title } : chat)));
    return null;
  }

  async function deleteChatFromList(id: string): Promise<string | null> {
    if (id === chatId) stop();
    const result = await deleteChat(id);
    if (!result.ok) return result.message;
    setChats((current) => current.filter((chat) => chat.id !== id));
    storeDraft(id, "");
    if (id === chatIdRef.current) {
      openNewChat();
      router.push("/chat");
    }
    return null;
  }

  return (
    <div className="relative flex h-[calc(100dvh-var(--nav-height))] min-h-0">
      <ChatSidebar
        chats={chats}
        currentChatId={chatId}
        open={chatsOpen}
        onClose={() => setChatsOpen(false)}
        onNavigate={() => {
          // Opening another chat stops this answer, so it cannot finish into the wrong screen.
          stop();
          setChatsOpen(false);
        }}
        onNewChat={openNewChat}
        onRename={renameChatInList}
        onDelete={deleteChatFromList}
      />

      <section className="flex min-w-0 flex-1 flex-col">
        <div className="flex items-center justify-between gap-2 border-b border-zinc-200 px-3 py-2 md:hidden dark:border-zinc-800">
          <button
            type="button"
            onClick={() => setChatsOpen((open) => !open)}
            aria-expanded={chatsOpen}
            aria-controls="chat-list"
            className="rounded-md px-2 py-1 text-sm font-medium text-zinc-700 hover:bg-zinc-100 dark:text-zinc-300 dark:hover:bg-zinc-800"
          >
            Chats ({chats.length})
          </button>
          <span className="min-w-0 truncate text-sm text-zinc-500">
            {chats.find((chat) => chat.id === chatId)?.title ?? "New chat"}
          </span>
        </div>

        <MessageList
          messages={messages}
          canChangeLastTurn={chatId !== null && !streaming}
          editing={editing}
          onEditStart={(message) => {
            setRejection(null);
            setEditing({ text: message.content });
          }}
          onEditChange={(text) => setEditing((current) => (current ? { ...current, text } : current))}
          onEditCancel={() => {
            setEditing(null);
            focusInput();
          }}
          onEditSubmit={() => {
            const text = editing?.text.trim();
            if (text) void runTurn({ action: "edit", message: text });
          }}
          onRegenerate={() => void runTurn({ action: "regenerate" })}
        />

        <Composer
          inputRef={inputRef}
          draft={draft}
          onDraftChange={changeDraft}
          onSend={send}
          onStop={stop}
          streaming={streaming}
          rejection={rejection}
          budget={budget}
          demo={demo}
          models={models}
          model={model}
          onModelChange={setModel}
        />
      </section>
    </div>
  );
}
