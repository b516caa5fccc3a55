// Copy buttons of the influencer's links: shown only when the browser can copy (without script the
// short URL stays selectable with one click). Served by the service itself; no inline script.
"use strict";
document.querySelectorAll("button.copy[data-copy]").forEach((button) => {
  if (!navigator.clipboard) return;
  button.hidden = false;
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(button.dataset.copy);
      button.textContent = "Copied";
    } catch (err) {
      button.textContent = "Select the link to copy it";
    }
    setTimeout(() => { button.textContent = "Copy link"; }, 2000);
  });
});
