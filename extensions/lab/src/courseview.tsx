/**
 * The Course view: an instructor authors a course folder of their home (course.yaml and
 * nbgrader source notebooks) in the main area. The manifest as a form (sections, lessons,
 * exercises, their types, points, XP and order), validation with each error beside its line,
 * a preview of the student version (nbgrader's generate_assignment, run in this server), a
 * dry run of what publishing would change, Publish, and a new course from the template.
 *
 * Files are read and written by the server part (`nbcampus-courses/...`,
 * nbcampus_lab/courseview.py); checking, the dry run and publishing go on to the campus,
 * which decides from its own records who may publish which course.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, MainAreaWidget } from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import React, { useEffect, useState } from 'react';

import { CampusError, errorFromResponse } from './api';
import { authoringEnabled } from './authoring';
import { campusIcon } from './icon';
import { ITrans } from './model';
import { ICourseFolder, IReadExercise, exerciseLine, folderLabel, folderShown, manifestSource, publishHint, writeAction } from './nbgraderfolder';
import { ILessonPlace, exerciseNotebookPath } from './lessonnotebook';

import '../style/courseview.css';

export const COURSE_VIEW_COMMAND = 'nbcampus:course-view';
const EXERCISE_TYPES = ['coding', 'assignment', 'quiz', 'material', 'video'];

/** The server part's course-folder API. */
export class CourseFolders {
  constructor(
    private readonly settings: ServerConnection.ISettings,
    private readonly trans: ITrans
  ) {}

  async call<T = any>(path: string, method = 'GET', body?: unknown): Promise<T> {
    const url = URLExt.join(this.settings.baseUrl, 'nbcampus-courses', path);
    const init: RequestInit = { method };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { 'Content-Type': 'application/json' };
    }
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(url, init, this.settings);
    } catch (err) {
      throw new CampusError(String((err as Error).message ?? err), 0, 'NETWORK_ERROR');
    }
    const text = await response.text();
    if (!response.ok) {
      throw errorFromResponse(response.status, text, 'campus', this.trans);
    }
    return JSON.parse(text || '{}') as T;
  }
}

type IFolder = ICourseFolder;

interface ICourseFile {
  path: string;
  yaml: string;
  data: any | null;
  lessons: Record<string, string[]>;
  generated?: boolean; // nbgrader's layout: the manifest the campus's importer makes
}

interface IProblem {
  line: number;
  message: string;
  where?: string;
}

interface IPlanRow {
  slug: string;
  title: string;
  what?: string[];
  students?: number;
}

interface IPlan {
  course: string;
  exists: boolean;
  status: string | null;
  revision: string;
  new: IPlanRow[];
  changed: IPlanRow[];
  removed: IPlanRow[];
  unchanged: IPlanRow[];
}

interface IPreview {
  lesson: string;
  notebooks: { name: string; html: string }[];
  files: string[];
}

type Msg = { kind: 'ok' | 'error'; text: string } | null;

function move<T>(list: T[], index: number, by: number): T[] {
  const to = index + by;
  if (to < 0 || to >= list.length) {
    return list;
  }
  const copy = [...list];
  [copy[index], copy[to]] = [copy[to], copy[index]];
  return copy;
}

function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value));
}

