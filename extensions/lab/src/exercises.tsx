/**
 * A lesson's exercises that are not notebooks, under the lesson in the Campus panel, and
 * the main-area tabs that show them. Each exercise type registers how it opens
 * (`registerExerciseOpener`); this module registers material and video:
 *
 * - material: a Markdown page (or a read-only notebook) of the course folder, with
 *   "Mark as done"; reading it to the end marks it done too.
 * - video: a file of the course folder (through a signed URL that expires) or an external
 *   URL, in a <video> element. The player reports the ranges it actually played every few
 *   seconds; the campus counts them and completes the exercise at its share.
 */
import { MainAreaWidget } from '@jupyterlab/apputils';
import { ReactWidget } from '@jupyterlab/ui-components';
import React, { useEffect, useRef, useState } from 'react';

import { CampusClient } from './api';
import { renderMarkdown, escapeHtml } from './markdown';
import { ICourse, ILesson, ITrans } from './model';
import { PlayedRanges } from './played';
import { useLessonLoad } from './lessonload';
import { CampusStore, Toaster } from './store';

/** An exercise of a lesson as the campus lists it, with the student's completion. */
export interface ILessonExercise {
  id: number;
  slug: string;
  title: string;
  type: string;
  xp?: number;
  completed?: boolean;
}

export interface IExerciseContext {
  course: ICourse;
  lesson: ILesson;
  exercise: ILessonExercise;
  /** Called when the exercise may have changed state (the panel reloads its lesson). */
  changed(): void;
}

export type ExerciseOpener = (ctx: IExerciseContext) => void;

const openers: Record<string, ExerciseOpener> = {};
const listeners = new Set<() => void>();

/** How exercises of `type` open (one per type; a later registration replaces it). */
export function registerExerciseOpener(type: string, opener: ExerciseOpener): void {
  openers[type] = opener;
  listeners.forEach(fn => fn());
}

/** Open an exercise in its tab; false when no module opens its type. */
export function openExercise(ctx: IExerciseContext): boolean {
  const opener = openers[ctx.exercise.type];
  if (opener) {
    opener(ctx);
  }
  return !!opener;
}

const path = {
  exercises: (lesson: number) => `lessons/${lesson}/exercises`,
  progress: (lesson: number) => `lessons/${lesson}/progress`,
  material: (id: number) => `exercises/${id}/material`,
  video: (id: number) => `exercises/${id}/video`,
  watch: (id: number) => `exercises/${id}/watch`,
  complete: (id: number) => `exercises/${id}/complete`
};

/** The lesson's exercises with the student's completion (notebook ones stay with Open). */
export async function lessonExercises(client: CampusClient, lessonId: number): Promise<ILessonExercise[]> {
  const [list, progress] = await Promise.all([
    client.get<{ exercises: ILessonExercise[] }>('campus', path.exercises(lessonId)),
    client.get<{ progress: { exercises: { exercise_id: number; completed: boolean }[] }[] }>(
      'campus',
      path.progress(lessonId)
    )
  ]);
  const done = new Set(
    (progress.progress?.[0]?.exercises ?? []).filter(e => e.completed).map(e => e.exercise_id)
  );
  return (list.exercises ?? []).map(e => ({ ...e, completed: done.has(e.id) }));
}


function typeLabels(trans: ITrans): Record<string, string> {
  return {
    material: trans.__('page'),
    video: trans.__('video'),
    quiz: trans.__('quiz'),
    assignment: trans.__('assignment')
  };
}

/** Under an open lesson in the panel: its exercises that open in a tab of their own. */
export function LessonExercises(props: { store: CampusStore; course: ICourse; lesson: ILesson }): JSX.Element | null {
  const { store, course, lesson } = props;
  const trans = store.trans;
  const lessonId = Number((lesson as any).id);
  const [, setTypes] = useState(0);
  useEffect(() => {
    const fn = () => setTypes(v => v + 1);
    listeners.add(fn);
    return () => void listeners.delete(fn);
  }, []);
  const { items, error, changed } = useLessonLoad(store, lessonId, lesson.state, () =>
    lessonExercises(store.client, lessonId)
  );
  if (error) {
    return <div className="nbc-error nbc-exercises-error">{error}</div>;
  }
  const shown = (items ?? []).filter(e => openers[e.type]);
  if (!shown.length) {
    return null;
  }
  return (
    <ul className="nbc-exercises" aria-label={trans.__('Exercises of %1', lesson.title)}>
      {shown.map(e => (
        <li key={e.id} className={`nbc-exercise nbc-exercise-${e.type}`} data-exercise={e.slug}>
          <span className="nbc-exercise-type">{typeLabels(trans)[e.type] ?? e.type}</span>
          <button
            className="nbc-link nbc-exercise-open"
            aria-label={trans.__('Open %1', e.title)}
            onClick={() => openers[e.type]({ course, lesson, exercise: e, changed })}
          >
            {e.title}
          </button>
          {e.completed ? (
            <span className="nbc-chip nbc-done">{trans.__('done')}</span>
          ) : (
            !!e.xp && <span className="nbc-muted">{trans.__('%1 XP', e.xp)}</span>
          )}
        </li>
      ))}
    </ul>
  );
}

