// One ticking clock for every relative time on screen ("5 min. ago"): read `clock.now` and the
// text follows. It ticks every 15 s while the page is open.
export const clock = $state({ now: Date.now() });

if (typeof window !== 'undefined') setInterval(() => (clock.now = Date.now()), 15_000);
