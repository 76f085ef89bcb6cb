/// The viewer's single page, for live pipelines (`mode = "live"`) and recorded files
/// (`mode = "file"`). Plain HTML, CSS and JavaScript, no external resources.
enum Page {
    static func response(mode: String, title: String) -> HTTPResponse {
        let html = template.replacingOccurrences(of: "__MODE__", with: mode)
            .replacingOccurrences(of: "__TITLE__", with: escape(title))
        return HTTPResponse(contentType: "text/html; charset=utf-8", body: Array(html.utf8))
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    static let template = #"""
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>spkdeblur · __TITLE__</title>
        <style>
        body{font:13px/1.4 system-ui,sans-serif;margin:0;background:#15171a;color:#ddd}
        header{display:flex;gap:16px;align-items:center;padding:8px 14px;background:#22252a}
        header h1{font-size:15px;margin:0} header .grow{flex:1}
        button{background:#3a3f46;color:#eee;border:1px solid #555;border-radius:4px;padding:3px 10px;cursor:pointer}
        main{padding:10px 14px} .row{display:flex;gap:8px;flex-wrap:wrap}
        .panel{display:flex;flex-direction:column;gap:3px}
        .panel .label{display:flex;justify-content:space-between;gap:8px;color:#aaa}
        canvas.view{background:#000;cursor:crosshair;width:calc((100vw - 60px) / var(--n))}
        canvas.zoom{background:#000;image-rendering:pixelated;width:200px;height:200px}
        #side{display:flex;gap:18px;flex-wrap:wrap;align-items:flex-start;margin-top:10px}
        table{border-collapse:collapse} td,th{padding:1px 8px;text-align:right;border-bottom:1px solid #333}
        th{color:#999;font-weight:normal} td:first-child,th:first-child{text-align:left}
        .muted{color:#888} .bad{color:#f87} #chart{background:#1d2024;border:1px solid #333}
        input[type=range]{width:min(900px,90vw)}
        </style></head>
        <body data-mode="__MODE__">
        <header><h1>spkdeblur · __TITLE__</h1><span id="status" class="muted">connecting…</span>
        <span class="grow"></span><span id="frame">frame –</span><span id="lat" class="muted"></span>
        <button id="pause">Pause</button></header>
        <main>
        <div id="slider" hidden><input id="index" type="range" min="0" value="0">
          <span id="indexLabel"></span> <span class="muted">(← → step)</span></div>
        <div id="panels" class="row"></div>
        <div class="muted" style="margin:6px 0 2px">zoom (4×, follows the cursor over any panel)</div>
        <div id="zooms" class="row"></div>
        <div id="side"></div>
        </main>
        <script>
        "use strict";
        const MODE = document.body.dataset.mode;
        const LABELS = {blur:"blurry input", recon:"spike reconstruction (TFI)", spike_recon:"spike reconstruction (TFI)",
          sharp:"deblurred output", quick_sharp:"quick deblur"};
        const state = {panels: [], shown: 0, frameID: -1, firstFrameID: -1, latencies: [], pending: [], paused: false,
          cursor: null, partsThisConnection: 0};
        window.viewerState = state;
        const $ = (id) => document.getElementById(id);

        function setPanels(names, w, h) {
          if (state.panels.length === names.length && state.panels.every((p, i) => p.name === names[i] && p.canvas.width === w && p.canvas.height === h)) return;
          $("panels").innerHTML = ""; $("zooms").innerHTML = "";
          document.documentElement.style.setProperty("--n", names.length);
          state.panels = names.map((name) => {
            const box = document.createElement("div"); box.className = "panel";
            const label = document.createElement("div"); label.className = "label";
            label.innerHTML = `<span>${LABELS[name] || name}</span>`;
            const dl = document.createElement("button"); dl.textContent = "PNG"; dl.title = "download this view as PNG";
            const canvas = document.createElement("canvas"); canvas.className = "view"; canvas.width = w; canvas.height = h;
            canvas.dataset.panel = name;
            dl.onclick = () => download(canvas, `${name}-${state.frameID}.png`);
            label.appendChild(dl); box.append(label, canvas); $("panels").appendChild(box);
            const zoom = document.createElement("canvas"); zoom.className = "zoom"; zoom.width = 200; zoom.height = 200;
            zoom.title = LABELS[name] || name; zoom.ondblclick = () => download(zoom, `${name}-${state.frameID}-zoom.png`);
            $("zooms").appendChild(zoom);
            canvas.addEventListener("mousemove", (e) => {
              const r = canvas.getBoundingClientRect();
              state.cursor = {x: (e.clientX - r.left) / r.width, y: (e.clientY - r.top) / r.height};
              drawZooms();
            });
            return {name, canvas, ctx: canvas.getContext("2d"), zoom, zctx: zoom.getContext("2d")};
          });
        }
        // What scripts (and tests) read with --dump-dom: frames shown, first and last frame id,
        // where each panel is on the page (CSS pixels).
        function markDOM() {
          const b = document.body.dataset;
          b.shown = state.shown; b.frame = state.frameID; b.firstFrame = state.firstFrameID;
          b.rects = JSON.stringify(state.panels.map((p) => {
            const r = p.canvas.getBoundingClientRect();
            return {name: p.name, x: r.left + scrollX, y: r.top + scrollY, w: r.width, h: r.height};
          }));
        }
        function drawZooms() {
          const c = state.cursor || {x: 0.5, y: 0.5};
          for (const p of state.panels) {
            const s = 50, cx = Math.round(c.x * p.canvas.width - s / 2), cy = Math.round(c.y * p.canvas.height - s / 2);
            p.zctx.imageSmoothingEnabled = false; p.zctx.fillStyle = "#000"; p.zctx.fillRect(0, 0, 200, 200);
            p.zctx.drawImage(p.canvas, cx, cy, s, s, 0, 0, 200, 200);
          }
        }
        function download(canvas, name) {
          canvas.toBlob((b) => { const a = document.createElement("a"); a.href = URL.createObjectURL(b); a.download = name; a.click(); }, "image/png");
        }
        function pct(v, p) { if (!v.length) return 0; const s = [...v].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p / 100 * s.length))]; }

        // ---- live: the MJPEG stream, read with fetch so each part's headers (frame id, receive time) are seen
        let abort = null;
        function indexOf(buf, seq, from) {
          outer: for (let i = from || 0; i <= buf.length - seq.length; i++) { for (let j = 0; j < seq.length; j++) if (buf[i + j] !== seq[j]) continue outer; return i; }
          return -1;
        }
        const CRLF2 = [13, 10, 13, 10];
        async function stream() {
          abort = new AbortController(); state.partsThisConnection = 0;
          $("status").textContent = "live";
          try {
            const res = await fetch("/stream.mjpeg", {signal: abort.signal, cache: "no-store"});
            const reader = res.body.getReader();
            let buf = new Uint8Array(0);
            for (;;) {
              const {value, done} = await reader.read();
              if (done) break;
              const n = new Uint8Array(buf.length + value.length); n.set(buf); n.set(value, buf.length); buf = n;
              for (;;) {
                const he = indexOf(buf, CRLF2); if (he < 0) break;
                const headers = {};
                for (const line of new TextDecoder().decode(buf.subarray(0, he)).split("\r\n")) {
                  const k = line.indexOf(":"); if (k > 0) headers[line.slice(0, k).trim().toLowerCase()] = line.slice(k + 1).trim();
                }
                const len = +headers["content-length"];
                if (!(len >= 0)) { buf = buf.subarray(he + 4); continue; }
                if (buf.length < he + 4 + len) break;
                const jpeg = buf.slice(he + 4, he + 4 + len); buf = buf.slice(he + 4 + len);
                await show(jpeg, headers);
              }
            }
            $("status").textContent = "stream ended";
          } catch (e) { $("status").textContent = state.paused ? "paused" : "disconnected: " + e.message; }
        }
        async function show(jpeg, h) {
          const bmp = await createImageBitmap(new Blob([jpeg], {type: "image/jpeg"}));
          const names = (h["x-panels"] || "sharp").split(",");
          const pw = Math.floor(bmp.width / names.length);
          setPanels(names, pw, bmp.height);
          state.panels.forEach((p, i) => p.ctx.drawImage(bmp, i * pw, 0, pw, bmp.height, 0, 0, pw, bmp.height));
          bmp.close(); drawZooms();
          // The first part of a connection may be an old frame (a paused pipeline, the held
          // last frame): only frames that arrived while connected measure display latency.
          const latency = Date.now() - parseFloat(h["x-received-ms"]);
          if (state.partsThisConnection++ > 0) {
            state.latencies.push(latency); state.pending.push(latency);
            if (state.latencies.length > 300) state.latencies.shift();
          }
          state.shown++; state.frameID = +h["x-frame-id"];
          if (state.firstFrameID < 0) state.firstFrameID = state.frameID;
          markDOM();
          $("frame").textContent = `frame ${state.frameID}`; $("frame").dataset.shown = state.shown;
          $("lat").textContent = `shown ${state.shown} · display latency p50 ${pct(state.latencies, 50).toFixed(0)} ms, p99 ${pct(state.latencies, 99).toFixed(0)} ms`;
        }
        $("pause").onclick = () => {
          state.paused = !state.paused; $("pause").textContent = state.paused ? "Resume" : "Pause";
          if (MODE !== "live") return;
          if (state.paused) { abort && abort.abort(); } else { stream(); }
        };

        // ---- live: metrics, polled
        const history = [];
        let previous = null;
        async function poll() {
          try {
            const m = await (await fetch("/api/metrics", {cache: "no-store"})).json();
            renderMetrics(m, previous); previous = m;
            if (state.pending.length) {
              const body = JSON.stringify({latencyMs: state.pending, shown: state.shown, lastFrameID: state.frameID});
              state.pending = [];
              fetch("/api/client-stats", {method: "POST", body, headers: {"Content-Type": "application/json"}});
            }
          } catch (e) { $("status").textContent = "metrics unavailable: " + e.message; }
        }
        function renderMetrics(m, prev) {
          const p = m.pipeline, dt = prev ? (m.now_unix_ms - prev.now_unix_ms) / 1000 : 0;
          const before = {}; if (prev) for (const s of prev.pipeline.stages) before[s.name] = s;
          let rows = p.stages.map((s) => {
            const b = before[s.name], rate = b && dt > 0 ? (s.itemsOut - b.itemsOut) / dt : 0;
            const inRate = b && dt > 0 ? (s.itemsIn - b.itemsIn) / dt : 0;
            return `<tr><td>${s.name}</td><td>${inRate.toFixed(1)}</td><td>${rate.toFixed(1)}</td><td>${s.itemsIn}</td><td>${s.itemsOut}</td><td>${s.busySeconds.toFixed(2)}</td></tr>`;
          }).join("");
          const stages = `<table><tr><th>stage</th><th>in/s</th><th>out/s</th><th>in</th><th>out</th><th>busy s</th></tr>${rows}</table>`;
          rows = p.edges.map((e) => `<tr><td>${e.name}</td><td>${e.depth}/${e.capacity}</td><td>${e.maxDepth}</td><td>${e.policy}</td><td class="${e.dropped ? "bad" : ""}">${e.dropped}</td></tr>`).join("");
          const edges = `<table><tr><th>queue</th><th>depth</th><th>max</th><th>policy</th><th>dropped</th></tr>${rows}</table>`;
          const drops = [];
          for (const e of p.edges) if (e.dropped) drops.push([`${e.name} (${e.policy})`, e.dropped]);
          for (const s of p.stages) for (const [k, v] of Object.entries(s.counters)) if (v) drops.push([`${s.name}: ${k}`, v]);
          const v = m.viewer;
          drops.push([`viewer: frames skipped for slow clients`, v.parts_skipped_slow_clients]);
          const dropTable = `<table><tr><th>drops and counters by cause</th><th>n</th></tr>${drops.map(([k, n]) => `<tr><td>${k}</td><td>${n}</td></tr>`).join("")}</table>`;
          history.push({p50: p.latencyMs.p50, p99: p.latencyMs.p99, d: pct(state.latencies.slice(-30), 50)});
          if (history.length > 120) history.shift();
          const lat = `<div><div>latency (ingest → sink, ms): p50 <b>${p.latencyMs.p50.toFixed(1)}</b> · p99 <b>${p.latencyMs.p99.toFixed(1)}</b> · max ${p.latencyMs.max.toFixed(1)} over ${p.latencyMs.count}</div>${chart()}
            <div class="muted"><span style="color:#6cf">p50</span> · <span style="color:#f96">p99</span> · <span style="color:#9d6">display (sink → page) p50</span></div>
            <div class="muted">viewer: ${v.stream_clients} stream client(s), ${v.published} frames received, ${v.encoded} encoded (${v.encode_ms_mean.toFixed(1)} ms each, ≤ ${v.max_fps} fps)${v.ended ? " · pipeline finished" : ""}</div></div>`;
          $("side").innerHTML = stages + edges + dropTable + lat;
        }
        function chart() {
          const W = 360, H = 110, max = Math.max(1, ...history.map((h) => Math.max(h.p99, h.d)));
          const line = (k, c) => `<polyline fill="none" stroke="${c}" stroke-width="1.5" points="${history.map((h, i) => `${(i / 119 * W).toFixed(1)},${(H - h[k] / max * (H - 10)).toFixed(1)}`).join(" ")}"/>`;
          return `<svg id="chart" width="${W}" height="${H}"><text x="4" y="11" fill="#777" font-size="10">${max.toFixed(0)} ms</text>${line("p50", "#6cf")}${line("p99", "#f96")}${line("d", "#9d6")}</svg>`;
        }

        // ---- file: a recorded HDF5 file
        let info = null;
        async function loadFile() {
          info = await (await fetch("/api/info")).json();
          $("status").textContent = `${info.file}: ${info.frames} frames, ${info.width}×${info.height}`;
          $("slider").hidden = false; $("pause").hidden = true;
          const slider = $("index"); slider.max = Math.max(0, info.frames - 1);
          slider.oninput = () => showIndex(+slider.value);
          document.addEventListener("keydown", (e) => {
            if (e.key === "ArrowRight") slider.value = Math.min(+slider.max, +slider.value + 1);
            else if (e.key === "ArrowLeft") slider.value = Math.max(0, +slider.value - 1); else return;
            showIndex(+slider.value);
          });
          const attrs = Object.entries(info.attributes).map(([k, v]) => `<tr><td>${k}</td><td style="text-align:left;max-width:520px;overflow-wrap:anywhere">${String(v).replace(/</g, "&lt;").slice(0, 400)}</td></tr>`).join("");
          const sets = info.datasets.map((d) => `<tr><td>/${d.name}</td><td>[${d.shape.join(", ")}]</td><td>${d.type}</td></tr>`).join("");
          $("side").innerHTML = `<table id="perframe"></table><table><tr><th>dataset</th><th>shape</th><th>type</th></tr>${sets}</table>
            <table><tr><th>root attribute</th><th style="text-align:left">value</th></tr>${attrs}</table>`;
          if (info.frames > 0) showIndex(0);
        }
        let token = 0;
        async function showIndex(i) {
          const mine = ++token;
          const imgs = await Promise.all(info.images.map((d) => new Promise((ok, bad) => {
            const im = new Image(); im.onload = () => ok(im); im.onerror = bad; im.src = `/frame/${d}/${i}.png`;
          })));
          if (mine !== token) return;
          setPanels(info.images, imgs[0].naturalWidth, imgs[0].naturalHeight);
          state.panels.forEach((p, k) => p.ctx.drawImage(imgs[k], 0, 0, p.canvas.width, p.canvas.height));
          drawZooms();
          state.frameID = i; state.shown++; if (state.firstFrameID < 0) state.firstFrameID = i; markDOM();
          $("frame").textContent = `frame ${i + 1} / ${info.frames}`; $("indexLabel").textContent = `index ${i}`;
          const rows = Object.entries(info.arrays).map(([k, v]) => `<tr><td>${k}</td><td>${v[i]}</td></tr>`).join("");
          $("perframe").innerHTML = `<tr><th>per-frame array</th><th>[${i}]</th></tr>${rows}`;
        }

        if (MODE === "live") { stream(); poll(); setInterval(poll, 1000); } else { loadFile(); }
        </script></body></html>
        """#
}
