// Trëmma live updates: one small module used by every live page.
// Connects to a stream (e.g. /ws/items/12/), reconnects
// with exponential backoff and jitter, resumes with ?since=<last id>, and
// hands each event to the page's handlers. Pages are server-rendered and
// correct without this script; it only keeps them fresh.

const MAX_DELAY_MS = 30000;

export function connect(path, onEvent, { onStatus = () => {}, since = null } = {}) {
  // Resume after the newest event the server rendered into the page, if any.
  let lastId = since === undefined || since === null || since === "" ? null : String(since);
  let attempt = 0;
  let socket = null;
  let stopped = false;

  function url() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const since = lastId ? `?since=${encodeURIComponent(lastId)}` : "";
    return `${scheme}//${location.host}${path}${since}`;
  }

  function schedule() {
    if (stopped) return;
    const base = Math.min(MAX_DELAY_MS, 500 * 2 ** attempt);
    const delay = base / 2 + Math.random() * (base / 2); // jitter: never a thundering herd
    attempt += 1;
    setTimeout(open, delay);
  }

  function open() {
    if (stopped) return;
    socket = new WebSocket(url());
    socket.addEventListener("open", () => {
      attempt = 0;
      onStatus("live");
    });
    socket.addEventListener("message", (message) => {
      let event;
      try {
        event = JSON.parse(message.data);
      } catch {
        return;
      }
      lastId = event.id;
      onEvent(event);
    });
    socket.addEventListener("close", (close) => {
      onStatus("offline");
      // 4400-4404: the server refused this stream; retrying will not help.
      if (close.code >= 4400 && close.code < 4500) return;
      schedule();
    });
  }

  open();
  return {
    close() {
      stopped = true;
      if (socket) socket.close();
    },
  };
}

// Integer cents to text without floating point: "12,50 €" / "€12.50".
// "3 soutiens": the element carries both words (data-one, data-other) in the page's language.
export function setCount(element, count) {
  const lang = document.documentElement.lang || "fr";
  const word = new Intl.PluralRules(lang).select(count) === "one" ? element.dataset.one : element.dataset.other;
  element.textContent = `${count.toLocaleString(lang)} ${word}`;
}

export function formatMoney(cents) {
  const french = (document.documentElement.lang || "fr").startsWith("fr");
  const digits = String(Math.abs(cents)).padStart(3, "0");
  const units = Number(digits.slice(0, -2)).toLocaleString(french ? "fr-FR" : "en-GB");
  const rest = digits.slice(-2);
  const sign = cents < 0 ? "-" : "";
  return french ? `${sign}${units},${rest}\u00a0€` : `${sign}€${units}.${rest}`;
}

// "Votre don est doublé !": the banner carries its wordings (data-double, data-triple, data-other with
// "{percent}") in the page's language; it follows campaign.progress's match_percent (hidden at 0),
// and hides itself when the pledges it announces end (data-until, ISO 8601).
export function setMatchBanner(element, percent) {
  if (!element || !Number.isInteger(percent)) return;
  element.dataset.percent = String(percent);
  element.hidden = percent <= 0;
  const { double, triple, other } = element.dataset;
  element.textContent = percent === 100 ? double : percent === 200 ? triple : other.replace("{percent}", String(percent));
}

export function matchBannerExpire(element) {
  const until = Date.parse(element?.dataset.until || "");
  if (Number.isNaN(until)) return;
  // Browsers fire a timeout longer than 2^31 - 1 ms at once: a far end is checked again daily.
  const wait = Math.min(until - Date.now(), 86_400_000);
  if (wait <= 0) element.hidden = true;
  else setTimeout(() => matchBannerExpire(element), wait + 1000);
}
