// The remote: the wall, the controls, the slides, kept up to date over the events socket.
"use strict";
let state = null, stateAt = 0, control = false, ws = null, retry = 1000;
let loading = false, wantedFrame = 0, shownFrame = 0, busyUntil = 0;
const thumbStamp = () => Math.floor(Date.now() / 30000);

function setConn(text, cls) { const c = $("conn"); c.textContent = text; c.className = "pill " + cls; }

async function cmd(verb, args) {
  const now = Date.now();
  if (now < busyUntil) return; // a double tap fires once
  busyUntil = now + 350;
  try {
    const r = await command(verb, args);
    if (r.status === 401) { setControl(false); say("Log in with the PIN to cue the show."); return; }
    if (!r.ok || r.body.status !== "ok") { say(r.why); return; }
    say("");
  } catch (e) { say("Not sent: " + e.message); }
}

function setControl(on) {
  control = on;
  $("mode").textContent = on ? "control" : "view only";
  $("mode").className = "pill " + (on ? "ok" : "");
  $("login").classList.toggle("hidden", on);
  $("logout").classList.toggle("hidden", !on);
  document.querySelectorAll("#controls button, .counter button, #grid button, #master, #projector-controls button").forEach(b => b.disabled = !on);
}

function loadPreview(frame) {
  wantedFrame = Math.max(wantedFrame, frame);
  if (loading || wantedFrame <= shownFrame) return;
  loading = true;
  const n = wantedFrame, img = $("preview");
  img.onload = img.onerror = () => {
    loading = false; shownFrame = n; img.dataset.frame = String(n);
    if (wantedFrame > shownFrame) loadPreview(wantedFrame); // only the newest: a slow phone skips
  };
  img.src = "/api/preview.jpg?frame=" + n;
}

function thumb(id) { return "/api/slides/" + encodeURIComponent(id) + "/thumbnail.jpg?t=" + thumbStamp(); }
function nameOf(id) { const s = (state.slides || []).find(s => s.id === id); return s ? s.name : id; }

function render(s) {
  const before = state;
  state = s; stateAt = Date.now();
  $("title").textContent = s.title || "candela";
  document.title = (s.title || "candela") + " — remote";
  $("now-name").textContent = nameOf(s.slide);
  $("now-name").dataset.slide = s.slide;
  $("next-name").textContent = nameOf(s.next);
  const nt = thumb(s.slide), xt = thumb(s.next);
  if ($("now-thumb").getAttribute("src") !== nt) $("now-thumb").src = nt;
  if ($("next-thumb").getAttribute("src") !== xt) $("next-thumb").src = xt;
  const tag = s.test_pattern !== "off" ? "test pattern: " + s.test_pattern : s.blackout ? "BLACKOUT" : s.paused ? "paused" : "";
  $("wall-tag").textContent = tag; $("wall-tag").classList.toggle("hidden", !tag);
  $("blackout").textContent = s.blackout ? "Restore" : "Blackout";
  $("blackout").classList.toggle("on", s.blackout);
  $("pause").textContent = s.paused ? "Resume" : "Pause";
  $("pause").classList.toggle("on", s.paused);
  $("test").classList.toggle("on", s.test_pattern !== "off");
  if (document.activeElement !== $("master")) { $("master").value = s.master; }
  $("master-v").textContent = Math.round(s.master * 100) + "%";
  const ids = (s.slides || []).map(x => x.id).join("\n");
  if (!before || (before.slides || []).map(x => x.id).join("\n") !== ids) buildGrid(s.slides || []);
  document.querySelectorAll("#grid button").forEach(b => b.classList.toggle("current", b.dataset.id === s.slide));
  renderCounters(s);
  $("cert-box").classList.toggle("hidden", !s.certificate);
  $("cert").textContent = s.certificate || "";
  renderProjectors(s.projectors || []);
  const problems = s.problems || [];
  $("problems-box").classList.toggle("hidden", problems.length === 0);
  $("problems").replaceChildren(...problems.map(p => { const li = document.createElement("li"); li.textContent = p; return li; }));
  renderDmx(s.dmx);
  renderSync(s.sync);
  if (typeof s.control === "boolean") setControl(s.control);
  tick();
}

