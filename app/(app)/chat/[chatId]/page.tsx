import type { Metadata } from "next";
import { ChatScreen } from "@/components/chat/chat-screen";

export const metadata: Metadata = { title: "Chat" };

type Props = { params: Promise<{ chatId: string }> };

export default async function ChatPage({ params }: Props) {
  const { chatId } = await params;
  return <ChatScreen chatId={chatId} />;
}
