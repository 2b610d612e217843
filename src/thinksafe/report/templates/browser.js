// The transcript browser. Data comes from the JSON block #ts-data and is written into the page
// with textContent only: model output never becomes markup.
(function () {
  "use strict";
  var source = document.getElementById("ts-data");
  if (!source) { return; }
  var D = JSON.parse(source.textContent);
  var rows = D.rows;
  var PAGE = 100;
  var HIGHLIGHT = 300;
  var NOT_SCORED = {};
  D.not_scored.forEach(function (o) { NOT_SCORED[o] = 1; });
  var CHANNEL_NAMES = ["answer", "reasoning", "either"];
  var state = { cat: "", exp: "", atk: "", ch: 2, out: "", q: "", shown: PAGE, sel: -1 };
  var matched = [];
  var hay = null;

  function $(id) { return document.getElementById(id); }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function badge(outcome) {
    var b = el("span", "badge o-" + outcome, outcome);
    b.setAttribute("title", "outcome: " + outcome);
    return b;
  }

  function fill(select, labels) {
    var order = labels.map(function (label, i) { return [label, i]; });
    order.sort(function (a, b) { return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0; });
    order.forEach(function (pair) {
      var option = document.createElement("option");
      option.value = String(pair[1]);
      option.textContent = pair[0];
      select.appendChild(option);
    });
  }

  function lastUser(messages) {
    for (var i = messages.length - 1; i >= 0; i--) {
      if (messages[i][0] === "user") { return messages[i][1]; }
    }
    return messages.length ? messages[messages.length - 1][1] : "";
  }

  function buildHaystack() {
    hay = new Array(rows.length);
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i];
      var parts = [r.s, r.id, D.cats[r.c], D.attacks[r.a], r.ans, r.rea, r.err || ""];
      for (var k = 0; k < r.m.length; k++) { parts.push(r.m[k][1]); }
      hay[i] = parts.join("\n").toLowerCase();
    }
  }

  function matches(i) {
    var r = rows[i];
    if (state.cat !== "" && r.c !== +state.cat) { return false; }
    if (state.exp !== "" && r.x !== state.exp) { return false; }
    if (state.atk !== "" && r.a !== +state.atk) { return false; }
    if (state.out !== "") {
      var o = r.o[state.ch];
      if (state.out === "not-scored") {
        if (!NOT_SCORED[o]) { return false; }
      } else if (o !== state.out) { return false; }
    }
    if (state.q !== "") {
      if (hay === null) { buildHaystack(); }
      if (hay[i].indexOf(state.q) < 0) { return false; }
    }
    return true;
  }

  function apply() {
    var start = window.performance ? performance.now() : 0;
    matched = [];
    for (var i = 0; i < rows.length; i++) {
      if (matches(i)) { matched.push(i); }
    }
    state.shown = PAGE;
    render();
    if (window.performance) {
      // How long filtering and drawing took, for the browser test to read.
      $("t-count").setAttribute("data-filter-ms", (performance.now() - start).toFixed(1));
    }
  }

  function row(i) {
    var r = rows[i];
    var tr = el("tr");
    tr.setAttribute("data-index", String(i));
    if (i === state.sel) { tr.className = "sel"; }
    var first = el("td");
    var button = el("button", "rowbtn", r.s);
    button.type = "button";
    button.setAttribute("aria-label", "Open transcript of sample " + r.s + " (" + D.attacks[r.a] + ")");
    button.addEventListener("click", function () { show(i); });
    first.appendChild(button);
    tr.appendChild(first);
    tr.appendChild(el("td", null, D.cats[r.c]));
    tr.appendChild(el("td", null, r.x));
    tr.appendChild(el("td", null, D.attacks[r.a] + (r.v ? " · " + r.v : "")));
    for (var k = 0; k < 3; k++) {
      var td = el("td");
      td.appendChild(badge(r.o[k]));
      tr.appendChild(td);
    }
    var prompt = lastUser(r.m);
    var cell = el("td", null, prompt.length > 160 ? prompt.slice(0, 160) + "…" : prompt);
    cell.setAttribute("title", prompt.slice(0, 600));
    tr.appendChild(cell);
    return tr;
  }

  function render() {
    var body = $("t-rows");
    var frag = document.createDocumentFragment();
    var n = Math.min(state.shown, matched.length);
    for (var k = 0; k < n; k++) { frag.appendChild(row(matched[k])); }
    body.replaceChildren(frag);
    var count = $("t-count");
    count.setAttribute("data-matches", String(matched.length));
    count.textContent = "Showing " + n.toLocaleString("en") + " of " +
      matched.length.toLocaleString("en") + " matching attempts (" +
      rows.length.toLocaleString("en") + " in all).";
    var more = $("t-more");
    more.hidden = n >= matched.length;
    more.textContent = "Show " + Math.min(PAGE, matched.length - n).toLocaleString("en") + " more";
  }

  function highlighted(text, at) {
    var pre = el("pre", "text");
    if (at === null || at === undefined || at < 0 || at > text.length) {
      pre.textContent = text;
      return pre;
    }
    var end = Math.min(text.length, at + HIGHLIGHT);
    var stop = text.slice(end, end + 40).search(/\s/);
    if (stop > 0) { end += stop; }
    pre.appendChild(document.createTextNode(text.slice(0, at)));
    var mark = el("mark", "unsafe-span", text.slice(at, end));
    mark.setAttribute("title", "first unsafe span located by the judge");
    pre.appendChild(mark);
    pre.appendChild(document.createTextNode(text.slice(end)));
    return pre;
  }

  function pane(title, text, outcome, verdict, cut) {
    var box = el("div", "pane");
    var h = el("h4", null, title + " ");
    h.appendChild(badge(outcome));
    box.appendChild(h);
    var info = el("div", "verdict");
    if (verdict) {
      var parts = ["verdict " + verdict.l];
      if (verdict.r) { parts.push("refusal " + verdict.r); }
      if (verdict.s !== null && verdict.s !== undefined) { parts.push("score " + verdict.s); }
      if (verdict.off !== null && verdict.off !== undefined) {
        parts.push("first unsafe span at character " + verdict.off.toLocaleString("en"));
      }
      info.appendChild(el("div", null, parts.join(" · ")));
      if (verdict.why) { info.appendChild(el("div", "note", verdict.why)); }
    } else {
      info.textContent = "no verdict";
    }
    box.appendChild(info);
    if (text) {
      box.appendChild(highlighted(text, verdict ? verdict.at : null));
    } else {
      box.appendChild(el("p", "note", "(nothing)"));
    }
    if (cut) {
      box.appendChild(el("p", "note", cut.toLocaleString("en") + " characters were left out of this page."));
    }
    return box;
  }

  function show(i) {
    state.sel = i;
    var r = rows[i];
    var box = $("detail");
    box.replaceChildren();
    box.appendChild(el("h3", null, "Sample " + r.s + " · attack " + D.attacks[r.a] + (r.v ? " · " + r.v : "")));
    var meta = [
      "category " + D.cats[r.c], "harm area " + D.harms[r.h], "expected " + r.x,
      "reasoning kind " + r.rk, "finish reason " + (r.fr || "none"), "attempt " + r.id
    ];
    box.appendChild(el("div", "detail-meta", meta.join(" · ")));
    if (r.err) { box.appendChild(el("p", "finding sig", "Error: " + r.err)); }
    var outcomes = el("p", "detail-meta", "Outcomes: ");
    for (var k = 0; k < 3; k++) {
      outcomes.appendChild(document.createTextNode(CHANNEL_NAMES[k] + " "));
      outcomes.appendChild(badge(r.o[k]));
      outcomes.appendChild(document.createTextNode(k < 2 ? "  " : ""));
    }
    box.appendChild(outcomes);
    for (var m = 0; m < r.m.length; m++) {
      var msg = el("div", "msg");
      msg.appendChild(el("div", "role", r.m[m][0]));
      msg.appendChild(el("pre", "text", r.m[m][1]));
      box.appendChild(msg);
    }
    var side = el("div", "side");
    side.appendChild(pane("Reasoning (trace)", r.rea, r.o[1], r.vr, r.reaCut));
    side.appendChild(pane("Answer", r.ans, r.o[0], r.va, r.ansCut));
    box.appendChild(side);
    box.hidden = false;
    var selected = $("t-rows").querySelectorAll("tr");
    for (var s = 0; s < selected.length; s++) {
      selected[s].className = selected[s].getAttribute("data-index") === String(i) ? "sel" : "";
    }
    box.focus({ preventScroll: true });
    box.scrollIntoView({ block: "nearest" });
  }

  fill($("f-category"), D.cats);
  fill($("f-attack"), D.attacks);
  function bind(id, key, numeric) {
    $(id).addEventListener("change", function (event) {
      state[key] = numeric ? +event.target.value : event.target.value;
      apply();
    });
  }
  bind("f-category", "cat", false);
  bind("f-expected", "exp", false);
  bind("f-attack", "atk", false);
  bind("f-channel", "ch", true);
  bind("f-outcome", "out", false);
  var timer = null;
  $("f-search").addEventListener("input", function (event) {
    var value = event.target.value.trim().toLowerCase();
    if (timer !== null) { clearTimeout(timer); }
    timer = setTimeout(function () { timer = null; state.q = value; apply(); }, 120);
  });
  $("t-more").addEventListener("click", function () {
    state.shown += PAGE;
    render();
  });
  apply();
  document.body.setAttribute("data-ready", "1");
  if (window.performance && performance.mark) { performance.mark("ts-ready"); }
})();
