// The telephone-plan dashboard: reads /api/report with the bearer token and draws SVG charts,
// each with its figures in a table for screen readers. No library, no network but the daemon.
"use strict";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const percent = (rate) => (rate === null || rate === undefined ? "–" : Math.round(rate * 100) + " %");
const label = (p) => (p.start === p.end ? p.start.slice(5) : p.start.slice(5) + "→" + p.end.slice(5));

function token() {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fromHash) {
    sessionStorage.setItem("callbot-token", fromHash);
    history.replaceState(null, "", location.pathname);
  }
  return sessionStorage.getItem("callbot-token");
}

async function load() {
  const from = $("from").value, to = $("to").value, by = $("by").value;
  const query = `from=${from}&to=${to}&by=${by}`;
  $("status").textContent = "Chargement…";
  const headers = token() ? { Authorization: "Bearer " + token() } : {};
  const response = await fetch("api/report?" + query + "&format=json", { headers });
  if (response.status === 401) {
    $("login").hidden = false;
    $("figures").hidden = true;
    $("status").textContent = "Un jeton d'accès est nécessaire.";
    return;
  }
  if (!response.ok) {
    $("status").textContent = "Erreur : " + (await response.text());
    return;
  }
  const report = await response.json();
  $("login").hidden = true;
  $("csv").onclick = async (event) => {
    event.preventDefault();
    const csv = await fetch("api/report?" + query + "&format=csv", { headers });
    const link = document.createElement("a");
    link.href = URL.createObjectURL(await csv.blob());
    link.download = `indicateurs-${from}-${to}.csv`;
    link.click();
  };
  render(report);
  $("status").textContent = `Du ${report.from} au ${report.to} : ${report.totals.calls_received} appels.`;
}

function card(id, value, note, good) {
  const element = $(id);
  element.querySelector(".value").textContent = value;
  if (note !== undefined) element.querySelector(".note").textContent = note;
  element.classList.toggle("above", good === true);
  element.classList.toggle("below", good === false);
}

function render(report) {
  const t = report.totals;
  $("figures").hidden = false;
  card("card-decroche", percent(t.taux_de_decroche), `cible 85 % — ${t.handoffs_answered} sur ${t.handoffs_requested} demandes`,
    t.taux_de_decroche === null ? undefined : t.taux_de_decroche >= 0.85);
  card("card-calls", String(t.calls_received), `attente moyenne ${t.wait_mean_seconds === null ? "–" : Math.round(t.wait_mean_seconds) + " s"}`);
  card("card-self", percent(t.self_service_rate), `${t.self_service_calls} appels`);
  card("card-satisfaction", percent(t.satisfaction_share_4_5),
    t.satisfaction_mean === null ? "aucune note" : `note moyenne ${t.satisfaction_mean.toFixed(1)} sur 5, ${t.satisfaction_responses} réponses`);
  card("card-callbacks", String(t.callbacks_made_in_window), `${t.callbacks_scheduled} rappels programmés`);
  const periods = report.periods;
  lines($("chart-decroche"), periods, [{ key: "taux_de_decroche", name: "Taux de décroché", color: "#000091" }], 0.85);
  lines($("chart-quality"), periods, [
    { key: "satisfaction_share_4_5", name: "Satisfaits (4 et 5)", color: "#18753c" },
    { key: "self_service_rate", name: "Résolus par le robot", color: "#6a3ea1" },
  ]);
  bars($("chart-volumes"), periods.map((p) => [label(p), p.calls_received, p.handoffs_requested]),
    ["Appels reçus", "Demandes de conseiller"], ["#000091", "#c9191e"]);
  const intents = Object.entries(report.per_intent).sort((a, b) => b[1].calls - a[1].calls);
  bars($("chart-intents"), intents.map(([name, f]) => [name, f.calls]), ["Appels"], ["#000091"], true);
  table(periods);
}

function element(name, attributes, text) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

// Rates (0…1) over the periods, with an optional target line.
function lines(container, periods, series, target) {
  const width = 900, height = 260, left = 48, bottom = 40, top = 16;
  const x = (i) => left + (periods.length < 2 ? 0 : (i * (width - left - 16)) / (periods.length - 1));
  const y = (rate) => top + (1 - rate) * (height - top - bottom);
  const svg = element("svg", { viewBox: `0 0 ${width} ${height}`, role: "img",
    "aria-label": series.map((s) => s.name).join(", ") + " par période, en pourcentage" });
  for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
    svg.append(element("line", { x1: left, x2: width - 16, y1: y(tick), y2: y(tick), stroke: "#ddd" }));
    svg.append(element("text", { x: 4, y: y(tick) + 4 }, Math.round(tick * 100) + " %"));
  }
  if (target !== undefined) {
    svg.append(element("line", { x1: left, x2: width - 16, y1: y(target), y2: y(target), stroke: "#c9191e",
      "stroke-dasharray": "6 4", "stroke-width": 2 }));
    svg.append(element("text", { x: width - 120, y: y(target) - 6, fill: "#c9191e" }, "objectif " + Math.round(target * 100) + " %"));
  }
  const step = Math.max(1, Math.ceil(periods.length / 12));
  periods.forEach((p, i) => {
    if (i % step === 0) svg.append(element("text", { x: x(i) - 14, y: height - 14 }, label(p)));
  });
  for (const s of series) {
    let path = "";
    periods.forEach((p, i) => {
      const value = p[s.key];
      if (value === null) return;
      path += (path === "" ? "M" : "L") + x(i) + " " + y(value);
      svg.append(element("circle", { cx: x(i), cy: y(value), r: 3, fill: s.color }));
    });
    if (path !== "") svg.append(element("path", { d: path, fill: "none", stroke: s.color, "stroke-width": 2.5 }));
  }
  container.replaceChildren(legend(series.map((s) => [s.name, s.color])), svg);
}

