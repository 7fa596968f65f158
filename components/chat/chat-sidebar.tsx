import Link from "next/link";
import type { ChatSummary } from "@/components/chat/types";

type Props = {
  chats: ChatSummary[];
  currentChatId: string | null;
  /** Narrow screens only: whether the list is shown over the conversation. */
  open: boolean;
  onClose: () => void;
  /** Runs when a link in the list is followed, before the navigation. */
  onNavigate: () => void;
};

export function ChatSidebar({ chats, currentChatId, open, onClose, onNavigate }: Props) {
  return (
    <aside
      id="chat-list"
      aria-label="Chats"
      className={`${open ? "flex" : "hidden"} absolute inset-0 z-10 flex-col bg-zinc-50 md:static md:flex md:w-64 md:shrink-0 md:border-r md:border-zinc-200 dark:bg-zinc-950 md:dark:border-zinc-800`}
    >
      <div className="flex items-center justify-between gap-2 p-3">
        <Link
          href="/chat"
          onClick={onNavigate}
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

      <h2 className="px-4 pt-1 pb-2 text-xs font-semibold tracking-wide text-zinc-500 uppercase">Recent chats</h2>
      {chats.length === 0 ? (
        <p className="px-4 text-sm text-zinc-500">No chats yet.</p>
      ) : (
        <ul className="flex-1 space-y-0.5 overflow-y-auto px-2 pb-3">
          {chats.map((chat) => {
            const current = chat.id === currentChatId;
            return (
              <li key={chat.id}>
                <Link
                  href={`/chat/${chat.id}`}
                  onClick={onNavigate}
                  aria-current={current ? "page" : undefined}
                  title={chat.title}
                  className={`block truncate rounded-md px-3 py-2 text-sm ${
                    current
                      ? "bg-zinc-200 font-medium text-zinc-900 dark:bg-zinc-800 dark:text-zinc-50"
                      : "text-zinc-700 hover:bg-zinc-100 dark:text-zinc-300 dark:hover:bg-zinc-900"
                  }`}
                >
                  {chat.title}
                </Link>
              </li>
            );
          })}
        </ul>
      )}
    </aside>
  );
}
