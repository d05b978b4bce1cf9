import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LakeError } from '../../src/errors/index.js';
import { requestPath, serveDocs, type DocsServer } from '../../src/docs/serve.js';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A raw request: the path goes on the wire exactly as given (no normalisation). */
function request(port: number, rawPath: string, method = 'GET', host = `127.0.0.1:${port}`): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: rawPath, method, headers: { host }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Send bytes over a socket, for request targets http.request refuses to send. */
function rawRequest(port: number, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1', () => sock.write(`${line}\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`));
    let out = '';
    sock.setEncoding('latin1');
    sock.on('data', (c: string) => (out += c));
    sock.on('end', () => resolve(out));
    sock.on('error', reject);
  });
}

describe('serveDocs', () => {
  let base: string;
  let docs: string;
  let server: DocsServer;

  beforeAll(async () => {
    base = fs.mkdtempSync(path.join(os.tmpdir(), 'lake-'));
    docs = path.join(base, 'docs');
    fs.mkdirSync(path.join(docs, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(docs, 'index.html'), '<!doctype html><title>lake docs</title>MARKER');
    fs.writeFileSync(path.join(docs, 'sub', 'a.css'), 'body{}');
    fs.writeFileSync(path.join(docs, 'data.json'), '{"a":1}');
    fs.writeFileSync(path.join(docs, 'img.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    fs.writeFileSync(path.join(docs, 'blob.bin'), 'x');
    fs.writeFileSync(path.join(docs, 'sub', 'index.html'), 'SUBINDEX');
    fs.writeFileSync(path.join(base, 'secret.txt'), 'TOP SECRET');
    fs.mkdirSync(path.join(base, 'outside'));
    fs.writeFileSync(path.join(base, 'outside', 'x.txt'), 'OUTSIDE');
    fs.symlinkSync(path.join(base, 'secret.txt'), path.join(docs, 'escape.txt'));
    fs.symlinkSync(path.join(base, 'outside'), path.join(docs, 'outdir'));
    fs.symlinkSync(path.join(docs, 'index.html'), path.join(docs, 'alias.html'));
    server = await serveDocs(docs, 0);
  });

  afterAll(async () => {
    await server?.close();
    fs.rmSync(base, { recursive: true, force: true });
  });

  it('listens on 127.0.0.1 and serves the site', async () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/`);
    const r = await request(server.port, '/');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.body).toContain('MARKER');
    const idx = await request(server.port, '/index.html?x=1#frag');
    expect(idx.body).toContain('MARKER');
    expect((await request(server.port, '/sub/')).body).toBe('SUBINDEX');
  });

  it('answers on no other interface', async () => {
    const external = Object.values(os.networkInterfaces())
      .flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal);
    if (!external) return; // this machine has only loopback: nothing else to probe
    const err = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
      const s = net.connect(server.port, external.address, () => {
        s.destroy();
        resolve(null);
      });
      s.on('error', (e) => resolve(e));
    });
    expect(err?.code).toBe('ECONNREFUSED');
  });

  it('sets content types', async () => {
    expect((await request(server.port, '/sub/a.css')).headers['content-type']).toBe('text/css; charset=utf-8');
    expect((await request(server.port, '/data.json')).headers['content-type']).toBe('application/json; charset=utf-8');
    expect((await request(server.port, '/img.png')).headers['content-type']).toBe('image/png');
    expect((await request(server.port, '/blob.bin')).headers['content-type']).toBe('application/octet-stream');
    expect((await request(server.port, '/data.json')).headers['x-content-type-options']).toBe('nosniff');
  });

  it('answers HEAD with headers only', async () => {
    const r = await request(server.port, '/index.html', 'HEAD');
    expect(r.status).toBe(200);
    expect(Number(r.headers['content-length'])).toBe(fs.statSync(path.join(docs, 'index.html')).size);
    expect(r.body).toBe('');
  });

  it('refuses other methods with 405', async () => {
    for (const m of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      const r = await request(server.port, '/index.html', m);
      expect(r.status, m).toBe(405);
      expect(r.headers.allow).toBe('GET, HEAD');
    }
    expect(fs.readFileSync(path.join(docs, 'index.html'), 'utf8')).toContain('MARKER');
  });

  it('returns 404 for missing files', async () => {
    expect((await request(server.port, '/nope.html')).status).toBe(404);
    expect((await request(server.port, '/sub/nope/deeper')).status).toBe(404);
  });

  it.each([
    '/../secret.txt',
    '/sub/../../secret.txt',
    '/sub/../index.html',
    '/%2e%2e/secret.txt',
    '/%2E%2E/secret.txt',
    '/%2e%2e%2fsecret.txt',
    '/sub/%2e%2e/%2e%2e/secret.txt',
    '/.%2e/secret.txt',
    '/..%5csecret.txt',
    '/%5c..%5csecret.txt',
    '//etc/passwd',
    '/%2fetc%2fpasswd',
    '/%2Fetc/passwd',
    '/index.html%00.png',
    '/%E0%A4%A',
    '/escape.txt',
    '/outdir/x.txt',
    '/outdir/',
  ])('refuses %s with 403', async (p) => {
    const r = await request(server.port, p);
    expect(r.status).toBe(403);
    expect(r.body).not.toContain('SECRET');
    expect(r.body).not.toContain('OUTSIDE');
  });

  it('refuses absolute-form and relative request targets', async () => {
    const abs = await rawRequest(server.port, `GET http://127.0.0.1:${server.port}/../secret.txt HTTP/1.1`);
    expect(abs).toMatch(/^HTTP\/1\.1 403/);
    // Node's parser already rejects a target that does not start with '/' (400); either way, refused
    const rel = await rawRequest(server.port, 'GET ../secret.txt HTTP/1.1');
    expect(rel).toMatch(/^HTTP\/1\.1 40[03]/);
    expect(rel + abs).not.toContain('SECRET');
    const okAbs = await rawRequest(server.port, `GET http://127.0.0.1:${server.port}/index.html HTTP/1.1`);
    expect(okAbs).toMatch(/^HTTP\/1\.1 200/);
  });

  it('follows symlinks that stay inside the folder', async () => {
    const r = await request(server.port, '/alias.html');
    expect(r.status).toBe(200);
    expect(r.body).toContain('MARKER');
  });

  it('refuses requests for other host names (DNS rebinding)', async () => {
    expect((await request(server.port, '/', 'GET', 'evil.example.com')).status).toBe(403);
    expect((await request(server.port, '/', 'GET', `localhost:${server.port}`)).status).toBe(200);
  });

  it('says what to do when the folder is missing or the port is taken', async () => {
    const missing = serveDocs(path.join(base, 'no-such-dir'), 0);
    await expect(missing).rejects.toBeInstanceOf(LakeError);
    await expect(missing).rejects.toThrow(/lake docs generate/);
    const taken = serveDocs(docs, server.port);
    await expect(taken).rejects.toThrow(/port already in use[\s\S]*--port/);
  });
});

describe('requestPath', () => {
  it('maps safe paths and refuses unsafe ones', () => {
    expect(requestPath('/')).toBe('.');
    expect(requestPath('/a/b.html?q=1')).toBe('a/b.html');
    expect(requestPath('/with%20space.html')).toBe('with space.html');
    expect(requestPath('/a/../b')).toBeUndefined();
    expect(requestPath('/%2e%2e/b')).toBeUndefined();
    expect(requestPath('//etc/passwd')).toBeUndefined();
    expect(requestPath('/C:/windows')).toBeUndefined();
    expect(requestPath('relative')).toBeUndefined();
    expect(requestPath('/%zz')).toBeUndefined();
  });
});
