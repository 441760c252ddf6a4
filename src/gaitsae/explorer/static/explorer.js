// gait explorer: fills each page from its /api endpoint and draws interactive plots with the
// locally served plotly.js. Text from the data is always set with textContent, never as HTML.
"use strict";

const X = Array.from({length: 101}, (_, i) => i);  // % of stance
const FONT = {size: 13, family: "system-ui, sans-serif"};
const CONFIG = {displaylogo: false, responsive: true, displayModeBar: "hover"};

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "text") node.textContent = v;
    else if (k === "on") for (const [ev, fn] of Object.entries(v)) node.addEventListener(ev, fn);
    else node.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

const enc = encodeURIComponent;
const fmt = (v, d = 3) => v === null || v === undefined ? "–" : (typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toPrecision(d)) : String(v));

async function api(url) {
  const res = await fetch(url);
  const body = await res.json();
  if (!res.ok) throw new Error(body.error || res.statusText);
  return body;
}

function section(title, ...children) {
  return el("section", {}, el("h2", {text: title}), ...children);
}

function layout(xTitle, yTitle, extra) {
  const stance = xTitle === "% stance";
  const lay = Object.assign({
    font: FONT, margin: {l: 70, r: 12, t: 34, b: 96}, height: 320, showlegend: true,
    legend: {orientation: "h", x: 0, y: -0.3, yanchor: "top", font: {size: 12}},
    xaxis: Object.assign({title: {text: xTitle}, zeroline: false}, stance ? {range: [0, 100], dtick: 20} : {}),
    yaxis: {title: {text: yTitle}, zeroline: false},
    modebar: {orientation: "v"},  // down the right edge: a horizontal toolbar covers the panel's title
  }, extra || {});
  if (lay.title) lay.title = Object.assign({x: 0.01, xanchor: "left", font: {size: 13}}, lay.title);
  return lay;
}

function plot(container, traces, lay, cls) {
  const div = el("div", {class: cls || "plot"});
  container.append(div);
  Plotly.newPlot(div, traces, lay, CONFIG);
  return div;
}

const yLabel = ch => `${ch.name} (${ch.unit})`;

function band(mean, sd, name) {
  const lo = mean.map((m, i) => m - 2 * sd[i]), hi = mean.map((m, i) => m + 2 * sd[i]);
  return [
    {x: X, y: lo, mode: "lines", line: {width: 0}, hoverinfo: "skip", showlegend: false},
    {x: X, y: hi, mode: "lines", line: {width: 0}, fill: "tonexty", fillcolor: "rgba(120,120,120,0.22)", name: name},
    {x: X, y: mean, mode: "lines", line: {color: "#777", width: 1, dash: "dot"}, name: "norm mean"},
  ];
}

// A small plot of one curve inside a link to its stance.
function card(run, s, channel, label) {
  const a = el("a", {class: "card", href: `/runs/${enc(run)}/stances/${s.stance}`});
  a.append(el("div", {class: "card-title", text: label}));
  const div = el("div", {class: "mini"});
  a.append(div);
  requestAnimationFrame(() => Plotly.newPlot(div, [{x: X, y: s.curve, mode: "lines", line: {color: channel.colour, width: 1.5},
    hovertemplate: "%{x} %: %{y:.3f} " + channel.unit + "<extra></extra>"}],
    {font: {size: 10}, margin: {l: 36, r: 4, t: 4, b: 24}, height: 110, width: 170, showlegend: false,
     xaxis: {title: {text: "% stance", standoff: 2}, tickfont: {size: 9}}, yaxis: {tickfont: {size: 9}}},
    {displayModeBar: false, staticPlot: true}));
  return a;
}

