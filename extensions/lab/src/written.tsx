/**
 * Written assignments in a main-area tab: the student hands in text, a link or a file
 * (the limits the course manifest sets), sees what was handed in and when, and, once an
 * instructor graded it in the grading view, the points and the comment. Resubmitting is
 * open until the due date; the grader refuses anything later or over a limit, and its
 * message is shown beside the form.
 */
import { MainAreaWidget } from '@jupyterlab/apputils';
import { ServerConnection } from '@jupyterlab/services';
import { ReactWidget } from '@jupyterlab/ui-components';
import React, { useEffect, useState } from 'react';

import { CampusClient, errorFromResponse } from './api';
import { IExerciseContext, ITabHost, registerExerciseOpener } from './exercises';
import { ITrans } from './model';
import { CampusStore, Toaster } from './store';

const q = encodeURIComponent;
export const writtenPath = (course: string, lesson: string, exercise: string) =>
  `courses/${q(course)}/assignments/${q(lesson)}/written/${q(exercise)}`;

type Kind = 'text' | 'link' | 'file';

export interface IWrittenSubmission {
  id: string;
  submitted_at: string;
  kind: Kind;
  text: string | null;
  link: string | null;
  file: { name: string; size: number } | null;
  graded: boolean;
  score: number | null;
  max_score: number;
  comment: string | null;
  /** Graded, its score not released yet (the grader withholds score and comment). */
  score_hidden?: boolean;
}

export interface IWrittenAssignment {
  title: string;
  points: number;
  kinds: Kind[];
  max_bytes: number;
  max_chars: number;
  extensions: string[];
  prompt?: string;
  due_at: string | null;
  submissions: IWrittenSubmission[];
}

function size(bytes: number): string {
  if (bytes >= 1024 * 1024) {
    return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  }
  return bytes >= 1024 ? `${Math.round(bytes / 1024)} KB` : `${bytes} B`;
}

function when(iso: string): string {
  return new Date(iso).toLocaleString();
}

/** PUT a file as the raw body: the grader checks its name, type and size before reading it. */
async function upload(client: CampusClient, path: string, file: File, trans: ITrans): Promise<void> {
  const url = client.url('grader', `${path}/file?name=${q(file.name)}`);
  const init: RequestInit = {
    method: 'PUT',
    body: file,
    headers: { 'Content-Type': 'application/octet-stream' }
  };
  const response = await ServerConnection.makeRequest(url, init, ServerConnection.makeSettings());
  if (!response.ok) {
    throw errorFromResponse(response.status, await response.text(), 'grader', trans);
  }
}

