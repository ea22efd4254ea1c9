// Journey canvas: draws a journey definition (docs/journeys.md) as SVG steps and arrows, edits
// it (palette, drag to place and move, connect ports, side panel), validates it live, saves,
// publishes, and overlays live and simulated per-step counts. No build step, no libraries.
(() => {
  "use strict";

  const host = document.getElementById("journey-canvas");
  if (!host) return;

  const initial = JSON.parse(document.getElementById("canvas-initial").textContent);
  const urls = initial.urls;
  const csrf = host.querySelector("input[name=csrf_token]").value;
  const svg = document.getElementById("canvas-svg");
  const paletteEl = document.getElementById("canvas-palette");
  const panelEl = document.getElementById("canvas-panel");
  const problemsEl = document.getElementById("canvas-problems");
  const checkEl = document.getElementById("canvas-check");
  const statusEl = document.getElementById("canvas-status");
  const messageEl = document.getElementById("canvas-message");
  const simEl = document.getElementById("canvas-simulation");
  const summaryEl = document.getElementById("canvas-summary");

  const SVG_NS = "http://www.w3.org/2000/svg";
  const NODE_W = 190;
  const HEAD_H = 42;
  const PORT_H = 18;
  const DEBOUNCE_MS = 400;
  const COUNTS_EVERY_MS = 10000;
  const ID_PATTERN = /^[a-z0-9_-]{1,16}$/;
  const OPS = ["eq", "ne", "gt", "gte", "lt", "lte", "in", "contains", "exists"];
  const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
  const CHANNELS = [["email", "Email"], ["sms", "SMS"], ["social", "Social"]];

  // Every step type: palette group, label, id prefix and the fields a new step starts with.
  const TYPES = {
    entry_segment: ["Entry", "Joins a segment", "entry", {}],
    entry_event: ["Entry", "Performs an event", "entry", { filters: [] }],
    entry_recurring: ["Entry", "Recurring audience", "entry",
      { schedule: { every_days: 7, at: "09:00", time_zone: "UTC" } }],
    entry_api: ["Entry", "Added by the API", "entry", {}],
    send: ["Messages", "Send a message", "send", { channel: "email" }],
    delay: ["Waits", "Delay", "delay", { duration: { days: 1 } }],
    wait_until_time: ["Waits", "Wait until a time", "wait", { time: "09:00", weekdays: [] }],
    wait_until_date: ["Waits", "Wait until a date", "wait",
      { attribute: "birth_date", days_before: 0, yearly: true, time: "09:00" }],
    wait_for_event: ["Waits", "Wait for an event", "wait", { filters: [], timeout: { days: 3 } }],
    wait_for_segment: ["Waits", "Wait for a segment", "wait", { timeout: { days: 3 } }],
    wait_for_engagement: ["Waits", "Wait for an open / click", "wait",
      { action: "opened", timeout: { days: 3 } }],
    condition_split: ["Splits", "Condition split", "split",
      { branches: [{ name: "yes", conditions: [{ type: "attribute", attribute: "country", op: "eq", value: "GB" }] }] }],
    random_split: ["Splits", "Random split", "split",
      { branches: [{ name: "a", percent: 50 }, { name: "b", percent: 50 }] }],
    uplift_split: ["Splits", "Uplift split", "split", { mode: "threshold", value: 0, fallback: "send" }],
    update_profile: ["Actions", "Update profile", "action", { attributes: {} }],
    update_consent: ["Actions", "Update consent", "action",
      { channel: "email", purpose: "marketing", state: "opted_out" }],
    update_list: ["Actions", "Add to / remove from a list", "action", { action: "add" }],
    webhook: ["Actions", "Webhook", "action", { payload: {}, timeout_seconds: 10, retries: 2 }],
    goal: ["End", "Goal (conversion)", "goal", { filters: [] }],
    exit: ["End", "Exit", "exit", {}],
  };
  const GROUPS = ["Entry", "Messages", "Waits", "Splits", "Actions", "End"];

  let definition = initial.journey.definition || {};
  let journey = initial.journey;
  let problems = [];
  let selected = null; // {kind: "node", id} | {kind: "edge", from, port} | null
  let dirty = false;
  let timer = null;
  let sequence = 0;
  let live = null; // {node_id: {entered, waiting, left, exited, converted}}
  let simulated = null; // SimulationResult JSON
  let gesture = null; // the drag in progress

  definition.nodes = Array.isArray(definition.nodes) ? definition.nodes : [];
  definition.settings = definition.settings && typeof definition.settings === "object" ? definition.settings : {};

  // --- small DOM helpers ------------------------------------------------------------------

  function h(tag, props, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") el.className = value;
      else if (key === "text") el.textContent = value;
      else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
      else el.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat(Infinity)) {
      if (child !== null && child !== undefined && child !== false) el.append(child);
    }
    return el;
  }

  function s(tag, attrs, ...children) {
    const el = document.createElementNS(SVG_NS, tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "text") el.textContent = value;
      else el.setAttribute(key, String(value));
    }
    for (const child of children.flat(Infinity)) if (child) el.append(child);
    return el;
  }

  function choose(options, current, onChange, props) {
    const el = h("select", props);
    let found = false;
    for (const [value, label] of options) {
      el.append(h("option", { value: String(value), text: label }));
      found = found || String(value) === String(current ?? "");
    }
    if (!found && current !== undefined && current !== null && current !== "") {
      el.append(h("option", { value: String(current), text: `${current} (unknown)` }));
    }
    el.value = current === undefined || current === null ? "" : String(current);
    el.addEventListener("change", () => onChange(el.value));
    return el;
  }

  function input(type, value, onInput, props) {
    const el = h("input", Object.assign({ type }, props));
    if (type === "checkbox") {
      el.checked = Boolean(value);
      el.addEventListener("change", () => onInput(el.checked));
    } else {
      el.value = value === undefined || value === null ? "" : String(value);
      el.addEventListener("input", () => onInput(el.value));
    }
    return el;
  }

  function row(label, control, hint) {
    const id = `f-${Math.random().toString(36).slice(2, 9)}`;
    const target = control.matches && control.matches("input, select, textarea") ? control : null;
    if (target) target.id = id;
    return h("div", { class: "jc-field" },
      h("label", { for: target ? id : null, text: label }), control,
      hint ? h("small", { class: "count", text: hint }) : null);
  }

  function setOptional(target, key, value) {
    if (value === null || value === undefined || value === "" || Number.isNaN(value)) delete target[key];
    else target[key] = value;
  }

  function numberOr(text, fallback) {
    const trimmed = String(text).trim();
    if (trimmed === "") return fallback;
    const number = Number(trimmed);
    return Number.isNaN(number) ? trimmed : number;
  }

  function scalar(text) {
    const trimmed = String(text).trim();
    if (trimmed === "true") return true;
    if (trimmed === "false") return false;
    if (trimmed === "null") return null;
    if (trimmed !== "" && !Number.isNaN(Number(trimmed))) return Number(trimmed);
    return text;
  }

  function shown(value) {
    if (Array.isArray(value)) return value.join(", ");
    return value === undefined || value === null ? "" : String(value);
  }

  // --- the definition ---------------------------------------------------------------------

  function nodeById(id) {
    return definition.nodes.find((n) => n.id === id);
  }

  function typeLabel(type) {
    return TYPES[type] ? TYPES[type][1] : `Unknown step (${type})`;
  }

  function isEntry(node) {
    return String(node.type || "").startsWith("entry_");
  }

  // The ways out of a step, as exits_of in journeys/nodes.py: [{key, label, get, set}].
  function portsOf(node) {
    const field = (key, label) => ({
      key, label: label || key,
      get: () => node[key] ?? null,
      set: (target) => setOptional(node, key, target),
    });
    const branch = (b, i, label) => ({
      key: `branches.${i}`, label,
      get: () => b.next ?? null,
      set: (target) => setOptional(b, "next", target),
    });
    const branches = Array.isArray(node.branches) ? node.branches : [];
    switch (node.type) {
      case "wait_until_date": return [field("next"), field("missing")];
      case "wait_for_event":
      case "wait_for_segment":
      case "wait_for_engagement": return [field("matched"), field("timed_out", "timed out")];
      case "condition_split":
        return [...branches.map((b, i) => branch(b, i, b.name || `branch ${i + 1}`)), field("else")];
      case "random_split":
        return branches.map((b, i) => branch(b, i, `${b.name || "?"} ${b.percent ?? "?"}%`));
      case "uplift_split": return [field("send"), field("skip")];
      case "goal":
      case "exit": return [];
      default: return [field("next")];
    }
  }

  function freshId(prefix) {
    const taken = new Set(definition.nodes.map((n) => n.id));
    for (let i = 1; ; i += 1) {
      const id = `${prefix}_${i}`;
      if (!taken.has(id)) return id;
    }
  }

  function addNode(type, x, y) {
    const [, , prefix, defaults] = TYPES[type];
    const node = Object.assign({ id: freshId(prefix), type }, JSON.parse(JSON.stringify(defaults)));
    if (type === "wait_for_engagement") {
      const send = definition.nodes.find((n) => n.type === "send");
      if (send) node.send_node = send.id;
    }
    node.position = { x: Math.round(x), y: Math.round(y) };
    definition.nodes.push(node);
    select({ kind: "node", id: node.id });
    changed();
    return node;
  }

  function freeSpot() {
    // The first free cell of a grid, four steps to a row, so clicking the palette lays out.
    const taken = (x, y) => definition.nodes.some((n) => {
      const [nx, ny] = posOf(n);
      return Math.abs(nx - x) < NODE_W && Math.abs(ny - y) < 100;
    });
    for (let i = 0; ; i += 1) {
      const x = 40 + (i % 4) * (NODE_W + 60);
      const y = 40 + Math.floor(i / 4) * 150;
      if (!taken(x, y)) return [x, y];
    }
  }

  function removeNode(id) {
    definition.nodes = definition.nodes.filter((n) => n.id !== id);
    for (const node of definition.nodes) {
      for (const port of portsOf(node)) if (port.get() === id) port.set(null);
    }
    select(null);
    changed();
  }

  function renameNode(node, newId) {
    const old = node.id;
    for (const other of definition.nodes) {
      for (const port of portsOf(other)) if (port.get() === old) port.set(newId);
      if (other.send_node === old) other.send_node = newId;
      for (const b of Array.isArray(other.branches) ? other.branches : []) {
        for (const c of Array.isArray(b.conditions) ? b.conditions : []) {
          if (c.send_node === old) c.send_node = newId;
        }
      }
    }
    node.id = newId;
    if (live && live[old]) live[newId] = live[old];
    selected = { kind: "node", id: newId };
  }

  function connect(fromId, portKey, toId) {
    const node = nodeById(fromId);
    const port = node && portsOf(node).find((p) => p.key === portKey);
    if (!port || fromId === toId) return;
    port.set(toId);
    changed();
    if (selected && selected.kind === "node" && selected.id === fromId) renderPanel();
  }

  // --- drawing ----------------------------------------------------------------------------

  function heightOf(node) {
    return HEAD_H + Math.max(portsOf(node).length, 1) * PORT_H + 6;
  }

  function posOf(node) {
    const p = node.position || {};
    return [Number(p.x) || 0, Number(p.y) || 0];
  }

  function outPoint(node, index) {
    const [x, y] = posOf(node);
    return [x + NODE_W, y + HEAD_H + index * PORT_H + PORT_H / 2];
  }

  function inPoint(node) {
    const [x, y] = posOf(node);
    return [x, y + 20];
  }

  function curve([x1, y1], [x2, y2]) {
    // Arrows going back (to the left) bend less, so they stay on the canvas.
    const bend = x2 < x1 ? 60 : Math.max(40, (x2 - x1) / 2);
    return `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`;
  }

  function summaryOf(node) {
    switch (node.type) {
      case "send": {
        const t = initial.templates.find((x) => x.id === node.template_id);
        if (Array.isArray(node.variants) && node.variants.length) return `${node.channel} · ${node.variants.length} variants`;
        return `${node.channel || "?"} · ${t ? t.name : "no template"}`;
      }
      case "delay":
      case "wait_for_event":
      case "wait_for_engagement": {
        const d = node.duration || node.timeout || {};
        const text = ["days", "hours", "minutes"].filter((k) => d[k]).map((k) => `${d[k]} ${k}`).join(" ");
        const what = node.event_type || (node.send_node ? `${node.action} ${node.send_node}` : "");
        return [what, text && (node.type === "delay" ? text : `≤ ${text}`)].filter(Boolean).join(" · ");
      }
      case "entry_segment":
      case "entry_recurring":
      case "wait_for_segment": {
        const seg = initial.segments.find((x) => x.id === node.segment_id);
        return seg ? seg.name : "no segment";
      }
      case "entry_event":
      case "goal": return node.event_type || "no event";
      case "webhook": return node.url || "no URL";
      case "update_list": return `${node.action} ${node.list_name || "?"}`;
      case "wait_until_time": return `at ${node.time}`;
      default: return "";
    }
  }

  function problemsFor(id) {
    return problems.filter((p) => p.node_id === id);
  }

  function renderCanvas() {
    const nodes = definition.nodes;
    const width = Math.max(1400, ...nodes.map((n) => posOf(n)[0] + NODE_W + 260));
    const height = Math.max(640, ...nodes.map((n) => posOf(n)[1] + heightOf(n) + 160));
    svg.setAttribute("width", width);
    svg.setAttribute("height", height);
    const edges = s("g", { class: "jc-edges" });
    const boxes = s("g", { class: "jc-nodes" });
    for (const node of nodes) {
      portsOf(node).forEach((port, i) => {
        const target = port.get() ? nodeById(port.get()) : null;
        if (!target) return;
        const d = curve(outPoint(node, i), inPoint(target));
        const isSel = selected && selected.kind === "edge" && selected.from === node.id && selected.port === port.key;
        const edge = s("g", { class: `jc-edge${isSel ? " selected" : ""}`, "data-edge": `${node.id}:${port.key}`,
          "data-to": target.id },
        s("path", { d, class: "jc-edge-hit" }),
        s("path", { d, class: "jc-edge-line", "marker-end": "url(#jc-arrow)" }));
        edge.addEventListener("click", (ev) => {
          ev.stopPropagation();
          select({ kind: "edge", from: node.id, port: port.key });
        });
        edges.append(edge);
      });
      boxes.append(renderNode(node));
    }
    const defs = s("defs", {},
      s("marker", { id: "jc-arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto" },
        s("path", { d: "M0,0 L10,5 L0,10 z", class: "jc-arrow" })));
    svg.replaceChildren(defs, edges, boxes, s("path", { id: "jc-rubber", class: "jc-rubber", d: "" }));
    document.getElementById("canvas-empty").hidden = nodes.length > 0;
  }

  function renderNode(node) {
    const [x, y] = posOf(node);
    const ports = portsOf(node);
    const bad = problemsFor(node.id);
    const isSel = selected && selected.kind === "node" && selected.id === node.id;
    const group = (TYPES[node.type] || ["Unknown"])[0].toLowerCase();
    const g = s("g", {
      class: `jc-node jc-${group}${bad.length ? " bad" : ""}${isSel ? " selected" : ""}`,
      transform: `translate(${x},${y})`, "data-node-id": node.id, "data-type": node.type,
      tabindex: 0, role: "button", "aria-label": `${node.label || typeLabel(node.type)} (${node.id})`,
    });
    const hgt = heightOf(node);
    g.append(
      s("rect", { class: "jc-box", width: NODE_W, height: hgt, rx: 6 }),
      s("rect", { class: "jc-band", width: 5, height: hgt, rx: 2 }),
      s("text", { x: 12, y: 17, class: "jc-title", text: clip(node.label || typeLabel(node.type), 24) }),
      s("text", { x: 12, y: 33, class: "jc-sub", text: clip([node.id, summaryOf(node)].filter(Boolean).join(" · "), 32) }),
    );
    if (bad.length) {
      g.append(s("title", { text: bad.map((p) => p.message).join("\n") }),
        s("text", { x: NODE_W - 16, y: 17, class: "jc-mark", text: "!" }));
    }
    if (!isEntry(node)) g.append(s("circle", { class: "jc-in", cx: 0, cy: 20, r: 5 }));
    ports.forEach((port, i) => {
      const [, py] = outPoint(node, i);
      const cy = py - y;
      g.append(
        s("text", { x: NODE_W - 12, y: cy + 4, class: "jc-port-label", "text-anchor": "end", text: clip(port.label, 22) }),
        s("circle", { class: `jc-out${port.get() ? " linked" : ""}`, cx: NODE_W, cy, r: 6,
          "data-port": `${node.id}:${port.key}`, "aria-label": `${node.id} ${port.label}` }));
    });
    const badges = badgeLines(node);
    badges.forEach((line, i) => {
      g.append(s("text", { x: 6, y: hgt + 14 + i * 14, class: `jc-badge ${line[0]}`, "data-badge": line[0], text: line[1] }));
    });
    return g;
  }

  function badgeLines(node) {
    const lines = [];
    const c = live && live[node.id];
    if (c) {
      const parts = [`${c.entered} entered`, `${c.waiting} waiting`];
      if (c.converted) parts.push(`${c.converted} converted`);
      lines.push(["live", parts.join(" · ")]);
    }
    const sim = simulated && simulated.nodes && simulated.nodes[node.id];
    if (sim) {
      const parts = [`sim ${sim.entered} entered`];
      if (sim.waiting) parts.push(`${sim.waiting} waiting`);
      const sent = simulated.sends && simulated.sends[node.id];
      if (sent) parts.push(`${sent} sent`);
      const goals = simulated.goals && simulated.goals[node.id];
      if (goals) parts.push(`${goals} converted`);
      lines.push(["sim", parts.join(" · ")]);
    }
    return lines;
  }

  function clip(text, n) {
    const str = String(text);
    return str.length > n ? `${str.slice(0, n - 1)}…` : str;
  }

  // --- pointer gestures: place from the palette, move steps, connect ports ----------------

  function svgPoint(ev) {
    const pt = svg.createSVGPoint();
    pt.x = ev.clientX;
    pt.y = ev.clientY;
    const m = svg.getScreenCTM();
    const p = m ? pt.matrixTransform(m.inverse()) : pt;
    return [p.x, p.y];
  }

  function overCanvas(ev) {
    const r = svg.getBoundingClientRect();
    return ev.clientX >= r.left && ev.clientX <= r.right && ev.clientY >= r.top && ev.clientY <= r.bottom;
  }

  function nodeUnder(ev) {
    const el = document.elementFromPoint(ev.clientX, ev.clientY);
    const g = el && el.closest && el.closest("[data-node-id]");
    return g ? g.getAttribute("data-node-id") : null;
  }

  svg.addEventListener("pointerdown", (ev) => {
    if (ev.button !== 0) return;
    const port = ev.target.closest("[data-port]");
    if (port) {
      ev.preventDefault();
      const [from, key] = port.getAttribute("data-port").split(/:(.*)/s);
      gesture = { kind: "connect", from, key, start: svgPoint(ev) };
      return;
    }
    const g = ev.target.closest("[data-node-id]");
    if (g) {
      ev.preventDefault();
      const node = nodeById(g.getAttribute("data-node-id"));
      const [px, py] = svgPoint(ev);
      const [x, y] = posOf(node);
      gesture = { kind: "move", node, dx: px - x, dy: py - y, sx: ev.clientX, sy: ev.clientY, moved: false };
    }
  });

  svg.addEventListener("click", (ev) => {
    if (ev.target === svg) select(null);
  });

  function startPlacing(ev, type) {
    if (ev.button !== 0) return;
    gesture = { kind: "place", type, sx: ev.clientX, sy: ev.clientY, ghost: null };
  }

  window.addEventListener("pointermove", (ev) => {
    if (!gesture) return;
    if (gesture.kind === "move") {
      if (!gesture.moved && Math.hypot(ev.clientX - gesture.sx, ev.clientY - gesture.sy) < 4) return;
      gesture.moved = true;
      const [px, py] = svgPoint(ev);
      gesture.node.position = { x: Math.max(0, Math.round(px - gesture.dx)), y: Math.max(0, Math.round(py - gesture.dy)) };
      renderCanvas();
    } else if (gesture.kind === "connect") {
      const node = nodeById(gesture.from);
      const index = portsOf(node).findIndex((p) => p.key === gesture.key);
      const rubber = document.getElementById("jc-rubber");
      if (rubber) rubber.setAttribute("d", curve(outPoint(node, index), svgPoint(ev)));
    } else if (gesture.kind === "place") {
      if (!gesture.ghost) {
        if (Math.hypot(ev.clientX - gesture.sx, ev.clientY - gesture.sy) < 4) return;
        gesture.ghost = h("div", { class: "jc-ghost", text: typeLabel(gesture.type) });
        document.body.append(gesture.ghost);
      }
      gesture.ghost.style.left = `${ev.clientX + 6}px`;
      gesture.ghost.style.top = `${ev.clientY + 6}px`;
    }
  });

  window.addEventListener("pointerup", (ev) => {
    const done = gesture;
    gesture = null;
    if (!done) return;
    if (done.kind === "move") {
      if (done.moved) changed();
      else select({ kind: "node", id: done.node.id });
    } else if (done.kind === "connect") {
      const target = nodeUnder(ev);
      if (target && target !== done.from && !isEntry(nodeById(target))) connect(done.from, done.key, target);
      else renderCanvas();
    } else if (done.kind === "place" && done.ghost) {
      done.ghost.remove();
      if (overCanvas(ev)) {
        const [x, y] = svgPoint(ev);
        addNode(done.type, Math.max(0, x - NODE_W / 2), Math.max(0, y - 20));
      }
    }
  });

  document.addEventListener("keydown", (ev) => {
    if (ev.key !== "Delete" && ev.key !== "Backspace") return;
    if (ev.target.closest && ev.target.closest("input, textarea, select")) return;
    if (!selected) return;
    ev.preventDefault();
    deleteSelection();
  });

  svg.addEventListener("keydown", (ev) => {
    if (ev.key !== "Enter" && ev.key !== " ") return;
    const g = ev.target.closest("[data-node-id]");
    if (g) select({ kind: "node", id: g.getAttribute("data-node-id") });
  });

  function deleteSelection() {
    if (!selected) return;
    if (selected.kind === "node") removeNode(selected.id);
    else {
      const node = nodeById(selected.from);
      const port = node && portsOf(node).find((p) => p.key === selected.port);
      if (port) port.set(null);
      select(null);
      changed();
    }
  }

  // --- the palette ------------------------------------------------------------------------

  function renderPalette() {
    paletteEl.replaceChildren(...GROUPS.map((group) => h("div", { class: "jc-group" },
      h("h3", { text: group }),
      ...Object.entries(TYPES).filter(([, t]) => t[0] === group).map(([type, t]) => h("button", {
        type: "button", class: `jc-item jc-${group.toLowerCase()}`, "data-type": type, text: t[1],
        title: "Click to add, or drag onto the canvas",
        onpointerdown: (ev) => startPlacing(ev, type),
        onclick: () => {
          // After a drag onto the canvas the click lands on a common ancestor, not here.
          const [x, y] = freeSpot();
          addNode(type, x, y);
        },
      })))));
  }

  // --- the side panel ---------------------------------------------------------------------

  function select(next) {
    selected = next;
    renderCanvas();
    renderPanel();
  }

  function renderPanel() {
    if (selected && selected.kind === "node" && nodeById(selected.id)) {
      panelEl.replaceChildren(nodePanel(nodeById(selected.id)));
    } else if (selected && selected.kind === "edge") {
      panelEl.replaceChildren(edgePanel());
    } else {
      panelEl.replaceChildren(settingsPanel());
    }
  }

  function panelHead(title, extra) {
    return h("div", { class: "jc-panel-head" }, h("h2", { text: title }), extra);
  }

  function edgePanel() {
    const node = nodeById(selected.from);
    const port = node && portsOf(node).find((p) => p.key === selected.port);
    return h("div", {},
      panelHead("Connection"),
      h("p", { text: port ? `From ${node.id} (${port.label}) to ${port.get()}.` : "" }),
      h("p", { class: "actions" },
        h("button", { type: "button", class: "danger", text: "Remove connection", onclick: deleteSelection })));
  }

  function nodePanel(node) {
    const idInput = h("input", { type: "text", value: node.id, maxlength: 16, pattern: "[a-z0-9_-]{1,16}" });
    idInput.addEventListener("change", () => {
      const wanted = idInput.value.trim();
      if (wanted === node.id) return;
      if (!ID_PATTERN.test(wanted) || nodeById(wanted)) {
        idInput.setCustomValidity(nodeById(wanted) ? "Another step has this id." : "1 to 16 of a-z, 0-9, _ or -.");
        idInput.reportValidity();
        return;
      }
      idInput.setCustomValidity("");
      renameNode(node, wanted);
      changed();
      renderPanel();
    });
    const mine = problemsFor(node.id);
    const raw = h("textarea", { rows: 8, spellcheck: "false", class: "jc-raw", "aria-label": "Step JSON" });
    raw.value = JSON.stringify(node, null, 2);
    const rawError = h("span", { class: "alert", role: "status" });
    return h("div", { class: "jc-form", "data-editing": node.id },
      panelHead(typeLabel(node.type), h("span", { class: "tag", text: node.type })),
      mine.length ? h("ul", { class: "problems", id: "panel-problems" },
        mine.map((p) => h("li", { text: p.field ? `${p.field}: ${p.message}` : p.message }))) : null,
      row("Step id", idInput),
      row("Label", input("text", node.label, (v) => { setOptional(node, "label", v.trim()); changed(); },
        { maxlength: 80, placeholder: typeLabel(node.type) })),
      fieldsFor(node),
      outputsFor(node),
      h("details", { class: "raw" }, h("summary", { text: "JSON of this step" }), raw,
        h("p", { class: "actions" },
          h("button", { type: "button", class: "ghost small", text: "Apply JSON", onclick: () => {
            try {
              const parsed = JSON.parse(raw.value);
              if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("give a JSON object");
              const index = definition.nodes.indexOf(node);
              definition.nodes[index] = parsed;
              selected = { kind: "node", id: parsed.id };
              changed();
              renderPanel();
            } catch (err) {
              rawError.textContent = String(err.message);
            }
          } }), rawError)),
      h("p", { class: "actions" },
        h("button", { type: "button", class: "danger", text: "Delete step", onclick: deleteSelection })));
  }

  function outputsFor(node) {
    const ports = portsOf(node);
    if (!ports.length) return null;
    const targets = [["", "(the journey ends here)"],
      ...definition.nodes.filter((n) => n.id !== node.id && !isEntry(n)).map((n) => [n.id, `${n.id} · ${n.label || typeLabel(n.type)}`])];
    return h("fieldset", { class: "jc-outputs" }, h("legend", { text: "Leads to" }),
      ports.map((port) => row(port.label, choose(targets, port.get(), (v) => {
        port.set(v || null);
        changed();
      }, { "data-output": port.key }))));
  }

  function templatePicker(channel, current, onChange, label) {
    const options = [["", "Choose a template…"],
      ...initial.templates.filter((t) => !channel || t.channel === channel).map((t) => [t.id, `${t.name}`])];
    return row(label || "Template", choose(options, current, (v) => onChange(v ? Number(v) : null),
      { "data-field": "template_id" }));
  }

  function segmentPicker(current, onChange, label) {
    const options = [["", "Choose a segment…"], ...initial.segments.map((x) => [x.id, x.name])];
    return row(label || "Segment", choose(options, current, (v) => onChange(v ? Number(v) : null),
      { "data-field": "segment_id" }));
  }

  function durationEditor(label, value, onChange, optional) {
    const d = Object.assign({}, value || {});
    const update = () => {
      const clean = {};
      for (const k of ["days", "hours", "minutes"]) if (Number(d[k])) clean[k] = Number(d[k]);
      onChange(Object.keys(clean).length || !optional ? clean : null);
    };
    return h("fieldset", { class: "jc-duration", "data-field": label.toLowerCase() }, h("legend", { text: label }),
      ["days", "hours", "minutes"].map((k) => h("label", { class: "inline" },
        input("number", d[k], (v) => { d[k] = v; update(); }, { min: 0, class: "short", "aria-label": `${label} ${k}` }),
        k)));
  }

  function filtersEditor(node, key) {
    node[key] = Array.isArray(node[key]) ? node[key] : [];
    const list = node[key];
    const wrap = h("fieldset", { class: "jc-filters" }, h("legend", { text: "Property filters" }));
    const redraw = () => renderPanel();
    list.forEach((f, i) => {
      wrap.append(h("div", { class: "jc-line" },
        input("text", f.property, (v) => { f.property = v.trim(); changed(); }, { placeholder: "property", "aria-label": "Property" }),
        choose(OPS.map((o) => [o, o]), f.op || "eq", (v) => { f.op = v; if (v === "exists") delete f.value; changed(); redraw(); },
          { "aria-label": "Operator" }),
        f.op === "exists" ? null : input("text", shown(f.value), (v) => {
          f.value = f.op === "in" ? v.split(",").map((x) => scalar(x.trim())).filter((x) => x !== "") : scalar(v);
          changed();
        }, { placeholder: f.op === "in" ? "a, b, c" : "value", "aria-label": "Value" }),
        h("button", { type: "button", class: "ghost small remove", text: "×", "aria-label": "Remove filter",
          onclick: () => { list.splice(i, 1); changed(); redraw(); } })));
    });
    wrap.append(h("button", { type: "button", class: "ghost small", text: "+ Filter",
      onclick: () => { list.push({ property: "", op: "eq", value: "" }); changed(); redraw(); } }));
    return wrap;
  }

  function text(node, key, label, props) {
    return row(label, input("text", node[key], (v) => { setOptional(node, key, v.trim()); changed(); },
      Object.assign({ "data-field": key }, props)));
  }

  function number(node, key, label, props) {
    return row(label, input("number", node[key], (v) => { setOptional(node, key, numberOr(v, null)); changed(); },
      Object.assign({ "data-field": key }, props)));
  }

  function pick(node, key, label, options) {
    return row(label, choose(options, node[key], (v) => { setOptional(node, key, v); changed(); }, { "data-field": key }));
  }

  function check(node, key, label) {
    return h("label", { class: "inline" }, input("checkbox", node[key], (v) => { node[key] = v; changed(); }), label);
  }

  function sendNodes(except) {
    return definition.nodes.filter((n) => n.type === "send" && n.id !== except).map((n) => [n.id, n.label ? `${n.id} · ${n.label}` : n.id]);
  }

  function fieldsFor(node) {
    const redraw = () => renderPanel();
    switch (node.type) {
      case "entry_segment":
        return segmentPicker(node.segment_id, (v) => { setOptional(node, "segment_id", v); changed(); });
      case "entry_event":
        return [text(node, "event_type", "Event type", { placeholder: "order_placed" }), filtersEditor(node, "filters")];
      case "entry_recurring": {
        node.schedule = node.schedule || {};
        const sch = node.schedule;
        const cron = sch.cron !== undefined && sch.cron !== null;
        return [segmentPicker(node.segment_id, (v) => { setOptional(node, "segment_id", v); changed(); }),
          row("Runs", choose([["every", "Every N days"], ["cron", "Cron expression"]], cron ? "cron" : "every", (v) => {
            if (v === "cron") { delete sch.every_days; delete sch.at; delete sch.starts_on; sch.cron = "0 9 * * mon"; } else { delete sch.cron; sch.every_days = 7; sch.at = "09:00"; }
            changed(); redraw();
          })),
          cron ? text(sch, "cron", "Cron", { placeholder: "0 9 * * mon" })
            : [number(sch, "every_days", "Every (days)", { min: 1, max: 366 }), text(sch, "at", "At (HH:MM)"),
              row("Starts on", input("date", sch.starts_on, (v) => { setOptional(sch, "starts_on", v); changed(); }))],
          text(sch, "time_zone", "Time zone", { placeholder: "Europe/Paris" })];
      }
      case "entry_api":
        return h("p", { class: "count", text: "Contacts enter when POST /api/v1/journeys/<id>/enroll names them." });
      case "send": return sendFields(node, redraw);
      case "delay":
        return durationEditor("Duration", node.duration, (v) => { setOptional(node, "duration", v); changed(); }, false);
      case "wait_until_time":
        return [text(node, "time", "Time (HH:MM)"),
          h("fieldset", {}, h("legend", { text: "Weekdays (none: any day)" }), WEEKDAYS.map((day) => h("label", { class: "inline" },
            input("checkbox", (node.weekdays || []).includes(day), (on) => {
              const days = new Set(node.weekdays || []);
              if (on) days.add(day); else days.delete(day);
              node.weekdays = WEEKDAYS.filter((d) => days.has(d));
              changed();
            }), day))),
          text(node, "fallback_time_zone", "Fallback time zone", { placeholder: "UTC" })];
      case "wait_until_date":
        return [text(node, "attribute", "Date attribute", { placeholder: "birth_date or attributes.renewal_date" }),
          number(node, "days_before", "Days before", { min: 0, max: 366 }), check(node, "yearly", "Every year (birthdays)"),
          text(node, "time", "Time (HH:MM)"), text(node, "fallback_time_zone", "Fallback time zone", { placeholder: "UTC" })];
      case "wait_for_event":
        return [text(node, "event_type", "Event type"), filtersEditor(node, "filters"), timeoutEditor(node)];
      case "wait_for_segment":
        return [segmentPicker(node.segment_id, (v) => { setOptional(node, "segment_id", v); changed(); }), timeoutEditor(node)];
      case "wait_for_engagement":
        return [pick(node, "send_node", "Message of step", [["", "Choose a send step…"], ...sendNodes(node.id)]),
          pick(node, "action", "Action", [["opened", "opened"], ["clicked", "clicked"]]), timeoutEditor(node)];
      case "condition_split": return conditionFields(node, redraw);
      case "random_split": return randomFields(node, redraw);
      case "uplift_split":
        return [pick(node, "mode", "Mode", [["threshold", "Score at or above"], ["top_share", "Top share (%)"]]),
          number(node, "value", "Value", { step: "any" }),
          pick(node, "fallback", "Without a score", [["send", "send"], ["skip", "skip"]])];
      case "update_profile": return attributesEditor(node, redraw);
      case "update_consent":
        return [pick(node, "channel", "Channel", [["email", "email"], ["sms", "sms"], ["social", "social"], ["web", "web"]]),
          text(node, "purpose", "Purpose"), pick(node, "state", "State", [["opted_in", "opted in"], ["opted_out", "opted out"]])];
      case "update_list":
        return [text(node, "list_name", "List name"), pick(node, "action", "Action", [["add", "add"], ["remove", "remove"]])];
      case "webhook": return webhookFields(node);
      case "goal":
        return [text(node, "event_type", "Conversion event", { placeholder: "order_placed" }), filtersEditor(node, "filters")];
      default: return null;
    }
  }

  function timeoutEditor(node) {
    return durationEditor("Timeout", node.timeout, (v) => { setOptional(node, "timeout", v); changed(); }, true);
  }

  function sendFields(node, redraw) {
    const variants = Array.isArray(node.variants) && node.variants.length > 0;
    const parts = [
      pick(node, "channel", "Channel", CHANNELS),
      row("Message", choose([["single", "One template"], ["variants", "Variants (A/B)"]], variants ? "variants" : "single", (v) => {
        if (v === "variants") {
          const first = node.template_id || null;
          delete node.template_id;
          node.variants = [{ name: "A", share: 50, template_id: first }, { name: "B", share: 50, template_id: null }];
        } else {
          delete node.variants;
        }
        changed(); redraw();
      })),
    ];
    if (!variants) {
      parts.push(templatePicker(node.channel, node.template_id, (v) => { setOptional(node, "template_id", v); changed(); }));
      return parts;
    }
    node.variants.forEach((variant, i) => {
      parts.push(h("fieldset", { class: "jc-variant" }, h("legend", { text: `Variant ${i + 1}` }),
        text(variant, "name", "Name"), number(variant, "share", "Share (%)", { min: 0, max: 100, step: "any" }),
        templatePicker(node.channel, variant.template_id, (v) => { setOptional(variant, "template_id", v); changed(); }),
        h("button", { type: "button", class: "ghost small remove", text: "Remove variant",
          onclick: () => { node.variants.splice(i, 1); changed(); redraw(); } })));
    });
    parts.push(h("button", { type: "button", class: "ghost small", text: "+ Variant",
      onclick: () => { node.variants.push({ name: String.fromCharCode(65 + node.variants.length), share: 0 }); changed(); redraw(); } }));
    return parts;
  }

  function conditionEditor(cond, list, i, redraw) {
    const kind = choose([["attribute", "Attribute"], ["segment", "Segment"], ["engagement", "Engagement"]], cond.type, (v) => {
      for (const k of Object.keys(cond)) delete cond[k];
      if (v === "attribute") Object.assign(cond, { type: v, attribute: "", op: "eq", value: "" });
      if (v === "segment") Object.assign(cond, { type: v, member: true });
      if (v === "engagement") Object.assign(cond, { type: v, action: "opened" });
      changed(); redraw();
    }, { "aria-label": "Condition type" });
    let controls = [];
    if (cond.type === "attribute") {
      controls = [input("text", cond.attribute, (v) => { cond.attribute = v.trim(); changed(); }, { placeholder: "city or attributes.tier", "aria-label": "Attribute" }),
        choose(OPS.map((o) => [o, o]), cond.op, (v) => { cond.op = v; if (v === "exists") delete cond.value; changed(); redraw(); }, { "aria-label": "Operator" }),
        cond.op === "exists" ? null : input("text", shown(cond.value), (v) => {
          cond.value = cond.op === "in" ? v.split(",").map((x) => scalar(x.trim())).filter((x) => x !== "") : scalar(v);
          changed();
        }, { placeholder: "value", "aria-label": "Value" })];
    } else if (cond.type === "segment") {
      controls = [choose([["", "Choose a segment…"], ...initial.segments.map((x) => [x.id, x.name])], cond.segment_id,
        (v) => { setOptional(cond, "segment_id", v ? Number(v) : null); changed(); }, { "aria-label": "Segment" }),
      h("label", { class: "inline" }, input("checkbox", cond.member !== false, (on) => { cond.member = on; changed(); }), "is a member")];
    } else if (cond.type === "engagement") {
      controls = [choose([["", "Choose a send step…"], ...sendNodes(null)], cond.send_node, (v) => { setOptional(cond, "send_node", v); changed(); }, { "aria-label": "Send step" }),
        choose([["opened", "opened"], ["clicked", "clicked"]], cond.action, (v) => { cond.action = v; changed(); }, { "aria-label": "Action" })];
    }
    return h("div", { class: "jc-line" }, kind, controls,
      h("button", { type: "button", class: "ghost small remove", text: "×", "aria-label": "Remove condition",
        onclick: () => { list.splice(i, 1); changed(); redraw(); } }));
  }

  function conditionFields(node, redraw) {
    node.branches = Array.isArray(node.branches) ? node.branches : [];
    const parts = node.branches.map((b, i) => {
      b.conditions = Array.isArray(b.conditions) ? b.conditions : [];
      return h("fieldset", { class: "jc-branch" }, h("legend", { text: `Branch ${i + 1} (all must hold)` }),
        text(b, "name", "Name", { maxlength: 32, placeholder: `branch ${i + 1}` }),
        b.conditions.map((c, j) => conditionEditor(c, b.conditions, j, redraw)),
        h("p", { class: "actions" },
          h("button", { type: "button", class: "ghost small", text: "+ Condition",
            onclick: () => { b.conditions.push({ type: "attribute", attribute: "", op: "eq", value: "" }); changed(); redraw(); } }),
          h("button", { type: "button", class: "ghost small remove", text: "Remove branch",
            onclick: () => { node.branches.splice(i, 1); changed(); redraw(); } })));
    });
    parts.push(h("p", { class: "count", text: "Contacts matching no branch take “else”." }),
      h("button", { type: "button", class: "ghost small", text: "+ Branch",
        onclick: () => { node.branches.push({ conditions: [{ type: "attribute", attribute: "", op: "eq", value: "" }] }); changed(); redraw(); } }));
    return parts;
  }

  function randomFields(node, redraw) {
    node.branches = Array.isArray(node.branches) ? node.branches : [];
    const total = node.branches.reduce((sum, b) => sum + (Number(b.percent) || 0), 0);
    const parts = node.branches.map((b, i) => h("div", { class: "jc-line" },
      input("text", b.name, (v) => { setOptional(b, "name", v.trim()); changed(); }, { maxlength: 32, "aria-label": `Branch ${i + 1} name`, class: "short" }),
      input("number", b.percent, (v) => { setOptional(b, "percent", numberOr(v, null)); changed(); },
        { min: 0, max: 100, step: "any", "aria-label": `Branch ${i + 1} percent`, class: "short" }), "%",
      h("label", { class: "inline" }, input("checkbox", b.control, (on) => { setOptional(b, "control", on || null); changed(); }), "control"),
      h("button", { type: "button", class: "ghost small remove", text: "×", "aria-label": "Remove branch",
        onclick: () => { node.branches.splice(i, 1); changed(); redraw(); } })));
    parts.push(h("p", { class: total === 100 ? "count" : "alert", text: `Total ${total}% (must be 100%).` }),
      h("button", { type: "button", class: "ghost small", text: "+ Branch",
        onclick: () => { node.branches.push({ name: String.fromCharCode(97 + node.branches.length), percent: 0 }); changed(); redraw(); } }));
    return parts;
  }

  function attributesEditor(node, redraw) {
    const attrs = node.attributes && typeof node.attributes === "object" ? node.attributes : {};
    node.attributes = attrs;
    const entries = Object.entries(attrs);
    const rewrite = (i, key, value) => {
      const next = {};
      entries.forEach(([k, v], j) => { if (j === i) { if (key !== null) next[key] = value; } else next[k] = v; });
      node.attributes = next;
    };
    return h("fieldset", {}, h("legend", { text: "Set attributes (null removes one)" }),
      entries.map(([k, v], i) => h("div", { class: "jc-line" },
        h("input", { type: "text", value: k, "aria-label": "Attribute name", onchange: (ev) => { rewrite(i, ev.target.value.trim(), v); changed(); redraw(); } }),
        h("input", { type: "text", value: v === null ? "null" : String(v), "aria-label": "Attribute value",
          onchange: (ev) => { rewrite(i, k, scalar(ev.target.value)); changed(); redraw(); } }),
        h("button", { type: "button", class: "ghost small remove", text: "×", "aria-label": "Remove attribute",
          onclick: () => { rewrite(i, null); changed(); redraw(); } }))),
      h("button", { type: "button", class: "ghost small", text: "+ Attribute", onclick: () => {
        let n = 1;
        while (`attribute_${n}` in node.attributes) n += 1;
        node.attributes[`attribute_${n}`] = "";
        changed(); redraw();
      } }));
  }

  function webhookFields(node) {
    const payload = h("textarea", { rows: 4, spellcheck: "false", "aria-label": "Payload (JSON)" });
    payload.value = JSON.stringify(node.payload || {}, null, 2);
    payload.addEventListener("input", () => {
      try {
        node.payload = JSON.parse(payload.value || "{}");
        payload.setCustomValidity("");
        changed();
      } catch (err) {
        payload.setCustomValidity("Not JSON yet");
      }
    });
    return [text(node, "url", "URL", { placeholder: "https://example.com/hook" }), row("Payload (JSON object)", payload),
      text(node, "save_response_to", "Save the response to attribute", { placeholder: "optional" }),
      number(node, "timeout_seconds", "Timeout (seconds)", { min: 1, max: 30 }), number(node, "retries", "Retries", { min: 0, max: 5 })];
  }

  function settingsPanel() {
    const st = definition.settings;
    st.exit_criteria = st.exit_criteria || {};
    const ec = st.exit_criteria;
    const redraw = () => renderPanel();
    return h("div", { class: "jc-form", "data-editing": "settings" },
      panelHead("Journey settings"),
      row("Name", input("text", definition.name, (v) => { definition.name = v; changed(); }, { maxlength: 200, id: "journey-name" })),
      row("Description", (() => {
        const t = h("textarea", { rows: 2, maxlength: 2000 });
        t.value = definition.description || "";
        t.addEventListener("input", () => { setOptional(definition, "description", t.value); changed(); });
        return t;
      })()),
      row("Re-entry", choose([["never", "Never: once per contact"], ["after_exit", "Again after leaving"],
        ["cooldown", "Any time, after a cooldown"]], st.reentry || "never", (v) => {
        st.reentry = v;
        if (v !== "cooldown") delete st.cooldown_days;
        changed(); redraw();
      }, { "data-field": "reentry" })),
      (st.reentry === "cooldown") ? number(st, "cooldown_days", "Cooldown (days)", { min: 1, max: 3650 }) : null,
      number(st, "max_entries", "Maximum entries per contact", { min: 1, max: 1000, placeholder: "no limit" }),
      number(st, "holdout_percent", "Holdout (%)", { min: 0, max: 50, step: "any", placeholder: "0" }),
      h("fieldset", {}, h("legend", { text: "Exit criteria: contacts leave when they…" }),
        h("p", { class: "count", text: "join one of these segments" }),
        initial.segments.length ? initial.segments.map((x) => h("label", { class: "inline" },
          input("checkbox", (ec.segment_ids || []).includes(x.id), (on) => {
            const ids = new Set(ec.segment_ids || []);
            if (on) ids.add(x.id); else ids.delete(x.id);
            ec.segment_ids = [...ids];
            changed();
          }), x.name)) : h("p", { class: "count", text: "(no segments yet)" }),
        row("or perform one of these events", input("text", (ec.event_types || []).join(", "), (v) => {
          ec.event_types = v.split(",").map((x) => x.trim()).filter(Boolean);
          changed();
        }, { placeholder: "unsubscribed, order_placed", "data-field": "exit_events" }))),
      h("p", { class: "count", text: "Click a step to configure it; drag from a port (●) to a step to connect." }));
  }

  // --- validation, saving and lifecycle ---------------------------------------------------

  function changed() {
    dirty = true;
    simulated = null;
    renderSimulation();
    statusEl.dataset.dirty = "true";
    renderStatus();
    renderCanvas();
    scheduleCheck();
  }

  function scheduleCheck() {
    clearTimeout(timer);
    checkEl.textContent = "Checking…";
    checkEl.className = "count";
    timer = setTimeout(runCheck, DEBOUNCE_MS);
  }

  async function request(method, url, body) {
    const response = await fetch(url, {
      method,
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
    let data = null;
    try { data = await response.json(); } catch (err) { data = null; }
    return { ok: response.ok, status: response.status, data: data || {} };
  }

  function problemsOf(data) {
    if (Array.isArray(data.problems)) return data.problems;
    if (data.error && Array.isArray(data.error.problems)) return data.error.problems;
    return [];
  }

  function nodeIdOf(problem) {
    // Steps without a usable id are located as nodes[i] in `field`.
    if (problem.node_id) return problem.node_id;
    const m = /^nodes\[(\d+)\]/.exec(problem.field || "");
    const node = m && definition.nodes[Number(m[1])];
    return node ? node.id : null;
  }

  async function runCheck() {
    const mine = ++sequence;
    let result;
    try {
      result = await request("POST", urls.check, { definition });
    } catch (err) {
      checkEl.textContent = "Could not check the journey (network).";
      return;
    }
    if (mine !== sequence) return;
    showProblems(problemsOf(result.data));
  }

  function showProblems(list) {
    problems = list.map((p) => Object.assign({}, p, { node_id: nodeIdOf(p) }));
    renderCanvas();
    problemsEl.replaceChildren(...problems.map((p) => h("li", { "data-node": p.node_id || "" },
      p.node_id ? h("a", { href: "#", text: p.node_id, onclick: (ev) => { ev.preventDefault(); select({ kind: "node", id: p.node_id }); } }) : h("strong", { text: "Journey" }),
      p.field ? h("code", { text: ` ${p.field}` }) : null, `: ${p.message}`)));
    problemsEl.hidden = problems.length === 0;
    checkEl.textContent = problems.length ? `${problems.length} problem${problems.length > 1 ? "s" : ""} to fix before publishing.` : "No problems: ready to publish.";
    checkEl.className = problems.length ? "alert" : "good";
    if (selected && selected.kind === "node") {
      const list = document.getElementById("panel-problems");
      const mine = problemsFor(selected.id);
      const fresh = mine.length ? h("ul", { class: "problems", id: "panel-problems" },
        mine.map((p) => h("li", { text: p.field ? `${p.field}: ${p.message}` : p.message }))) : null;
      if (list && fresh) list.replaceWith(fresh);
      else if (list) list.remove();
      else if (fresh) {
        const head = panelEl.querySelector(".jc-panel-head");
        if (head) head.after(fresh);
      }
    }
  }

  function say(message, bad) {
    messageEl.textContent = message;
    messageEl.className = bad ? "alert" : "good";
  }

  async function save() {
    const result = await request("PUT", urls.save, { name: definition.name, description: definition.description || "", definition });
    if (!result.ok) {
      say(result.data.error ? result.data.error.message : `Not saved (${result.status}).`, true);
      if (problemsOf(result.data).length) showProblems(problemsOf(result.data));
      return false;
    }
    adopt(result.data);
    dirty = false;
    statusEl.dataset.dirty = "false";
    renderStatus();
    say("Draft saved.");
    return true;
  }

  async function lifecycle(action) {
    if (action === "publish" && dirty && !(await save())) return;
    const result = await request("POST", urls[action], {});
    if (!result.ok) {
      const list = problemsOf(result.data);
      if (list.length) showProblems(list);
      say(result.data.error ? `${result.data.error.message}` : `Refused (${result.status}).`, true);
      return;
    }
    adopt(result.data);
    renderStatus();
    const words = { publish: `Published version ${journey.version}.`, pause: "Paused: nobody moves until you resume.",
      resume: "Resumed.", archive: "Archived." };
    say(words[action]);
    refreshCounts();
  }

  function adopt(data) {
    if (data && data.journey) journey = Object.assign({}, journey, data.journey);
  }

  function renderStatus() {
    const status = journey.status || "draft";
    statusEl.querySelector("[data-status]").textContent = status;
    statusEl.querySelector("[data-status]").className = `tag status-${status}`;
    statusEl.querySelector("[data-version]").textContent = journey.version ? `version ${journey.version}` : "never published";
    statusEl.querySelector("[data-dirty]").textContent = dirty ? "Unsaved changes" : "All changes saved";
    document.getElementById("canvas-pause").hidden = status !== "published";
    document.getElementById("canvas-resume").hidden = status !== "paused";
  }

  // --- live counts and simulation ---------------------------------------------------------

  async function refreshCounts() {
    if (!journey.version) return;
    let result;
    try {
      result = await request("GET", urls.counts);
    } catch (err) {
      return;
    }
    if (!result.ok) return;
    live = result.data.nodes || {};
    renderCanvas();
    renderSummary(result.data.summary);
  }

  function renderSummary(summary) {
    if (!summary || typeof summary !== "object") { summaryEl.hidden = true; return; }
    summaryEl.hidden = false;
    const rate = (g) => (g && g.contacts ? `${g.converted} of ${g.contacts} (${(100 * (g.rate || 0)).toFixed(1)}%)` : "—");
    const rows = [["Enrollments", summary.enrollments],
      ...Object.entries(summary.by_status || {}).map(([k, v]) => [`  ${k}`, v]),
      ["Converted (in the journey)", rate(summary.treated)], ["Converted (holdout)", rate(summary.holdout)]];
    if (summary.too_small) rows.push(["Comparison", summary.too_small]);
    summaryEl.querySelector("dl").replaceChildren(...rows.flatMap(([k, v]) => [h("dt", { text: k }), h("dd", { text: shown(v) })]));
  }

  async function simulate() {
    const days = Number(document.getElementById("canvas-days").value) || 30;
    simEl.hidden = false;
    simEl.querySelector("[data-sim-status]").textContent = "Simulating…";
    const result = await request("POST", urls.simulate, { definition, days });
    if (!result.ok) {
      const list = problemsOf(result.data);
      if (list.length) showProblems(list);
      simEl.querySelector("[data-sim-status]").textContent = result.data.error ? result.data.error.message : `Simulation failed (${result.status}).`;
      return;
    }
    simulated = result.data;
    renderCanvas();
    renderSimulation();
  }

  function renderSimulation() {
    if (!simulated) {
      simEl.hidden = true;
      return;
    }
    simEl.hidden = false;
    const r = simulated;
    const list = (title, counts) => {
      const entries = Object.entries(counts || {});
      return entries.length ? [h("div", {}, h("h3", { text: title }),
        h("ul", {}, entries.map(([k, v]) => h("li", { "data-sim": `${title}:${k}`, text: `${k}: ${v}` }))))] : [];
    };
    simEl.querySelector("[data-sim-status]").textContent =
      `Over ${Math.round((new Date(r.end) - new Date(r.start)) / 86400000) || "?"} days: ${r.contacts} contacts, ${r.entered} entered, ${r.held_out} held out. Nothing was sent.`;
    simEl.querySelector("[data-sim-body]").replaceChildren(
      ...list("Outcomes", r.outcomes), ...list("Goals", r.goals), ...list("Exits", r.exits),
      ...list("Sends", r.sends), ...list("Actions", r.actions),
      ...(r.exit_criteria ? [h("p", { text: `${r.exit_criteria} left by the exit criteria.` })] : []));
  }

  // --- wiring -----------------------------------------------------------------------------

  document.getElementById("canvas-save").addEventListener("click", save);
  document.getElementById("canvas-publish").addEventListener("click", () => lifecycle("publish"));
  document.getElementById("canvas-pause").addEventListener("click", () => lifecycle("pause"));
  document.getElementById("canvas-resume").addEventListener("click", () => lifecycle("resume"));
  document.getElementById("canvas-simulate").addEventListener("click", simulate);
  document.getElementById("canvas-settings").addEventListener("click", () => select(null));
  window.addEventListener("beforeunload", (ev) => {
    if (dirty) ev.preventDefault();
  });

  renderPalette();
  renderStatus();
  select(null);
  if (initial.problems && initial.problems.length) showProblems(initial.problems);
  else runCheck();
  refreshCounts();
  setInterval(refreshCounts, COUNTS_EVERY_MS);
})();
