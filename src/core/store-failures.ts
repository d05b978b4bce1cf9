/**
 * dbt's rule for whether a data test keeps its failing rows when store_failures / store_failures_as
 * are set at several levels (the project file's levels, a {% test %} block's config(), the YAML,
 * a singular test's config()). dbt 1.9's TestConfig sets store_failures_as from store_failures at
 * each level it merges (true: table, false: ephemeral) and then lets store_failures_as decide: so
 * the broadest level that sets either fixes the outcome, and only a narrower store_failures_as
 * changes it (a narrower store_failures does not). Pure.
 */

function fromStoreFailures(v: unknown): string | undefined {
  if (v === true || v === 'true') return 'table';
  if (v === false || v === 'false') return 'ephemeral';
  return undefined;
}

/** The store_failures_as the levels (broadest first) come to, or undefined when none sets either key. */
export function foldStoreFailuresAs(levels: readonly Readonly<Record<string, unknown>>[]): unknown {
  let as: unknown;
  for (const level of levels) {
    const own = level.store_failures_as;
    as = own !== undefined && own !== null ? own : as ?? fromStoreFailures(level.store_failures);
  }
  return as;
}

/** The levels merged (narrower keys win), with store_failures_as set as dbt's merge leaves it. */
export function mergeTestConfigLevels(...levels: readonly Readonly<Record<string, unknown>>[]): Record<string, unknown> {
  const merged: Record<string, unknown> = Object.assign({}, ...levels);
  const as = foldStoreFailuresAs(levels);
  if (as !== undefined) merged.store_failures_as = as;
  return merged;
}
