// Influence Ledger dashboard: the roll-up refresh. The button enqueues the roll-up (POST with the
// form's CSRF token), then this polls the job's JSON status, shows the progress and reloads the page.
"use strict";

(function () {
  const form = document.getElementById("refresh-form");
  if (!form || !window.fetch) return;
  const box = document.getElementById("refresh-progress");
  const bar = box.querySelector("progress");
  const text = document.getElementById("refresh-text");
  const button = form.querySelector("button");

  function show(percent, message) {
    box.hidden = false;
    bar.value = percent;
    text.textContent = message;
  }

  function fail(message) {
    show(100, message);
    button.disabled = false;
  }

  async function poll(url, started) {
    let job;
    try {
      const resp = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!resp.ok) return fail("Could not follow the roll-up (" + resp.status + ").");
      job = await resp.json();
    } catch (err) {
      return fail("Could not follow the roll-up: " + err.message);
    }
    show(job.percent, job.message);
    if (job.status === "finished") {
      text.textContent = job.message + " Reloading…";
      window.setTimeout(function () { window.location.reload(); }, 400);
      return;
    }
    if (job.done) return fail(job.message);
    const waited = Date.now() - started;
    if (waited > 10 * 60 * 1000) return fail("Still " + job.status + " after 10 minutes; is a worker running?");
    window.setTimeout(function () { poll(url, started); }, waited < 10000 ? 500 : 2000);
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    button.disabled = true;
    show(2, "Queuing the roll-up…");
    try {
      const resp = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      if (resp.status !== 202) return fail("The roll-up could not be queued (" + resp.status + ").");
      const job = await resp.json();
      poll(job.url, Date.now());
    } catch (err) {
      fail("The roll-up could not be queued: " + err.message);
    }
  });
})();
