// Test instrumentation: keeps the URL, headers and body of every response the page receives
// (fetch and XMLHttpRequest alike) in window.__responses, for the token-absence check.
window.__responses = [];
(() => {
  const keep = (url, headers, body) => window.__responses.push(`${url}\n${headers}\n\n${body}`);
  const fetch = window.fetch;
  window.fetch = async (...args) => {
    const response = await fetch(...args);
    const copy = response.clone();
    const headers = [...copy.headers].map(([k, v]) => `${k}: ${v}`).join("\n");
    copy.text().then((body) => keep(copy.url, headers, body));
    return response;
  };
  const send = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.send = function (...args) {
    this.addEventListener("loadend", () =>
      keep(this.responseURL, this.getAllResponseHeaders(), this.responseText || ""));
    return send.apply(this, args);
  };
})();
