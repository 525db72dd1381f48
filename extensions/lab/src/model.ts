/**
 * What the panel shows, as plain data, and the rules it derives from it (lesson states,
 * progress, level progress, the credit impact of attendance). No JupyterLab imports here so
 * that jest tests it directly.
 */

/** The part of JupyterLab's TranslationBundle the pure code needs. */
export interface ITrans {
  __(msgid: string, ...args: any[]): string;
}

/** Translation that only substitutes %1, %2, ... (tests, and before the translator loads). */
export const identityTrans: ITrans = {
  __: (msgid: string, ...args: any[]) =>
    msgid.replace(/%(\d+)/g, (m, i) =>
      args[Number(i) - 1] === undefined ? m : String(args[Number(i) - 1])
    )
};

export type LessonState =
  | 'locked'
  | 'unlocked'
  | 'in_progress'
  | 'completed'
  | 'graded';

export const LESSON_STATES: LessonState[] = [
  'locked',
  'unlocked',
  'in_progress',
  'completed',
  'graded'
];

export interface IExercise {
  slug: string;
  title: string;
  type?: string;
  xp?: number;
  points?: number;
  score?: number | null;
  max_score?: number | null;
  completed?: boolean;
}

export interface ILesson {
  slug: string;
  title: string;
  state: LessonState;
  reason?: string | null;
  unlock_meeting?: number | null;
  exercises?: IExercise[];
  score?: number | null;
  max_score?: number | null;
  /** How many of its exercises are notebooks (0: no Open/Submit; absent: not told). */
  notebooks?: number;
}

export interface ISection {
  slug: string;
  title: string;
  lessons: ILesson[];
}

export interface IClassRef {
  id: number;
  name: string;
  enrollment_id?: number;
  meetings_completed?: number;
  total_meetings?: number;
}

export interface ICourse {
  slug: string;
  title: string;
  description?: string;
  kernel?: string;
  sections: ISection[];
  classes?: IClassRef[];
}

export interface IBadge {
  slug: string;
  name: string;
  description?: string;
  rarity?: string;
  earned_at?: string | null;
}

export interface ILevel {
  xp: number;
  level: number;
  level_xp?: number; // XP where this level starts
  next_level_xp?: number | null; // XP where the next one starts
  streak?: number;
  badges?: IBadge[];
}

/**
 * A lesson as the campus's `me/courses` sends it (`locked`, `completed`,
 * `exercises_completed`), or with an explicit `state`, made one of ours.
 */
export function lessonFromService(raw: any, index: number): ILesson {
  let state: LessonState;
  if (raw.state !== undefined) {
    state = normalizeState(raw.state);
  } else if (raw.locked) {
    state = 'locked';
  } else if (raw.graded || (raw.score !== undefined && raw.score !== null)) {
    state = 'graded';
  } else if (raw.completed) {
    state = 'completed';
  } else if ((raw.exercises_completed ?? 0) > 0) {
    state = 'in_progress';
  } else {
    state = 'unlocked';
  }
  return {
    ...raw,
    slug: String(raw.slug),
    title: String(raw.title ?? raw.slug),
    state,
    // One meeting = one lesson: the n-th lesson unlocks after the n-th meeting.
    unlock_meeting: raw.unlock_meeting ?? (state === 'locked' ? index + 1 : null)
  };
}

/** A course as the campus sends it: sections of lessons, or one flat list of lessons. */
export function courseFromService(raw: any): ICourse {
  let index = 0;
  const sections: ISection[] = Array.isArray(raw.sections)
    ? raw.sections.map((s: any) => ({
        slug: String(s.slug ?? s.id ?? ''),
        title: String(s.title ?? ''),
        lessons: (s.lessons ?? []).map((l: any) => lessonFromService(l, index++))
      }))
    : [
        {
          slug: '',
          title: '',
          lessons: (raw.lessons ?? []).map((l: any) => lessonFromService(l, index++))
        }
      ];
  return {
    slug: String(raw.slug),
    title: String(raw.title ?? raw.slug),
    description: raw.description,
    kernel: raw.kernel,
    classes: raw.classes ?? [],
    sections
  };
}

