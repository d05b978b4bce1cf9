import { DuckDBInstance } from '@duckdb/node-api';
const inst = await DuckDBInstance.create(':memory:');
const c = await inst.connect();
await c.run(`create table t(a int, b int, x int, address struct(city varchar, zip varchar), arr int[], "Mixed Case" int)`);
const exprs = process.argv.slice(2);
for (const e of exprs) {
  const sql = `select ${e} from t`;
  let names;
  try { names = (await c.runAndReadAll(`describe ${sql}`)).getRowObjectsJS().map(r=>r.column_name); } catch(err){ names = 'ERR '+err.message.split('\n')[0]; }
  const j = (await c.runAndReadAll('select json_serialize_sql($1::varchar) j', [sql])).getRowObjectsJS()[0].j;
  const ast = JSON.parse(j.replace(/"query_location":\d+/g, "\"query_location\":0"));
  const outs = [];
  for (const item of ast.statements[0].node.select_list) {
    const one = JSON.parse(JSON.stringify(ast, (k,v)=> k==="query_location" ? 0 : v)); one.statements[0].node.select_list=[item]; one.statements[0].node.from_table={type:'EMPTY'};
    const d = (await c.runAndReadAll('select json_deserialize_sql($1::json) s', [JSON.stringify(one)])).getRowObjectsJS()[0].s;
    outs.push(d);
  }
  console.log(JSON.stringify(e), '=>', JSON.stringify(names), '| deser:', JSON.stringify(outs));
}
