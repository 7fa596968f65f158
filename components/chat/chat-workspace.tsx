"use client";

import { usePathname, useRouter } from "next/navigation";
import { useEffect, useRef, useState } from "react";
import { ChatSidebar } from "@/components/chat/chat-sidebar";
import { Composer, type Rejection } from "@/components/chat/composer";
import { MessageList } from "@/components/chat/message-list";
import type { Budget, ChatMessageView, ChatSummary } from "@/components/chat/types";
import { apiFetch } from "@/lib/client/api";
import { streamChatAnswer } from "@/lib/client/chat-stream";

// Matches the server's chat titles closely enough for the sidebar until the next page load.
const TITLE_LENGTH = 60;

function titleFromMessage(message: string): string {
  const oneLine = message.replace(/\s+/g, " ").trim();
  return oneLine.length > TITLE_LENGTH ? `${oneLine.slice(0, TITLE_LENGTH - 3)}...` : oneLine;
}

type MeResponse = {
  limits: { tokensPerDay: number; requestsPerDay: number };
  usage: { tokensToday: number; requestsToday: number; dayResetAt: string };
};

async function fetchBudget(): Promise<Budget | null> {
  try {
    const response = await apiFetch("/api/me", { cache: "no-store" });
    if (!response.ok) return null;
    const { limits, usage } = (await response.json()) as MeResponse;
    return {
      tokensPerDay: limits.tokensPerDay,
      tokensToday: usage.tokensToday,
      requestsPerDay: limits.requestsPerDay,
      requestsToday: usage.requestsToday,
      dayResetAt: usage.dayResetAt,
    };
  } catch {
    // The budget line keeps its last value, and the next answer fetches it again.
    return null;
  }
}

type Props = {
  /** Server-rendered state: the chat list, and the selected chat with its messages (null for a new chat). */
  initial: { chatId: string | null; chats: ChatSummary[]; messages: ChatMessageView[] };
  budget: Budget;
  models: string[];
  demo: boolean;
};

export function ChatWorkspace({ initial, budget: serverBudget, models, demo }: Props) {
  const [shownProps, setShownProps] = useState({ initial, serverBudget });
  const [chatId, setChatId] = useState(initial.chatId);
  const [chats, setChats] = useState(initial.chats);
  const [messages, setMessages] = useState(initial.messages);
  const [budget, setBudget] = useState(serverBudget);
  const [draft, setDraft] = useState("");
  const [model, setModel] = useState(models[0] ?? null);
  const [streaming, setStreaming] = useState(false);
  const [rejection, setRejection] = useState<Rejection | null>(null);
  const [chatsOpen, setChatsOpen] = useState(false);
  const abortRef = useRef<AbortController | null>(null);
  const router = useRouter();
  const pathname = usePathname();

  // A new server render replaces what this visit built up locally: another chat, or "New chat"
  // while this component stays mounted after the URL was rewritten to a new chat's id. A render
  // of the same chat while an answer streams (a refresh) keeps the answer.
  if (shownProps.initial !== initial || shownProps.serverBudget !== serverBudget) {
    setShownProps({ initial, serverBudget });
    setBudget(serverBudget);
    if (initial.chatId !== chatId || !streaming) {
      setChatId(initial.chatId);
      setChats(initial.chats);
      setMessages(initial.messages);
      setRejection(null);
      setChatsOpen(false);
    }
  }

  // Leaving the page stops an answer in progress; the server then records it as aborted.
  useEffect(() => () => abortRef.current?.abort(), []);

  // Back and Forward restore a history entry with the router state it was created with. For a
  // chat whose id was written into the URL by `adoptNewChat`, that state is the empty new-chat
  // page, so the chat is loaded from the server instead.
  const urlChatId = pathname.startsWith("/chat/") ? decodeURIComponent(pathname.slice("/chat/".length)) : null;
  useEffect(() => {
    if (urlChatId && urlChatId !== initial.chatId && urlChatId !== chatId) router.refresh();
  }, [urlChatId, initial.chatId, chatId, router]);

  function adoptNewChat(newChatId: string, firstMessage: string) {
    setChatId(newChatId);
    setChats((current) => [{ id: newChatId, title: titleFromMessage(firstMessage) }, ...current]);
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

  async function send() {
    const text = draft.trim();
    if (!text || streaming) return;

    const answerId = `answer-${crypto.randomUUID()}`;
    const questionId = `question-${crypto.randomUUID()}`;
    const updateAnswer = (change: (answer: ChatMessageView) => ChatMessageView) =>
      setMessages((current) => current.map((message) => (message.id === answerId ? change(message) : message)));

    setMessages((current) => [
      ...current,
      { id: questionId, role: "user", content: text },
      { id: answerId, role: "assistant", content: "", state: "streaming" },
    ]);
    setDraft("");
    setRejection(null);
    setStreaming(true);

    const controller = new AbortController();
    abortRef.current = controller;
    try {
      const result = await streamChatAnswer({
        chatId,
        message: text,
        model: models.length > 1 ? model : null,
        signal: controller.signal,
        onDelta: (piece) => updateAnswer((answer) => ({ ...answer, content: answer.content + piece })),
      });

      if (result.kind === "done") {
        updateAnswer((answer) => ({ ...answer, state: undefined, usage: result.usage }));
        if (result.chatId && result.chatId !== chatId) adoptNewChat(result.chatId, text);
        else if (chatId) moveChatToTop(chatId);
      } else if (result.kind === "stream-error") {
        updateAnswer((answer) => ({ ...answer, state: "failed", failure: result.message }));
      } else if (result.kind === "incomplete") {
        updateAnswer((answer) => ({ ...answer, state: "failed", failure: "The answer ended before it was complete. Try again." }));
      } else {
        // Nothing was saved for a rejected request, so the exchange is removed and the text
        // returns to the input, ready to send again.
        setMessages((current) => current.filter((message) => message.id !== questionId && message.id !== answerId));
        setDraft((current) => current || text);
        setRejection({
          message: result.message,
          resetsAt: result.retryAfterSeconds === null ? null : Date.now() + result.retryAfterSeconds * 1000,
        });
      }
    } catch {
      if (controller.signal.aborted) {
        updateAnswer((answer) => ({ ...answer, state: "stopped" }));
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
      const latest = await fetchBudget();
      if (latest) setBudget(latest);
    }
  }

  function stop() {
    abortRef.current?.abort();
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

        <MessageList messages={messages} />

        <Composer
          draft={draft}
          onDraftChange={setDraft}
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
