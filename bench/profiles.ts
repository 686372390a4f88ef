// Reading CPU profiles taken by the benchmarks, down to a short table: where
// the samples fall by component (package or module group) and the top
// functions by self time.
//
// - Node: a .cpuprofile (the inspector's Profiler domain). Native frames with no
//   script (JSON.parse, the garbage collector's callers, …) count for the
//   nearest JavaScript caller's component.
// - Deno: a V8 tick log (DENO_V8_FLAGS=--prof,…), read here rather than with
//   `node --prof-process`, which rejects the log of a newer V8. Each tick is
//   resolved against the code objects the log announced; a tick in Deno's own
//   native code (Rust ops, V8's C++) counts for the first JavaScript frame on its
//   stack, a tick in libc counts as a system call (the kernel's time shows up
//   there), and a tick with no JavaScript on the stack is the runtime's own work
//   outside JavaScript. Deno's binary has no symbols: `perf` splits native time
//   no further either.

import { readFileSync } from 'node:fs';
import { table } from './lib.ts';

export interface ProfileSummary {
  text: string;
  data: {
    samples: number;
    sampledMs: number;
    components: { name: string; ms: number; share: number }[];
    functions: { name: string; component: string; ms: number; share: number }[];
  };
}

/** The component a script URL belongs to. */
export function componentOf(url: string): string {
  if (url === '') return '';
  const npm = /\/(?:node_modules|npm\/[^/]+)\/((?:@[^/]+\/)?[^/@]+)(?:\/|@)/.exec(url)?.[1];
  if (npm) return `npm: ${npm}`;
  if (url.includes('/functions/_shared/')) return 'functions/_shared';
  if (url.includes('/functions/')) return 'functions (handlers)';
  const emulator =
    /\/emulator\/(.+?)(?:\/[^/]*)?\.ts$/.exec(url)?.[1] ?? /\/emulator\/([^/]+)\//.exec(url)?.[1];
  if (emulator) return `emulator/${emulator}`;
  if (url.startsWith('ext:')) return `deno ${/^ext:([^/]+)/.exec(url)?.[1] ?? 'runtime'}`;
  if (url.startsWith('node:internal/deps/undici')) return 'node: undici (fetch)';
  if (/^node:(internal\/)?(http|_http|https)/.test(url) || url.startsWith('node:_http')) return 'node: http';
  if (url.startsWith('node:internal/webstreams')) return 'node: web streams';
  if (url.startsWith('node:internal/crypto') || url.startsWith('node:crypto')) return 'node: crypto';
  if (url.startsWith('node:')) {
    const module = /^node:(?:internal\/)?([^/]+)/.exec(url)?.[1] ?? 'internal';
    return `node: ${module}`;
  }
  if (url.includes('/bench/')) return 'bench';
  return 'other scripts';
}

function finish(
  bySelf: Map<string, { component: string; ms: number }>,
  byComponent: Map<string, number>,
  samples: number,
  sampledMs: number,
  top: number,
): ProfileSummary {
  const total = [...byComponent.values()].reduce((sum, value) => sum + value, 0) || 1;
  const components = [...byComponent]
    .sort((a, b) => b[1] - a[1])
    .map(([name, used]) => ({ name, ms: used, share: used / total }));
  const functions = [...bySelf]
    .sort((a, b) => b[1].ms - a[1].ms)
    .slice(0, top)
    .map(([name, { component, ms }]) => ({ name, component, ms, share: ms / total }));
  const pct = (share: number) => `${(share * 100).toFixed(1)}%`;
  const text = [
    table(
      ['component', 'ms', 'share'],
      components.filter((c) => c.share >= 0.005).map((c) => [c.name, c.ms.toFixed(0), pct(c.share)]),
    ),
    '',
    table(
      ['function (self time)', 'component', 'ms', 'share'],
      functions.map((f) => [f.name.slice(0, 70), f.component, f.ms.toFixed(0), pct(f.share)]),
    ),
  ].join('\n');
  return { text, data: { samples, sampledMs, components, functions } };
}

interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

/** Summarizes a Node .cpuprofile; idle time is left out of the shares. */
export function summarizeCpuProfile(file: string, top = 20): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as {
    nodes: CpuProfileNode[];
    samples: number[];
    timeDeltas: number[];
  };
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const componentCache = new Map<number, string>();
  const componentOfNode = (id: number): string => {
    const cached = componentCache.get(id);
    if (cached !== undefined) return cached;
    const node = byId.get(id) as CpuProfileNode;
    const name = node.callFrame.functionName;
    let component: string;
    if (name === '(idle)') component = '(idle)';
    else if (name === '(garbage collector)') component = 'V8: garbage collector';
    else if (name === '(program)') component = 'V8/native: outside JavaScript';
    else {
      component = componentOf(node.callFrame.url);
      if (component === '') {
        const up = parent.get(id);
        component = up === undefined ? 'native' : componentOfNode(up);
        if (component === '(root)' || component === '') component = 'native';
      }
    }
    if (name === '(root)') component = '(root)';
    componentCache.set(id, component);
    return component;
  };
  const bySelf = new Map<string, { component: string; ms: number }>();
  const byComponent = new Map<string, number>();
  let sampledMs = 0;
  profile.samples.forEach((id, index) => {
    const delta = (profile.timeDeltas[index + 1] ?? profile.timeDeltas[index] ?? 0) / 1000;
    sampledMs += delta;
    const component = componentOfNode(id);
    if (component === '(idle)') return;
    const node = byId.get(id) as CpuProfileNode;
    const frame = node.callFrame;
    const where = frame.url
      ? ` ${frame.url.replace(/^.*\/(node_modules|emulator)\//, '$1/')}:${frame.lineNumber + 1}`
      : '';
    const key = `${frame.functionName || '(anonymous)'}${where}`;
    const entry = bySelf.get(key) ?? { component, ms: 0 };
    entry.ms += delta;
    bySelf.set(key, entry);
    byComponent.set(component, (byComponent.get(component) ?? 0) + delta);
  });
  return finish(bySelf, byComponent, profile.samples.length, sampledMs, top);
}

