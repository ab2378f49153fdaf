/** "1 entry", "9 entries", "1,204 jobs": a number and the noun it counts, singular for one. */
export function count(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en')} ${n === 1 ? one : many}`;
}
