// The countdown of a hold (the basket and the payment pages). The server renders
// "reserved for you until 14:32" and how many seconds are left; this shows the
// minutes and seconds going down, then says the hold is over. It counts on the
// page's own clock, not the phone's date, which may be wrong.
const two = (n) => String(n).padStart(2, "0");

function clock(seconds) {
  const hours = Math.floor(seconds / 3600);
  const tail = `${two(Math.floor((seconds % 3600) / 60))}:${two(seconds % 60)}`;
  return hours ? `${hours}:${tail}` : tail;
}

function start(box) {
  const total = Number.parseInt(box.dataset.countdown, 10);
  if (!(total > 0)) return;
  const ends = performance.now() + total * 1000;
  const running = box.querySelector("[data-countdown-running]");
  const face = box.querySelector("[data-countdown-clock]");
  const over = box.querySelector("[data-countdown-over]");
  running.hidden = false;

  function tick() {
    const remaining = ends - performance.now();
    const left = Math.max(0, Math.ceil(remaining / 1000));
    face.textContent = clock(left);
    if (left > 0) {
      // Next when the shown second changes.
      setTimeout(tick, (remaining % 1000 || 1000) + 5);
      return;
    }
    running.hidden = true;
    over.hidden = false; // a status region: read out once
    // What only makes sense while the hold lasts (the pay button, "resume the payment").
    for (const element of document.querySelectorAll("[data-hold-only]")) element.hidden = true;
  }
  tick();
}

for (const box of document.querySelectorAll("[data-countdown]")) start(box);
