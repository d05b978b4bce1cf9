/** `lake init <dir>`: a small working project that `lake run` builds at once. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { LakeError } from '../../errors/index.js';

const FILES: Record<string, (name: string) => string> = {
  'project.yml': (name) => `name: ${name}
target: dev
targets:
  dev: { type: duckdb, path: target/${name}.duckdb, threads: 4 }
vars:
  min_order_cents: 0
models:
  bronze: { materialized: table }
  silver: { materialized: incremental }
  gold: { materialized: table }
`,
  'seeds/raw_orders.csv': () => `order_id,customer,amount_cents,ordered_at
1,ada,1250,2026-01-03 10:00:00
2,grace,990,2026-01-03 11:30:00
3,ada,4200,2026-01-04 09:15:00
4,linus,150,2026-01-05 16:45:00
`,
  'macros/cents_to_dollars.sql': () => `{% macro cents_to_dollars(column, scale=2) -%}
round({{ column }} / 100.0, {{ scale }})
{%- endmacro %}
`,
  'models/bronze/orders_raw.sql': () => `-- Raw orders as they arrive.
select * from {{ ref('raw_orders') }}
`,
  'models/silver/orders.sql': () => `{{ config(incremental_strategy='merge', unique_key='order_id') }}
select
  order_id,
  customer,
  {{ cents_to_dollars('amount_cents') }} as amount,
  ordered_at
from {{ ref('orders_raw') }}
where amount_cents >= {{ var('min_order_cents') }}
{% if is_incremental() %}
  and ordered_at > (select coalesce(max(ordered_at), '1900-01-01'::timestamp) from {{ this }})
{% endif %}
`,
  'models/gold/revenue_by_customer.sql': () => `select
  customer,
  count(*) as orders,
  sum(amount) as revenue
from {{ ref('silver.orders') }}
group by customer
`,
  'models/schema.yml': () => `models:
  - name: orders
    description: One row per order, amounts in dollars.
    columns:
      - name: order_id
        description: The order's id.
        data_tests: [unique, not_null]
  - name: revenue_by_customer
    description: Orders and revenue per customer.
    columns:
      - name: customer
        data_tests: [unique]
`,
  '.gitignore': () => 'target/\n',
};

export function scaffold(dir: string): string[] {
  const name = path.basename(path.resolve(dir)).replace(/[^A-Za-z0-9_]/g, '_') || 'lakehouse';
  if (fs.existsSync(path.join(dir, 'project.yml'))) {
    throw new LakeError('usage', { code: 'LAKE-U020', severity: 'error', message: `${dir} already has a project.yml`, hint: 'choose an empty or new folder' });
  }
  if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory()) {
    throw new LakeError('usage', { code: 'LAKE-U021', severity: 'error', message: `${dir} is a file, not a folder`, hint: 'give lake init a new or empty folder' });
  }
  // Never overwrite: a folder with anything in it (a dbt project, a .gitignore, seeds) is refused;
  // only a fresh repository's .git is fine.
  let present: string[] = [];
  try {
    present = fs.readdirSync(dir).filter((e) => e !== '.git');
  } catch { /* a new folder */ }
  if (present.length) {
    throw new LakeError('usage', { code: 'LAKE-U021', severity: 'error', message: `${dir} is not empty (${present.slice(0, 3).join(', ')}${present.length > 3 ? ', ...' : ''}): lake init writes a new project and would overwrite files`, hint: 'choose an empty or new folder; a dbt project runs as it is (lake run in its folder)' });
  }
  const written: string[] = [];
  for (const [rel, make] of Object.entries(FILES)) {
    const file = path.join(dir, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, make(name));
    written.push(rel);
  }
  return written;
}

export function registerInit(program: Command, ctx: () => CommandContext, setCode: (n: Promise<number>) => void): void {
  program.command('init')
    .description('create a small working project in <dir>')
    .argument('<dir>', 'folder to create (or an empty one)')
    .action((dir: string) => setCode((async () => {
      const c = ctx();
      const files = scaffold(dir);
      // A command to paste: quoted as a shell needs it.
      const cd = /^[\w@%+=:,./-]+$/.test(dir) ? dir : `'${dir.replace(/'/g, "'\\''")}'`;
      c.reporter.info(`created ${files.length} files in ${dir}\nnext: cd ${cd} && lake run`);
      return 0;
    })()));
}
