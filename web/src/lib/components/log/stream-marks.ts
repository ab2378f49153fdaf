// How each output stream is told apart: a gutter mark with a name (not colour alone, for
// colour-blind readers), and Okabe–Ito colours that stay distinct under common colour blindness.
import type { Stream } from '@vmo/protocol';

export interface StreamMark {
  mark: string;
  label: string;
  /** Classes for the gutter mark. */
  markClass: string;
  /** Classes for the whole row. */
  rowClass: string;
}

export const STREAM_MARKS: Record<Stream, StreamMark> = {
  stdout: { mark: '', label: 'stdout', markClass: '', rowClass: '' },
  pty: { mark: '', label: 'terminal output', markClass: '', rowClass: '' },
  stderr: {
    mark: '!',
    label: 'stderr',
    markClass: 'font-bold text-[#b34700] dark:text-[#ff9a4d]',
    rowClass: 'bg-[#d55e00]/8 shadow-[inset_2px_0_0_#d55e00]',
  },
  system: {
    mark: '›',
    label: 'vm-orchestrator',
    markClass: 'font-bold text-[#0072b2] dark:text-[#56b4e9]',
    rowClass: 'italic text-[#005b8f] dark:text-[#56b4e9] shadow-[inset_2px_0_0_#0072b2]',
  },
};