// A table whose columns sort on click; `filter` adds a text box that hides non-matching rows.
function table(columns, rows, filter) {
  const tbody = el("tbody");
  const fill = list => {
    tbody.replaceChildren(...list.map(r => el("tr", {}, ...columns.map(c => {
      const td = el("td");
      const v = c.value ? c.value(r) : r[c.key];
      if (c.link) td.append(el("a", {href: c.link(r), text: fmt(v, c.digits)})); else td.textContent = fmt(v, c.digits);
      return td;
    }))));
  };
  let shown = rows.slice(), sortKey = null, asc = true;
  const head = el("tr", {}, ...columns.map(c => el("th", {text: c.title, title: "click to sort", on: {click: () => {
    asc = sortKey === c.key ? !asc : true; sortKey = c.key;
    const get = r => c.value ? c.value(r) : r[c.key];
    shown.sort((a, b) => { const x = get(a), y = get(b);
      if (x === y) return 0; if (x === null || x === undefined) return 1; if (y === null || y === undefined) return -1;
      return (x < y ? -1 : 1) * (asc ? 1 : -1); });
    fill(shown);
  }}})));
  fill(shown);
  const t = el("table", {}, el("thead", {}, head), tbody);
  if (!filter) return t;
  const box = el("input", {type: "search", placeholder: filter, class: "filter", on: {input: e => {
    const q = e.target.value.toLowerCase();
    shown = rows.filter(r => columns.some(c => String(c.value ? c.value(r) : r[c.key]).toLowerCase().includes(q)));
    fill(shown);
  }}});
  return el("div", {}, box, t);
}

function keyValues(obj) {
  return el("table", {class: "kv"}, el("tbody", {}, ...Object.entries(obj).filter(([, v]) => v !== null && v !== "")
    .map(([k, v]) => el("tr", {}, el("th", {text: k}), el("td", {text: fmt(v, 4)})))));
}

function synthetic(run) {
  return run.synthetic ? el("p", {class: "warn", text: "SYNTHETIC phantom data: no real participant or patient."}) : null;
}

const featureLink = (run, j) => `/runs/${enc(run)}/features/${j}`;
const stanceLink = (run, s) => `/runs/${enc(run)}/stances/${s}`;
const subjectLink = (run, s) => `/runs/${enc(run)}/subjects/${enc(s)}`;
const courseLink = (run, s) => `/runs/${enc(run)}/subjects/${enc(s)}/course`;

// -- pages ---------------------------------------------------------------------------------------
async function overview(main) {
  const {runs} = await api("/api/runs");
  for (const run of runs) {
    const m = run.metrics || {};
    const s = section(`run ${run.name} (${run.model})`, synthetic(run),
      el("p", {text: `${run.n_stances} stances of ${run.n_subjects} subjects · ${run.n_latents} features · ` +
        `test FVU ${fmt(m.fvu)} · L0 ${fmt(m.l0)} · dead ${fmt(m.dead_fraction)}`}),
      el("p", {}, el("a", {href: `/runs/${enc(run.name)}/search`, text: "search stances, subjects and features"})));
    main.append(s);
    const {features, kinds} = await api(`/api/runs/${enc(run.name)}/features`);
    const columns = [
      {key: "latent", title: "feature", link: r => featureLink(run.name, r.latent)},
      {key: "kind", title: "kind"}, {key: "column", title: "column"},
      {key: "name", title: "name (largest effects at a typical activation)"},
      {key: "firing_rate", title: "firing share"},
      {key: "bimodality", title: "bimodality"},
      {key: "subject_share", title: "between-subject share"},
      {key: "importance", title: "importance"},
      {key: "typical_activation", title: "typical activation"},
      {key: "best_variable", title: "strongest metadata"},
      {key: "best_r", title: "r (signed, subject means)"},
    ];
    const holder = el("div", {}, table(columns, features, "filter features (name, metadata, number…)"));
    // Scaffold axes (dense: normal variation) and sparse features: list one kind or both.
    const pick = el("select", {class: "kind-filter", title: "feature kind", on: {change: async e => {
      const kind = e.target.value;
      const shown = kind ? (await api(`/api/runs/${enc(run.name)}/features?kind=${enc(kind)}`)).features : features;
      holder.replaceChildren(table(columns, shown, "filter features (name, metadata, number…)"));
    }}}, el("option", {value: "", text: "every kind"}),
      ...kinds.map(k => el("option", {value: k, text: k === "scaffold" ? "scaffold axes" : "sparse features"})));
    s.append(kinds.length > 1 ? el("p", {}, "show ", pick) : null, holder);
  }
}

