/**
 * The docs page's script, written as one self-contained function so it is type-checked here and
 * embedded in index.html with `toString()`. It must not reference anything outside its body except
 * browser globals and the helpers passed in (the page has no modules and no network).
 */
import type { DocsData, DocsNode, lineageClosure } from './docs-data.js';

/** Helpers the page receives; each is embedded with toString() too. */
export interface ClientHelpers {
  readonly lineageClosure: typeof lineageClosure;
  readonly statusClass: (s: string | undefined) => string;
}

/** Runs in the browser: wires the pre-rendered SVG graph, search, side panel and timeline. */
export function docsClient(helpers: ClientHelpers): void {
  const dataEl = document.getElementById('lake-data');
  const data = JSON.parse(dataEl?.textContent ?? '{}') as DocsData;
  const nodes = data.nodes;
  const boxes = data.layout.boxes;
  const $ = <T extends Element = HTMLElement>(sel: string): T => document.querySelector(sel) as T;

  const svg = $<SVGSVGElement>('#graph');
  const viewport = $<SVGGElement>('#viewport');
  const edgesHl = $<SVGPathElement>('#edges-hl');
  const edgesHlUp = $<SVGPathElement>('#edges-hl-up');
  const edgesHlDown = $<SVGPathElement>('#edges-hl-down');
  const overlay = $<SVGGElement>('#overlay');
  const panel = $<HTMLElement>('#panel');
  const search = $<HTMLInputElement>('#search');
  const results = $<HTMLElement>('#search-results');
  const graphView = $<HTMLElement>('#graph-view');
  const timelineView = $<HTMLElement>('#timeline-view');

  const nodeEls: SVGGElement[] = new Array<SVGGElement>(nodes.length);
  viewport.querySelectorAll<SVGGElement>('g.n').forEach((g) => {
    nodeEls[Number(g.dataset.i)] = g;
  });

  // ---------- helpers ----------
  const esc = (s: unknown): string =>
    String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
  const fmtInt = (n: number | undefined): string => (n === undefined || n === null ? '—' : Math.round(n).toLocaleString('en-US'));
  const fmtMs = (ms: number | undefined): string => {
    if (ms === undefined || ms === null) return '—';
    if (ms < 1000) return `${Math.round(ms)} ms`;
    if (ms < 60000) return `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
    return `${Math.floor(ms / 60000)} m ${Math.round((ms % 60000) / 1000)} s`;
  };
  const statusClass = helpers.statusClass;
  const pill = (text: string, cls: string): string => `<span class="pill ${cls}">${esc(text)}</span>`;

  // ---------- adjacency (lazy) ----------
  let inE: number[][] | null = null;
  let outE: number[][] | null = null;
  const edgeIndex = new Map<string, number>();
  const adjacency = (): void => {
    if (inE) return;
    inE = nodes.map(() => []);
    outE = nodes.map(() => []);
    data.edges.forEach(([a, b], i) => {
      outE![a]!.push(i);
      inE![b]!.push(i);
      edgeIndex.set(a + '>' + b, i);
    });
  };

  // ---------- pan & zoom ----------
  let tx = 0;
  let ty = 0;
  let k = 1;
  let raf = 0;
  const apply = (): void => {
    raf = 0;
    viewport.setAttribute('transform', `translate(${tx.toFixed(1)},${ty.toFixed(1)}) scale(${k.toFixed(4)})`);
    svg.classList.toggle('far', k < 0.42);
    svg.classList.toggle('very-far', k < 0.16);
    let grid = 22 * k;
    while (grid < 11) grid *= 4;
    graphView.style.backgroundSize = `${grid}px ${grid}px`;
    graphView.style.backgroundPosition = `${tx}px ${ty}px`;
  };
  const schedule = (): void => {
    if (!raf) raf = requestAnimationFrame(apply);
  };
  const zoomAt = (px: number, py: number, factor: number): void => {
    const nk = Math.min(3, Math.max(0.015, k * factor));
    tx = px - (px - tx) * (nk / k);
    ty = py - (py - ty) * (nk / k);
    k = nk;
    schedule();
  };
  const fit = (readable: boolean): void => {
    const r = svg.getBoundingClientRect();
    const w = Math.max(1, data.layout.width);
    const h = Math.max(1, data.layout.height);
    let nk = Math.min(1.4, Math.min(r.width / w, r.height / h) * 0.94);
    if (readable && nk < 0.3) {
      // a huge graph: start readable at the top-left rather than as a sliver
      nk = 0.55;
      tx = 20;
      ty = 20;
    } else {
      tx = (r.width - w * nk) / 2;
      ty = (r.height - h * nk) / 2;
    }
    k = nk;
    schedule();
  };
  const centerOn = (i: number): void => {
    const r = svg.getBoundingClientRect();
    const nk = Math.max(k, 0.8);
    const cx = boxes[i * 4]! + boxes[i * 4 + 2]! / 2;
    const cy = boxes[i * 4 + 1]! + boxes[i * 4 + 3]! / 2;
    const visible = panel.hidden ? r.width : r.width - panel.getBoundingClientRect().width;
    k = nk;
    tx = visible / 2 - cx * k;
    ty = r.height / 2 - cy * k;
    schedule();
  };

  /** Fit the given nodes into the part of the graph the panel leaves visible (no zoom-in past 1.2). */
  const fitTo = (list: readonly number[]): void => {
    if (!list.length) return;
    let x0 = Infinity;
    let y0 = Infinity;
    let x1 = -Infinity;
    let y1 = -Infinity;
    for (const i of list) {
      x0 = Math.min(x0, boxes[i * 4]!);
      y0 = Math.min(y0, boxes[i * 4 + 1]!);
      x1 = Math.max(x1, boxes[i * 4]! + boxes[i * 4 + 2]!);
      y1 = Math.max(y1, boxes[i * 4 + 1]! + boxes[i * 4 + 3]! + 18);
    }
    const r = svg.getBoundingClientRect();
    const visible = panel.hidden ? r.width : r.width - panel.getBoundingClientRect().width;
    const pad = 60;
    k = Math.max(0.05, Math.min(1.2, (visible - 2 * pad) / Math.max(1, x1 - x0), (r.height - 2 * pad) / Math.max(1, y1 - y0)));
    tx = visible / 2 - ((x0 + x1) / 2) * k;
    ty = r.height / 2 - ((y0 + y1) / 2) * k;
    schedule();
  };

  svg.addEventListener(
    'wheel',
    (e) => {
      e.preventDefault();
      const r = svg.getBoundingClientRect();
      const unit = e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? 400 : 1;
      zoomAt(e.clientX - r.left, e.clientY - r.top, Math.exp(-e.deltaY * unit * 0.0016));
    },
    { passive: false },
  );

  let drag: { x: number; y: number; tx: number; ty: number; moved: boolean; node: number; id: number } | null = null;
  svg.addEventListener('pointerdown', (e) => {
    if (e.button !== 0) return;
    const g = (e.target as Element).closest('g.n') as SVGGElement | null;
    drag = { x: e.clientX, y: e.clientY, tx, ty, moved: false, node: g ? Number(g.dataset.i) : -1, id: e.pointerId };
  });
  svg.addEventListener('pointermove', (e) => {
    if (!drag || drag.id !== e.pointerId) return;
    const dx = e.clientX - drag.x;
    const dy = e.clientY - drag.y;
    if (!drag.moved && Math.abs(dx) + Math.abs(dy) > 4) {
      drag.moved = true;
      svg.setPointerCapture(e.pointerId);
      svg.classList.add('panning');
    }
    if (drag.moved) {
      tx = drag.tx + dx;
      ty = drag.ty + dy;
      schedule();
    }
  });
  const endDrag = (e: PointerEvent): void => {
    if (!drag || drag.id !== e.pointerId) return;
    const d = drag;
    drag = null;
    svg.classList.remove('panning');
    if (d.moved) return;
    if (d.node >= 0) select(d.node, null);
    else clearSelection();
  };
  svg.addEventListener('pointerup', endDrag);
  svg.addEventListener('pointercancel', () => {
    drag = null;
    svg.classList.remove('panning');
  });

  $('#zoom-in').addEventListener('click', () => {
    const r = svg.getBoundingClientRect();
    zoomAt(r.width / 2, r.height / 2, 1.3);
  });
  $('#zoom-out').addEventListener('click', () => {
    const r = svg.getBoundingClientRect();
    zoomAt(r.width / 2, r.height / 2, 1 / 1.3);
  });
  $('#fit').addEventListener('click', () => fit(false));

  // ---------- selection & lineage highlight ----------
  let selected = -1;
  let activeColumn: string | null = null;
  const marked: SVGGElement[] = [];
  const clearMarks = (): void => {
    for (const g of marked) g.classList.remove('sel', 'nbr', 'hl-up', 'hl-down', 'hl-self');
    marked.length = 0;
    overlay.textContent = '';
    edgesHl.setAttribute('d', '');
    edgesHlUp.setAttribute('d', '');
    edgesHlDown.setAttribute('d', '');
    svg.classList.remove('lineage-mode', 'focus-mode');
  };
  const mark = (i: number, cls: string): void => {
    const g = nodeEls[i];
    if (!g) return;
    g.classList.add(cls);
    marked.push(g);
  };

  const highlightNode = (i: number): void => {
    adjacency();
    const paths: string[] = [];
    for (const e of inE![i]!) {
      paths.push(data.layout.edges[e]!);
      mark(data.edges[e]![0], 'nbr');
    }
    for (const e of outE![i]!) {
      paths.push(data.layout.edges[e]!);
      mark(data.edges[e]![1], 'nbr');
    }
    edgesHl.setAttribute('d', paths.join(''));
    mark(i, 'sel');
  };

  type Lineage = { upstream: [number, string][]; downstream: [number, string][] };
  let lineage: Lineage | null = null;

  const highlightColumn = (i: number, column: string): Lineage => {
    adjacency();
    const lin = helpers.lineageClosure(data.columnEdges, i, column);
    const up = new Set<number>(lin.upstream.map((x) => x[0]));
    const down = new Set<number>(lin.downstream.map((x) => x[0]));
    up.delete(i);
    down.delete(i);
    for (const n of up) mark(n, 'hl-up');
    for (const n of down) mark(n, 'hl-down');
    mark(i, 'hl-self');
    mark(i, 'sel');
    // node-level edges that carry the highlighted columns
    const lower = (s: string): string => s.toLowerCase();
    const upKeys = new Set<string>(lin.upstream.map((x) => x[0] + '\u0000' + lower(x[1])));
    const downKeys = new Set<string>(lin.downstream.map((x) => x[0] + '\u0000' + lower(x[1])));
    const self = i + '\u0000' + lower(column);
    upKeys.add(self);
    downKeys.add(self);
    const upPaths = new Set<number>();
    const downPaths = new Set<number>();
    for (const [a, ca, b, cb] of data.columnEdges) {
      const ka = a + '\u0000' + lower(ca);
      const kb = b + '\u0000' + lower(cb);
      const e = edgeIndex.get(a + '>' + b);
      if (e === undefined) continue;
      if (upKeys.has(ka) && upKeys.has(kb) && ka !== self) upPaths.add(e);
      if (downKeys.has(ka) && downKeys.has(kb) && kb !== self) downPaths.add(e);
    }
    edgesHlUp.setAttribute('d', [...upPaths].map((e) => data.layout.edges[e]).join(''));
    edgesHlDown.setAttribute('d', [...downPaths].map((e) => data.layout.edges[e]).join(''));
    // column badges under the involved nodes
    const perNode = new Map<number, string[]>();
    const add = (n: number, c: string): void => {
      const l = perNode.get(n) ?? [];
      if (!l.includes(c)) l.push(c);
      perNode.set(n, l);
    };
    add(i, column);
    for (const [n, c] of lin.upstream) add(n, c);
    for (const [n, c] of lin.downstream) add(n, c);
    let badges = '';
    for (const [n, cols] of perNode) {
      const x = boxes[n * 4]!;
      const y = boxes[n * 4 + 1]! + boxes[n * 4 + 3]! + 13;
      const text = cols.length > 2 ? `${cols.slice(0, 2).join(', ')} +${cols.length - 2}` : cols.join(', ');
      const cls = n === i ? 'self' : up.has(n) ? 'up' : 'down';
      badges += `<g class="badge ${cls}" transform="translate(${x},${y})"><rect x="0" y="-10" rx="7" height="15" width="${Math.min(240, text.length * 6.2 + 14)}"></rect><text x="7" y="1">${esc(text)}</text></g>`;
    }
    overlay.innerHTML = badges;
    svg.classList.add('lineage-mode');
    return lin;
  };

  function select(i: number, column: string | null, opts: { center?: boolean } = {}): void {
    if (i < 0 || i >= nodes.length) return;
    clearMarks();
    clearSearchMarks();
    selected = i;
    activeColumn = column;
    lineage = null;
    if (column) {
      lineage = highlightColumn(i, column);
    } else {
      highlightNode(i);
      svg.classList.add('focus-mode');
    }
    renderPanel(i);
    if (lineage) fitTo([i, ...lineage.upstream.map((x) => x[0]), ...lineage.downstream.map((x) => x[0])]);
    else if (opts.center) centerOn(i);
    markTimeline();
    setHash('#' + encodeURIComponent(nodes[i]!.id));
  }

  // Keeps the selection in the address bar; some file:// setups refuse replaceState, which is harmless.
  function setHash(url: string): void {
    try {
      if (location.hash !== url) history.replaceState(null, '', url);
    } catch {
      /* ignore */
    }
  }

  function clearSelection(): void {
    clearMarks();
    selected = -1;
    activeColumn = null;
    lineage = null;
    markTimeline();
    panel.hidden = true;
    document.body.classList.remove('with-panel');
    if (location.hash) setHash(location.pathname + location.search);
  }

  // ---------- SQL highlighting ----------
  const KW = new Set(
    ('select from where group by order having limit offset join left right full inner outer cross on using as and or not in is null ' +
      'case when then else end distinct union all except intersect with recursive over partition window rows range between ' +
      'preceding following unbounded current row qualify insert into values update set delete merge matched create or replace table view ' +
      'cast try_cast like ilike exists true false asc desc nulls first last interval exclude replace lateral unnest filter any some')
      .split(' '),
  );
  const FN = /^(count|sum|avg|min|max|coalesce|row_number|rank|dense_rank|lag|lead|date_trunc|date_diff|strptime|strftime|json_extract|json_extract_string|any_value|arg_max|arg_min|list|string_agg|round|abs|greatest|least|nullif|epoch_ms|to_timestamp|current_date|current_timestamp|now|struct_pack|regexp_matches|regexp_replace|lower|upper|trim|length|substr|substring|concat|hash|md5)$/i;
  const highlightSql = (sql: string): string => {
    const re = /(--[^\n]*|\/\*[\s\S]*?\*\/|\{#[\s\S]*?#\})|(\{\{[\s\S]*?\}\}|\{%-?[\s\S]*?-?%\})|('(?:[^']|'')*')|("(?:[^"]|"")*")|(\b\d+(?:\.\d+)?\b)|([A-Za-z_][A-Za-z0-9_]*)/g;
    let out = '';
    let last = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(sql))) {
      out += esc(sql.slice(last, m.index));
      last = m.index + m[0].length;
      const t = esc(m[0]);
      if (m[1]) out += `<span class="c">${t}</span>`;
      else if (m[2]) out += `<span class="j">${t}</span>`;
      else if (m[3]) out += `<span class="s">${t}</span>`;
      else if (m[4]) out += `<span class="q">${t}</span>`;
      else if (m[5]) out += `<span class="n">${t}</span>`;
      else if (KW.has(m[0].toLowerCase())) out += `<span class="k">${t}</span>`;
      else if (FN.test(m[0]) && sql[last] === '(') out += `<span class="f">${t}</span>`;
      else out += t;
    }
    return out + esc(sql.slice(last));
  };

  // ---------- side panel ----------
  const nodeRef = (i: number, column?: string): string => {
    const n = nodes[i]!;
    return `<button class="ref l-${n.layer}" data-goto="${i}"${column ? ` data-col="${esc(column)}"` : ''}><i></i>${esc(n.id.replace(/^source:/, ''))}${
      column ? `<b>.${esc(column)}</b>` : ''
    }</button>`;
  };
  let sqlTab: 'compiled' | 'raw' = 'compiled';

  function renderPanel(i: number): void {
    const n = nodes[i]!;
    const kindLabel = n.kind === 'model' ? n.materialized ?? 'model' : n.kind === 'source' ? n.landing?.format ?? 'table' : n.kind;
    let h = `<div class="p-head l-${n.layer}">
      <div class="p-top"><span class="chip layer l-${n.layer}">${esc(n.layer)}</span><span class="chip">${esc(kindLabel)}</span>${(n.tags ?? [])
        .map((t) => `<span class="chip tag">#${esc(t)}</span>`)
        .join('')}<button class="close" id="panel-close" title="Close (Esc)">×</button></div>
      <h2>${esc(n.label)}</h2>
      <div class="p-id">${esc(n.id)}${n.path ? ` · <span>${esc(n.path)}</span>` : ''}</div>
    </div><div class="p-body">`;
    h += n.descriptionHtml ? `<div class="desc md">${n.descriptionHtml}</div>` : n.description ? `<p class="desc">${esc(n.description)}</p>` : `<p class="desc muted">No description.</p>`;

    // stats
    const stats: [string, string][] = [];
    if (n.run) {
      stats.push(['Last run', pill(n.run.status, statusClass(n.run.status))]);
      stats.push(['Rows', fmtInt(n.run.rows)]);
      stats.push(['Duration', fmtMs(n.run.durationMs)]);
      if (n.run.offsetMs !== undefined) stats.push(['Started', `+${fmtMs(n.run.offsetMs)}`]);
      if (n.run.files !== undefined) stats.push(['Files ingested', fmtInt(n.run.files)]);
      if (n.run.badRecords !== undefined) stats.push(['Bad records', fmtInt(n.run.badRecords)]);
    } else if (n.kind !== 'source') {
      stats.push(['Last run', pill('not run', 'none')]);
    }
    if (n.rows !== undefined && !n.landing) stats.push(['Rows in table', fmtInt(n.rows)]);
    if (stats.length) h += `<div class="stats">${stats.map(([k2, v]) => `<div class="stat"><span>${k2}</span><b>${v}</b></div>`).join('')}</div>`;
    if (n.run?.error || n.run?.message) h += `<pre class="err">${esc(n.run.error ?? n.run.message)}</pre>`;

    // landing zone
    if (n.landing) {
      const l = n.landing;
      h += `<section><h3>Landing zone</h3><div class="stats">
        <div class="stat"><span>Files</span><b class="landing-files">${fmtInt(l.fileCount)}</b></div>
        <div class="stat"><span>Rows</span><b>${fmtInt(l.rows)}</b></div>
        <div class="stat"><span>Bad records</span><b>${fmtInt(l.badRecordCount)}</b></div></div>
        <dl class="kv">${l.dir ? `<dt>folder</dt><dd><code>${esc(l.dir)}${l.files ? '/' + esc(l.files) : ''}</code></dd>` : ''}${
          l.format ? `<dt>format</dt><dd>${esc(l.format)}</dd>` : ''
        }${l.schemaEvolution ? `<dt>schema evolution</dt><dd>${esc(l.schemaEvolution)}</dd>` : ''}${
          l.badRecords ? `<dt>bad records</dt><dd>${esc(l.badRecords)}</dd>` : ''
        }</dl></section>`;
    }

    // columns
    h += `<section><h3>Columns <small>${n.columns.length}</small>${
      data.columnEdges.length ? '<em>click a column to trace its lineage</em>' : ''
    }</h3>`;
    if (n.columns.length) {
      h += `<table class="cols"><thead><tr><th>Name</th><th>Type</th><th>Description</th></tr></thead><tbody>`;
      for (const c of n.columns) {
        const active = activeColumn !== null && activeColumn.toLowerCase() === c.name.toLowerCase();
        h += `<tr class="col${active ? ' active' : ''}${c.missing ? ' missing' : ''}" data-col="${esc(c.name)}"><td class="cn">${esc(c.name)}${(c.tests ?? [])
          .map((t) => `<span class="tbadge">${esc(t)}</span>`)
          .join('')}</td><td class="ct">${esc(c.type ?? '')}</td><td class="cd">${c.descriptionHtml ? `<div class="md">${c.descriptionHtml}</div>` : c.description ? esc(c.description) : ''}${
          c.missing ? '<span class="muted"> not in database</span>' : ''
        }</td></tr>`;
      }
      h += `</tbody></table>`;
    } else h += `<p class="muted">No columns known.</p>`;
    h += `</section>`;

    // column lineage
    if (lineage && activeColumn) {
      const list = (items: [number, string][], cls: string): string =>
        items.length
          ? `<ul class="lin">${items.map(([ni, c]) => `<li class="lin-item ${cls}" data-node="${esc(nodes[ni]!.id)}" data-column="${esc(c)}">${nodeRef(ni, c)}</li>`).join('')}</ul>`
          : `<p class="muted">none</p>`;
      h += `<section class="lineage"><h3>Lineage of <code>${esc(activeColumn)}</code><button class="link" id="lin-clear">clear</button></h3>
        <h4><span class="dot up"></span>Upstream <small>${lineage.upstream.length}</small></h4>${list(lineage.upstream, 'up')}
        <h4><span class="dot down"></span>Downstream <small>${lineage.downstream.length}</small></h4>${list(lineage.downstream, 'down')}</section>`;
    }

    // tests
    if (n.tests?.length) {
      h += `<section><h3>Tests <small>${n.tests.length}</small></h3><table class="tests"><tbody>${n.tests
        .map(
          (t) =>
            `<tr class="test"><td>${pill(t.status ?? 'not run', statusClass(t.status))}</td><td><b>${esc(t.name)}</b>${t.column ? ` <code>${esc(t.column)}</code>` : ''}${
              t.args ? ` <span class="muted">${esc(JSON.stringify(t.args))}</span>` : ''
            }</td><td class="num">${t.failures ? `${fmtInt(t.failures)} failing` : ''}</td></tr>`,
        )
        .join('')}</tbody></table></section>`;
    }

    // expectations
    if (n.expectations?.length) {
      h += `<section><h3>Expectations <small>${n.expectations.length}</small></h3><table class="tests exp"><thead><tr><th>Name</th><th class="num">Passed</th><th class="num">Failed</th><th>Action</th></tr></thead><tbody>${n.expectations
        .map(
          (x) =>
            `<tr class="expectation"><td><b>${esc(x.name)}</b>${x.condition ? `<div class="muted mono">${esc(x.condition)}</div>` : ''}</td><td class="num">${fmtInt(
              x.passed,
            )}</td><td class="num${x.failed ? ' badtxt' : ''}">${fmtInt(x.failed)}</td><td>${esc(x.action ?? '')}</td></tr>`,
        )
        .join('')}</tbody></table></section>`;
    }

    // depends on / used by
    adjacency();
    const parents = inE![i]!.map((e) => data.edges[e]![0]);
    const children = outE![i]!.map((e) => data.edges[e]![1]);
    if (parents.length || children.length) {
      h += `<section><h3>Relations</h3><div class="rels"><div><h4>Depends on <small>${parents.length}</small></h4>${parents.map((p) => nodeRef(p)).join('') || '<p class="muted">none</p>'}</div>
        <div><h4>Used by <small>${children.length}</small></h4>${children.map((c) => nodeRef(c)).join('') || '<p class="muted">none</p>'}</div></div></section>`;
    }

    // SQL
    if (n.rawSql || n.compiledSql) {
      h += `<section class="sql"><h3>SQL<span class="tabs"><button data-sql="compiled" class="${sqlTab === 'compiled' ? 'on' : ''}">Compiled</button><button data-sql="raw" class="${
        sqlTab === 'raw' ? 'on' : ''
      }">Raw</button></span></h3>
        <pre class="code sql-compiled"${sqlTab === 'compiled' ? '' : ' hidden'}>${highlightSql(n.compiledSql ?? '')}</pre>
        <pre class="code sql-raw"${sqlTab === 'raw' ? '' : ' hidden'}>${highlightSql(n.rawSql ?? '')}</pre></section>`;
    }

    // config
    if (n.config || n.macros || n.relation) {
      const entries = Object.entries(n.config ?? {}).filter(([, v]) => !(Array.isArray(v) && v.length === 0) && v !== null && v !== undefined);
      h += `<section><h3>Config</h3><dl class="kv">${entries
        .map(([key, v]) => `<dt>${esc(key)}</dt><dd>${typeof v === 'string' ? esc(v) : `<code>${esc(JSON.stringify(v))}</code>`}</dd>`)
        .join('')}${n.macros ? `<dt>macros</dt><dd>${n.macros.map((m) => `<code>${esc(m)}</code>`).join(' ')}</dd>` : ''}${
        n.relation ? `<dt>relation</dt><dd><code>${esc(n.relation)}</code></dd>` : ''
      }</dl></section>`;
    }
    h += `</div>`;
    panel.innerHTML = h;
    panel.hidden = false;
    panel.scrollTop = 0;
    document.body.classList.add('with-panel');
  }

  panel.addEventListener('click', (e) => {
    const t = e.target as Element;
    if (t.closest('#panel-close')) return clearSelection();
    if (t.closest('#lin-clear')) return select(selected, null);
    const tab = t.closest('[data-sql]') as HTMLElement | null;
    if (tab) {
      sqlTab = tab.dataset.sql === 'raw' ? 'raw' : 'compiled';
      panel.querySelectorAll<HTMLElement>('[data-sql]').forEach((b) => b.classList.toggle('on', b === tab));
      panel.querySelector<HTMLElement>('.sql-compiled')!.hidden = sqlTab !== 'compiled';
      panel.querySelector<HTMLElement>('.sql-raw')!.hidden = sqlTab !== 'raw';
      return;
    }
    const go = t.closest('[data-goto]') as HTMLElement | null;
    if (go) {
      showView('graph');
      return select(Number(go.dataset.goto), go.dataset.col ?? null, { center: true });
    }
    const row = t.closest('tr.col') as HTMLElement | null;
    if (row && selected >= 0) {
      const c = row.dataset.col ?? '';
      const keep = panel.scrollTop;
      if (activeColumn && activeColumn.toLowerCase() === c.toLowerCase()) select(selected, null);
      else select(selected, c);
      panel.scrollTop = keep;
    }
  });

  // ---------- search ----------
  let haystack: string[] | null = null;
  let matches: number[] = [];
  let matchEls: SVGGElement[] = [];
  // Selecting a node ends the search dimming (the text stays in the box).
  function clearSearchMarks(): void {
    for (const g of matchEls) g.classList.remove('match');
    matchEls = [];
    svg.classList.remove('searching');
  }
  const runSearch = (q: string): void => {
    clearSearchMarks();
    q = q.trim().toLowerCase();
    if (!q) {
      svg.classList.remove('searching');
      results.hidden = true;
      matches = [];
      return;
    }
    haystack ??= nodes.map((n) => `${n.id} ${n.label}`.toLowerCase());
    const scored: [number, number][] = [];
    nodes.forEach((n, i) => {
      const name = n.name.toLowerCase();
      const label = n.label.toLowerCase();
      let s = -1;
      if (name === q || label === q || n.id.toLowerCase() === q) s = 0;
      else if (name.startsWith(q) || label.startsWith(q)) s = 1;
      else if (haystack![i]!.includes(q)) s = 2;
      else if (n.columns.some((c) => c.name.toLowerCase() === q)) s = 3;
      if (s >= 0) scored.push([s, i]);
    });
    // best kind of match first, then the closest (shortest) name
    scored.sort((a, b) => a[0] - b[0] || nodes[a[1]]!.label.length - nodes[b[1]]!.label.length || nodes[a[1]]!.id.localeCompare(nodes[b[1]]!.id));
    matches = scored.map((x) => x[1]);
    for (const i of matches) {
      const g = nodeEls[i];
      if (g) {
        g.classList.add('match');
        matchEls.push(g);
      }
    }
    svg.classList.add('searching');
    const shown = matches.slice(0, 12);
    results.innerHTML = shown.length
      ? shown
          .map((i, j) => {
            const n = nodes[i]!;
            const viaColumn = scored[j]![0] === 3;
            return `<div class="sr-item${j === 0 ? ' first' : ''}" data-i="${i}"><i class="l-${n.layer}"></i><span>${esc(n.label)}</span><small>${esc(
              viaColumn ? `column ${q}` : n.id.replace(/^source:/, ''),
            )}</small></div>`;
          })
          .join('') + (matches.length > shown.length ? `<div class="sr-more">${matches.length - shown.length} more highlighted in the graph</div>` : '')
      : `<div class="sr-none">No node matches “${esc(q)}”</div>`;
    results.hidden = false;
  };
  search.addEventListener('input', () => runSearch(search.value));
  search.addEventListener('focus', () => {
    if (search.value.trim()) results.hidden = false;
  });
  search.addEventListener('blur', () => setTimeout(() => (results.hidden = true), 150));
  search.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      runSearch(search.value);
      if (matches.length) {
        showView('graph');
        select(matches[0]!, null, { center: true });
        results.hidden = true;
      }
    } else if (e.key === 'Escape') {
      search.value = '';
      runSearch('');
      search.blur();
    }
  });
  results.addEventListener('mousedown', (e) => {
    const item = (e.target as Element).closest('.sr-item') as HTMLElement | null;
    if (!item) return;
    e.preventDefault();
    showView('graph');
    select(Number(item.dataset.i), null, { center: true });
    results.hidden = true;
  });
  document.addEventListener('keydown', (e) => {
    const inInput = (e.target as Element).closest('input, textarea');
    if (e.key === '/' && !inInput) {
      e.preventDefault();
      search.focus();
      search.select();
    } else if (e.key === 'Escape' && !inInput) {
      clearSelection();
    }
  });

  // ---------- views & timeline ----------
  let timelineBuilt = false;
  function showView(v: 'graph' | 'timeline'): void {
    graphView.hidden = v !== 'graph';
    timelineView.hidden = v !== 'timeline';
    $('#tab-graph').classList.toggle('on', v === 'graph');
    $('#tab-timeline').classList.toggle('on', v === 'timeline');
    if (v === 'timeline' && !timelineBuilt) buildTimeline();
  }
  $('#tab-graph').addEventListener('click', () => showView('graph'));
  $('#tab-timeline').addEventListener('click', () => showView('timeline'));

  function markTimeline(): void {
    if (!timelineBuilt) return;
    document.querySelectorAll('.tl-row.sel').forEach((r) => r.classList.remove('sel'));
    if (selected >= 0) document.querySelectorAll(`.tl-row[data-i="${selected}"]`).forEach((r) => r.classList.add('sel'));
  }

  function buildTimeline(): void {
    timelineBuilt = true;
    const el = $('#timeline');
    const run = data.run;
    if (!run || !run.bars.length) {
      el.innerHTML = `<div class="empty">No run results yet. Run <code>lake run</code>, then <code>lake docs generate</code>.</div>`;
      return;
    }
    const total = Math.max(1, run.elapsedMs);
    const labelW = 250;
    const width = Math.max(640, el.clientWidth - 32);
    const chartW = width - labelW - 110;
    const rowH = 22;
    const top = 28;
    const height = top + run.bars.length * rowH + 8;
    const xs = (ms: number): number => labelW + (ms / total) * chartW;
    // tick step: 1, 2 or 5 x 10^n ms, about 8 ticks
    const raw = total / 8;
    const pow = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw) ?? raw;
    let s = `<svg class="tl" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`;
    for (let t = 0; t <= total + 1e-9; t += step) {
      const x = xs(t);
      s += `<line class="tick" x1="${x}" x2="${x}" y1="${top - 6}" y2="${height}"></line><text class="tick-l" x="${x}" y="${top - 11}">${fmtMs(t)}</text>`;
    }
    run.bars.forEach((b, j) => {
      const y = top + j * rowH;
      const n = b.node >= 0 ? nodes[b.node] : undefined;
      const label = n ? n.id.replace(/^source:/, '') : b.id;
      const x = xs(b.offsetMs);
      const w = Math.max(2, (b.durationMs / total) * chartW);
      const cls = `tl-bar l-${n ? n.layer : 'other'} st-${statusClass(b.status)}`;
      s += `<g class="tl-row${j % 2 ? ' alt' : ''}" data-i="${b.node}"><rect class="tl-bg" x="0" y="${y}" width="${width}" height="${rowH}"></rect><text class="tl-label" x="${labelW - 12}" y="${
        y + 15
      }">${esc(label.length > 36 ? label.slice(0, 35) + '…' : label)}</text><rect class="${cls}" data-id="${esc(b.id)}" x="${x}" y="${y + 4}" width="${w}" height="${
        rowH - 8
      }" rx="3"><title>${esc(b.id)}: ${esc(b.status)}, ${fmtMs(b.durationMs)} from +${fmtMs(b.offsetMs)}${
        b.rows !== undefined ? `, ${fmtInt(b.rows)} rows` : ''
      }</title></rect><text class="tl-dur" x="${x + w + 6}" y="${y + 15}">${fmtMs(b.durationMs)}${b.status !== 'success' ? ' · ' + esc(b.status) : ''}</text></g>`;
    });
    s += `</svg>`;
    const slow = [...run.bars].sort((a, b) => b.durationMs - a.durationMs).slice(0, 3);
    const counts = new Map<string, number>();
    for (const b of run.bars) counts.set(b.status, (counts.get(b.status) ?? 0) + 1);
    el.innerHTML = `<div class="tl-head"><div><h2>Last run ${run.runId ? `<code>${esc(run.runId)}</code>` : ''}</h2><div class="muted">${esc(run.command ?? 'run')}${
      run.startedAt ? ` · started ${esc(new Date(run.startedAt).toLocaleString())}` : ''
    } · ${run.bars.length} nodes in ${fmtMs(run.elapsedMs)}</div></div><div class="tl-sum">${[...counts]
      .map(([st, c]) => pill(`${c} ${st}`, statusClass(st)))
      .join('')}<span class="muted">slowest:</span>${slow.map((b) => `<span class="slow">${esc(b.id.replace(/^source:/, ''))} <b>${fmtMs(b.durationMs)}</b></span>`).join('')}</div></div><div class="tl-scroll">${s}</div>`;
    el.querySelector('svg')!.addEventListener('click', (e) => {
      const row = (e.target as Element).closest('.tl-row') as SVGGElement | null;
      const i = row ? Number(row.dataset.i) : -1;
      if (i >= 0) select(i, null);
    });
    markTimeline();
  }

  // ---------- start ----------
  fit(true);
  apply();
  // `index.html#silver.users` opens that node (links, back/forward)
  const fromHash = (): void => {
    let id = '';
    try {
      id = decodeURIComponent(location.hash.slice(1));
    } catch {
      return;
    }
    const i = id ? nodes.findIndex((n: DocsNode) => n.id === id) : -1;
    if (i >= 0 && i !== selected) select(i, null, { center: true });
  };
  window.addEventListener('hashchange', fromHash);
  fromHash();
  // dbt's `{% docs __overview__ %}`: the front page, until a node is chosen.
  if (selected < 0 && data.overview) {
    panel.innerHTML = `<div class="p-head"><div class="p-top"><span class="chip">overview</span><button class="close" id="panel-close" title="Close (Esc)">×</button></div><h2>${esc(data.project)}</h2></div><div class="p-body"><div class="desc md overview">${data.overview}</div></div>`;
    panel.hidden = false;
    document.body.classList.add('with-panel');
  }
  document.body.classList.add('ready');
  // for tests and benchmarks: ready flag, and ms since navigation start when the page became interactive
  const w = window as unknown as { lakeDocsReady: boolean; lakeDocsReadyMs: number };
  w.lakeDocsReadyMs = performance.now();
  w.lakeDocsReady = true;
}
