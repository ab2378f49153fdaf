// The safety rails every builder applies before anything is stored (SPEC §2 and §4).
import type { Confirmation, Protection, StartStream, TargetInfo } from '@vmo/protocol';
import { AppError } from '../../errors.js';
import { checkTargetParams } from '../make-command.js';

/** Declared params and the interactive rule of a target, the same locally and remotely. */
export function checkTargetUse(
  target: TargetInfo,
  args: Record<string, string>,
  req: Pick<StartStream, 'force'>,
): void {
  checkTargetParams(target, args);
  if (target.interactive && !req.force) {
    throw new AppError(
      'INTERACTIVE_TARGET',
      `"${target.name}" needs a terminal: open it as a terminal job, or pass force`,
    );
  }
}

export type Confirmed = { confirmed?: 'asked' | 'typed'; protection?: Protection };

/**
 * The safety rails of every path that starts something (SPEC §4): a protected environment or
 * project wants its name typed (`confirm: "<name>"`), a `@confirm` target wants `confirm: true`
 * (or that name). Returns how it was confirmed, for the audit entry.
 */
export function checkConfirmation(
  confirm: Confirmation | undefined,
  need: { target?: Pick<TargetInfo, 'name' | 'confirm'>; protection: Protection | null },
): Confirmed {
  const { target, protection } = need;
  if (protection) {
    if (confirm !== protection.name)
      throw new AppError(
        'CONFIRM_REQUIRED',
        `${protection.kind} "${protection.name}" is protected: type its name to confirm (confirm: "${protection.name}")`,
      );
    return { confirmed: 'typed', protection };
  }
  if (target?.confirm) {
    if (confirm !== true && !(typeof confirm === 'string' && confirm !== ''))
      throw new AppError(
        'CONFIRM_REQUIRED',
        `"${target.name}" asks for confirmation before it runs: send confirm: true`,
      );
    return { confirmed: 'asked' };
  }
  return {};
}
