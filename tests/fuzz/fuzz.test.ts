// The fuzz suite: generated frames and requests against a stack of its own,
// with a well-behaved supabase-js pair talking throughout. For every input:
// an answer within the bound, never a 5xx, errors as JSON in the shape of the
// service answering, sockets answered or closed cleanly and let go of, nothing
// logged as an error, and a refused request changes nothing in the database.
// Afterwards: every process alive, the database as the last accepted request
// left it, and the canary's every broadcast and message delivered.
//
// The seed and the number of runs come from options.ts; a failure prints the
// counterexample (shrunk) and the command to replay it.

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Vsn } from '../../emulator/realtime/protocol.ts';
import { type Answer, answerProblems, type FuzzRequest, send, serviceOf } from './answers.ts';
import { Canary } from './canary.ts';
import { framesArb, upgradeArb } from './frames.ts';
import { Ledger } from './ledger.ts';
import { ANSWER_BOUND_MS, parameters, runs, seed } from './options.ts';
import {
  exchange,
  parseResponse,
  rawFramesArb,
  rawRequestArb,
  serverCloseCode,
  upgradeRequest,
} from './raw.ts';
import {
  authRequestArb,
  functionRequestArb,
  gatewayRequestArb,
  realtimeApiRequestArb,
  restRequestArb,
  twilioRequestArb,
  twinRequestsArb,
} from './requests.ts';
import { leftovers, playFrames, type RealtimeCounts, type SocketTarget, tryUpgrade } from './socket.ts';
import { type TokenPool, tokenPool } from './tokens.ts';
import { startWorld, stopWorld, type World } from './world.ts';

let world: World;
let pool: TokenPool;
let ledger: Ledger;
let canary: Canary;
let target: SocketTarget;
let processes: number[];

const counts = (): RealtimeCounts => {
  const { connections, users, channels, topics, presences } = world.stack.realtime.stats();
  return { connections, users, channels, topics, presences };
};

beforeAll(async () => {
  console.log(
    `fuzzing with seed ${seed}, ${runs} runs per property (again: npm run test:fuzz -- --seed ${seed} --runs ${runs})`,
  );
  world = await startWorld();
  pool = await tokenPool(world);
  canary = await Canary.start(world);
  ledger = await Ledger.open(world);
  processes = world.stack.processIds();
  target = { url: world.wsUrl, apiKey: world.stack.anonKey, ledger, baseline: counts(), counts };
  canary.begin();
}, 180_000);

afterAll(async () => {
  await canary?.close();
  if (ledger && process.env.FUZZ_ANSWERS) console.log(ledger.answerTable());
  if (ledger)
    console.log(
      `fuzz figures (seed ${seed}, ${runs} runs per property):\n${ledger.summary()}\ncanary broadcasts: ${canary.sent}`,
    );
  await stopWorld(world);
}, 60_000);

/** Runs a property; on failure, names the seed to replay it with. */
async function check<T>(arbitrary: fc.Arbitrary<T>, predicate: (value: T) => Promise<void>, share = 1) {
  await fc.assert(fc.asyncProperty(arbitrary, predicate), parameters(share) as fc.Parameters<[T]>);
}

/** Time for a property of `share` × runs inputs, each far from its bound. */
const timeout = (share = 1) => Math.max(120_000, runs * share * 2000);

const describeAnswer = (request: FuzzRequest, answer: Answer) =>
  `${request.method} ${request.target.slice(0, 200)} → ${answer.status} ${answer.text.slice(0, 300)}`;

