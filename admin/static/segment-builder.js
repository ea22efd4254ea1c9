// Segment builder: edits a segment definition (docs/segments.md) as a tree of groups and
// conditions, previews its size live, and puts the JSON into the save form. No build step.
(() => {
  "use strict";

  const host = document.getElementById("segment-builder");
  if (!host) return;

  const initial = JSON.parse(document.getElementById("builder-initial").textContent);
  const urls = {
    catalogue: host.dataset.catalogueUrl,
    preview: host.dataset.previewUrl,
    contacts: host.dataset.contactsUrl,
  };
  const csrf = host.querySelector("input[name=csrf_token]").value;
  const treeEl = document.getElementById("builder-tree");
  const rawEl = document.getElementById("raw-json");
  const rawError = document.getElementById("raw-json-error");
  const problemsEl = document.getElementById("preview-problems");
  const countEl = document.getElementById("preview-count");
  const statusEl = document.getElementById("preview-status");
  const funnelEl = document.getElementById("preview-funnel");
  const sampleEl = document.getElementById("preview-sample");
  const form = document.getElementById("segment-form");

  const DEBOUNCE_MS = 400;
  const RELATIVE_DAYS = { within_last: 36500, more_than_ago: 36500, in_next: 366 };
  const NO_VALUE = ["is_set", "is_not_set"];
  const LIST_OPS = ["in", "not_in"];
  const PROPERTY_OPS = [
    "eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "contains", "is_set", "is_not_set",
  ];
  const OP_WORDS = {
    eq: "is", ne: "is not", lt: "is less than", lte: "is at most", gt: "is more than",
    gte: "is at least", between: "is between", in: "is one of", not_in: "is none of",
    contains: "contains", starts_with: "starts with", ends_with: "ends with",
    is_set: "is set", is_not_set: "is not set", within_last: "is within the last",
    more_than_ago: "is more than", in_next: "has its anniversary in the next",
  };
  const DATE_OP_WORDS = {
    eq: "is on", ne: "is not on", lt: "is before", lte: "is on or before", gt: "is after",
    gte: "is on or after",
  };
  const VALUE_KINDS = [["string", "text"], ["number", "number"], ["boolean", "true / false"]];
  const CONDITION_TYPES = [
    ["Orders", [["purchase", "Purchased"], ["last_purchase", "Last purchase"]]],
    ["Behaviour", [["event", "Did an event"], ["event_time", "First / last event"]]],
    ["Messages", [["message", "Received / opened / clicked"], ["unopened", "Left the last messages unopened"]]],
    ["Consent", [["consent", "Consent"], ["suppressed", "Suppressed (email or phone)"]]],
    ["Uplift models", [["uplift", "Uplift score"]]],
    ["Other", [["segment", "In another segment"], ["random_bucket", "Random sample"]]],
  ];
  // Uplift tests: a score compared by order; a rank shown as a share from the top, in percent.
  const UPLIFT_SCORE_OPS = [
    ["", "any score"], ["gt", "above"], ["gte", "at least"], ["lt", "below"], ["lte", "at most"],
    ["between", "between"],
  ];
  const UPLIFT_RANK_OPS = [
    ["", "any rank"], ["lt", "in the top"], ["gte", "outside the top"],
    ["lte", "in the top (edge included)"], ["gt", "outside the top (edge excluded)"],
    ["between", "ranked between"],
  ];
  const UPLIFT_DEFAULTS = { score: [0, [0, 0.1]], percentile: [0.2, [0, 0.2]] };

  let catalogue = null;
  let definition = null;
  let rawDirty = false;
  let timer = null;
  let inFlight = null;
  let sequence = 0;
  // Problems found on save stay on their nodes until the next edit (the preview cannot see all).
  let saveProblems = initial.problems.filter((p) => p.location.startsWith("definition"));
  // A new segment's first, empty condition is not an error yet: say so only after an edit.
  let pristine = !initial.definition;
  // The kind of value a custom attribute or event property is compared with, per node object.
  const valueKinds = new WeakMap();

  // --- small DOM helpers ------------------------------------------------------------------

  function h(tag, props, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") el.className = value;
      else if (key === "text") el.textContent = value;
      else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
      else if (key === "key") el.dataset.key = value;
      else el.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat(Infinity)) {
      if (child !== null && child !== undefined && child !== false) el.append(child);
    }
    return el;
  }

  function choose(options, current, onChange, props) {
    // options: [value, label] pairs, or [groupLabel, [[value, label], ...]] for optgroups.
    const el = h("select", props);
    let found = false;
    for (const [value, label] of options) {
      if (Array.isArray(label)) {
        const group = h("optgroup", { label: value });
        for (const [v, l] of label) {
          group.append(h("option", { value: v, text: l }));
          found = found || v === String(current);
        }
        el.append(group);
      } else {
        el.append(h("option", { value, text: label }));
        found = found || value === String(current);
      }
    }
    if (!found && current !== undefined && current !== null && current !== "") {
      el.append(h("option", { value: String(current), text: String(current) }));
    }
    el.value = current === undefined || current === null ? "" : String(current);
    el.addEventListener("change", () => onChange(el.value));
    return el;
  }

  function field(type, value, onInput, props) {
    const el = h("input", Object.assign({ type }, props));
    el.value = value === undefined || value === null ? "" : String(value);
    el.addEventListener("input", () => onInput(el.value));
    return el;
  }

  function numberOrNull(text) {
    const trimmed = text.trim();
    if (trimmed === "") return null;
    const number = Number(trimmed);
    return Number.isNaN(number) ? trimmed : number;
  }

  function setOptional(target, key, value) {
    if (value === null || value === undefined || value === "") delete target[key];
    else target[key] = value;
  }

  function kindOfValue(value) {
    const first = Array.isArray(value) ? value[0] : value;
    if (typeof first === "number") return "number";
    if (typeof first === "boolean") return "boolean";
    return "string";
  }

  function ordinal(path) {
    const numbers = [...path.matchAll(/children\[(\d+)\]/g)].map((m) => Number(m[1]) + 1);
    return numbers.length ? numbers.join(".") : "top";
  }

  // --- the catalogue ----------------------------------------------------------------------

  function profileField(name) {
    return catalogue.fields.profile.find((f) => f.name === name);
  }

  function traitField(name) {
    return catalogue.fields.traits.find((f) => f.name === name);
  }

  function fieldInfo(node) {
    if (node.type === "trait") return traitField(node.field) || { kind: "string", choices: [] };
    if (String(node.field || "").startsWith("attributes.")) {
      if (!valueKinds.has(node)) valueKinds.set(node, kindOfValue(node.value));
      return { kind: valueKinds.get(node), choices: [], custom: true };
    }
    return profileField(node.field) || { kind: "string", choices: [] };
  }

  function opsFor(info) {
    const ops = catalogue.kinds[info.kind] || catalogue.kinds.string;
    if (!info.custom) return ops;
    // Custom attributes compare numbers with < > between, and have no relative dates.
    return ops.filter((op) => !(op in RELATIVE_DAYS));
  }

  function opWord(op, kind) {
    if ((kind === "date" || kind === "datetime") && DATE_OP_WORDS[op]) return DATE_OP_WORDS[op];
    return OP_WORDS[op] || op;
  }

  function typeKey(node) {
    if (node.type === "attribute") {
      return String(node.field || "").startsWith("attributes.") ? "attribute:*" : `attribute:${node.field}`;
    }
    if (node.type === "trait") return `trait:${node.field}`;
    return node.type;
  }

  function typeOptions() {
    return [
      ["Profile", [
        ...catalogue.fields.profile.map((f) => [`attribute:${f.name}`, f.label]),
        ["attribute:*", "Custom attribute…"],
      ]],
      ["Computed traits", catalogue.fields.traits.map((f) => [`trait:${f.name}`, f.label])],
      ...CONDITION_TYPES,
    ];
  }

  function defaultValue(info, op) {
    if (NO_VALUE.includes(op) || op in RELATIVE_DAYS) return undefined;
    if (LIST_OPS.includes(op)) return [];
    if (op === "between") return [null, null];
    if (info.kind === "enum" && info.choices.length) return info.choices[0];
    if (info.kind === "boolean") return true;
    return null;
  }

  function fieldCondition(type, name, info) {
    const node = { type, field: name, op: opsFor(info)[0] };
    const value = defaultValue(info, node.op);
    if (value !== undefined) node.value = value;
    return node;
  }

  function newCondition(key) {
    if (key === "attribute:*") {
      const node = { type: "attribute", field: "attributes.", op: "eq", value: null };
      valueKinds.set(node, "string");
      return node;
    }
    if (key.startsWith("attribute:") || key.startsWith("trait:")) {
      const [type, name] = key.split(":");
      const info = type === "trait" ? traitField(name) : profileField(name);
      return fieldCondition(type, name, info);
    }
    switch (key) {
      case "purchase": return { type: "purchase" };
      case "last_purchase": return { type: "last_purchase", op: "after", when: { days_ago: 30 } };
      case "event": return { type: "event", event_type: "" };
      case "event_time":
        return { type: "event_time", event_type: "", which: "last", op: "after", when: { days_ago: 30 } };
      case "consent":
        return { type: "consent", channel: catalogue.channels[0] || "email", purpose: "marketing", state: "opted_in" };
      case "suppressed": return { type: "suppressed", channel: "any" };
      case "segment": {
        const other = otherSegments()[0];
        return { type: "segment", segment_id: other ? other.id : null, exclude: false };
      }
      case "random_bucket": return { type: "random_bucket", percent: 10, salt: "" };
      case "message": return { type: "message", action: "opened", window: { last_days: 30 } };
      case "unopened": return { type: "unopened", last: 5, channel: "email" };
      case "uplift": {
        const models = catalogue.uplift_models || [];
        return { type: "uplift", model: models.length ? models[0] : "", percentile: { op: "lt", value: 0.2 } };
      }
      default: return { type: key };
    }
  }

  function defaultCondition() {
    return newCondition(profileField("city") ? "attribute:city" : `attribute:${catalogue.fields.profile[0].name}`);
  }

  function otherSegments() {
    return catalogue.segments.filter((s) => s.id !== initial.segmentId);
  }

  // --- rendering --------------------------------------------------------------------------

  function render() {
    const focused = document.activeElement && document.activeElement.dataset.key;
    treeEl.replaceChildren(
      renderNode(definition.root, "root", { set: (n) => { definition.root = n; }, remove: null }),
    );
    if (focused) {
      const again = treeEl.querySelector(`[data-key="${CSS.escape(focused)}"]`);
      if (again) again.focus();
    }
  }

  function changed({ structure = false } = {}) {
    saveProblems = [];
    pristine = false;
    if (structure) render();
    refreshRaw();
    schedulePreview();
  }

  function renderNode(node, path, slot) {
    if (node && (node.type === "all" || node.type === "any")) return renderGroup(node, path, slot);
    if (node && node.type === "not") return renderNot(node, path, slot);
    return renderCondition(node, path, slot);
  }

  function shell(node, path, kind, slot, head, body) {
    const tools = h("span", { class: "node-tools" });
    if (node.type !== "not") {
      tools.append(h("button", {
        type: "button", class: "ghost small", text: "Not", key: `${path}|not`,
        title: "Keep contacts for whom this does not hold",
        onclick: () => { slot.set({ type: "not", child: node }); changed({ structure: true }); },
      }));
    }
    if (kind === "condition" && path === "root") {
      tools.append(h("button", {
        type: "button", class: "ghost small", text: "Put in a group", key: `${path}|wrap`,
        onclick: () => { slot.set({ type: "all", children: [node] }); changed({ structure: true }); },
      }));
    }
    if (slot.remove) {
      tools.append(h("button", {
        type: "button", class: "ghost small remove", text: "×", "aria-label": "Remove",
        title: "Remove", key: `${path}|remove`,
        onclick: () => { slot.remove(); changed({ structure: true }); },
      }));
    }
    return h("div", { class: `node node-${kind} node-${node.type || "unknown"}`, "data-path": path },
      h("div", { class: "node-head" },
        h("span", { class: "ordinal", text: ordinal(path) }), head, tools,
        h("span", { class: "node-count", "aria-live": "polite" })),
      body,
      h("ul", { class: "node-problems" }));
  }

  function renderGroup(node, path, slot) {
    const head = h("span", { class: "group-type" },
      choose([["all", "All of these hold"], ["any", "Any of these holds"]], node.type, (type) => {
        node.type = type;
        changed({ structure: true });
      }, { "aria-label": "Group type", key: `${path}|type` }));
    const children = h("div", { class: "children" });
    node.children = Array.isArray(node.children) ? node.children : [];
    node.children.forEach((child, i) => {
      children.append(renderNode(child, `${path}.children[${i}]`, {
        set: (n) => { node.children[i] = n; },
        remove: () => { node.children.splice(i, 1); },
      }));
    });
    if (!node.children.length) {
      children.append(h("p", { class: "empty", text: "This group is empty: add a condition." }));
    }
    const add = h("div", { class: "group-add" },
      h("button", {
        type: "button", class: "ghost small", text: "+ Condition", key: `${path}|add-condition`,
        onclick: () => { node.children.push(defaultCondition()); changed({ structure: true }); },
      }),
      h("button", {
        type: "button", class: "ghost small", text: "+ Group", key: `${path}|add-group`,
        onclick: () => {
          node.children.push({ type: node.type === "all" ? "any" : "all", children: [defaultCondition()] });
          changed({ structure: true });
        },
      }));
    return shell(node, path, "group", slot, head, h("div", { class: "group-body" }, children, add));
  }

  function renderNot(node, path, slot) {
    const head = h("span", { class: "group-type" },
      h("strong", { text: "Not:" }), " the following does not hold",
      h("button", {
        type: "button", class: "ghost small", text: "Unwrap", key: `${path}|unwrap`,
        onclick: () => { slot.set(node.child); changed({ structure: true }); },
      }));
    const body = node.child
      ? renderNode(node.child, `${path}.child`, { set: (n) => { node.child = n; }, remove: null })
      : h("p", { class: "empty", text: "Nothing to negate." });
    return shell(node, path, "group", slot, head, h("div", { class: "group-body" }, body));
  }

  function renderCondition(node, path, slot) {
    if (!node || typeof node !== "object" || !isCondition(node.type)) {
      return shell(node || {}, path, "condition", slot, h("span", { text: "Unrecognised node" }),
        rawNodeEditor(node, path, slot));
    }
    const line = h("div", { class: "cond-line" },
      choose(typeOptions(), typeKey(node), (key) => {
        slot.set(reuse(node, newCondition(key)));
        changed({ structure: true });
      }, { "aria-label": "Condition", key: `${path}|kind`, class: "cond-kind" }),
      conditionControls(node, path));
    return shell(node, path, "condition", slot, line, null);
  }

  function isCondition(type) {
    return ["attribute", "trait", "purchase", "last_purchase", "event", "event_time", "consent",
      "suppressed", "segment", "random_bucket", "message", "unopened", "uplift"].includes(type);
  }

  function reuse(old, fresh) {
    // Keep the operator and value when switching between fields of the same kind.
    if (!(old.type === "attribute" || old.type === "trait")) return fresh;
    if (!(fresh.type === "attribute" || fresh.type === "trait")) return fresh;
    const before = fieldInfo(old);
    const after = fieldInfo(fresh);
    if (before.kind !== after.kind || after.kind === "enum" || before.custom || after.custom) return fresh;
    const copy = Object.assign({}, old, { type: fresh.type, field: fresh.field });
    return copy;
  }

  function rawNodeEditor(node, path, slot) {
    const area = h("textarea", { rows: 3, class: "raw-node", "aria-label": "Node JSON", key: `${path}|raw` });
    area.value = JSON.stringify(node);
    area.addEventListener("change", () => {
      try {
        slot.set(JSON.parse(area.value));
        changed({ structure: true });
      } catch (err) {
        area.setCustomValidity(String(err.message));
        area.reportValidity();
      }
    });
    return area;
  }

  function conditionControls(node, path) {
    switch (node.type) {
      case "attribute":
      case "trait": return fieldControls(node, path);
      case "purchase": return purchaseControls(node, path);
      case "last_purchase":
        return [h("span", { text: "was" }),
          choose([["before", "before"], ["after", "on or after"]], node.op, (v) => { node.op = v; changed(); },
            { "aria-label": "Before or after", key: `${path}|op` }),
          momentControls(node, path)];
      case "event": return eventControls(node, path);
      case "event_time": return eventTimeControls(node, path);
      case "consent": return consentControls(node, path);
      case "suppressed":
        return [h("span", { text: "for" }),
          choose([["any", "email or phone"], ["email", "email"], ["sms", "phone (SMS)"]], node.channel || "any",
            (v) => { node.channel = v; changed(); }, { "aria-label": "Channel", key: `${path}|channel` })];
      case "segment": return segmentControls(node, path);
      case "random_bucket":
        return [
          field("number", node.percent, (v) => { node.percent = numberOrNull(v); changed(); },
            { min: "0.01", max: "100", step: "0.01", class: "short", "aria-label": "Percent", key: `${path}|percent` }),
          h("span", { text: "% of contacts, salt" }),
          field("text", node.salt, (v) => { node.salt = v; changed(); },
            { maxlength: "64", class: "short", "aria-label": "Salt", key: `${path}|salt`, placeholder: "optional" }),
        ];
      case "message": return messageControls(node, path);
      case "unopened":
        return [h("span", { text: "opened none of the last" }),
          field("number", node.last, (v) => { node.last = numberOrNull(v); changed(); },
            { min: "1", max: "100", step: "1", class: "tiny", "aria-label": "Messages", key: `${path}|last` }),
          messageChannel(node, path), h("span", { text: "messages" })];
      case "uplift": return upliftControls(node, path);
      default: return [];
    }
  }

  const MESSAGE_CHANNELS = [["", "any channel"], ["email", "email"], ["sms", "SMS"], ["social", "social"]];

  function messageChannel(node, path) {
    return choose(MESSAGE_CHANNELS, node.channel ?? "", (v) => { setOptional(node, "channel", v); changed(); },
      { "aria-label": "Channel", key: `${path}|channel` });
  }

  function messageControls(node, path) {
    // A campaign is picked by id; a code typed into the JSON stays as it is until another is picked.
    const coded = node.campaign_code !== undefined ? `code:${node.campaign_code}` : null;
    const campaigns = [["", "any campaign"], ...(catalogue.campaigns || []).map((c) => [String(c.id), `${c.code} · ${c.name}`])];
    if (coded) campaigns.push([coded, `code ${node.campaign_code}`]);
    return [
      choose([["received", "received"], ["opened", "opened"], ["clicked", "clicked"]], node.action,
        (v) => { node.action = v; changed(); }, { "aria-label": "Action", key: `${path}|action` }),
      choose(campaigns, coded ?? node.campaign_id ?? "", (v) => {
        if (v === coded) return;
        delete node.campaign_code;
        setOptional(node, "campaign_id", v === "" ? null : Number(v));
        changed({ structure: true });
      }, { "aria-label": "Campaign", key: `${path}|campaign` }),
      h("span", { text: "on" }),
      messageChannel(node, path),
      countControls(node, path, "messages"),
      windowControls(node, path),
    ];
  }

  function upliftControls(node, path) {
    const models = catalogue.uplift_models || [];
    const parts = [
      h("span", { text: "under" }),
      models.length || node.model
        ? choose(models.map((m) => [m, m]), node.model, (v) => { node.model = v; changed(); },
          { "aria-label": "Uplift model", key: `${path}|model` })
        : h("span", { class: "empty", text: "no uplift model yet" }),
      choose([["yes", "has a score"], ["no", "has no score"]], node.scored === false ? "no" : "yes", (v) => {
        delete node.score;
        delete node.percentile;
        if (v === "no") node.scored = false;
        else delete node.scored;
        changed({ structure: true });
      }, { "aria-label": "Scored", key: `${path}|scored` }),
    ];
    if (node.scored === false) return parts;
    return [...parts,
      upliftTest(node, path, "score", UPLIFT_SCORE_OPS, 1, "Uplift score"),
      upliftTest(node, path, "percentile", UPLIFT_RANK_OPS, 100, "Top share")];
  }

  function upliftTest(node, path, key, ops, scale, label) {
    // `scale` 100 shows a percentile (0.2) as the share from the top it means (20 %).
    const test = node[key];
    const shown = (v) => (typeof v === "number" ? Number((v * scale).toFixed(6)) : v);
    const stored = (text) => {
      const v = numberOrNull(text);
      return typeof v === "number" ? v / scale : v;
    };
    const parts = [choose(ops, test ? test.op : "", (op) => {
      const [single, pair] = UPLIFT_DEFAULTS[key];
      if (!op) delete node[key];
      else node[key] = { op, value: op === "between" ? [...pair] : single };
      changed({ structure: true });
    }, { "aria-label": `${label} test`, key: `${path}|${key}-op` })];
    if (!test) return h("span", { class: "uplift-test" }, parts);
    const bounds = scale === 100 ? { min: "0", max: "100" } : {};
    const input = (value, set, part, aria) => field("number", shown(value), (text) => { set(stored(text)); changed(); },
      Object.assign({ step: "any", class: "tiny", "aria-label": aria, key: `${path}|${key}-${part}` }, bounds));
    if (test.op === "between") {
      if (!Array.isArray(test.value)) test.value = [null, null];
      parts.push(
        input(test.value[0], (v) => { test.value[0] = v; }, "low", `${label} from`),
        h("span", { text: "and" }),
        input(test.value[1], (v) => { test.value[1] = v; }, "high", `${label} to`));
    } else {
      parts.push(input(test.value, (v) => { test.value = v; }, "value", label));
    }
    if (scale === 100) parts.push(h("span", { text: test.op === "between" ? "% from the top" : "%" }));
    return h("span", { class: "uplift-test" }, parts);
  }

  function fieldControls(node, path) {
    const info = fieldInfo(node);
    const parts = [];
    if (info.custom) {
      parts.push(
        field("text", String(node.field).slice("attributes.".length), (v) => {
          node.field = `attributes.${v.trim()}`;
          changed();
        }, { class: "short", placeholder: "key", "aria-label": "Attribute key", key: `${path}|key` }),
        h("span", { text: "as" }),
        choose(VALUE_KINDS, info.kind, (kind) => {
          valueKinds.set(node, kind);
          resetOp(node, { kind, choices: [], custom: true });
          changed({ structure: true });
        }, { "aria-label": "Value type", key: `${path}|value-kind` }));
    }
    parts.push(choose(opsFor(info).map((op) => [op, opWord(op, info.kind)]), node.op, (op) => {
      setOp(node, op, info);
      changed({ structure: true });
    }, { "aria-label": "Operator", key: `${path}|op` }));
    parts.push(valueControls(node, path, info));
    return parts;
  }

  function resetOp(node, info) {
    const ops = opsFor(info);
    setOp(node, ops.includes(node.op) ? node.op : ops[0], info, true);
  }

  function setOp(node, op, info, reset = false) {
    const before = node.value;
    node.op = op;
    delete node.value;
    if (op in RELATIVE_DAYS) {
      node.days = node.days || 30;
      return;
    }
    delete node.days;
    if (NO_VALUE.includes(op)) return;
    const scalar = Array.isArray(before) ? before[0] : before;
    const keep = !reset && scalar !== undefined && scalar !== null;
    if (LIST_OPS.includes(op)) node.value = keep ? [scalar] : [];
    else if (op === "between") node.value = [keep ? scalar : null, Array.isArray(before) ? before[1] ?? null : null];
    else node.value = keep ? scalar : defaultValue(info, op);
  }

  function valueControls(node, path, info) {
    const op = node.op;
    if (NO_VALUE.includes(op)) return null;
    if (op in RELATIVE_DAYS) {
      return [
        field("number", node.days, (v) => { node.days = numberOrNull(v); changed(); },
          { min: "1", max: String(RELATIVE_DAYS[op]), step: "1", class: "short", "aria-label": "Days", key: `${path}|days` }),
        h("span", { text: op === "more_than_ago" ? "days ago" : "days" }),
      ];
    }
    if (op === "between") {
      if (!Array.isArray(node.value)) node.value = [null, null];
      return [
        scalarControl(info, node.value[0], (v) => { node.value[0] = v; changed(); }, `${path}|low`, "From"),
        h("span", { text: "and" }),
        scalarControl(info, node.value[1], (v) => { node.value[1] = v; changed(); }, `${path}|high`, "To"),
      ];
    }
    if (LIST_OPS.includes(op)) {
      if (!Array.isArray(node.value)) node.value = [];
      return listControl(info, node, path);
    }
    return scalarControl(info, node.value, (v) => { node.value = v; changed(); }, `${path}|value`, "Value");
  }

  function scalarControl(info, value, set, key, label) {
    const props = { "aria-label": label, key };
    switch (info.kind) {
      case "enum": return choose(info.choices.map((c) => [c, c.replace(/_/g, " ")]), value, set, props);
      case "boolean":
        return choose([["true", "true"], ["false", "false"]], value === undefined || value === null ? "" : String(value),
          (v) => set(v === "true"), props);
      case "number": return field("number", value, (v) => set(numberOrNull(v)), Object.assign({ step: "any", class: "short" }, props));
      case "date":
      case "datetime":
        if (typeof value === "string" && value.includes("T")) {
          return field("text", value, (v) => set(v.trim() || null), Object.assign({ placeholder: "2024-01-31T12:00:00+00:00" }, props));
        }
        return field("date", value, (v) => set(v || null), props);
      default: return field("text", value, (v) => set(v === "" ? null : v), props);
    }
  }

  function listControl(info, node, path) {
    if (info.kind === "enum") {
      const box = h("span", { class: "choices", role: "group", "aria-label": "Values" });
      for (const choice of info.choices) {
        const input = h("input", { type: "checkbox", value: choice, key: `${path}|choice-${choice}` });
        input.checked = node.value.includes(choice);
        input.addEventListener("change", () => {
          node.value = info.choices.filter((c) => c === choice ? input.checked : node.value.includes(c));
          changed();
        });
        box.append(h("label", { class: "choice" }, input, choice.replace(/_/g, " ")));
      }
      return box;
    }
    const shown = node.value.map((v) => String(v)).join(", ");
    return field("text", shown, (text) => {
      const items = text.split(",").map((s) => s.trim()).filter((s) => s !== "");
      node.value = info.kind === "number" ? items.map(numberOrNull) : items;
      changed();
    }, { placeholder: "values, separated by commas", "aria-label": "Values", key: `${path}|values`, class: "wide" });
  }

  function countControls(node, path, noun) {
    return h("span", { class: "counted" },
      h("span", { text: "at least" }),
      field("number", node.at_least, (v) => { setOptional(node, "at_least", numberOrNull(v)); changed(); },
        { min: "1", step: "1", class: "tiny", "aria-label": "At least", key: `${path}|at_least` }),
      h("span", { text: "and at most" }),
      field("number", node.at_most, (v) => { setOptional(node, "at_most", numberOrNull(v)); changed(); },
        { min: "0", step: "1", class: "tiny", "aria-label": "At most", key: `${path}|at_most` }),
      h("span", { text: noun }));
  }

  function windowControls(node, path) {
    const mode = !node.window ? "all" : node.window.last_days !== undefined ? "last" : "range";
    const parts = [choose([["all", "at any time"], ["last", "in the last"], ["range", "between dates"]], mode, (m) => {
      if (m === "all") delete node.window;
      else if (m === "last") node.window = { last_days: 30 };
      else node.window = {};
      changed({ structure: true });
    }, { "aria-label": "When", key: `${path}|window` })];
    if (mode === "last") {
      parts.push(field("number", node.window.last_days, (v) => { node.window.last_days = numberOrNull(v); changed(); },
        { min: "1", max: "36500", step: "1", class: "tiny", "aria-label": "Days", key: `${path}|last_days` }),
      h("span", { text: "days" }));
    } else if (mode === "range") {
      parts.push(
        field("date", node.window.since, (v) => { setOptional(node.window, "since", v); changed(); },
          { "aria-label": "Since", key: `${path}|since` }),
        h("span", { text: "to" }),
        field("date", node.window.until, (v) => { setOptional(node.window, "until", v); changed(); },
          { "aria-label": "Until", key: `${path}|until` }));
    }
    return h("span", { class: "window" }, parts);
  }

  function momentControls(node, path) {
    node.when = node.when || { days_ago: 30 };
    const mode = node.when.date !== undefined ? "date" : "days_ago";
    const input = mode === "date"
      ? field("date", node.when.date, (v) => { node.when.date = v || null; changed(); }, { "aria-label": "Date", key: `${path}|date` })
      : field("number", node.when.days_ago, (v) => { node.when.days_ago = numberOrNull(v); changed(); },
        { min: "0", max: "36500", step: "1", class: "tiny", "aria-label": "Days ago", key: `${path}|days_ago` });
    return h("span", { class: "moment" },
      choose([["days_ago", "days ago:"], ["date", "the date"]], mode, (m) => {
        node.when = m === "date" ? { date: new Date().toISOString().slice(0, 10) } : { days_ago: 30 };
        changed({ structure: true });
      }, { "aria-label": "Moment", key: `${path}|moment` }),
      input);
  }

  function purchaseControls(node, path) {
    const target = node.product !== undefined ? "product" : node.category !== undefined ? "category" : "any";
    const parts = [choose([["any", "anything"], ["category", "from category"], ["product", "the product"]], target, (t) => {
      delete node.product;
      delete node.category;
      if (t === "category") node.category = catalogue.categories[0] || "";
      if (t === "product") node.product = catalogue.products.length ? catalogue.products[0].sku : "";
      changed({ structure: true });
    }, { "aria-label": "What", key: `${path}|target` })];
    if (target === "category") {
      parts.push(catalogue.categories.length
        ? choose(catalogue.categories.map((c) => [c, c]), node.category, (v) => { node.category = v; changed(); },
          { "aria-label": "Category", key: `${path}|category` })
        : field("text", node.category, (v) => { node.category = v; changed(); }, { "aria-label": "Category", key: `${path}|category` }));
    } else if (target === "product") {
      parts.push(field("text", node.product, (v) => { node.product = v.trim(); changed(); },
        { list: "segment-products", class: "short", placeholder: "SKU", "aria-label": "Product SKU", key: `${path}|product` }));
    }
    parts.push(countControls(node, path, "orders"));
    parts.push(h("span", { text: "spending at least" }),
      field("number", node.min_spend, (v) => { setOptional(node, "min_spend", numberOrNull(v)); changed(); },
        { min: "0", step: "any", class: "tiny", "aria-label": "Minimum spend", key: `${path}|min_spend` }));
    parts.push(windowControls(node, path));
    return parts;
  }

  function eventTypeInput(node, path) {
    return field("text", node.event_type, (v) => { node.event_type = v.trim(); changed(); },
      { list: "segment-event-types", class: "short", placeholder: "event type", "aria-label": "Event type", key: `${path}|event_type` });
  }

  function eventControls(node, path) {
    return [eventTypeInput(node, path), countControls(node, path, "times"), windowControls(node, path),
      whereControls(node, path)];
  }

  function eventTimeControls(node, path) {
    return [
      h("span", { text: "the" }),
      choose([["first", "first"], ["last", "last"]], node.which, (v) => { node.which = v; changed(); },
        { "aria-label": "First or last", key: `${path}|which` }),
      eventTypeInput(node, path),
      h("span", { text: "was" }),
      choose([["before", "before"], ["after", "on or after"]], node.op, (v) => { node.op = v; changed(); },
        { "aria-label": "Before or after", key: `${path}|op` }),
      momentControls(node, path),
      whereControls(node, path),
    ];
  }

  function whereControls(node, path) {
    const filters = Array.isArray(node.where) ? node.where : [];
    const rows = filters.map((filter, i) => {
      const key = `${path}|where${i}`;
      if (!valueKinds.has(filter)) valueKinds.set(filter, kindOfValue(filter.value));
      const kind = valueKinds.get(filter);
      const info = { kind, choices: [] };
      const ops = PROPERTY_OPS.filter((op) => kind === "number" || !["lt", "lte", "gt", "gte"].includes(op))
        .filter((op) => kind === "string" || op !== "contains");
      return h("div", { class: "where" },
        h("span", { text: i ? "and" : "where" }),
        field("text", filter.property, (v) => { filter.property = v.trim(); changed(); },
          { class: "short", placeholder: "property", "aria-label": "Property", key: `${key}|property` }),
        choose(ops.map((op) => [op, OP_WORDS[op]]), filter.op, (op) => {
          const scalar = Array.isArray(filter.value) ? filter.value[0] : filter.value;
          filter.op = op;
          delete filter.value;
          if (LIST_OPS.includes(op)) filter.value = scalar !== undefined && scalar !== null ? [scalar] : [];
          else if (!NO_VALUE.includes(op)) filter.value = scalar ?? defaultValue(info, op) ?? null;
          changed({ structure: true });
        }, { "aria-label": "Property operator", key: `${key}|op` }),
        NO_VALUE.includes(filter.op) ? null : [
          choose(VALUE_KINDS, kind, (k) => {
            valueKinds.set(filter, k);
            if (!ops.includes(filter.op)) filter.op = "eq";
            filter.value = LIST_OPS.includes(filter.op) ? [] : defaultValue({ kind: k, choices: [] }, "eq");
            changed({ structure: true });
          }, { "aria-label": "Property value type", key: `${key}|kind` }),
          LIST_OPS.includes(filter.op)
            ? listControl(info, filter, key)
            : scalarControl(info, filter.value, (v) => { filter.value = v; changed(); }, `${key}|value`, "Property value"),
        ],
        h("button", {
          type: "button", class: "ghost small remove", text: "×", "aria-label": "Remove filter", key: `${key}|remove`,
          onclick: () => { filters.splice(i, 1); if (!filters.length) delete node.where; changed({ structure: true }); },
        }));
    });
    return h("div", { class: "wheres" }, rows,
      h("button", {
        type: "button", class: "ghost small", text: "+ Property filter", key: `${path}|add-where`,
        onclick: () => {
          node.where = [...filters, { property: "", op: "eq", value: null }];
          changed({ structure: true });
        },
      }));
  }

  function consentControls(node, path) {
    return [
      h("span", { text: "for" }),
      choose(catalogue.channels.map((c) => [c, c]), node.channel, (v) => { node.channel = v; changed(); },
        { "aria-label": "Channel", key: `${path}|channel` }),
      field("text", node.purpose ?? "marketing", (v) => { node.purpose = v.trim(); changed(); },
        { class: "short", "aria-label": "Purpose", key: `${path}|purpose` }),
      h("span", { text: "is" }),
      choose(catalogue.consent_states.map((s) => [s, s.replace(/_/g, " ")]), node.state, (v) => { node.state = v; changed(); },
        { "aria-label": "Consent state", key: `${path}|state` }),
    ];
  }

  function segmentControls(node, path) {
    const others = otherSegments();
    return [
      choose([["in", "is in"], ["out", "is not in"]], node.exclude ? "out" : "in", (v) => {
        node.exclude = v === "out";
        changed();
      }, { "aria-label": "In or not in", key: `${path}|exclude` }),
      others.length || node.segment_id
        ? choose(others.map((s) => [String(s.id), s.name]), node.segment_id, (v) => {
          node.segment_id = Number(v);
          changed();
        }, { "aria-label": "Segment", key: `${path}|segment` })
        : h("span", { class: "empty", text: "no other saved segment yet" }),
    ];
  }

  // --- raw JSON ---------------------------------------------------------------------------

  function refreshRaw() {
    if (!rawDirty) rawEl.value = JSON.stringify(definition, null, 2);
  }

  rawEl.addEventListener("input", () => { rawDirty = true; });
  document.getElementById("raw-json-apply").addEventListener("click", () => {
    try {
      const parsed = JSON.parse(rawEl.value);
      if (!parsed || typeof parsed !== "object" || !parsed.root) throw new Error('expected {"version": 1, "root": {...}}');
      definition = parsed;
      rawDirty = false;
      rawError.textContent = "";
      changed({ structure: true });
    } catch (err) {
      rawError.textContent = `Not applied: ${err.message}`;
    }
  });
  document.getElementById("raw-json-reset").addEventListener("click", () => {
    rawDirty = false;
    rawError.textContent = "";
    refreshRaw();
  });

  // --- preview and problems ---------------------------------------------------------------

  function schedulePreview() {
    clearTimeout(timer);
    statusEl.textContent = "Counting…";
    countEl.classList.add("stale");
    timer = setTimeout(runPreview, DEBOUNCE_MS);
  }

  async function runPreview() {
    const mine = ++sequence;
    if (inFlight) inFlight.abort();
    inFlight = new AbortController();
    try {
      const response = await fetch(urls.preview, {
        method: "POST",
        credentials: "same-origin",
        signal: inFlight.signal,
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ definition }),
      });
      const isJson = (response.headers.get("Content-Type") || "").includes("json");
      const body = isJson ? await response.json() : null;
      if (mine !== sequence) return;
      if (response.ok && body) {
        showProblems(saveProblems);
        showPreview(body);
      } else if (body && body.error && pristine) {
        showProblems([]);
        showInvalid();
        statusEl.textContent = "Fill in the condition to see the count.";
      } else if (body && body.error) {
        const found = body.error.problems.length ? body.error.problems : [{ location: "", message: body.error.message }];
        const seen = new Set(found.map((p) => `${p.location}|${p.message}`));
        showProblems([...found, ...saveProblems.filter((p) => !seen.has(`${p.location}|${p.message}`))]);
        showInvalid();
      } else {
        showProblems([{ location: "", message: `The preview failed (HTTP ${response.status}). Reload the page and try again.` }]);
        showInvalid();
      }
    } catch (err) {
      if (err.name === "AbortError") return;
      showProblems([{ location: "", message: "The preview could not reach the server." }]);
      showInvalid();
    }
  }

  function formatNumber(n) {
    return Number(n).toLocaleString("en-GB");
  }

  function showInvalid() {
    countEl.textContent = "—";
    countEl.classList.remove("stale");
    statusEl.textContent = "Fix the problems below to see the count.";
    funnelEl.replaceChildren();
    sampleEl.replaceChildren();
    for (const badge of treeEl.querySelectorAll(".node-count")) badge.textContent = "";
  }

  function showPreview(result) {
    countEl.textContent = formatNumber(result.count);
    countEl.classList.remove("stale");
    statusEl.textContent = `contact${result.count === 1 ? "" : "s"} match now · counted in ${result.seconds.toFixed(2)} s`;
    for (const badge of treeEl.querySelectorAll(".node-count")) badge.textContent = "";
    const widest = Math.max(1, ...result.funnel.map((s) => s.alone));
    funnelEl.replaceChildren(...result.funnel.map((step) => {
      const node = nodeElement(step.path);
      if (node) {
        node.querySelector(":scope > .node-head > .node-count").textContent =
          `${formatNumber(step.alone)} alone · ${formatNumber(step.cumulative)} so far`;
      }
      return h("li", { "data-path": step.path },
        h("span", { class: "step-label" }, h("span", { class: "ordinal", text: ordinal(step.path) }), " ", step.label),
        h("span", { class: "bar" }, h("span", { style: `width:${(100 * step.cumulative / widest).toFixed(1)}%` })),
        h("span", { class: "step-counts" },
          h("span", { class: "cumulative", text: formatNumber(step.cumulative) }),
          h("span", { class: "alone", text: ` (${formatNumber(step.alone)} alone)` })));
    }));
    sampleEl.replaceChildren(...result.sample.map((c) => h("li", {},
      h("a", { href: `${urls.contacts}/${c.id}`, text: [c.first_name, c.last_name].filter(Boolean).join(" ") || "(no name)" }),
      c.city ? h("span", { class: "count", text: ` · ${c.city}` }) : null,
      h("span", { class: "email", text: c.email || c.external_id || "" }))));
    if (!result.sample.length) sampleEl.append(h("li", { class: "empty", text: "Nobody matches." }));
  }

  function nodeElement(path) {
    return treeEl.querySelector(`[data-path="${CSS.escape(path)}"]`);
  }

  function owningNode(location) {
    // Walk up a location such as root.children[1].where[0].value to the nearest node shown.
    let path = location.replace(/^definition\.?/, "");
    while (path) {
      const el = nodeElement(path);
      if (el) return el;
      const shorter = path.replace(/(\.[^.[\]]+|\[\d+\])$/, "");
      if (shorter === path) break;
      path = shorter;
    }
    return null;
  }

  function showProblems(problems) {
    for (const el of treeEl.querySelectorAll(".node.invalid")) el.classList.remove("invalid");
    for (const el of treeEl.querySelectorAll(".node-problems")) el.replaceChildren();
    problemsEl.replaceChildren();
    for (const problem of problems) {
      const node = problem.location.startsWith("definition") || problem.location.startsWith("root")
        ? owningNode(problem.location) : null;
      const where = node ? ordinal(node.dataset.path) : "";
      if (node) {
        node.classList.add("invalid");
        node.querySelector(":scope > .node-problems").append(h("li", { text: problem.message }));
      }
      problemsEl.append(h("li", {},
        where ? h("span", { class: "ordinal", text: where }) : null, where ? " " : null, problem.message));
    }
    problemsEl.hidden = problems.length === 0;
  }

  // --- save form --------------------------------------------------------------------------

  if (form) {
    form.addEventListener("submit", () => {
      form.querySelector("input[name=definition]").value = JSON.stringify(definition);
    });
  }
  for (const confirmed of document.querySelectorAll("form[data-confirm]")) {
    confirmed.addEventListener("submit", (event) => {
      if (!window.confirm(confirmed.dataset.confirm)) event.preventDefault();
    });
  }

  // --- start ------------------------------------------------------------------------------

  function datalist(id, options) {
    const list = h("datalist", { id });
    for (const [value, label] of options) list.append(h("option", { value, label }));
    return list;
  }

  async function start() {
    treeEl.textContent = "Loading the field catalogue…";
    const response = await fetch(urls.catalogue, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (!response.ok) {
      treeEl.textContent = `The builder could not load its catalogue (HTTP ${response.status}). Reload the page.`;
      return;
    }
    catalogue = await response.json();
    host.append(
      datalist("segment-products", catalogue.products.map((p) => [p.sku, p.name])),
      datalist("segment-event-types", (catalogue.event_types || []).map((t) => [t, t])));
    definition = null;
    if (initial.definition) {
      try {
        definition = JSON.parse(initial.definition);
      } catch (err) {
        rawEl.value = initial.definition;
        rawDirty = true;
        document.getElementById("raw-json-details").open = true;
        rawError.textContent = `The definition is not valid JSON: ${err.message}`;
      }
    }
    if (!definition || typeof definition !== "object" || !definition.root) {
      definition = { version: 1, root: { type: "all", children: [defaultCondition()] } };
    }
    render();
    refreshRaw();
    host.classList.add("ready");
    showProblems(saveProblems);
    runPreview();
  }

  start();
})();
