/**
 * Quizzes and timed exams in main-area tabs.
 *
 * A student's tab shows the questions (never their answers: the campus scores on the server
 * and sends feedback only after an attempt), saves each answer as it is given, and submits.
 * A timed exam shows the time left, counted from the server's `remaining_seconds` with the
 * page's monotonic clock (so a wrong system clock changes nothing; the server decides).
 * After an attempt: the score when scores are visible, per-question feedback, and the
 * receipt (a hash of what was submitted) to keep.
 *
 * A teacher's tab (command "Campus: Quizzes and Exams") lists the quizzes of the courses
 * they teach: exam window and time limit, score visibility (release), every student's
 * attempts, and each student's time multiplier.
 */
import { MainAreaWidget } from '@jupyterlab/apputils';
import { ReactWidget } from '@jupyterlab/ui-components';
import React, { useCallback, useEffect, useRef, useState } from 'react';

import { CampusClient, CampusError } from './api';
import { clock, useCountdown } from './examclock';
import { TeacherNotebookExams } from './notebookexam';
import { IExerciseContext, ITabHost, registerExerciseOpener } from './exercises';
import { renderMarkdown } from './markdown';
import { ITrans } from './model';
import { Toaster } from './store';

const q = encodeURIComponent;
export const QUIZZES_COMMAND = 'nbcampus:quizzes';
export const quizPaths = {
  quiz: (id: number) => `quizzes/${q(String(id))}`,
  attempts: (id: number) => `quizzes/${q(String(id))}/attempts`,
  answers: (id: number, n: number) => `quizzes/${q(String(id))}/attempts/${q(String(n))}/answers`,
  submit: (id: number, n: number) => `quizzes/${q(String(id))}/attempts/${q(String(n))}/submit`,
  results: (id: number) => `quizzes/${q(String(id))}/results`,
  settings: (id: number) => `quizzes/${q(String(id))}/settings`,
  courseQuizzes: (course: string) => `courses/${q(course)}/quizzes`,
  accommodation: (course: string, user: string) => `courses/${q(course)}/accommodations/${q(user)}`,
  taught: 'classes?teaching=1'
};

type Answer = number | number[] | string | null;

export interface IQuestion {
  id: string;
  type: 'single' | 'multiple' | 'numeric' | 'text';
  prompt: string;
  points: number;
  options?: { key: number; text: string }[];
}

export interface IFeedback {
  id: string;
  points: number;
  max_points: number;
  correct: boolean;
  answer: Answer;
  solution?: unknown;
  explanation?: string;
}

export interface IAttempt {
  number: number;
  status: 'open' | 'submitted';
  started_at: string;
  deadline: string | null;
  remaining_seconds: number | null;
  answers: Record<string, Answer>;
  saved_at: string | null;
  submitted_at: string | null;
  auto_submitted: boolean;
  receipt: string | null;
  score?: number;
  max_score?: number;
  feedback?: IFeedback[];
}

export interface ISettings {
  attempts: number;
  feedback: string;
  due: string | null;
  timed: boolean;
  opens_at: string | null;
  closes_at: string | null;
  time_limit_seconds: number | null;
  scores_visible: boolean;
  released_at: string | null;
  questions: number;
  max_score: number;
}

export interface IQuizView {
  exercise_id: number;
  title: string;
  xp: number;
  settings: ISettings;
  state: 'open' | 'not_open' | 'closed' | 'finished';
  attempts_used: number;
  attempts: IAttempt[];
  current: number | null;
  multiplier?: number;
  questions?: IQuestion[];
}

function when(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString() : '';
}

function minutes(seconds: number | null, trans: ITrans): string {
  if (!seconds) {
    return '';
  }
  return seconds % 60 ? trans.__('%1 s', seconds) : trans.__('%1 min', seconds / 60);
}

