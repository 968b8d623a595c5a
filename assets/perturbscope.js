// Small clientside helpers: keep view state in the address bar.
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  perturbscope: {
    // Global gene search -> ?gene=... (a navigation, so the page re-renders).
    geneToSearch: function (gene) {
      const params = new URLSearchParams(window.location.search);
      if (!gene || params.get("gene") === gene) {
        return window.dash_clientside.no_update;
      }
      params.set("gene", gene);
      return "?" + params.toString();
    },
    // Page controls -> query string, in place (no re-render, no history entry).
    syncQuery: function () {
      const names = window.dash_clientside.callback_context.inputs_list.map(
        (item) => item.id
      );
      const params = new URLSearchParams(window.location.search);
      Array.from(arguments).forEach(function (value, index) {
        const key = names[index].replace(/^q-/, "");
        if (value === null || value === undefined || value === "") {
          params.delete(key);
        } else {
          params.set(key, Array.isArray(value) ? value.join(",") : value);
        }
      });
      const query = params.toString();
      const url = window.location.pathname + (query ? "?" + query : "");
      window.history.replaceState(window.history.state, "", url);
      return "";
    },
  },
});
