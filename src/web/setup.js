// The setup view: an output's picture with its handles, dragged and nudged into place.
"use strict";
let setup = null;      // the setup as the show last acknowledged it
let view = null;       // what is drawn: that, with the moves not acknowledged yet
let outIndex = 0, tab = "warp", fine = false, sel = null, draft = null, drag = null;
let testPattern = "off";
const SVG = "http://www.w3.org/2000/svg";
const clone = (v) => JSON.parse(JSON.stringify(v));
const round = (v, digits) => Number(v.toFixed(digits));

// ---- The corner pin: the homography from the unit square onto the four corners
// (Heckbert's closed form), its inverse, and the conversions it gives between normalized
// output coordinates and canvas pixels.
function pin(q) {
  const [[x0, y0], [x1, y1], [x2, y2], [x3, y3]] = q;
  const sx = x0 - x1 + x2 - x3, sy = y0 - y1 + y2 - y3;
  let g = 0, h = 0;
  if (sx !== 0 || sy !== 0) {
    const dx1 = x1 - x2, dx2 = x3 - x2, dy1 = y1 - y2, dy2 = y3 - y2;
    const den = dx1 * dy2 - dx2 * dy1;
    g = (sx * dy2 - dx2 * sy) / den; h = (dx1 * sy - sx * dy1) / den;
  }
  return [x1 - x0 + g * x1, x3 - x0 + h * x3, x0, y1 - y0 + g * y1, y3 - y0 + h * y3, y0, g, h, 1];
}
function apply(m, [u, v]) {
  const w = m[6] * u + m[7] * v + m[8];
  return [(m[0] * u + m[1] * v + m[2]) / w, (m[3] * u + m[4] * v + m[5]) / w];
}
function invert(m) {
  const [a, b, c, d, e, f, g, h, i] = m;
  const A = e * i - f * h, B = c * h - b * i, C = b * f - c * e;
  const D = f * g - d * i, E = a * i - c * g, F = c * d - a * f;
  const G = d * h - e * g, H = b * g - a * h, I = a * e - b * d;
  const det = a * A + b * D + c * G;
  return [A, B, C, D, E, F, G, H, I].map(x => x / det);
}
function canvasToOutput(o, [x, y]) {
  const [rx, ry, rw, rh] = o.region;
  return apply(pin(o.corners), [(x - rx) / rw, (y - ry) / rh]);
}
function outputToCanvas(o, p) {
  const [rx, ry, rw, rh] = o.region;
  const [u, v] = apply(invert(pin(o.corners)), p);
  return [rx + u * rw, ry + v * rh];
}

// ---- Sending: every change goes through here. At most one request is in flight; moves
// of the same handle made meanwhile replace each other, so only the latest is sent once
// the reply comes, never a queue of stale positions.
const pending = new Map();
let inflight = false, discrete = 0;
function send(verb, args, coalesce) {
  const key = coalesce ? verb : verb + "#" + (discrete++);
  pending.delete(key);
  pending.set(key, { verb, args });
  pump();
}
function idle() { return !inflight && pending.size === 0 && !drag; }
function showBusy() {
  $("sending").classList.toggle("hidden", !inflight && pending.size === 0);
  document.body.dataset.idle = idle() ? "1" : "0";
}
async function pump() {
  showBusy();
  if (inflight || pending.size === 0) return;
  const [key, c] = pending.entries().next().value;
  pending.delete(key);
  inflight = true; showBusy();
  let r;
  try { r = await command(c.verb, c.args); } catch (e) { r = { ok: false, status: 0, why: "not sent: " + e.message }; }
  inflight = false;
  settle(c, r);
  pump();
}
function settle(c, r) {
  if (r.status === 401) { showLogin("Log in with the control PIN."); pending.clear(); drag = null; }
  if (r.ok) {
    const data = r.body.data;
    if (data && data.setup) setup = data.setup;
    if (data && typeof data.test_pattern === "string") setPattern(data.test_pattern);
    say("");
    wantPicture();
  } else {
    say(c.verb + ": " + r.why);
    // Refused (a crossed or concave corner, say): the handle goes back where the show has it.
    for (const k of [...pending.keys()]) if (pending.get(k).verb === c.verb) pending.delete(k);
    if (drag && drag.verb === c.verb) endDrag();
    if (setup) view = clone(setup);
  }
  if (idle() && setup) view = clone(setup);
  render();
}

