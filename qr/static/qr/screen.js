// The window's screen, live: each object's state (being bought, sold, back on
// sale), the objects a manager puts in or takes out, what the window raised
// today, and the progress of the projects shown.
import { connect, formatMoney, matchBannerExpire, setMatchBanner } from "/static/frontend/live.js";

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

const list = document.querySelector("ol.placements");

function cardOf(itemId) {
  return list.querySelector(`[data-item="${itemId}"]`);
}

// A copy of the server's card (the <template> in screen.html), filled with the event's public data.
function addCard(data) {
  cardOf(data.item)?.remove();
  const card = document.getElementById("placement-card").content.firstElementChild.cloneNode(true);
  card.dataset.item = String(data.item);
  card.dataset.position = String(data.position);
  const photo = card.querySelector(".photo");
  if (data.photo) photo.src = data.photo;
  else photo.remove();
  card.querySelector(".title").textContent = data.title;
  card.querySelector(".price").textContent = formatMoney(data.price_cents);
  const qr = card.querySelector(".qr");
  qr.src = data.qr;
  qr.alt = data.short_url.split("/").pop();
  for (const empty of list.querySelectorAll("[data-empty]")) empty.remove();
  const after = [...list.querySelectorAll("[data-position]")].find((row) => Number(row.dataset.position) > data.position);
  list.insertBefore(card, after || null);
  setState(data.item, data.status);
}

function removeCard(itemId) {
  cardOf(itemId)?.remove();
  if (!list.querySelector("[data-item], [data-empty]")) {
    list.append(document.getElementById("placements-empty").content.firstElementChild.cloneNode(true));
  }
}

connect(body.dataset.stream, (event) => {
  const data = event.data || {};
  if (event.type === "window.placement_added") {
    addCard(data);
    return;
  }
  if (event.type === "window.placement_removed") {
    removeCard(data.item);
    return;
  }
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
    // Matchfunding: the partners' promise apart from the money received, and "votre don est doublé".
    const matched = campaign.querySelector("[data-matched-amount]");
    if (matched && Number.isInteger(event.data.matched_cents)) matched.textContent = formatMoney(event.data.matched_cents);
    setMatchBanner(campaign.querySelector("[data-match-banner]"), event.data.match_percent);
  }, { since });
  matchBannerExpire(campaign.querySelector("[data-match-banner]"));
}
