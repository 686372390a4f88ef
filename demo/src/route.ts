// The open conversation lives in the URL's hash (#/c/<id>), so any static host
// serves the app and the back button works.

import { useSyncExternalStore } from 'react';

const subscribe = (onChange: () => void) => {
  window.addEventListener('hashchange', onChange);
  return () => window.removeEventListener('hashchange', onChange);
};

export function useOpenConversationId(): string | null {
  const hash = useSyncExternalStore(subscribe, () => window.location.hash);
  return /^#\/c\/([0-9a-f-]{36})$/.exec(hash)?.[1] ?? null;
}

export const conversationHref = (conversationId: string) => `#/c/${conversationId}`;

export function openConversation(conversationId: string | null) {
  window.location.hash = conversationId ? conversationHref(conversationId) : '#/';
}
