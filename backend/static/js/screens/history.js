// History filters: the form's values become the route's query, so the filtered list is re-rendered server-side.
export function mount(root, ctx) {
  const form = root.querySelector("[data-filters]");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const query = new URLSearchParams();
    new FormData(form).forEach((value, key) => { if (value && value !== "0") query.set(key, value); });
    ctx.navigate(`#/history${query.toString() ? `?${query}` : ""}`);
  });
}
