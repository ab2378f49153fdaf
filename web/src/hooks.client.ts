// Runs before any page. zod builds fast parsers with `new Function` unless told not to, and it
// probes for that with `Function('')` the first time an object schema parses: under our CSP
// (script-src 'self', no 'unsafe-eval', SPEC §4) that probe is a violation report. The browser
// parses little, so the interpreted path costs nothing that matters.
import { config } from 'zod';

config({ jitless: true });
