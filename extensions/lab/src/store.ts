/**
 * The panel's state and the calls that change it. Plain TypeScript with listeners (no
 * JupyterLab imports), so the same store drives the panel, the commands and the toolbar
 * button, and jest tests it with a fake client.
 */
import { CampusClient, CampusError } from './api';
import * as ep from './endpoints';
import { courseFromService, ICourse, ILevel, ITrans, identityTrans } from './model';

export interface IMe {
  name: string;
  role: string;
  display_name?: string;
  /** The classes this person teaches (roles are per class: instructor or ta). */
  teaches?: { class_id: number; role: string }[];
}

export interface INotification {
  id: number | string;
  type?: string;
  title: string;
  body?: string;
  read: boolean;
  created_at?: string;
}

export interface IAttendanceRecord {
  meeting: number;
  status: string;
}

export interface ICreditClass {
  class_id: number;
  class_name: string;
  course?: string;
  credits_remaining: number;
  credits_total?: number;
  attendance_rate?: number | null;
  attendance?: IAttendanceRecord[];
}

export interface ITestResult {
  name: string;
  passed: boolean;
  score?: number;
  max_score?: number;
  message?: string;
}

export interface IResult {
  submission_id?: string;
  course: string;
  lesson: string;
  status: string; // queued, grading, graded, failed
  score?: number | null;
  max_score?: number | null;
  tests?: ITestResult[];
  feedback?: string;
  xp_earned?: number;
  error?: string;
  /** Graded, but its score is not released to the student yet (the server withheld it). */
  score_hidden?: boolean;
}

export type Section = 'me' | 'courses' | 'level' | 'notifications' | 'credits';

export type ToastKind = 'info' | 'success' | 'warning' | 'error';
export type Toaster = (kind: ToastKind, message: string) => void;

/** School-wide roles that oversee every class; anyone else teaches only their own classes. */
export const OFFICE_ROLES = ['staff', 'admin'];

/** A grader submission (status, score, per-notebook tests) as the result view shows it. */
export function resultFromGrader(sub: any, course: string, lesson: string): IResult {
  const tests: ITestResult[] = [];
  const notebooks: any[] = sub?.result?.notebooks ?? [];
  for (const nb of notebooks) {
    for (const test of nb.tests ?? []) {
      if (test.passed === null || test.passed === undefined) {
        continue; // manually graded: no pass or fail yet
      }
      tests.push({
        name: notebooks.length > 1 ? `${nb.name}: ${test.name}` : String(test.name),
        passed: !!test.passed,
        message: test.passed ? undefined : test.message || (test.hidden ? 'hidden test' : test.error)
      });
    }
  }
  const feedback = sub?.result?.needs_manual_grade
    ? 'Some answers are graded by your instructor; the score may still change.'
    : undefined;
  return {
    submission_id: sub?.id,
    course,
    lesson,
    status: String(sub?.status ?? 'queued'),
    score: sub?.score ?? null,
    max_score: sub?.max_score ?? null,
    tests,
    feedback,
    error: sub?.error ?? undefined,
    score_hidden: !!sub?.score_hidden
  };
}

/** Notification types worth a cheerful toast. */
export const CELEBRATIONS = ['level_up', 'badge_earned'];

/** The campus's level record and badge list as the header shows them. */
export function levelFromService(raw: any, badges: any[]): ILevel {
  return {
    xp: Number(raw.total_xp ?? raw.xp ?? 0),
    level: Number(raw.level ?? 1),
    level_xp: raw.level_start_xp ?? raw.level_xp,
    next_level_xp: raw.next_level_xp,
    streak: raw.current_streak ?? raw.streak ?? 0,
    badges: badges
      .filter(b => b.earned !== false)
      .map(b => ({
        slug: String(b.slug),
        name: String(b.name),
        description: b.description,
        rarity: b.rarity,
        earned_at: b.earned_at
      }))
  };
}

export class CampusStore {
  me: IMe | null = null;
  courses: ICourse[] | null = null;
  level: ILevel | null = null;
  notifications: INotification[] | null = null;
  credits: ICreditClass[] | null = null;
  results: Record<string, IResult> = {};
  /** Moves on each graded result fetched (a grade, a regrade, a release): the course score reloads. */
  gradesVersion = 0;
  errors: Partial<Record<Section, string>> = {};
  /** Sections the services do not offer (404): shown as "not available", not as errors. */
  unavailable: Partial<Record<Section, boolean>> = {};
  busy: Record<string, boolean> = {};
  /** Submissions (by result key) whose XP may still arrive: the campus tells what each earned. */
  xpPending: Record<string, string> = {};
  loaded = false;
  private listeners = new Set<() => void>();

