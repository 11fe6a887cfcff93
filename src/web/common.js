"use strict";
// What the remote and the setup view share: finding elements, the status line, and the
// two requests that change things, logging in and sending a command.
const $ = (id) => document.getElementById(id);

function say(text) { $("msg").textContent = text || ""; }

// POSTs `body` as JSON to `path`: the HTTP status, the answer (an empty object when it is
// not JSON), and in words why it failed, if it did. A network failure is thrown.
async function postJson(path, body) {
  const r = await fetch(path, { method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const answer = await r.json().catch(() => ({}));
  const failed = !r.ok || (answer.status && answer.status !== "ok");
  return { status: r.status, ok: !failed, body: answer,
    why: failed ? String(answer.error || answer.data || r.statusText) : "" };
}

function command(verb, args) { return postJson("/api/command", { verb, args: args || [] }); }

// Logs in with the PIN typed in #pin, which is cleared once it is taken.
async function logIn() {
  const r = await postJson("/api/login", { pin: $("pin").value });
  if (r.ok) $("pin").value = "";
  else if (!r.why) r.why = "Wrong PIN";
  return r;
}
