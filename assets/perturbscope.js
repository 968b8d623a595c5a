// Small clientside helpers: keep view state in the address bar.
//
// A page re-renders from the URL, and Dash then calls these callbacks once for
// the controls it has just drawn (their values are what the URL asked for, or
// the page's defaults). That first call is not a choice by the user: writing it
// back would navigate, and render the page a second time, for nothing. Each
// render has its own id (the "page-render" store), which tells the two apart.
(function () {
  const renderSeen = {};

  // A query string as people read it: lists keep their commas and regulators their colons
  // (both are allowed in a query; URLSearchParams escapes them).
  function readable(params) {
    return params.toString().replace(/%2C/gi, ",").replace(/%3A/gi, ":");
  }

  // True on the first call of the running callback after a page render.
  function firstAfterRender(render) {
    const key = window.dash_clientside.callback_context.inputs_list.map(function (i) { return i.id; }).join("|");
    if (render === undefined || render === null || renderSeen[key] === render) {
      return false;
    }
    renderSeen[key] = render;
    return true;
  }

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    perturbscope: {
      // The page shows another gene than the URL asked for (unknown, or other letter case):
      // correct the address bar in place (no navigation), so a copied link shows this view.
      // The app's Location learns the corrected URL too: it may not have received the URL it
      // read when it mounted yet, and would push that stale URL back when it does.
      correctGene: function (shown) {
        const params = new URLSearchParams(window.location.search);
        if (shown && params.has("gene") && params.get("gene") !== shown) {
          params.set("gene", shown);
          window.history.replaceState(window.history.state, "", window.location.pathname + "?" + params.toString());
          window.dash_clientside.set_props("url", {href: window.location.href, search: window.location.search});
        }
        return window.dash_clientside.no_update;
      },
      // The global search opens the chosen gene's card; a value that is the URL's own gene
      // (the search box follows the URL) is not a choice. `search` is the app's Location, the
      // URL the box followed: the address bar may already hold a corrected gene (correctGene).
      openGeneCard: function (gene, search) {
        const params = new URLSearchParams(search || "");
        if (!gene || (params.get("gene") || "").toUpperCase() === gene.toUpperCase()) {
          return window.dash_clientside.no_update;
        }
        return "/gene?gene=" + encodeURIComponent(gene);
      },
      // A page's gene picker -> ?gene=... (a navigation, so the page re-renders).
      // `shown` is the gene a page fell back to when the URL's gene is not in
      // its dataset: showing it is not a choice, so it does not navigate
      // (correctGene puts it in the address bar in place).
      geneToSearch: function (gene, shown, render) {
        const params = new URLSearchParams(window.location.search);
        if (firstAfterRender(render) || !gene || gene === shown || params.get("gene") === gene) {
          return window.dash_clientside.no_update;
        }
        params.set("gene", gene);
        return "?" + params.toString();
      },
      // The controls behind a finished job's result -> the address bar, in place (no navigation:
      // the page keeps its result). An empty list is kept ("sets="): it differs from the default.
      recordParams: function (keys, result, values) {
        if (!result) {
          return window.dash_clientside.no_update;
        }
        const params = new URLSearchParams(window.location.search);
        keys.forEach(function (key, index) {
          const value = values[index];
          if (Array.isArray(value)) {
            params.set(key, value.join(","));
          } else if (value === null || value === undefined || value === "") {
            params.delete(key);
          } else {
            params.set(key, value);
          }
        });
        const search = readable(params);
        window.history.replaceState(window.history.state, "", window.location.pathname + (search ? "?" + search : ""));
        return window.dash_clientside.no_update;
      },
      // Page controls -> query string. Controls' ids are "q-<parameter>", or
      // "q-<page>--<parameter>" where several pages share a parameter. This is
      // a navigation through the app's one Location, so the page re-renders from
      // the URL: the address bar is the single source of truth for the view.
      // A parameter enters the address bar when the user changes it; after a
      // render only parameters already there are rewritten (when the page
      // corrected them), so untouched defaults never appear.
      paramsToSearch: function () {
        const context = window.dash_clientside.callback_context;
        const inputs = context.inputs_list;
        const values = Array.from(arguments).slice(0, inputs.length);
        const render = arguments[inputs.length];
        const first = firstAfterRender(render);
        const changed = new Set(context.triggered.map(function (t) { return t.prop_id.replace(/\.value$/, ""); }));
        const params = new URLSearchParams(window.location.search);
        const before = readable(params);
        values.forEach(function (value, index) {
          const key = inputs[index].id.replace(/^q-/, "").replace(/^.*--/, "");
          if (!params.has(key) && (first || !changed.has(inputs[index].id))) {
            return;
          }
          if (value === null || value === undefined || value === "") {
            params.delete(key);
          } else {
            params.set(key, Array.isArray(value) ? value.join(",") : value);
          }
        });
        const after = readable(params);
        if (after === before) {
          return window.dash_clientside.no_update;
        }
        return after ? "?" + after : "";
      },
    },
  });
})();

// Cancel stops the job at once. Dash's own cancel request waits in the renderer's queue of
// callbacks, which can hold it until the job has finished; so a click on a job panel's Cancel
// also tells the server directly which page load and panel to stop (dashboard/jobs.py).
document.addEventListener("click", function (event) {
  const button = event.target.closest ? event.target.closest(".job-panel button[id$='-cancel']") : null;
  const config = document.getElementById("_dash-config");
  if (!button || button.disabled || !config) {
    return;
  }
  const dash = JSON.parse(config.textContent);
  fetch(dash.requests_pathname_prefix + "_perturbscope/cancel", {
    method: "POST",
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify({endId: dash.end_id, panel: button.id.slice(0, -"-cancel".length)}),
    keepalive: true,
  }).catch(function () { /* Dash's own cancel request still follows */ });
}, true);
