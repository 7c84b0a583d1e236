// The item page, live: the buy and add-to-basket buttons follow the item's state (reserved by
// someone else, released, sold) and the project's progress bar follows the money.
import { connect, formatMoney } from "./live.js";

const article = document.querySelector("[data-item-stream]");

function show(selector, visible) {
  const element = article.querySelector(selector);
  if (element) element.hidden = !visible;
}

function setState(status) {
  article.className = article.className.replace(/status-\S+/, `status-${status}`);
  // The labels come from the server, in the page's language.
  const state = article.querySelector("[data-state]");
  const label = state && state.dataset[`label${status === "handed_over" ? "Sold" : status[0].toUpperCase() + status.slice(1)}`];
  if (label) state.textContent = label;
  const button = article.querySelector("[data-buy] button");
  if (button) button.disabled = status !== "listed";
  show("[data-reserved-note]", status === "reserved");
  show("[data-sold-note]", status === "sold" || status === "handed_over");
  show("[data-buy]", status === "listed" || status === "reserved");
  // "Add to basket" follows the same rule; once in the basket, the basket says what became of it.
  const add = article.querySelector("[data-basket-add] button");
  if (add) add.disabled = status !== "listed";
  show("[data-basket-add]", status === "listed" || status === "reserved");
  show("[data-in-basket]", status === "listed" || status === "reserved");
  show("[data-handover]", status === "listed" || status === "reserved");
}

if (article) {
  const since = article.dataset.lastEvent;
  connect(article.dataset.itemStream, (event) => {
    if (event.data && event.data.status) setState(event.data.status);
  }, { since });
  connect(article.dataset.campaignStream, (event) => {
    if (event.type !== "campaign.progress") return;
    const { raised_cents: raised, goal_cents: goal } = event.data;
    article.querySelector("[data-raised]").textContent = formatMoney(raised);
    article.querySelector("[data-progress]").value = Math.min(100, Math.floor((raised * 100) / goal));
  }, { since });
}
