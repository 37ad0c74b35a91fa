// The dashboard's single page: sign-in with a bearer token, then one view at a time,
// chosen by the address: #/overview, #/content, #/followers, #/video/<id>, each with
// ?preset=... or ?start=...&end=... for its range. A link may carry #token=<token>
// (what `serve --demo` prints); the token then moves to this tab's session storage
// and leaves the address.

import { Api } from "./api.js";
import { SignIn } from "./documents.js";
import { byTestId, h } from "./dom.js";
import { paramsOf } from "./range.js";
import * as content from "./views/content.js";
import * as followers from "./views/followers.js";
import * as overview from "./views/overview.js";
import * as video from "./views/video.js";

const TOKEN_KEY = "analytics-graph.token";
const main = document.getElementById("view");
const header = document.querySelector("header");
const live = byTestId(header, "live-status");
let api = null;
let current = { seq: 0, stop: [] };

function setLive(state) {
  live.dataset.state = state;
  live.textContent = state;
}

/** Moves a #token=... of the address into session storage; true when there was one. */
function takeTokenFromAddress() {
  const hash = new URLSearchParams(window.location.hash.replace(/^#/, ""));
  const token = hash.get("token");
  if (!token) return false;
  sessionStorage.setItem(TOKEN_KEY, token);
  history.replaceState(null, "", `${window.location.pathname}#/overview`);
  return true;
}

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  api?.close();
  api = null;
  showSignIn(message);
}

function showSignIn(message = "") {
  stopView();
  byTestId(header, "nav").hidden = true;
  byTestId(header, "sign-out").hidden = true;
  byTestId(header, "account-handle").textContent = "";
  const input = h("textarea", { testid: "signin-token", rows: 4, required: true,
    placeholder: "Paste a creator token (analytics-graph token --role creator --account <id>)" });
  const form = h("form", {
    class: "signin",
    testid: "signin-form",
    onsubmit: (event) => {
      event.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, input.value.trim());
      start();
    },
  },
  h("h2", {}, "Sign in"),
  h("label", {}, "Bearer token", input),
  h("button", { type: "submit", testid: "signin-submit" }, "Sign in"),
  message ? h("p", { class: "error", testid: "signin-error" }, message) : null);
  main.replaceChildren(form);
  main.dataset.state = "signin";
}

async function start() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) return showSignIn();
  api?.close();
  api = new Api(token, setLive);
  try {
    const { me } = await api.query(SignIn, "SignIn", {});
    if (!me) return signOut("This token names no account: sign in with a creator's token.");
    showAccount(me);
  } catch (error) {
    if (error.unauthenticated) return signOut(error.message);
    main.replaceChildren(h("p", { class: "error", testid: "error" }, error.message || String(error)),
      h("button", { type: "button", testid: "retry", onclick: start }, "Retry"));
    main.dataset.state = "error";
    return;
  }
  byTestId(header, "nav").hidden = false;
  byTestId(header, "sign-out").hidden = false;
  route();
}

function showAccount(account) {
  byTestId(header, "account-handle").textContent = `@${account.handle}`;
  byTestId(header, "account-handle").dataset.accountId = account.id;
}

function stopView() {
  for (const stop of current.stop) stop();
  current = { seq: current.seq + 1, stop: [] };
}

function route() {
  if (!api) return;
  stopView();
  const seq = current.seq;
  const [path, query = ""] = window.location.hash.replace(/^#\/?/, "").split("?");
  const [name, id] = path.split("/");
  const views = { overview, content, followers };
  const view = name === "video" && id ? (ctx) => video.show(ctx, decodeURIComponent(id))
    : (views[name] ?? overview).show;
  const range = new URLSearchParams(query);
  const kept = ["preset", "start", "end"].filter((key) => range.has(key))
    .map((key) => `${key}=${encodeURIComponent(range.get(key))}`).join("&");
  for (const link of header.querySelectorAll("nav a")) {
    const section = link.dataset.section;
    link.classList.toggle("on", section === (name || "overview"));
    link.setAttribute("href", `#/${section}${kept ? `?${kept}` : ""}`); // the range goes along
  }
  main.dataset.state = "loading";
  main.dataset.view = name === "video" ? "video" : views[name] ? name : "overview";
  view(context(seq, new URLSearchParams(query))).catch((error) => {
    if (seq !== current.seq) return;
    if (error.unauthenticated) return signOut(error.message);
    if (main.dataset.state === "loading") main.replaceChildren(); // not the last view's numbers
    fail(error);
    main.dataset.state = "error";
  });
}

function context(seq, params) {
  const alive = () => seq === current.seq;
  return {
    api,
    params,
    render: (...children) => alive() && main.replaceChildren(
      h("p", { class: "error", testid: "error", hidden: true }), ...children),
    ready(range) {
      if (!alive()) return;
      main.dataset.state = "ready";
      main.dataset.rangeStart = range?.start ?? "";
      main.dataset.rangeEnd = range?.end ?? "";
    },
    account: (account) => alive() && showAccount(account),
    go: (path, range) => { window.location.hash = `#/${path}?${paramsOf(range)}`; },
    fail: (error) => alive() && fail(error),
    notFound(message) {
      if (!alive()) return;
      main.replaceChildren(h("p", { class: "error", testid: "not-found" }, `Not found: ${message}.`));
      main.dataset.state = "not-found";
    },
    live(document, operationName, variables, onData) {
      if (!alive()) return;
      const stop = api.subscribe(document, operationName, variables, (data) => {
        if (!alive()) return;
        const update = Object.values(data)[0];
        live.dataset.position = String(update.position);
        onData(data);
      }, (error) => alive() && fail(error));
      current.stop.push(stop);
    },
  };
}

function fail(error) {
  console.error(error);
  let banner = byTestId(main, "error");
  if (!banner) {
    banner = h("p", { class: "error", testid: "error" });
    main.prepend(banner);
  }
  banner.hidden = false;
  banner.textContent = error.message || String(error);
}

byTestId(header, "sign-out").addEventListener("click", () => signOut());
window.addEventListener("hashchange", () => {
  if (takeTokenFromAddress()) start();
  else if (api) route();
});
takeTokenFromAddress();
start();