function QuestionView(props: {
  question: IQuestion;
  index: number;
  answer: Answer | undefined;
  disabled: boolean;
  feedback?: IFeedback;
  trans: ITrans;
  onChange(value: Answer): void;
}): JSX.Element {
  const { question, index, answer, disabled, feedback, trans, onChange } = props;
  const name = `nbc-q-${question.id}`;
  const selected = Array.isArray(answer) ? answer : [];
  return (
    <fieldset
      className={`nbc-quiz-question${feedback ? (feedback.correct ? ' nbc-right' : ' nbc-wrong') : ''}`}
      data-question={question.id}
      disabled={disabled}
    >
      <legend>
        {trans.__('Question %1', index + 1)}{' '}
        <span className="nbc-muted">{question.points === 1 ? trans.__('(1 point)') : trans.__('(%1 points)', question.points)}</span>
      </legend>
      <div className="nbc-quiz-prompt" dangerouslySetInnerHTML={{ __html: renderMarkdown(question.prompt) }} />
      {question.type === 'single' &&
        question.options?.map(o => (
          <label key={o.key} className="nbc-quiz-option">
            <input type="radio" name={name} value={o.key} checked={answer === o.key} onChange={() => onChange(o.key)} />
            <span dangerouslySetInnerHTML={{ __html: renderMarkdown(o.text) }} />
          </label>
        ))}
      {question.type === 'multiple' &&
        question.options?.map(o => (
          <label key={o.key} className="nbc-quiz-option">
            <input
              type="checkbox"
              name={name}
              value={o.key}
              checked={selected.includes(o.key)}
              onChange={e =>
                onChange(e.target.checked ? [...selected, o.key].sort((a, b) => a - b) : selected.filter(k => k !== o.key))
              }
            />
            <span dangerouslySetInnerHTML={{ __html: renderMarkdown(o.text) }} />
          </label>
        ))}
      {question.type === 'numeric' && (
        <input
          type="number"
          step="any"
          className="nbc-quiz-number"
          aria-label={trans.__('Answer to question %1', index + 1)}
          value={typeof answer === 'number' ? String(answer) : ''}
          onChange={e => onChange(e.target.value === '' ? null : Number(e.target.value))}
        />
      )}
      {question.type === 'text' && (
        <input
          type="text"
          maxLength={500}
          className="nbc-quiz-text"
          aria-label={trans.__('Answer to question %1', index + 1)}
          value={typeof answer === 'string' ? answer : ''}
          onChange={e => onChange(e.target.value)}
        />
      )}
      {feedback && (
        <div className="nbc-quiz-feedback" role="note">
          <strong>{feedback.correct ? trans.__('Right') : trans.__('Not right')}</strong>{' '}
          {trans.__('%1 / %2 points', feedback.points, feedback.max_points)}
          {feedback.solution !== undefined && (
            <div className="nbc-muted">
              {trans.__('Answer: %1', solutionText(question, feedback.solution))}
            </div>
          )}
          {feedback.explanation && (
            <div dangerouslySetInnerHTML={{ __html: renderMarkdown(feedback.explanation) }} />
          )}
        </div>
      )}
    </fieldset>
  );
}

