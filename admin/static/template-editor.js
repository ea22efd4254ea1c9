// Template editor: renders the template being edited as a contact (or the sample contact)
// while it is typed, with the HTML in a sandboxed frame that runs no script.
(() => {
  "use strict";

  const { h, call, errorOf } = window.CampaignAdmin;
  const form = document.getElementById("template-form");
  if (!form) return;

  const $ = (id) => document.getElementById(id);
  const DEBOUNCE_MS = 400;
  let timer = null;
  let sequence = 0;

  function fields() {
    const data = {};
    for (const name of ["kind", "channel", "purpose", "subject", "html", "text"]) {
      data[name] = form.elements[name].value;
    }
    data.contact_id = $("preview-contact").value.trim() || null;
    return data;
  }

  async function refresh() {
    const mine = ++sequence;
    $("preview-status").textContent = "Rendering…";
    const reply = await call("POST", form.dataset.previewUrl, fields());
    if (mine !== sequence) return;
    const problems = $("preview-problems");
    if (!reply.ok) {
      const error = errorOf(reply);
      $("preview-status").textContent = `Cannot preview: ${error.message}.`;
      problems.replaceChildren(...(error.problems || []).map((p) => h("li", {},
        p.location ? h("code", { text: p.location }) : null, p.location ? ": " : null, p.message)));
      problems.hidden = !(error.problems || []).length;
      return;
    }
    problems.hidden = true;
    problems.replaceChildren();
    const who = reply.body.contact_id ? `contact ${reply.body.contact_id}` : "the sample contact";
    $("preview-status").textContent = `As ${who}.`;
    $("preview-subject").textContent = reply.body.subject || "(none)";
    $("preview-html").srcdoc = reply.body.html || "<p style='color:#5d6776;font-family:sans-serif'>(no HTML part)</p>";
    $("preview-text").textContent = reply.body.text || "";
  }

  function later() {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, DEBOUNCE_MS);
  }

  form.addEventListener("input", later);
  form.addEventListener("change", later);
  $("preview-contact").addEventListener("change", refresh);
  refresh();
})();
