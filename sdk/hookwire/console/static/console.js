// The console's one script: show only the fields of the chosen authentication.
// The pages work without it; every field is in the form either way.

function showAuthFields(form) {
  const chosen = form.querySelector('input[name="auth"]:checked');
  for (const part of form.querySelectorAll("[data-auth]")) {
    part.hidden = !chosen || part.dataset.auth !== chosen.value;
  }
}

for (const form of document.querySelectorAll("form.webhook-form")) {
  showAuthFields(form);
  for (const radio of form.querySelectorAll('input[name="auth"]')) {
    radio.addEventListener("change", () => showAuthFields(form));
  }
}

for (const secret of document.querySelectorAll("input.secret")) {
  secret.addEventListener("focus", () => secret.select());
}
