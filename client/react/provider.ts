// Makes one ChatClient available to the hooks below it.

import { createContext, createElement, type ReactNode, useContext } from 'react';
import type { ChatClient } from '../src/chat.ts';

const ChatContext = createContext<ChatClient | null>(null);

export function ChatProvider({ chat, children }: { chat: ChatClient; children?: ReactNode }) {
  return createElement(ChatContext.Provider, { value: chat }, children);
}

/** The ChatClient given to the nearest ChatProvider. */
export function useChat(): ChatClient {
  const chat = useContext(ChatContext);
  if (!chat) throw new Error('useChat: wrap the component in <ChatProvider chat={createChat(supabase)}>');
  return chat;
}
