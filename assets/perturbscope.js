// Small clientside helpers: keep view state in the address bar.
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  perturbscope: {
    // Global gene search -> ?gene=... (a navigation, so the page re-renders).
    // `shown` is the gene a page fell back to when the URL's gene is not in
    // its dataset: showing it is not a choice, so the URL keeps the user's gene.
    geneToSearch: function (gene, shown) {
      const params = new URLSearchParams(window.location.search);
      if (!gene || gene === shown || params.get("gene") === gene) {
        return window.dash_clientside.no_update;
      }
      params.set("gene", gene);
      return "?" + params.toString();
    },
    // Page controls -> query string. Controls' ids are "q-<parameter>", or
    // "q-<page>--<parameter>" where several pages share a parameter. This is
    // a navigation through the app's one Location, so the page re-renders from
    // the URL: the address bar is the single source of truth for the view.
    paramsToSearch: function () {
      const inputs = window.dash_clientside.callback_context.inputs_list;
      const params = new URLSearchParams(window.location.search);
      const before = params.toString();
      Array.from(arguments).forEach(function (value, index) {
        const key = inputs[index].id.replace(/^q-/, "").replace(/^.*--/, "");
        if (value === null || value === undefined || value === "") {
          params.delete(key);
        } else {
          params.set(key, Array.isArray(value) ? value.join(",") : value);
        }
      });
      const after = params.toString();
      if (after === before) {
        return window.dash_clientside.no_update;
      }
      return after ? "?" + after : "";
    },
  },
});