async function feature(main, run, latent) {
  const d = await api(`/api/runs/${enc(run)}/features/${latent}`);
  const s = d.summary, ch = d.run.channels;
  main.append(synthetic(d.run), el("p", {class: "feature-kind", id: "kind", text: s.kind === "scaffold" ?
      `scaffold axis ${s.column}: dense, coded on every stance (normal variation such as speed or body size)` :
      `sparse feature ${s.column}`}), el("p", {class: "feature-name", text: s.name}),
    s.signature ? el("p", {class: "warn", id: "signature", text: `${s.signature}: its top stances show people more than a gait pattern`}) : null,
    el("p", {text: `firing share ${fmt(s.firing_rate)} · bimodality ${fmt(s.bimodality)} · between-subject share ` +
    `${fmt(s.subject_share)} · importance ${fmt(s.importance)} · typical activation ${fmt(s.typical_activation)} · ` +
    `strongest metadata ${s.best_variable || "–"} (r ${fmt(s.best_r)} over subjects' means)`}));
  const eff = section(`what feature ${latent} does (mean stance, and mean stance + typical activation × direction)`);
  const grid = el("div", {class: "grid"});
  eff.append(grid);
  main.append(eff);
  ch.forEach((c, i) => plot(grid, [
    {x: X, y: d.effect.mean[i], mode: "lines", name: "mean stance", line: {color: "#888", dash: "dash"}},
    {x: X, y: d.effect.with_feature[i], mode: "lines", name: `+ ${fmt(d.effect.typical_activation)} × feature ${latent}`,
     line: {color: c.colour, width: 2.5}},
  ], layout("% stance", yLabel(c), {title: {text: c.description}})));
  const h = d.histogram;
  if (h.n_active > 0) {
    const hs = section(`activations (${h.n_active} active, ${h.n_silent} silent stances)`);
    main.append(hs);
    plot(hs, [{type: "bar", x: h.edges.slice(0, -1).map((e, i) => (e + h.edges[i + 1]) / 2), y: h.counts,
      marker: {color: "#4477aa"}, name: "stances"}], layout("activation", "stances", {showlegend: false}));
  }
  const nTop = new Set(d.top.map(x => x.subject)).size;
  for (const [title, list] of [[`top activating stances (at most ${d.per_subject} per subject; ${nTop} subjects)`, d.top],
                               ["stances sampled across activation quantiles", d.samples]]) {
    if (!list.length) continue;
    main.append(section(`${title} (${ch[0].name}, ${ch[0].unit})`,
      el("div", {class: "cards"}, ...list.map(x => card(run, x, ch[0],
        `${x.subject}${x.class ? " · " + x.class : ""} · ${x.side} · ${fmt(x.value)}`)))));
  }
  if (d.correlations.length) main.append(section("metadata correlations (Pearson r over subjects' means, as in the report)",
    table([{key: "label", title: "variable"}, {key: "level", title: "level"}, {key: "n", title: "n"}, {key: "r", title: "r"}], d.correlations)));
  const sim = section("most similar features (decoder cosine, channels scaled by their SD)");
  for (const group of d.similar) {
    sim.append(el("h3", {text: group.run === run ? `in this run (${run})` : `in run ${group.run}`}),
      table([{key: "latent", title: "feature", link: r => featureLink(group.run, r.latent)}, {key: "cosine", title: "cosine"},
             {key: "name", title: "name"}], group.features));
  }
  main.append(sim);
}