// The desks sending DMX: the list is the receiver's, bounded (16 sACN, 2 Art-Net).
function renderDmx(d) {
  $("dmx-box").classList.toggle("hidden", !d);
  if (!d) return;
  const lines = d.sources.map(x => x.protocol + " from " + x.from + " · priority " + x.priority + " · last packet " + x.age.toFixed(1) + " s ago");
  if (lines.length === 0) lines.push("no console on universe " + d.universe);
  if (d.settling) lines.push("learning the consoles: nothing acted on yet");
  if (d.malformed || d.refused) lines.push(d.malformed + " malformed packets, " + d.refused + " from senders not allowed");
  $("dmx").replaceChildren(...lines.map(t => { const li = document.createElement("li"); li.textContent = t; return li; }));
}

// Leading or following: who, in step or why not, the clocks; a problem stands out.
function renderSync(y) {
  $("sync-box").classList.toggle("hidden", !y);
  if (!y) return;
  const ms = v => (v === null || v === undefined) ? "not measured yet" : v.toFixed(2) + " ms";
  const lines = [];
  if (y.role === "follower") {
    lines.push(["This machine follows the leader at " + y.leader + (y.in_step ? ": in step" : ": not in step") +
      " · clock offset " + ms(y.offset_ms) + " (round trip " + ms(y.round_trip_ms) + ")", false]);
    lines.push([y.in_step ? "Cues sent here are handed to the leader, which cues every machine." :
      "Cues sent here act on this machine alone until it is in step again.", false]);
  } else {
    lines.push(["This machine leads " + y.followers.length + (y.followers.length === 1 ? " follower" : " followers") + " (sync on " + y.leader + ")", false]);
    for (const f of y.followers) {
      lines.push([f.address + " · " + (f.show_matches ? "same show" : "ANOTHER SHOW: not following") +
        " · clock offset " + ms(f.offset_ms) + " · heard " + f.age.toFixed(1) + " s ago", !f.show_matches]);
    }
  }
  if (y.problem) lines.push([y.problem, true]);
  $("sync").replaceChildren(...lines.map(([t, bad]) => {
    const li = document.createElement("li"); li.textContent = t; if (bad) li.className = "problem"; return li;
  }));
}

function buildGrid(slides) {
  $("grid").replaceChildren(...slides.map((sl, i) => {
    const b = document.createElement("button");
    b.dataset.id = sl.id; b.disabled = !control;
    const img = document.createElement("img"); img.loading = "lazy"; img.alt = ""; img.src = thumb(sl.id);
    const n = document.createElement("span"); n.className = "n"; n.textContent = (i + 1) + ". " + sl.name;
    b.append(img, n);
    b.onclick = () => cmd("goto", [sl.id]);
    return b;
  }));
}

function renderCounters(s) {
  const box = $("counters"), counts = s.counters || {}, stale = s.stale || [];
  for (const id of Object.keys(counts)) {
    let row = box.querySelector('[data-id="' + CSS.escape(id) + '"]');
    if (!row) {
      row = document.createElement("div"); row.className = "counter"; row.dataset.id = id;
      row.innerHTML = '<div><div class="k"></div><div class="v"></div><div class="stale hidden">feed stale</div></div><div></div>' +
        '<div class="row"><input type="number" min="0" step="1" inputmode="numeric" placeholder="number">' +
        '<button data-op="">Set</button><button data-op="add">Add</button><button data-op="correct">Correct</button></div>';
      row.querySelector(".k").textContent = id;
      row.querySelectorAll("button").forEach(b => {
        b.disabled = !control;
        b.onclick = () => {
          const v = row.querySelector("input").value.trim();
          if (!/^\d+$/.test(v)) { say("Type a whole number first."); return; }
          cmd("count/" + id + (b.dataset.op ? "/" + b.dataset.op : ""), [Number(v)]);
          row.querySelector("input").value = "";
        };
      });
      box.append(row);
    }
    row.querySelector(".v").textContent = Number(counts[id]).toLocaleString();
    row.querySelector(".stale").classList.toggle("hidden", !stale.includes(id));
  }
}

