// Sign-in form: posts JSON to the auth API; the session cookie is the only thing kept.
(function () {
  "use strict";
  const form = document.getElementById("login-form");
  const error = document.getElementById("login-error");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const resp = await fetch("/api/v1/auth/login", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ email: form.email.value, password: form.password.value }),
      });
      if (resp.ok) {
        window.location.assign(form.dataset.next || "/app");
        return;
      }
      let detail = "Sign-in failed; try again.";
      try {
        detail = (await resp.json()).detail || detail;
      } catch (_) { /* not JSON */ }
      error.textContent = detail;
      error.hidden = false;
    } catch (_) {
      error.textContent = "The hub cannot be reached; check your connection and try again.";
      error.hidden = false;
    } finally {
      button.disabled = false;
    }
  });
})();
