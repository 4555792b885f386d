// The web map of `landslide serve`: submit a box, follow the job, show its results.
// Leaflet (from npm, served under /static/vendor/leaflet) draws everything; no basemap is loaded.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const say = (text, error) => { $("status").textContent = text; $("status").className = error ? "error" : ""; };
  if (typeof L === "undefined") {
    say("The map library is not installed: run 'npm ci' in src/landslide_fusion/serve/web ('make setup' does).", true);
    return;
  }
  const RISK_OPACITY = 0.6;
  const map = L.map("map", { attributionControl: false, zoomSnap: 0.25 }).setView([20, 90], 4);
  window.landslideView = { map: map, riskOpacity: RISK_OPACITY };
  let legend = {};
  const layers = {};
  let box = null;

  const key = $("key");
  key.value = localStorage.getItem("landslide-key") || "";
  key.addEventListener("change", () => localStorage.setItem("landslide-key", key.value.trim()));
  const auth = () => ({ Authorization: "Bearer " + key.value.trim() });

  async function api(path, options) {
    const opts = options || {};
    const r = await fetch(path, { ...opts, headers: { ...auth(), ...(opts.headers || {}) } });
    const body = r.status === 204 ? null : await r.json().catch(() => null);
    if (!r.ok) throw new Error(body && body.detail ? body.detail : r.status + " " + r.statusText);
    return body;
  }

  // --- the form -----------------------------------------------------------------------------
  fetch("/processes/assess").then((r) => r.json()).then((d) => {
    for (const b of d.inputs.bundle.bundles) {
      const o = document.createElement("option");
      o.value = b.name;
      o.textContent = b.name + " (" + b.method + ")" + (b.description ? ": " + b.description : "");
      $("bundle").appendChild(o);
    }
    legend = d.outputs.risk.legend || {};
    const div = $("legend");
    for (const [name, colour] of Object.entries(legend)) {
      const row = document.createElement("div");
      const sw = document.createElement("span");
      sw.className = "swatch";
      sw.style.background = colour;
      row.append(sw, document.createTextNode(name + " risk"));
      div.appendChild(row);
    }
  }).catch((e) => say("cannot read the process description: " + e.message, true));

  function parseBox(text) {
    const v = text.split(",").map((s) => Number(s.trim()));
    return v.length === 4 && v.every(Number.isFinite) ? v : null;
  }

  function showBox(v, fit) {
    if (box) map.removeLayer(box);
    box = L.rectangle([[v[1], v[0]], [v[3], v[2]]], { color: "#2563eb", weight: 2, fill: false, interactive: false });
    box.addTo(map);
    if (fit) map.fitBounds(box.getBounds(), { padding: [20, 20] });
  }

  $("bbox").addEventListener("change", () => { const v = parseBox($("bbox").value); if (v) showBox(v, true); });

  // Draw a box: press the button, then drag on the map.
  $("draw").addEventListener("click", () => {
    $("draw").classList.add("active");
    $("map").classList.add("drawing");
    map.dragging.disable();
    let start = null;
    const move = (e) => {
      if (!start) return;
      const b = L.latLngBounds(start, e.latlng);
      showBox([b.getWest(), b.getSouth(), b.getEast(), b.getNorth()], false);
    };
    const down = (e) => { start = e.latlng; };
    const up = (e) => {
      if (!start) return;
      const b = L.latLngBounds(start, e.latlng);
      $("bbox").value = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((x) => x.toFixed(6)).join(",");
      map.off("mousedown", down).off("mousemove", move).off("mouseup", up);
      map.dragging.enable();
      $("draw").classList.remove("active");
      $("map").classList.remove("drawing");
    };
    map.on("mousedown", down).on("mousemove", move).on("mouseup", up);
  });

  $("submit").addEventListener("click", async () => {
    const v = parseBox($("bbox").value);
    if (!v) { say("give the box as four numbers: west,south,east,north", true); return; }
    showBox(v, true);
    const inputs = { bbox: v, date: $("date").value.trim(), bundle: $("bundle").value };
    if ($("grid").value) inputs.grid_m = Number($("grid").value);
    document.body.dataset.state = "submitted";
    try {
      const job = await api("/processes/assess/execution", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ inputs: inputs }),
      });
      follow(job.jobID);
    } catch (e) {
      say("refused: " + e.message, true);
      document.body.dataset.state = "refused";
    }
  });

  // --- following a job ----------------------------------------------------------------------
  async function follow(id) {
    $("progress").hidden = false;
    try {
      const s = await api("/jobs/" + id);
      $("progress").value = s.progress || 0;
      say(s.status + (s.message ? ": " + s.message : ""), s.status === "failed");
      document.body.dataset.job = id;
      if (s.status === "successful") return show(id);
      if (s.status === "failed" || s.status === "dismissed") { document.body.dataset.state = s.status; return; }
    } catch (e) {
      say("lost the job: " + e.message, true);
    }
    setTimeout(() => follow(id), 1000);
  }

  // Tiles fetched with the key (an <img> cannot send the Authorization header).
  const KeyedTiles = L.GridLayer.extend({
    createTile: function (coords, done) {
      const img = document.createElement("img");
      img.alt = "";
      const url = this.options.template.replace("{z}", coords.z).replace("{x}", coords.x).replace("{y}", coords.y);
      fetch(url, { headers: auth() })
        .then((r) => (r.status === 200 ? r.blob() : null))
        .then((blob) => {
          if (!blob) { done(null, img); return; }
          img.onload = () => { URL.revokeObjectURL(img.src); done(null, img); };
          img.onerror = () => done(new Error("tile"), img);
          img.src = URL.createObjectURL(blob);
        })
        .catch((e) => done(e, img));
      return img;
    },
  });

  function cell(row, text) { const td = document.createElement("td"); td.textContent = text; row.appendChild(td); }

  function popup(props) {
    const div = document.createElement("div");
    div.className = "region-popup";
    const table = document.createElement("table");
    for (const [k, v] of Object.entries(props)) {
      const tr = document.createElement("tr");
      if (/agree|vote|decision/.test(k)) tr.className = "agreement";
      cell(tr, k);
      cell(tr, typeof v === "number" && !Number.isInteger(v) ? v.toFixed(3) : String(v));
      table.appendChild(tr);
    }
    div.appendChild(table);
    return div;
  }

  function toggle(name, id) {
    $(id).onchange = () => {
      if (!layers[name]) return;
      if ($(id).checked) layers[name].addTo(map); else map.removeLayer(layers[name]);
    };
  }
  toggle("composite", "show-composite");
  toggle("probability", "show-probability");
  toggle("risk", "show-risk");
  toggle("landslides", "show-landslides");

  async function show(id) {
    const r = await api("/jobs/" + id + "/results");
    for (const layer of Object.values(layers)) map.removeLayer(layer);
    const tiles = (name, z) => new KeyedTiles({ template: "/jobs/" + id + "/tiles/" + name + "/{z}/{x}/{y}.png",
                                               zIndex: z, maxZoom: 22 });
    layers.composite = tiles("composite", 1);
    layers.probability = tiles("probability", 2);
    layers.risk = L.geoJSON(r.risk.value, {
      style: (f) => ({ color: "#333", weight: 1, fillColor: legend[f.properties.risk_class] || "#888",
                       fillOpacity: RISK_OPACITY }),
      onEachFeature: (f, l) => l.bindPopup(popup(f.properties)),
    });
    layers.landslides = L.geoJSON(r.landslides.value, { style: { color: "#00e5ff", weight: 2, fill: false },
                                                        interactive: false });
    map.fitBounds(layers.risk.getBounds(), { padding: [10, 10], animate: false });
    if (box) { map.removeLayer(box); box = null; }
    const ready = () => { document.body.dataset.state = "shown"; };
    if ($("show-composite").checked) layers.composite.once("load", ready); else ready();
    for (const [name, id2] of [["composite", "show-composite"], ["probability", "show-probability"],
                               ["risk", "show-risk"], ["landslides", "show-landslides"]]) {
      if ($(id2).checked) layers[name].addTo(map);
    }
  }
})();