function WrittenView(props: {
  client: CampusClient;
  ctx: IExerciseContext;
  trans: ITrans;
  toast: Toaster;
  store: CampusStore;
}): JSX.Element {
  const { client, ctx, trans, toast, store } = props;
  const path = writtenPath(ctx.course.slug, ctx.lesson.slug, ctx.exercise.slug);
  const [info, setInfo] = useState<IWrittenAssignment | null>(null);
  const [loadError, setLoadError] = useState('');
  const [kind, setKind] = useState<Kind>('text');
  const [text, setText] = useState('');
  const [link, setLink] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const load = async () => {
    try {
      const data = await client.get<IWrittenAssignment>('grader', path);
      setInfo(data);
      setLoadError('');
      setKind(k => (data.kinds.includes(k) ? k : data.kinds[0]));
    } catch (err) {
      setLoadError((err as Error).message);
    }
  };
  useEffect(() => {
    void load();
  }, [path]);
  // A grade or a release pushed to the Lab moves the store's gradesVersion (as it reloads the
  // result card and course score): an open tab then shows the released score, not "hidden".
  useEffect(() => {
    let seen = store.gradesVersion;
    return store.subscribe(() => {
      if (store.gradesVersion !== seen) {
        seen = store.gradesVersion;
        void load();
      }
    });
  }, [store, path]);

  if (loadError) {
    return <div className="nbc-error" role="alert">{loadError}</div>;
  }
  if (!info) {
    return <div className="nbc-muted">{trans.__('Loading %1…', ctx.exercise.title)}</div>;
  }
  const newest = info.submissions[info.submissions.length - 1];
  const past = !!info.due_at && Date.now() > Date.parse(info.due_at);
  const labels: Record<Kind, string> = { text: trans.__('Text'), link: trans.__('Link'), file: trans.__('File') };

  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    setError('');
    // What the browser can tell at once; the grader checks everything again.
    if (kind === 'file') {
      if (!file) {
        setError(trans.__('Choose a file.'));
        return;
      }
      if (file.size > info.max_bytes) {
        setError(trans.__('%1 is larger than %2.', file.name, size(info.max_bytes)));
        return;
      }
    }
    setBusy(true);
    try {
      if (kind === 'file') {
        await upload(client, path, file as File, trans);
      } else {
        await client.post('grader', path, kind === 'text' ? { text } : { link });
      }
      toast('success', trans.__('Handed in: %1', ctx.exercise.title));
      await load();
      ctx.changed();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="nbc-written-view">
      <h2 className="nbc-written-title">{info.title || ctx.exercise.title}</h2>
      <p className="nbc-muted">
        {trans.__('%1 points, graded by your instructor.', info.points)}{' '}
        {info.due_at ? trans.__('Due %1.', when(info.due_at)) : trans.__('No due date.')}
      </p>
      {info.prompt && <p className="nbc-written-prompt">{info.prompt}</p>}

      <section className="nbc-written-status" aria-label={trans.__('Your submission')} role="status">
        {!newest ? (
          <p>{trans.__('Nothing handed in yet.')}</p>
        ) : (
          <>
            <p>
              {trans.__('Handed in %1 (submission %2).', when(newest.submitted_at), info.submissions.length)}{' '}
              {newest.kind === 'file' && newest.file && (
                <span>{trans.__('File: %1, %2', newest.file.name, size(newest.file.size))}</span>
              )}
              {newest.kind === 'link' && <span>{trans.__('Link: %1', newest.link ?? '')}</span>}
            </p>
            {newest.kind === 'text' && <blockquote className="nbc-written-text">{newest.text}</blockquote>}
            {newest.graded ? (
              <div className="nbc-written-grade">
                <strong>
                  {trans.__('Grade: %1 of %2 points', newest.score ?? 0, newest.max_score)}
                </strong>
                {newest.comment && (
                  <p className="nbc-written-comment">
                    {trans.__('Feedback: ')}
                    {newest.comment}
                  </p>
                )}
              </div>
            ) : (
              <p>
                <span className="nbc-chip">
                  {newest.score_hidden
                    ? trans.__('Graded: your score shows once your instructor releases it')
                    : trans.__('Waiting for a grade')}
                </span>
              </p>
            )}
          </>
        )}
      </section>

      {past ? (
        <p className="nbc-muted">{trans.__('The due date has passed: no more submissions.')}</p>
      ) : (
        <form className="nbc-written-form" onSubmit={e => void submit(e)}>
          {info.kinds.length > 1 && (
            <div className="nbc-written-kinds" role="radiogroup" aria-label={trans.__('Hand in as')}>
              {info.kinds.map(k => (
                <label key={k}>
                  <input type="radio" name="kind" value={k} checked={kind === k} onChange={() => setKind(k)} />{' '}
                  {labels[k]}
                </label>
              ))}
            </div>
          )}
          {kind === 'text' && (
            <label className="nbc-field">
              {trans.__('Your answer')}
              <textarea
                className="nbc-written-textarea"
                rows={10}
                maxLength={info.max_chars}
                value={text}
                onChange={e => setText(e.target.value)}
                aria-describedby="nbc-written-error"
              />
              <span className="nbc-muted">{trans.__('%1 of %2 characters', text.length, info.max_chars)}</span>
            </label>
          )}
          {kind === 'link' && (
            <label className="nbc-field">
              {trans.__('Link (http:// or https://)')}
              <input
                type="url"
                className="nbc-written-link"
                value={link}
                onChange={e => setLink(e.target.value)}
                placeholder="https://"
                aria-describedby="nbc-written-error"
              />
            </label>
          )}
          {kind === 'file' && (
            <label className="nbc-field">
              {trans.__('File (%1, at most %2)', info.extensions.join(', '), size(info.max_bytes))}
              <input
                type="file"
                className="nbc-written-file"
                accept={info.extensions.join(',')}
                onChange={e => setFile(e.target.files?.[0] ?? null)}
                aria-describedby="nbc-written-error"
              />
            </label>
          )}
          <div id="nbc-written-error" role="alert">
            {error && <div className="nbc-error">{error}</div>}
          </div>
          <button type="submit" className="jp-mod-styled jp-mod-accept nbc-written-submit" disabled={busy}>
            {newest ? trans.__('Hand in again') : trans.__('Hand in')}
          </button>
        </form>
      )}
    </div>
  );
}

/** Written assignments open in a main-area tab of their own. */
export function registerWrittenExercises(
  host: ITabHost,
  client: CampusClient,
  trans: ITrans,
  toast: Toaster,
  store: CampusStore
): void {
  registerExerciseOpener('assignment', ctx => {
    const id = `nbcampus-written-${ctx.exercise.id}`;
    if (host.has(id)) {
      host.activate(id);
      return;
    }
    const content = ReactWidget.create(<WrittenView client={client} ctx={ctx} trans={trans} toast={toast} store={store} />);
    content.addClass('nbc-written-tab');
    const widget = new MainAreaWidget({ content });
    widget.id = id;
    widget.title.label = ctx.exercise.title;
    widget.title.closable = true;
    host.add(widget);
    host.activate(id);
  });
}
