// Input from outside (a request body, a query, a socket event's payload) parsed with a protocol
// schema; what is wrong with it becomes 400 VALIDATION (or BAD_ARGS) naming the field.
import type { z } from 'zod';
import { AppError } from '../errors.js';

export function describeZod(error: z.ZodError): string {
  return error.issues
    .map((i) => {
      const at = i.path.map(String).join('.') || 'body';
      return i.code === 'unrecognized_keys'
        ? `${at}: unknown field ${i.keys.map((k) => `"${k}"`).join(', ')}`
        : `${at}: ${i.message}`;
    })
    .join('; ');
}

/**
 * Where input (parsed JSON) holds a `__proto__` key of its own. Schemas drop such a key silently,
 * so it is refused before them: a make variable so named is BAD_ARGS, anything else VALIDATION.
 */
export function protoKeyError(value: unknown, at: string[] = [], depth = 0): AppError | null {
  if (value === null || typeof value !== 'object' || depth > 32) return null;
  if (Object.hasOwn(value, '__proto__')) {
    const where = [...at, '__proto__'].join('.');
    return new AppError(
      at.at(-1) === 'args' ? 'BAD_ARGS' : 'VALIDATION',
      `${where}: "__proto__" is not an allowed name`,
    );
  }
  for (const [k, v] of Object.entries(value)) {
    const found = protoKeyError(v, [...at, k], depth + 1);
    if (found) return found;
  }
  return null;
}

/** Parses input with a schema, or throws the AppError that says what is wrong with it. */
export function parseInput<T extends z.ZodType>(schema: T, input: unknown): z.infer<T> {
  const proto = protoKeyError(input);
  if (proto) throw proto;
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new AppError('VALIDATION', describeZod(parsed.error));
  return parsed.data;
}
