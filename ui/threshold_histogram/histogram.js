// The threshold histogram: bars of the errors, a threshold line the user drags or moves with the keys, and the
// metric cards, all redrawn here at every move. The errors arrive once per result sorted ascending (with the
// running count of anomalies along them), so each move is one binary search; the value goes back to Python
// (trigger "released") only when the pointer is released or the keys rest, and Python redraws the rest once.

const MARGIN = { left: 62, right: 22, top: 22, bottom: 44 };
const KEY_REST_MS = 350; // keys pressed closer together than this are sent to Python as one move
const views = new WeakMap(); // one view per mounted component (its shadow root)

export default function (component) {
  let view = views.get(component.parentElement);
  if (!view) {
    view = new ThresholdView(component.parentElement);
    views.set(component.parentElement, view);
  }
  view.update(component.data, component.setTriggerValue);
}

function column(table, name) {
  if (!table) return null;
  if (Array.isArray(table[name])) return Float64Array.from(table[name]);
  const child = table.getChild ? table.getChild(name) : null;
  return child ? child.toArray() : null;
}

// Index of the first error above t: the number of errors at most t.
function countAtMost(sorted, t) {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle] <= t) low = middle + 1;
    else high = middle;
  }
  return low;
}

const ratio = (a, b) => (b ? a / b : null);
const whole = (n) => n.toLocaleString("en-US");
const percent = (v, digits = 1) => (v === null ? "–" : `${(v * 100).toFixed(digits)}%`);
const short = (v) => (Number.isFinite(v) ? String(Number(v.toPrecision(4))) : String(v));
const tickText = (v) => String(Number(v.toPrecision(3)));

