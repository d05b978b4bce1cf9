import { DuckDBInstance } from '@duckdb/node-api';
const i=await DuckDBInstance.create(':memory:');const c=await i.connect();
const j=(await c.runAndReadAll('select json_serialize_sql($1::varchar) j',[process.argv[2]])).getRowObjectsJS()[0].j;
const tries = { raw: j, replaced: j.replace(/"query_location":\d+/g, '"query_location":0'), big: JSON.stringify(JSON.parse(j)) };
for (const [k,v] of Object.entries(tries)) {
  try { console.log(k, (await c.runAndReadAll('select json_deserialize_sql($1::json) s',[v])).getRowObjectsJS()[0].s); } catch(e){ console.log(k, 'ERR', e.message); }
  try { console.log(k, 'varchar', (await c.runAndReadAll('select json_deserialize_sql($1::varchar::json) s',[v])).getRowObjectsJS()[0].s); } catch(e){ console.log(k, 'ERR', e.message); }
}