// ---- The output's picture: one load at a time; a change meanwhile loads it again after.
let picWanted = 0, picShown = 0, picLoading = false;
function wantPicture() { picWanted++; loadPicture(); }
function loadPicture() {
  if (picLoading || picShown >= picWanted || !view) return;
  picLoading = true;
  const n = picWanted, img = $("picture");
  img.onload = () => { picLoading = false; picShown = n; img.dataset.n = String(n); loadPicture(); };
  img.onerror = () => { picLoading = false; setTimeout(loadPicture, 500); };
  img.src = "/api/outputs/" + encodeURIComponent(out().name) + "/preview.jpg?n=" + n;
}

function out() { return view.outputs[outIndex]; }

// ---- Drawing the overlay, in output pixels: the quad, the mesh, the masks, the handles.
function geometry() {
  const img = $("picture").getBoundingClientRect(), svg = $("overlay").getBoundingClientRect();
  const [w, h] = out().size;
  return { img, svg, k: w / Math.max(1, img.width), w, h };
}
function el(name, attrs, parent) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  parent.append(e);
  return e;
}
function render() {
  if (!view) return;
  const o = out(), svg = $("overlay");
  $("picture").style.aspectRatio = o.size[0] + " / " + o.size[1];
  const g = geometry();
  svg.setAttribute("viewBox", [-(g.img.left - g.svg.left) * g.k, -(g.img.top - g.svg.top) * g.k,
    g.svg.width * g.k, g.svg.height * g.k].join(" "));
  svg.replaceChildren();
  const px = ([x, y]) => [x * g.w, y * g.h];
  const pts = (list) => list.map(p => px(p).join(",")).join(" ");
  el("polygon", { class: "quad", points: pts(o.corners) }, svg);
  const m = o.mesh, at = (c, r) => m.points[r * m.cols + c];
  if (m.cols > 2 || m.rows > 2) {
    for (let r = 0; r < m.rows; r++) el("polyline", { class: "mesh", points: pts([...Array(m.cols).keys()].map(c => at(c, r))) }, svg);
    for (let c = 0; c < m.cols; c++) el("polyline", { class: "mesh", points: pts([...Array(m.rows).keys()].map(r => at(c, r))) }, svg);
  }
  for (const mask of view.masks) {
    const shown = mask.points.map(p => canvasToOutput(o, p));
    const selected = sel && sel.kind === "mask" && sel.id === mask.id;
    el("polygon", { class: "mask" + (mask.source === "file" ? " file" : "") + (selected ? " selected" : ""),
      points: pts(shown), "data-mask": mask.id }, svg);
    if (mask.source === "file") {
      const [x, y] = px(shown[0]);
      el("text", { class: "label", x, y: y - 6 * g.k, "font-size": 13 * g.k }, svg).textContent = mask.id + " (from the show file)";
    }
  }
  if (draft) {
    el(draft.length > 2 ? "polygon" : "polyline", { class: "draft", points: pts(draft.map(p => canvasToOutput(o, p))) }, svg);
    for (const p of draft) { const [x, y] = px(canvasToOutput(o, p)); el("circle", { class: "dot", cx: x, cy: y, r: 6 * g.k }, svg); }
  }
  const handle = (p, kind, data, selected, r) => {
    const [x, y] = px(p);
    el("circle", { class: "dot " + kind + (selected ? " selected" : ""), cx: x, cy: y, r: r * g.k }, svg);
    el("circle", { class: "hit", cx: x, cy: y, r: 24 * g.k, "data-kind": kind, ...data }, svg);
  };
  if (tab === "warp") {
    if (m.cols > 2 || m.rows > 2) {
      for (let r = 0; r < m.rows; r++) for (let c = 0; c < m.cols; c++) {
        const corner = (c === 0 || c === m.cols - 1) && (r === 0 || r === m.rows - 1);
        if (!corner) handle(at(c, r), "point", { "data-c": c, "data-r": r }, sel && sel.kind === "point" && sel.c === c && sel.r === r, 7);
      }
    }
    o.corners.forEach((p, i) => handle(p, "corner", { "data-i": i }, sel && sel.kind === "corner" && sel.i === i, 11));
  } else if (tab === "masks" && !draft) {
    for (const mask of view.masks.filter(x => x.source !== "file")) {
      mask.points.forEach((p, n) => handle(canvasToOutput(o, p), "maskpt", { "data-id": mask.id, "data-n": n },
        sel && sel.kind === "mask" && sel.id === mask.id && sel.n === n, 8));
    }
  }
  panels();
}