function niceTicks(low, high, count) {
  const span = high - low;
  if (!(span > 0)) return [low];
  const raw = span / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) || raw;
  const ticks = [];
  for (let v = Math.ceil(low / step) * step; v <= high + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

function logTicks(low, high) {
  // low, high in log10 units
  const ticks = [];
  const decades = high - low;
  const multiples = decades < 1.5 ? [1, 2, 3, 5, 7] : decades < 3.5 ? [1, 2, 5] : [1];
  for (let d = Math.floor(low); d <= Math.ceil(high); d++) {
    for (const m of multiples) {
      const v = m * 10 ** d;
      if (Math.log10(v) >= low && Math.log10(v) <= high) ticks.push(v);
    }
  }
  // Under a decade or so: round values spaced evenly, as on a linear axis, so the axis keeps a few labels.
  return ticks.length >= 3 ? ticks : niceTicks(10 ** low, 10 ** high, 5).filter((v) => v > 0);
}

function svg(name, attributes, parent) {
  const element = document.createElementNS("http://www.w3.org/2000/svg", name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
  if (parent) parent.appendChild(element);
  return element;
}

class ThresholdView {
  constructor(root) {
    this.root = root.querySelector(".threshold-histogram");
    this.cardsBox = this.root.querySelector(".cards");
    this.legend = this.root.querySelector(".legend");
    this.plot = this.root.querySelector(".plot");
    this.chart = this.root.querySelector(".chart");
    this.handle = this.root.querySelector(".handle");
    this.label = this.root.querySelector(".value-label");
    this.band = this.root.querySelector(".band");
    this.logX = this.root.querySelector(".log-x");
    this.logY = this.root.querySelector(".log-y");
    this.token = null;
    this.value = null;
    this.dirty = false; // moved here and not yet sent to Python
    this.sentSeq = 0;
    this.keyTimer = null;
    this.drag = null; // "line" or {from: value} (a range selection) while the pointer is down
    this.logX.addEventListener("change", () => this.draw());
    this.logY.addEventListener("change", () => this.draw());
    this.plot.addEventListener("pointerdown", (event) => this.pointerDown(event));
    this.plot.addEventListener("pointermove", (event) => this.pointerMove(event));
    this.plot.addEventListener("pointerup", (event) => this.pointerUp(event));
    this.plot.addEventListener("pointercancel", (event) => this.pointerUp(event));
    this.handle.addEventListener("keydown", (event) => this.keyDown(event));
    this.handle.addEventListener("blur", () => this.sendIfDirty());
    new ResizeObserver(() => this.draw()).observe(this.plot);
  }

  update(data, setTriggerValue) {
    this.send = setTriggerValue;
    this.step = data.step;
    this.decimals = Math.max(0, -Math.floor(Math.log10(data.step)));
    if (data.token !== this.token) {
      this.token = data.token;
      this.errors = column(data.arrays, "error");
      this.anomaliesUpTo = data.labelled ? column(data.arrays, "anomalies_up_to") : null;
      this.n = this.errors.length;
      this.positives = this.anomaliesUpTo && this.n ? this.anomaliesUpTo[this.n - 1] : 0;
      this.bins = data.bins;
      this.colors = data.colors;
      this.unit = data.unit;
      this.logX.checked = data.log_x && data.bins.log !== null;
      this.logX.disabled = data.bins.log === null;
      this.logY.checked = data.log_y;
      this.buildCards();
      this.dirty = false;
      this.value = null;
    }
    // Python's value is taken unless the user has moved the line since, or it answers an older move.
    if (this.value === null || (!this.dirty && this.drag === null && data.seq >= this.sentSeq)) {
      this.value = data.value;
      this.domainValue = data.value;
      this.draw();
      this.showValue();
    }
  }

  // ------------------------------------------------------------------ numbers

  metricsAt(t) {
    const atMost = countAtMost(this.errors, t);
    const flagged = this.n - atMost;
    const point = { n: this.n, flagged };
    if (!this.anomaliesUpTo) return point;
    const positives = this.positives;
    const negatives = this.n - positives;
    const missed = atMost ? this.anomaliesUpTo[atMost - 1] : 0;
    const tp = positives - missed;
    const fp = flagged - tp;
    return Object.assign(point, {
      tp,
      fp,
      fn: missed,
      tn: negatives - fp,
      precision: ratio(tp, flagged),
      recall: ratio(tp, positives),
      f1: ratio(2 * tp, flagged + positives),
      normalsCorrect: ratio(negatives - fp, negatives),
    });
  }

  buildCards() {
    const cards = [["flagged", "Flagged"]];
    if (this.anomaliesUpTo) {
      cards.push(
        ["precision", "Precision", "Share of flagged samples that are anomalies."],
        ["recall", "Recall", "Share of anomalies that are flagged."],
        ["f1", "F1"],
        ["normalsCorrect", "Normals correct", "Accuracy on normal samples: the share left unflagged."],
        ["anomaliesCorrect", "Anomalies correct", "Accuracy on anomalies: the share flagged (the recall)."],
        ["confusion", "Confusion", "True and false positives (flagged), false and true negatives (not flagged)."],
      );
    }
    this.cardsBox.replaceChildren();
    this.cards = {};
    for (const [name, label, help] of cards) {
      const card = document.createElement("div");
      card.className = `card ${name}`;
      card.dataset.metric = name;
      if (help) card.title = help;
      card.innerHTML = '<div class="label"></div><div class="value"></div><div class="detail"></div>';
      card.querySelector(".label").textContent = label;
      this.cardsBox.appendChild(card);
      this.cards[name] = card;
    }
    this.legend.replaceChildren();
    for (const group of Object.keys(this.bins.linear.counts)) {
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = this.colors[group];
      this.legend.append(swatch, group === "all" ? this.unit : group);
    }
  }

  setCard(name, value, text, detail = "") {
    const card = this.cards[name];
    card.dataset.value = value === null ? "" : String(value);
    card.querySelector(".value").textContent = text;
    card.querySelector(".detail").textContent = detail;
  }

  // The cards, the line and its label at the current value.
  showValue() {
    const point = this.metricsAt(this.value);
    this.setCard(
      "flagged",
      point.flagged,
      whole(point.flagged),
      `${percent(ratio(point.flagged, point.n), 2)} of ${whole(point.n)}`,
    );
    if (this.anomaliesUpTo) {
      this.setCard("precision", point.precision, percent(point.precision));
      this.setCard("recall", point.recall, percent(point.recall));
      this.setCard("f1", point.f1, point.f1 === null ? "–" : point.f1.toFixed(3));
      this.setCard("normalsCorrect", point.normalsCorrect, percent(point.normalsCorrect));
      this.setCard("anomaliesCorrect", point.recall, percent(point.recall));
      const confusion = this.cards.confusion;
      confusion.dataset.tp = point.tp;
      confusion.dataset.fp = point.fp;
      confusion.dataset.fn = point.fn;
      confusion.dataset.tn = point.tn;
      confusion.querySelector(".value").innerHTML = "";
      confusion.querySelector(".value").append(
        `TP ${whole(point.tp)} · FP ${whole(point.fp)}`,
        document.createElement("br"),
        `FN ${whole(point.fn)} · TN ${whole(point.tn)}`,
      );
    }
    this.placeLine();
    this.root.dataset.value = String(this.value);
  }

  // ------------------------------------------------------------------ axes

  domain() {
    const bins = this.logX.checked ? this.bins.log : this.bins.linear;
    const edges = bins.edges;
    let low = edges[0];
    let high = edges[edges.length - 1];
    const t = this.domainValue;
    if (Number.isFinite(t) && (!this.logX.checked || t > 0)) {
      low = Math.min(low, t);
      high = Math.max(high, t);
    }
    const f = this.logX.checked ? Math.log10 : (v) => v;
    const pad = (f(high) - f(low)) * 0.015 || 1e-9;
    return { bins, low: f(low) - pad, high: f(high) + pad, f };
  }

  toPixel(v) {
    const d = this.axis;
    const scaled = this.logX.checked ? (v > 0 ? Math.log10(v) : -Infinity) : v;
    const clamped = Math.min(Math.max(scaled, d.low), d.high);
    return MARGIN.left + ((clamped - d.low) / (d.high - d.low)) * this.plotWidth;
  }

  fromPixel(px) {
    const d = this.axis;
    const share = Math.min(Math.max((px - MARGIN.left) / this.plotWidth, 0), 1);
    const scaled = d.low + share * (d.high - d.low);
    return this.logX.checked ? 10 ** scaled : scaled;
  }

  draw() {
    if (this.token === null) return;
    const width = this.plot.clientWidth;
    const height = this.plot.clientHeight;
    if (!width) return;
    this.plotWidth = width - MARGIN.left - MARGIN.right;
    this.plotHeight = height - MARGIN.top - MARGIN.bottom;
    this.axis = this.domain();
    const { bins } = this.axis;
    const groups = Object.entries(bins.counts);
    const totals = bins.counts[groups[0][0]].map((_, i) => groups.reduce((sum, [, c]) => Math.max(sum, c[i]), 0));
    const top = Math.max(1, ...totals);
    const logY = this.logY.checked;
    const yLow = logY ? Math.log10(0.7) : 0;
    const yHigh = logY ? Math.log10(top * 1.6) : top * 1.05;
    const bottom = MARGIN.top + this.plotHeight;
    const y = (count) => bottom - (((logY ? Math.log10(count) : count) - yLow) / (yHigh - yLow)) * this.plotHeight;

    this.chart.replaceChildren();
    this.chart.setAttribute("viewBox", `0 0 ${width} ${height}`);
    const axes = svg("g", {}, this.chart);
    const yTicks = logY
      ? logTicks(0, yHigh).filter((v) => Number.isInteger(v) && [1, 10].includes(v / 10 ** Math.floor(Math.log10(v))))
      : niceTicks(0, yHigh, 5).filter(Number.isInteger);
    for (const v of yTicks) {
      svg("line", { class: "grid", x1: MARGIN.left, x2: width - MARGIN.right, y1: y(v), y2: y(v) }, axes);
      svg("text", { x: MARGIN.left - 6, y: y(v) + 4, "text-anchor": "end" }, axes).textContent = whole(v);
    }
    const xTicks = this.logX.checked
      ? logTicks(this.axis.low, this.axis.high)
      : niceTicks(this.axis.low, this.axis.high, Math.max(3, Math.floor(this.plotWidth / 110)));
    for (const v of xTicks) {
      const px = this.toPixel(v);
      svg("line", { class: "grid", x1: px, x2: px, y1: MARGIN.top, y2: bottom }, axes);
      svg("text", { x: px, y: bottom + 16, "text-anchor": "middle" }, axes).textContent = tickText(v);
    }
    svg("text", { x: MARGIN.left + this.plotWidth / 2, y: height - 4, "text-anchor": "middle" }, axes).textContent =
      "reconstruction error";
    const yTitle = svg("text", { x: 14, y: MARGIN.top + this.plotHeight / 2, "text-anchor": "middle" }, axes);
    yTitle.setAttribute("transform", `rotate(-90 14 ${MARGIN.top + this.plotHeight / 2})`);
    yTitle.textContent = this.unit;

    const bars = svg("g", { "data-testid": "bars" }, this.chart);
    const opacity = groups.length > 1 ? 0.75 : 0.9;
    for (const [group, counts] of groups) {
      const layer = svg("g", { fill: this.colors[group], "fill-opacity": opacity, "data-group": group }, bars);
      counts.forEach((count, i) => {
        if (!count) return;
        const x0 = this.toPixel(bins.edges[i]);
        const x1 = this.toPixel(bins.edges[i + 1]);
        const top = y(count);
        const rect = svg("rect", { x: x0, y: top, width: Math.max(x1 - x0, 0.5), height: bottom - top }, layer);
        svg("title", {}, rect).textContent =
          `${short(bins.edges[i])} – ${short(bins.edges[i + 1])}: ${whole(count)} ${group === "all" ? this.unit : group}`;
      });
    }
    svg("line", { x1: MARGIN.left, x2: width - MARGIN.right, y1: bottom, y2: bottom, stroke: "currentColor" }, axes);
    this.handle.style.top = `${MARGIN.top - 4}px`;
    this.handle.style.height = `${this.plotHeight + 4}px`;
    this.band.style.top = `${MARGIN.top}px`;
    this.band.style.height = `${this.plotHeight}px`;
    this.placeLine();
  }

  placeLine() {
    if (!this.axis) return;
    const px = this.toPixel(this.value);
    this.handle.style.left = `${px}px`;
    this.handle.classList.toggle("label-left", px > MARGIN.left + this.plotWidth * 0.7);
    const off = this.logX.checked && !(this.value > 0) ? " (not on a log axis)" : "";
    this.label.textContent = `threshold ${short(this.value)}${off}`;
    this.handle.setAttribute("aria-valuenow", String(this.value));
    this.handle.setAttribute("aria-valuetext", this.label.textContent);
    this.handle.dataset.step = String(this.step);
  }

  // ------------------------------------------------------------------ input

  moveTo(value) {
    this.value = value;
    this.dirty = true;
    this.showValue();
  }

  sendIfDirty() {
    if (!this.dirty) return;
    clearTimeout(this.keyTimer);
    this.sentSeq = Math.max(Date.now(), this.sentSeq + 1);
    this.dirty = false;
    this.domainValue = this.value;
    this.send("released", { value: this.value, seq: this.sentSeq });
  }

  pointerDown(event) {
    if (event.button !== 0) return;
    event.preventDefault();
    this.plot.setPointerCapture(event.pointerId);
    const x = event.clientX - this.plot.getBoundingClientRect().left;
    if (event.shiftKey) {
      this.drag = { from: this.fromPixel(x) };
      this.showBand(x);
      return;
    }
    this.drag = "line";
    this.handle.classList.add("dragging");
    this.handle.focus({ preventScroll: true });
    this.moveTo(this.fromPixel(x));
  }

  pointerMove(event) {
    if (this.drag === null) return;
    const x = event.clientX - this.plot.getBoundingClientRect().left;
    if (this.drag === "line") this.moveTo(this.fromPixel(x));
    else this.showBand(x);
  }

  pointerUp(event) {
    if (this.drag === null) return;
    const drag = this.drag;
    this.drag = null;
    this.handle.classList.remove("dragging");
    if (drag === "line") {
      this.sendIfDirty();
      return;
    }
    this.band.hidden = true;
    const to = this.fromPixel(event.clientX - this.plot.getBoundingClientRect().left);
    this.send("range", [Math.min(drag.from, to), Math.max(drag.from, to)]);
  }

  showBand(x) {
    const from = this.toPixel(this.drag.from);
    const clamped = Math.min(Math.max(x, MARGIN.left), MARGIN.left + this.plotWidth);
    this.band.hidden = false;
    this.band.style.left = `${Math.min(from, clamped)}px`;
    this.band.style.width = `${Math.abs(clamped - from)}px`;
  }

  keyDown(event) {
    const steps = { ArrowLeft: -1, ArrowDown: -1, ArrowRight: 1, ArrowUp: 1, PageDown: -10, PageUp: 10 }[event.key];
    let value;
    if (steps !== undefined) {
      const count = steps * (event.shiftKey ? 10 : 1);
      value = this.logX.checked && this.value > 0 ? this.logStep(count) : this.linearStep(count);
    } else if (event.key === "Home" || event.key === "End") {
      const end = this.axis[event.key === "Home" ? "low" : "high"];
      value = this.logX.checked ? 10 ** end : end;
    } else if (event.key === "Enter") {
      this.sendIfDirty();
      return;
    } else {
      return;
    }
    event.preventDefault();
    this.moveTo(value);
    clearTimeout(this.keyTimer);
    this.keyTimer = setTimeout(() => this.sendIfDirty(), KEY_REST_MS);
  }

  // `count` steps along the round grid of `step` (a value between two grid points goes to the next one first).
  linearStep(count) {
    const grid = count > 0 ? Math.floor(this.value / this.step + 1e-9) : Math.ceil(this.value / this.step - 1e-9);
    return Number(((grid + count) * this.step).toFixed(this.decimals));
  }

  // On log-scaled errors a step is a 200th of the axis in log units, so it stays visible across decades.
  logStep(count) {
    return 10 ** (Math.log10(this.value) + (count * (this.axis.high - this.axis.low)) / 200);
  }
}