/* One line a projector, flagged (class "fault") when it is unreachable or reports a fault;
   one row of buttons an output, since a setting applies to all of that output's projectors. */
function renderProjectors(list) {
  $("projectors-box").classList.toggle("hidden", list.length === 0);
  $("projectors").replaceChildren(...list.map(p => {
    const li = document.createElement("li");
    const faults = p.faults || [];
    li.className = !p.reachable || faults.length ? "fault" : "";
    li.dataset.host = p.host;
    const parts = [p.output + " · " + p.host + ":" + p.port];
    if (!p.reachable) parts.push("NOT ANSWERING");
    if (p.power) parts.push("power " + p.power);
    if (p.shutter) parts.push("shutter " + p.shutter);
    if ((p.lamp_hours || []).length) parts.push("lamp " + p.lamp_hours.join(", ") + " h");
    if (faults.length) parts.push("FAULT: " + faults.join(", "));
    if (p.problem) parts.push(p.problem);
    li.textContent = parts.join(" · ");
    return li;
  }));
  const outputs = [...new Set(list.map(p => p.output))];
  const box = $("projector-controls");
  if (box.dataset.outputs === outputs.join("\n")) return;
  box.dataset.outputs = outputs.join("\n");
  box.replaceChildren(...outputs.map(o => {
    const row = document.createElement("div"); row.className = "row";
    const name = document.createElement("span"); name.textContent = o;
    const button = (label, setting, value) => {
      const b = document.createElement("button"); b.textContent = label; b.disabled = !control;
      b.onclick = () => {
        const shut = (state.projectors || []).some(p => p.output === o && p[setting] === value[0]);
        cmd("projector/" + o + "/" + setting, [shut ? value[1] : value[0]]);
      };
      return b;
    };
    row.append(name, button("Shutter", "shutter", ["closed", "open"]), button("Power", "power", ["on", "off"]));
    return row;
  }));
}

function tick() {
  if (!state) return;
  const left = typeof state.hold_left === "number" ? state.hold_left - (Date.now() - stateAt) / 1000 : null;
  $("hold").textContent = left === null ? (state.paused ? "· paused" : "") : "· " + Math.max(0, Math.ceil(left)) + " s left";
}
setInterval(tick, 250);

function connect() {
  const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api/events";
  ws = new WebSocket(url);
  ws.onopen = () => { retry = 1000; setConn("connected", "ok"); };
  ws.onmessage = (e) => {
    let m; try { m = JSON.parse(e.data); } catch { return; }
    if (m.type === "state") render(m.state);
    else if (m.type === "preview") loadPreview(m.frame);
  };
  ws.onclose = async () => {
    setConn("reconnecting…", "bad");
    // Viewing may need the PIN: ask, rather than retry blindly.
    try { const r = await fetch("/api/state", { credentials: "same-origin" }); if (r.status === 401) { $("login").classList.remove("hidden"); say("Viewing needs the PIN."); } } catch {}
    setTimeout(connect, retry); retry = Math.min(retry * 2, 8000);
  };
}

$("login").onsubmit = async (e) => {
  e.preventDefault();
  const r = await logIn();
  if (!r.ok) { say(r.why); return; }
  say("");
  setControl(!!r.body.control);
  retry = 100;
  if (ws) ws.close(); // reconnects at once, with the new session
};
$("logout").onclick = async () => {
  await postJson("/api/logout", {}).catch(() => {});
  setControl(false);
  retry = 100;
  if (ws) ws.close(); // reconnects at once, without the session
};
document.querySelectorAll("[data-verb]").forEach(b => b.onclick = () => cmd(b.dataset.verb));
$("blackout").onclick = () => cmd(state && state.blackout ? "restore" : "blackout");
$("pause").onclick = () => cmd(state && state.paused ? "cycle/resume" : "cycle/pause");
$("test").onclick = () => cmd("test", [state && state.test_pattern !== "off" ? "off" : "grid"]);
$("master").oninput = () => { $("master-v").textContent = Math.round($("master").value * 100) + "%"; };
$("master").onchange = () => { busyUntil = 0; cmd("master", [Number($("master").value)]); };
setControl(false);
connect();
