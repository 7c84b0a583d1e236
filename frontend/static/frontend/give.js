// The gift form: suggested amounts, and what the gift really costs after the tax reduction.
// The page works without this script: the server accepts a suggested amount or a typed one
// and renders the cost of the amount the form holds. The script keeps the two choices apart
// (choosing a suggested amount empties the typed one; typing one unticks the suggested) and the
// cost up to date with the server's arithmetic (checkout/tax_reduction.py): integer cents, the
// reduction rounded down, so the cost shown is never below the real one.
import { formatMoney } from "./live.js";

// kernel.money.euros_to_cents: ASCII digits, at most two decimals after "," or ".", an optional "€".
const EUROS = /^[ \t\n\r\f\v]*([0-9]{1,9})(?:[.,]([0-9]{1,2}))?[ \t\n\r\f\v]*(?:€)?[ \t\n\r\f\v]*$/;

export function eurosToCents(text) {
  const match = EUROS.exec(text);
  if (!match) return null;
  return Number(match[1]) * 100 + Number((match[2] || "").padEnd(2, "0"));
}

// percent of the gift up to ceiling (null: none), generalPercent above it; rounded down to the cent.
export function reductionCents(amount, percent, ceiling, generalPercent) {
  if (amount <= 0) return 0;
  const within = ceiling === null ? amount : Math.min(amount, ceiling);
  return Math.floor((within * percent + (amount - within) * generalPercent) / 100);
}

const fieldset = document.querySelector("form.give [data-gift-amounts]");

if (fieldset) {
  const typed = fieldset.querySelector("input[name=amount]");
  const choices = [...fieldset.querySelectorAll("input[name=suggested]")];
  const cost = fieldset.querySelector("[data-gift-cost]");

  function show() {
    if (!cost) return;
    const rates = cost.dataset;
    const chosen = choices.find((choice) => choice.checked);
    const text = typed.value.trim() || (chosen ? chosen.value : "");
    const amount = eurosToCents(text);
    if (amount === null || amount < Number(rates.min) || amount > Number(rates.max)) {
      cost.textContent = rates.example;
      return;
    }
    const ceiling = rates.ceiling === "" ? null : Number(rates.ceiling);
    const reduction = reductionCents(amount, Number(rates.percent), ceiling, Number(rates.generalPercent));
    const figure = document.createElement("strong");
    figure.textContent = formatMoney(amount - reduction);
    cost.replaceChildren(`${rates.label} `, figure);
  }

  choices.forEach((choice) => choice.addEventListener("change", () => {
    if (choice.checked) typed.value = "";
    show();
  }));
  typed.addEventListener("input", () => {
    if (typed.value.trim()) choices.forEach((choice) => { choice.checked = false; });
    show();
  });
  // A form restored by the browser (back button) may hold values the server did not render.
  window.addEventListener("pageshow", show);
}
