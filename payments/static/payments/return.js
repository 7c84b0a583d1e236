// The checkout return page while the payment is being confirmed (the buyer can
// be back before the provider's webhook): look again every few seconds and put
// the receipt in place as soon as it is there. A timed <meta http-equiv="refresh">
// reloaded the page under the reader's eyes whatever happened (WCAG 2.2.1).
const section = document.querySelector("[data-payment-pending]");
const MAX_DELAY_MS = 15000;

async function look(delay) {
  try {
    const response = await fetch(location.href, { cache: "no-store", credentials: "same-origin" });
    if (response.ok) {
      const next = new DOMParser().parseFromString(await response.text(), "text/html");
      const fresh = next.querySelector(".checkout-return");
      if (fresh && !fresh.hasAttribute("data-payment-pending")) {
        section.replaceChildren(...fresh.childNodes); // inside the live region: read out
        section.removeAttribute("data-payment-pending");
        document.title = next.title;
        return;
      }
    }
  } catch {
    // Offline for a moment: try again later.
  }
  setTimeout(() => look(Math.min(MAX_DELAY_MS, delay * 1.5)), delay);
}

if (section) setTimeout(() => look(3000), 3000);
