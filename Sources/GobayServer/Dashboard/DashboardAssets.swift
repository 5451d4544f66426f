import Crypto
import Foundation

/// The dashboard's static files, embedded in the binary (one file still deploys the server),
/// each served with an ETag of its content.
enum DashboardAssets {
    struct Asset: Sendable {
        let contentType: String
        let body: String
        /// A quoted strong ETag: the first 16 hex digits of the body's SHA-256.
        let etag: String

        init(_ contentType: String, _ body: String) {
            self.contentType = contentType
            self.body = body
            etag = "\"" + SHA256.hash(data: Data(body.utf8)).prefix(8).map { String(format: "%02x", $0) }.joined() + "\""
        }
    }

    static let files: [String: Asset] = [
        "gobay.css": Asset("text/css; charset=utf-8", css),
        "gobay.js": Asset("text/javascript; charset=utf-8", js),
    ]

    /// Changes whenever a file does, so pages can ask for `?v=` and caches stay right.
    static let version: String = SHA256.hash(data: Data(files.values.map(\.etag).sorted().joined().utf8)).prefix(6)
        .map { String(format: "%02x", $0) }.joined()

    static let css = """
        :root { color-scheme: light dark; --bg: #fff; --fg: #1b1f24; --muted: #59636e; --line: #d1d9e0;
          --panel: #f6f8fa; --link: #0b5cad; --ok: #1a7f37; --bad: #cf222e; --run: #9a6700; --wait: #59636e; }
        @media (prefers-color-scheme: dark) {
          :root { --bg: #0d1117; --fg: #e6edf3; --muted: #9198a1; --line: #3d444d; --panel: #151b23;
            --link: #58a6ff; --ok: #3fb950; --bad: #f85149; --run: #d29922; --wait: #9198a1; }
        }
        * { box-sizing: border-box; }
        [hidden] { display: none !important; }
        body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; background: var(--bg); color: var(--fg); }
        a { color: var(--link); }
        header.top { display: flex; flex-wrap: wrap; gap: .5rem 1.25rem; align-items: center; padding: .6rem 1rem;
          border-bottom: 1px solid var(--line); background: var(--panel); }
        header.top .brand { font-weight: 700; text-decoration: none; color: var(--fg); }
        header.top nav { display: flex; gap: 1rem; flex-wrap: wrap; }
        header.top .who { margin-left: auto; }
        main { padding: 1rem; max-width: 80rem; margin: 0 auto; }
        h1 { font-size: 1.35rem; margin: .2rem 0 1rem; word-break: break-word; }
        h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
        .scroll { overflow-x: auto; }
        table { border-collapse: collapse; width: 100%; }
        th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
        th { font-weight: 600; color: var(--muted); font-size: .85rem; }
        code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .85rem; }
        .muted { color: var(--muted); }
        .st { display: inline-block; padding: 0 .45rem; border-radius: 1rem; border: 1px solid currentColor; font-size: .8rem;
          font-weight: 600; white-space: nowrap; }
        .st::before { content: "● "; }
        .st-succeeded, .st-deployed { color: var(--ok); }
        .st-succeeded::before { content: "✓ "; }
        .st-failed, .st-timed_out, .st-interrupted, .st-rolled_back, .st-partial { color: var(--bad); }
        .st-failed::before, .st-timed_out::before, .st-interrupted::before { content: "✗ "; }
        .st-running { color: var(--run); }
        .st-queued, .st-canceled, .st-superseded, .st-skipped { color: var(--wait); }
        .st-superseded { text-decoration: line-through; }
        form.inline { display: inline; }
        .actions { display: flex; flex-wrap: wrap; gap: .5rem; margin: .5rem 0 1rem; }
        button, input[type=text], input[type=password], input[type=search], select {
          font: inherit; padding: .3rem .6rem; border: 1px solid var(--line); border-radius: .35rem; background: var(--bg); color: var(--fg); }
        button { cursor: pointer; background: var(--panel); }
        button.danger { color: var(--bad); }
        .flash { padding: .5rem .75rem; border: 1px solid var(--line); border-radius: .35rem; background: var(--panel); }
        .error { color: var(--bad); }
        dl.record { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; margin: 0; }
        dl.record dt { color: var(--muted); }
        dl.record dd { margin: 0; word-break: break-all; }
        pre.log { background: var(--panel); border: 1px solid var(--line); padding: .75rem; overflow-x: auto;
          max-height: 70vh; overflow-y: auto; white-space: pre; margin: 0; }
        pre.log .step { color: var(--link); font-weight: 600; }
        .filters { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; margin-bottom: 1rem; }
        .pager { margin-top: .75rem; }
        @media (max-width: 40rem) { main { padding: .6rem; } th, td { padding: .3rem .35rem; } .hide-narrow { display: none; } }
        """

    /// Live logs and live status only; every page is complete without it.
    static let js = """
        "use strict";
        (function () {
          function follow(pre) {
            var id = pre.getAttribute("data-build");
            var offset = pre.getAttribute("data-offset") || "0";
            var status = document.getElementById("build-status");
            var source = new EventSource("/api/v1/builds/" + encodeURIComponent(id) + "/log?follow=1&offset=" + encodeURIComponent(offset));
            var atBottom = function () { return pre.scrollHeight - pre.scrollTop - pre.clientHeight < 40; };
            var started = false;
            source.onmessage = function (event) {
              var stick = atBottom();
              if (!started) { started = true; refreshParts(); }
              pre.appendChild(document.createTextNode(event.data + "\\n"));
              var lines = pre.childNodes;
              while (lines.length > 5000) { pre.removeChild(lines[0]); }
              if (stick) { pre.scrollTop = pre.scrollHeight; }
              if (status && status.textContent === "queued") { setStatus(status, "running"); }
            };
            source.addEventListener("end", function (event) {
              source.close();
              try {
                var end = JSON.parse(event.data);
                if (status) { setStatus(status, end.status); }
              } catch (e) { /* the page still holds the log */ }
              var live = document.querySelectorAll("[data-while-running]");
              for (var i = 0; i < live.length; i++) { live[i].hidden = true; }
              refreshParts();
            });
          }
          // The record, the buttons, the steps and the artifacts as the server has them now,
          // taken from the page itself (no reload: the log and the scroll position stay).
          function refreshParts() {
            if (!window.fetch || !window.DOMParser) { return; }
            fetch(window.location.pathname, { credentials: "same-origin" })
              .then(function (response) { return response.ok ? response.text() : null; })
              .then(function (html) {
                if (!html) { return; }
                var fresh = new DOMParser().parseFromString(html, "text/html");
                ["record", "actions", "steps", "artifacts"].forEach(function (id) {
                  var now = document.getElementById(id), next = fresh.getElementById(id);
                  if (now && next) { now.replaceWith(document.importNode(next, true)); }
                });
              })
              .catch(function () { /* the page keeps what it shows */ });
          }
          function setStatus(element, value) {
            element.textContent = value;
            element.className = "st st-" + value;
            element.setAttribute("data-status", value);
          }
          document.addEventListener("DOMContentLoaded", function () {
            var pre = document.querySelector("pre.log[data-follow]");
            if (pre && window.EventSource) { follow(pre); }
          });
        })();
        """
}
