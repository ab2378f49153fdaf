// Applies the saved (or the system's) colour scheme before first paint; mode-watcher takes over
// once the app starts. It is a file rather than mode-watcher's inline snippet so that the CSP can
// stay `script-src 'self'` (SPEC §4). The storage key is mode-watcher's default.
(function () {
  try {
    var saved = localStorage.getItem('mode-watcher-mode');
    var system = window.matchMedia('(prefers-color-scheme: dark)').matches;
    var dark = saved === 'dark' || (saved !== 'light' && system);
    document.documentElement.classList.toggle('dark', dark);
    document.documentElement.style.colorScheme = dark ? 'dark' : 'light';
  } catch {
    // Storage can be disabled; the light theme is a fine fallback.
  }
})();
