// The campaign page, live: progress, backers and the state of each object.
import { connect, formatMoney, matchBannerExpire, setCount, setMatchBanner } from "./live.js";

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
      // Matchfunding: the partners' promise, shown apart from the money received (absent without a pledge).
      const matched = root.querySelector("[data-matched]");
      if (matched && Number.isInteger(data.matched_cents)) matched.textContent = formatMoney(data.matched_cents);
      setMatchBanner(root.querySelector("[data-match-banner]"), data.match_percent);
    } else if (data.item && data.status) {
      const card = root.querySelector(`[data-item="${data.item}"]`);
      if (!card) return;
      card.className = card.className.replace(/status-\S+/, `status-${data.status}`);
      const badge = card.querySelector("[data-badge]");
      badge.hidden = data.status === "listed";
      badge.textContent = labels[data.status] || "";
    }
  }, { since: root.dataset.lastEvent });
  matchBannerExpire(root.querySelector("[data-match-banner]"));
}
