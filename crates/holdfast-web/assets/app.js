// Holdfast dashboard: small progressive enhancement. Every form works without it.
// Working the queue: a task's action is sent in the background and the task leaves the list.
document.addEventListener("submit", async (ev) => {
  const form = ev.target;
  const task = form.closest("ol.queue > li.task");
  if (!task || !window.fetch) return;
  ev.preventDefault();
  task.classList.add("leaving");
  try {
    const resp = await fetch(form.action, { method: "POST", body: new URLSearchParams(new FormData(form)), credentials: "same-origin" });
    if (!resp.ok) throw new Error(resp.status);
    task.remove();
  } catch (e) {
    task.classList.remove("leaving");
    form.submit();
  }
});