  constructor(
    readonly client: CampusClient,
    private readonly toast: Toaster = () => undefined,
    readonly trans: ITrans = identityTrans
  ) {}

  get isTeacher(): boolean {
    return !!this.me && (OFFICE_ROLES.includes(this.me.role) || (this.me.teaches ?? []).length > 0);
  }

  get unread(): number {
    return (this.notifications ?? []).filter(n => !n.read).length;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  changed(): void {
    this.listeners.forEach(l => l());
  }

  /** A grade or a release was pushed (a written one too, which has no result card here). */
  gradeArrived(): void {
    this.gradesVersion += 1;
    this.changed();
  }

  /** Run a call for one section; remember its error (readable) or its absence. */
  private async section<T>(name: Section, call: () => Promise<T>): Promise<T | undefined> {
    try {
      const value = await call();
      delete this.errors[name];
      delete this.unavailable[name];
      return value;
    } catch (err) {
      if (err instanceof CampusError && err.notFound) {
        this.unavailable[name] = true;
        delete this.errors[name];
      } else {
        this.errors[name] = (err as Error).message || String(err);
      }
      return undefined;
    }
  }

  async refresh(): Promise<void> {
    const me = await this.section('me', () => this.client.get<IMe>('campus', ep.campus.me));
    if (me) {
      this.me = me;
    }
    this.changed();
    await Promise.all([
      this.loadCourses(),
      this.loadLevel(),
      this.loadNotifications(false),
      this.loadCredits()
    ]);
    this.loaded = true;
    this.changed();
  }

  async loadCourses(): Promise<void> {
    const body = await this.section('courses', () =>
      this.client.get<{ courses: ICourse[] }>('campus', ep.campus.myCourses)
    );
    if (body) {
      this.courses = (body.courses ?? []).map(courseFromService);
      this.changed();
    }
  }

  async loadLevel(): Promise<void> {
    const name = this.me?.name;
    if (!name) {
      return;
    }
    const level = await this.section('level', async () => {
      const [raw, badges] = await Promise.all([
        this.client.get<any>('campus', ep.campus.level(name)),
        this.client.get<{ badges: any[] }>('campus', ep.campus.badges).catch(() => ({ badges: [] }))
      ]);
      return levelFromService(raw, badges.badges ?? []);
    });
    if (level) {
      // Level-ups and new badges arrive as notifications too; those make the toasts.
      this.level = level;
      this.changed();
      await this.creditXp();
    }
  }

  /** Load notifications; with `announce`, toast the ones that are new since the last load. */
  async loadNotifications(announce = true): Promise<void> {
    const body = await this.section('notifications', () =>
      this.client.get<{ notifications: INotification[] }>('campus', ep.campus.notifications)
    );
    if (body) {
      const known = new Set((this.notifications ?? []).map(n => String(n.id)));
      const list = body.notifications ?? [];
      if (announce && this.notifications) {
        for (const n of list) {
          // A grade shows as the lesson's result (with its own toast); the rest toast here.
          if (!known.has(String(n.id)) && !n.read && n.type !== 'assignment_graded') {
            this.toast(CELEBRATIONS.includes(n.type ?? '') ? 'success' : 'info', n.title);
          }
        }
      }
      this.notifications = list;
      this.changed();
    }
  }

  async loadCredits(): Promise<void> {
    const body = await this.section('credits', async () => {
      try {
        return await this.client.get<{ classes: ICreditClass[] }>('campus', ep.campus.myCredits);
      } catch (err) {
        if (!(err instanceof CampusError && err.notFound)) {
          throw err;
        }
      }
      // No `me/credits` on this campus: read each of my enrollments' balance, when my
      // classes name their enrollment.
      if (this.courses === null) {
        await this.loadCourses();
      }
      const enrolled = (this.courses ?? []).flatMap(c =>
        (c.classes ?? [])
          .filter(k => k.enrollment_id !== undefined)
          .map(k => ({ klass: k, course: c.slug }))
      );
      if (!enrolled.length) {
        throw new CampusError('no credits endpoint', 404, 'NOT_FOUND');
      }
      const classes = await Promise.all(
        enrolled.map(async ({ klass, course }) => {
          const e = await this.client.get<any>('campus', ep.campus.credits(klass.enrollment_id!));
          return {
            class_id: klass.id,
            class_name: klass.name,
            course,
            credits_remaining: e.credits_remaining,
            credits_total: e.meeting_credits,
            attendance_rate: e.attendance_rate
          } as ICreditClass;
        })
      );
      return { classes };
    });
    if (body) {
      this.credits = body.classes ?? [];
      this.changed();
    }
  }

  async markRead(id: number | string): Promise<void> {
    try {
      await this.client.post('campus', ep.campus.readNotification(id));
      for (const n of this.notifications ?? []) {
        if (String(n.id) === String(id)) {
          n.read = true;
        }
      }
    } catch (err) {
      this.errors.notifications = (err as Error).message;
    }
    this.changed();
  }

  async markAllRead(): Promise<void> {
    try {
      await this.client.post('campus', ep.campus.readAllNotifications);
      for (const n of this.notifications ?? []) {
        n.read = true;
      }
    } catch (err) {
      this.errors.notifications = (err as Error).message;
    }
    this.changed();
  }

  /**
   * The XP a graded submission earned, as the campus recorded it for that submission's
   * exercise (not what the total grew by meanwhile: lesson and course completions, streaks,
   * badges and other submissions add XP too). The campus records it when the grader's result
   * reaches it, which can be a moment after the grader says "graded", so this is asked again
   * on every level load until the XP is there.
   */
  private async creditXp(): Promise<void> {
    for (const [key, uid] of Object.entries(this.xpPending)) {
      const result = this.results[key];
      if (!result || result.submission_id !== uid) {
        delete this.xpPending[key]; // a newer submission took its place
        continue;
      }
      if (result.status !== 'graded') {
        continue;
      }
      let earned: number;
      try {
        const body = await this.client.get<{ xp: number }>('campus', ep.campus.submissionXp(uid));
        earned = Number(body?.xp ?? 0);
      } catch {
        continue; // asked again on the next level load
      }
      const current = this.results[key];
      if (current?.submission_id !== uid) {
        continue;
      }
      if (earned > 0) {
        delete this.xpPending[key]; // an exercise's XP is awarded once
      }
      if (earned > (current.xp_earned ?? 0)) {
        this.toast('success', this.trans.__('+%1 XP for %2', earned, current.lesson));
        this.results[key] = { ...current, xp_earned: earned };
        this.changed();
      }
    }
  }

  resultKey(course: string, lesson: string): string {
    return `${course}/${lesson}`;
  }

  setResult(result: IResult): void {
    const key = this.resultKey(result.course, result.lesson);
    const before = this.results[key];
    this.results[key] = result;
    if (result.status === 'graded' && before?.status !== 'graded') {
      const score = result.score_hidden
        ? this.trans.__('score hidden until released')
        : `${result.score ?? 0} / ${result.max_score ?? '?'}`;
      this.toast('success', this.trans.__('%1 graded: %2', result.lesson, score));
    } else if (result.status === 'failed' && before?.status !== 'failed') {
      this.toast('error', result.error || this.trans.__('Grading %1 failed.', result.lesson));
    }
    this.changed();
  }

  /** Submit a lesson's files (name: base64) to the grader; returns the queued result. */
  async submit(course: string, lesson: string, files: Record<string, string>): Promise<IResult> {
    const key = this.resultKey(course, lesson);
    this.busy[key] = true;
    delete this.xpPending[key];
    this.changed();
    try {
      const body = await this.client.post<any>('grader', ep.grader.submissions(course, lesson), {
        files
      });
      const result = resultFromGrader(body, course, lesson);
      if (result.submission_id) {
        this.xpPending[key] = result.submission_id;
      }
      this.setResult(result);
      return result;
    } catch (err) {
      const result: IResult = { course, lesson, status: 'failed', error: (err as Error).message };
      this.setResult(result);
      throw err;
    } finally {
      delete this.busy[key];
      this.changed();
    }
  }

  /** Fetch a submission's state again (after a push, or on the 10 s fallback timer). */
  async refreshResult(course: string, lesson: string): Promise<IResult | undefined> {
    const key = this.resultKey(course, lesson);
    const current = this.results[key];
    try {
      let body: any;
      if (current?.submission_id) {
        body = await this.client.get<any>('grader', ep.grader.submission(current.submission_id));
      } else {
        const list = await this.client.get<{ submissions: any[] }>(
          'grader',
          ep.grader.submissions(course, lesson)
        );
        body = (list.submissions ?? []).slice(-1)[0];
        if (!body) {
          return undefined;
        }
      }
      const result = resultFromGrader(body, course, lesson);
      if (current?.submission_id === result.submission_id) {
        result.xp_earned = current?.xp_earned; // only that submission's own XP
      }
      if (result.status === 'graded') {
        this.gradesVersion += 1;
      }
      this.setResult(result);
      if (result.status === 'graded') {
        await Promise.all([this.loadCourses(), this.loadLevel()]);
      }
      return this.results[key];
    } catch (err) {
      if (!(err instanceof CampusError && err.notFound)) {
        this.setResult({ ...(current ?? { course, lesson }), status: 'failed', error: (err as Error).message });
      }
      return undefined;
    }
  }
}
