// The window's screen, live: each object's state (being bought, sold, back on
// sale), what the window raised today, and the progress of the projects shown.
import { connect, formatMoney } from "/static/frontend/live.js";

const body = document.body;
const since = body.dataset.lastEvent;
const today = document.querySelector("[data-today-cents]");

function setState(itemId, status) {
  const row = document.querySelector(`[data-item="${itemId}"]`);
  if (!row) return;
  row.dataset.status = status;
  row.className = row.className.replace(/status-\S+/, `status-${status}`);
  const state = row.querySelector(".state");
  state.textContent = status === "reserved" ? state.dataset.reserved : status === "sold" || status === "handed_over" ? state.dataset.sold : "";
}

connect(body.dataset.stream, (event) => {
  const data = event.data || {};
  if (data.item && data.status) setState(data.item, data.status);
  if (event.type === "item.sold" && today && Number.isInteger(data.price_cents)) {
    const cents = Number(today.dataset.todayCents) + data.price_cents;
    today.dataset.todayCents = String(cents);
    today.querySelector("[data-today-amount]").textContent = formatMoney(cents);
  }
}, { since });

for (const campaign of document.querySelectorAll("[data-campaign]")) {
  connect(`/ws/campaigns/${campaign.dataset.campaign}/`, (event) => {
    if (event.type !== "campaign.progress") return;
    const { raised_cents: raised, goal_cents: goal } = event.data;
    campaign.querySelector("progress").value = Math.min(100, Math.floor((raised * 100) / goal));
    campaign.querySelector("[data-raised-amount]").textContent = formatMoney(raised);
  }, { since });
}
