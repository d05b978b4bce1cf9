/**
 * Renders the docs data into ONE self-contained index.html: inline CSS, the graph pre-rendered as
 * SVG (so the browser only parses it), the data as JSON in a script tag, and the client script.
 * No network, works from file://.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { docsClient } from './client.js';
import { lineageClosure, type DocsData, type DocsNode } from './docs-data.js';

/** Render the whole page. */
export function renderSite(data: DocsData): string {
  const script = `(${docsClient.toString()})({ lineageClosure: ${lineageClosure.toString()}, statusClass: ${statusClass.toString()} });`;
  if (/<\/script/i.test(script)) throw new Error('docs client script must not contain a closing script tag');
  const json = JSON.stringify(data).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
  const counts = { model: 0, seed: 0, source: 0 };
  const layers = { source: 0, seed: 0, bronze: 0, silver: 0, gold: 0, other: 0 };
  for (const n of data.nodes) {
    counts[n.kind]++;
    layers[n.layer]++;
  }
  const run = data.run;
  const runBadge = run
    ? `<span class="hdr-run"><span class="dot st-${statusClass(run.status)}"></span>last ${esc(run.command ?? 'run')} ${esc(run.status ?? '')} · ${esc(fmtMs(run.elapsedMs))}</span>`
    : '<span class="hdr-run muted">no run yet</span>';
  const plural = (n: number, w: string): string => `${n} ${w}${n === 1 ? '' : 's'}`;
  const summary = [plural(counts.model, 'model'), counts.seed ? plural(counts.seed, 'seed') : '', plural(counts.source, 'source')].filter(Boolean).join(' · ');
  const legend = (['source', 'seed', 'bronze', 'silver', 'gold', 'other'] as const)
    // Only layers the project has (a dbt project's staging/marts folders are not medallion layers).
    .filter((l) => layers[l] > 0)
    .map((l) => `<span class="lg l-${l}"><i></i>${l} <small>${layers[l]}</small></span>`)
    .join('');

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<meta name="generator" content="lake ${esc(data.lakeVersion ?? '')}">
<title>${esc(data.project)} · lake docs</title>
<style>${CSS}</style>
</head>
<body>
<header class="hdr">
  <div class="brand"><svg width="22" height="22" viewBox="0 0 24 24" aria-hidden="true"><path d="M2 15c3 0 3-2 5-2s2 2 5 2 3-2 5-2 2 2 5 2" fill="none" stroke="#38bdf8" stroke-width="2.2" stroke-linecap="round"/><path d="M2 20c3 0 3-2 5-2s2 2 5 2 3-2 5-2 2 2 5 2" fill="none" stroke="#0ea5e9" stroke-width="2.2" stroke-linecap="round" opacity=".6"/><path d="M7 11l5-8 5 8z" fill="#e2e8f0"/></svg>
    <span class="proj">${esc(data.project)}</span><span class="sub">lake docs</span></div>
  <nav class="views"><button id="tab-graph" class="on">Lineage</button><button id="tab-timeline">Run timeline</button></nav>
  <div class="search"><svg class="sicon" width="15" height="15" viewBox="0 0 24 24" aria-hidden="true"><circle cx="10.5" cy="10.5" r="6.5" fill="none" stroke="currentColor" stroke-width="2.2"/><path d="M15.5 15.5L21 21" stroke="currentColor" stroke-width="2.2" stroke-linecap="round"/></svg>
    <input id="search" type="search" placeholder="Search models, sources, columns" autocomplete="off" spellcheck="false"><kbd>/</kbd>
    <div id="search-results" hidden></div></div>
  <div class="hdr-meta"><span>${esc(summary)}</span>${runBadge}<span class="muted" title="generated">${esc(fmtDate(data.generatedAt))}</span></div>
</header>
<main>
  <section id="graph-view">
    ${renderGraph(data)}
    <div class="controls"><button id="zoom-in" title="Zoom in">+</button><button id="zoom-out" title="Zoom out">−</button><button id="fit" title="Fit the whole graph">Fit</button></div>
    <div class="legend">${legend}<span class="lg-sep"></span><span class="lg up"><i></i>upstream</span><span class="lg down"><i></i>downstream</span></div>
    ${data.nodes.length ? '' : '<div class="empty">This project has no models or sources yet.</div>'}
  </section>
  <section id="timeline-view" hidden><div id="timeline"></div></section>
  <aside id="panel" hidden></aside>
</main>
<script type="application/json" id="lake-data">${json}</script>
<script>${script}</script>
</body>
</html>
`;
}

/** Write `<dir>/index.html`; returns its path. */
export function writeSite(dir: string, data: DocsData): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'index.html');
  fs.writeFileSync(file, renderSite(data));
  return file;
}

const STRIPE = 'M7 0H9V40H7A7 7 0 0 1 0 33V7A7 7 0 0 1 7 0Z';

function renderGraph(data: DocsData): string {
  const { layout } = data;
  let nodes = '';
  data.nodes.forEach((n, i) => {
    const x = layout.boxes[i * 4]!;
    const y = layout.boxes[i * 4 + 1]!;
    const w = layout.boxes[i * 4 + 2]!;
    const h = layout.boxes[i * 4 + 3]!;
    const st = nodeStatus(n);
    const maxChars = Math.floor((w - (st ? 40 : 26)) / 8.4);
    const sub = `${n.kind === 'source' ? 'source' : n.schema ?? ''} · ${n.kind === 'source' ? (n.landing?.format ?? 'table') : n.materialized ?? n.kind}`;
    nodes +=
      `<g class="n l-${n.layer}${st ? ' st-' + st : ''}" data-i="${i}" data-id="${esc(n.id)}" transform="translate(${x},${y})">` +
      `<rect class="b" width="${w}" height="${h}" rx="7"></rect><use href="#stripe" class="s"></use>` +
      `<text class="t" x="16" y="17">${esc(truncate(n.label, maxChars))}</text>` +
      `<text class="m" x="16" y="31">${esc(truncate(sub, Math.floor((w - 26) / 6.4)))}</text>` +
      (st ? `<circle class="d" cx="${w - 13}" cy="13" r="4"></circle>` : '') +
      `</g>`;
  });
  return `<svg id="graph" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="lineage graph">
<defs><path id="stripe" d="${STRIPE}"></path></defs>
<g id="viewport"><path class="edges" d="${layout.edges.join('')}"></path><path class="arrows" d="${layout.arrows}"></path>
<path id="edges-hl" class="ehl" d=""></path><path id="edges-hl-up" class="ehl up" d=""></path><path id="edges-hl-down" class="ehl down" d=""></path>
<g id="nodes">${nodes}</g><g id="overlay"></g></g></svg>`;
}

/** ok / bad / warn (run ok but a test or expectation failed) / skip; '' when never run. */
function nodeStatus(n: DocsNode): string {
  if (!n.run) return '';
  const s = statusClass(n.run.status);
  if (s !== 'ok') return s;
  const testFailed = (n.tests ?? []).some((t) => t.status === 'fail' || t.status === 'error');
  return testFailed ? 'warn' : 'ok';
}

/** CSS class of a run or test status; also embedded in the page for the client. */
export function statusClass(s: string | undefined): string {
  const v = (s ?? '').toLowerCase();
  if (v === 'success' || v === 'pass') return 'ok';
  if (v === 'error' || v === 'fail') return 'bad';
  if (v === 'warn') return 'warn';
  if (v === 'skipped') return 'skip';
  return 'none';
}

function truncate(s: string, max: number): string {
  return s.length > max ? s.slice(0, Math.max(1, max - 1)) + '…' : s;
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function fmtMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(2)} s`;
  return `${Math.floor(ms / 60000)} m ${Math.round((ms % 60000) / 1000)} s`;
}

