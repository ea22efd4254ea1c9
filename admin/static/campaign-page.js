// Campaign page: polls live progress, runs a dry run, and answers "why?" for one contact.
(() => {
  "use strict";

  const { h, call, errorOf, number, dryRunReport } = window.CampaignAdmin;
  const progress = document.getElementById("progress");
  if (!progress) return;

  const FINAL = ["completed", "cancelled"];
  const statusEl = document.getElementById("campaign-status");
  const skippedEl = document.getElementById("progress-skipped");
  const updatedEl = document.getElementById("progress-updated");
  const interval = Number(progress.dataset.interval) || 3000;
  let quietPolls = 0;

  function showProgress(body) {
    for (const key of ["sent", "queued", "sending", "retrying", "failed", "cancelled"]) {
      document.getElementById(`progress-${key}`).textContent = number(body[key]);
    }
    statusEl.textContent = body.status;
    statusEl.className = `status status-${body.status}`;
    // The actions were drawn for the status the page opened with.
    document.getElementById("status-now").textContent = body.status;
    document.getElementById("status-changed").hidden = body.status === statusEl.dataset.shown;
    skippedEl.replaceChildren(...(body.skipped.length
      ? body.skipped.map((line) => h("li", { "data-reason": line.reason, text: line.sentence }))
      : [h("li", { class: "empty", text: "Nobody skipped." })]));
    updatedEl.textContent = `· updated ${new Date().toLocaleTimeString("en-GB")}`;
  }

  async function poll() {
    const reply = await call("GET", progress.dataset.url);
    if (reply.ok) {
      showProgress(reply.body);
      // A finished campaign changes no more; check now and then in case of a late retry.
      quietPolls = FINAL.includes(reply.body.status) ? quietPolls + 1 : 0;
    } else {
      updatedEl.textContent = "· could not refresh";
    }
    window.setTimeout(poll, quietPolls > 3 ? interval * 5 : interval);
  }
  window.setTimeout(poll, interval);

  const dryRun = document.getElementById("dry-run");
  const dryButton = document.getElementById("dry-run-button");
  const dryResult = document.getElementById("dry-run-result");
  dryButton.addEventListener("click", async () => {
    dryButton.disabled = true;
    dryResult.replaceChildren(h("p", { class: "count", text: "Running…" }));
    const reply = await call("POST", dryRun.dataset.url, {});
    dryButton.disabled = false;
    dryResult.replaceChildren(reply.ok
      ? dryRunReport(reply.body)
      : h("p", { class: "alert", text: errorOf(reply).message }));
  });

  const why = document.getElementById("why");
  const whyForm = document.getElementById("why-form");
  const whyAnswer = document.getElementById("why-answer");
  whyForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const contactId = document.getElementById("why-contact").value.trim();
    const url = `${why.dataset.url}?contact_id=${encodeURIComponent(contactId)}`;
    const reply = await call("GET", url);
    if (!reply.ok) {
      const error = errorOf(reply);
      const details = (error.problems || []).map((p) => p.message);
      whyAnswer.replaceChildren(h("li", { class: "alert", text: [error.message, ...details].join(": ") }));
      return;
    }
    const lines = reply.body.explanation;
    const group = reply.body.group
      ? h("li", { class: "count", text: `Group: ${reply.body.group}${reply.body.variant ? `, variant ${reply.body.variant}` : ""}.` })
      : null;
    whyAnswer.replaceChildren(group || "", ...(lines.length
      ? lines.map((line) => h("li", { text: line }))
      : [h("li", { class: "empty", text: "Nothing was decided for this contact yet." })]));
  });
})();