// --- material ------------------------------------------------------------------------------
interface IMaterial {
  exercise_id: number;
  title: string;
  xp: number;
  completed: boolean;
  format: 'markdown' | 'notebook' | 'none';
  content: any;
}

function notebookHtml(nb: any): string {
  const parts: string[] = [];
  for (const cell of nb?.cells ?? []) {
    const source = Array.isArray(cell.source) ? cell.source.join('') : String(cell.source ?? '');
    if (cell.cell_type === 'markdown') {
      parts.push(`<div class="nbc-md-cell">${renderMarkdown(source, 0)}</div>`);
    } else if (cell.cell_type === 'code') {
      parts.push(`<pre class="nbc-code-cell"><code>${escapeHtml(source)}</code></pre>`);
      for (const out of cell.outputs ?? []) {
        const text = out.text ?? out.data?.['text/plain'];
        if (text) {
          const value = Array.isArray(text) ? text.join('') : String(text);
          parts.push(`<pre class="nbc-output">${escapeHtml(value)}</pre>`);
        }
      }
    }
  }
  return parts.join('\n');
}

function MaterialView(props: { client: CampusClient; ctx: IExerciseContext; trans: ITrans; toast: Toaster }): JSX.Element {
  const { client, ctx, trans, toast } = props;
  const id = ctx.exercise.id;
  const [page, setPage] = useState<IMaterial | null>(null);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const end = useRef<HTMLDivElement>(null);
  const done = useRef(false);

  const markDone = async (how: 'button' | 'read') => {
    if (done.current) {
      return;
    }
    done.current = true;
    setBusy(true);
    try {
      const events = await client.post<any>('campus', path.complete(id));
      setPage(p => (p ? { ...p, completed: true } : p));
      if (events?.exercise_completed) {
        toast(
          'success',
          how === 'read'
            ? trans.__('Read to the end: %1 done (+%2 XP)', ctx.exercise.title, page?.xp ?? ctx.exercise.xp ?? 0)
            : trans.__('%1 done (+%2 XP)', ctx.exercise.title, page?.xp ?? ctx.exercise.xp ?? 0)
        );
      }
      ctx.changed();
    } catch (err) {
      done.current = false;
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  useEffect(() => {
    client
      .get<IMaterial>('campus', path.material(id))
      .then(p => {
        done.current = p.completed;
        setPage(p);
      })
      .catch(err => setError((err as Error).message));
  }, [id]);

  // Reading to the end (the last line scrolled into view) marks the page done.
  useEffect(() => {
    if (!page || page.completed || !end.current) {
      return;
    }
    const seen = new IntersectionObserver(entries => {
      if (entries.some(e => e.isIntersecting)) {
        void markDone('read');
      }
    });
    // Only once the reader has had a moment: a short page is not "read" when it opens.
    const timer = window.setTimeout(() => end.current && seen.observe(end.current), 3000);
    return () => {
      window.clearTimeout(timer);
      seen.disconnect();
    };
  }, [page?.exercise_id, page?.completed]);

  if (error && !page) {
    return <div className="nbc-error" role="alert">{error}</div>;
  }
  if (!page) {
    return <div className="nbc-muted">{trans.__('Loading %1…', ctx.exercise.title)}</div>;
  }
  const html =
    page.format === 'markdown'
      ? renderMarkdown(String(page.content ?? ''), 0)
      : page.format === 'notebook'
        ? notebookHtml(page.content)
        : `<h1>${escapeHtml(page.title)}</h1>`;
  return (
    <div className="nbc-material-view">
      <article className="nbc-markdown nbc-material-body" dangerouslySetInnerHTML={{ __html: html }} />
      <div ref={end} className="nbc-material-end">
        {error && <div className="nbc-error" role="alert">{error}</div>}
        {page.completed ? (
          <span className="nbc-chip nbc-done" role="status">
            {trans.__('Done')}
          </span>
        ) : (
          <button className="jp-mod-styled jp-mod-accept nbc-mark-done" disabled={busy} onClick={() => void markDone('button')}>
            {trans.__('Mark as done')}
          </button>
        )}
      </div>
    </div>
  );
}

// --- video -----------------------------------------------------------------------------------
interface IVideo {
  exercise_id: number;
  title: string;
  xp: number;
  src: string;
  external: boolean;
  expires_at: string | null;
  watched_seconds: number;
  duration: number | null;
  complete_at: number;
  share: number;
  completed: boolean;
}

const HEARTBEAT_MS = 5000;

function VideoView(props: { client: CampusClient; ctx: IExerciseContext; trans: ITrans; toast: Toaster }): JSX.Element {
  const { client, ctx, trans, toast } = props;
  const id = ctx.exercise.id;
  const [info, setInfo] = useState<IVideo | null>(null);
  const [error, setError] = useState('');
  const player = useRef<HTMLVideoElement>(null);
  const ranges = useRef(new PlayedRanges());
  const sending = useRef<Promise<void>>(Promise.resolve());
  const retried = useRef(0);

  const load = () =>
    client
      .get<IVideo>('campus', path.video(id))
      .then(v => setInfo(v))
      .catch(err => setError((err as Error).message));

  const beat = (force = false) => {
    const video = player.current;
    const played = ranges.current.take();
    if (!force && !played.length) {
      return;
    }
    const duration = video && isFinite(video.duration) && video.duration > 0 ? video.duration : null;
    sending.current = sending.current.then(async () => {
      try {
        const out = await client.post<any>('campus', path.watch(id), { ranges: played, duration });
        setInfo(v => (v ? { ...v, ...out, src: v.src } : v));
        if (out.exercise_completed) {
          toast('success', trans.__('%1 watched (+%2 XP)', ctx.exercise.title, ctx.exercise.xp ?? 0));
          ctx.changed();
        }
      } catch (err) {
        setError((err as Error).message);
      }
    });
  };

  useEffect(() => {
    void load();
    const timer = window.setInterval(() => beat(), HEARTBEAT_MS);
    return () => {
      window.clearInterval(timer);
      ranges.current.close();
      beat();
    };
  }, [id]);

  if (error && !info) {
    return <div className="nbc-error" role="alert">{error}</div>;
  }
  if (!info) {
    return <div className="nbc-muted">{trans.__('Loading %1…', ctx.exercise.title)}</div>;
  }
  const video = () => player.current;
  const percent = Math.round(100 * (info.share ?? 0));
  const needed = Math.round(100 * info.complete_at);
  return (
    <div className="nbc-video-view">
      <h2>{info.title}</h2>
      <video
        ref={player}
        className="nbc-video"
        src={info.src}
        controls
        preload="metadata"
        onPlay={() => {
          ranges.current.tick(video()!.currentTime, true);
          beat(true); // starts the server's clock for this stretch of watching
        }}
        onTimeUpdate={() => ranges.current.tick(video()!.currentTime, !video()!.paused && !video()!.seeking)}
        onSeeking={() => ranges.current.close()}
        onPause={() => {
          ranges.current.close();
          beat();
        }}
        onEnded={() => {
          ranges.current.close();
          beat();
        }}
        onError={() => {
          // An expired signed URL: ask for a fresh one and carry on from the same point.
          const at = video()?.currentTime ?? 0;
          // At most once a minute, so a file that is gone does not loop.
          if (!info.external && Date.now() - retried.current > 60_000) {
            retried.current = Date.now();
            void load().then(() => video() && (video()!.currentTime = at));
          }
        }}
      />
      <div className="nbc-video-progress" role="status" aria-live="polite">
        <div className="nbc-bar" aria-hidden="true">
          <div className="nbc-bar-fill" style={{ width: `${Math.min(100, percent)}%` }} />
        </div>
        <span className="nbc-video-share">
          {info.completed
            ? trans.__('Done: %1% watched', percent)
            : trans.__('%1% watched; %2% completes it', percent, needed)}
        </span>
        {info.completed && <span className="nbc-chip nbc-done">{trans.__('Done')}</span>}
      </div>
      {error && <div className="nbc-error" role="alert">{error}</div>}
    </div>
  );
}

// --- tabs ------------------------------------------------------------------------------------
export interface ITabHost {
  add(widget: MainAreaWidget): void;
  activate(id: string): void;
  has(id: string): boolean;
}

function openTab(host: ITabHost, ctx: IExerciseContext, kind: string, body: JSX.Element): void {
  const id = `nbcampus-${kind}-${ctx.exercise.id}`;
  if (host.has(id)) {
    host.activate(id);
    return;
  }
  const content = ReactWidget.create(body);
  content.addClass(`nbc-${kind}-tab`);
  const widget = new MainAreaWidget({ content });
  widget.id = id;
  widget.title.label = ctx.exercise.title;
  widget.title.closable = true;
  host.add(widget);
  host.activate(id);
}

/** Material and video open in main-area tabs. */
export function registerMediaExercises(host: ITabHost, client: CampusClient, trans: ITrans, toast: Toaster): void {
  registerExerciseOpener('material', ctx =>
    openTab(host, ctx, 'material', <MaterialView client={client} ctx={ctx} trans={trans} toast={toast} />)
  );
  registerExerciseOpener('video', ctx =>
    openTab(host, ctx, 'video', <VideoView client={client} ctx={ctx} trans={trans} toast={toast} />)
  );
}
