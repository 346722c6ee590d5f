// The public help center's only script, and nothing needs it: the pages are whole without it. It adds the search
// box (the locale's index.json, searched here), sends "Was this helpful?" without leaving the page, and counts the
// view (one small POST to the API; no cookies, nothing stored in the browser).
(() => {
  "use strict";
  const body = document.body;
  const api = (body.dataset.api || "").replace(/\/$/, "");
  const article = body.dataset.article;

  const post = (path, data) => fetch(`${api}${path}`, {
    method: "POST", keepalive: true, headers: { "Content-Type": "application/json" }, body: JSON.stringify(data),
  });

  if (article) {
    const params = new URLSearchParams(location.search);
    const source = params.get("from") === "widget" ? "widget" : "page";
    if (params.has("from")) history.replaceState(null, "", location.pathname + location.hash); // shared links count as the page
    post("/help/views", { article, source }).catch(() => {});
  }

  const form = document.querySelector("form.feedback");
  if (form) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const helpful = event.submitter ? event.submitter.value === "true" : true;
      form.querySelectorAll("button").forEach((b) => { b.disabled = true; });
      try {
        const res = await post("/help/feedback", { article, helpful });
        if (!res.ok) throw new Error(String(res.status));
        form.querySelectorAll("button").forEach((b) => { b.hidden = true; });
        form.querySelector("[data-thanks]").hidden = false;
      } catch {
        form.querySelectorAll("button").forEach((b) => { b.disabled = false; });
      }
    });
  }

  const search = document.querySelector("form.search");
  if (!search || !body.dataset.index) return;
  search.hidden = false;
  const input = search.querySelector("input");
  const results = search.querySelector(".results");
  let index = null;
  const fold = (s) => (s || "").normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  const words = (s) => fold(s).match(/[0-9a-z]+/g) || [];
  async function load() {
    if (!index) index = fetch(body.dataset.index).then((r) => r.json()).then((d) => d.articles || []).catch(() => []);
    return index;
  }
  function score(entry, query) {
    const title = words(entry.title), terms = entry.terms || [];
    let total = 0;
    for (const [i, w] of query.entries()) {
      const prefix = i === query.length - 1;
      const hit = (list) => list.some((t) => t === w || (prefix && t.startsWith(w)));
      if (hit(title)) total += 2; else if (hit(terms)) total += 1; else return 0;
    }
    return total;
  }
  search.addEventListener("submit", (e) => e.preventDefault());
  input.addEventListener("input", async () => {
    const query = words(input.value);
    const entries = await load();
    const found = query.length ? entries.map((e) => [score(e, query), e]).filter(([s]) => s > 0)
      .sort((a, b) => b[0] - a[0]).slice(0, 8).map(([, e]) => e) : [];
    results.replaceChildren(...found.map((e) => {
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = e.url;
      a.textContent = e.title;
      li.append(a);
      return li;
    }));
    results.hidden = !found.length;
  });
})();
