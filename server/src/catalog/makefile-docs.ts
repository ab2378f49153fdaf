// What the makefile text says of its targets, as the self-documenting `make help` styles read it:
// `target: deps ## text`, `.PHONY: target ## text`, and `##@ Section` headers, in file order.

export interface TargetDoc {
  description: string;
  /** The nearest `##@ Section` header above it, across the makefiles in the order make read them. */
  section: string | null;
  /** Position in the makefile text, so the list reads in the order `make help` prints it. */
  order: number;
}

const RULE =
  /^([A-Za-z0-9_./+-]+(?:[ \t]+[A-Za-z0-9_./+-]+)*)[ \t]*::?(?!=)([^#]*)##(?!@)[ \t]*(.*?)\s*$/;
const SECTION = /^##@[ \t]*(.*?)\s*$/;

/** The first description of a target wins, as in the help styles that print the first they meet. */
export function parseDescriptions(texts: string | string[]): Map<string, TargetDoc> {
  const found = new Map<string, TargetDoc>();
  let section: string | null = null;
  let order = 0;
  for (const text of typeof texts === 'string' ? [texts] : texts) {
    for (const line of text.split('\n')) {
      const header = SECTION.exec(line);
      if (header) {
        section = header[1] || null;
        continue;
      }
      const m = RULE.exec(line);
      if (!m) continue;
      const heads = m[1]!.split(/[ \t]+/);
      // `.PHONY: deploy ## text` documents the names it declares.
      const names = heads.length === 1 && heads[0] === '.PHONY' ? m[2]!.trim().split(/\s+/) : heads;
      for (const name of names.filter(Boolean))
        if (!found.has(name)) found.set(name, { description: m[3]!, section, order: order++ });
    }
  }
  return found;
}
