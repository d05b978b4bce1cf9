import { DuckDBInstance } from '@duckdb/node-api';
const i=await DuckDBInstance.create(':memory:');const c=await i.connect();
await c.run(`create table t(a int, b int, x int)`);
for (const s of process.argv.slice(2)) {
  try { const r = await c.runAndReadAll(s); console.log(s, '=>', JSON.stringify(r.getRowObjectsJS().map(o=>Object.values(o).join(' ')))); } catch(e){ console.log(s, 'ERR', e.message.split('\n')[0]); }
}
