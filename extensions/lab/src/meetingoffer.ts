/**
 * Which meeting the Teach tab offers for attendance, and which marks a class's credits
 * cannot pay. A class has `meetings_total` meetings: once all are held there is no new one to
 * take (the campus refuses it, ALL_MEETINGS_HELD), only a held one to edit. A mark that uses
 * a credit its student does not have would take them below zero (the campus refuses that
 * too, NO_CREDITS): it is named before saving instead of shown as "0 → -1".
 */
import type { ICreditImpact } from './model';

/** The meeting to take next: one after the last taken, or null when every meeting is held. */
export function nextMeeting(taken: number[], total?: number | null): number | null {
  const next = taken.length ? Math.max(...taken) + 1 : 1;
  return total !== undefined && total !== null && next > total ? null : next;
}

/** May attendance be saved for `meeting`: a taken one (an edit) or the next one. */
export function meetingOpen(meeting: number, taken: number[], total?: number | null): boolean {
  return taken.includes(meeting) || meeting === nextMeeting(taken, total);
}

/** Students whose marks would use a credit they no longer have. */
export function shortOfCredits(impact: ICreditImpact[]): string[] {
  return impact.filter(row => row.after < 0).map(row => row.user);
}