// Counts as bars: rows of [label, value, value…].
function bars(container, rows, names, colors, horizontal) {
  const width = 900, rowHeight = 22, left = horizontal ? 180 : 48;
  const max = Math.max(1, ...rows.flatMap((r) => r.slice(1)));
  let svg;
  if (horizontal) {
    const height = rows.length * rowHeight + 10;
    svg = element("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "Appels par motif" });
    rows.forEach(([name, value], i) => {
      svg.append(element("text", { x: 4, y: i * rowHeight + 16 }, name));
      svg.append(element("rect", { x: left, y: i * rowHeight + 4, height: rowHeight - 8,
        width: ((width - left - 60) * value) / max, fill: colors[0] }));
      svg.append(element("text", { x: left + ((width - left - 60) * value) / max + 6, y: i * rowHeight + 16 }, String(value)));
    });
  } else {
    const height = 240, bottom = 40, top = 10, group = (width - left - 16) / Math.max(rows.length, 1);
    svg = element("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": names.join(" et ") + " par période" });
    const barWidth = Math.max(2, (group * 0.8) / names.length);
    const step = Math.max(1, Math.ceil(rows.length / 12));
    rows.forEach((row, i) => {
      row.slice(1).forEach((value, k) => {
        const h = ((height - top - bottom) * value) / max;
        svg.append(element("rect", { x: left + i * group + k * barWidth, y: height - bottom - h, width: barWidth, height: h, fill: colors[k] }));
      });
      if (i % step === 0) svg.append(element("text", { x: left + i * group, y: height - 14 }, row[0]));
    });
    svg.append(element("text", { x: 4, y: top + 10 }, String(max)));
  }
  container.replaceChildren(legend(names.map((n, k) => [n, colors[k]])), svg);
}

function legend(items) {
  const div = document.createElement("div");
  div.className = "legend";
  div.setAttribute("aria-hidden", "true");
  for (const [name, color] of items) {
    const span = document.createElement("span");
    span.style.color = color;
    span.textContent = name;
    div.append(span);
  }
  return div;
}

function table(periods) {
  const columns = [
    ["calls_received", "Appels reçus"], ["handoffs_requested", "Demandes de conseiller"],
    ["handoffs_answered", "Pris par un conseiller"], ["taux_de_decroche", "Taux de décroché"],
    ["wait_mean_seconds", "Attente moyenne (s)"], ["self_service_rate", "Résolus par le robot"],
    ["callbacks_scheduled", "Rappels programmés"], ["callbacks_made_in_window", "Rappels dans le créneau"],
    ["appointments_booked", "Rendez-vous pris"], ["satisfaction_share_4_5", "Satisfaits (4 et 5)"],
  ];
  const rates = new Set(["taux_de_decroche", "self_service_rate", "satisfaction_share_4_5"]);
  const head = "<caption class=\"visually-hidden\">Indicateurs par période</caption><thead><tr><th scope=\"col\">Période</th>" +
    columns.map(([, name]) => `<th scope="col">${name}</th>`).join("") + "</tr></thead>";
  const body = periods.map((p) => `<tr><th scope="row">${p.start === p.end ? p.start : p.start + " → " + p.end}</th>` +
    columns.map(([key]) => {
      const v = p[key];
      return `<td>${v === null ? "–" : rates.has(key) ? percent(v) : key === "wait_mean_seconds" ? Math.round(v) : v}</td>`;
    }).join("") + "</tr>").join("");
  $("table").innerHTML = head + "<tbody>" + body + "</tbody>";
}

function init() {
  const today = new Date();
  // The local day, not the UTC one.
  const iso = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
  const params = new URLSearchParams(location.search);
  $("to").value = params.get("to") || iso(today);
  $("from").value = params.get("from") || iso(new Date(today.getTime() - 29 * 86400000));
  $("by").value = params.get("by") || "day";
  $("period").addEventListener("submit", (event) => { event.preventDefault(); load(); });
  $("login").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem("callbot-token", $("token").value.trim());
    load();
  });
  token();
  load();
}

init();
