// The dashboard's only script: loads each [data-src] panel from its data call and draws
// it (cards, charts with Chart.js, tables). Everything from the server is inserted as
// text, never as HTML.
(function () {
  "use strict";
  const body = document.body;
  const query = body.dataset.query || "";
  const dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  const css = getComputedStyle(document.documentElement);
  const color = (name) => css.getPropertyValue(name).trim();
  const palette = ["--c1", "--c2", "--c3", "--c4", "--c5", "--c6"].map(color);
  const intl = new Intl.NumberFormat("en");

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined) continue;
      if (key === "class") node.className = value;
      else node.setAttribute(key, value);
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function withParams(path, extra) {
    const params = new URLSearchParams(query);
    for (const [key, value] of Object.entries(extra || {})) {
      if (value === null || value === "") params.delete(key);
      else params.set(key, value);
    }
    const text = params.toString();
    return path + (text ? "?" + text : "");
  }
  const conversationHref = (id) => withParams("/dashboard/conversations/" + encodeURIComponent(id));

  const percent = (v) => (v === null || v === undefined ? "–" : (v * 100).toFixed(1) + "%");
  const count = (v) => (v === null || v === undefined ? "–" : intl.format(v));
  function change(card) {
    if (card.change === null || card.change === undefined) return el("span", { class: "change" }, "no earlier data");
    const up = card.change > 0;
    const text = card.format === "share"
      ? (up ? "+" : "") + (card.change * 100).toFixed(1) + " pts"
      : (up ? "+" : "") + (card.change * 100).toFixed(0) + "%";
    const good = card.key === "thumbs_down" || card.key === "gap_share" ? !up : up;
    return el("span", { class: "change " + (card.change === 0 ? "flat" : good ? "good" : "bad") }, text + " vs previous");
  }
  function when(iso, unit) {
    const d = new Date(iso);
    const options = unit === "hour"
      ? { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZone: "UTC", hour12: false }
      : unit === "day" ? { month: "short", day: "numeric", timeZone: "UTC" }
      : { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZone: "UTC", hour12: false };
    return d.toLocaleString("en", options);
  }

  function heading(section, fallback) {
    const title = section.dataset.title || fallback;
    if (title) section.append(el("h2", {}, title));
  }
  function empty(section) {
    section.append(el("p", { class: "muted empty-note" }, section.dataset.empty || "Nothing in this period."));
  }

  function cards(section, data) {
    for (const card of data.cards) {
      section.append(el("div", { class: "card", "data-key": card.key },
        el("span", { class: "label" }, card.label),
        el("span", { class: "value" }, card.format === "share" ? percent(card.value) : count(card.value)),
        change(card)));
    }
  }

  function chart(section, data) {
    section.append(el("h2", {}, data.title));
    const total = data.datasets.reduce((sum, d) => sum + d.data.reduce((a, b) => a + b, 0), 0);
    if (!total) { empty(section); return; }
    const canvas = el("canvas", { role: "img", "aria-label": data.title });
    section.append(el("div", { class: "chart" + (data.type === "doughnut" ? " round" : "") }, canvas));
    const grid = dark ? "rgba(255,255,255,0.12)" : "rgba(0,0,0,0.08)";
    const text = color("--muted");
    const labels = data.unit ? data.labels.map((l) => when(l, data.unit)) : data.labels;
    const datasets = data.datasets.map((d, i) => ({
      label: d.label,
      data: d.data,
      borderColor: data.type === "doughnut" ? color("--panel") : palette[i],
      backgroundColor: data.type === "doughnut" ? data.labels.map((_, j) => palette[j % palette.length])
        : data.type === "line" ? palette[i] + "33" : palette[i],
      fill: data.type === "line",
      cubicInterpolationMode: "monotone",
      pointRadius: data.labels.length > 60 ? 0 : 2,
    }));
    const axes = data.type === "doughnut" ? {} : {
      x: { stacked: !!data.stacked, title: { display: !!data.x, text: data.horizontal ? data.x : data.x, color: text },
           ticks: { color: text, maxRotation: 0, autoSkip: true, maxTicksLimit: 8 }, grid: { color: grid } },
      y: { stacked: !!data.stacked, beginAtZero: true, title: { display: !!data.y, text: data.y, color: text },
           ticks: { color: text, precision: 0 }, grid: { color: grid } },
    };
    if (data.horizontal) {
      axes.x.title.text = data.x; axes.y.title.text = data.y;
    }
    const instance = new Chart(canvas, {
      type: data.type,
      data: { labels, datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        indexAxis: data.horizontal ? "y" : "x",
        scales: axes,
        plugins: {
          legend: { display: data.datasets.length > 1 || data.type === "doughnut", labels: { color: text } },
          tooltip: { enabled: true },
          title: { display: false },
        },
        onClick: section.dataset.link === "category" ? (event, items) => {
          if (items.length) location.href = withParams("/dashboard/conversations", { category: data.labels[items[0].index] });
        } : undefined,
      },
    });
    canvas.chart = instance;
  }

  function table(columns, rows) {
    const head = el("tr", {}, ...columns.map((c) => el("th", { scope: "col", class: c.numeric ? "num" : c.head || null }, c.label)));
    const lines = rows.map((row) => el("tr", {}, ...columns.map((c) => {
      const value = c.render ? c.render(row) : row[c.key];
      return el("td", { class: c.numeric ? "num" : c.cls || null }, value);
    })));
    return el("div", { class: "scroll" }, el("table", {}, el("thead", {}, head), el("tbody", {}, ...lines)));
  }

  function genericTable(section, data) {
    heading(section);
    if (!data.rows.length) { empty(section); return; }
    const columns = data.columns.map((c) => ({
      label: c.label,
      render: (row) => c.link === "conversation" ? el("a", { href: conversationHref(row[c.key]), class: "mono" }, row[c.key])
        : c.format === "time" ? when(row[c.key]) : row[c.key],
      cls: c.format === "time" ? "nowrap" : null,
    }));
    section.append(table(columns, data.rows));
  }

  function conversations(section, data) {
    heading(section);
    const pages = Math.max(1, Math.ceil(data.total / data.pageSize));
    section.append(el("p", { class: "muted", "data-total": data.total }, count(data.total) + " conversations · page " + data.page + " of " + count(pages)));
    if (!data.rows.length) { empty(section); return; }
    section.append(table([
      { label: "Started (UTC)", cls: "nowrap", render: (r) => when(r.firstMessageTime) },
      { label: "First question", cls: "question", render: (r) => el("a", { href: conversationHref(r.id) }, r.question || r.id) },
      { label: "Type", render: (r) => r.type },
      { label: "Integration", cls: "mono wide-only", head: "wide-only", render: (r) => r.integrationId || "–" },
      { label: "User messages", numeric: true, render: (r) => count(r.userMessageCount) },
    ], data.rows));
    const params = new URLSearchParams(location.search);
    const nav = el("nav", { class: "pager", "aria-label": "Pages" });
    const link = (page, label) => { params.set("page", page); return el("a", { href: "?" + params.toString(), rel: label === "Previous" ? "prev" : "next" }, label); };
    if (data.page > 1) nav.append(link(data.page - 1, "Previous"));
    if (data.page < pages) nav.append(link(data.page + 1, "Next"));
    section.append(nav);
  }

  function topics(section, data) {
    heading(section);
    if (!data.rows.length) { empty(section); return; }
    section.append(table([
      { label: "Category", render: (r) => el("a", { href: withParams("/dashboard/conversations", { category: r.category }) }, r.category) },
      { label: "Questions", numeric: true, render: (r) => count(r.questions) },
      { label: "Trend", numeric: true, render: (r) => r.change === null ? "new" : (r.change > 0 ? "+" : "") + (r.change * 100).toFixed(0) + "%" },
      { label: "Positive", numeric: true, render: (r) => percent(r.positiveShare) },
      { label: "Gaps", numeric: true, render: (r) => percent(r.gapShare) },
      { label: "Example questions", cls: "question", render: (r) => el("ul", { class: "examples" }, ...r.examples.map((q) => el("li", {}, q))) },
    ], data.rows));
  }

  function gaps(section, data) {
    heading(section);
    if (!data.rows.length) { empty(section); return; }
    section.append(table([
      { label: "Subject", render: (r) => r.subject },
      { label: "Questions", numeric: true, render: (r) => count(r.total) },
      ...data.kinds.map((k) => ({ label: k.label, numeric: true, render: (r) => count(r[k.key]) })),
      { label: "Gap summary", cls: "question", render: (r) => r.gapSummary || "–" },
      { label: "Examples", cls: "question", render: (r) => el("ul", { class: "examples" }, ...r.examples.map((e) =>
          el("li", {}, e.conversationId ? el("a", { href: conversationHref(e.conversationId) }, e.question) : e.question))) },
    ], data.rows));
  }

  function search(section, data) {
    if (!data.top.length && !data.weekly.length) { heading(section); empty(section); return; }
    const weekly = el("section", { class: "panel inner" });
    chart(weekly, {
      title: "Searching users per week", type: "line", unit: "day", x: "Week (UTC, from Monday)", y: "Users",
      labels: data.weekly.map((w) => w.week), datasets: [{ label: "Users", data: data.weekly.map((w) => Number(w.unique_users)) }],
    });
    section.append(weekly, el("h2", {}, "Top search queries"), table([
      { label: "Query", cls: "question", render: (r) => r.search_query },
      { label: "Searches", numeric: true, render: (r) => count(Number(r.count)) },
    ], data.top));
  }

  const renderers = { cards, chart, table: genericTable, conversations, topics, gaps, search };

  async function load(section) {
    section.setAttribute("aria-busy", "true");
    try {
      const response = await fetch(section.dataset.src, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) {
        const problem = await response.json().catch(() => ({}));
        section.append(el("p", { class: "error" }, problem.detail || "Could not load: " + response.status));
        return;
      }
      renderers[section.dataset.kind](section, await response.json());
    } finally {
      section.removeAttribute("aria-busy");
    }
  }

  for (const select of document.querySelectorAll("select[data-autosubmit]")) {
    select.addEventListener("change", () => {
      if (select.hasAttribute("data-range") && select.value === "custom") {
        for (const label of document.querySelectorAll("label.custom")) label.hidden = false;
        return;
      }
      select.form.submit();
    });
  }

  if (window.Chart) {
    Chart.defaults.font.family = getComputedStyle(body).fontFamily;
    Chart.defaults.color = color("--muted");
  }
  Promise.all(Array.from(document.querySelectorAll("[data-src]"), load)).finally(() => {
    body.dataset.loaded = "true";
  });
})();
