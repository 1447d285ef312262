/**
 * The dashboard's only stylesheet and script, served by the Worker itself (no CDN; the CSP allows
 * 'self' only). The script is progressive enhancement: every page and form works without it.
 *  - `[data-refresh]`: re-fetches the page every N ms (while visible) and swaps in the element with
 *    the same id, so the active-lease table stays current. These fetches say `x-gv-background: 1`,
 *    so an open page does not keep its session from going idle.
 *  - `form[data-live]`: a GET form whose result (element `data-target`) updates as the user types.
 *  - `form[data-confirm-word]`: the submit button stays disabled until the typed confirmation matches
 *    (the server checks the word too).
 */

/** GET /ui/assets/app.js */
export const APP_JS = `"use strict";
(function () {
  function swap(url, ids, background) {
    var headers = { accept: "text/html" };
    if (background) headers["x-gv-background"] = "1";
    return fetch(url, { credentials: "same-origin", headers: headers })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html === null) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        ids.forEach(function (id) {
          var fresh = doc.getElementById(id), old = document.getElementById(id);
          if (fresh && old) old.replaceWith(document.importNode(fresh, true));
        });
      })
      .catch(function () {});
  }
  document.querySelectorAll("[data-refresh]").forEach(function (el) {
    var ms = Math.max(1000, Number(el.getAttribute("data-refresh")) || 5000);
    setInterval(function () {
      if (!document.hidden && document.getElementById(el.id)) swap(location.href, [el.id], true);
    }, ms);
  });
  document.querySelectorAll("form[data-live]").forEach(function (form) {
    var timer = null;
    form.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var params = new URLSearchParams(new FormData(form));
        swap(form.action + "?" + params.toString(), [form.getAttribute("data-target")]);
      }, 250);
    });
  });
  document.querySelectorAll("form[data-confirm-word]").forEach(function (form) {
    var word = form.getAttribute("data-confirm-word");
    var input = form.querySelector("input[name=confirm]");
    var button = form.querySelector("button[type=submit]");
    if (!input || !button) return;
    var sync = function () { button.disabled = input.value !== word; };
    input.addEventListener("input", sync);
    sync();
  });
})();
`;

/** GET /ui/assets/app.css */
export const APP_CSS = `:root { --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --accent: #0b57d0; --bad: #b3261e; --bg: #fff; --soft: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; align-items: center; gap: 1rem; padding: .5rem 1rem; border-bottom: 1px solid var(--line); background: var(--soft); flex-wrap: wrap; }
.brand { font-weight: 700; }
nav ul { display: flex; gap: .75rem; list-style: none; margin: 0; padding: 0; flex-wrap: wrap; }
nav a { color: var(--accent); text-decoration: none; }
nav a:hover, nav a:focus { text-decoration: underline; }
.logout { margin-left: auto; display: flex; gap: .5rem; align-items: center; }
.who { color: var(--muted); }
main { padding: 1rem 1.5rem; max-width: 1200px; }
h1 { font-size: 1.4rem; margin: .25rem 0 1rem; }
h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--soft); font-weight: 600; }
td code, pre { font: 13px ui-monospace, SFMono-Regular, Menlo, monospace; }
pre { background: var(--soft); padding: .5rem; overflow: auto; white-space: pre-wrap; word-break: break-all; }
form { margin: .5rem 0; }
form.inline { display: inline; }
form.row { display: flex; flex-wrap: wrap; gap: .5rem; align-items: flex-end; }
label { display: flex; flex-direction: column; gap: .15rem; margin: .25rem 0; }
label span { font-size: .85rem; color: var(--muted); }
input, select, textarea, button { font: inherit; padding: .3rem .45rem; border: 1px solid var(--line); border-radius: 4px; }
textarea { width: 100%; font-family: ui-monospace, monospace; }
button { background: var(--accent); color: #fff; border-color: var(--accent); cursor: pointer; }
button.danger { background: var(--bad); border-color: var(--bad); }
button:disabled { opacity: .5; cursor: not-allowed; }
:focus-visible { outline: 3px solid #f9a825; outline-offset: 2px; }
.notice { background: #e6f4ea; padding: .5rem; border-radius: 4px; }
.error { background: #fce8e6; color: var(--bad); padding: .5rem; border-radius: 4px; }
.once { border: 2px solid #f9a825; padding: .5rem 1rem; border-radius: 4px; }
.once output { display: block; font-family: ui-monospace, monospace; word-break: break-all; padding: .5rem; background: var(--soft); }
.tag { display: inline-block; background: var(--soft); border: 1px solid var(--line); border-radius: 10px; padding: 0 .4rem; margin: 0 .15rem; font-size: .85rem; }
.ok { color: #137333; font-weight: 600; }
.bad { color: var(--bad); font-weight: 600; }
.empty { color: var(--muted); }
.skip { position: absolute; left: -999px; }
.skip:focus { left: .5rem; top: .5rem; background: #fff; padding: .25rem; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 1rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; }
dt { color: var(--muted); }
dd { margin: 0; }
`;

/** GET /ui/assets/favicon.svg: served here so the browser's icon request is not a 404 (or a CSP violation). */
export const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#0b57d0"/><path d="M5 7V5a3 3 0 0 1 6 0v2h1v7H4V7zm2 0h2V5a1 1 0 0 0-2 0z" fill="#fff"/></svg>`;