// What the selected handle is, and where, in the units its command takes.
function where() {
  if (!sel) return "";
  const o = out();
  if (sel.kind === "mask") {
    const mask = view.masks.find(x => x.id === sel.id);
    if (!mask || !mask.points[sel.n]) return "";
    const [x, y] = mask.points[sel.n];
    return "mask " + mask.id + " point " + (sel.n + 1) + ": " + x.toFixed(1) + ", " + y.toFixed(1) + " canvas px";
  }
  const p = sel.kind === "corner" ? o.corners[sel.i] : o.mesh.points[sel.r * o.mesh.cols + sel.c];
  const name = sel.kind === "corner" ? "corner " + (sel.i + 1) : "point " + (sel.c + 1) + "," + (sel.r + 1);
  return name + ": " + (p[0] * o.size[0]).toFixed(1) + ", " + (p[1] * o.size[1]).toFixed(1) + " output px";
}

function panels() {
  const o = out(), m = o.mesh;
  $("where").textContent = where();
  $("cols-v").textContent = m.cols; $("rows-v").textContent = m.rows;
  $("cols-minus").disabled = m.cols <= 2; $("cols-plus").disabled = m.cols >= 17;
  $("rows-minus").disabled = m.rows <= 2; $("rows-plus").disabled = m.rows >= 17;
  for (const t of ["warp", "masks", "blend"]) {
    $(t).classList.toggle("hidden", tab !== t);
    $("tab-" + t).classList.toggle("on", tab === t);
  }
  document.querySelectorAll("#nudge button").forEach(b => b.disabled = !sel);
  const mask = sel && sel.kind === "mask" ? view.masks.find(x => x.id === sel.id) : null;
  $("new-mask").textContent = draft ? "Cancel" : "New mask";
  $("done-mask").disabled = !draft || draft.length < 3;
  $("add-point").disabled = !mask || sel.n === undefined || mask.points.length >= 64;
  $("delete-point").disabled = !mask || sel.n === undefined || mask.points.length <= 3;
  $("delete-mask").disabled = $("feather").disabled = $("invert").disabled = !mask;
  $("invert").textContent = "Invert: " + (mask && mask.invert ? "on" : "off");
  $("invert").classList.toggle("on", !!(mask && mask.invert));
  if (mask && document.activeElement !== $("feather")) $("feather").value = mask.feather;
  const list = view.masks.map(x => {
    const b = document.createElement("button");
    b.textContent = x.id + (x.source === "file" ? " (from the show file)" : "");
    b.disabled = x.source === "file";
    b.classList.toggle("selected", !!(mask && mask.id === x.id));
    b.onclick = () => { sel = { kind: "mask", id: x.id, n: 0 }; render(); };
    return b;
  });
  $("mask-list").replaceChildren(...list);
  document.querySelectorAll("#blend input").forEach(input => {
    if (document.activeElement === input) return;
    const v = o.blend[input.dataset.field];
    input.value = Array.isArray(v) ? (v.every(x => x === v[0]) ? String(v[0]) : v.join(" ")) : String(v);
  });
  $("undo").textContent = "Undo (" + view.history.undo + ")"; $("undo").disabled = view.history.undo === 0;
  $("redo").textContent = "Redo (" + view.history.redo + ")"; $("redo").disabled = view.history.redo === 0;
  $("grid").textContent = testPattern === "grid" ? "Grid off" : "Grid on";
}

// ---- Moving handles: the view follows at once, the show as fast as it answers.
function moveCorner(i, p) {
  const o = out(), before = invert(pin(o.corners));
  o.corners[i] = p;
  // The mesh rides on the corner pin: its points follow as the show will move them.
  const after = pin(o.corners);
  o.mesh.points = o.mesh.points.map(q => apply(after, apply(before, q)));
  send("warp/" + o.name + "/corner/" + (i + 1), p.map(v => round(v, 6)), true);
}
function movePoint(c, r, p) {
  const o = out();
  o.mesh.points[r * o.mesh.cols + c] = p;
  send("warp/" + o.name + "/point/" + (c + 1) + "/" + (r + 1), p.map(v => round(v, 6)), true);
}
function moveMaskPoint(id, n, canvas) {
  const mask = view.masks.find(x => x.id === id);
  mask.points[n] = canvas;
  send("mask/" + id + "/point/" + (n + 1), canvas.map(v => round(v, 2)), true);
}
// Where the selected handle is, in normalized output coordinates.
function selectedAt() {
  const o = out();
  if (sel.kind === "corner") return o.corners[sel.i];
  if (sel.kind === "point") return o.mesh.points[sel.r * o.mesh.cols + sel.c];
  return canvasToOutput(o, view.masks.find(x => x.id === sel.id).points[sel.n]);
}
function moveSelected(p) {
  if (sel.kind === "corner") moveCorner(sel.i, p);
  else if (sel.kind === "point") movePoint(sel.c, sel.r, p);
  else moveMaskPoint(sel.id, sel.n, outputToCanvas(out(), p));
  render();
}

