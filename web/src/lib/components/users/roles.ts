// The roles as the UI names them (SPEC §4), in order of power.
import type { Role } from '@vmo/protocol';

export const ROLE_LABELS: Record<Role, string> = {
  viewer: 'Viewer: reads',
  operator: 'Operator: runs and cancels',
  admin: 'Admin: everything',
};

export const ROLE_OPTIONS = (Object.keys(ROLE_LABELS) as Role[]).map((value) => ({
  value,
  label: ROLE_LABELS[value],
}));