function solutionText(question: IQuestion, solution: unknown): string {
  const text = (key: number) =>
    (question.options?.find(o => o.key === key)?.text ?? String(key)).replace(/`/g, '');
  if (question.type === 'single') {
    return text(Number(solution));
  }
  if (question.type === 'multiple') {
    return (solution as number[]).map(text).join(', ');
  }
  if (question.type === 'numeric') {
    const s = solution as { answer: number; tolerance: number };
    return s.tolerance ? `${s.answer} ± ${s.tolerance}` : String(s.answer);
  }
  return (solution as string[]).join(' / ');
}

/** A student's quiz or exam. */
export function QuizView(props: { client: CampusClient; ctx: IExerciseContext; trans: ITrans; toast: Toaster }): JSX.Element {
  const { client, ctx, trans, toast } = props;
  const id = ctx.exercise.id;
  const [view, setView] = useState<IQuizView | null>(null);
  const [answers, setAnswers] = useState<Record<string, Answer>>({});
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState('');
  const [retry, setRetry] = useState(false);
  const top = useRef<HTMLDivElement>(null);
  const finished = view?.attempts.filter(a => a.status === 'submitted').length ?? 0;
  useEffect(() => {
    // a new result (submitted, or closed at the deadline) shows from the top of the tab
    if (finished) {
      top.current?.scrollIntoView({ block: 'start' });
    }
  }, [finished]);
  const pending = useRef<Record<string, Answer>>({});
  const timer = useRef<number | undefined>(undefined);

  const current = view?.attempts.find(a => a.number === view.current) ?? null;
  const accept = useCallback((next: IQuizView) => {
    setView(next);
    const open = next.attempts.find(a => a.number === next.current);
    if (open) {
      setAnswers(a => ({ ...open.answers, ...a, ...pending.current }));
    }
  }, []);

  const load = useCallback(async () => {
    try {
      const next = await client.get<IQuizView>('campus', quizPaths.quiz(id));
      setAnswers({});
      accept(next);
      setError('');
    } catch (err) {
      setError((err as Error).message);
    }
  }, [id]);

  useEffect(() => {
    void load();
    return () => window.clearTimeout(timer.current);
  }, [load]);

  const left = useCountdown(current?.remaining_seconds, () => {
    void load().then(() => ctx.changed());
  });

  const flush = async (number: number): Promise<void> => {
    const batch = pending.current;
    if (!Object.keys(batch).length) {
      return;
    }
    pending.current = {};
    try {
      const next = await client.put<IQuizView>('campus', quizPaths.answers(id, number), { answers: batch });
      setView(next);
      setSaved(trans.__('Saved at %1', new Date().toLocaleTimeString()));
      setError('');
    } catch (err) {
      setError((err as Error).message);
      if (err instanceof CampusError && err.status === 409) {
        await load();
        ctx.changed();
      }
    }
  };

  const start = async (): Promise<number | null> => {
    setBusy(true);
    try {
      const next = await client.post<IQuizView>('campus', quizPaths.attempts(id), {});
      accept(next);
      setError('');
      return next.current;
    } catch (err) {
      setError((err as Error).message);
      return null;
    } finally {
      setBusy(false);
    }
  };

  const change = async (qid: string, value: Answer) => {
    setAnswers(a => ({ ...a, [qid]: value }));
    pending.current = { ...pending.current, [qid]: value };
    setSaved(trans.__('Saving…'));
    // an untimed quiz starts its attempt with the first answer
    const number = view?.current ?? (await start());
    if (number === null) {
      return;
    }
    window.clearTimeout(timer.current);
    timer.current = window.setTimeout(() => void flush(number), 600);
  };

  const submit = async () => {
    if (!view?.current) {
      return;
    }
    window.clearTimeout(timer.current);
    setBusy(true);
    const batch = pending.current;
    pending.current = {};
    try {
      const body = Object.keys(batch).length ? { answers: batch } : {};
      const next = await client.post<IQuizView>('campus', quizPaths.submit(id, view.current), body);
      setView(next);
      setAnswers({});
      setRetry(false);
      setError('');
      toast('success', trans.__('%1 submitted.', view.title));
      ctx.changed();
    } catch (err) {
      setError((err as Error).message);
      await load();
    } finally {
      setBusy(false);
    }
  };

  if (!view) {
    return (
      <div className="nbc-quiz-view">
        {error ? <div className="nbc-error" role="alert">{error}</div> : <p className="nbc-muted">{trans.__('Loading…')}</p>}
      </div>
    );
  }
  const s = view.settings;
  const lastDone = [...view.attempts].reverse().find(a => a.status === 'submitted');
  // After an attempt: its answers and feedback, until the student tries again.
  const reviewing = !current && !!lastDone && !retry;
  const shownAttempt = current ?? (reviewing ? lastDone : null);
  const feedback = new Map((reviewing ? lastDone?.feedback ?? [] : []).map(f => [f.id, f]));
  const questions = view.questions ?? [];
  const canAnswer = !!current || (!s.timed && view.state === 'open' && !reviewing);
  const attemptsText = current
    ? s.attempts
      ? trans.__('Attempt %1 of %2', current.number, s.attempts)
      : trans.__('Attempt %1', current.number)
    : s.attempts
      ? trans.__('%1 of %2 attempts used', view.attempts_used, s.attempts)
      : trans.__('%1 attempts used, no limit', view.attempts_used);

  return (
    <div className="nbc-quiz-view" data-state={view.state} ref={top}>
      <h2 className="nbc-quiz-title">{view.title}</h2>
      <p className="nbc-muted nbc-quiz-meta">
        {s.timed ? trans.__('Timed exam') : trans.__('Quiz')} · {trans.__('%1 questions, %2 points', s.questions, s.max_score)} ·{' '}
        {attemptsText}
        {s.closes_at && <> · {trans.__('Closes %1', when(s.closes_at))}</>}
        {s.due && <> · {trans.__('Due %1', when(s.due))}</>}
      </p>

      {current && left !== null && (
        <div
          className={`nbc-quiz-timer${left < 60 ? ' nbc-urgent' : ''}`}
          role="timer"
          aria-live="off"
          aria-label={trans.__('Time left')}
        >
          <span className="nbc-quiz-timer-label">{trans.__('Time left')}</span>
          <span className="nbc-quiz-timer-value">{clock(left)}</span>
          <span className="nbc-muted">
            {trans.__('Ends %1. Your answers are saved as you go and submitted when time is up.', when(current.deadline))}
          </span>
        </div>
      )}

      {s.timed && !current && view.state === 'open' && (
        <section className="nbc-quiz-start">
          <p>
            {trans.__(
              'You have %1 once you start%2. The exam is taken once; the clock does not stop if you close this tab.',
              minutes(Math.round((s.time_limit_seconds ?? 0) * (view.multiplier ?? 1)), trans),
              view.multiplier && view.multiplier !== 1 ? trans.__(' (your time × %1)', view.multiplier) : ''
            )}
          </p>
          <button className="jp-mod-styled jp-mod-accept nbc-quiz-begin" disabled={busy} onClick={() => void start()}>
            {trans.__('Start the exam')}
          </button>
        </section>
      )}
      {view.state === 'not_open' && <p className="nbc-chip">{trans.__('Opens %1', when(s.opens_at))}</p>}
      {view.state === 'closed' && !lastDone && <p className="nbc-chip">{trans.__('This quiz is closed.')}</p>}

      {reviewing && lastDone && (
        <section className="nbc-quiz-result" aria-label={trans.__('Your result')} role="status">
          <p>
            <strong>
              {lastDone.auto_submitted
                ? trans.__('Time was up: attempt %1 was submitted with the answers saved by %2.', lastDone.number, when(lastDone.submitted_at))
                : trans.__('Attempt %1 submitted %2.', lastDone.number, when(lastDone.submitted_at))}
            </strong>
          </p>
          {lastDone.score !== undefined ? (
            <p className="nbc-quiz-score">{trans.__('Score: %1 of %2', lastDone.score, lastDone.max_score ?? s.max_score)}</p>
          ) : (
            <p className="nbc-chip nbc-quiz-hidden">{trans.__('Scores are hidden until your instructor releases them.')}</p>
          )}
          <p className="nbc-quiz-receipt">
            {trans.__('Receipt: ')}
            <code>{lastDone.receipt}</code>{' '}
            <button
              className="nbc-link"
              onClick={() => void navigator.clipboard?.writeText(lastDone.receipt ?? '').then(() => toast('info', trans.__('Receipt copied.')))}
            >
              {trans.__('Copy')}
            </button>
          </p>
          {view.state === 'open' && !s.timed && reviewing && (
            <button className="jp-mod-styled nbc-quiz-again" disabled={busy} onClick={() => (setRetry(true), setAnswers({}))}>
              {trans.__('Try again')}
            </button>
          )}
        </section>
      )}

      {(canAnswer || shownAttempt) && questions.length > 0 && (
        <form className="nbc-quiz-form" onSubmit={e => (e.preventDefault(), void submit())}>
          {questions.map((question, i) => (
            <QuestionView
              key={question.id}
              question={question}
              index={i}
              answer={canAnswer ? answers[question.id] : shownAttempt?.answers[question.id]}
              disabled={!canAnswer || busy || left === 0}
              feedback={feedback.get(question.id)}
              trans={trans}
              onChange={value => void change(question.id, value)}
            />
          ))}
          {canAnswer && (
            <div className="nbc-quiz-actions">
              <button type="submit" className="jp-mod-styled jp-mod-accept nbc-quiz-submit" disabled={busy || !current || left === 0}>
                {trans.__('Submit answers')}
              </button>
              <span className="nbc-muted nbc-quiz-saved" role="status">{saved}</span>
            </div>
          )}
        </form>
      )}
      {error && (
        <div className="nbc-error" role="alert">
          {error}
        </div>
      )}
    </div>
  );
}

// --- teachers --------------------------------------------------------------------------------
interface ITeacherQuiz {
  exercise_id: number;
  lesson: string;
  title: string;
  settings: ISettings;
}

interface IResultRow {
  user: string;
  number: number;
  status: string;
  score: number | null;
  max_score: number | null;
  submitted_at: string | null;
  auto_submitted: boolean;
  receipt: string | null;
}

function localInput(iso: string | null): string {
  if (!iso) {
    return '';
  }
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function TeacherQuiz(props: { client: CampusClient; course: string; quiz: ITeacherQuiz; trans: ITrans; toast: Toaster }): JSX.Element {
  const { client, course, quiz, trans, toast } = props;
  const [settings, setSettings] = useState<ISettings>(quiz.settings);
  const [rows, setRows] = useState<IResultRow[]>([]);
  const [multipliers, setMultipliers] = useState<Record<string, number>>({});
  const [limit, setLimit] = useState(
    settings.time_limit_seconds ? String(Math.round((settings.time_limit_seconds / 60) * 100) / 100) : ''
  );
  const [opens, setOpens] = useState(localInput(settings.opens_at));
  const [closes, setCloses] = useState(localInput(settings.closes_at));
  const [student, setStudent] = useState('');
  const [factor, setFactor] = useState('1.5');
  const [error, setError] = useState('');

  const load = async () => {
    try {
      const data = await client.get<any>('campus', quizPaths.results(quiz.exercise_id));
      setRows(data.attempts ?? []);
      setSettings(data.settings);
      setMultipliers(Object.fromEntries((data.accommodations ?? []).map((a: any) => [a.user, a.multiplier])));
    } catch (err) {
      setError((err as Error).message);
    }
  };
  useEffect(() => void load(), [quiz.exercise_id]);

  const patch = async (body: Record<string, unknown>) => {
    try {
      const next = await client.request<ISettings>('campus', quizPaths.settings(quiz.exercise_id), { method: 'PATCH', body });
      setSettings(next);
      setError('');
      toast('success', trans.__('%1: saved.', quiz.title));
      await load();
    } catch (err) {
      setError((err as Error).message);
    }
  };

  const saveExam = (e: React.FormEvent) => {
    e.preventDefault();
    const seconds = limit.trim() ? Math.round(Number(limit) * 60) : null;
    if (seconds !== null && !(seconds >= 10)) {
      setError(trans.__('The time limit is a number of minutes (at least 10 seconds).'));
      return;
    }
    void patch({
      time_limit_seconds: seconds,
      opens_at: opens ? new Date(opens).toISOString() : null,
      closes_at: closes ? new Date(closes).toISOString() : null
    });
  };

  const accommodate = async (e: React.FormEvent) => {
    e.preventDefault();
    try {
      await client.put('campus', quizPaths.accommodation(course, student.trim()), { multiplier: Number(factor) });
      setError('');
      toast('success', trans.__('%1 has their exam time × %2.', student.trim(), factor));
      await load();
    } catch (err) {
      setError((err as Error).message);
    }
  };

  return (
    <section className="nbc-quiz-teacher" data-quiz={quiz.exercise_id}>
      <h3>
        {quiz.title} <span className="nbc-muted">({quiz.lesson})</span>
      </h3>
      <p className="nbc-muted">
        {settings.timed ? trans.__('Timed exam, one attempt.') : trans.__('Quiz, %1 attempts.', settings.attempts || '∞')}{' '}
        {settings.scores_visible
          ? trans.__('Students see their scores.')
          : trans.__('Scores are hidden from students.')}{' '}
        <button className="jp-mod-styled nbc-quiz-visibility" onClick={() => void patch({ scores_visible: !settings.scores_visible })}>
          {settings.scores_visible ? trans.__('Hide scores') : trans.__('Release scores')}
        </button>
      </p>
      <form className="nbc-quiz-exam-form" onSubmit={saveExam}>
        <label className="nbc-field">
          {trans.__('Time limit (minutes; empty: untimed)')}
          <input type="number" min="0.2" step="any" value={limit} onChange={e => setLimit(e.target.value)} />
        </label>
        <label className="nbc-field">
          {trans.__('Opens')}
          <input type="datetime-local" value={opens} onChange={e => setOpens(e.target.value)} />
        </label>
        <label className="nbc-field">
          {trans.__('Closes')}
          <input type="datetime-local" value={closes} onChange={e => setCloses(e.target.value)} />
        </label>
        <button type="submit" className="jp-mod-styled jp-mod-accept">
          {trans.__('Save exam settings')}
        </button>
      </form>
      <form className="nbc-quiz-accommodation" onSubmit={e => void accommodate(e)}>
        <label className="nbc-field">
          {trans.__('Student')}
          <input type="text" value={student} onChange={e => setStudent(e.target.value)} placeholder={trans.__('user name')} />
        </label>
        <label className="nbc-field">
          {trans.__('Time × (1-5)')}
          <input type="number" min="1" max="5" step="0.05" value={factor} onChange={e => setFactor(e.target.value)} />
        </label>
        <button type="submit" className="jp-mod-styled" disabled={!student.trim()}>
          {trans.__('Set extra time')}
        </button>
      </form>
      {error && (
        <div className="nbc-error" role="alert">
          {error}
        </div>
      )}
      <table className="nbc-table nbc-quiz-results">
        <thead>
          <tr>
            <th>{trans.__('Student')}</th>
            <th>{trans.__('Attempt')}</th>
            <th>{trans.__('Status')}</th>
            <th>{trans.__('Score')}</th>
            <th>{trans.__('Time ×')}</th>
            <th>{trans.__('Receipt')}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(r => (
            <tr key={`${r.user}-${r.number}`}>
              <td>{r.user}</td>
              <td>{r.number}</td>
              <td>
                {r.status === 'open'
                  ? trans.__('in progress')
                  : r.auto_submitted
                    ? trans.__('closed at the deadline')
                    : trans.__('submitted')}
              </td>
              <td>{r.score === null ? '' : `${r.score} / ${r.max_score}`}</td>
              <td>{multipliers[r.user] ?? 1}</td>
              <td>
                <code title={r.receipt ?? ''}>{r.receipt ? r.receipt.slice(0, 12) : ''}</code>
              </td>
            </tr>
          ))}
          {!rows.length && (
            <tr>
              <td colSpan={6} className="nbc-muted">
                {trans.__('No attempts yet.')}
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </section>
  );
}

/** The quizzes of the courses one teaches, with their exam settings and results. */
export function TeacherQuizzes(props: { client: CampusClient; trans: ITrans; toast: Toaster }): JSX.Element {
  const { client, trans, toast } = props;
  const [courses, setCourses] = useState<{ course: string; quizzes: ITeacherQuiz[] }[] | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    void (async () => {
      try {
        const taught = await client.get<{ classes: { course: string }[] }>('campus', quizPaths.taught);
        const slugs = [...new Set((taught.classes ?? []).map(c => String(c.course)))];
        const lists = await Promise.all(
          slugs.map(slug => client.get<{ course: string; quizzes: ITeacherQuiz[] }>('campus', quizPaths.courseQuizzes(slug)))
        );
        setCourses(lists);
      } catch (err) {
        setError((err as Error).message);
      }
    })();
  }, []);
  return (
    <div className="nbc-quiz-view nbc-quiz-teachers">
      <h2>{trans.__('Quizzes and exams')}</h2>
      {error && <div className="nbc-error" role="alert">{error}</div>}
      {courses === null && !error && <p className="nbc-muted">{trans.__('Loading…')}</p>}
      {courses?.length === 0 && <p className="nbc-muted">{trans.__('You teach no class with a quiz.')}</p>}
      {courses?.map(c => (
        <div key={c.course}>
          <h3 className="nbc-quiz-course">{c.course}</h3>
          {c.quizzes.length ? (
            c.quizzes.map(qz => <TeacherQuiz key={qz.exercise_id} client={client} course={c.course} quiz={qz} trans={trans} toast={toast} />)
          ) : (
            <p className="nbc-muted">{trans.__('No quiz in this course.')}</p>
          )}
          <TeacherNotebookExams client={client} course={c.course} trans={trans} />
        </div>
      ))}
    </div>
  );
}

// --- tabs ------------------------------------------------------------------------------------
function addTab(host: ITabHost, id: string, label: string, body: JSX.Element): void {
  if (host.has(id)) {
    host.activate(id);
    return;
  }
  const content = ReactWidget.create(body);
  content.addClass('nbc-quiz-tab');
  const widget = new MainAreaWidget({ content });
  widget.id = id;
  widget.title.label = label;
  widget.title.closable = true;
  host.add(widget);
  host.activate(id);
}

/** Quizzes open in a main-area tab; returns how to open the teachers' tab. */
export function registerQuizExercises(host: ITabHost, client: CampusClient, trans: ITrans, toast: Toaster): () => void {
  registerExerciseOpener('quiz', ctx =>
    addTab(host, `nbcampus-quiz-${ctx.exercise.id}`, ctx.exercise.title, <QuizView client={client} ctx={ctx} trans={trans} toast={toast} />)
  );
  return () =>
    addTab(host, 'nbcampus-quiz-teachers', trans.__('Quizzes and exams'), <TeacherQuizzes client={client} trans={trans} toast={toast} />);
}
