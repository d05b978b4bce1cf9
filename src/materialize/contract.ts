/**
 * dbt's model contracts (`config: {contract: {enforced: true}}`): the model's SELECT must give
 * exactly the columns its YAML declares, with the declared `data_type`s, or the build fails with
 * dbt's table of mismatches; a table (or an incremental model's table) is then created from the
 * contract — its column types and the declared constraints (`not_null`, `unique`, `primary_key`,
 * `check`, on a column or the model) — before the rows are inserted, so DuckDB enforces them.
 * Pure: the executor gives the declared types as DuckDB names them (`typeof(cast(null as T))`).
 */
import type { Column, ColumnConstraint, ColumnDoc, CompiledNode } from '../core/types.js';
import type { Dialect } from '../adapter/types.js';

/** A contracted column: its name, its type as DuckDB names it, its constraints. */
export interface ContractColumn {
  readonly name: string;
  readonly type: string;
  readonly constraints: readonly ColumnConstraint[];
}

/** What a build creates its table from when the model's contract is enforced. */
export interface Contract {
  readonly columns: readonly ContractColumn[];
  /** Model-level constraints (`constraints:` beside `columns:`). */
  readonly constraints: readonly ColumnConstraint[];
}

export function contractEnforced(node: CompiledNode): boolean {
  const c = node.config.contract as { enforced?: unknown } | undefined;
  return !!c && typeof c === 'object' && (c.enforced === true || c.enforced === 'true');
}

/** Declared columns without a data_type (dbt refuses a contract with any). */
export function untypedColumns(columns: readonly ColumnDoc[]): string[] {
  return columns.filter((c) => !c.dataType || !String(c.dataType).trim()).map((c) => c.name);
}

export interface Mismatch {
  readonly column: string;
  readonly definitionType: string;
  readonly contractType: string;
  readonly reason: 'data type mismatch' | 'missing in definition' | 'missing in contract';
}

/** The same type as DuckDB names it (`numeric` is DECIMAL(18,3): a DECIMAL(20,4) would be rounded into it, so it differs, as in dbt). */
function sameType(declared: string, actual: string): boolean {
  return actual.toUpperCase() === declared.toUpperCase();
}

/**
 * The differences between the SELECT's columns and the contract (`declared`: names as written,
 * `types`: each declared type as DuckDB names it), as dbt lists them.
 */
export function contractMismatches(declared: readonly ColumnDoc[], types: readonly string[], incoming: readonly Column[]): Mismatch[] {
  const out: Mismatch[] = [];
  const byName = new Map(incoming.map((c) => [c.name.toLowerCase(), c]));
  const seen = new Set<string>();
  declared.forEach((col, i) => {
    const key = col.name.toLowerCase();
    seen.add(key);
    const got = byName.get(key);
    if (!got) out.push({ column: col.name, definitionType: '', contractType: types[i]!, reason: 'missing in definition' });
    else if (!sameType(types[i]!, got.type)) out.push({ column: col.name, definitionType: got.type, contractType: types[i]!, reason: 'data type mismatch' });
  });
  for (const c of incoming) if (!seen.has(c.name.toLowerCase())) out.push({ column: c.name, definitionType: c.type, contractType: '', reason: 'missing in contract' });
  return out;
}

/** dbt's message for a failed contract, with its table. */
export function contractFailure(node: CompiledNode, mismatches: readonly Mismatch[]): string {
  const head = ['column_name', 'definition_type', 'contract_type', 'mismatch_reason'];
  const rows = mismatches.map((m) => [m.column, m.definitionType, m.contractType, m.reason]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) => `  | ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [
    `${node.id}: this model has an enforced contract that failed (${node.node.path})`,
    '  the name, data_type and number of columns in its contract (its YAML columns) must match the columns of its SELECT:',
    '',
    line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line),
    '  hint: change the SELECT (cast a column to its contracted type), or the contract\'s data_type',
  ].join('\n');
}

/** The column list and constraints of `create table (...)` for a contract. */
export function contractTableSql(d: Dialect, contract: Contract): string {
  const parts = contract.columns.map((c) => [d.quote(c.name), c.type, ...c.constraints.map((k) => columnConstraintSql(k))].filter(Boolean).join(' '));
  for (const k of contract.constraints) {
    const sql = tableConstraintSql(d, k);
    if (sql) parts.push(sql);
  }
  return parts.join(',\n  ');
}

function columnConstraintSql(k: ColumnConstraint): string {
  switch (k.type) {
    case 'not_null': return 'not null';
    case 'unique': return 'unique';
    case 'primary_key': return 'primary key';
    case 'check': return k.expression ? `check (${k.expression})` : '';
    default: return '';
  }
}

function tableConstraintSql(d: Dialect, k: ColumnConstraint): string {
  const cols = (k.columns ?? []).map((c) => d.quote(c)).join(', ');
  switch (k.type) {
    case 'unique': return cols ? `unique (${cols})` : '';
    case 'primary_key': return cols ? `primary key (${cols})` : '';
    case 'check': return k.expression ? `check (${k.expression})` : '';
    default: return '';
  }
}
