import { DuckDBInstance } from '@duckdb/node-api';
const inst = await DuckDBInstance.create(':memory:');
const c = await inst.connect();
const sql = process.argv[2];
const r = await c.runAndReadAll('select json_serialize_sql($1::varchar) as j', [sql]);
const j = JSON.parse(r.getRowObjectsJS()[0].j);
function strip(o){ if(Array.isArray(o)) return o.map(strip); if(o&&typeof o==='object'){const out={};for(const[k,v] of Object.entries(o)){ if(['query_location','alias'].includes(k)&&(v===''||typeof v==='number'||v===null)) continue; if(k==='query_location') continue; if(Array.isArray(v)&&v.length===0) continue; if(v===null||v===false) continue; out[k]=strip(v);} return out;} return o;}
console.log(JSON.stringify(process.argv[3]==='full'?j:strip(j), null, 1));
