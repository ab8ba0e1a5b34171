/* mexfi cookie banner (BK-5.1, TX-18, TX-19), no dependencies, no build step.
 * Embedding, the page's declarations and the routes: see mexfi/consent/banner.py. */
(() => {
  "use strict";
  const me =
    document.currentScript || document.querySelector('script[data-policy][src*="banner.js"]');
  if (!me || window.mexfiConsent) return;
  const policy = me.dataset.policy;
  const api = (me.dataset.api || me.src.replace(/\/consent\/banner\/banner\.js.*$/, "")).replace(
    /\/+$/,
    "",
  );
  const base = `${api}/consent/banner/${encodeURIComponent(policy)}`;
  const DEVICE = "mexfi_device";
  const CHOICE = "mexfi_consent";
  const SECURE = location.protocol === "https:" ? "; Secure" : "";
  const ID = /^(?:[A-Za-z0-9_-]{22}|[0-9a-f]{32})$/;
  let config = null;
  let state = null;
  let gpc = navigator.globalPrivacyControl === true;
  let device = readCookie(DEVICE);
  if (device && !ID.test(device)) device = null;

  function readCookie(name) {
    for (const part of document.cookie.split(";")) {
      const at = part.indexOf("=");
      if (at > 0 && part.slice(0, at).trim() === name) {
        try {
          return decodeURIComponent(part.slice(at + 1).trim());
        } catch {
          return null;
        }
      }
    }
    return null;
  }

  function writeCookie(name, value) {
    document.cookie = `${name}=${encodeURIComponent(value)}; Path=/; Max-Age=31536000; SameSite=Lax${SECURE}`;
  }

  // A cookie is deleted by its name, path and domain: every path from here up and every
  // parent domain (where third-party scripts on the page set theirs).
  function expire(name) {
    const host = location.hostname;
    const domains = [""];
    if (!/^[\d.]+$|:/.test(host)) {
      const parts = host.split(".");
      for (let i = 0; i < parts.length - 1; i++) domains.push(`; Domain=.${parts.slice(i).join(".")}`);
    }
    const paths = new Set(["/"]);
    let path = location.pathname;
    while (path.length > 1) {
      paths.add(path).add(path.endsWith("/") ? path.slice(0, -1) : `${path}/`);
      path = path.replace(/\/?[^/]*$/, "") || "/";
    }
    for (const p of paths)
      for (const d of domains) document.cookie = `${name}=; Path=${p}${d}; Max-Age=0${SECURE}`;
  }

  // The page's declaration of which cookies each category sets: `data-cookies` on any
  // element with `data-category`, and `window.mexfiCookies = {category: ["name", "prefix*"]}`.
  function declared() {
    const map = {};
    const add = (category, names) => {
      for (const name of names) if (name) (map[category] ||= []).push(String(name));
    };
    const given = window.mexfiCookies || {};
    for (const category of Object.keys(given)) add(category, [].concat(given[category]));
    for (const el of document.querySelectorAll("[data-category][data-cookies]"))
      add(el.dataset.category, el.dataset.cookies.split(/[\s,]+/));
    return map;
  }

  function purge(allowed) {
    const map = declared();
    const present = document.cookie
      .split(";")
      .map((part) => part.split("=")[0].trim())
      .filter(Boolean);
    for (const category of Object.keys(map)) {
      if (allowed[category]) continue;
      for (const pattern of map[category])
        for (const name of present)
          if (pattern.endsWith("*") ? name.startsWith(pattern.slice(0, -1)) : name === pattern)
            expire(name);
    }
  }

  // A blocked script runs once its category is allowed: cloned into a real script.
  function activate(allowed) {
    for (const el of document.querySelectorAll('script[type="text/plain"][data-category]')) {
      if (!allowed[el.dataset.category]) continue;
      const script = document.createElement("script");
      for (const attr of el.attributes)
        if (attr.name !== "type" && attr.name !== "data-type") script.setAttribute(attr.name, attr.value);
      if (el.dataset.type) script.type = el.dataset.type;
      if (el.nonce) script.nonce = el.nonce;
      script.async = false;
      script.text = el.text;
      el.replaceWith(script);
    }
  }

  async function call(path, body) {
    const init = { credentials: "omit" };
    if (body) {
      init.method = "POST";
      init.headers = { "Content-Type": "application/json" };
      init.body = JSON.stringify(body);
    }
    const response = await fetch(base + path, init);
    if (!response.ok) throw Object.assign(new Error(`mexfi banner: ${response.status}`), { status: response.status });
    return response.json();
  }

  function newDevice() {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return btoa(String.fromCharCode(...bytes))
      .replace(/\+/g, "-")
      .replace(/\//g, "_")
      .replace(/=+$/, "");
  }

  function h(tag, props, ...children) {
    const el = Object.assign(document.createElement(tag), props);
    el.append(...children.filter((child) => child !== null));
    return el;
  }

  function button(text, kind, action) {
    const el = h("button", { type: "button", className: `mexfi-${kind}`, textContent: text });
    el.addEventListener("click", action);
    return el;
  }

  function close() {
    for (const id of ["mexfi-banner", "mexfi-settings"]) document.getElementById(id)?.remove();
  }

  function titles(ids) {
    return ids.map((id) => config.categories.find((c) => c.id === id)?.title || id).join(", ");
  }

  function mount(box) {
    close();
    const root = h("div", { id: "mexfi-banner", lang: config.language }, box);
    root.setAttribute("role", "dialog");
    root.setAttribute("aria-labelledby", "mexfi-title");
    document.body.append(root);
  }

  function heading(text) {
    return h("h2", { id: "mexfi-title", textContent: text });
  }

  function actions(...buttons) {
    return h("div", { className: "mexfi-actions" }, ...buttons);
  }

  function showBanner(open) {
    const t = config.texts;
    const list = h("ul", { className: "mexfi-categories", hidden: !open });
    for (const c of config.categories) {
      const input = h("input", {
        type: "checkbox",
        checked: c.required || !!state.allowed[c.id],
        disabled: c.required,
      });
      input.dataset.category = c.id;
      const label = h(
        "label",
        { className: "mexfi-category" },
        input,
        h("strong", { textContent: c.title }),
        c.required ? h("em", { textContent: t.always_on }) : null,
      );
      list.append(h("li", {}, label, h("p", { textContent: c.description })));
    }
    const chosen = () => {
      const choices = {};
      for (const input of list.querySelectorAll("input:not(:disabled)"))
        choices[input.dataset.category] = input.checked;
      return choices;
    };
    const customize = button(open ? t.save : t.customize, "secondary", () => {
      if (!list.hidden) return send("save", chosen());
      list.hidden = false;
      customize.textContent = t.save;
    });
    const notice = me.dataset.notice
      ? h("a", { href: me.dataset.notice, textContent: t.notice, className: "mexfi-link" })
      : null;
    const gpcNote = state.gpc_off.length
      ? h("p", { className: "mexfi-note", textContent: t.gpc_note.replace("{categories}", titles(state.gpc_off)) })
      : null;
    mount(
      h(
        "div",
        { className: "mexfi-box" },
        heading(t.title),
        h("p", {}, t.intro, notice ? " " : "", notice || ""),
        gpcNote,
        list,
        actions(
          button(t.reject_all, "primary", () => send("reject_all")),
          customize,
          button(t.accept_all, "primary", () => send("accept_all")),
        ),
      ),
    );
  }

  // GPC now, an explicit opt-in before: asked once, the answer recorded (method `gpc`).
  function showConflict(ids) {
    const t = config.texts;
    const answer = (allow) => send("gpc", Object.fromEntries(ids.map((id) => [id, allow])));
    mount(
      h(
        "div",
        { className: "mexfi-box" },
        heading(t.gpc_title),
        h("p", { textContent: t.gpc_conflict.replace("{categories}", titles(ids)) }),
        actions(
          button(t.gpc_turn_off, "primary", () => answer(false)),
          button(t.gpc_keep, "secondary", () => answer(true)),
        ),
      ),
    );
  }

  function showSettings() {
    if (me.dataset.settings === "off" || document.querySelector("[data-mexfi-open]")) return;
    if (config.categories.every((c) => c.required)) return; // nothing to choose
    const el = button(config.texts.settings, "settings", () => showBanner(true));
    el.id = "mexfi-settings";
    el.lang = config.language;
    document.body.append(el);
  }

  function apply(next) {
    state = next;
    const allowed = state.allowed;
    purge(allowed);
    activate(allowed);
    if (readCookie(DEVICE)) {
      const saved = new URLSearchParams({ r: state.revision });
      for (const id of Object.keys(allowed)) saved.set(id, allowed[id] ? "1" : "0");
      writeCookie(CHOICE, saved.toString());
    }
    if (state.conflicts.length) showConflict(state.conflicts);
    else if (!state.decided) showBanner(false);
    else {
      close();
      showSettings();
    }
    document.dispatchEvent(new CustomEvent("mexfi:consent", { detail: { ...allowed } }));
  }

  async function send(action, choices) {
    device ||= newDevice();
    const body = {
      device_id: device,
      action,
      choices: choices || {},
      revision: config.revision,
      digest: config.digest,
      language: config.language,
      gpc,
    };
    try {
      const next = await call("/choices", body);
      writeCookie(DEVICE, device);
      apply(next);
    } catch (error) {
      if (error.status === 409) return start(); // the cookie section changed: ask again
      throw error;
    }
  }

  const loaded = (target) => new Promise((done) => {
    target.addEventListener("load", done, { once: true });
    target.addEventListener("error", done, { once: true });
  });

  async function start() {
    const langs = [document.documentElement.lang, ...(navigator.languages || [navigator.language])]
      .filter(Boolean)
      .map((lang) => lang.slice(0, 2).toLowerCase())
      .slice(0, 8);
    try {
      const [given, seen] = await Promise.all([
        call(`/config?lang=${encodeURIComponent(langs.join(","))}`),
        // A first visit asks too (with an id not kept unless GPC records something).
        call("/state", { device_id: device || (device = newDevice()), gpc, lang: langs.join(",") }),
      ]);
      config = given;
      gpc = gpc || seen.gpc;
      if (seen.recorded) writeCookie(DEVICE, device);
      await ready;
      apply(seen);
    } catch (error) {
      // The API is out of reach: the last choice kept on this device, else necessary only.
      await ready;
      const saved = new URLSearchParams(readCookie(CHOICE) || "");
      const allowed = {};
      for (const [id, on] of saved) if (id !== "r") allowed[id] = on === "1";
      purge(allowed);
      activate(allowed);
      console.warn(error.message);
    }
  }

  const link = h("link", { rel: "stylesheet", href: `${api}/consent/banner/banner.css` });
  const parsed =
    document.readyState === "loading"
      ? new Promise((done) => document.addEventListener("DOMContentLoaded", done, { once: true }))
      : null;
  const ready = Promise.all([loaded(link), parsed]);
  document.head.append(link);
  document.addEventListener("click", (event) => {
    if (config && state && event.target.closest?.("[data-mexfi-open]")) showBanner(true);
  });
  window.mexfiConsent = {
    open: () => config && state && showBanner(true),
    allowed: (category) => !!state?.allowed[category],
    ready: start(),
  };
})();