async function stance(main, run, id) {
  const d = await api(`/api/runs/${enc(run)}/stances/${id}`);
  const m = d.metadata, ch = d.run.channels;
  main.append(synthetic(d.run), el("p", {}, "subject ", el("a", {href: subjectLink(run, m.subject), text: m.subject}),
    ` · session ${m.session} · trial ${m.trial_id} · ${m.side} · ${m.class || ""} · reconstruction FVU ${fmt(d.error.fvu)}`));
  const curves = section(`curves over the norm band (mean ± 2 SD of ${d.norm.reference}) and the reconstruction`);
  const grid = el("div", {class: "grid"});
  curves.append(grid);
  main.append(curves);
  ch.forEach((c, i) => plot(grid, [
    ...band(d.norm.mean[i], d.norm.sd[i], "norm ± 2 SD"),
    {x: X, y: d.curves[i], mode: "lines", name: "this stance", line: {color: c.colour, width: 2.5}},
    {x: X, y: d.reconstruction[i], mode: "lines", name: "reconstruction", line: {color: "#222", width: 1.5, dash: "dash"}},
  ], layout("% stance", yLabel(c), {title: {text: c.description}})));
  const whatIfBox = el("div", {id: "whatif"});
  main.append(whatIfBox);  // filled last (whatIf below), so the rest of the page does not wait for it
  const feats = section(`active features (${d.features.length}) and their contributions (activation × direction, RMS per channel)`);
  main.append(feats);  // in the page before plotting, so plots take the grid's width
  feats.append(table([
    {key: "latent", title: "feature", link: r => featureLink(run, r.latent)},
    {key: "kind", title: "kind"}, {key: "activation", title: "activation"}, {key: "name", title: "name"},
    ...ch.map((c, i) => ({key: `rms_${c.name}`, title: `${c.name} (${c.unit})`, value: r => r.rms[i]})),
  ], d.features));
  if (d.contributions.length) {
    const cg = el("div", {class: "grid"});
    feats.append(el("h3", {text: "contribution curves of the strongest features"}), cg);
    ch.forEach((c, i) => plot(cg, d.contributions.map(f => ({x: X, y: f.curves[i], mode: "lines", name: `feature ${f.latent}`})),
      layout("% stance", `Δ ${yLabel(c)}`, {title: {text: c.name}})));
  }
  for (const extra of d.sections) extraSection(main, extra);
  const akinSection = section("akin gaits: nearest stances in latent space (cosine)");
  const k = el("input", {type: "number", min: "1", max: "500", value: "10", id: "akin-k"});
  const leave = el("input", {type: "checkbox", id: "akin-leave-subject"});
  const out = el("div", {id: "akin"});
  const load = async () => {
    const a = await api(`/api/runs/${enc(run)}/stances/${id}/akin?k=${enc(k.value)}&leave_out=${leave.checked ? "subject" : "stance"}`);
    out.replaceChildren();
    plot(out, [{x: X, y: a.query_curve, mode: "lines", name: `stance ${id}`, line: {color: "#000", width: 3}},
      ...a.neighbours.map(n => ({x: X, y: n.curve, mode: "lines", name: `${n.stance} (${fmt(n.similarity)})`, line: {width: 1}, opacity: 0.7}))],
      layout("% stance", yLabel(a.channel)));
    out.append(table([
      {key: "stance", title: "stance", link: r => stanceLink(run, r.stance)},
      {key: "subject", title: "subject", link: r => subjectLink(run, r.subject)},
      {key: "side", title: "side"}, {key: "class", title: "class"}, {key: "similarity", title: "cosine"},
      {key: "shared", title: "shared features", value: r => r.shared_features.join(", ")},
    ], a.neighbours));
    out.dataset.leaveOut = a.leave_out;  // lets a test (or a user script) know which list is shown
  };
  akinSection.append(el("form", {class: "inline", on: {submit: e => { e.preventDefault(); load(); }}},
    el("label", {}, "k ", k), el("label", {}, leave, " leave out the same subject"), el("button", {type: "submit", text: "find"})), out);
  main.append(akinSection, section("metadata", keyValues(m)));
  leave.addEventListener("change", load);
  await load();
  await whatIf(whatIfBox, run, id);
}

function extraSection(main, extra) {
  const s = section(extra.title);
  main.append(s);
  if (extra.note) s.append(el("p", {text: extra.note}));
  if (extra.bars && extra.bars.labels.length)
    plot(s, [{type: "bar", x: extra.bars.labels, y: extra.bars.values, marker: {color: "#4477aa"}}],
      layout("", extra.bars.unit || "", {showlegend: false}));
  if (extra.rows && extra.rows.length)
    s.append(table(Object.keys(extra.rows[0]).map(k => ({key: k, title: k})), extra.rows));
}

async function subject(main, run, name) {
  const d = await api(`/api/runs/${enc(run)}/subjects/${enc(name)}`);
  const ch = d.run.channels;
  main.append(synthetic(d.run), el("p", {}, el("a", {href: courseLink(run, name), id: "course-link",
    text: `course over ${d.n_sessions} session(s): deviation index, affected side, the features that move`})),
    section("person", keyValues(d.person)));
  const sides = Object.keys(d.sides);
  const curves = section(`mean curves per side (${sides.map(s => `${s}: ${d.sides[s].n}`).join(", ")} stances) over the norm band (${d.norm.reference})`);
  const grid = el("div", {class: "grid"});
  curves.append(grid);
  main.append(curves);
  const dash = {left: "solid", right: "dash"};
  ch.forEach((c, i) => plot(grid, [...band(d.norm.mean[i], d.norm.sd[i], "norm ± 2 SD"),
    ...sides.map(s => ({x: X, y: d.sides[s].mean[i], mode: "lines", name: `${s} mean`, line: {color: c.colour, width: 2, dash: dash[s]}}))],
    layout("% stance", yLabel(c), {title: {text: c.description}})));
  main.append(section(`${d.n_sessions} sessions, ${d.stances.length} stances`, table([
    {key: "stance", title: "stance", link: r => stanceLink(run, r.stance)},
    {key: "session", title: "session"}, {key: "trial_id", title: "trial"}, {key: "side", title: "side"},
    {key: "session_date", title: "date"}, {key: "class", title: "class"}, {key: "speed_condition", title: "speed"},
    {key: "walking_speed_m_per_s", title: "speed (m/s)"}, {key: "split", title: "split"}, {key: "fvu", title: "recon. FVU"},
  ], d.stances, "filter stances")));
}