/** The manifest's editable parts as a form; every change hands back a new data object. */
function ManifestForm(props: {
  data: any;
  trans: ITrans;
  onChange: (data: any) => void;
  read?: Record<string, IReadExercise[]>; // each lesson's exercises as the importer reads them
  place?: ILessonPlace; // where the lesson folders are, for each notebook's Open action
  open?: (path: string) => void;
}): JSX.Element {
  const { data, trans } = props;
  // An exercise's notebook opened in the Lab (only one its lesson folder really holds).
  const openButton = (lesson: string, ex: { slug?: string; notebook?: string }) => {
    const path = props.place && props.open ? exerciseNotebookPath(props.place, lesson, ex) : null;
    return path ? (
      <button className="nbc-cv-open-notebook" title={trans.__('Open %1 in the Lab', path)} onClick={() => props.open?.(path)}>
        {trans.__('Open')}
      </button>
    ) : null;
  };
  const sections: any[] = Array.isArray(data.sections) ? data.sections : [];
  const edit = (fn: (d: any) => void) => {
    const copy = clone(data);
    if (!Array.isArray(copy.sections)) {
      copy.sections = [];
    }
    fn(copy);
    props.onChange(copy);
  };
  const num = (value: string): number | undefined => (value === '' ? undefined : Number(value));
  return (
    <div className="nbc-cv-form">
      <div className="nbc-cv-fields">
        <label>
          {trans.__('Slug')}
          <input
            className="nbc-cv-course-slug"
            value={data.slug ?? ''}
            onChange={e => edit(d => (d.slug = e.target.value))}
          />
        </label>
        <label className="nbc-cv-wide">
          {trans.__('Title')}
          <input
            className="nbc-cv-course-title"
            value={data.title ?? ''}
            onChange={e => edit(d => (d.title = e.target.value))}
          />
        </label>
        <label className="nbc-cv-check">
          <input
            type="checkbox"
            checked={data.published === true}
            onChange={e => edit(d => (d.published = e.target.checked))}
          />
          {trans.__('Publish for students (instructors go through review)')}
        </label>
      </div>
      {sections.map((section, si) => (
        <fieldset key={si} className="nbc-cv-section">
          <legend>
            {trans.__('Section %1', si + 1)}
            <span className="nbc-cv-tools">
              <button title={trans.__('Move up')} onClick={() => edit(d => (d.sections = move(d.sections, si, -1)))}>↑</button>
              <button title={trans.__('Move down')} onClick={() => edit(d => (d.sections = move(d.sections, si, 1)))}>↓</button>
              <button title={trans.__('Remove section')} onClick={() => edit(d => d.sections.splice(si, 1))}>✕</button>
            </span>
          </legend>
          <div className="nbc-cv-fields">
            <label>
              {trans.__('Slug')}
              <input value={section.slug ?? ''} onChange={e => edit(d => (d.sections[si].slug = e.target.value))} />
            </label>
            <label className="nbc-cv-wide">
              {trans.__('Title')}
              <input value={section.title ?? ''} onChange={e => edit(d => (d.sections[si].title = e.target.value))} />
            </label>
          </div>
          {(section.lessons ?? []).map((lesson: any, li: number) => (
            <div key={li} className="nbc-cv-lesson" data-lesson={lesson.slug}>
              <div className="nbc-cv-fields">
                <label>
                  {trans.__('Lesson')}
                  <input
                    className="nbc-cv-lesson-slug"
                    value={lesson.slug ?? ''}
                    onChange={e => edit(d => (d.sections[si].lessons[li].slug = e.target.value))}
                  />
                </label>
                <label className="nbc-cv-wide">
                  {trans.__('Title')}
                  <input
                    className="nbc-cv-lesson-title"
                    value={lesson.title ?? ''}
                    onChange={e => edit(d => (d.sections[si].lessons[li].title = e.target.value))}
                  />
                </label>
                <label>
                  {trans.__('Minutes')}
                  <input
                    type="number"
                    min={1}
                    value={lesson.duration ?? ''}
                    onChange={e => edit(d => (d.sections[si].lessons[li].duration = num(e.target.value)))}
                  />
                </label>
                <span className="nbc-cv-tools">
                  <button title={trans.__('Move lesson up')} onClick={() => edit(d => (d.sections[si].lessons = move(d.sections[si].lessons, li, -1)))}>↑</button>
                  <button title={trans.__('Move lesson down')} onClick={() => edit(d => (d.sections[si].lessons = move(d.sections[si].lessons, li, 1)))}>↓</button>
                  <button title={trans.__('Remove lesson')} onClick={() => edit(d => d.sections[si].lessons.splice(li, 1))}>✕</button>
                </span>
              </div>
              {!Array.isArray(lesson.exercises) && (props.read?.[lesson.slug] ?? []).length > 0 && (
                <div className="nbc-cv-read" data-lesson={lesson.slug}>
                  <span className="nbc-muted">{trans.__("From its folder's notebooks (no exercises listed):")}</span>
                  <ul>
                    {(props.read?.[lesson.slug] ?? []).map(e => (
                      <li key={e.slug} data-exercise={e.slug}>
                        {exerciseLine(e, trans)} {openButton(lesson.slug, e)}
                      </li>
                    ))}
                  </ul>
                </div>
              )}
              {(lesson.exercises ?? []).length > 0 && (
              <table className="nbc-table nbc-cv-exercises">
                <thead>
                  <tr>
                    <th>#</th>
                    <th>{trans.__('Exercise')}</th>
                    <th>{trans.__('Title')}</th>
                    <th>{trans.__('Type')}</th>
                    <th>{trans.__('Points')}</th>
                    <th>XP</th>
                    <th />
                  </tr>
                </thead>
                <tbody>
                  {(lesson.exercises ?? []).map((ex: any, ei: number) => {
                    const set = (key: string, value: unknown) =>
                      edit(d => {
                        const target = d.sections[si].lessons[li].exercises[ei];
                        if (value === undefined) {
                          delete target[key];
                        } else {
                          target[key] = value;
                        }
                      });
                    return (
                      <tr key={ei} data-exercise={ex.slug}>
                        <td>{ei + 1}</td>
                        <td><input className="nbc-cv-ex-slug" value={ex.slug ?? ''} onChange={e => set('slug', e.target.value)} /></td>
                        <td><input className="nbc-cv-ex-title" value={ex.title ?? ''} onChange={e => set('title', e.target.value)} /></td>
                        <td>
                          <select className="nbc-cv-ex-type" value={ex.type ?? 'coding'} onChange={e => set('type', e.target.value)}>
                            {EXERCISE_TYPES.map(t => (
                              <option key={t} value={t}>{t}</option>
                            ))}
                          </select>
                        </td>
                        <td>
                          <input
                            className="nbc-cv-ex-points"
                            type="number"
                            min={0}
                            placeholder={trans.__('auto')}
                            title={trans.__('Empty: the total of the notebook\'s graded cells')}
                            value={ex.points ?? ''}
                            onChange={e => set('points', num(e.target.value))}
                          />
                        </td>
                        <td>
                          <input className="nbc-cv-ex-xp" type="number" min={0} value={ex.xp ?? ''} onChange={e => set('xp', num(e.target.value))} />
                        </td>
                        <td>
                          <span className="nbc-cv-tools">
                            {openButton(lesson.slug, ex)}
                            <button title={trans.__('Move up')} onClick={() => edit(d => (d.sections[si].lessons[li].exercises = move(d.sections[si].lessons[li].exercises, ei, -1)))}>↑</button>
                            <button title={trans.__('Move down')} onClick={() => edit(d => (d.sections[si].lessons[li].exercises = move(d.sections[si].lessons[li].exercises, ei, 1)))}>↓</button>
                            <button title={trans.__('Remove exercise')} onClick={() => edit(d => d.sections[si].lessons[li].exercises.splice(ei, 1))}>✕</button>
                          </span>
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
              )}
              <button
                className="jp-mod-styled nbc-cv-add-exercise"
                onClick={() =>
                  edit(d => {
                    const l = d.sections[si].lessons[li];
                    l.exercises = [...(l.exercises ?? []), { slug: 'new-exercise', title: 'New exercise', type: 'material', xp: 5 }];
                  })
                }
              >
                {trans.__('Add exercise')}
              </button>
            </div>
          ))}
          <button
            className="jp-mod-styled"
            onClick={() =>
              edit(d => {
                const s = d.sections[si];
                const n = sections.reduce((acc, x) => acc + (x.lessons?.length ?? 0), 0) + 1;
                const slug = `${String(n).padStart(2, '0')}-new-lesson`;
                s.lessons = [...(s.lessons ?? []), { slug, title: 'New lesson', exercises: [] }];
              })
            }
          >
            {trans.__('Add lesson')}
          </button>
        </fieldset>
      ))}
      <button
        className="jp-mod-styled"
        onClick={() =>
          edit(d => d.sections.push({ slug: `section-${sections.length + 1}`, title: 'New section', lessons: [] }))
        }
      >
        {trans.__('Add section')}
      </button>
    </div>
  );
}

/** course.yaml with its line numbers, and each error beside its line. */
function YamlWithErrors(props: { yaml: string; problems: IProblem[] }): JSX.Element {
  const byLine = new Map<number, IProblem[]>();
  for (const p of props.problems) {
    byLine.set(p.line, [...(byLine.get(p.line) ?? []), p]);
  }
  return (
    <table className="nbc-cv-yaml">
      <tbody>
        {props.yaml.split('\n').map((text, i) => {
          const errors = byLine.get(i + 1);
          return (
            <tr key={i} className={errors ? 'nbc-cv-bad' : ''} data-line={i + 1}>
              <td className="nbc-cv-lineno">{i + 1}</td>
              <td className="nbc-cv-code">{text}</td>
              <td className="nbc-cv-linemsg">{errors?.map((p, j) => (
                  <div key={j} role="alert" title={p.where}>
                    {p.message}
                  </div>
                ))}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function PlanTable(props: { plan: IPlan; trans: ITrans }): JSX.Element {
  const { plan, trans } = props;
  const rows: { kind: string; label: string; row: IPlanRow }[] = [
    ...plan.new.map(row => ({ kind: 'new', label: trans.__('New'), row })),
    ...plan.changed.map(row => ({ kind: 'changed', label: trans.__('Changed'), row })),
    ...plan.removed.map(row => ({ kind: 'removed', label: trans.__('Retired'), row }))
  ];
  return (
    <div className="nbc-cv-plan">
      <p>
        {plan.exists
          ? trans.__('Course %1 (%2) exists on the campus.', plan.course, plan.status ?? '')
          : trans.__('Course %1 is new to the campus.', plan.course)}{' '}
        {trans.__('%1 lesson(s) unchanged.', plan.unchanged.length)}
      </p>
      {rows.length === 0 ? (
        <p className="nbc-muted">{trans.__('Publishing would change nothing.')}</p>
      ) : (
        <table className="nbc-table">
          <thead>
            <tr>
              <th>{trans.__('Change')}</th>
              <th>{trans.__('Lesson')}</th>
              <th>{trans.__('What')}</th>
              <th>{trans.__("Students' progress touched")}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map(({ kind, label, row }) => (
              <tr key={`${kind}-${row.slug}`} className={`nbc-cv-row-${kind}`} data-change={kind} data-lesson={row.slug}>
                <td>{label}</td>
                <td>
                  {row.title} <span className="nbc-muted">({row.slug})</span>
                </td>
                <td>{(row.what ?? []).join(', ')}</td>
                <td>{row.students ?? 0}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

export function CourseView(props: {
  folders: CourseFolders;
  trans: ITrans;
  initialPath?: string;
  open?: (path: string) => void; // a notebook opened in the Lab's main area
}): JSX.Element {
  const { folders: api, trans } = props;
  const [folders, setFolders] = useState<IFolder[] | null>(null);
  const [path, setPath] = useState<string>(props.initialPath ?? '');
  const [course, setCourse] = useState<ICourseFile | null>(null);
  const [draft, setDraft] = useState<any | null>(null);
  const [dirty, setDirty] = useState(false);
  const [problems, setProblems] = useState<IProblem[] | null>(null);
  const [plan, setPlan] = useState<IPlan | null>(null);
  const [preview, setPreview] = useState<IPreview | null>(null);
  const [previewError, setPreviewError] = useState<string>('');
  const [message, setMessage] = useState<Msg>(null);
  const [busy, setBusy] = useState('');
  const [newTitle, setNewTitle] = useState('');
  const [outcome, setOutcome] = useState<Msg>(null);
  const [folderError, setFolderError] = useState('');
  const [read, setRead] = useState<Record<string, IReadExercise[]>>({});

  const fail = (err: unknown) => setMessage({ kind: 'error', text: (err as Error).message });
  const q = (p: string) => `?path=${encodeURIComponent(p)}`;

  const loadFolders = async () => {
    try {
      const found = (await api.call<{ folders: IFolder[] }>('folders')).folders;
      setFolders(found);
      if (!path && found.length) {
        setPath(found[0].path);
      }
    } catch (err) {
      fail(err);
    }
  };

  const check = async (p = path) => {
    try {
      const result = await api.call<{ valid: boolean; errors: IProblem[]; exercises?: Record<string, IReadExercise[]> }>(`check${q(p)}`, 'POST', {});
      setProblems(result.errors);
      setRead(result.exercises ?? {});
      return result.valid;
    } catch (err) {
      fail(err);
      return false;
    }
  };

  const loadCourse = async (p: string) => {
    setPlan(null);
    setOutcome(null);
    setPreview(null);
    setPreviewError('');
    setProblems(null);
    setFolderError('');
    if (!p) {
      setCourse(null);
      return;
    }
    try {
      const loaded = await api.call<ICourseFile>(`course${q(p)}`);
      setCourse(loaded);
      setDraft(loaded.data);
      setDirty(false);
      await check(p);
    } catch (err) {
      // the folder is not a course (e.g. the importer found no exercise): said beside it
      setCourse(null);
      setFolderError((err as Error).message);
    }
  };

  useEffect(() => {
    void loadFolders();
  }, []);
  useEffect(() => {
    void loadCourse(path);
  }, [path]);

  const run = async (label: string, work: () => Promise<void>) => {
    setBusy(label);
    setMessage(null);
    try {
      await work();
    } catch (err) {
      fail(err);
    } finally {
      setBusy('');
    }
  };

  const save = () =>
    run('save', async () => {
      const wasGenerated = !!course?.generated;
      const saved = await api.call<ICourseFile>(`course${q(path)}`, 'PUT', { data: draft });
      setCourse(saved);
      setDraft(saved.data);
      setDirty(false);
      setPlan(null);
      if (wasGenerated) {
        await loadFolders();
      }
      const valid = await check();
      const done = wasGenerated
        ? trans.__('course.yaml written into %1/ (later edits are yours)', folderShown(path))
        : trans.__('course.yaml saved');
      setMessage(valid ? { kind: 'ok', text: trans.__('%1; no errors.', done) } : { kind: 'error', text: trans.__('%1, with errors (see beside their lines).', done) });
    });

  const startNew = () =>
    run('new', async () => {
      const made = await api.call<ICourseFile>('new', 'POST', { title: newTitle });
      setNewTitle('');
      await loadFolders();
      setPath(made.path);
      setMessage({ kind: 'ok', text: trans.__('New course in %1/ from the template.', made.path) });
    });

  const doPreview = (lesson: string) =>
    run('preview', async () => {
      setPreview(null);
      setPreviewError('');
      try {
        setPreview(await api.call<IPreview>(`preview${q(path)}`, 'POST', { lesson }));
      } catch (err) {
        setPreviewError((err as Error).message);
      }
    });

  const dryRun = () =>
    run('dry-run', async () => {
      setPlan(null);
      setOutcome(null);
      try {
        setPlan(await api.call<IPlan>(`dry-run${q(path)}`, 'POST', {}));
      } catch (err) {
        setOutcome({ kind: 'error', text: (err as Error).message });
      }
    });

  const publish = () =>
    run('publish', async () => {
      if (!plan) {
        return;
      }
      try {
        const done = await api.call<any>(`publish${q(path)}`, 'POST', { revision: plan.revision });
        setPlan(null);
        setOutcome({
          kind: 'ok',
          text:
            done.status === 'in_review'
              ? trans.__('Published to the campus and sent for review: an admin makes it visible to students.')
              : trans.__('Published: %1 lesson(s), %2 exercise(s); course status %3.', done.lessons, done.exercises, done.status)
        });
      } catch (err) {
        if (err instanceof CampusError && err.status === 409) {
          setPlan(null);
        }
        setOutcome({ kind: 'error', text: (err as Error).message });
      }
    });

  const generated = !!course?.generated;
  const write = writeAction(generated, dirty, !!busy, trans);
  const hint = publishHint(generated, dirty, problems?.length ?? 0, !!plan, trans);
  const lessons: string[] = [];
  for (const section of Array.isArray(draft?.sections) ? draft.sections : []) {
    for (const lesson of section?.lessons ?? []) {
      if (lesson?.slug) {
        lessons.push(String(lesson.slug));
      }
    }
  }

  return (
    <div className="nbc-cv">
      <div className="nbc-cv-bar">
        <label>
          {trans.__('Course folder')}{' '}
          <select className="nbc-cv-folder" value={path} onChange={e => setPath(e.target.value)}>
            {(folders ?? []).length === 0 && <option value="">{trans.__('(none yet)')}</option>}
            {(folders ?? []).map(f => (
              <option key={f.path} value={f.path}>
                {folderLabel(f, trans)}
              </option>
            ))}
          </select>
        </label>
        {folderError && (
          <span className="nbc-error nbc-cv-folder-error" role="alert">
            {folderError}
          </span>
        )}
        <span className="nbc-cv-new">
          <input
            className="nbc-cv-new-title"
            placeholder={trans.__('New course title')}
            value={newTitle}
            onChange={e => setNewTitle(e.target.value)}
          />
          <button className="jp-mod-styled nbc-cv-new-course" disabled={!newTitle.trim() || !!busy} onClick={() => void startNew()}>
            {trans.__('New course')}
          </button>
        </span>
      </div>
      {message && (
        <div className={message.kind === 'ok' ? 'nbc-cv-ok' : 'nbc-error'} role={message.kind === 'ok' ? 'status' : 'alert'}>
          {message.text}
        </div>
      )}
      {!course && folders !== null && !folderError && (
        <p className="nbc-muted">
          {trans.__("No course folder in your home yet: start one from the template above, clone a course repository with a course.yaml, or copy an nbgrader course (its source/ folder) into your home.")}
        </p>
      )}
      {course && (
        <div className="nbc-cv-body">
          <section className="nbc-cv-panel">
            <h3>
              {trans.__('Manifest')} <span className="nbc-muted nbc-cv-source">{manifestSource(!!course.generated, course.path, trans)}</span>
            </h3>
            {draft ? (
              <ManifestForm
                data={draft}
                read={read}
                place={course}
                open={props.open}
                trans={trans}
                onChange={d => {
                  setDraft(d);
                  setDirty(true);
                }}
              />
            ) : (
              <p className="nbc-muted">{trans.__('course.yaml is not a mapping the form can show; fix it as text (see the errors).')}</p>
            )}
            <div className="nbc-cv-actions">
              <button className="jp-mod-styled jp-mod-accept nbc-cv-save" disabled={write.disabled} onClick={() => void save()}>
                {write.label}
              </button>
              <button className="jp-mod-styled nbc-cv-reload" disabled={!!busy} onClick={() => void loadCourse(path)}>
                {trans.__('Reload from disk')}
              </button>
              {write.hint && <span className="nbc-muted nbc-cv-write-hint">{write.hint}</span>}
            </div>
          </section>
          <section className="nbc-cv-panel nbc-cv-validation">
            <h3>
              {trans.__('Validation')}{' '}
              {problems && (
                <span className={problems.length ? 'nbc-cv-count-bad' : 'nbc-cv-count-ok'}>
                  {problems.length ? trans.__('%1 error(s)', problems.length) : trans.__('no errors')}
                </span>
              )}
            </h3>
            <YamlWithErrors yaml={course.yaml} problems={problems ?? []} />
          </section>
          <section className="nbc-cv-panel nbc-cv-preview">
            <h3>{trans.__('Student version (nbgrader generate)')}</h3>
            <div className="nbc-cv-actions">
              {lessons.map(l => (
                <button key={l} className="jp-mod-styled nbc-cv-preview-lesson" data-lesson={l} disabled={!!busy} onClick={() => void doPreview(l)}>
                  {trans.__('Preview %1', l)}
                </button>
              ))}
              {busy === 'preview' && <span className="nbc-muted">{trans.__('nbgrader is generating…')}</span>}
            </div>
            {previewError && (
              <pre className="nbc-error nbc-cv-nbgrader-error" role="alert">
                {previewError}
              </pre>
            )}
            {preview && (
              <div className="nbc-cv-previews">
                <p className="nbc-muted">{trans.__('Released files: %1', preview.files.join(', '))}</p>
                {preview.notebooks.map(nb => (
                  <div key={nb.name}>
                    <h4>{nb.name}</h4>
                    <iframe className="nbc-cv-frame" title={nb.name} sandbox="" srcDoc={nb.html} />
                  </div>
                ))}
              </div>
            )}
          </section>
          <section className="nbc-cv-panel nbc-cv-publish">
            <h3>{trans.__('Publish')}</h3>
            <div className="nbc-cv-actions">
              <button className="jp-mod-styled nbc-cv-dry-run" disabled={!!busy || dirty || !!problems?.length} onClick={() => void dryRun()}>
                {busy === 'dry-run' ? trans.__('Comparing…') : trans.__('Dry run')}
              </button>
              <button className="jp-mod-styled jp-mod-accept nbc-cv-do-publish" disabled={!plan || !!busy || dirty} onClick={() => void publish()}>
                {busy === 'publish' ? trans.__('Publishing…') : trans.__('Publish')}
              </button>
              {hint && <span className="nbc-muted">{hint}</span>}
            </div>
            {outcome && (
              <div className={outcome.kind === 'ok' ? 'nbc-cv-ok nbc-cv-outcome' : 'nbc-error nbc-cv-outcome'} role={outcome.kind === 'ok' ? 'status' : 'alert'}>
                {outcome.text}
              </div>
            )}
            {plan && <PlanTable plan={plan} trans={trans} />}
          </section>
        </div>
      )}
    </div>
  );
}

class CourseViewWidget extends ReactWidget {
  constructor(
    private readonly folders: CourseFolders,
    private readonly trans: ITrans,
    private readonly initialPath?: string,
    private readonly open?: (path: string) => void
  ) {
    super();
    this.addClass('nbc-cv-widget');
  }

  render(): JSX.Element {
    return <CourseView folders={this.folders} trans={this.trans} initialPath={this.initialPath} open={this.open} />;
  }
}


export const courseViewPlugin: JupyterFrontEndPlugin<void> = {
  id: '@nbcampus/lab:course-view',
  description: 'The Course view: author, preview and publish a course folder of your home.',
  autoStart: true,
  optional: [ICommandPalette, ITranslator, IDocumentManager],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    translator: ITranslator | null,
    docManager: IDocumentManager | null
  ) => {
    const trans = (translator ?? nullTranslator).load('nbcampus');
    const open = (path: string) => {
      if (docManager) {
        docManager.openOrReveal(path);
      } else {
        void app.commands.execute('docmanager:open', { path });
      }
    };
    const folders = new CourseFolders(ServerConnection.makeSettings(), trans);
    let current: MainAreaWidget<CourseViewWidget> | null = null;
    app.commands.addCommand(COURSE_VIEW_COMMAND, {
      label: trans.__('Course view'),
      caption: trans.__('Author, preview and publish a course folder of your home'),
      icon: campusIcon,
      isVisible: authoringEnabled,
      execute: args => {
        if (current && !current.isDisposed) {
          app.shell.activateById(current.id);
          return;
        }
        const content = new CourseViewWidget(folders, trans, (args.path as string) || undefined, open);
        current = new MainAreaWidget({ content });
        current.id = 'nbcampus-course-view';
        current.title.label = trans.__('Course view');
        current.title.icon = campusIcon;
        current.title.closable = true;
        app.shell.add(current, 'main');
        app.shell.activateById(current.id);
      }
    });
    if (palette && authoringEnabled()) {
      palette.addItem({ command: COURSE_VIEW_COMMAND, category: trans.__('Campus') });
    }
  }
};
