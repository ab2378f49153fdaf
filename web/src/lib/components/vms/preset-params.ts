// A preset's parameter values checked against the preset's own regexes (SPEC §2), so a typo is
// shown beside the field rather than as a 400 after the click.

/** The first problem with `values` for `params` (name → regex source), or null. */
export function presetProblem(
  params: Record<string, string>,
  values: Record<string, string>,
): string | null {
  for (const [name, source] of Object.entries(params)) {
    const value = values[name] ?? '';
    if (value === '') return `${name} is needed`;
    if (value.length > 1024) return `${name} is too long`;
    let re: RegExp;
    try {
      re = new RegExp(source);
    } catch {
      continue; // the server checks it anyway; a regex the browser cannot read must not block
    }
    if (!re.test(value)) return `${name} must match ${source}`;
  }
  return null;
}

/** Parameters that name a container get the picker of the host's running containers. */
export const isContainerParam = (name: string) => /^containers?$/i.test(name);
