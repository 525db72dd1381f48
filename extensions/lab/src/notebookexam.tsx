/**
 * Notebook lessons taken as timed exams (the grader's `.../assignments/<lesson>/exam`).
 *
 * Opening such a lesson before it is started shows its exam tab: the window, the student's
 * time (times their extra-time multiplier) and "Start the exam"; the grader records the start
 * on its clock and only then releases the notebook. While it runs:
 *
 * - the tab and a timer in each of the lesson's notebook toolbars count down the server's
 *   `remaining_seconds` with the page's monotonic clock (examclock.ts, as a quiz exam);
 * - every save of one of the lesson's notebooks sends them to the grader (`exam/saved`); the
 *   Lab also saves them every 30 s and just before the end, so the work saved by the deadline
 *   is what the grader submits by itself;
 * - "Submit now" hands them in earlier (one attempt).
 *
 * Afterwards the tab shows when and how it was submitted and the receipt (a SHA-256 of what
 * was submitted) to keep; the score shows only once the instructor releases it.
 */
import { MainAreaWidget } from '@jupyterlab/apputils';
import { NotebookPanel, INotebookTracker } from '@jupyterlab/notebook';
import { Contents } from '@jupyterlab/services';
import { ReactWidget } from '@jupyterlab/ui-components';
import React, { useCallback, useEffect, useState } from 'react';

import { CampusClient, CampusError } from './api';
import { clock, useCountdown } from './examclock';
import { ITabHost } from './exercises';
import { ITrans, lessonDir, lessonOfPath } from './model';
import { Toaster } from './store';

const q = encodeURIComponent;
export const examPaths = {
  courseExams: (course: string) => `courses/${q(course)}/exams`,
  exam: (course: string, lesson: string) => `courses/${q(course)}/assignments/${q(lesson)}/exam`,
  saved: (course: string, lesson: string) => `courses/${q(course)}/assignments/${q(lesson)}/exam/saved`
};
/** How often the Lab saves a running exam's changed notebooks (each save reaches the grader). */
const AUTOSAVE_MS = 30_000;
/** Saved this many seconds before the end, so the last work is in before the deadline. */
const LAST_SAVE_S = 4;

export interface IExamSitting {
  status: 'open' | 'submitted';
  started_at: string;
  deadline: string | null;
  multiplier: number;
  remaining_seconds: number | null;
  saved_at: string | null;
  saved_files: string[];
  submitted_at: string | null;
  auto_submitted: boolean;
  submission_id: string | null;
  receipt: string | null;
}

export interface INotebookExam {
  course: string;
  assignment: string;
  exercise: string;
  title: string;
  opens_at: string | null;
  closes_at: string | null;
  time_limit_seconds: number | null;
  state: 'not_open' | 'open' | 'closed' | 'in_progress' | 'submitted';
  server_time: string;
  sitting: IExamSitting | null;
}

/** What is read of the Lab's contents manager (any @jupyterlab/services copy's). */
export interface IContentsReader {
  get(path: string, options?: { type?: 'file'; format?: 'base64'; content?: boolean }): Promise<{ content: any }>;
}

/** The lesson's notebooks as the grader takes them: {name: base64 of the bytes on disk}. */
export async function lessonNotebookFiles(contents: IContentsReader, dir: string): Promise<Record<string, string>> {
  const listing = await contents.get(dir);
  const files: Record<string, string> = {};
  for (const item of listing.content as Contents.IModel[]) {
    if (item.type === 'notebook') {
      const model = await contents.get(item.path, { type: 'file', format: 'base64', content: true });
      files[item.name] = String(model.content).replace(/\s/g, '');
    }
  }
  return files;
}

function when(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString() : '';
}

function minutes(seconds: number, trans: ITrans): string {
  return seconds % 60 ? trans.__('%1 s', Math.round(seconds)) : trans.__('%1 min', seconds / 60);
}

export interface IExamActions {
  openLesson(course: string, lesson: string): Promise<void>;
  submitLesson(course: string, lesson: string): Promise<void>;
}

/** One exam's state shared by its tab and its notebooks' toolbar timers. */
class ExamState {
  exam: INotebookExam | null = null;
  private listeners = new Set<() => void>();

  constructor(
    readonly course: string,
    readonly lesson: string,
    private readonly client: CampusClient
  ) {}

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => void this.listeners.delete(fn);
  }

  set(exam: INotebookExam | null): void {
    this.exam = exam;
    this.listeners.forEach(fn => fn());
  }

  async load(): Promise<INotebookExam | null> {
    try {
      this.set(await this.client.get<INotebookExam>('grader', examPaths.exam(this.course, this.lesson)));
    } catch (err) {
      if (err instanceof CampusError && err.notFound) {
        this.set(null); // not an exam
      } else {
        throw err;
      }
    }
    return this.exam;
  }

  async start(): Promise<void> {
    this.set(await this.client.post<INotebookExam>('grader', examPaths.exam(this.course, this.lesson), {}));
  }

  get running(): boolean {
    return this.exam?.state === 'in_progress';
  }
}

