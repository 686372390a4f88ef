// Runs inside Deno: serves the project's Edge Functions to the emulator's
// gateway. Each function module exports `default { fetch }`; a request for
// /<name>/... is handed to that function with the URL it would see on the
// platform. Started by service.ts; exits when its parent's stdin closes.
// A request with `x-emulator-trace: 1` gets `x-emulator-trace: deno_in=…,deno_out=…`
// (wall-clock epoch ms when the function was called and when it returned).

interface FunctionModule {
  default?: { fetch?: (request: Request) => Response | Promise<Response> };
}

const manifest = JSON.parse(Deno.env.get('EMULATOR_FUNCTIONS') ?? '{}') as Record<string, string>;
const loaded = new Map<string, Promise<FunctionModule>>();

function load(name: string): Promise<FunctionModule> {
  let module = loaded.get(name);
  if (!module) {
    const file = manifest[name] as string;
    module = import(new URL(`file://${file}`).href) as Promise<FunctionModule>;
    loaded.set(name, module);
  }
  return module;
}

function bootError(name: string, error: unknown): Response {
  console.error(
    `[functions] ${name} failed to boot: ${error instanceof Error ? error.stack : String(error)}`,
  );
  return Response.json(
    { code: 'BOOT_ERROR', message: 'Function failed to start (please check logs)' },
    { status: 503 },
  );
}

const wallClock = () => (performance.timeOrigin + performance.now()).toFixed(3);

async function handle(request: Request): Promise<Response> {
  const denoIn = request.headers.get('x-emulator-trace') === '1' ? wallClock() : undefined;
  const response = await dispatch(request);
  if (denoIn !== undefined) {
    const stamp = `deno_in=${denoIn},deno_out=${wallClock()}`;
    try {
      response.headers.set('x-emulator-trace', stamp);
    } catch {
      // immutable headers (a fetch() response passed through): copy them
      const headers = new Headers(response.headers);
      headers.set('x-emulator-trace', stamp);
      return new Response(response.body, {
        status: response.status,
        statusText: response.statusText,
        headers,
      });
    }
  }
  return response;
}

async function dispatch(request: Request): Promise<Response> {
  const url = new URL(request.url);
  const name = url.pathname.split('/')[1] ?? '';
  if (!(name in manifest)) {
    return Response.json({ code: 'NOT_FOUND', message: 'Requested function was not found' }, { status: 404 });
  }
  let module: FunctionModule;
  try {
    module = await load(name);
  } catch (error) {
    loaded.delete(name);
    return bootError(name, error);
  }
  const fetchHandler = module.default?.fetch;
  if (typeof fetchHandler !== 'function') {
    return bootError(name, new Error('the module does not export default { fetch }'));
  }
  try {
    return await fetchHandler(request);
  } catch (error) {
    console.error(`[functions] ${name} threw: ${error instanceof Error ? error.stack : String(error)}`);
    return Response.json(
      { code: 'WORKER_ERROR', message: 'Function exited due to an error (please check logs)' },
      {
        status: 500,
      },
    );
  }
}

const server = Deno.serve(
  {
    hostname: '127.0.0.1',
    port: 0,
    onListen: ({ port }) => console.log(JSON.stringify({ ready: port })),
  },
  handle,
);

// Boot every function now, so start-up reports broken ones at once.
for (const name of Object.keys(manifest)) {
  load(name).catch((error) =>
    console.error(`[functions] ${name} failed to boot: ${error?.message ?? error}`),
  );
}

// The emulator holds our stdin open; when it goes away, so do we.
(async () => {
  for await (const _ of Deno.stdin.readable) {
    /* keep reading until EOF */
  }
  await server.shutdown();
  Deno.exit(0);
})();