// -- a subject's course and the stance page's what-if (docs/clinical.md) -------------------------------
const ROLE_STYLE = {affected: {color: "#D55E00", symbol: "circle"}, unaffected: {color: "#0072B2", symbol: "square"},
                    "": {color: "#333", symbol: "circle"}};

async function course(main, run, name) {
  const d = await api(`/api/runs/${enc(run)}/subjects/${enc(name)}/course`);
  main.append(synthetic(d.run), el("p", {}, "subject ", el("a", {href: subjectLink(run, name), text: name})));
  if (!d.available) { main.append(el("p", {class: "warn", id: "course-note", text: d.note})); return; }
  const p = d.person;
  main.append(el("p", {text: `class ${p.class_label || "–"} · affected side ${p.affected_side || "–"} · ${p.n_sessions} session(s)`}));
  if (d.note) main.append(el("p", {class: "note", id: "course-note", text: d.note}));
  const ticks = d.sessions.map(s => s.order), labels = d.sessions.map(s => `${s.order}: ${s.type}`);
  const traces = [];
  const groups = {};
  for (const r of d.sides) (groups[`${r.role}|${r.side}`] = groups[`${r.role}|${r.side}`] || []).push(r);
  for (const [key, rows] of Object.entries(groups)) {
    const [role, side] = key.split("|"), st = ROLE_STYLE[role] || ROLE_STYLE[""];
    const shift = side === "right" ? 0.06 : -0.06;
    traces.push({x: rows.map(r => r.order + shift), y: rows.map(r => r.index), mode: "lines+markers",
      name: role ? `${role} side (${side})` : side, marker: {color: st.color, symbol: st.symbol, size: 8},
      line: {color: st.color, dash: side === "right" ? "dash" : "solid"},
      error_y: {type: "data", symmetric: false, array: rows.map(r => r.high === null ? 0 : r.high - r.index),
                arrayminus: rows.map(r => r.low === null ? 0 : r.index - r.low), color: st.color},
      hovertemplate: "session %{x:.0f}: index %{y:.1f}<extra></extra>"});
  }
  const shapes = d.band[0] === null ? [] : [{type: "rect", xref: "paper", x0: 0, x1: 1, y0: d.band[0], y1: d.band[1],
    fillcolor: "rgba(120,120,120,0.2)", line: {width: 0}, layer: "below"}];
  const idx = section(`deviation index per session (95 % interval over trials) over the healthy band` +
    (d.band[0] === null ? "" : ` (${fmt(d.band[0], 3)}–${fmt(d.band[1], 3)}: reference sessions 5–95 %)`));
  main.append(idx);
  plot(idx, traces, layout("session", "index (100 = healthy mean)", {shapes,
    xaxis: {title: {text: "session"}, tickvals: ticks, ticktext: labels, zeroline: false}}), "plot course-index");
  idx.append(table([{key: "order", title: "session"}, {key: "type", title: "type"}, {key: "session_date", title: "date"},
    {key: "index", title: "index"}, {key: "low", title: "95 % low"}, {key: "high", title: "95 % high"},
    {key: "n_trials", title: "trials"}, {key: "sides", title: "side(s)"}], d.sessions));
  const byFeature = {};
  for (const r of d.features) (byFeature[r.feature] = byFeature[r.feature] || []).push(r);
  const fs = section("the sparse features that move most (their effect at the point of stance where they act most, change since session 1)");
  const grid = el("div", {class: "grid"});
  fs.append(grid);
  main.append(fs);
  const colour = Object.fromEntries(d.run.channels.map(c => [c.name, c.colour]));
  for (const [j, rows] of Object.entries(byFeature)) {
    const r = rows[0];
    plot(grid, [{x: rows.map(q => q.order), y: rows.map(q => q.change_since_first), mode: "lines+markers",
      name: `feature ${j}`, line: {color: colour[r.channel]}}],
      layout("session", `Δ ${r.channel} (${r.unit})`, {showlegend: false, title: {text: `feature ${j} (${r.column}): ${r.channel} at ${r.percent_stance} % of stance`},
        xaxis: {title: {text: "session"}, tickvals: ticks, zeroline: false}}));
  }
  if (!d.features.length) fs.append(el("p", {text: "no sparse feature moves over these sessions"}));
}

