import { unlockButton } from '../unlockbutton';
import type { ITeachClass } from '../teach';

// JupyterLab's nullTranslator substitutes %1 the same way.
const trans = { __: (msg: string, ...args: any[]) => msg.replace(/%(\d)/g, (_m, n) => String(args[Number(n) - 1])) };

const base: ITeachClass = { id: 1, name: 'Evening', course: 'c', meetings_completed: 3, unlocked_lessons: 2 };

describe('the Unlock button', () => {
  it('names the lesson an unlock opens next', () => {
    const b = unlockButton({ ...base, next_lesson: { slug: 'loops', title: 'Loops' } }, trans);
    expect(b).toEqual({ label: 'Unlock “Loops”', disabled: false, noneLeft: false });
  });

  it('says no lesson is left after the last one, and cannot be pressed', () => {
    const b = unlockButton({ ...base, unlocked_lessons: 2, meetings_completed: 5, next_lesson: null }, trans);
    expect(b).toEqual({ label: 'No lesson left to unlock', disabled: true, noneLeft: true });
  });

  it('waits for a meeting to be held before the next unlock', () => {
    const b = unlockButton({ ...base, unlocked_lessons: 3, next_lesson: { slug: 'x', title: 'X' } }, trans);
    expect(b.disabled).toBe(true);
    expect(b.label).toBe('Unlock “X”');
  });

  it('keeps the general label when the campus did not say which lesson is next', () => {
    expect(unlockButton(base, trans).label).toBe('Unlock the next lesson');
  });
});