function pointerAt(e) {
  const r = $("picture").getBoundingClientRect();
  return [(e.clientX - r.left) / r.width, (e.clientY - r.top) / r.height];
}
function endDrag() {
  if (drag) { try { $("overlay").releasePointerCapture(drag.id); } catch {} }
  drag = null;
  showBusy();
}
$("overlay").addEventListener("pointerdown", (e) => {
  if (!view || drag) return;
  e.preventDefault();
  if (draft) { draft.push(outputToCanvas(out(), pointerAt(e)).map(v => round(v, 2))); render(); return; }
  const t = e.target.closest("[data-kind]");
  if (!t) return;
  const d = t.dataset;
  sel = d.kind === "corner" ? { kind: "corner", i: Number(d.i) }
    : d.kind === "point" ? { kind: "point", c: Number(d.c), r: Number(d.r) }
    : { kind: "mask", id: d.id, n: Number(d.n) };
  const o = out();
  const verb = sel.kind === "corner" ? "warp/" + o.name + "/corner/" + (sel.i + 1)
    : sel.kind === "point" ? "warp/" + o.name + "/point/" + (sel.c + 1) + "/" + (sel.r + 1)
    : "mask/" + sel.id + "/point/" + (sel.n + 1);
  $("overlay").setPointerCapture(e.pointerId);
  drag = { id: e.pointerId, verb, from: pointerAt(e), start: selectedAt().slice() };
  showBusy();
  render();
});
$("overlay").addEventListener("pointermove", (e) => {
  if (!drag || e.pointerId !== drag.id) return;
  e.preventDefault();
  const now = pointerAt(e), scale = fine ? 0.1 : 1;
  moveSelected([0, 1].map(k => drag.start[k] + (now[k] - drag.from[k]) * scale));
});
const release = (e) => {
  if (!drag || e.pointerId !== drag.id) return;
  endDrag();
  if (idle() && setup) { view = clone(setup); render(); }
};
$("overlay").addEventListener("pointerup", release);
$("overlay").addEventListener("pointercancel", release);

// Moves the selected handle by whole pixels: canvas pixels for a mask, else output pixels.
function nudge(dx, dy) {
  if (!sel) return;
  const o = out();
  if (sel.kind === "mask") {
    const [x, y] = view.masks.find(m => m.id === sel.id).points[sel.n];
    moveMaskPoint(sel.id, sel.n, [x + dx, y + dy]);
    render();
  } else {
    const [x, y] = selectedAt();
    moveSelected([x + dx / o.size[0], y + dy / o.size[1]]);
  }
}
document.querySelectorAll("#nudge button").forEach(b => b.onclick = () => nudge(Number(b.dataset.dx), Number(b.dataset.dy)));
// At the laptop, the arrows do the same (Shift: ten pixels).
document.addEventListener("keydown", (e) => {
  const d = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] }[e.key];
  if (!d || !sel || ["INPUT", "SELECT"].includes(e.target.tagName)) return;
  e.preventDefault();
  const by = e.shiftKey ? 10 : 1;
  nudge(d[0] * by, d[1] * by);
});
$("fine").onclick = () => { fine = !fine; $("fine").textContent = "Fine: " + (fine ? "on" : "off"); $("fine").classList.toggle("on", fine); };
$("grid").onclick = () => send("test", [testPattern === "grid" ? "off" : "grid"]);
function setPattern(p) { testPattern = p; if (view) panels(); }
$("output").onchange = () => { outIndex = $("output").selectedIndex; sel = null; draft = null; render(); wantPicture(); };
document.querySelectorAll(".tabs button").forEach(b => b.onclick = () => { tab = b.dataset.tab; sel = null; draft = null; render(); });

// ---- Warp panel.
function resize(dc, dr) { const m = out().mesh; sel = null; send("warp/" + out().name + "/mesh", [m.cols + dc, m.rows + dr]); }
$("cols-minus").onclick = () => resize(-1, 0); $("cols-plus").onclick = () => resize(1, 0);
$("rows-minus").onclick = () => resize(0, -1); $("rows-plus").onclick = () => resize(0, 1);

