// The campaign page, live: progress, backers and the state of each object.
import { connect, formatMoney, setCount } from "./live.js";

const root = document.querySelector("[data-campaign-stream]");

if (root) {
  // Labels come from the server, in the page's language.
  const labels = { reserved: root.dataset.labelReserved, sold: root.dataset.labelSold, handed_over: root.dataset.labelSold };
  connect(root.dataset.campaignStream, (event) => {
    const data = event.data || {};
    if (event.type === "campaign.progress") {
      root.querySelector("[data-raised]").textContent = formatMoney(data.raised_cents);
      root.querySelectorAll("[data-backers]").forEach((element) => setCount(element, data.backers_count));
      root.querySelector("[data-progress]").value = Math.min(100, Math.floor((data.raised_cents * 100) / data.goal_cents));
    } else if (data.item && data.status) {
      const card = root.querySelector(`[data-item="${data.item}"]`);
      if (!card) return;
      card.className = card.className.replace(/status-\S+/, `status-${data.status}`);
      const badge = card.querySelector("[data-badge]");
      badge.hidden = data.status === "listed";
      badge.textContent = labels[data.status] || "";
    }
  }, { since: root.dataset.lastEvent });
}
