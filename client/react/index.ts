// @supachat/client/react — hooks on the core stores (useSyncExternalStore).
// React is a peer dependency; nothing else is needed.

export {
  type ConversationView,
  type UseConversationOptions,
  useConnection,
  useConversation,
  useInbox,
  usePresence,
  useTyping,
} from './hooks.ts';
export { ChatProvider, useChat } from './provider.ts';