// A button that does something hard to take back asks for a second tap.
function twoTaps(button, label, action) {
  const plain = button.textContent;
  button.onclick = () => {
    if (button.dataset.armed) { delete button.dataset.armed; button.textContent = plain; action(); return; }
    button.dataset.armed = "1"; button.textContent = "Tap again: " + label;
    setTimeout(() => { delete button.dataset.armed; button.textContent = plain; }, 4000);
  };
}
twoTaps($("reset-output"), "reset " + "this output", () => { sel = null; send("warp/" + out().name + "/reset", []); });
twoTaps($("revert"), "revert", () => { sel = null; send("setup/revert", []); });
twoTaps($("reset"), "reset all", () => { sel = null; send("setup/reset", []); });
$("undo").onclick = () => { sel = null; send("setup/undo", []); };
$("redo").onclick = () => { sel = null; send("setup/redo", []); };

// ---- Masks panel.
function newId() { for (let n = 1; ; n++) if (!view.masks.some(m => m.id === "m" + n)) return "m" + n; }
$("new-mask").onclick = () => { draft = draft ? null : []; sel = null; render(); };
$("done-mask").onclick = () => {
  const id = newId();
  send("mask/" + id + "/points", draft.flat());
  view.masks.push({ id, source: "calibration", points: draft, feather: 0, invert: false });
  draft = null; sel = { kind: "mask", id, n: 0 };
  render();
};
$("add-point").onclick = () => {
  const mask = view.masks.find(x => x.id === sel.id), n = sel.n, next = (n + 1) % mask.points.length;
  const [a, b] = [mask.points[n], mask.points[next]];
  send("mask/" + mask.id + "/insert/" + (n + 2), [0, 1].map(k => round((a[k] + b[k]) / 2, 2)));
  sel = { kind: "mask", id: mask.id, n: n + 1 };
};
$("delete-point").onclick = () => { send("mask/" + sel.id + "/remove/" + (sel.n + 1), []); sel = { kind: "mask", id: sel.id, n: 0 }; };
twoTaps($("delete-mask"), "delete", () => { send("mask/" + sel.id + "/delete", []); sel = null; });
$("feather").oninput = () => {
  const v = Number($("feather").value);
  if ($("feather").value !== "" && v >= 0) send("mask/" + sel.id + "/feather", [v], true);
};
$("invert").onclick = () => {
  const mask = view.masks.find(x => x.id === sel.id);
  send("mask/" + mask.id + "/invert", [!mask.invert]);
};

// ---- Blend panel: each change sent as it is typed.
document.querySelectorAll("#blend input").forEach(input => input.oninput = () => {
  const values = input.value.trim().split(/[\s,]+/).map(Number);
  const count = input.dataset.field === "gamma" ? [1, 3] : [1];
  if (!count.includes(values.length) || values.some(v => !Number.isFinite(v))) return;
  send("blend/" + out().name + "/" + input.dataset.field, values, true);
});

// ---- Starting: the PIN if needed, then the setup, the grid on, and the events.
function showLogin(why) {
  $("login").classList.remove("hidden");
  $("setup").classList.add("hidden");
  say(why);
}
async function start() {
  let r;
  try { r = await fetch("/api/setup", { credentials: "same-origin" }); } catch (e) { say("Cannot reach candela: " + e.message); setTimeout(start, 2000); return; }
  if (r.status === 401) { showLogin("The setup needs the control PIN."); return; }
  const body = await r.json().catch(() => ({}));
  if (!r.ok) { say(body.error || body.data || r.statusText); return; }
  setup = body; view = clone(setup);
  outIndex = Math.min(outIndex, view.outputs.length - 1);
  $("output").replaceChildren(...view.outputs.map(o => {
    const opt = document.createElement("option"); opt.textContent = o.name + " (" + o.size.join("×") + ")"; return opt;
  }));
  $("output").selectedIndex = outIndex;
  $("login").classList.add("hidden");
  $("setup").classList.remove("hidden");
  render();
  wantPicture();
  send("test", ["grid"]);
  connect();
}
$("login").onsubmit = async (e) => {
  e.preventDefault();
  const r = await logIn();
  if (!r.ok) { say(r.why); return; }
  say("");
  start();
};

let ws = null, retry = 1000;
function connect() {
  if (ws) return;
  ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api/events");
  ws.onopen = () => { retry = 1000; $("conn").textContent = "connected"; $("conn").className = "pill ok"; };
  ws.onmessage = (e) => {
    let m; try { m = JSON.parse(e.data); } catch { return; }
    if (m.type === "state") setPattern(m.state.test_pattern);
    else if (m.type === "preview") wantPicture(); // the wall changed: so did this output
  };
  ws.onclose = () => {
    ws = null; $("conn").textContent = "reconnecting…"; $("conn").className = "pill bad";
    setTimeout(connect, retry); retry = Math.min(retry * 2, 8000);
  };
}
window.addEventListener("resize", render);
$("picture").addEventListener("load", render, { once: true });
showBusy();
start();
