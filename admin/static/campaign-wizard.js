// Campaign wizard: steps through definition, planning, audience, content, schedule, review and
// launch; builds the campaign spec (docs/api.md), saves it as a draft when leaving the content
// step (or on "Save draft") and shows every problem the server finds next to its field.
(() => {
  "use strict";

  const { h, call, errorOf, number, dryRunReport } = window.CampaignAdmin;
  const host = document.getElementById("campaign-wizard");
  if (!host) return;

  const initial = JSON.parse(document.getElementById("wizard-initial").textContent);
  const catalogue = initial.catalogue;
  const CHANNELS = ["email", "sms", "social"];
  const STEPS = [...host.querySelectorAll(".wizard-step")].map((el) => el.dataset.step);
  const CONTENT = STEPS.indexOf("content");
  const $ = (id) => document.getElementById(id);

  let campaignId = initial.campaign_id;
  let status = initial.status || "draft";
  let current = 0;
  let dirty = false;
  let busy = false;
  let variants = [{ name: "A", share: 100, messages: { email: null, sms: null, social: null } }];

  // --- reading fields -------------------------------------------------------------------

  function text(id) {
    return $(id).value.trim();
  }

  function numberOrText(id) {
    // Blank is null; what is not a number goes as typed so the server names the field.
    const raw = text(id).replace(/,/g, "");
    if (raw === "") return null;
    return Number.isNaN(Number(raw)) ? raw : Number(raw);
  }

  function scheduleKind() {
    return host.querySelector("input[name=schedule-kind]:checked").value;
  }

  function sendAt(kind) {
    if (kind === "once") {
      const value = $("c-send-at").value;
      if (!value) return null;
      const moment = new Date(value);
      return Number.isNaN(moment.getTime()) ? value : moment.toISOString();
    }
    if (kind === "local_time") {
      const day = $("c-local-date").value;
      return day ? `${day}T00:00:00Z` : null;
    }
    return null;
  }

  function buildSpec() {
    const audience = { segments: [], exclude_segments: [], holdout_percent: numberOrText("c-holdout") ?? 0 };
    for (const choice of host.querySelectorAll("select.segment-use")) {
      if (choice.value === "include") audience.segments.push(Number(choice.dataset.segmentId));
      if (choice.value === "exclude") audience.exclude_segments.push(Number(choice.dataset.segmentId));
    }
    const kind = scheduleKind();
    const spec = {
      name: text("c-name"),
      type: $("c-type").value,
      purpose: $("c-purpose").value,
      objective: text("c-objective"),
      fixed_cost: numberOrText("c-fixed-cost") ?? 0,
      audience,
      attribution: {
        click_days: numberOrText("c-attr-click") ?? 7,
        open_days: numberOrText("c-attr-open") ?? 3,
        delivery_days: numberOrText("c-attr-delivery") ?? 1,
      },
      outcome_days: numberOrText("c-outcome") ?? 7,
      variants: variants.map((v) => ({
        name: v.name,
        share: v.share,
        messages: CHANNELS.filter((c) => v.messages[c]).map((c) => ({ channel: c, template_id: v.messages[c] })),
      })),
      ab_test: $("c-ab").checked
        ? { percent: numberOrText("c-ab-percent"), hours: numberOrText("c-ab-hours"), metric: $("c-ab-metric").value }
        : null,
      schedule: {
        kind,
        send_at: sendAt(kind),
        cron: kind === "cron" ? text("c-cron") : null,
        timezone: kind === "cron" ? text("c-timezone") || "UTC" : "UTC",
        local_hour: kind === "local_time" ? numberOrText("c-local-hour") : null,
      },
    };
    if (text("c-code")) spec.code = text("c-code");
    if ($("c-targeting").value) {
      const rule = $("c-uplift-rule").value;
      spec.targeting = { model: $("c-targeting").value, rule, cost: numberOrText("c-uplift-cost") ?? 0 };
      if (rule === "net_value") spec.targeting.value = numberOrText("c-uplift-value");
      if (rule === "top_share") spec.targeting.top_share = numberOrText("c-uplift-share");
      if (rule === "threshold") spec.targeting.threshold = numberOrText("c-uplift-threshold");
    }
    const budget = numberOrText("c-budget");
    if (budget !== null) spec.budget = budget;
    return spec;
  }

  // --- filling fields from a saved plan ----------------------------------------------------

  function localInput(iso) {
    const moment = new Date(iso);
    const pad = (n) => String(n).padStart(2, "0");
    return `${moment.getFullYear()}-${pad(moment.getMonth() + 1)}-${pad(moment.getDate())}T${pad(moment.getHours())}:${pad(moment.getMinutes())}`;
  }

  function load(spec) {
    $("c-name").value = spec.name || "";
    $("c-type").value = spec.type;
    $("c-purpose").value = spec.purpose;
    $("c-objective").value = spec.objective || "";
    $("c-code").value = spec.code || "";
    $("c-budget").value = spec.budget ?? "";
    $("c-fixed-cost").value = spec.fixed_cost ?? 0;
    $("c-holdout").value = spec.audience.holdout_percent;
    if (spec.attribution) {
      $("c-attr-click").value = spec.attribution.click_days;
      $("c-attr-open").value = spec.attribution.open_days;
      $("c-attr-delivery").value = spec.attribution.delivery_days;
    }
    if (spec.outcome_days) $("c-outcome").value = spec.outcome_days;
    if (spec.targeting) {
      $("c-targeting").value = spec.targeting.model;
      $("c-uplift-rule").value = spec.targeting.rule;
      $("c-uplift-value").value = spec.targeting.value ?? "";
      $("c-uplift-cost").value = spec.targeting.cost ?? 0;
      $("c-uplift-share").value = spec.targeting.top_share ?? "";
      $("c-uplift-threshold").value = spec.targeting.threshold ?? "";
    }
    showTargeting();
    for (const choice of host.querySelectorAll("select.segment-use")) {
      const id = Number(choice.dataset.segmentId);
      if (spec.audience.segments.includes(id)) choice.value = "include";
      if (spec.audience.exclude_segments.includes(id)) choice.value = "exclude";
    }
    variants = spec.variants.map((v) => ({
      name: v.name,
      share: v.share,
      messages: Object.fromEntries(CHANNELS.map((c) => [c, (v.messages.find((m) => m.channel === c) || {}).template_id || null])),
    }));
    $("c-ab").checked = Boolean(spec.ab_test);
    if (spec.ab_test) {
      $("c-ab-percent").value = spec.ab_test.percent;
      $("c-ab-hours").value = spec.ab_test.hours;
      $("c-ab-metric").value = spec.ab_test.metric;
    }
    const schedule = spec.schedule;
    host.querySelector(`input[name=schedule-kind][value="${schedule.kind}"]`).checked = true;
    if (schedule.kind === "once" && schedule.send_at) $("c-send-at").value = localInput(schedule.send_at);
    if (schedule.kind === "local_time" && schedule.send_at) $("c-local-date").value = schedule.send_at.slice(0, 10);
    if (schedule.local_hour !== null && schedule.local_hour !== undefined) $("c-local-hour").value = schedule.local_hour;
    $("c-cron").value = schedule.cron || "";
    $("c-timezone").value = schedule.timezone || "UTC";
  }

  // --- audience: segments and variants -----------------------------------------------------

  function renderSegments() {
    const body = host.querySelector("#segment-choices tbody");
    if (!catalogue.segments.length) {
      body.replaceChildren(h("tr", {}, h("td", { colspan: "3", class: "empty" },
        "No segments yet. ", h("a", { href: host.dataset.segmentsUrl, text: "Build one first." }))));
      return;
    }
    body.replaceChildren(...catalogue.segments.map((s) => h("tr", {},
      h("td", { text: s.name }),
      h("td", { class: "num", text: s.last_count === null ? "—" : number(s.last_count) }),
      h("td", {}, h("select", { class: "segment-use", "data-segment-id": String(s.id), "aria-label": `Use of segment ${s.name}` },
        h("option", { value: "", text: "not used" }),
        h("option", { value: "include", text: "Include" }),
        h("option", { value: "exclude", text: "Exclude" }))))));
  }

  function nextName() {
    const taken = new Set(variants.map((v) => v.name));
    return "ABCDEFGHIJ".split("").find((letter) => !taken.has(letter)) || `V${variants.length + 1}`;
  }

  function rebalance() {
    const even = Math.floor(10000 / variants.length) / 100;
    variants.forEach((v, i) => {
      v.share = i === variants.length - 1 ? Math.round((100 - even * (variants.length - 1)) * 100) / 100 : even;
    });
  }

  function renderVariants() {
    $("variant-rows").replaceChildren(...variants.map((v, i) => h("div", { class: "field variant-row", "data-loc": `variants[${i}]` },
      h("span", { class: "field inline-field", "data-loc": `variants[${i}].name` },
        h("label", { for: `variant-name-${i}`, text: "Variant" }),
        h("input", { id: `variant-name-${i}`, class: "tiny", value: v.name, oninput: (e) => { v.name = e.target.value.trim(); } }),
        h("ul", { class: "field-problems" })),
      h("span", { class: "field inline-field", "data-loc": `variants[${i}].share` },
        h("label", { for: `variant-share-${i}`, text: `Share of variant ${v.name} %` }),
        h("input", { id: `variant-share-${i}`, class: "tiny", inputmode: "decimal", value: String(v.share),
          oninput: (e) => { const n = Number(e.target.value); v.share = e.target.value.trim() === "" || Number.isNaN(n) ? e.target.value : n; } }),
        h("ul", { class: "field-problems" })),
      variants.length > 1
        ? h("button", { type: "button", class: "ghost small remove", text: "×", "aria-label": `Remove variant ${v.name}`,
          onclick: () => { variants.splice(i, 1); rebalance(); changed(); renderVariants(); } })
        : null,
      h("ul", { class: "field-problems" }))));
  }

  // --- content: a template per channel per variant, with a preview -------------------------

  function renderContent() {
    const purpose = $("c-purpose").value;
    $("variant-content").replaceChildren(...variants.map((v, i) => h("fieldset", { class: "field variant-content", "data-loc": `variants[${i}].messages` },
      h("legend", { text: `Variant ${v.name}` }),
      CHANNELS.map((channel) => {
        const choices = catalogue.templates[channel];
        const select = h("select", { id: `template-${i}-${channel}`, "aria-label": `Variant ${v.name} ${channel} template`,
          "data-variant": String(i), "data-channel": channel },
        h("option", { value: "", text: choices.length ? "— none —" : "— no templates —" }),
        choices.map((t) => h("option", { value: String(t.id), text: t.purpose === purpose ? t.name : `${t.name} (${t.purpose})` })));
        select.value = v.messages[channel] ? String(v.messages[channel]) : "";
        select.addEventListener("change", () => {
          v.messages[channel] = select.value ? Number(select.value) : null;
          changed();
          if (select.value) preview(Number(select.value), `${v.name} · ${channel}`);
        });
        return h("div", { class: "field channel-choice", "data-channel": channel },
          h("label", { for: select.id, text: channel }), select,
          h("button", { type: "button", class: "ghost small", text: "Preview",
            onclick: () => { if (select.value) preview(Number(select.value), `${v.name} · ${channel}`); } }),
          h("ul", { class: "field-problems" }));
      }),
      h("ul", { class: "field-problems" }))));
  }

  let previewing = null;

  async function preview(templateId, label) {
    previewing = { templateId, label };
    $("preview-which").textContent = label;
    $("preview-error").textContent = "";
    const url = `${host.dataset.templatesUrl}/${templateId}/preview`;
    const reply = await call("POST", url, { contact_id: text("preview-contact") || null });
    if (previewing.templateId !== templateId) return;
    if (!reply.ok) {
      const error = errorOf(reply);
      const details = (error.problems || []).map((p) => `${p.location}: ${p.message}`);
      $("preview-error").textContent = [error.message, ...details].join(" · ");
      $("preview-subject").textContent = "";
      $("preview-html").hidden = true;
      $("preview-text").textContent = "";
      return;
    }
    $("preview-subject").textContent = reply.body.subject || "(no subject)";
    $("preview-html").hidden = !reply.body.html;
    $("preview-html").srcdoc = reply.body.html || "";
    $("preview-text").textContent = reply.body.text || "";
  }

  // --- problems ----------------------------------------------------------------------------

  function target(location) {
    if (location === "") return host.querySelector("[data-loc-root]");
    let best = null;
    let bestLength = -1;
    for (const el of host.querySelectorAll("[data-loc]")) {
      for (const loc of el.dataset.loc.split(" ")) {
        const fits = location === loc || location.startsWith(`${loc}.`) || location.startsWith(`${loc}[`);
        if (fits && loc.length > bestLength) { best = el; bestLength = loc.length; }
      }
    }
    return best;
  }

  function labelMessages() {
    // A message's location counts only the channels chosen before it in its variant.
    variants.forEach((v, i) => {
      let j = 0;
      for (const channel of CHANNELS) {
        const field = host.querySelector(`#template-${i}-${channel}`)?.closest(".field");
        if (!field) continue;
        if (v.messages[channel]) field.dataset.loc = `variants[${i}].messages[${j++}]`;
        else delete field.dataset.loc;
      }
    });
  }

  function clearProblems() {
    for (const list of host.querySelectorAll(".field-problems")) list.replaceChildren();
    for (const el of host.querySelectorAll(".invalid")) el.classList.remove("invalid");
    for (const badge of host.querySelectorAll(".step-problems")) badge.textContent = "";
    for (const tab of host.querySelectorAll(".step-tab")) tab.classList.remove("has-problems");
    $("wizard-problems").hidden = true;
    $("wizard-problems").querySelector("ul").replaceChildren();
  }

  function showProblems(error) {
    clearProblems();
    renderContent();
    labelMessages();
    const general = $("wizard-problems");
    $("wizard-problems-title").textContent = `Not saved: ${error.message}.`;
    general.hidden = false;
    let first = null;
    const perStep = {};
    for (const problem of error.problems || []) {
      const el = target(problem.location);
      const step = el ? el.closest(".wizard-step").dataset.step : null;
      if (el) {
        el.classList.add("invalid");
        el.querySelector(":scope > .field-problems").append(h("li", { text: problem.message }));
        perStep[step] = (perStep[step] || 0) + 1;
        if (first === null || STEPS.indexOf(step) < STEPS.indexOf(first)) first = step;
      } else {
        general.querySelector("ul").append(h("li", {}, h("code", { text: problem.location }), `: ${problem.message}`));
      }
    }
    for (const [step, count] of Object.entries(perStep)) {
      const tab = host.querySelector(`.step-tab[data-goto="${step}"]`);
      tab.classList.add("has-problems");
      tab.querySelector(".step-problems").textContent = `(${count})`;
    }
    if (first) show(STEPS.indexOf(first));
  }

  // --- saving, the dry run and launching ---------------------------------------------------

  function setStatus(message) {
    $("wizard-status").textContent = message;
  }

  function changed() {
    dirty = true;
    setStatus("");
  }

  function campaignUrl(suffix) {
    return `${host.dataset.campaignsUrl}/${campaignId}${suffix}`;
  }

  async function save() {
    setStatus("Saving…");
    const url = campaignId ? campaignUrl("/draft") : host.dataset.saveNewUrl;
    const reply = await call("POST", url, { spec: buildSpec() });
    if (!reply.ok) {
      setStatus("Not saved.");
      showProblems(errorOf(reply));
      return false;
    }
    clearProblems();
    campaignId = reply.body.id;
    status = reply.body.status;
    dirty = false;
    window.history.replaceState(null, "", reply.body.edit_url);
    $("wizard-title").textContent = `${text("c-name")} `;
    $("wizard-title").append(h("small", { text: `campaign ${campaignId}, ${status}` }));
    setStatus(`Draft saved at ${new Date().toLocaleTimeString("en-GB")}.`);
    return true;
  }

  async function review() {
    const result = $("review-result");
    result.replaceChildren(h("p", { class: "count", text: "Running a dry run…" }));
    const reply = await call("POST", campaignUrl("/dry-run"), {});
    result.replaceChildren(reply.ok ? dryRunReport(reply.body) : h("p", { class: "alert", text: errorOf(reply).message }));
  }

  function prepareLaunch() {
    const kind = scheduleKind();
    const sentences = {
      none: "it is sent as soon as you launch it.",
      once: `it is sent once, at ${new Date(sendAt("once")).toLocaleString("en-GB")} (your time).`,
      cron: `it is sent on the cron schedule “${text("c-cron")}” in ${text("c-timezone") || "UTC"}.`,
      local_time: `it is sent on ${$("c-local-date").value} at ${text("c-local-hour")}:00 in each contact's time zone.`,
    };
    $("launch-summary").textContent = `“${text("c-name")}”: ${sentences[kind]}`;
    $("launch-now-form").action = campaignUrl("/launch");
    $("launch-schedule-form").action = campaignUrl("/schedule");
    $("launch-schedule-form").hidden = kind === "none";
    $("launch-now").textContent = kind === "none" ? "Send now" : "Send now instead";
    $("launch-now").className = kind === "none" ? "" : "ghost";
    $("launch-later").href = campaignUrl("");
    $("launch-page-link").href = campaignUrl("");
    $("launch-actions").hidden = status !== "draft";
    $("launch-not-draft").hidden = status === "draft";
  }

  // --- stepping ------------------------------------------------------------------------------

  function show(index) {
    current = index;
    host.querySelectorAll(".wizard-step").forEach((el, i) => { el.hidden = i !== index; });
    host.querySelectorAll(".step-tab").forEach((tab, i) => {
      if (i === index) tab.setAttribute("aria-current", "step");
      else tab.removeAttribute("aria-current");
    });
    $("wizard-back").disabled = index === 0;
    $("wizard-next").hidden = index === STEPS.length - 1;
  }

  async function goTo(index) {
    if (busy || index === current) return;
    // Leaving the content step forwards (or anything later) needs the plan saved as it is now.
    if (index > current && index > CONTENT && (dirty || !campaignId)) {
      busy = true;
      const saved = await save();
      busy = false;
      if (!saved) return;
    }
    if (STEPS[index] === "content") renderContent();
    show(index);
    if (STEPS[index] === "review") review();
    if (STEPS[index] === "launch") prepareLaunch();
  }

  // --- start -------------------------------------------------------------------------------

  renderSegments();
  if (initial.spec) load(initial.spec);
  renderVariants();
  renderContent();

  function showScheduleParts() {
    const kind = scheduleKind();
    for (const part of host.querySelectorAll(".schedule-part")) part.hidden = part.dataset.kind !== kind;
  }
  showScheduleParts();

  function showTargeting() {
    $("uplift-fields").hidden = !$("c-targeting").value;
    const rule = $("c-uplift-rule").value;
    const wanted = { "c-uplift-value": "net_value", "c-uplift-cost": "net_value", "c-uplift-share": "top_share", "c-uplift-threshold": "threshold" };
    for (const [id, needs] of Object.entries(wanted)) $(id).closest(".field").hidden = rule !== needs;
  }
  showTargeting();
  $("ab-fields").hidden = !$("c-ab").checked;
  for (const zone of host.querySelectorAll(".browser-zone")) {
    zone.textContent = Intl.DateTimeFormat().resolvedOptions().timeZone;
  }
  if (Intl.supportedValuesOf) {
    $("time-zones").replaceChildren(...Intl.supportedValuesOf("timeZone").map((z) => h("option", { value: z })));
  }

  host.addEventListener("input", changed);
  host.addEventListener("change", (event) => {
    changed();
    if (event.target.name === "schedule-kind") showScheduleParts();
    if (event.target.id === "c-ab") $("ab-fields").hidden = !event.target.checked;
    if (event.target.id === "c-targeting" || event.target.id === "c-uplift-rule") showTargeting();
  });
  $("add-variant").addEventListener("click", () => {
    variants.push({ name: nextName(), share: 0, messages: { email: null, sms: null, social: null } });
    rebalance();
    changed();
    renderVariants();
  });
  $("preview-contact").addEventListener("change", () => {
    if (previewing) preview(previewing.templateId, previewing.label);
  });
  for (const tab of host.querySelectorAll(".step-tab")) {
    tab.addEventListener("click", () => goTo(STEPS.indexOf(tab.dataset.goto)));
  }
  $("wizard-back").addEventListener("click", () => goTo(current - 1));
  $("wizard-next").addEventListener("click", () => goTo(current + 1));
  $("wizard-save").addEventListener("click", async () => {
    if (busy) return;
    busy = true;
    await save();
    busy = false;
  });
  $("review-again").addEventListener("click", review);
  show(0);
  host.classList.add("ready");
})();