function fmtDate(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `generated ${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

const CSS = `
:root{--bg:#f6f8fb;--ink:#0f172a;--ink2:#334155;--mute:#64748b;--line:#e2e8f0;--card:#fff;--accent:#2563eb;
--source:#0e7490;--source-bg:#ecfeff;--seed:#4d7c0f;--seed-bg:#f7fee7;--bronze:#b45309;--bronze-bg:#fff7ed;--silver:#64748b;--silver-bg:#f4f6f9;--gold:#ca8a04;--gold-bg:#fefbe8;--other:#7c3aed;--other-bg:#f5f3ff;
--up:#4f46e5;--down:#db2777;--ok:#16a34a;--bad:#dc2626;--warn:#d97706;--skip:#94a3b8;
--mono:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace}
*{box-sizing:border-box}
html,body{margin:0;height:100%}
body{font:13px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);background:var(--bg);display:flex;flex-direction:column;overflow:hidden}
button{font:inherit;color:inherit;cursor:pointer}
code,.mono{font-family:var(--mono);font-size:12px}
.muted{color:var(--mute)}
[hidden]{display:none!important}
.hdr{height:54px;flex:none;display:flex;align-items:center;gap:22px;padding:0 18px;background:#0f172a;color:#e2e8f0;border-bottom:1px solid #1e293b;z-index:5}
.brand{display:flex;align-items:center;gap:9px;white-space:nowrap}
.brand .proj{font-weight:650;font-size:15px;color:#fff;letter-spacing:.1px}
.brand .sub{color:#94a3b8;font-size:12px;padding-left:9px;border-left:1px solid #334155}
.views{display:flex;gap:2px;background:#1e293b;border-radius:8px;padding:3px}
.views button{background:none;border:0;color:#cbd5e1;padding:5px 12px;border-radius:6px;font-size:12.5px}
.views button.on{background:#334155;color:#fff}
.search{position:relative;flex:1;max-width:460px;display:flex;align-items:center}
.search .sicon{position:absolute;left:10px;color:#94a3b8;pointer-events:none}
.search input{width:100%;height:34px;border-radius:8px;border:1px solid #334155;background:#1e293b;color:#f1f5f9;padding:0 34px 0 32px;font:inherit;outline:none}
.search input:focus{border-color:#38bdf8;background:#0b1324}
.search input::placeholder{color:#94a3b8}
.search kbd{position:absolute;right:9px;font:11px var(--mono);color:#94a3b8;border:1px solid #475569;border-radius:4px;padding:0 5px}
#search-results{position:absolute;top:40px;left:0;right:0;background:#fff;color:var(--ink);border:1px solid var(--line);border-radius:10px;box-shadow:0 12px 32px rgba(15,23,42,.18);overflow:hidden;max-height:420px;overflow-y:auto}
.sr-item{display:flex;align-items:center;gap:9px;padding:7px 12px;cursor:pointer;border-bottom:1px solid #f1f5f9}
.sr-item:hover,.sr-item.first{background:#eff6ff}
.sr-item i{width:9px;height:9px;border-radius:2px;flex:none;background:var(--c)}
.sr-item span{font-weight:600}
.sr-item small{margin-left:auto;color:var(--mute);font-family:var(--mono);font-size:11px}
.sr-none,.sr-more{padding:9px 12px;color:var(--mute);font-size:12px}
.hdr-meta{margin-left:auto;display:flex;gap:14px;align-items:center;color:#cbd5e1;font-size:12px;white-space:nowrap}
.hdr-meta .muted{color:#94a3b8}
.hdr-run{display:flex;align-items:center;gap:6px}
.dot{display:inline-block;width:8px;height:8px;border-radius:50%;background:var(--skip)}
.dot.st-ok{background:var(--ok)}.dot.st-bad{background:var(--bad)}.dot.st-warn{background:var(--warn)}
main{flex:1;position:relative;min-height:0}
#graph-view{position:absolute;inset:0;overflow:hidden;background-color:var(--bg);background-image:radial-gradient(#d5dce6 1px,transparent 1.2px)}
#graph{width:100%;height:100%;display:block;cursor:grab;user-select:none;touch-action:none}
#graph.panning{cursor:grabbing}
.l-source{--c:var(--source);--cbg:var(--source-bg)}.l-seed{--c:var(--seed);--cbg:var(--seed-bg)}.l-bronze{--c:var(--bronze);--cbg:var(--bronze-bg)}.l-silver{--c:var(--silver);--cbg:var(--silver-bg)}.l-gold{--c:var(--gold);--cbg:var(--gold-bg)}.l-other{--c:var(--other);--cbg:var(--other-bg)}
.edges{fill:none;stroke:#b8c2d0;stroke-width:1.3;vector-effect:non-scaling-stroke}
.arrows{fill:#a3aebd}
.ehl{fill:none;stroke:var(--accent);stroke-width:2.2;vector-effect:non-scaling-stroke}
.ehl.up{stroke:var(--up)}.ehl.down{stroke:var(--down)}
.n{cursor:pointer}
.n .b{fill:var(--cbg);stroke:#cfd8e3;stroke-width:1}
.n .s{fill:var(--c)}
.n .t{font-size:12.5px;font-weight:620;fill:var(--ink)}
.n .m{font-size:10.5px;fill:var(--mute)}
.n .d{fill:var(--skip)}
.n.st-ok .d{fill:var(--ok)}.n.st-bad .d{fill:var(--bad)}.n.st-warn .d{fill:var(--warn)}
.n:hover .b{stroke:#94a3b8;filter:drop-shadow(0 2px 4px rgba(15,23,42,.12))}
.far .n .m,.very-far .n .t{display:none}
.n.nbr .b{stroke:#93c5fd;stroke-width:1.6}
.n.sel .b{stroke:var(--accent);stroke-width:2.6}
.searching .n:not(.match){opacity:.22}
.searching .edges,.searching .arrows{opacity:.35}
.n.match .b{stroke:#f59e0b;stroke-width:2.4}
.lineage-mode .n:not(.hl-up):not(.hl-down):not(.hl-self){opacity:.16}
.lineage-mode .edges,.lineage-mode .arrows{opacity:.25}
.n.hl-up .b{stroke:var(--up);stroke-width:2.6;fill:#eef2ff}
.n.hl-down .b{stroke:var(--down);stroke-width:2.6;fill:#fdf2f8}
.n.hl-self .b{stroke:var(--ink);stroke-width:3}
.badge rect{fill:#fff;stroke:var(--ink);stroke-width:1}
.badge text{font:10.5px var(--mono);fill:var(--ink)}
.badge.up rect{stroke:var(--up)}.badge.up text{fill:var(--up)}
.badge.down rect{stroke:var(--down)}.badge.down text{fill:var(--down)}
.controls{position:absolute;left:16px;top:16px;display:flex;flex-direction:column;gap:0;background:#fff;border:1px solid var(--line);border-radius:9px;box-shadow:0 2px 8px rgba(15,23,42,.07);overflow:hidden}
.controls button{border:0;background:#fff;width:38px;height:32px;font-size:16px;color:var(--ink2);border-bottom:1px solid var(--line)}
.controls button:last-child{border-bottom:0;font-size:11px;font-weight:600}
.controls button:hover{background:#f1f5f9}
.legend{position:absolute;left:16px;bottom:16px;display:flex;gap:12px;align-items:center;background:rgba(255,255,255,.94);border:1px solid var(--line);border-radius:9px;padding:7px 12px;font-size:12px;color:var(--ink2);box-shadow:0 2px 8px rgba(15,23,42,.06)}
.lg{display:flex;align-items:center;gap:5px;text-transform:capitalize}
.lg i{width:10px;height:10px;border-radius:3px;background:var(--c);display:inline-block}
.lg small{color:var(--mute)}
.lg.up i{background:var(--up);height:3px;width:14px}.lg.down i{background:var(--down);height:3px;width:14px}
.lg-sep{width:1px;height:14px;background:var(--line)}
.empty{position:absolute;inset:0;display:flex;align-items:center;justify-content:center;color:var(--mute);font-size:14px}
#panel{position:absolute;top:0;right:0;bottom:0;width:440px;max-width:100%;background:#fff;border-left:1px solid var(--line);box-shadow:-8px 0 24px rgba(15,23,42,.07);overflow-y:auto;z-index:3}
.p-head{padding:16px 20px 14px;border-top:4px solid var(--c);border-bottom:1px solid var(--line);background:linear-gradient(var(--cbg),#fff)}
.p-top{display:flex;gap:6px;align-items:center;flex-wrap:wrap}
.chip{font-size:11px;border:1px solid var(--line);background:#fff;border-radius:20px;padding:1px 9px;color:var(--ink2)}
.chip.layer{background:var(--c);border-color:var(--c);color:#fff;text-transform:uppercase;letter-spacing:.5px;font-weight:600;font-size:10px}
.chip.tag{color:var(--mute)}
.close{margin-left:auto;border:0;background:none;font-size:22px;line-height:1;color:var(--mute);padding:0 4px}
.close:hover{color:var(--ink)}
.p-head h2{margin:8px 0 2px;font-size:19px;font-weight:680;word-break:break-all}
.p-id{font:11.5px var(--mono);color:var(--mute);word-break:break-all}
.p-body{padding:4px 20px 28px}
.desc{font-size:13.5px;color:var(--ink2);margin:14px 0}
.md p{margin:0 0 8px}.md p:last-child{margin-bottom:0}.md ul,.md ol{margin:4px 0 8px;padding-left:20px}.md code{font-size:12px;background:var(--bg);padding:0 3px;border-radius:3px}.md table{border-collapse:collapse}.md td,.md th{border:1px solid var(--line);padding:2px 6px}.md a{color:inherit;text-decoration:underline}
.stats{display:grid;grid-template-columns:repeat(3,1fr);gap:8px;margin:10px 0}
.stat{border:1px solid var(--line);border-radius:8px;padding:7px 10px;background:#fbfcfe}
.stat span{display:block;font-size:10.5px;text-transform:uppercase;letter-spacing:.5px;color:var(--mute)}
.stat b{font-size:14px;font-weight:640}
.pill{display:inline-block;font-size:11px;font-weight:600;border-radius:20px;padding:1px 8px;background:#f1f5f9;color:var(--ink2);text-transform:lowercase;white-space:nowrap}
.pill.ok{background:#dcfce7;color:#166534}.pill.bad{background:#fee2e2;color:#991b1b}.pill.warn{background:#fef3c7;color:#92400e}.pill.skip,.pill.none{background:#f1f5f9;color:#475569}
.err{background:#fef2f2;border:1px solid #fecaca;color:#991b1b;border-radius:8px;padding:8px 10px;white-space:pre-wrap;font:12px var(--mono);margin:8px 0}
section>h3{display:flex;align-items:baseline;gap:8px;margin:22px 0 8px;font-size:11px;font-weight:700;text-transform:uppercase;letter-spacing:.7px;color:var(--ink2)}
section>h3 small{font-weight:600;color:var(--mute)}
section>h3 em{margin-left:auto;font-style:normal;text-transform:none;letter-spacing:0;font-weight:400;color:var(--mute);font-size:11.5px}
h4{margin:10px 0 6px;font-size:12px;font-weight:600;color:var(--ink2);display:flex;align-items:center;gap:6px}
h4 small{color:var(--mute);font-weight:500}
table{width:100%;border-collapse:collapse}
th{text-align:left;font-size:10.5px;font-weight:600;color:var(--mute);text-transform:uppercase;letter-spacing:.4px;padding:5px 8px;border-bottom:1px solid var(--line)}
td{padding:6px 8px;border-bottom:1px solid #f1f5f9;vertical-align:top}
.num{text-align:right;white-space:nowrap}
.tests td:first-child{width:1%;white-space:nowrap}
.cols tr.col{cursor:pointer}
.cols tr.col:hover td{background:#f8fafc}
.cols tr.col.active td{background:#eef2ff}
.cols tr.col.active td.cn{box-shadow:inset 3px 0 var(--up)}
.cols .cn{font:12px var(--mono);font-weight:600;white-space:nowrap}
.cols .ct{font:11px var(--mono);color:#0369a1;white-space:nowrap}
.cols .cd{color:var(--ink2)}
.cols tr.missing .cn{color:var(--mute)}
.tbadge{font:10px system-ui,sans-serif;margin-left:5px;padding:0 5px;border-radius:4px;background:#f1f5f9;color:var(--mute);font-weight:500}
.badtxt{color:var(--bad);font-weight:600}
.lineage{background:#fafaff;border:1px solid #e0e7ff;border-radius:10px;padding:2px 12px 10px;margin-top:18px}
.lineage>h3{margin-top:12px}
.link{margin-left:auto;border:0;background:none;color:var(--accent);font-size:11.5px;text-transform:none;letter-spacing:0;font-weight:500}
.dot.up{background:var(--up)}.dot.down{background:var(--down)}
ul.lin{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:5px}
.ref{display:inline-flex;align-items:center;gap:6px;border:1px solid var(--line);background:#fff;border-radius:6px;padding:3px 8px;font:11.5px var(--mono);color:var(--ink2);margin:0 5px 5px 0}
.ref:hover{border-color:#94a3b8;background:#f8fafc}
.ref i{width:8px;height:8px;border-radius:2px;background:var(--c)}
.ref b{color:var(--ink)}
.lin-item.up .ref{border-color:#c7d2fe}.lin-item.down .ref{border-color:#fbcfe8}
ul.lin .ref{margin:0}
.rels{display:grid;grid-template-columns:1fr 1fr;gap:12px}
.rels h4{margin-top:0}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:5px 14px;margin:0}
dl.kv dt{color:var(--mute);font-size:12px}
dl.kv dd{margin:0;word-break:break-word}
.tabs{margin-left:auto;display:flex;gap:2px;background:#f1f5f9;border-radius:7px;padding:2px}
.tabs button{border:0;background:none;font-size:11px;text-transform:none;letter-spacing:0;padding:2px 10px;border-radius:5px;color:var(--mute);font-weight:600}
.tabs button.on{background:#fff;color:var(--ink);box-shadow:0 1px 2px rgba(15,23,42,.12)}
pre.code{margin:0;background:#f8fafc;border:1px solid var(--line);border-radius:8px;padding:11px 13px;font:12px/1.55 var(--mono);white-space:pre-wrap;word-break:break-word;color:#1e293b;max-height:420px;overflow:auto}
.code .k{color:#1d4ed8;font-weight:600}.code .f{color:#7c3aed}.code .s{color:#15803d}.code .q{color:#b45309}.code .n{color:#c2410c}.code .c{color:#94a3b8;font-style:italic}.code .j{color:#be185d;background:#fdf2f8;border-radius:3px}
#timeline-view{position:absolute;inset:0;overflow:auto;background:#fff}
body.with-panel #timeline-view{right:440px}
#timeline{padding:18px 16px 30px}
.tl-head{display:flex;align-items:flex-end;gap:20px;flex-wrap:wrap;margin:0 0 14px 6px}
.tl-head h2{font-size:17px;margin:0 0 2px}
.tl-sum{margin-left:auto;display:flex;gap:8px;align-items:center;flex-wrap:wrap;font-size:12px}
.slow{border:1px solid var(--line);border-radius:6px;padding:1px 7px;font:11.5px var(--mono)}
.tl .tick{stroke:#eef2f6}
.tl .tick-l{font-size:10.5px;fill:var(--mute);text-anchor:middle}
.tl-row{cursor:pointer}
.tl-bg{fill:transparent}
.tl-row.alt .tl-bg{fill:#fafbfd}
.tl-row:hover .tl-bg{fill:#eff6ff}
.tl-row.sel .tl-bg{fill:#dbeafe}
.tl-row.sel .tl-label{font-weight:700;fill:var(--ink)}
.tl-label{font:11.5px var(--mono);fill:var(--ink2);text-anchor:end}
.tl-bar{fill:var(--c)}
.tl-bar.st-bad{fill:var(--bad)}
.tl-bar.st-skip{fill:#e2e8f0;stroke:#94a3b8;stroke-dasharray:3 2}
.tl-dur{font-size:10.5px;fill:var(--mute)}
`;
