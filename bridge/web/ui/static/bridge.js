// Small conveniences for the status pages; every page works without them.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-format-json]");
  if (!button) return;
  const area = document.getElementById(button.dataset.formatJson);
  try {
    area.value = JSON.stringify(JSON.parse(area.value), null, 2);
  } catch (error) {
    area.setCustomValidity("This is not JSON: " + error.message);
    area.reportValidity();
    area.addEventListener("input", () => area.setCustomValidity(""), { once: true });
  }
});
