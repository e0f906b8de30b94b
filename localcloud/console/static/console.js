// The localcloud console: polls the JSON API under ./api/ and draws each panel.
// Everything from the stack is put on the page as text (textContent), never as markup; the
// one exception is a mail's HTML body, shown in a sandboxed frame without scripts or remote loads.
"use strict";

(() => {
  const API = "api/";
  const POLL_MS = 2000;
  const PANELS = ["requests", "functions", "queues", "mail", "payments", "metrics"];
  const MAX_REQUESTS = 500;
  const SHOWN_REQUESTS = 300;
  const COLORS = { blue: "#2f6fdf", red: "#c53030", green: "#1f8a4c", amber: "#b7791f", grey: "#8a94a6" };
  // The policy of a mail's own document: inline styles and embedded images only.
  const MAIL_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:";
  const SVG_NS = "http://www.w3.org/2000/svg";

  const state = {
    panel: "requests",
    requests: [],
    latest: 0,
    selectedRequest: null,
    selectedMail: null,
    shownMail: null,
    openQueue: null,
    pendingRedrive: null,
    timer: null,
    generation: 0,
    rendered: {},
  };

  // ---- DOM helpers ----

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key === "data") Object.assign(node.dataset, value);
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    appendAll(node, children);
    return node;
  }

  // Children may be nested arrays; null, undefined and false stand for nothing.
  function appendAll(node, children) {
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : String(child));
    }
  }

  function setChildren(node, ...children) {
    node.replaceChildren();
    appendAll(node, children);
  }

  function svg(tag, attributes) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, String(value));
    return node;
  }

  const $ = (selector) => document.querySelector(selector);

  // Whether what a part of the page shows has changed since it was last drawn. Rows are redrawn
  // only then: a row replaced between a press and a release of the mouse would lose the click.
  function changed(part, ...shown) {
    const key = JSON.stringify(shown);
    if (state.rendered[part] === key) return false;
    state.rendered[part] = key;
    return true;
  }

  // ---- formatting ----

  const pad = (number) => String(number).padStart(2, "0");

  function clock(ms) {
    const date = new Date(ms);
    return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
  }

  function dateTime(value) {
    if (value === null || value === undefined) return "";
    const date = new Date(value);
    return `${date.toLocaleDateString()} ${clock(date.getTime())}`;
  }

  function duration(ms) {
    if (ms === null || ms === undefined) return "–";
    if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
    return `${ms.toFixed(ms < 10 ? 1 : 0)} ms`;
  }

  function number(value) {
    if (value === null || value === undefined) return "–";
    return Number.isInteger(value) ? value.toLocaleString() : value.toLocaleString(undefined, { maximumFractionDigits: 2 });
  }

  function money(amount, currency) {
    if (typeof amount !== "number" || !currency) return String(amount ?? "");
    try {
      const format = new Intl.NumberFormat(undefined, { style: "currency", currency: currency.toUpperCase() });
      const digits = format.resolvedOptions().maximumFractionDigits;
      return format.format(amount / 10 ** digits);
    } catch (error) {
      return `${amount} ${currency}`;
    }
  }

  function statusClass(status) {
    return `status status-${Math.floor(status / 100)}xx`;
  }

  function prettyBody(text) {
    if (!text) return text;
    try {
      return JSON.stringify(JSON.parse(text), null, 2);
    } catch (error) {
      return text;
    }
  }

  // ---- HTTP ----

  async function getJson(path) {
    const response = await fetch(API + path, { headers: { Accept: "application/json" }, cache: "no-store" });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
    return body;
  }

  async function postJson(path, document_) {
    const response = await fetch(API + path, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Localcloud-Console": "1" },
      body: JSON.stringify(document_),
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
    return body;
  }

  // ---- charts (inline SVG) ----

  // series: [{label, color, points: [[t, value|null], ...]}]; from/to in ms.
  function lineChart(series, { from, to, unit = "", width = 320, height = 70 }) {
    const left = 34;
    const bottom = 12;
    const plotWidth = width - left - 4;
    const plotHeight = height - bottom - 4;
    const values = series.flatMap((line) => line.points.map((point) => point[1])).filter((value) => value !== null);
    const top = Math.max(1, ...values);
    const x = (t) => left + ((t - from) / Math.max(1, to - from)) * plotWidth;
    const y = (value) => 4 + plotHeight - (value / top) * plotHeight;
    const chart = svg("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`, role: "img" });
    chart.append(svg("line", { class: "axis", x1: left, y1: 4 + plotHeight, x2: width - 4, y2: 4 + plotHeight }));
    chart.append(svg("line", { class: "axis", x1: left, y1: 4, x2: left, y2: 4 + plotHeight }));
    const topLabel = svg("text", { x: left - 4, y: 10, "text-anchor": "end" });
    topLabel.textContent = `${number(Math.round(top * 100) / 100)}${unit}`;
    const zeroLabel = svg("text", { x: left - 4, y: 4 + plotHeight, "text-anchor": "end" });
    zeroLabel.textContent = "0";
    const startLabel = svg("text", { x: left, y: height - 1 });
    startLabel.textContent = `-${Math.round((to - from) / 60000)} min`;
    const endLabel = svg("text", { x: width - 4, y: height - 1, "text-anchor": "end" });
    endLabel.textContent = "now";
    chart.append(topLabel, zeroLabel, startLabel, endLabel);
    for (const line of series) {
      // A null value breaks the line: no data is not zero.
      let run = [];
      const flush = () => {
        if (run.length === 1) {
          chart.append(svg("circle", { cx: run[0][0], cy: run[0][1], r: 1.8, fill: line.color }));
        } else if (run.length > 1) {
          chart.append(svg("polyline", { points: run.map((p) => p.join(",")).join(" "), stroke: line.color }));
        }
        run = [];
      };
      for (const [t, value] of line.points) {
        if (value === null || t < from) flush();
        else run.push([x(t).toFixed(1), y(value).toFixed(1)]);
      }
      flush();
    }
    const legend = el(
      "div",
      { class: "legend" },
      series.map((line) => el("span", {}, el("i", { style: `background:${line.color}` }), line.label)),
    );
    return el("div", {}, chart, legend);
  }

  // ---- panels: requests ----

  async function pollRequests() {
    const data = await getJson(`requests?after=${state.latest}`);
    if (data.latest < state.latest) {
      // A new localcloud: its requests start over.
      state.requests = [];
      state.latest = 0;
    }
    // Two polls may overlap: keep each request once.
    const fresh = data.requests.filter((request) => request.sequence > state.latest);
    state.latest = Math.max(state.latest, data.latest);
    if (fresh.length) state.requests = fresh.concat(state.requests).slice(0, MAX_REQUESTS);
    if (state.panel === "requests") renderRequests();
  }

  function requestMatches(request, words, errorsOnly) {
    if (errorsOnly && request.status < 400) return false;
    const haystack = [request.method, request.path, request.status, request.function || "", request.request_id]
      .join(" ")
      .toLowerCase();
    return words.every((word) => haystack.includes(word));
  }

  function renderRequests() {
    const words = $("#request-filter").value.toLowerCase().split(/\s+/).filter(Boolean);
    const errorsOnly = $("#request-errors-only").checked;
    if (!changed("requests", words, errorsOnly, state.latest, state.requests.length, state.selectedRequest)) return;
    const shown = state.requests.filter((request) => requestMatches(request, words, errorsOnly));
    const body = $("#request-table tbody");
    setChildren(body,
      ...shown.slice(0, SHOWN_REQUESTS).map((request) =>
        el(
          "tr",
          {
            data: { requestId: request.request_id },
            class: request.request_id === state.selectedRequest ? "selected" : null,
            onclick: () => selectRequest(request.request_id),
          },
          el("td", { class: "mono", text: clock(request.time) }),
          el("td", { text: request.method }),
          el("td", { class: "path", text: request.path, title: request.path }),
          el("td", { class: statusClass(request.status), text: request.status }),
          el("td", { class: "num", text: duration(request.duration_ms) }),
          el("td", { text: request.function || "–" }),
          el("td", { class: "mono", text: request.request_id }),
        ),
      ),
    );
    $("#request-empty").hidden = state.requests.length > 0;
    const total = state.requests.length;
    $("#request-count").textContent = shown.length === total ? `${total} requests` : `${shown.length} of ${total} requests`;
  }

  async function selectRequest(requestId) {
    state.selectedRequest = requestId;
    renderRequests();
    const pane = $("#request-detail");
    pane.hidden = false;
    setChildren(pane, el("p", { class: "muted", text: "Loading…" }));
    try {
      renderRequestDetail(await getJson(`requests/${encodeURIComponent(requestId)}`));
    } catch (error) {
      setChildren(pane, el("p", { class: "flash error", text: error.message }));
    }
  }

  function bodyBlock(capped, label) {
    if (!capped) return el("p", { class: "muted", text: `no ${label}` });
    const parts = [];
    if (capped.truncated) parts.push(el("p", { class: "note", text: `showing the first part of ${number(capped.size)} bytes` }));
    if (capped.binary) parts.push(el("p", { class: "muted", text: `${number(capped.size)} bytes of binary data` }));
    else parts.push(el("pre", { class: `${label.replace(/\s/g, "-")}`, text: prettyBody(capped.text) || "(empty)" }));
    return parts;
  }

  function invocationBlock(invocation) {
    return el(
      "div",
      { class: invocation.error ? "invocation failed" : "invocation", data: { function: invocation.function } },
      el(
        "dl",
        { class: "kv" },
        el("dt", { text: "function" }),
        el("dd", { text: invocation.function }),
        el("dt", { text: "Lambda request id" }),
        el("dd", { text: invocation.request_id }),
        el("dt", { text: "duration" }),
        el("dd", { text: `${duration(invocation.duration_ms)}${invocation.cold_start ? " (cold start)" : ""}` }),
        invocation.error ? el("dt", { text: "error" }) : null,
        invocation.error ? el("dd", { text: invocation.error }) : null,
      ),
      el(
        "pre",
        { class: "log-lines" },
        invocation.log.length
          ? invocation.log.map((line) => el("div", { class: "log-line", text: `${clock(line.time)}  ${line.message}` }))
          : "(no log lines kept for this invocation)",
      ),
    );
  }

  function renderRequestDetail(detail) {
    const pane = $("#request-detail");
    const close = el("button", {
      class: "close",
      title: "Close",
      text: "×",
      onclick: () => {
        state.selectedRequest = null;
        pane.hidden = true;
        renderRequests();
      },
    });
    const event = detail.event ? JSON.stringify(detail.event, null, 2) : null;
    setChildren(pane,
      el(
        "h2",
        {},
        el("span", {}, `${detail.method} ${detail.path} `, el("span", { class: statusClass(detail.status), text: detail.status })),
        close,
      ),
      el(
        "dl",
        { class: "kv" },
        el("dt", { text: "request id" }),
        el("dd", { id: "detail-request-id", text: detail.request_id }),
        el("dt", { text: "answered" }),
        el("dd", { text: `${clock(detail.time)} in ${duration(detail.duration_ms)}` }),
        el("dt", { text: "function" }),
        el("dd", { text: detail.function || "none (answered by the gateway)" }),
      ),
      el("h3", { text: `Invocations and log lines (${detail.invocations.length})` }),
      detail.invocations.length
        ? detail.invocations.map(invocationBlock)
        : el("p", { class: "muted", text: "No function ran for this request." }),
      el("h3", { text: "Response" }),
      el("pre", { class: "response-headers", text: detail.response.headers.map(([name, value]) => `${name}: ${value}`).join("\n") }),
      bodyBlock(detail.response.body, "response body"),
      el("h3", { text: "Event" }),
      detail.event_body && detail.event_body.truncated
        ? el("p", { class: "note", text: `the event's body is cut to its first part of ${number(detail.event_body.size)} bytes` })
        : null,
      event ? el("pre", { class: "event", text: event }) : el("p", { class: "muted", text: "No event: no function was reached." }),
      detail.function_payload !== null
        ? el(
            "details",
            {},
            el("summary", { text: "What the function returned" }),
            el("pre", { text: JSON.stringify(detail.function_payload, null, 2) }),
          )
        : null,
    );
  }

  // ---- panels: functions ----

  function statItem(label, value, bad) {
    return el("span", {}, `${label} `, el("b", { class: bad ? "bad" : null, data: { field: label.replace(/\s/g, "-") }, text: value }));
  }

  function renderFunctions(data) {
    const from = data.now - data.span_s * 1000;
    $("#function-note").textContent =
      `Counts since start; p50 and p95 over the last ${data.window_s / 60} minutes; charts per ${data.bucket_s} s over the last ${data.span_s / 60} minutes.`;
    setChildren($("#function-cards"),
      ...data.functions.map((fn) =>
        el(
          "div",
          { class: "card", data: { function: fn.logical_id } },
          el("h2", { text: fn.logical_id }),
          el("div", { class: "sub", title: fn.name, text: fn.triggers.join(" · ") || fn.name }),
          el(
            "div",
            { class: "stats" },
            statItem("invocations", number(fn.invocations)),
            statItem("errors", number(fn.errors), fn.errors > 0),
            statItem("cold starts", number(fn.cold_starts)),
            statItem("p50", duration(fn.recent.p50_ms)),
            statItem("p95", duration(fn.recent.p95_ms)),
          ),
          el("div", { class: "chart-title", text: "invocations, errors and cold starts" }),
          lineChart(
            [
              { label: "invocations", color: COLORS.blue, points: fn.series.map((b) => [b.t, b.invocations]) },
              { label: "errors", color: COLORS.red, points: fn.series.map((b) => [b.t, b.errors]) },
              { label: "cold starts", color: COLORS.amber, points: fn.series.map((b) => [b.t, b.cold_starts]) },
            ],
            { from, to: data.now },
          ),
          el("div", { class: "chart-title", text: "duration" }),
          lineChart(
            [
              { label: "p50", color: COLORS.green, points: fn.series.map((b) => [b.t, b.p50_ms]) },
              { label: "p95", color: COLORS.grey, points: fn.series.map((b) => [b.t, b.p95_ms]) },
            ],
            { from, to: data.now, unit: " ms" },
          ),
        ),
      ),
    );
  }

  // ---- panels: queues ----

  function queueRole(queue) {
    if (queue.is_dead_letter_queue) return `dead letters of ${queue.dead_letter_sources.join(", ")}`;
    if (queue.dead_letter_target) return `→ ${queue.dead_letter_target} after ${queue.max_receive_count} receives`;
    return "";
  }

  function queueActions(queue) {
    if (!queue.is_dead_letter_queue) return el("td", {});
    return el(
      "td",
      {},
      el(
        "div",
        { class: "actions" },
        el("button", { type: "button", data: { action: "inspect" }, text: "Inspect", onclick: () => inspectQueue(queue.name) }),
        el("button", {
          type: "button",
          class: queue.visible > 0 ? "danger" : null,
          data: { action: "redrive" },
          disabled: queue.visible === 0,
          text: "Redrive…",
          onclick: () => confirmRedrive(queue),
        }),
      ),
    );
  }

  function renderQueues(data) {
    const queues = data.queues;
    renderQueueCharts(data);
    if (state.openQueue && !queues.some((queue) => queue.name === state.openQueue)) closeMessages();
    const rows = queues.map(({ series, ...figures }) => figures);
    if (!changed("queues", rows)) return;
    $("#queue-empty").hidden = queues.length > 0;
    setChildren($("#queue-table tbody"),
      ...queues.map((queue) =>
        el(
          "tr",
          { data: { queue: queue.name } },
          el("td", { class: "mono", text: queue.name }),
          el("td", { class: queue.is_dead_letter_queue && queue.visible > 0 ? "num status-5xx" : "num", data: { field: "visible" }, text: queue.visible }),
          el("td", { class: "num", data: { field: "in-flight" }, text: queue.in_flight }),
          el("td", { class: "num", data: { field: "delayed" }, text: queue.delayed }),
          el("td", { class: "muted role", text: queueRole(queue) }),
          queueActions(queue),
        ),
      ),
    );
  }

  function renderQueueCharts(data) {
    const queues = data.queues;
    const from = data.now - data.span_s * 1000;
    setChildren($("#queue-charts"),
      ...queues.map((queue) =>
        el(
          "div",
          { class: "card", data: { queueChart: queue.name } },
          el("h2", { text: queue.name }),
          el("div", { class: "sub", text: queueRole(queue) || "queue" }),
          lineChart(
            [
              {
                label: queue.is_dead_letter_queue ? "dead letters" : "visible",
                color: queue.is_dead_letter_queue ? COLORS.red : COLORS.blue,
                points: queue.series.map((p) => [p[0], p[1]]),
              },
              { label: "in flight", color: COLORS.amber, points: queue.series.map((p) => [p[0], p[2]]) },
            ],
            { from, to: data.now },
          ),
        ),
      ),
    );
  }

  function closeMessages() {
    state.openQueue = null;
    $("#dlq-messages").hidden = true;
  }

  async function inspectQueue(name) {
    state.openQueue = name;
    const pane = $("#dlq-messages");
    pane.hidden = false;
    setChildren(pane, el("p", { class: "muted", text: "Loading…" }));
    try {
      const data = await getJson(`queues/${encodeURIComponent(name)}/messages`);
      setChildren(pane,
        el("h2", {}, el("span", { text: `Messages in ${data.queue}` }), el("button", { class: "close", title: "Close", text: "×", onclick: closeMessages })),
        el("p", {
          class: "muted",
          text: `${data.visible} waiting${data.messages.length < data.visible ? `, the first ${data.messages.length} shown` : ""}; a redrive sends them back to ${data.destinations.join(", ")}.`,
        }),
        data.messages.length
          ? data.messages.map((message) =>
              el(
                "div",
                { class: "message", data: { messageId: message.id } },
                el("div", { class: "meta", text: `${message.id} · sent ${dateTime(message.sent_at)} · received ${message.receive_count}×` }),
                el("pre", { class: "message-body", text: prettyBody(message.body) }),
              ),
            )
          : el("p", { class: "empty", text: "The queue is empty." }),
      );
    } catch (error) {
      setChildren(pane, el("p", { class: "flash error", text: error.message }));
    }
  }

  function confirmRedrive(queue) {
    state.pendingRedrive = queue;
    const sources = queue.dead_letter_sources;
    // A dead-letter queue shared by several queues: the person chooses where its messages go.
    const choose = sources.length > 1;
    setChildren($("#confirm-destination"), sources.map((source) => el("option", { value: source, text: source })));
    $("#confirm-destination-label").hidden = !choose;
    $("#confirm-text").textContent = choose
      ? `Move the ${queue.visible} message(s) waiting in ${queue.name} back to the queue chosen below? Its consumer will receive them again.`
      : `Move the ${queue.visible} message(s) waiting in ${queue.name} back to ${sources[0]}? Its consumer will receive them again.`;
    $("#confirm-dialog").showModal();
  }

  async function redrive() {
    const queue = state.pendingRedrive;
    $("#confirm-dialog").close();
    state.pendingRedrive = null;
    if (!queue) return;
    const flash = $("#queue-flash");
    try {
      const body = queue.dead_letter_sources.length > 1 ? { destination: $("#confirm-destination").value } : {};
      const result = await postJson(`queues/${encodeURIComponent(queue.name)}/redrive`, body);
      flash.className = "flash";
      flash.textContent = `Moved ${result.moved} message(s) from ${result.queue} back to ${result.destination}.`;
    } catch (error) {
      flash.className = "flash error";
      flash.textContent = `Redrive of ${queue.name} failed: ${error.message}`;
    }
    flash.hidden = false;
    if (state.openQueue === queue.name) inspectQueue(queue.name);
    await refreshPanel();
  }

  // ---- panels: mail ----

  function renderMailList(data) {
    if (!state.selectedMail && data.mail.length) state.selectedMail = data.mail[0].id;
    if (state.selectedMail && state.selectedMail !== state.shownMail) showMail(state.selectedMail);
    if (!changed("mail", data.mail, state.selectedMail)) return;
    setChildren($("#mail-list"),
      ...data.mail.map((mail) =>
        el(
          "li",
          {
            data: { mailId: mail.id },
            class: mail.id === state.selectedMail ? "selected" : null,
            onclick: () => {
              state.selectedMail = mail.id;
              renderMailList(data);
            },
          },
          el("div", { class: "subject", text: mail.subject || "(no subject)" }),
          el("div", { class: "meta", text: `${dateTime(mail.timestamp)} · to ${mail.to.join(", ")}` }),
        ),
      ),
    );
  }

  async function showMail(mailId) {
    state.shownMail = mailId;
    const view = $("#mail-view");
    try {
      const mail = await getJson(`mail/${encodeURIComponent(mailId)}`);
      if (state.shownMail !== mailId) return;
      const htmlPane = mail.html
        ? el("iframe", {
            id: "mail-html",
            title: "HTML body",
            sandbox: "",
            referrerpolicy: "no-referrer",
            srcdoc: `<!doctype html><meta http-equiv="Content-Security-Policy" content="${MAIL_POLICY}">${mail.html}`,
          })
        : el("p", { class: "muted", text: "No HTML body." });
      setChildren(view,
        el("h2", { id: "mail-subject", text: mail.subject || "(no subject)" }),
        el(
          "dl",
          { class: "kv" },
          el("dt", { text: "from" }),
          el("dd", { text: mail.source }),
          el("dt", { text: "to" }),
          el("dd", { text: mail.to.join(", ") }),
          mail.cc.length ? el("dt", { text: "cc" }) : null,
          mail.cc.length ? el("dd", { text: mail.cc.join(", ") }) : null,
          el("dt", { text: "sent" }),
          el("dd", { text: dateTime(mail.timestamp) }),
          el("dt", { text: "message id" }),
          el("dd", { text: mail.id }),
        ),
        el(
          "div",
          { class: "mail-bodies" },
          el("div", {}, el("h3", { text: "HTML (sandboxed: no scripts, no remote content)" }), htmlPane),
          el("div", {}, el("h3", { text: "Text" }), el("pre", { id: "mail-text", text: mail.text || mail.raw || "No text body." })),
        ),
      );
    } catch (error) {
      state.shownMail = null;
      setChildren(view, el("p", { class: "flash error", text: error.message }));
    }
  }

  // ---- panels: payments ----

  function intentPill(status) {
    const kind = status === "succeeded" ? "ok" : status === "canceled" || status === "requires_payment_method" ? "bad" : "warn";
    return el("span", { class: `pill ${kind}`, data: { field: "status" }, text: status });
  }

  function renderPayments(data) {
    if (!changed("payments", data)) return;
    $("#payment-empty").textContent = data.enabled ? "No payment intent yet." : "The fake payment provider is not running (localcloud up --no-payments).";
    $("#payment-empty").hidden = data.intents.length > 0;
    setChildren($("#payment-table tbody"),
      ...data.intents.map((intent) =>
        el(
          "tr",
          { data: { intentId: intent.id } },
          el("td", { class: "mono", text: dateTime(intent.created * 1000) }),
          el("td", { class: "mono", text: intent.id }),
          el("td", {}, intentPill(intent.status)),
          el("td", { class: "num", data: { field: "amount" }, text: money(intent.amount, intent.currency) }),
          el("td", { class: "mono", text: Object.entries(intent.metadata || {}).map(([k, v]) => `${k}=${v}`).join(" ") }),
          el("td", { class: "muted", text: intent.last_payment_error || "" }),
        ),
      ),
    );
  }

  // ---- panels: metrics ----

  function renderMetrics(data) {
    const from = data.now - data.span_s * 1000;
    $("#metric-note").textContent = data.metrics.length
      ? `Sum and count over the last ${data.window_s / 60} minutes; charts: the sum per ${data.bucket_s} s as it reached the emulator.`
      : "No metric yet. Functions emit metrics by logging lines in CloudWatch's embedded metric format (EMF).";
    setChildren($("#metric-cards"),
      ...data.metrics.map((metric) => {
        const dimensions = metric.dimensions.map(([name, value]) => `${name}=${value}`).join(", ");
        return el(
          "div",
          { class: "card metric-card", data: { metric: `${metric.namespace}/${metric.name}` } },
          el("h2", { text: metric.name }),
          el("div", { class: "sub", title: dimensions, text: `${metric.namespace}${dimensions ? ` · ${dimensions}` : ""}` }),
          el(
            "div",
            { class: "stats" },
            statItem("sum", number(metric.sum)),
            statItem("count", number(metric.count)),
            statItem("min", number(metric.minimum)),
            statItem("max", number(metric.maximum)),
            metric.unit && metric.unit !== "None" ? el("span", { class: "muted", text: metric.unit }) : null,
          ),
          lineChart([{ label: "sum", color: COLORS.blue, points: metric.series }], { from, to: data.now }),
        );
      }),
    );
  }

  // ---- summary, navigation, polling ----

  function setBadge(id, value, alert) {
    const badge = $(id);
    badge.textContent = value === null || value === undefined || value === 0 ? "" : number(value);
    badge.classList.toggle("alert", Boolean(alert));
  }

  async function refreshSummary() {
    const summary = await getJson("summary");
    setBadge("#badge-requests", summary.requests);
    setBadge("#badge-functions", summary.errors || summary.invocations, summary.errors > 0);
    setBadge("#badge-queues", summary.dead_letters || summary.queued, summary.dead_letters > 0);
    setBadge("#badge-mail", summary.mail);
    setBadge("#badge-payments", summary.payments);
  }

  const PANEL_REFRESH = {
    requests: pollRequests,
    functions: async () => renderFunctions(await getJson("functions")),
    queues: async () => renderQueues(await getJson("queues")),
    mail: async () => renderMailList(await getJson("mail")),
    payments: async () => renderPayments(await getJson("payments")),
    metrics: async () => renderMetrics(await getJson("metrics")),
  };

  async function refreshPanel() {
    const panel = state.panel;
    await PANEL_REFRESH[panel]();
    if (panel !== "requests") await pollRequests();
  }

  function setLive(text, offline) {
    const status = $("#live-status");
    status.textContent = text;
    status.classList.toggle("offline", offline);
  }

  async function tick() {
    clearTimeout(state.timer);
    // Only the newest tick schedules the next one, so a tick started early never doubles the polling.
    const generation = ++state.generation;
    try {
      await Promise.all([refreshSummary(), refreshPanel()]);
      setLive(`live · ${clock(Date.now())}`, false);
    } catch (error) {
      setLive(`cannot reach localcloud: ${error.message}`, true);
    }
    if (generation === state.generation && !document.hidden) state.timer = setTimeout(tick, POLL_MS);
  }

  function showPanel() {
    const wanted = location.hash.replace("#", "");
    state.panel = PANELS.includes(wanted) ? wanted : "requests";
    for (const section of document.querySelectorAll("section.panel")) section.hidden = section.dataset.panel !== state.panel;
    for (const tab of document.querySelectorAll("#tabs a")) tab.classList.toggle("active", tab.dataset.panel === state.panel);
    document.body.dataset.panel = state.panel;
    tick();
  }

  async function loadOverview() {
    try {
      const overview = await getJson("overview");
      const name = overview.stack_name || "stack";
      $("#stack-name").textContent = `${name} · ${overview.region} · ${overview.functions.length} functions`;
      document.title = `${name} · localcloud console`;
    } catch (error) {
      setLive(`cannot reach localcloud: ${error.message}`, true);
    }
  }

  function start() {
    $("#request-filter").addEventListener("input", renderRequests);
    $("#request-filter").addEventListener("change", renderRequests);
    $("#request-errors-only").addEventListener("change", renderRequests);
    $("#confirm-button").addEventListener("click", redrive);
    $("#confirm-cancel").addEventListener("click", () => {
      state.pendingRedrive = null;
      $("#confirm-dialog").close();
    });
    window.addEventListener("hashchange", showPanel);
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden) tick();
    });
    loadOverview();
    showPanel();
  }

  start();
})();
