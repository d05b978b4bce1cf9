/** DuckDB's quoting and capabilities (no connection needed). */
import type { Dialect } from '../types.js';
import type { Relation } from '../../core/types.js';

export const duckdbDialect: Dialect = {
  name: 'duckdb',
  quote: (id: string) => `"${id.replace(/"/g, '""')}"`,
  relation(rel: Relation) {
    return `${this.quote(rel.schema)}.${this.quote(rel.name)}`;
  },
  literal: (v: string) => `'${v.replace(/'/g, "''")}'`,
  supportsMerge: true,
  transactionalDdl: true,
};