/** A lesson state as the service sends it, made one of ours (unknown -> locked). */
export function normalizeState(state: unknown): LessonState {
  const s = String(state ?? '').toLowerCase().replace(/[\s-]/g, '_');
  return (LESSON_STATES as string[]).includes(s) ? (s as LessonState) : 'locked';
}

export function isOpenable(lesson: ILesson): boolean {
  return lesson.state !== 'locked';
}

/** Why a lesson is locked, in words a student understands. */
export function lockReason(lesson: ILesson, trans: ITrans = identityTrans): string {
  if (lesson.state !== 'locked') {
    return '';
  }
  if (lesson.unlock_meeting) {
    return trans.__('Unlocks after meeting %1', lesson.unlock_meeting);
  }
  return lesson.reason || trans.__('Not unlocked for your class yet');
}

export interface IProgress {
  done: number;
  total: number;
  percent: number;
}

/** A course's progress: lessons completed or graded out of all its lessons. */
export function courseProgress(course: ICourse): IProgress {
  let done = 0;
  let total = 0;
  for (const section of course.sections || []) {
    for (const lesson of section.lessons || []) {
      total += 1;
      if (lesson.state === 'completed' || lesson.state === 'graded') {
        done += 1;
      }
    }
  }
  return { done, total, percent: total ? Math.round((100 * done) / total) : 0 };
}

/** How far the student is from the current level to the next, in percent. */
export function levelPercent(level: ILevel): number {
  const start = level.level_xp ?? 0;
  const next = level.next_level_xp;
  if (next === null || next === undefined || next <= start) {
    return 100;
  }
  const pct = (100 * (level.xp - start)) / (next - start);
  return Math.max(0, Math.min(100, Math.round(pct)));
}

export type AttendanceStatus = 'present' | 'late' | 'absent';

/** Present and late use one meeting credit; absent uses none (the campus's rule). */
export function creditsUsed(status: AttendanceStatus | null | undefined): number {
  return status === 'present' || status === 'late' ? 1 : 0;
}

export interface ICreditImpact {
  user: string;
  before: number;
  after: number;
  delta: number;
}

/**
 * What saving an attendance sheet does to each student's credits, shown before saving.
 * `previous` holds the statuses already recorded for this meeting (editing), `credits` the
 * balances now.
 */
export function creditImpact(
  credits: Record<string, number>,
  sheet: Record<string, AttendanceStatus>,
  previous: Record<string, AttendanceStatus | undefined> = {}
): ICreditImpact[] {
  return Object.keys(sheet)
    .sort()
    .map(user => {
      const before = credits[user] ?? 0;
      const delta = creditsUsed(previous[user]) - creditsUsed(sheet[user]);
      return { user, before, after: before + delta, delta };
    });
}

/** "7 / 10" or "7.5 / 10"; a dash when not graded. */
export function formatScore(score?: number | null, max?: number | null): string {
  if (score === null || score === undefined) {
    return '–';
  }
  const fmt = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(1));
  return max === null || max === undefined ? fmt(score) : `${fmt(score)} / ${fmt(max)}`;
}

/** Where a lesson's notebooks live in the student's home: `<course>/<lesson>/`. */
export function lessonDir(course: string, lesson: string): string {
  return `${course}/${lesson}`;
}

/** The course and lesson of a notebook path inside a lesson folder, or null. */
export function lessonOfPath(
  path: string
): { course: string; lesson: string; exercise: string } | null {
  const parts = path.replace(/^\/+/, '').split('/');
  if (parts.length < 3 || !parts[parts.length - 1].endsWith('.ipynb')) {
    return null;
  }
  const exercise = parts[parts.length - 1].replace(/\.ipynb$/, '');
  return {
    course: parts[parts.length - 3],
    lesson: parts[parts.length - 2],
    exercise
  };
}

/** Never poll more often than every 10 s, whatever the settings say. */
export const MIN_POLL_MS = 10_000;

export function pollInterval(seconds: unknown): number {
  const n = Number(seconds);
  return Number.isFinite(n) ? Math.max(MIN_POLL_MS, n * 1000) : 60_000;
}
