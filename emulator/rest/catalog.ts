// What PostgREST's schema cache knows about a function: its input arguments
// (with which have defaults), volatility and the shape of what it returns.

import type pg from 'pg';

export interface RpcFunction {
  schema: string;
  name: string;
  inputs: { name: string | null; type: string }[];
  /** How many leading inputs have no default. */
  required: number;
  volatility: 'i' | 's' | 'v';
  returnsSet: boolean;
  returnsVoid: boolean;
}

export async function findFunctions(db: pg.PoolClient, schema: string, name: string): Promise<RpcFunction[]> {
  const { rows } = await db.query<{
    volatility: 'i' | 's' | 'v';
    returns_set: boolean;
    returns_void: boolean;
    nargs: number;
    ndefaults: number;
    inputs: { name: string | null; type: string }[];
  }>(
    `select p.provolatile as volatility,
            p.proretset as returns_set,
            p.prorettype = 'void'::regtype as returns_void,
            p.pronargs as nargs,
            p.pronargdefaults as ndefaults,
            coalesce((
              select json_agg(json_build_object('name', a.name, 'type', format_type(a.type, null)) order by a.ord)
                from unnest(coalesce(p.proallargtypes, p.proargtypes::oid[]), p.proargmodes, p.proargnames)
                     with ordinality as a(type, mode, name, ord)
               where coalesce(a.mode, 'i') in ('i', 'b', 'v')
            ), '[]') as inputs
       from pg_catalog.pg_proc p
       join pg_catalog.pg_namespace n on n.oid = p.pronamespace
      where n.nspname = $1 and p.proname = $2 and p.prokind = 'f'`,
    [schema, name],
  );
  return rows.map((row) => ({
    schema,
    name,
    inputs: row.inputs.map((input) => ({ name: input.name === '' ? null : input.name, type: input.type })),
    required: row.nargs - row.ndefaults,
    volatility: row.volatility,
    returnsSet: row.returns_set,
    returnsVoid: row.returns_void,
  }));
}

/** The overload whose named inputs match the given argument names exactly, as PostgREST chooses. */
export function chooseOverload(candidates: RpcFunction[], argNames: string[]): RpcFunction[] {
  return candidates.filter((fn) => {
    const names = fn.inputs.map((input) => input.name);
    if (!argNames.every((arg) => names.includes(arg))) return false;
    return fn.inputs
      .slice(0, fn.required)
      .every((input) => input.name !== null && argNames.includes(input.name));
  });
}
