import type { Metadata } from "next";
import { ChatScreen } from "@/components/chat/chat-screen";

export const metadata: Metadata = { title: "Chat" };

export default function NewChatPage() {
  return <ChatScreen chatId={null} />;
}
