/**
 * The Unlock button of the Teach tab and the Class view: what it says and whether it can be
 * pressed. The campus names the lesson an unlock opens next (`next_lesson`, sent with the
 * classes a teacher teaches); null there means every lesson of the course is unlocked.
 */
import type { ITeachClass } from './teach';

/** The part of a translation bundle the label needs (JupyterLab's TranslationBundle). */
export interface ITrans {
  __(msgid: string, ...args: any[]): string;
}

export interface IUnlockButton {
  label: string;
  disabled: boolean;
  /** No lesson is left: the "take attendance first" hint says nothing useful then. */
  noneLeft: boolean;
}

export function unlockButton(cls: ITeachClass, trans: ITrans): IUnlockButton {
  const noneLeft = cls.next_lesson === null;
  // Unlocked lessons never exceed meetings held (the campus refuses it too).
  const waiting = (cls.unlocked_lessons ?? 0) >= (cls.meetings_completed ?? 0);
  const label = cls.next_lesson
    ? trans.__('Unlock “%1”', cls.next_lesson.title)
    : noneLeft
      ? trans.__('No lesson left to unlock')
      : trans.__('Unlock the next lesson');
  return { label, disabled: noneLeft || waiting, noneLeft };
}
