// Shared by the campaign pages and the template editor: DOM building, JSON calls with the
// session's CSRF token, and the dry-run report. No build step.
(() => {
  "use strict";

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

  function csrf() {
    const field = document.querySelector("input[name=csrf_token]");
    return field ? field.value : "";
  }

  // Resolve to {ok, status, body}; body is the parsed JSON or null. Never throws on HTTP errors.
  async function call(method, url, payload) {
    const init = {
      method,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRF-Token": csrf() },
    };
    if (payload !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(payload);
    }
    try {
      const response = await fetch(url, init);
      const isJson = (response.headers.get("Content-Type") || "").includes("json");
      return { ok: response.ok, status: response.status, body: isJson ? await response.json() : null };
    } catch (err) {
      return { ok: false, status: 0, body: null };
    }
  }

  function errorOf(reply) {
    if (reply.body && reply.body.error) return reply.body.error;
    const why = reply.status ? `the server answered HTTP ${reply.status}` : "the server could not be reached";
    return { message: `Something went wrong: ${why}. Reload the page and try again.`, problems: [] };
  }

  function number(n) {
    return Number(n || 0).toLocaleString("en-GB");
  }

  function money(n) {
    return Number(n || 0).toLocaleString("en-GB", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }

  function dryRunReport(report) {
    const channels = Object.entries(report.messages);
    const deferred = Object.entries(report.deferred || {}).filter(([, n]) => n);
    return h("div", { class: "dry-run-report" },
      h("dl", { class: "fields" },
        h("dt", { text: "Audience" }), h("dd", { class: "dry-audience", text: number(report.audience) }),
        h("dt", { text: "Held out" }), h("dd", { class: "dry-holdout", text: number(report.holdout) }),
        h("dt", { text: "Messages" }), h("dd", { class: "dry-messages" },
          channels.length
            ? channels.map(([channel, n]) => h("span", { class: "tag", "data-channel": channel, text: `${channel}: ${number(n)}` }))
            : "none"),
        deferred.length ? [h("dt", { text: "Deferred" }), h("dd", { text: deferred.map(([c, n]) => `${c}: ${number(n)} after quiet hours`).join(", ") })] : null,
        h("dt", { text: "Estimated cost" }), h("dd", { class: "dry-cost", text: money(report.estimated_cost) })),
      h("h3", { text: "Skipped" }),
      h("ul", { class: "sentences dry-skipped" },
        report.skipped.length
          ? report.skipped.map((line) => h("li", { "data-reason": line.reason, text: line.sentence }))
          : h("li", { class: "empty", text: "Nobody would be skipped." })));
  }

  window.CampaignAdmin = { h, call, errorOf, number, money, dryRunReport };

  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
})();
