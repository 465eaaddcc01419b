// Durations as operators write them: 90s, 10m, 1h, 1h30m, 1d. One parser for the configuration, the API
// and the CLI.
const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 } as const;
const DURATION = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

/** Milliseconds, or undefined when the text is not a duration like 1h30m. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim().toLowerCase();
  const match = DURATION.exec(trimmed);
  if (trimmed === '' || !match) return undefined;
  const [, d, h, m, s] = match;
  const total = Number(d ?? 0) * UNIT_MS.d + Number(h ?? 0) * UNIT_MS.h + Number(m ?? 0) * UNIT_MS.m + Number(s ?? 0) * UNIT_MS.s;
  return total > 0 ? total : undefined;
}

/** The shortest text parseDuration reads back as the same value (whole seconds). */
export function formatDuration(ms: number): string {
  let rest = Math.round(ms / 1000) * 1000;
  let text = '';
  for (const [unit, size] of Object.entries(UNIT_MS)) {
    const count = Math.floor(rest / size);
    if (count > 0) text += `${count}${unit}`;
    rest -= count * size;
  }
  return text || '0s';
}
