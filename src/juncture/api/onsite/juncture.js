/*! juncture.js: Juncture's on-site script. No dependencies; docs/onsite.md says how to use it.
 *
 * <script src="https://juncture.example/v1/juncture.js" defer
 *         data-write-key="KEY" data-placement="home"></script>
 *
 * Reads the visitor's ids from Segment's analytics.js when the page has it (else keeps its
 * own anonymous id in localStorage), asks POST /v1/decide for the page's popover placement,
 * its inline slots ([data-juncture-slot]) and, when the visitor is leaving, the exit
 * placement; shows the answers as accessible dialogs; reports what the visitor saw and did
 * as Segment events (through analytics.js when present, else to /v1/t and /v1/i).
 */
(function () {
  "use strict";
  if (window.Juncture && window.Juncture.version) return;
  var VERSION = "1.1.0";
  var script = document.currentScript || document.querySelector("script[data-write-key]");
  var opt = (script && script.dataset) || {};
  var api = (opt.api || (script ? new URL(script.src, location.href).origin : "")).replace(/\/$/, "");
  var writeKey = opt.writeKey;
  var KEY = "juncture.anonymousId";
  var dwellMs = 1000 * (opt.exitDwell ? Number(opt.exitDwell) : 5);
  var started = Date.now();
  var open = null; // the dialog showing now: {root, dialog, show, returnTo}
  var exitAsked = false;
  var seq = 0;
  var FOCUSABLE = 'a[href],button:not([disabled]),input:not([disabled]),select,textarea,[tabindex]:not([tabindex="-1"])';

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx".replace(/[xy]/g, function (c) {
      var r = (Math.random() * 16) | 0;
      return (c === "x" ? r : (r & 3) | 8).toString(16);
    });
  }

  function ownAnonymousId() {
    var id = null;
    try { id = localStorage.getItem(KEY); } catch (e) { /* storage blocked: per page */ }
    if (!id) {
      id = uuid();
      try { localStorage.setItem(KEY, id); } catch (e) { /* as above */ }
    }
    return id;
  }

  function analytics() {
    var a = window.analytics;
    return a && typeof a.track === "function" ? a : null;
  }

  // analytics.js's ids once it has loaded (its user() answers only then); at most 3 s.
  function ids() {
    var a = analytics();
    var own = { userId: opt.userId || null, anonymousId: ownAnonymousId() };
    if (!a || typeof a.ready !== "function") return Promise.resolve(own);
    return new Promise(function (done) {
      var timer = setTimeout(function () { done(own); }, 3000);
      a.ready(function () {
        clearTimeout(timer);
        var b = window.analytics && window.analytics.user ? window.analytics : a;
        Promise.resolve(b.user ? b.user() : null).then(function (u) {
          if (!u || typeof u.anonymousId !== "function") return done(own);
          done({ userId: u.id() || opt.userId || null, anonymousId: u.anonymousId() || own.anonymousId });
        }, function () { done(own); });
      });
    });
  }

  function post(path, body) {
    // text/plain: a simple request, so no CORS preflight; the server reads JSON anyway.
    return fetch(api + path, {
      method: "POST", body: JSON.stringify(body), keepalive: true, credentials: "omit",
      headers: { "Content-Type": "text/plain" }
    });
  }

  function context() {
    return {
      library: { name: "juncture.js", version: VERSION },
      // No query strings: they may carry personal data (an email in a campaign link).
      page: { path: location.pathname, url: location.origin + location.pathname,
              referrer: document.referrer.split(/[?#]/)[0], title: document.title },
      userAgent: navigator.userAgent, locale: navigator.language
    };
  }

  // An event in Segment's layout: through analytics.js when the page has it, else our own.
  function send(type, name, fields) {
    var a = analytics();
    if (a) return type === "identify" ? a.identify(fields) : a.track(name, fields);
    return ids().then(function (who) {
      var body = { type: type, messageId: uuid(), timestamp: new Date().toISOString(),
                   anonymousId: who.anonymousId, context: context(), writeKey: writeKey };
      if (who.userId) body.userId = who.userId;
      if (type === "identify") body.traits = fields; else { body.event = name; body.properties = fields; }
      return post(type === "identify" ? "/v1/i" : "/v1/t", body);
    });
  }

  function promotion(show, placement) {
    // The kind, not the rendered title: a title may greet the visitor by name.
    var p = { promotion_id: String(show.id), creative: show.kind, name: show.kind, position: placement };
    if (show.journeyId) p.journey_id = show.journeyId;
    return p;
  }

  function report(event, show, placement, extra) {
    var props = promotion(show, placement);
    for (var k in extra || {}) props[k] = extra[k];
    return send("track", event, props);
  }

  function decide(placement, more) {
    return ids().then(function (who) {
      var body = { writeKey: writeKey, placement: placement, anonymousId: who.anonymousId };
      if (who.userId) { body.userId = who.userId; if (opt.userHash) body.userHash = opt.userHash; }
      for (var k in more || {}) if (more[k]) body[k] = more[k];
      // consistent: what the shop's tracker sent just before (the add-to-cart) is applied
      // first, however far behind the log the engine is (a bounded wait on the server).
      return post("/v1/decide?consistent=true", body).then(function (r) {
        if (!r.ok) throw new Error("juncture: decide answered " + r.status);
        return r.json();
      });
    });
  }

  function el(tag, cls, attrs) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    for (var k in attrs || {}) node.setAttribute(k, attrs[k]);
    return node;
  }

  function deadline(show, body) {
    var d = show.data || {};
    var when = d.endsAt || d.ends_at || (d.offer && d.offer.ends_at);
    var tag = body.querySelector("[data-juncture-ends],time[datetime]");
    if (!when && tag) when = tag.getAttribute("data-juncture-ends") || tag.getAttribute("datetime");
    var t = when ? Date.parse(when) : NaN;
    return isNaN(t) ? null : t;
  }

  function two(n) { return (n < 10 ? "0" : "") + n; }

  function countdown(show, body) {
    var end = deadline(show, body);
    if (end === null) return;
    var clock = el("p", "jn-countdown", { role: "timer", "aria-live": "off" });
    body.appendChild(clock);
    function tick() {
      var left = Math.max(0, Math.floor((end - Date.now()) / 1000));
      clock.textContent = left ? "Ends in " + (left >= 86400 ? Math.floor(left / 86400) + "d " : "") +
        two(Math.floor(left / 3600) % 24) + ":" + two(Math.floor(left / 60) % 60) + ":" + two(left % 60)
        : "This offer has ended";
      clock.setAttribute("data-seconds-left", String(left));
      if (!left) { clearInterval(timer); body.querySelectorAll("a,button").forEach(function (b) { if (!b.closest("form")) b.setAttribute("aria-disabled", "true"); }); }
    }
    var timer = setInterval(tick, 1000);
    tick();
  }

  // Inputs from a template without a label get one for screen readers.
  function label(body) {
    body.querySelectorAll("input,select,textarea").forEach(function (input) {
      if (!input.labels || input.labels.length || input.getAttribute("aria-label")) return;
      input.setAttribute("aria-label", input.getAttribute("placeholder") || input.name || input.type);
    });
  }

  function forms(body, show, placement) {
    body.querySelectorAll("form").forEach(function (form) {
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        var fields = {};
        new FormData(form).forEach(function (v, k) { fields[k] = String(v); });
        submitted(form.getAttribute("data-juncture") || show.kind, fields, show, placement);
        var thanks = el("p", "jn-thanks", { role: "status" });
        thanks.textContent = opt.thanks || "Thank you!";
        form.replaceWith(thanks);
      });
    });
  }

  // Personal data (an email) goes in identify's traits, never in a URL or an event's name.
  function submitted(form, fields, show, placement) {
    if (fields.email) send("identify", null, { email: fields.email.trim().toLowerCase() });
    var extra = { form_id: form };
    if (form === "survey") {
      var d = show.data || {};
      extra = { survey: (d.survey && d.survey.id) || d.survey || "nps", score: Number(fields.score) };
      return report("Survey Answered", show, placement, extra);
    }
    return report("Form Submitted", show, placement, extra);
  }

  function content(show, placement, box) {
    var body = el("div", "jn-body");
    body.innerHTML = show.html || ""; // rendered by Juncture from the retailer's templates
    label(body);
    forms(body, show, placement);
    if (show.kind === "time_sensitive_offer") countdown(show, body);
    body.addEventListener("click", function (e) {
      var a = e.target.closest && e.target.closest("a,button:not([type=submit]):not(form button)");
      if (a && body.contains(a)) report("Promotion Clicked", show, placement, a.href ? { url: a.pathname } : {});
    });
    box.appendChild(body);
    return body;
  }

  function trap(e) {
    if (!open) return;
    if (e.key === "Escape") { e.preventDefault(); close("escape"); return; }
    if (e.key !== "Tab") return;
    var items = Array.prototype.filter.call(open.dialog.querySelectorAll(FOCUSABLE), function (n) {
      return n.offsetParent !== null || n === document.activeElement;
    });
    if (!items.length) { e.preventDefault(); open.dialog.focus(); return; }
    var first = items[0], last = items[items.length - 1];
    var inside = open.dialog.contains(document.activeElement);
    if (e.shiftKey && (document.activeElement === first || !inside)) { e.preventDefault(); last.focus(); }
    else if (!e.shiftKey && (document.activeElement === last || !inside)) { e.preventDefault(); first.focus(); }
  }

  function close(how) {
    if (!open) return;
    var was = open;
    open = null;
    document.removeEventListener("keydown", trap, true);
    was.root.remove();
    report("Promotion Dismissed", was.show, was.placement, { how: how });
    if (was.returnTo && was.returnTo.focus) was.returnTo.focus();
  }

  function popover(show, placement) {
    if (open) return false;
    var id = "jn-" + ++seq;
    var root = el("div", "jn-root jn-kind-" + show.kind.replace(/_/g, "-"), { "data-juncture-kind": show.kind });
    var backdrop = el("div", "jn-backdrop");
    var dialog = el("div", "jn-dialog", { role: "dialog", "aria-modal": "true", "aria-labelledby": id + "-title",
                                          "aria-describedby": id + "-body", tabindex: "-1" });
    var shut = el("button", "jn-close", { type: "button", "aria-label": opt.closeLabel || "Close" });
    shut.textContent = "\u00d7";
    var title = el("h2", "jn-title", { id: id + "-title" });
    title.textContent = show.title || "";
    dialog.appendChild(shut);
    dialog.appendChild(title);
    content(show, placement, dialog).id = id + "-body";
    root.appendChild(backdrop);
    root.appendChild(dialog);
    open = { root: root, dialog: dialog, show: show, placement: placement, returnTo: document.activeElement };
    shut.addEventListener("click", function () { close("button"); });
    backdrop.addEventListener("click", function () { close("backdrop"); });
    document.addEventListener("keydown", trap, true);
    document.body.appendChild(root);
    var first = dialog.querySelector("input,select,textarea") || shut;
    first.focus();
    report("Promotion Viewed", show, placement);
    return true;
  }

  function inline(slot) {
    var placement = slot.getAttribute("data-juncture-slot");
    var more = { productId: slot.getAttribute("data-product-id"), storeCode: slot.getAttribute("data-store-code") };
    return decide(placement, more).then(function (answer) {
      if (!answer.show) { slot.setAttribute("data-juncture-empty", answer.reason); return; }
      var show = answer.show;
      slot.classList.add("jn-inline", "jn-kind-" + show.kind.replace(/_/g, "-"));
      slot.setAttribute("data-juncture-kind", show.kind);
      slot.setAttribute("aria-label", show.title || show.kind);
      var title = el("h2", "jn-title");
      title.textContent = show.title || "";
      slot.appendChild(title);
      content(show, placement, slot);
      report("Promotion Viewed", show, placement);
    });
  }

  // Each slot is asked once: the page's own when the script starts, and those a page draws
  // later (a shop that renders from script) when it calls Juncture.slots().
  function slots(root) {
    var found = (root || document).querySelectorAll("[data-juncture-slot]:not([data-juncture-asked])");
    return Promise.all(Array.prototype.map.call(found, function (slot) {
      slot.setAttribute("data-juncture-asked", "");
      return inline(slot).catch(warn);
    }));
  }

  function ask(placement) {
    return decide(placement).then(function (answer) {
      return answer.show ? popover(answer.show, placement) : false;
    });
  }

  // The page's popover is asked once per placement and browser session (tab), unless the
  // tag says data-every-page: a shopper going back to the home page is not asked again.
  function firstInSession(placement) {
    if (opt.everyPage === "true") return true;
    try {
      var key = "juncture.asked." + placement;
      if (sessionStorage.getItem(key)) return false;
      sessionStorage.setItem(key, "1");
    } catch (e) { /* storage blocked: ask each page */ }
    return true;
  }

  function leaving() {
    if (exitAsked || open || opt.exit === "off" || Date.now() - started < dwellMs) return;
    exitAsked = true;
    ask(opt.exit || "exit").catch(warn);
  }

  // Desktop: the pointer leaves through the top of the viewport (towards the tabs and the
  // address bar). Touch: the back button (a history entry of our own) or coming back to
  // a tab left hidden.
  function watchExit() {
    document.addEventListener("mouseout", function (e) {
      if (!e.relatedTarget && e.clientY <= 0) leaving();
    });
    if (!window.matchMedia || !matchMedia("(pointer: coarse)").matches) return;
    setTimeout(function () {
      history.pushState({ juncture: "exit" }, "");
      window.addEventListener("popstate", function once() {
        window.removeEventListener("popstate", once);
        if (!exitAsked) leaving(); else history.back();
      });
    }, dwellMs);
    var hiddenAt = 0;
    document.addEventListener("visibilitychange", function () {
      if (document.hidden) hiddenAt = Date.now();
      else if (hiddenAt) leaving();
    });
  }

  function warn(err) {
    if (window.console) console.warn("juncture:", err && err.message ? err.message : err);
  }

  var STYLE = ".jn-root{position:fixed;inset:0;z-index:var(--jn-z,2147483000);display:flex;align-items:center;justify-content:center;font-family:var(--jn-font,inherit)}" +
    ".jn-backdrop{position:absolute;inset:0;background:var(--jn-backdrop,rgba(0,0,0,.45))}" +
    ".jn-dialog{position:relative;box-sizing:border-box;width:min(92vw,var(--jn-width,26rem));max-height:90vh;overflow:auto;padding:1.5rem;background:var(--jn-bg,#fff);color:var(--jn-fg,#1a1a1a);border-radius:var(--jn-radius,12px);box-shadow:0 12px 40px rgba(0,0,0,.25)}" +
    ".jn-dialog:focus{outline:none}.jn-title{margin:0 2rem .75rem 0;font-size:1.25rem}" +
    ".jn-close{position:absolute;top:.5rem;right:.5rem;width:2.25rem;height:2.25rem;border:0;border-radius:50%;background:transparent;color:inherit;font-size:1.5rem;cursor:pointer}" +
    ".jn-close:focus-visible,.jn-body :focus-visible{outline:3px solid var(--jn-accent,#0b5fff);outline-offset:2px}" +
    ".jn-body form{display:flex;gap:.5rem;margin-top:.75rem;align-items:flex-end}.jn-body label{flex:1;display:flex;flex-direction:column;gap:.25rem}.jn-body input{flex:1;padding:.5rem;border:1px solid #888;border-radius:6px;font:inherit}" +
    ".jn-body button,.jn-body a{display:inline-block;padding:.5rem 1rem;border:0;border-radius:6px;background:var(--jn-accent,#0b5fff);color:var(--jn-accent-fg,#fff);font:inherit;text-decoration:none;cursor:pointer}" +
    ".jn-countdown{font-variant-numeric:tabular-nums;font-weight:600;color:var(--jn-accent,#0b5fff)}" +
    ".jn-inline{display:block;padding:1rem;border:1px solid var(--jn-border,#ddd);border-radius:var(--jn-radius,12px);background:var(--jn-bg,#fff);color:var(--jn-fg,#1a1a1a)}";

  function style() {
    if (document.getElementById("juncture-style")) return;
    var s = el("style", null, { id: "juncture-style" });
    s.textContent = STYLE;
    // First in <head>, so the page's own rules win over these defaults.
    document.head.insertBefore(s, document.head.firstChild);
  }

  function start() {
    if (!writeKey) return warn("data-write-key is missing on the script tag");
    style();
    var work = [slots()];
    if (opt.placement && firstInSession(opt.placement)) work.push(ask(opt.placement).catch(warn));
    watchExit();
    Promise.all(work).then(function () { document.documentElement.setAttribute("data-juncture-ready", "true"); });
  }

  window.Juncture = { version: VERSION, show: ask, close: function () { close("api"); }, leaving: leaving,
                      slots: function (root) { return writeKey ? slots(root) : Promise.resolve([]); } };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
