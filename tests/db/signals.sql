-- WebRTC signaling: send_signal relays only between two members of a conversation,
-- only to the recipient's user topic, within size and rate limits.
begin;
select plan(21);

select tests.create_user('alice');
select tests.create_user('bob');
select tests.create_user('carol');
select tests.create_user('mallory');

select tests.authenticate_as('alice');
select tests.remember('call', (select id from public.create_group_conversation('Call', array[tests.get_user_id('bob')])));
select tests.clear_authentication();

-- as alice (member) to bob (member)
select tests.authenticate_as('alice');
select lives_ok($$ select public.send_signal(tests.id('call'), tests.get_user_id('bob'), 'offer', '{"sdp": "v=0 offer"}') $$,
                'Alice sends Bob an offer.');
select tests.clear_authentication();
select results_eq(
  $$ select topic, private, payload ->> 'from', payload ->> 'conversation_id', payload ->> 'type', payload -> 'payload' ->> 'sdp'
       from realtime.messages where event = 'signal' $$,
  $$ values ('user:' || tests.get_user_id('bob'), true, tests.get_user_id('alice')::text, tests.id('call')::text,
             'offer', 'v=0 offer') $$,
  'The offer is one private signal row on Bob''s user topic, naming Alice, the conversation and the type.');
select is(tests.event_count('user:' || tests.get_user_id('alice'), 'signal'), 0, 'Nothing goes to the sender''s topic.');
select is(tests.event_count(tests.topic('call'), 'signal'), 0, 'Nothing goes to the conversation topic.');

-- as bob, answering, then ICE and bye
select tests.authenticate_as('bob');
select lives_ok($$ select public.send_signal(tests.id('call'), tests.get_user_id('alice'), 'answer', '{"sdp": "v=0 answer"}') $$,
                'Bob answers Alice.');
select lives_ok($$ select public.send_signal(tests.id('call'), tests.get_user_id('alice'), 'ice', '{"candidate": "c1"}') $$,
                'Bob sends an ICE candidate.');
select lives_ok($$ select public.send_signal(tests.id('call'), tests.get_user_id('alice'), 'bye') $$,
                'Bob hangs up with a bye that carries no payload.');
select tests.clear_authentication();
select is(tests.event_count('user:' || tests.get_user_id('alice'), 'signal'), 3, 'Alice received the answer, the candidate and the bye.');
select results_eq(
  $$ select topic, payload ->> 'from', payload -> 'payload' from realtime.messages
      where event = 'signal' and payload ->> 'type' = 'bye' $$,
  $$ values ('user:' || tests.get_user_id('alice'), tests.get_user_id('bob')::text, 'null'::jsonb) $$,
  'The bye is one signal on Alice''s topic, from Bob, with a null payload.');

-- as mallory (not a member)
select tests.authenticate_as('mallory');
select tests.throws_api_error($$ select public.send_signal(tests.id('call'), tests.get_user_id('bob'), 'offer', '{}') $$,
                              403, 'not_a_member', 'You are not a member of this conversation.',
                              'A non-member cannot signal through the conversation.');
select tests.clear_authentication();

-- as alice to carol (not a member)
select tests.authenticate_as('alice');
select tests.throws_api_error($$ select public.send_signal(tests.id('call'), tests.get_user_id('carol'), 'offer', '{}') $$,
                              404, 'member_not_found', 'The recipient is not a member of this conversation.',
                              'A signal cannot reach someone outside the conversation.');
select tests.throws_api_error($$ select public.send_signal(tests.id('call'), tests.get_user_id('alice'), 'offer', '{}') $$,
                              400, 'invalid_argument', 'A signal goes to another member, not to yourself.',
                              'A signal to oneself is refused.');
select tests.throws_api_error($$ select public.send_signal(tests.id('call'), tests.get_user_id('bob'), 'hello', '{}') $$,
                              400, 'invalid_signal_type', 'signal_type must be offer, answer, ice or bye.',
                              'An unknown signal type is refused.');
select tests.throws_api_error($$ select public.send_signal(null, tests.get_user_id('bob'), 'offer', '{}') $$,
                              400, 'invalid_argument', 'conversation_id is required.', 'The conversation is required.');
select tests.throws_api_error($$ select public.send_signal(gen_random_uuid(), tests.get_user_id('bob'), 'offer', '{}') $$,
                              404, 'conversation_not_found', 'There is no conversation with this id.',
                              'An unknown conversation is 404.');
select tests.throws_api_error(
  $$ select public.send_signal(tests.id('call'), tests.get_user_id('bob'), 'offer',
                               jsonb_build_object('sdp', repeat('x', 17000))) $$,
  413, 'signal_too_large', 'The signal payload exceeds 16384 bytes.', 'An oversized payload is refused.');
select tests.clear_authentication();
select is(tests.event_count('user:' || tests.get_user_id('bob'), 'signal'), 1, 'None of the refused signals reached Bob.');

-- blocking
select tests.authenticate_as('bob');
select public.block_user(tests.get_user_id('alice'));
select tests.authenticate_as('alice');
select tests.throws_api_error($$ select public.send_signal(tests.id('call'), tests.get_user_id('bob'), 'offer', '{}') $$,
                              403, 'blocked', 'You cannot signal this user.', 'A blocked user cannot signal the blocker.');
select tests.authenticate_as('bob');
select public.unblock_user(tests.get_user_id('alice'));

-- rate limit: a burst of 120 signals (Alice's offer and 119 candidates), then 429 with Retry-After
select tests.authenticate_as('alice');
select is((select count(*)::int from generate_series(1, 119) i,
                  lateral public.send_signal(tests.id('call'), tests.get_user_id('bob'), 'ice', jsonb_build_object('n', i))),
          119, 'An ICE burst of 119 candidates after the offer goes through.');
select is(tests.error_of($$ select public.send_signal(tests.id('call'), tests.get_user_id('bob'), 'ice', '{}') $$)
            -> 'headers' ->> 'Retry-After', '1', 'The next candidate is rate limited with Retry-After: 1.');

-- as anon
select tests.authenticate_as_anon();
select throws_ok($$ select public.send_signal(tests.id('call'), tests.get_user_id('bob'), 'offer', '{}') $$,
                 '42501', 'permission denied for function send_signal', 'anon cannot signal.');

select * from finish();
rollback;
