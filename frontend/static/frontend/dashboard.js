// The managers' dashboard: live totals, feed, holds and charts from /ws/dashboard/.
import { connect, formatMoney, setCount } from "./live.js";

const root = document.querySelector("[data-stream]");
const status = document.querySelector("[data-live-status]");
const feed = document.querySelector("[data-feed]");
const holds = document.querySelector("[data-holds]");

function card(slug) {
  return document.querySelector(`[data-campaign="${CSS.escape(slug)}"]`);
}

// HH:MM in Europe/Paris, as the server writes it, whatever the browser's own time zone.
const clock = new Intl.DateTimeFormat(document.documentElement.lang || "fr", {
  timeZone: "Europe/Paris",
  hour: "2-digit",
  minute: "2-digit",
  hourCycle: "h23",
});

function parisTime(at) {
  const parts = Object.fromEntries(clock.formatToParts(at).map((part) => [part.type, part.value]));
  return `${parts.hour}:${parts.minute}`;
}

// In French a giver's name comes with its "de"/"d'" from the server (gift.received's de_name).
const french = document.documentElement.lang.startsWith("fr");

function addToFeed(text, kind, at) {
  feed.querySelector("[data-empty]")?.remove();
  const item = document.createElement("li");
  item.className = `feed-${kind} fresh`;
  const time = document.createElement("time");
  const when = at ? new Date(at) : new Date();
  time.dateTime = when.toISOString();
  time.textContent = parisTime(when);
  item.append(time, ` ${text}`);
  feed.prepend(item);
}

// The "payments in progress" list: a row per hold, gone when the item is sold or back on sale.
function holdStarted(data, title) {
  holdEnded(data);
  const row = document.createElement("li");
  row.dataset.item = data.item;
  const until = holds.dataset.held.replace("{time}", parisTime(new Date(data.until)));
  row.textContent = `${title || `#${data.item}`} — ${until}`;
  holds.querySelector("[data-empty]").before(row);
  holds.querySelector("[data-empty]").hidden = true;
}

function holdEnded(data) {
  holds.querySelector(`[data-item="${data.item}"]`)?.remove();
  holds.querySelector("[data-empty]").hidden = holds.querySelector("[data-item]") !== null;
}

function progress(data) {
  const element = card(data.campaign);
  if (!element) return;
  const goal = Number(element.dataset.goal);
  element.querySelector("[data-raised]").textContent = formatMoney(data.raised_cents);
  setCount(element.querySelector("[data-backers]"), data.backers_count);
  element.querySelector("[data-progress]").value = Math.min(100, Math.floor((data.raised_cents * 100) / goal));
  // The chart's last point is today: move it to the new total.
  const line = element.querySelector("[data-chart]");
  const points = line.getAttribute("points").trim().split(" ");
  const [x] = points[points.length - 1].split(",");
  const top = Math.max(goal, data.raised_cents);
  const height = line.ownerSVGElement.viewBox.baseVal.height;
  points[points.length - 1] = `${x},${height - Math.floor((Math.max(0, data.raised_cents) * height) / top)}`;
  line.setAttribute("points", points.join(" "));
}

const handlers = {
  "campaign.progress": progress,
  "item.reserved": (data) => holdStarted(data, data.title),
  "item.sold": (data, at) => {
    const what = feed.dataset.sale.replace("{title}", data.title || `#${data.item}`);
    addToFeed(`${formatMoney(data.price_cents)} · ${what} · ${data.campaign_title || ""}`, "credit", at);
    holdEnded(data);
  },
  "gift.received": (data, at) => {
    const what = data.name
      ? feed.dataset.gift.replace("{de_name}", french ? data.de_name || data.name : data.name)
      : feed.dataset.anonymous;
    addToFeed(`${formatMoney(data.amount_cents)} · ${what} · ${data.campaign_title || ""}`, "credit", at);
  },
  "item.released": (data) => holdEnded(data),
};

if (root) {
  connect(root.dataset.stream, (event) => handlers[event.type]?.(event.data, event.at), {
    since: root.dataset.lastEvent,
    onStatus: (state) => {
      status.textContent = state === "live" ? status.dataset.live || "en direct" : status.dataset.offline || "hors ligne";
      status.dataset.state = state;
    },
  });
}
