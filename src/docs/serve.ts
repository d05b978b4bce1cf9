/**
 * `lake docs serve`: a read-only static file server for the docs folder, on 127.0.0.1 only.
 * It answers GET and HEAD, and refuses (403) any path that leaves the folder: `..` in any
 * spelling, absolute paths, and symlinks pointing outside.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { LakeError } from '../errors/index.js';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.parquet': 'application/vnd.apache.parquet',
};

/** Content type for a file name (application/octet-stream when unknown). */
export function contentType(file: string): string {
  return TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

export interface DocsServer {
  /** `http://127.0.0.1:<port>/` */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Serve `dir` on 127.0.0.1:`port` (0 picks a free port). Throws a LakeError when the folder does
 * not exist or the port is taken.
 */
export async function serveDocs(dir: string, port: number): Promise<DocsServer> {
  let root: string;
  try {
    root = fs.realpathSync(dir);
    if (!fs.statSync(root).isDirectory()) throw new Error('not a directory');
  } catch {
    throw new LakeError('usage', {
      code: 'LAKE-U053',
      severity: 'error',
      message: `docs folder not found: ${dir}`,
      file: dir,
      hint: 'run `lake docs generate` first',
    });
  }

  const server = http.createServer((req, res) => {
    handle(root, req, res).catch(() => {
      if (!res.headersSent) send(res, req, 500, 'internal error\n');
      else res.destroy();
    });
  });
  // a crashed handler must not leave sockets hanging; keep-alive sockets must not block close()
  server.keepAliveTimeout = 2000;

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      if (err.code === 'EADDRINUSE' || err.code === 'EACCES') {
        reject(
          new LakeError('usage', {
            code: 'LAKE-U054',
            severity: 'error',
            message: `cannot listen on 127.0.0.1:${port}: ${err.code === 'EADDRINUSE' ? 'port already in use' : 'permission denied'}`,
            hint: 'choose another port with --port',
          }),
        );
      } else reject(err);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, '127.0.0.1');
  });

  const actual = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${actual}/`,
    port: actual,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

async function handle(root: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return send(res, req, 405, 'method not allowed: the docs server is read-only\n');
  }
  // Only answer for our own host names: a page on another site cannot read the docs through a
  // DNS name rebound to 127.0.0.1.
  const host = (req.headers.host ?? '').toLowerCase().replace(/:\d+$/, '');
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '[::1]') return send(res, req, 403, 'forbidden host\n');

  const rel = requestPath(req.url ?? '/');
  if (rel === undefined) return send(res, req, 403, 'forbidden\n');

  let file = path.resolve(root, rel);
  if (!inside(root, file)) return send(res, req, 403, 'forbidden\n');

  let real: string;
  try {
    real = await fs.promises.realpath(file);
  } catch {
    return send(res, req, 404, 'not found\n');
  }
  if (!inside(root, real)) return send(res, req, 403, 'forbidden\n');

  let stat = await fs.promises.stat(real);
  if (stat.isDirectory()) {
    file = path.join(real, 'index.html');
    try {
      real = await fs.promises.realpath(file);
    } catch {
      return send(res, req, 404, 'not found\n');
    }
    if (!inside(root, real)) return send(res, req, 403, 'forbidden\n');
    stat = await fs.promises.stat(real);
  }
  if (!stat.isFile()) return send(res, req, 404, 'not found\n');

  res.writeHead(200, {
    'Content-Type': contentType(real),
    'Content-Length': stat.size,
    'Cache-Control': 'no-cache',
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  await new Promise<void>((resolve, reject) => {
    const stream = fs.createReadStream(real);
    stream.on('error', reject);
    res.on('close', resolve);
    stream.pipe(res);
  });
}

/**
 * The request target as a path relative to the root, or undefined when it must be refused:
 * undecodable, NUL bytes, backslashes, `..` segments (before or after decoding) or absolute paths.
 */
export function requestPath(url: string): string | undefined {
  // absolute-form request target (proxies): drop scheme and authority textually, because URL
  // parsing would quietly resolve `..` away and hide a hostile request
  let p = url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, (m) => (m === url ? '/' : ''));
  if (p === '') p = '/';
  p = p.split(/[?#]/, 1)[0] ?? '';
  if (!p.startsWith('/')) return undefined;
  let decoded: string;
  try {
    decoded = decodeURIComponent(p);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return undefined;
  const rel = decoded.slice(1);
  if (rel.startsWith('/') || path.isAbsolute(rel) || /^[a-z]:/i.test(rel)) return undefined;
  const segments = rel.split('/');
  if (segments.some((s) => s === '..')) return undefined;
  if (p.split('/').some((s) => s === '..')) return undefined;
  return rel === '' ? '.' : rel;
}

function inside(root: string, file: string): boolean {
  return file === root || file.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}

function send(res: http.ServerResponse, req: http.IncomingMessage, status: number, body: string): void {
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}
