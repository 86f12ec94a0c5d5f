/* Call-back form of Accent Plastic & Reconstructive Surgery: progressive enhancement of every
   form.callback-form. No dependencies. Without it the form still works as a plain HTML post. */
(() => {
  "use strict";
  if (!window.fetch || !window.FormData) return;

  // Signed by the API when it served this script (spam.py): how long the form took to fill.
  const RENDER_TOKEN = "__RENDER_TOKEN__";
  const NAME_RE = /^[\p{L}\p{M} .'’ʼ-]+$/u;
  const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
  const PHONE_RE = /^\+?[\d\s().\-/]+$/;
  const LABELS = {
    name: "Name", phone: "Phone", email: "Email", best_time: "Best time to call",
    interest: "Interested in", message: "Message", consent: "Consent",
  };
  const WHEN = { morning: "in the morning", afternoon: "in the afternoon", evening: "in the evening" };

  const newKey = () => {
    if (crypto.randomUUID) return crypto.randomUUID(); // only in secure contexts (https)
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  };

  // 10 digits, 11 starting with 1, or + (or 011) and 8-15 digits; the API checks the rest.
  const phoneOk = (value) => {
    if (!PHONE_RE.test(value)) return false;
    const digits = value.replace(/\D/g, "");
    const international = value.startsWith("+") ? digits : digits.startsWith("011") && digits.slice(3);
    if (international) return international.length >= 8 && international.length <= 15;
    return digits.length === 10 || (digits.length === 11 && digits[0] === "1");
  };

  // The API's rules and words (callbacks/models.py), checked before anything is sent.
  const check = (form) => {
    const value = (field) => String((form.elements.namedItem(field) || {}).value || "").trim();
    const found = [];
    const name = value("name");
    const phone = value("phone");
    const email = value("email");
    if (!name) found.push(["name", "Please enter your name."]);
    else if (name.length > 100) found.push(["name", "Please shorten your name to 100 characters or fewer."]);
    else if (!NAME_RE.test(name)) {
      found.push(["name", "Please enter your name using letters, spaces, periods, apostrophes or hyphens."]);
    }
    if (!phone) found.push(["phone", "Please enter the phone number we should call."]);
    else if (!phoneOk(phone)) {
      found.push(["phone", "Please enter a 10-digit US phone number, like (662) 377-6290, " +
        "or an international number starting with +."]);
    }
    if (email.length > 254) found.push(["email", "Please use an email address of at most 254 characters."]);
    else if (email && !EMAIL_RE.test(email)) {
      found.push(["email", "Please enter a valid email address, like name@example.com, or leave it empty."]);
    }
    if (value("message").length > 1000) {
      found.push(["message", "Please keep your message to 1000 characters or fewer."]);
    }
    if (!(form.elements.namedItem("consent") || {}).checked) {
      found.push(["consent", "Please tick the box to let us call you back at this number."]);
    }
    return found;
  };

  const controls = (form, field) => {
    const item = form.elements.namedItem(field);
    if (!item) return [];
    return item instanceof RadioNodeList ? Array.from(item) : [item];
  };

  const say = (state, kind, ...parts) => {
    state.status.dataset.kind = kind;
    state.status.textContent = "";
    state.status.append(...parts);
  };

  const callUs = (text) => {
    const link = document.createElement("a");
    link.href = "tel:+16623776290";
    link.textContent = "662-377-6290";
    return [`${text} `, link, "."];
  };

  const clearError = (form, field) => {
    for (const control of controls(form, field)) {
      const own = control.dataset.describedby; // set when it first showed an error
      if (own === undefined) continue;
      control.removeAttribute("aria-invalid");
      if (own) control.setAttribute("aria-describedby", own);
      else control.removeAttribute("aria-describedby");
    }
    const error = form.querySelector(`[data-field="${field}"] > .callback-form__error`);
    if (error) error.remove();
  };

  // The message goes next to the field and is the first description of each of its controls.
  const showError = (form, state, field, message) => {
    const box = form.querySelector(`[data-field="${field}"]`);
    const list = controls(form, field);
    if (!box || !list.length) return null;
    const error = document.createElement("p");
    error.className = "callback-form__error";
    error.id = `${state.uid}-${field}-error`;
    error.textContent = message;
    box.append(error);
    for (const control of list) {
      if (control.dataset.describedby === undefined) {
        control.dataset.describedby = control.getAttribute("aria-describedby") || "";
      }
      const own = control.dataset.describedby;
      control.setAttribute("aria-invalid", "true");
      control.setAttribute("aria-describedby", `${error.id} ${own}`.trim());
    }
    return list.find((control) => control.checked) || list[0];
  };

  const showErrors = (form, state, problems) => {
    let first = null;
    const other = [];
    for (const [field, message] of problems) {
      clearError(form, field);
      const control = showError(form, state, field, message);
      if (control) first = first || control;
      else other.push(message); // a field the visitor cannot see (a stale page, say)
    }
    const named = problems.map(([field]) => LABELS[field]).filter(Boolean);
    const summary = named.length &&
      `Please correct ${named.length === 1 ? "1 field" : `${named.length} fields`}: ${named.join(", ")}.`;
    say(state, "error", [summary, ...other].filter(Boolean).join(" "));
    if (first) first.focus();
  };

  const confirm = (form, state) => {
    const when = WHEN[(form.elements.namedItem("best_time") || {}).value] || "as soon as we can";
    const phone = form.elements.namedItem("phone").value.trim();
    const title = document.createElement("strong");
    title.textContent = "Thank you — we received your request.";
    for (const child of Array.from(form.children)) if (child !== state.status) child.remove();
    say(state, "success", title, ...callUs(`Our office in Tupelo will call you back at ${phone} ` +
      `${when}, during office hours. If you would like to talk sooner, call us at`));
    state.status.focus({ preventScroll: true });
    const still = matchMedia("(prefers-reduced-motion: reduce)").matches;
    state.status.scrollIntoView({ block: "nearest", behavior: still ? "auto" : "smooth" });
  };

  const send = async (form, state, button) => {
    const label = button.textContent;
    state.sending = true;
    button.disabled = true;
    button.textContent = "Sending…";
    form.setAttribute("aria-busy", "true");
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), 20000);
    let response = null;
    let body = null;
    try {
      const data = new FormData(form);
      if (RENDER_TOKEN.includes(".")) data.set("render_token", RENDER_TOKEN);
      response = await fetch(form.action, {
        method: "POST",
        body: data,
        headers: { Accept: "application/json", "Idempotency-Key": state.key },
        signal: abort.signal,
      });
      body = await response.json().catch(() => null);
    } catch (_) {
      response = null; // offline, blocked or too slow: like a 503, the visitor may retry
    }
    clearTimeout(timer);
    form.removeAttribute("aria-busy");
    if (response && response.ok) return confirm(form, state);
    state.sending = false; // the retry keeps the same key: the API stores one request
    button.disabled = false;
    button.textContent = label;
    if (document.activeElement === document.body) button.focus();
    const status = response ? response.status : 0;
    const errors = body && Array.isArray(body.errors) ? body.errors : [];
    if (status === 422 && errors.length) {
      return showErrors(form, state, errors.map((e) => [String(e.field), String(e.message)]));
    }
    say(state, "error", ...callUs(!response || status === 429 || status >= 500
      ? "We could not send your request just now. Please try again in a minute, or call us at"
      : "Sorry, something went wrong sending your request. Please call us at"));
  };

  const enhance = (form) => {
    const status = form.querySelector(".callback-form__status");
    if (form.dataset.enhanced || !status) return;
    form.dataset.enhanced = "true";
    form.noValidate = true; // our messages, next to the fields, replace the browser's bubbles
    // One key per rendered form: a double click or a retry sends the same request.
    const key = newKey();
    const state = { key, sending: false, uid: form.id || `callback-form-${key.slice(0, 8)}`, status };
    const keyField = form.elements.namedItem("idempotency_key");
    if (keyField) keyField.value = key;

    const recheck = (event) => {
      const field = event.target.name;
      if (event.target.getAttribute("aria-invalid") === "true" &&
          !check(form).some(([name]) => name === field)) clearError(form, field);
    };
    form.addEventListener("input", recheck);
    form.addEventListener("change", recheck);

    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (state.sending) return;
      const source = form.elements.namedItem("source_url");
      if (source) source.value = location.href.length <= 2048 ? location.href : location.origin + location.pathname.slice(0, 1024);
      for (const field of Object.keys(LABELS)) clearError(form, field);
      const problems = check(form);
      if (problems.length) return showErrors(form, state, problems);
      const button = event.submitter || form.querySelector("[type=submit]");
      if (button) send(form, state, button);
      else form.submit();
    });
  };

  const start = () => document.querySelectorAll("form.callback-form").forEach(enhance);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
