/**
 * A tiny medallion project for the `lake lineage` / `lake docs` end-to-end tests: two sources over
 * tables that an on_run_start hook creates, a seed, bronze views (one `select *`), a silver table
 * with CTEs and a join, and two gold tables with aggregates; and helpers that run the real CLI
 * (`node bin/lake.js`) as a child process, built by `tsc -p tsconfig.json` into a private folder so
 * that other people's concurrent builds of dist/ cannot change it under the tests.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export const FILES: Record<string, string> = {
  'project.yml': `name: docs_cli
target: dev
targets:
  dev: { type: duckdb, path: target/docs_cli.duckdb, threads: 2 }
on_run_start:
  - create schema if not exists raw
  - >-
    create table if not exists raw.readings (device_id integer, reading_time timestamp, bpm double);
    insert into raw.readings select * from (values
      (1, timestamp '2024-01-01 10:00', 80.5), (1, timestamp '2024-01-01 10:01', 120.0),
      (2, timestamp '2024-01-01 10:00', 95.25), (3, timestamp '2024-01-01 10:02', 0.0))
    where (select count(*) from raw.readings) = 0
  - >-
    create table if not exists raw.devices (device_id integer, user_name varchar, gym_id smallint);
    insert into raw.devices select * from (values (1, 'ana', 10), (2, 'bo', 20), (3, 'cy', 10))
    where (select count(*) from raw.devices) = 0
models:
  bronze: { materialized: view }
  silver: { materialized: table }
  gold: { materialized: table }
`,
  'models/sources.yml': `sources:
  - name: raw
    schema: raw
    tables:
      - name: readings
        description: Heart-rate readings as the devices send them.
      - name: devices
`,
  'seeds/gyms.csv': `gym_id,gym_name
10,Downtown
20,Harbor
`,
  'models/bronze/readings.sql': `select device_id, reading_time, bpm from {{ source('raw', 'readings') }}
`,
  'models/bronze/devices.sql': `select * from {{ source('raw', 'devices') }}
`,
  'models/silver/device_bpm.sql': `with r as (
  select device_id, bpm, reading_time from {{ ref('readings') }} where bpm > 0
),
d as (
  select device_id, user_name as owner, gym_id from {{ ref('devices') }}
)
select r.device_id, d.owner, d.gym_id, r.bpm, r.reading_time
from r
join d on r.device_id = d.device_id
`,
  'models/silver/schema.yml': `models:
  - name: device_bpm
    description: Readings with the device owner.
    columns:
      - name: owner
        description: Who wears the device
`,
  'models/gold/owner_summary.sql': `with s as (
  select owner, gym_id, bpm from {{ ref('device_bpm') }}
)
select s.owner, g.gym_name, avg(s.bpm) as avg_bpm, max(s.bpm) - min(s.bpm) as bpm_range, count(*) as readings
from s
join {{ ref('gyms') }} g on g.gym_id = s.gym_id
group by s.owner, g.gym_name
`,
  'models/gold/gym_summary.sql': `select g.gym_id, g.gym_name, count(distinct d.device_id) as devices, round(avg(d.bpm), 1) as avg_bpm
from {{ ref('gyms') }} g
left join {{ ref('device_bpm') }} d using (gym_id)
group by all
`,
};

/** Write the project into a new temp folder and return it. */
export function makeProject(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lake-'));
  for (const [rel, text] of Object.entries(FILES)) {
    const abs = path.join(dir, rel);
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    fs.writeFileSync(abs, text);
  }
  return dir;
}

/**
 * `npx tsc -p tsconfig.json` into a private folder laid out like the repository (`<out>/dist`,
 * `<out>/bin/lake.js`), with node_modules linked. Returns the path of its bin/lake.js.
 * Type errors elsewhere in the tree do not stop tsc from emitting; a missing CLI does.
 */
export function buildCli(): string {
  const repo = path.resolve('.');
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'lake-cli-'));
  try {
    execFileSync(process.execPath, [path.join(repo, 'node_modules/typescript/bin/tsc'), '-p', path.join(repo, 'tsconfig.json'), '--outDir', path.join(out, 'dist')], { stdio: 'pipe' });
  } catch (e) {
    // tsc exits 2 on type errors but still writes the output; only a missing CLI is fatal
    const main = path.join(out, 'dist/src/cli/main.js');
    if (!fs.existsSync(main)) throw new Error(`tsc did not build ${main}:\n${String((e as { stdout?: Buffer }).stdout ?? e)}`);
  }
  fs.mkdirSync(path.join(out, 'bin'));
  fs.copyFileSync(path.join(repo, 'bin/lake.js'), path.join(out, 'bin/lake.js'));
  fs.writeFileSync(path.join(out, 'package.json'), '{"type":"module"}\n');
  fs.symlinkSync(path.join(repo, 'node_modules'), path.join(out, 'node_modules'), 'dir');
  return path.join(out, 'bin/lake.js');
}

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Run `node <bin> ...args` in `cwd` and wait for it to exit. */
export function lake(bin: string, cwd: string, args: readonly string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [bin, ...args], { cwd, env: { ...process.env, NO_COLOR: '1' }, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err && typeof (err as { code?: unknown }).code !== 'number') return reject(err);
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}

/** Start a long-running `lake` (docs serve); resolves once `ready` matches its stdout. */
export function startLake(bin: string, cwd: string, args: readonly string[], ready: RegExp): Promise<{ child: ChildProcess; stdout: () => string; stderr: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`lake ${args.join(' ')} not ready after 30 s\nstdout: ${out}\nstderr: ${err}`));
    }, 30_000);
    child.stdout!.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      if (ready.test(out)) {
        clearTimeout(timer);
        resolve({ child, stdout: () => out, stderr: () => err });
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`lake ${args.join(' ')} exited with ${code} before it was ready\nstdout: ${out}\nstderr: ${err}`));
    });
  });
}

/** A TCP port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Send one raw HTTP request (the target goes on the wire byte for byte) and return the reply. */
export function rawRequest(port: number, requestLine: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1', () => sock.write(`${requestLine}\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`));
    let out = '';
    sock.setEncoding('utf8');
    sock.on('data', (c: string) => (out += c));
    sock.on('end', () => resolve(out));
    sock.on('error', reject);
  });
}

/** Try to connect to host:port; resolves to the error code, or 'connected'. */
export function tryConnect(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port, timeout: 3000 });
    sock.on('connect', () => {
      sock.destroy();
      resolve('connected');
    });
    sock.on('timeout', () => {
      sock.destroy();
      resolve('ETIMEDOUT');
    });
    sock.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });
}
