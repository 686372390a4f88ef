// @vitest-environment happy-dom
// The React hooks rendered with react-dom into happy-dom, on the model server
// and a fake clock: they show the stores and follow their changes.

import { act, createElement as h } from 'react';
import { createRoot } from 'react-dom/client';
import { renderToString } from 'react-dom/server';
import { afterEach, expect, it } from 'vitest';
import {
  ChatProvider,
  useConnection,
  useConversation,
  useInbox,
  usePresence,
  useTyping,
} from '../../react/index.ts';
import { settle } from '../support/fake-clock.ts';
import { modelWorld } from '../support/model-chat.ts';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

function Screen({ id }: { id: string }) {
  const connection = useConnection();
  const inbox = useInbox();
  const conversation = useConversation(id);
  const typing = useTyping(id);
  const online = usePresence(id);
  return h(
    'main',
    null,
    h('p', { id: 'connection' }, `${connection.state} via ${connection.transport}`),
    h(
      'ul',
      { id: 'inbox' },
      ...inbox.entries.map((e) =>
        h('li', { key: e.conversation_id }, `${e.title}: ${e.unread_count} unread`),
      ),
    ),
    h(
      'ol',
      { id: 'messages' },
      ...conversation.messages.map((m) => h('li', { key: m.client_id }, `${m.body} (${m.status})`)),
    ),
    h('p', { id: 'typing' }, typing.join(',')),
    h('p', { id: 'online' }, online.join(',')),
    h(
      'button',
      { id: 'send', type: 'button', onClick: () => void conversation.send('from the button') },
      'send',
    ),
  );
}

const world = modelWorld();
afterEach(() => world.closeAll());

it('render the stores and follow them: connection, inbox, messages, typing, presence', async () => {
  const id = world.server.createConversation('group', ['alice', 'bob'], 'team');
  world.server.send('alice', id, 'hello');
  const alice = await world.client('alice');
  const bob = await world.client('bob');
  const container = document.createElement('div');
  const root = createRoot(container);
  const text = (selector: string) => container.querySelector(selector)?.textContent;

  await act(async () => {
    root.render(h(ChatProvider, { chat: bob.chat }, h(Screen, { id })));
    await settle();
  });
  expect(text('#connection')).toBe('live via realtime');
  expect(text('#messages')).toBe('hello (sent)');
  expect(text('#online')).toBe('bob');

  const aliceView = alice.chat.open(id);
  await act(async () => {
    await settle();
    world.server.send('alice', id, 'second');
    await settle();
    aliceView.keystroke();
    await world.clock.advance(1_000); // one receipt batch: bob has read both
  });
  expect(text('#messages')).toBe('hello (sent)second (sent)');
  expect(text('#typing')).toBe('alice');
  expect(text('#online')).toBe('alice,bob');
  expect(text('#inbox')).toBe('team: 0 unread');

  await act(async () => {
    (container.querySelector('#send') as HTMLButtonElement).click();
    await settle();
  });
  expect(text('#messages')).toBe('hello (sent)second (sent)from the button (sent)');
  expect(world.server.timeline(id).map((m) => m.body)).toEqual(['hello', 'second', 'from the button']);

  await act(async () => {
    root.unmount();
    await settle();
  });
  expect(aliceView.online.getSnapshot()).toEqual(['alice']); // bob's screen closed the conversation
});

it('renders on the server with the initial snapshots', async () => {
  const id = world.server.createConversation('direct', ['alice', 'bob']);
  const bob = await world.client('bob');
  const html = renderToString(h(ChatProvider, { chat: bob.chat }, h(Screen, { id })));
  expect(html).toContain('via realtime');
  expect(html).toContain('<ol id="messages"></ol>');
});