function useExam(state: ExamState): INotebookExam | null {
  const [exam, setExam] = useState(state.exam);
  useEffect(() => state.subscribe(() => setExam(state.exam)), [state]);
  return exam;
}

/** Polls until the server says the exam is submitted (it closes it a little after the end). */
function useClosing(state: ExamState, left: number | null): boolean {
  const [closing, setClosing] = useState(false);
  useEffect(() => {
    if (left === null || left > 0 || !state.running) {
      setClosing(false);
      return;
    }
    setClosing(true);
    const timer = window.setInterval(() => void state.load().catch(() => undefined), 2000);
    return () => window.clearInterval(timer);
  }, [left === 0, state.running]);
  return closing;
}

function ExamView(props: {
  state: ExamState;
  trans: ITrans;
  toast: Toaster;
  actions: IExamActions;
  lastSave: () => Promise<void>;
}): JSX.Element {
  const { state, trans, toast, actions, lastSave } = props;
  const exam = useExam(state);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const sitting = exam?.sitting ?? null;
  const left = useCountdown(sitting?.status === 'open' ? sitting.remaining_seconds : null, () => void state.load());
  const closing = useClosing(state, left);
  useEffect(() => {
    if (left !== null && left <= LAST_SAVE_S && left > 0) {
      void lastSave();
    }
  }, [left !== null && left <= LAST_SAVE_S]);

  const start = useCallback(async () => {
    setBusy(true);
    setError('');
    try {
      await state.start();
      await actions.openLesson(state.course, state.lesson);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }, [state]);

  const submitNow = useCallback(async () => {
    setBusy(true);
    try {
      await actions.submitLesson(state.course, state.lesson);
      await state.load();
    } finally {
      setBusy(false);
    }
  }, [state]);

  if (!exam) {
    return <div className="nbc-quiz-view nbc-exam-view">{error || trans.__('Loading…')}</div>;
  }
  const limit = exam.time_limit_seconds ?? 0;
  return (
    <div className="nbc-quiz-view nbc-exam-view" data-state={exam.state}>
      <h2>{trans.__('Exam: %1', exam.title || exam.assignment)}</h2>
      <p className="nbc-muted">
        {exam.opens_at && trans.__('Opens %1. ', when(exam.opens_at))}
        {exam.closes_at && trans.__('Closes %1. ', when(exam.closes_at))}
        {limit > 0 && trans.__('Time limit: %1.', minutes(limit, trans))}
      </p>
      {error && <p className="nbc-error">{error}</p>}

      {exam.state === 'open' && (
        <section className="nbc-quiz-start">
          <p>
            {trans.__(
              'The notebook opens when you start, and your time counts from then. The exam is taken once; the clock does not stop if you close this tab.'
            )}
          </p>
          <button className="jp-mod-styled jp-mod-accept nbc-exam-begin" disabled={busy} onClick={() => void start()}>
            {trans.__('Start the exam')}
          </button>
        </section>
      )}
      {exam.state === 'not_open' && <p className="nbc-chip">{trans.__('Opens %1', when(exam.opens_at))}</p>}
      {exam.state === 'closed' && <p className="nbc-chip">{trans.__('This exam is closed.')}</p>}

      {sitting && sitting.status === 'open' && left !== null && (
        <>
          <div className={`nbc-quiz-timer nbc-exam-timer${left < 60 ? ' nbc-urgent' : ''}`} role="timer" aria-label={trans.__('Time left')}>
            <span className="nbc-quiz-timer-label">{trans.__('Time left')}</span>
            <span className="nbc-quiz-timer-value">{closing ? trans.__('Time is up') : clock(left)}</span>
            <span className="nbc-muted">
              {closing
                ? trans.__('Submitting the work you saved by the end…')
                : trans.__('Ends %1. Each save (Ctrl+S) sends your notebook; what is saved by the end is submitted by itself.', when(sitting.deadline))}
            </span>
          </div>
          <p className="nbc-exam-saved">
            {sitting.saved_at
              ? trans.__('Last saved to the grader: %1 (%2).', when(sitting.saved_at), sitting.saved_files.join(', '))
              : trans.__('Nothing saved to the grader yet.')}
          </p>
          <div className="nbc-quiz-actions">
            <button className="jp-mod-styled" disabled={busy} onClick={() => void actions.openLesson(state.course, state.lesson)}>
              {trans.__('Open the notebook')}
            </button>
            <button className="jp-mod-styled jp-mod-accept nbc-exam-submit" disabled={busy || closing} onClick={() => void submitNow()}>
              {trans.__('Submit now')}
            </button>
          </div>
        </>
      )}

      {sitting && sitting.status === 'submitted' && (
        <section className="nbc-quiz-result nbc-exam-result" aria-label={trans.__('Your result')} role="status">
          <p>
            <strong>
              {sitting.auto_submitted
                ? sitting.submission_id
                  ? trans.__('Time was up: the exam was submitted with the work saved at %1.', when(sitting.saved_at))
                  : trans.__('Time was up, and nothing had been saved: there is no submission.')
                : trans.__('Submitted %1.', when(sitting.submitted_at))}
            </strong>
          </p>
          <p className="nbc-chip nbc-quiz-hidden">{trans.__('Scores are hidden until your instructor releases them.')}</p>
          <p className="nbc-quiz-receipt">
            {trans.__('Receipt: ')}
            <code>{sitting.receipt}</code>{' '}
            <button
              className="nbc-link"
              onClick={() => void navigator.clipboard?.writeText(sitting.receipt ?? '').then(() => toast('info', trans.__('Receipt copied.')))}
            >
              {trans.__('Copy')}
            </button>
          </p>
        </section>
      )}
    </div>
  );
}

interface ITeacherExam extends INotebookExam {
  sittings: (IExamSitting & { student: string })[];
}

/** A course's notebook exams for its teachers (in the Quizzes and Exams tab): each
 * student's sitting, how it ended and its receipt. */
export function TeacherNotebookExams(props: { client: CampusClient; course: string; trans: ITrans }): JSX.Element | null {
  const { client, course, trans } = props;
  const [exams, setExams] = useState<ITeacherExam[] | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    client
      .get<{ exams: ITeacherExam[] }>('grader', examPaths.courseExams(course))
      .then(body => setExams(body.exams ?? []))
      .catch(err => setError((err as Error).message));
  }, [course]);
  if (error) {
    return <div className="nbc-error">{error}</div>;
  }
  if (!exams?.length) {
    return null;
  }
  const status = (r: IExamSitting) =>
    r.status === 'open'
      ? trans.__('in progress')
      : r.auto_submitted
        ? r.submission_id
          ? trans.__('closed at the deadline with the saved work')
          : trans.__('closed at the deadline, nothing saved')
        : trans.__('submitted');
  return (
    <>
      {exams.map(exam => (
        <section key={exam.assignment} className="nbc-quiz-teacher nbc-exam-teacher" data-exam={exam.assignment}>
          <h3>
            {exam.title} <span className="nbc-muted">({trans.__('notebook exam')})</span>
          </h3>
          <p className="nbc-muted">
            {trans.__('Time limit: %1.', minutes(exam.time_limit_seconds ?? 0, trans))}{' '}
            {exam.opens_at && trans.__('Opens %1. ', when(exam.opens_at))}
            {exam.closes_at && trans.__('Closes %1. ', when(exam.closes_at))}
            {trans.__('Scores stay hidden from students until released in the grading view; extra time is set below a quiz of the course, or in the Office.')}
          </p>
          <table className="nbc-table nbc-quiz-results">
            <thead>
              <tr>
                <th>{trans.__('Student')}</th>
                <th>{trans.__('Started')}</th>
                <th>{trans.__('Deadline')}</th>
                <th>{trans.__('Time ×')}</th>
                <th>{trans.__('Last saved')}</th>
                <th>{trans.__('Status')}</th>
                <th>{trans.__('Receipt')}</th>
              </tr>
            </thead>
            <tbody>
              {exam.sittings.map(r => (
                <tr key={r.student}>
                  <td>{r.student}</td>
                  <td>{when(r.started_at)}</td>
                  <td>{when(r.deadline)}</td>
                  <td>{r.multiplier}</td>
                  <td>{when(r.saved_at)}</td>
                  <td>{status(r)}</td>
                  <td>
                    <code title={r.receipt ?? ''}>{r.receipt ? r.receipt.slice(0, 12) : ''}</code>
                  </td>
                </tr>
              ))}
              {!exam.sittings.length && (
                <tr>
                  <td colSpan={7} className="nbc-muted">
                    {trans.__('Nobody has started it yet.')}
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </section>
      ))}
    </>
  );
}

/** The time left in a running exam's notebook toolbar; a click shows the exam's tab. */
function ToolbarTimer(props: { state: ExamState; trans: ITrans; onOpen: () => void }): JSX.Element | null {
  const { state, trans, onOpen } = props;
  const exam = useExam(state);
  const sitting = exam?.sitting ?? null;
  const left = useCountdown(sitting?.status === 'open' ? sitting.remaining_seconds : null, () => void state.load());
  if (!sitting) {
    return null;
  }
  const text =
    sitting.status === 'submitted'
      ? trans.__('Exam submitted')
      : left === null || left <= 0
        ? trans.__('Exam: time is up')
        : trans.__('Exam: %1 left', clock(left));
  return (
    <button
      className={`nbc-exam-toolbar${left !== null && left < 60 ? ' nbc-urgent' : ''}`}
      role="timer"
      title={trans.__('Exam time left (by the server). Open the exam tab.')}
      onClick={onOpen}
    >
      {text}
    </button>
  );
}

/**
 * Wires notebook exams into the Lab; returns `open(course, lesson)`, which shows an exam's
 * tab (what the Campus panel's Open leads to before the exam is started).
 */
export function registerNotebookExams(
  host: ITabHost,
  client: CampusClient,
  contents: IContentsReader,
  tracker: INotebookTracker | null,
  actions: IExamActions,
  trans: ITrans,
  toast: Toaster
): { open(course: string, lesson: string): void } {
  const states = new Map<string, ExamState>();
  const stateOf = (course: string, lesson: string) => {
    const key = `${course}/${lesson}`;
    let state = states.get(key);
    if (!state) {
      state = new ExamState(course, lesson, client);
      states.set(key, state);
    }
    return state;
  };

  /** Send the lesson's notebooks (as saved on disk) to the grader. */
  const sendSaved = async (state: ExamState) => {
    if (!state.running) {
      return;
    }
    try {
      const files = await lessonNotebookFiles(contents, lessonDir(state.course, state.lesson));
      const sitting = await client.put<IExamSitting>('grader', examPaths.saved(state.course, state.lesson), { files });
      if (state.exam) {
        state.set({ ...state.exam, sitting });
      }
    } catch (err) {
      if (err instanceof CampusError && (err.code === 'TIME_UP' || err.code === 'ATTEMPT_FINISHED')) {
        await state.load();
      } else {
        toast('error', trans.__('Your exam work could not reach the grader: %1', (err as Error).message));
      }
    }
  };

  /** Save the lesson's changed notebooks (each save sends them, see `attach`). */
  const saveOpen = async (state: ExamState) => {
    const dir = `${lessonDir(state.course, state.lesson)}/`;
    const saving: Promise<void>[] = [];
    tracker?.forEach(panel => {
      if (panel.context.path.startsWith(dir) && panel.context.model.dirty) {
        saving.push(panel.context.save());
      }
    });
    await Promise.all(saving);
  };

  const open = (course: string, lesson: string) => {
    const state = stateOf(course, lesson);
    const id = `nbcampus-exam-${course}-${lesson}`;
    if (host.has(id)) {
      host.activate(id);
      void state.load();
      return;
    }
    const content = ReactWidget.create(
      <ExamView state={state} trans={trans} toast={toast} actions={actions} lastSave={() => saveOpen(state)} />
    );
    content.addClass('nbc-quiz-tab');
    const widget = new MainAreaWidget({ content });
    widget.id = id;
    widget.title.label = trans.__('Exam: %1', lesson);
    widget.title.closable = true;
    host.add(widget);
    host.activate(id);
    void state
      .load()
      .then(exam => exam && (widget.title.label = trans.__('Exam: %1', exam.title || lesson)))
      .catch(err => toast('error', (err as Error).message));
  };

  const attach = async (panel: NotebookPanel) => {
    const where = lessonOfPath(panel.context.path);
    if (!where) {
      return;
    }
    const state = stateOf(where.course, where.lesson);
    const exam = state.exam ?? (await state.load().catch(() => null));
    if (!exam) {
      return;
    }
    const timer = ReactWidget.create(<ToolbarTimer state={state} trans={trans} onOpen={() => open(where.course, where.lesson)} />);
    timer.addClass('nbc-exam-toolbar-item');
    panel.toolbar.insertItem(0, 'nbcampus-exam-timer', timer);
    // Each save reaches the grader: the deadline submits the newest of them.
    panel.context.saveState.connect((_, saved) => {
      if (saved === 'completed') {
        void sendSaved(state);
      }
    });
    const autosave = window.setInterval(() => {
      if (state.running && panel.context.model.dirty) {
        void panel.context.save();
      }
    }, AUTOSAVE_MS);
    panel.disposed.connect(() => window.clearInterval(autosave));
    if (state.running) {
      void sendSaved(state); // what the notebook holds as it opens
    }
  };
  tracker?.widgetAdded.connect((_, panel) => {
    void panel.context.ready.then(() => attach(panel));
  });
  return { open };
}