interface CodeEntry {
  start: number;
  end: number;
  name: string;
  kind: string;
}

/** Summarizes a V8 tick log (`--prof`); ticks with no JavaScript on the stack are shown as their own rows. */
export function summarizeV8Log(file: string, top = 20): ProfileSummary {
  const lines = readFileSync(file, 'utf8').split('\n');
  const code: CodeEntry[] = []; // sorted by start
  const libraries: { start: number; end: number; name: string }[] = [];
  let interval = 1; // ms per tick
  const findIndex = (address: number) => {
    let low = 0;
    let high = code.length - 1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      const entry = code[middle] as CodeEntry;
      if (address < entry.start) high = middle - 1;
      else if (address >= entry.end) low = middle + 1;
      else return middle;
    }
    return -1;
  };
  const insert = (entry: CodeEntry) => {
    let low = 0;
    let high = code.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if ((code[middle] as CodeEntry).start < entry.start) low = middle + 1;
      else high = middle;
    }
    if (code[low]?.start === entry.start) code[low] = entry;
    else code.splice(low, 0, entry);
  };
  const resolve = (address: number) => {
    const index = findIndex(address);
    return index < 0 ? undefined : code[index];
  };
  const urlOf = (name: string) => / ((?:file|ext|node|https?):[^ ]*?)(?::\d+:\d+)?$/.exec(name)?.[1] ?? '';
  const bySelf = new Map<string, { component: string; ms: number }>();
  const byComponent = new Map<string, number>();
  let samples = 0;
  const add = (key: string, component: string) => {
    bySelf.set(key, { component, ms: (bySelf.get(key)?.ms ?? 0) + interval });
    byComponent.set(component, (byComponent.get(component) ?? 0) + interval);
  };

  for (const line of lines) {
    const fields = line.split(',');
    switch (fields[0]) {
      case 'profiler':
        if (fields[1] === 'begin') interval = Number(fields[2]) / 1000 || 1;
        break;
      case 'shared-library':
        libraries.push({ name: fields[1] ?? '', start: Number(fields[2]), end: Number(fields[3]) });
        break;
      case 'code-creation': {
        const start = Number(fields[4]);
        const size = Number(fields[5]);
        // Names may hold commas; the fields after the name are an address and a state marker.
        const kind = fields[1] ?? '';
        const nameFields = kind === 'JS' || kind === 'Script' ? fields.slice(6, -2) : fields.slice(6);
        insert({ start, end: start + size, name: nameFields.join(','), kind });
        break;
      }
      case 'code-move': {
        const index = findIndex(Number(fields[1]));
        if (index >= 0) {
          const entry = code[index] as CodeEntry;
          code.splice(index, 1);
          const size = entry.end - entry.start;
          insert({ ...entry, start: Number(fields[2]), end: Number(fields[2]) + size });
        }
        break;
      }
      case 'code-delete': {
        const index = findIndex(Number(fields[1]));
        if (index >= 0) code.splice(index, 1);
        break;
      }
      case 'tick': {
        samples += 1;
        const pc = Number(fields[1]);
        const vmState = Number(fields[5]);
        const stack = fields.slice(6).map(Number);
        const here = resolve(pc);
        // The first JavaScript frame: the pc itself, else up the stack.
        let caller: CodeEntry | undefined = here?.kind === 'JS' || here?.kind === 'Script' ? here : undefined;
        for (let i = 0; !caller && i < stack.length; i++) {
          const frame = resolve(stack[i] as number);
          if (frame && (frame.kind === 'JS' || frame.kind === 'Script')) caller = frame;
        }
        if (vmState === 1) {
          add('(garbage collector)', 'V8: garbage collector');
        } else if (here && (here.kind === 'JS' || here.kind === 'Script')) {
          add(here.name, componentOf(urlOf(here.name)) || 'other scripts');
        } else if (caller) {
          const native = here ? `${here.kind} ${here.name}` : nativeName(pc, libraries);
          // A tick in libc is (nearly always) a system call, kernel time included: its own row.
          const component = native.startsWith('native (lib')
            ? `system calls (${native.slice('native ('.length, -1)})`
            : componentOf(urlOf(caller.name)) || 'other scripts';
          add(`${native} ← ${caller.name}`, component);
        } else {
          const where = here ? `V8 ${here.kind}` : nativeName(pc, libraries);
          add(`${where} (no JavaScript on the stack)`, `outside JavaScript: ${where}`);
        }
        break;
      }
    }
  }
  return finish(bySelf, byComponent, samples, samples * interval, top);
}

function nativeName(pc: number, libraries: { start: number; end: number; name: string }[]): string {
  const library = libraries.find((lib) => pc >= lib.start && pc < lib.end);
  if (!library) return 'native';
  const base = library.name.split('/').pop() ?? library.name;
  return base === 'deno' ? 'native (deno: Rust runtime, V8 C++)' : `native (${base})`;
}