async function whatIf(box, run, id) {
  const d = await api(`/api/runs/${enc(run)}/stances/${id}/whatif`);
  const ch = d.run.channels, sliders = d.sliders;
  const values = sliders.map(f => f.value);
  const s = section("what if: move a feature (curves redrawn in the browser from the feature directions)");
  box.append(s);
  const info = el("p", {id: "whatif-index"});
  const bandText = d.band ? ` (healthy band ${fmt(d.band[0], 3)}–${fmt(d.band[1], 3)})` : "";
  const showIndex = changed => {
    info.textContent = d.index === null ? (d.note || "no deviation index") :
      `deviation index: this stance ${fmt(d.index, 4)} · with your changes ${fmt(changed, 4)}${bandText}`;
  };
  showIndex(d.index);
  s.append(info);
  const controls = el("div", {class: "sliders"});
  s.append(controls);
  const grid = el("div", {class: "grid", id: "whatif-plots"});
  grid.dataset.updates = "0";
  s.append(grid);
  const changedCurve = i => {
    const y = d.curves[i].slice();
    sliders.forEach((f, k) => { const delta = values[k] - f.value;
      if (delta !== 0) { const dir = f.direction[i]; for (let t = 0; t < y.length; t++) y[t] += delta * dir[t]; } });
    return y;
  };
  // fixed y ranges (widened only when a curve leaves them): a restyle then redraws one trace, not the axes
  const span = ys => { const lo = Math.min(...ys.flat()), hi = Math.max(...ys.flat()), pad = 0.15 * (hi - lo || 1);
    return [lo - pad, hi + pad]; };
  const ranges = ch.map((c, i) => span([d.curves[i], ...(d.toward_healthy ? [d.toward_healthy.curves[i]] : [])]));
  const divs = ch.map((c, i) => plot(grid, [
    {x: X, y: d.curves[i], mode: "lines", name: "this stance", line: {color: "#999", width: 1.5}},
    {x: X, y: changedCurve(i), mode: "lines", name: "what if", line: {color: c.colour, width: 2.5}},
    {x: X, y: d.toward_healthy ? d.toward_healthy.curves[i] : d.curves[i], mode: "lines", name: "toward healthy",
     line: {color: "#000", width: 1.8, dash: "dot"}, visible: false},
  ], layout("% stance", yLabel(c), {title: {text: c.description},
    yaxis: {title: {text: yLabel(c)}, zeroline: false, range: ranges[i].slice(), autorange: false}})));
  let timer = null;
  const askIndex = () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const set = sliders.map((f, k) => values[k] !== f.value ? `${f.latent}:${values[k]}` : null).filter(x => x).join(",");
      if (!set || d.index === null) { showIndex(d.index); return; }
      const r = await api(`/api/runs/${enc(run)}/stances/${id}/whatif?set=${enc(set)}`);
      showIndex(r.index);
      info.dataset.set = set;
    }, 150);
  };
  const redraw = async () => {
    const t0 = performance.now();
    await Promise.all(divs.map((div, i) => {
      const y = changedCurve(i), r = ranges[i];
      const lo = Math.min(...y), hi = Math.max(...y);
      if (lo >= r[0] && hi <= r[1]) return Plotly.restyle(div, {y: [y]}, [1]);
      ranges[i] = span([[r[0], r[1]], y]);
      return Plotly.update(div, {y: [y]}, {"yaxis.range": ranges[i].slice()}, [1]);
    }));
    await new Promise(r => requestAnimationFrame(() => r()));  // until the frame is painted
    grid.dataset.updateMs = String(performance.now() - t0);
    grid.dataset.updates = String(Number(grid.dataset.updates) + 1);
    askIndex();
  };
  const inputs = sliders.map((f, k) => {
    const out = el("output", {text: fmt(f.value)});
    const input = el("input", {type: "range", min: String(f.min), max: String(f.max), step: String((f.max - f.min) / 400 || 0.001),
      value: String(f.value), id: `slider-${f.latent}`, "data-latent": String(f.latent),
      on: {input: e => { values[k] = Number(e.target.value); out.textContent = fmt(values[k]); redraw(); }}});
    controls.append(el("label", {class: "slider"}, el("a", {href: featureLink(run, f.latent), text: `feature ${f.latent}`}),
      ` ${f.column} (${f.kind}) `, input, " ", out));
    return [input, out];
  });
  if (!sliders.length) controls.append(el("p", {text: "no active sparse feature and no scaffold axis on this stance"}));
  const buttons = el("p", {});
  buttons.append(el("button", {type: "button", id: "whatif-reset", text: "reset", on: {click: () => {
    sliders.forEach((f, k) => { values[k] = f.value; inputs[k][0].value = String(f.value); inputs[k][1].textContent = fmt(f.value); });
    redraw(); }}}));
  if (d.toward_healthy) {
    const th = el("p", {id: "toward-healthy-result"});
    buttons.append(" ", el("button", {type: "button", id: "toward-healthy", text: "Toward healthy", on: {click: async () => {
      await Promise.all(divs.map(div => Plotly.restyle(div, {visible: [true]}, [2])));
      const t = d.toward_healthy;
      th.textContent = `toward healthy: index ${fmt(t.index, 4)} (this stance ${fmt(d.index, 4)})${bandText}; ` +
        (t.changes.length ? t.changes.map(c => `feature ${c.latent} ${fmt(c.from)} → ${fmt(c.to)}`).join(", ")
                          : "no sparse feature deviates (|z| > 2): nothing to change");
      th.dataset.index = String(t.index);
    }}}));
    s.append(buttons, th);
  } else s.append(buttons);
}