/** The code an error answer names (GoTrue's unversioned shape: error_code). */
function errorCode(answer: Answer): string | undefined {
  try {
    const body = JSON.parse(answer.text) as { code?: unknown; error_code?: unknown };
    const code = body.error_code ?? body.code;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}

/** Sends a request and throws with everything wrong about the answer and its effect. */
async function expectWellAnswered(request: FuzzRequest): Promise<void> {
  const answer = await send(world.stack.url, request);
  ledger.request(serviceOf(request.target), answer.status, errorCode(answer));
  const problems = [
    ...answerProblems(request, answer),
    ...(await ledger.databaseChanges(answer.status)).map((table) => `a refused request changed ${table}`),
    ...ledger.newFindings(),
  ];
  if (problems.length > 0) throw new Error(`${problems.join('; ')}\n${describeAnswer(request, answer)}`);
}

describe('Realtime socket', () => {
  for (const vsn of ['1.0.0', '2.0.0'] as Vsn[]) {
    it(
      `vsn ${vsn}: any sequence of frames is answered or closed cleanly, and leaves nothing behind`,
      async () => {
        await check(framesArb(world, pool, vsn), async (frames) => {
          const problems = [...(await playFrames(target, vsn, frames)), ...ledger.newFindings()];
          expect(problems).toEqual([]);
        });
      },
      timeout(),
    );
  }

  it(
    'an upgrade with any path, serializer and key opens a socket or is refused with a JSON error',
    async () => {
      await check(
        upgradeArb(world, pool),
        async (upgrade) => {
          const problems = [
            ...(await tryUpgrade(world.stack.url, upgrade, ledger)),
            ...(await leftovers(target)),
            ...ledger.newFindings(),
          ];
          expect(problems).toEqual([]);
        },
        0.5,
      );
    },
    timeout(0.5),
  );

  it(
    'two sockets at once (1.0.0 and 2.0.0) on the same topics: each answered or closed cleanly, nothing left behind',
    async () => {
      await check(
        fc.tuple(framesArb(world, pool, '1.0.0'), framesArb(world, pool, '2.0.0')),
        async ([first, second]) => {
          const played = await Promise.all([
            playFrames(target, '1.0.0', first),
            playFrames(target, '2.0.0', second),
          ]);
          expect([...played.flat(), ...ledger.newFindings()]).toEqual([]);
        },
        0.5,
      );
    },
    timeout(0.5),
  );

  it(
    'WebSocket frames that break the protocol itself close the socket, and leave nothing behind',
    async () => {
      const { host } = new URL(world.stack.url);
      await check(
        rawFramesArb(),
        async (frames) => {
          const bytes = await exchange(
            Number(new URL(world.stack.url).port),
            Buffer.concat([upgradeRequest(host, world.stack.anonKey), frames]),
          );
          ledger.frame('raw WebSocket bytes');
          const problems: string[] = [];
          if (!bytes.toString('latin1').startsWith('HTTP/1.1 101'))
            problems.push(`no 101: ${bytes.toString('latin1').slice(0, 100)}`);
          if (!bytes.closed) problems.push(`the connection stayed open for ${ANSWER_BOUND_MS / 1000} s`);
          const code = serverCloseCode(bytes);
          ledger.socketClosed(`raw, ${code ?? 'no close frame'}`);
          if (code === 1011 || code === 1006) problems.push(`closed with ${code}`);
          problems.push(...(await leftovers(target)), ...ledger.newFindings());
          expect(problems).toEqual([]);
        },
        0.5,
      );
    },
    timeout(0.5),
  );
});

describe('HTTP', () => {
  const families: [string, () => fc.Arbitrary<FuzzRequest>, number][] = [
    ['the gateway (any path, method and key)', () => gatewayRequestArb(world, pool), 1],
    ['Auth', () => authRequestArb(world, pool), 1],
    ['REST: every RPC', () => restRequestArb(world, pool), 2],
    [
      'the functions called with a token or by the database (send-message, mark-read, signal, whoami, twilio-send)',
      () => functionRequestArb(world, pool),
      1.5,
    ],
    [
      'the functions Twilio calls (twilio-webhook, twilio-status), signed and not',
      () => fc.oneof(twilioRequestArb(world, 'twilio-webhook'), twilioRequestArb(world, 'twilio-status')),
      1,
    ],
    ["Realtime's HTTP broadcast API", () => realtimeApiRequestArb(world, pool), 1],
  ];
  for (const [name, arbitrary, share] of families) {
    it(
      `${name}: every request is answered, never with a 5xx, errors as JSON in the service's shape, and a refused one changes nothing`,
      async () => {
        await check(arbitrary(), expectWellAnswered, share);
      },
      timeout(share),
    );
  }

  it(
    'the chat functions answer an input as the RPC they wrap does: the same status, code and message',
    async () => {
      /** What a function checks before the SQL, where PostgREST differs by design (PGRST102, a 1 MiB cap). */
      const beforeTheSql = new Set(['payload_too_large', 'invalid_json']);
      const accepted = (answer: Answer) => answer.status >= 200 && answer.status < 300;
      await check(
        twinRequestsArb(world, pool),
        async ({ fn, rpc }) => {
          const viaFunction = await send(world.stack.url, fn);
          const functionCode = errorCode(viaFunction);
          ledger.request('functions', viaFunction.status, functionCode);
          const problems = [
            ...answerProblems(fn, viaFunction),
            ...(await ledger.databaseChanges(viaFunction.status)).map(
              (table) => `a refused request changed ${table}`,
            ),
          ];
          // Accepted, it changed what the RPC would see; refused, it changed nothing, and the RPC must refuse alike.
          if (!accepted(viaFunction) && !beforeTheSql.has(functionCode ?? '')) {
            const viaRpc = await send(world.stack.url, rpc);
            ledger.twins += 1;
            const rpcCode = errorCode(viaRpc);
            ledger.request('rest', viaRpc.status, rpcCode);
            problems.push(
              ...answerProblems(rpc, viaRpc),
              ...(await ledger.databaseChanges(viaRpc.status)).map(
                (table) => `a refused request changed ${table}`,
              ),
            );
            const message = (answer: Answer) => (JSON.parse(answer.text) as { message?: unknown }).message;
            const refill = functionCode === 'rate_limited' || rpcCode === 'rate_limited';
            if (
              !refill &&
              (viaFunction.status !== viaRpc.status ||
                functionCode !== rpcCode ||
                message(viaFunction) !== message(viaRpc))
            ) {
              problems.push(
                `the function answered ${describeAnswer(fn, viaFunction)}, the RPC ${describeAnswer(rpc, viaRpc)}`,
              );
            }
          }
          problems.push(...ledger.newFindings());
          expect(problems).toEqual([]);
        },
        1,
      );
    },
    timeout(),
  );

  it(
    'requests of every family at once: each answered well, and if none was accepted nothing changed',
    async () => {
      const any = fc.oneof(...families.map(([, arbitrary]) => arbitrary()));
      await check(
        fc.array(any, { minLength: 2, maxLength: 8 }),
        async (requests) => {
          const answers = await Promise.all(requests.map((request) => send(world.stack.url, request)));
          const problems = requests.flatMap((request, i) => {
            const answer = answers[i] as Answer;
            ledger.request(serviceOf(request.target), answer.status, errorCode(answer));
            const wrong = answerProblems(request, answer);
            return wrong.length > 0 ? [`${wrong.join('; ')}: ${describeAnswer(request, answer)}`] : [];
          });
          const accepted = answers.some((answer) => answer.status >= 200 && answer.status < 300);
          const changed = await ledger.databaseChanges(accepted ? 200 : 400);
          problems.push(
            ...changed.map((table) => `refused requests changed ${table}`),
            ...ledger.newFindings(),
          );
          expect(problems).toEqual([]);
        },
        0.5,
      );
    },
    timeout(0.5),
  );

  /** Writes raw bytes to the gateway and reads its answer. */
  const rawAnswer = async (request: string) => {
    const answer = parseResponse(
      await exchange(Number(new URL(world.stack.url).port), Buffer.from(request, 'latin1')),
    );
    return { ...answer, json: JSON.parse(answer.body) as { code: string; message: string } };
  };

  it('regression: the answers the gateway writes to the socket itself (431, 400) carry CORS headers', async () => {
    const { host } = new URL(world.stack.url);
    for (const [request, status] of [
      [`GET /auth/v1/health HTTP/1.1\r\nHost: ${host}\r\nx-big: ${'a'.repeat(17_000)}\r\n\r\n`, 431],
      ['GARBAGE\r\n\r\n', 400],
    ] as const) {
      const answer = await rawAnswer(request);
      expect(answer.status).toBe(status);
      expect(answer.headers.get('access-control-allow-origin')).toBe('*');
    }
  });

  it('regression: an HTTP/1.1 request without a Host header is a JSON 400, not an empty one', async () => {
    const answer = await rawAnswer(`GET /auth/v1/health HTTP/1.1\r\napikey: ${world.stack.anonKey}\r\n\r\n`);
    expect(answer.status).toBe(400);
    expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
    expect(answer.json.code).toBe('bad_request');
  });

  it('regression: a WebSocket handshake with a malformed key is a JSON 400, not a text/html one', async () => {
    const { host } = new URL(world.stack.url);
    const answer = await rawAnswer(
      `GET /realtime/v1/websocket?apikey=${world.stack.anonKey}&vsn=2.0.0 HTTP/1.1\r\nHost: ${host}\r\n` +
        'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: not a key\r\n\r\n',
    );
    expect(answer.status).toBe(400);
    expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
    expect(answer.json).toMatchObject({
      code: 'bad_request',
      message: expect.stringContaining('Sec-WebSocket-Key'),
    });
  });

  it(
    'bytes that are not quite HTTP get a JSON error or a closed connection, never a 5xx or a hang',
    async () => {
      const { host, port } = new URL(world.stack.url);
      await check(rawRequestArb(host, world.stack.anonKey), async (text) => {
        const raw = parseResponse(await exchange(Number(port), Buffer.from(text, 'latin1')));
        const problems: string[] = [];
        if (!raw.closed) problems.push(`the connection stayed open for ${ANSWER_BOUND_MS / 1000} s`);
        const answer = { status: raw.status ?? 0, headers: raw.headers, text: raw.body };
        ledger.request('raw', answer.status, errorCode(answer));
        if (raw.status !== undefined && raw.status !== 101) {
          // Judged as the request its first line names would be; a line that names none, as the gateway's.
          const [method = 'GET', path = '/'] = /^(\S+) (\/\S*)/.exec(text)?.slice(1) ?? [];
          problems.push(...answerProblems({ method, target: path, headers: {} }, answer));
        }
        problems.push(
          ...(await ledger.databaseChanges(raw.status ?? 0)).map(
            (table) => `a refused request changed ${table}`,
          ),
        );
        problems.push(...(await leftovers(target)), ...ledger.newFindings());
        expect(problems).toEqual([]);
      });
    },
    timeout(),
  );
});

describe('afterwards', () => {
  it('the database is as the last accepted request left it', async () => {
    expect(await ledger.changedSinceBaseline()).toEqual([]);
    expect(ledger.compared).toBeGreaterThan(0);
  });

  it("the stack's processes are the same, all alive, and it still serves", async () => {
    expect(world.stack.processIds()).toEqual(processes);
    for (const pid of processes) expect(() => process.kill(pid, 0)).not.toThrow();
    const health = await fetch(`${world.stack.url}/auth/v1/health`);
    expect(health.status).toBe(200);
  });

  it('the canary heard every broadcast it sent, once and in order, and a message still gets through', async () => {
    await canary.end();
    expect(await canary.problems()).toEqual([]);
    expect(await canary.messageGetsThrough()).toEqual([]);
  });

  it('nothing was logged as an error', () => {
    expect(world.findings()).toEqual([]);
  });
});
