/**
 * Checks a model's enforced contract against its SELECT before it is built (dbt checks it at the
 * same point): the declared data_types as DuckDB names them (one query), then the comparison and
 * the table to create (materialize/contract.ts). A failure is the node's error, nothing is built.
 */
import type { Adapter } from '../adapter/types.js';
import { EngineError } from '../adapter/types.js';
import type { Column, ColumnConstraint, CompiledNode } from '../core/types.js';
import { contractFailure, contractMismatches, untypedColumns, type Contract } from '../materialize/contract.js';
import { NodeError } from './run-node.js';

/** `memo`: the declared types as DuckDB names them, kept between calls of one build (a microbatch's batches). */
export async function checkContract(tx: Adapter, node: CompiledNode, incoming: readonly Column[], memo: { types?: string[] } = {}): Promise<Contract> {
  const declared = node.node.columns;
  const where = `${node.id}: its contract is enforced (contract: {enforced: true})`;
  if (declared.length === 0) throw new NodeError(`${where}, but its YAML declares no columns\n  hint: list every column of its SELECT under columns:, each with a data_type`);
  const untyped = untypedColumns(declared);
  if (untyped.length) throw new NodeError(`${where}, but ${untyped.map((c) => `'${c}'`).join(', ')} ${untyped.length === 1 ? 'has' : 'have'} no data_type\n  hint: give every column of the contract a data_type (e.g. data_type: integer)`);
  let types = memo.types;
  if (!types) {
    try {
      const [row] = await tx.query<Record<string, string>>(`select ${declared.map((c, i) => `typeof(cast(null as ${c.dataType})) as t${i}`).join(', ')}`);
      types = memo.types = declared.map((_c, i) => String(row![`t${i}`]));
    } catch (e) {
      if (!(e instanceof EngineError)) throw e;
      throw new NodeError(`${where}, but a data_type is not a type DuckDB knows: ${e.message.split('\n')[0]}\n  hint: use DuckDB's names (integer, bigint, double, decimal(18,2), varchar, date, timestamp, boolean...)`);
    }
  }
  const mismatches = contractMismatches(declared, types, incoming);
  if (mismatches.length) throw new NodeError(contractFailure(node, mismatches));
  return {
    columns: declared.map((c, i) => ({ name: c.name, type: types[i]!, constraints: c.constraints ?? [] })),
    constraints: (node.config.constraints as ColumnConstraint[] | undefined) ?? [],
  };
}
