// Annotations a Makefile may write after `##` to make a target feel finished:
//   deploy: ## Deploy the app @param ENV=staging|prod @param TAG @confirm @exclusive
//   console: ## A Rails console @interactive
// `@param NAME` (required), `@param NAME=default`, `@param NAME=a|b|c` (choices, first is the default);
// `@confirm` asks before running; `@exclusive` runs one at a time; `@interactive` needs a terminal.
import type { TargetParam } from '@vmo/protocol';

export interface Annotations {
  description: string;
  params?: TargetParam[];
  confirm?: boolean;
  exclusive?: boolean;
  interactive?: boolean;
  /** Annotations that could not be read, for the log. */
  problems: string[];
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const VALUE = /^[A-Za-z0-9_./:@%+,=-]{0,256}$/;

function parseParam(spec: string): TargetParam | string {
  const eq = spec.indexOf('=');
  const name = eq < 0 ? spec : spec.slice(0, eq);
  if (!NAME.test(name)) return `@param ${spec}: "${name}" is not a make variable name`;
  if (eq < 0) return { name, required: true };
  const values = spec.slice(eq + 1).split('|');
  const bad = values.find((v) => !VALUE.test(v) || v.startsWith('-'));
  if (bad !== undefined) return `@param ${spec}: "${bad}" is not an allowed value`;
  if (values.length === 1) return { name, default: values[0]!, required: false };
  return { name, choices: values, default: values[0]!, required: false };
}

export function parseAnnotations(text: string): Annotations {
  const out: Annotations = { description: '', problems: [] };
  const words: string[] = [];
  const tokens = text.split(/\s+/).filter(Boolean);
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    switch (token) {
      case '@confirm':
        out.confirm = true;
        continue;
      case '@exclusive':
        out.exclusive = true;
        continue;
      case '@interactive':
        out.interactive = true;
        continue;
      case '@param': {
        const spec = tokens[++i];
        const param = spec ? parseParam(spec) : '@param needs a NAME';
        if (typeof param === 'string') out.problems.push(param);
        else if ((out.params ??= []).some((p) => p.name === param.name))
          out.problems.push(`@param ${param.name} is declared twice`);
        else out.params.push(param);
        continue;
      }
      default:
        words.push(token);
    }
  }
  out.description = words.join(' ');
  return out;
}