const SEARCH_FIELDS = [
  ["subject", "subject (e.g. gutenberg:12)", "text"], ["session", "session", "text"], ["trial", "trial", "number"],
  ["side", "side (left/right)", "text"], ["sex", "sex (female/male)", "text"], ["class", "class (code HC, H, K, A, C or its name, e.g. healthy control)", "text"],
  ["age_min", "age ≥", "number"], ["age_max", "age ≤", "number"], ["speed_min", "speed ≥ (m/s)", "number"],
  ["speed_max", "speed ≤ (m/s)", "number"], ["feature", "feature N", "number"], ["above", "activation > x", "number"],
];

async function search(main, run) {
  const params = new URLSearchParams(location.search);
  const form = el("form", {class: "search", id: "search-form"});
  for (const [name, label, type] of SEARCH_FIELDS)
    form.append(el("label", {}, label + " ", el("input", {name, type, step: "any", value: params.get(name) || ""})));
  form.append(el("button", {type: "submit", text: "search"}));
  const out = el("div", {id: "results"});
  main.append(section("find stances", form), out);
  const query = new URLSearchParams();
  for (const [name] of SEARCH_FIELDS) if (params.get(name)) query.set(name, params.get(name));
  if (![...query.keys()].length) return;
  try {
    const d = await api(`/api/runs/${enc(run)}/search?${query}`);
    const cols = Object.keys(d.stances[0] || {stance: 0}).map(k => k === "stance" ? {key: k, title: k, link: r => stanceLink(run, r.stance)}
      : k === "subject" ? {key: k, title: k, link: r => subjectLink(run, r.subject)} : {key: k, title: k});
    const order = query.get("feature") ? `strongest activation of feature ${query.get("feature")} first` : "by stance id";
    out.append(section(`${d.total} stances match (showing ${d.stances.length}, ${order})`,
      el("p", {}, el("a", {id: "csv-download", href: `/api/runs/${enc(run)}/search.csv?${query}`,
        text: `download all ${d.total} as CSV`})),
      table(cols, d.stances, "filter results")));
  } catch (e) {
    out.append(el("p", {class: "warn", text: e.message}));
  }
}

document.addEventListener("DOMContentLoaded", async () => {
  const main = document.getElementById("page");
  const {page, run, item} = main.dataset;
  try {
    if (page === "overview") await overview(main);
    else if (page === "feature") await feature(main, run, item);
    else if (page === "stance") await stance(main, run, item);
    else if (page === "subject") await subject(main, run, item);
    else if (page === "search") await search(main, run);
    else if (page === "course") await course(main, run, item);
  } catch (e) {
    main.append(el("p", {class: "warn", text: `could not load: ${e.message}`}));
  }
  main.querySelector(".loading").remove();
  main.dataset.ready = "true";
});
