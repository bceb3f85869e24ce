import Foundation

/// The dashboard at `GET /`: one page with no external assets (its styles, script and SVG charts are inline),
/// fed by `/v1/stream`, laid out in one column on a phone. The page's text is static; every figure is put in by
/// its script, escaped.
enum DashboardPage {
    /// The page with `figures` (JSON) inlined for the first paint; `<` is escaped so no text can close the script.
    static func render(figures: Data?) -> String {
        let json =
            figures.map { String(decoding: $0, as: UTF8.self).replacingOccurrences(of: "<", with: "\\u003c") } ?? "null"
        return html.replacingOccurrences(of: "/*FIGURES*/", with: json)
    }

    static let html = ##"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>WedSync performance</title>
        <style>
          :root { --bg:#f6f4f1; --card:#fff; --ink:#1f2430; --muted:#6b7280; --line:#e6e1da;
                  --p50:#2f7d6d; --p95:#d08a2e; --p99:#c2410c; --rate:#3b5bdb; --bad:#b91c1c; --good:#15803d; }
          * { box-sizing:border-box; }
          body { margin:0; font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif; background:var(--bg); color:var(--ink); }
          header { display:flex; flex-wrap:wrap; align-items:baseline; gap:.5rem 1rem; padding:.8rem 1rem; background:#1f2430; color:#fff; }
          header h1 { font-size:1.05rem; margin:0; font-weight:600; }
          header .status { font-size:.8rem; color:#c7cbd3; }
          header .dot { display:inline-block; width:.55rem; height:.55rem; border-radius:50%; background:#9ca3af; margin-right:.3rem; }
          header .dot.live { background:#34d399; }
          main { display:grid; grid-template-columns:repeat(auto-fill,minmax(320px,1fr)); gap:.8rem; padding:.8rem; }
          section { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:.8rem .9rem; min-width:0; }
          section.wide { grid-column:1/-1; }
          h2 { font-size:.8rem; text-transform:uppercase; letter-spacing:.06em; color:var(--muted); margin:0 0 .5rem; font-weight:600; }
          .tiles { display:grid; grid-template-columns:repeat(auto-fit,minmax(120px,1fr)); gap:.6rem; }
          .tile { padding:.5rem .6rem; border-radius:8px; background:#faf8f5; border:1px solid var(--line); }
          .tile b { display:block; font-size:1.35rem; font-variant-numeric:tabular-nums; }
          .tile span { font-size:.75rem; color:var(--muted); }
          svg.chart { width:100%; height:170px; display:block; }
          svg.chart text { font-size:10px; fill:var(--muted); }
          .legend { display:flex; gap:.8rem; font-size:.75rem; color:var(--muted); margin-top:.2rem; flex-wrap:wrap; }
          .legend i { display:inline-block; width:.8rem; height:.2rem; vertical-align:middle; margin-right:.25rem; border-radius:2px; }
          table { width:100%; border-collapse:collapse; font-variant-numeric:tabular-nums; }
          th, td { text-align:left; padding:.3rem .25rem; border-bottom:1px solid var(--line); font-size:.82rem; white-space:nowrap; }
          td.name { white-space:normal; word-break:break-word; min-width:9rem; }
          th { color:var(--muted); font-weight:600; font-size:.72rem; text-transform:uppercase; }
          .num { text-align:right; }
          .bar { height:.55rem; border-radius:4px; background:#e9e5df; overflow:hidden; }
          .bar > div { height:100%; border-radius:4px; }
          .alert { padding:.45rem .55rem; border-radius:7px; margin-bottom:.4rem; border-left:4px solid var(--p95); background:#fff8ed; }
          .alert.critical { border-color:var(--bad); background:#fef2f2; }
          .alert.pending { opacity:.75; }
          .alert small { color:var(--muted); display:block; }
          .ok { color:var(--good); } .breach { color:var(--bad); font-weight:600; } .warn { color:var(--p95); }
          .empty { color:var(--muted); font-style:italic; }
          @media (max-width:600px) { main { grid-template-columns:1fr; padding:.5rem; gap:.5rem; } svg.chart { height:150px; } .opt { display:none; } }
        </style>
        </head>
        <body>
        <header>
          <h1>WedSync performance</h1>
          <span class="status"><span id="dot" class="dot"></span><span id="status">connecting…</span></span>
        </header>
        <main>
          <section class="wide">
            <h2>Last minute, every API route</h2>
            <div class="tiles">
              <div class="tile"><b id="t-rate">–</b><span>requests / s</span></div>
              <div class="tile"><b id="t-p95">–</b><span>p95 latency</span></div>
              <div class="tile"><b id="t-p99">–</b><span>p99 latency</span></div>
              <div class="tile"><b id="t-errors">–</b><span>error rate</span></div>
              <div class="tile"><b id="t-hits">–</b><span>cache hit ratio</span></div>
              <div class="tile"><b id="t-alerts">–</b><span>alerts firing</span></div>
            </div>
          </section>
          <section>
            <h2>Latency percentiles</h2>
            <svg id="chart-latency" class="chart" role="img" aria-label="latency percentiles over time"></svg>
            <div class="legend"><span><i style="background:var(--p50)"></i>p50</span><span><i style="background:var(--p95)"></i>p95</span><span><i style="background:var(--p99)"></i>p99</span></div>
          </section>
          <section>
            <h2>Throughput</h2>
            <svg id="chart-rate" class="chart" role="img" aria-label="requests per second over time"></svg>
            <div class="legend"><span><i style="background:var(--rate)"></i>requests / s</span></div>
          </section>
          <section>
            <h2>Error rate</h2>
            <svg id="chart-errors" class="chart" role="img" aria-label="error rate over time"></svg>
            <div class="legend"><span><i style="background:var(--bad)"></i>5xx share</span></div>
          </section>
          <section>
            <h2>Cache hit ratio by tier</h2>
            <div id="cache-tiers"></div>
          </section>
          <section>
            <h2>Database</h2>
            <div class="tiles" style="margin-bottom:.5rem">
              <div class="tile"><b id="t-db-p95">–</b><span>query p95</span></div>
              <div class="tile"><b id="t-db-rate">–</b><span>queries / s</span></div>
              <div class="tile"><b id="t-pool">–</b><span>pool in use</span></div>
            </div>
            <table><thead><tr><th>slowest statements</th><th class="num">p95</th><th class="num">calls</th></tr></thead><tbody id="db-rows"></tbody></table>
          </section>
          <section>
            <h2>Alerts</h2>
            <div id="alerts"></div>
          </section>
          <section class="wide">
            <h2>Routes, last 5 minutes</h2>
            <div style="overflow-x:auto"><table><thead><tr><th>route</th><th class="num">req/s</th><th class="num opt">p50</th><th class="num">p95</th><th class="num">p99</th><th class="num">errors</th><th class="num opt">cache</th></tr></thead><tbody id="routes"></tbody></table></div>
          </section>
          <section>
            <h2>Budgets</h2>
            <div id="budgets"></div>
          </section>
          <section>
            <h2>Capacity forecast</h2>
            <div id="forecast"></div>
          </section>
        </main>
        <script id="initial-figures" type="application/json">/*FIGURES*/</script>
        <script>
        "use strict";
        const $ = (id) => document.getElementById(id);
        const ms = (v) => v == null ? "–" : v >= 1000 ? (v / 1000).toFixed(2) + " s" : v >= 100 ? v.toFixed(0) + " ms" : v.toFixed(1) + " ms";
        const pct = (v) => v == null ? "–" : (v * 100).toFixed(v < 0.01 && v > 0 ? 2 : 1) + "%";
        const num = (v) => v == null ? "–" : v >= 100 ? v.toFixed(0) : v.toFixed(1);
        const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
        const NS = "http://www.w3.org/2000/svg";

        function el(name, attributes, parent) {
          const node = document.createElementNS(NS, name);
          for (const key in attributes) node.setAttribute(key, attributes[key]);
          if (parent) parent.appendChild(node);
          return node;
        }

        // A line chart of `lines` ({values, color, fill}) over the shared time axis `times`; gaps where a value is null.
        function lineChart(svg, times, lines, format) {
          const width = svg.clientWidth || 320, height = svg.clientHeight || 170;
          const left = 44, right = 8, top = 8, bottom = 20;
          while (svg.firstChild) svg.removeChild(svg.firstChild);
          svg.setAttribute("viewBox", "0 0 " + width + " " + height);
          const all = lines.flatMap((line) => line.values).filter((v) => v != null);
          let max = all.length ? Math.max(...all) : 1;
          if (max <= 0) max = 1;
          max *= 1.1;
          const x = (i) => left + (times.length <= 1 ? 0 : (i / (times.length - 1)) * (width - left - right));
          const y = (v) => top + (1 - v / max) * (height - top - bottom);
          for (let k = 0; k <= 3; k++) {
            const value = (max * k) / 3;
            el("line", { x1: left, x2: width - right, y1: y(value), y2: y(value), stroke: "#eee7dd" }, svg);
            el("text", { x: left - 4, y: y(value) + 3, "text-anchor": "end" }, svg).textContent = format(value);
          }
          if (times.length) {
            const label = (t) => new Date(t).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
            el("text", { x: left, y: height - 5 }, svg).textContent = label(times[0]);
            el("text", { x: width - right, y: height - 5, "text-anchor": "end" }, svg).textContent = label(times[times.length - 1]);
          }
          let drawn = 0;
          for (const line of lines) {
            let path = "", pen = false, area = "", first = null, last = null;
            line.values.forEach((v, i) => {
              if (v == null) { pen = false; return; }
              path += (pen ? "L" : "M") + x(i).toFixed(1) + "," + y(v).toFixed(1);
              if (first == null) first = i;
              last = i;
              pen = true;
              drawn++;
            });
            if (line.fill && first != null) {
              area = path.replace(/M/g, "L").replace(/^L/, "M") + "L" + x(last).toFixed(1) + "," + y(0) + "L" + x(first).toFixed(1) + "," + y(0) + "Z";
              el("path", { d: area, fill: line.color, "fill-opacity": 0.12, stroke: "none" }, svg);
            }
            if (path) el("path", { d: path, fill: "none", stroke: line.color, "stroke-width": 2, "stroke-linejoin": "round", "stroke-linecap": "round" }, svg);
          }
          svg.dataset.points = String(drawn);
        }

        function bars(container, items) {
          if (!items.length) { container.innerHTML = '<p class="empty">no cache lookups yet</p>'; container.dataset.points = "0"; return; }
          container.innerHTML = items.map((item) => {
            const ratio = item.hitRatio == null ? 0 : item.hitRatio;
            const color = ratio >= 0.8 ? "var(--good)" : ratio >= 0.5 ? "var(--p95)" : "var(--bad)";
            const name = esc((item.source ? item.source + " " : "") + item.tier);
            const latency = item.p95Ms == null ? "" : ' <small style="color:var(--muted)">p95 ' + ms(item.p95Ms) + '</small>';
            if (item.hitRatio == null && item.answered != null) {
              return '<div style="margin-bottom:.55rem"><div style="display:flex;justify-content:space-between"><span>' + name +
                '</span><span>' + item.answered + ' answered' + latency + '</span></div></div>';
            }
            return '<div style="margin-bottom:.55rem"><div style="display:flex;justify-content:space-between"><span>' + name +
              '</span><span>' + pct(item.hitRatio) + ' <small style="color:var(--muted)">of ' + item.lookups + '</small>' + latency + '</span></div>' +
              '<div class="bar"><div style="width:' + (ratio * 100).toFixed(1) + '%;background:' + color + '"></div></div></div>';
          }).join("");
          container.dataset.points = String(items.length);
        }

        function render(figures) {
          const overall = figures.overall || {};
          const answered = overall.count > 0;
          $("t-rate").textContent = num(overall.ratePerSecond);
          $("t-p95").textContent = answered ? ms(overall.p95Ms) : "–";
          $("t-p99").textContent = answered ? ms(overall.p99Ms) : "–";
          $("t-errors").textContent = answered ? pct(overall.errorRate) : "–";
          $("t-hits").textContent = pct(overall.cacheHitRatio);
          const firing = (figures.alerts || []).filter((a) => a.state === "firing").length;
          $("t-alerts").textContent = String(firing);
          $("t-alerts").className = firing ? "breach" : "ok";

          const history = figures.history || [];
          const times = history.map((p) => p.start);
          lineChart($("chart-latency"), times, [
            { values: history.map((p) => p.p50Ms), color: "#2f7d6d" },
            { values: history.map((p) => p.p95Ms), color: "#d08a2e" },
            { values: history.map((p) => p.p99Ms), color: "#c2410c" },
          ], ms);
          lineChart($("chart-rate"), times, [{ values: history.map((p) => p.ratePerSecond), color: "#3b5bdb", fill: true }], num);
          lineChart($("chart-errors"), times, [{ values: history.map((p) => p.errorRate), color: "#b91c1c", fill: true }], pct);
          bars($("cache-tiers"), figures.cacheTiers || []);

          const database = figures.database || {};
          $("t-db-p95").textContent = ms(database.p95Ms);
          $("t-db-rate").textContent = num(database.ratePerSecond);
          $("t-pool").textContent = pct(database.poolUtilisation);
          $("db-rows").innerHTML = (database.slowest || []).map((s) =>
            '<tr><td class="name">' + esc(s.route) + '</td><td class="num">' + ms(s.p95Ms) + '</td><td class="num">' + s.count + "</td></tr>").join("")
            || '<tr><td colspan="3" class="empty">no statements yet</td></tr>';

          $("alerts").innerHTML = (figures.alerts || []).filter((a) => a.state !== "inactive").map((a) =>
            '<div class="alert ' + esc(a.severity) + " " + esc(a.state) + '"><b>' + esc(a.name) + "</b> " + esc(a.state) +
            "<small>" + esc(Object.entries(a.labels || {}).map(([k, v]) => k + "=" + v).join(" ")) + " · value " + num(a.value) +
            (a.annotations && a.annotations.summary ? " · " + esc(a.annotations.summary) : "") + "</small></div>").join("")
            || '<p class="ok">nothing firing</p>';

          $("routes").innerHTML = (figures.routes || []).map((r) =>
            '<tr><td class="name">' + esc(r.method + " " + r.route) + '</td><td class="num">' + num(r.ratePerSecond) + '</td><td class="num opt">' + ms(r.p50Ms) +
            '</td><td class="num">' + ms(r.p95Ms) + '</td><td class="num">' + ms(r.p99Ms) + '</td><td class="num ' + (r.errorRate > 0.01 ? "breach" : "") + '">' +
            pct(r.errorRate) + '</td><td class="num opt">' + pct(r.cacheHitRatio) + "</td></tr>").join("")
            || '<tr><td colspan="7" class="empty">no requests yet</td></tr>';

          $("budgets").innerHTML = (figures.budgets || []).length ? "<table><thead><tr><th>route</th><th>budget</th><th class=\"num\">now</th></tr></thead><tbody>" +
            figures.budgets.flatMap((b) => (b.checks || []).map((c) =>
              '<tr><td class="name">' + esc(b.route) + "</td><td>" + esc(c.metric) + " ≤ " + esc(c.metric.startsWith("p") ? ms(c.limit) : pct(c.limit)) +
              '</td><td class="num ' + (c.status === "breached" ? "breach" : c.status === "ok" ? "ok" : "") + '">' +
              (c.value == null ? "–" : c.metric.startsWith("p") ? ms(c.value) : pct(c.value)) + "</td></tr>")).join("") + "</tbody></table>"
            : '<p class="empty">no budgets configured</p>';

          const forecast = figures.forecast;
          $("forecast").innerHTML = forecast
            ? "<p>Next Saturday (" + esc(forecast.nextSaturday) + "): about <b>" + num(forecast.peakRatePerSecond) + " req/s</b> at peak, p95 about <b>" +
              ms(forecast.peakP95Ms) + "</b>.</p><p>Replicas needed: <b>" + forecast.replicasNeeded + "</b> (now " + forecast.currentReplicas + ")" +
              (forecast.budgetBreachAt ? '. <span class="breach">Budget breached around ' + esc(forecast.budgetBreachAt) + " at current replicas.</span>" : "") + "</p>"
            : '<p class="empty">not enough history yet</p>';
          document.body.dataset.updated = String(Date.now());
        }

        function connect() {
          const source = new EventSource("v1/stream");
          source.addEventListener("figures", (event) => {
            $("dot").className = "dot live";
            $("status").textContent = "live · " + new Date().toLocaleTimeString();
            render(JSON.parse(event.data));
          });
          source.onerror = () => { $("dot").className = "dot"; $("status").textContent = "reconnecting…"; };
        }
        // The figures the page was served with draw at once (no round trip on a slow line); the stream takes over.
        try {
          const initial = JSON.parse($("initial-figures").textContent);
          if (initial) render(initial);
        } catch (error) { /* no initial figures: wait for the stream */ }
        connect();
        </script>
        </body>
        </html>
        """##
}
