/**
 * The Class view: an instructor's class in the main area, with room for a table. The roster
 * with credits and attendance, the meeting grid (a past meeting editable, its date too),
 * unlocks, announcements (sent now or scheduled), and the ways to grading and the
 * dashboards. Everything goes through the campus API the Office uses; the campus decides
 * who may (the class's instructors and TAs, staff, admins).
 */
import { ReactWidget } from '@jupyterlab/ui-components';
import '../style/classview.css';
import React, { useEffect, useState } from 'react';

import * as ep from './endpoints';
import { AttendanceChoice, creditText } from './attendancesheet';
import { AttendanceStatus, creditImpact } from './model';
import type { IPanelActions } from './panel';
import { CampusStore } from './store';
import { unlockButton } from './unlockbutton';
import {
  ITeachClass,
  IRosterRow,
  announceClassesChanged,
  fetchRoster,
  fetchTaughtClasses,
  sendAnnouncement,
  unlockNextLesson,
  useClassesChanged
} from './teach';

const LETTER: Record<string, string> = { present: 'P', late: 'L', absent: 'A' };

interface IGridMeeting {
  meeting: number;
  date: string;
  marks: Record<string, AttendanceStatus>;
}

interface IAnnouncement {
  id: number;
  title: string;
  publish_at: string;
  sent: boolean;
  read_count?: number;
  recipient_count?: number;
}

/** Attendance rows (one per student and meeting) as the grid's columns, with their date. */
export function gridFromService(rows: any[]): IGridMeeting[] {
  const byMeeting = new Map<number, IGridMeeting>();
  for (const row of rows) {
    const n = Number(row.meeting_number ?? row.meeting);
    if (!byMeeting.has(n)) {
      byMeeting.set(n, { meeting: n, date: String(row.meeting_date ?? ''), marks: {} });
    }
    byMeeting.get(n)!.marks[String(row.student ?? row.user)] = row.status;
  }
  return [...byMeeting.values()].sort((a, b) => a.meeting - b.meeting);
}

function today(): string {
  return new Date().toISOString().slice(0, 10);
}

export function ClassView(props: {
  store: CampusStore;
  actions: IPanelActions;
  classId?: number;
}): JSX.Element {
  const { store, actions } = props;
  const trans = store.trans;
  const client = store.client;
  const [classes, setClasses] = useState<ITeachClass[] | null>(null);
  const [classId, setClassId] = useState<number | null>(props.classId ?? null);
  const [roster, setRoster] = useState<IRosterRow[]>([]);
  const [grid, setGrid] = useState<IGridMeeting[]>([]);
  const [notices, setNotices] = useState<IAnnouncement[]>([]);
  const [error, setError] = useState('');
  const [notice, setNotice] = useState('');
  // The meeting being taken or edited: null when none is open.
  const [editing, setEditing] = useState<number | null>(null);
  const [sheet, setSheet] = useState<Record<string, AttendanceStatus>>({});
  const [date, setDate] = useState(today());
  const [dateError, setDateError] = useState('');
  const [title, setTitle] = useState('');
  const [body, setBody] = useState('');
  const [when, setWhen] = useState('');
  // The class whose roster and meetings are on screen: a meeting is opened only once its
  // roster is known (opened before, its sheet would be empty and the save refused).
  const [loadedId, setLoadedId] = useState<number | null>(null);

  const fail = (err: unknown) => {
    setNotice('');
    setError((err as Error).message || String(err));
  };

  const loadClasses = async () => {
    try {
      const list = await fetchTaughtClasses(client);
      setClasses(list);
      if (list.length && (classId === null || !list.some(c => c.id === classId))) {
        setClassId(list[0].id);
      }
    } catch (err) {
      setClasses([]);
      fail(err);
    }
  };

  const loadClass = async (id: number) => {
    try {
      const [students, a, n] = await Promise.all([
        fetchRoster(client, id),
        client.get<{ attendance: any[] }>('campus', ep.campus.attendance(id)),
        client.get<{ announcements: any[] }>('campus', `${ep.campus.announcements}?class=${id}`)
      ]);
      setRoster(students);
      setGrid(gridFromService(a.attendance ?? []));
      setNotices((n.announcements ?? []).filter(x => x.class_id === id));
      setLoadedId(id);
    } catch (err) {
      fail(err);
    }
  };

  useEffect(() => {
    void loadClasses();
  }, []);
  useEffect(() => {
    if (classId !== null) {
      setEditing(null);
      setLoadedId(null);
      void loadClass(classId);
    }
  }, [classId]);
  useClassesChanged(() => {
    void loadClasses();
    if (classId !== null) {
      void loadClass(classId);
    }
  });

  const current = classes?.find(c => c.id === classId) ?? null;
  const unlockState = current
    ? unlockButton(current, trans)
    : { label: '', disabled: true, noneLeft: false };
  const rosterShown = current !== null && loadedId === current.id;
  const taken = grid.find(m => m.meeting === editing) ?? null;
  const nextMeeting = grid.length ? Math.max(...grid.map(m => m.meeting)) + 1 : 1;
  const total = Math.max(current?.meetings_total ?? 0, grid.length);
  const credits = Object.fromEntries(roster.map(s => [s.user, s.credits_remaining ?? 0]));
  const impact = creditImpact(credits, sheet, taken?.marks ?? {});

  const open = (meeting: number) => {
    const found = grid.find(m => m.meeting === meeting);
    setEditing(meeting);
    setDateError('');
    setDate(found?.date || today());
    setSheet(
      found
        ? { ...found.marks }
        : Object.fromEntries(roster.map(s => [s.user, 'present' as AttendanceStatus]))
    );
  };

  const saveMeeting = async () => {
    if (!current || editing === null) {
      return;
    }
    if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) {
      setDateError(trans.__('Pick the date of the meeting.'));
      return;
    }
    const records = Object.entries(sheet).map(([student, status]) => ({ student, status }));
    try {
      if (taken) {
        await client.put('campus', ep.campus.attendanceMeeting(current.id, editing), {
          records,
          meeting_date: date
        });
      } else {
        await client.post('campus', ep.campus.attendance(current.id), {
          meeting_number: editing,
          meeting_date: date,
          records
        });
      }
      setError('');
      setDateError('');
      setNotice(trans.__('Meeting %1 saved (%2).', editing, date));
      setEditing(null);
      announceClassesChanged();
    } catch (err) {
      const e = err as Error & { field?: string };
      if (/date/i.test(e.message)) {
        setDateError(e.message);
      } else {
        fail(err);
      }
    }
  };

  const unlock = async () => {
    if (!current) {
      return;
    }
    try {
      const lesson = await unlockNextLesson(client, current.id);
      setError('');
      setNotice(trans.__('Unlocked: %1', lesson ?? trans.__('the next lesson')));
      announceClassesChanged();
    } catch (err) {
      fail(err);
    }
  };

  const announce = async () => {
    if (!current) {
      return;
    }
    try {
      await sendAnnouncement(client, current.id, title, body, when);
      setError('');
      setNotice(when ? trans.__('Announcement scheduled.') : trans.__('Announcement sent.'));
      setTitle('');
      setBody('');
      setWhen('');
      await loadClass(current.id);
    } catch (err) {
      fail(err);
    }
  };

  if (classes === null) {
    return <div className="nbc-classview nbc-muted">{trans.__('Loading your classes…')}</div>;
  }
  const gradingUrl = current?.course ? actions.graderPageUrl(ep.graderPages.grading(current.course)) : null;
  const dashboardUrl = current ? actions.dashboardUrl(current.id) : null;
  const unlocked = current?.unlocked_lessons ?? 0;
  const held = current?.meetings_completed ?? 0;
  return (
    <div className="nbc-classview">
      <header className="nbc-cv-head">
        <h1>{current ? current.name : trans.__('Your classes')}</h1>
        {!!classes.length && (
          <label className="nbc-field">
            {trans.__('Class')}
            <select
              value={classId ?? ''}
              onChange={e => setClassId(Number(e.target.value))}
              aria-label={trans.__('Class')}
            >
              {classes.map(c => (
                <option key={c.id} value={c.id}>
                  {c.name} ({c.course})
                </option>
              ))}
            </select>
          </label>
        )}
      </header>
      {error && (
        <div className="nbc-error" role="alert">
          {error}
        </div>
      )}
      {notice && (
        <div className="nbc-ok" role="status">
          {notice}
        </div>
      )}
      {!classes.length && <p className="nbc-muted">{trans.__('You teach no class yet.')}</p>}
      {current && (
        <>
          <p className="nbc-cv-facts">
            {trans.__(
              'Course %1 · %2 · meetings held %3 of %4 · lessons unlocked %5 · %6 students',
              current.course,
              current.status ?? '',
              held,
              current.meetings_total ?? '?',
              unlocked,
              roster.length
            )}
          </p>
          <nav className="nbc-links nbc-cv-links" aria-label={trans.__('Grading and reports')}>
            {gradingUrl && (
              <a href={gradingUrl} target="_blank" rel="noopener noreferrer">
                {trans.__('Manual grading')}
              </a>
            )}
            {dashboardUrl && (
              <a href={dashboardUrl} target="_blank" rel="noopener noreferrer">
                {trans.__('Class dashboard')}
              </a>
            )}
            <a href={actions.serviceUrl('grader', `courses/${encodeURIComponent(current.course)}/gradebook.csv`)} target="_blank" rel="noopener noreferrer">
              {trans.__('Gradebook (CSV)')}
            </a>
            <a href={actions.serviceUrl('campus', `classes/${current.id}/attendance/report?format=csv`)} target="_blank" rel="noopener noreferrer">
              {trans.__('Attendance report (CSV)')}
            </a>
          </nav>

          <section className="nbc-cv-section" aria-labelledby="nbc-cv-grid">
            <h2 id="nbc-cv-grid">{trans.__('Roster and meetings')}</h2>
            <div className="nbc-cv-scroll">
              <table className="nbc-table nbc-cv-grid">
                <caption>
                  {trans.__('One row per student; P present, L late, A absent. Open a meeting to take or change its attendance and date.')}
                </caption>
                <thead>
                  <tr>
                    <th scope="col">{trans.__('Student')}</th>
                    <th scope="col">{trans.__('Credits left')}</th>
                    <th scope="col">{trans.__('Attendance')}</th>
                    {Array.from({ length: total }, (_, i) => i + 1).map(n => {
                      const m = grid.find(g => g.meeting === n);
                      const canOpen = rosterShown && (!!m || n === nextMeeting);
                      return (
                        <th scope="col" key={n} className={editing === n ? 'nbc-cv-open' : ''}>
                          {canOpen ? (
                            <button
                              className="nbc-cv-meeting"
                              aria-label={
                                m
                                  ? trans.__('Edit meeting %1 of %2', n, m.date)
                                  : trans.__('Take attendance for meeting %1', n)
                              }
                              onClick={() => open(n)}
                            >
                              {n}
                            </button>
                          ) : (
                            <span className="nbc-muted">{n}</span>
                          )}
                          <div className="nbc-cv-date">{m ? m.date : ''}</div>
                        </th>
                      );
                    })}
                  </tr>
                </thead>
                <tbody>
                  {roster.map(s => (
                    <tr key={s.user} data-student={s.user}>
                      <th scope="row">{s.display_name || s.user}</th>
                      <td>{s.credits_remaining ?? '–'}</td>
                      <td>
                        {s.attendance_rate === null || s.attendance_rate === undefined
                          ? '–'
                          : `${Math.round(s.attendance_rate)}%`}
                      </td>
                      {Array.from({ length: total }, (_, i) => i + 1).map(n => {
                        const status = grid.find(g => g.meeting === n)?.marks[s.user];
                        return (
                          <td key={n} className={status ? `nbc-cv-mark nbc-cv-${status}` : 'nbc-cv-mark'} title={status ?? ''}>
                            {status ? LETTER[status] ?? status : '·'}
                          </td>
                        );
                      })}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            {!rosterShown && <p className="nbc-muted">{trans.__('Loading the roster…')}</p>}
            {rosterShown && !roster.length && (
              <p className="nbc-muted">{trans.__('No student is enrolled yet.')}</p>
            )}

            {editing !== null && (
              <form
                className="nbc-cv-editor"
                aria-label={trans.__('Meeting %1', editing)}
                onSubmit={e => {
                  e.preventDefault();
                  void saveMeeting();
                }}
              >
                <h3>
                  {taken
                    ? trans.__('Meeting %1 (taken; editing)', editing)
                    : trans.__('Meeting %1 (new)', editing)}
                </h3>
                <label className="nbc-field">
                  {trans.__('Date of the meeting')}
                  <input
                    type="date"
                    name="meeting_date"
                    value={date}
                    aria-invalid={dateError ? 'true' : undefined}
                    aria-describedby="nbc-cv-date-error"
                    onChange={e => setDate(e.target.value)}
                  />
                  <span id="nbc-cv-date-error" className="nbc-error-text">
                    {dateError}
                  </span>
                </label>
                <table className="nbc-table">
                  <tbody>
                    {impact.map(row => (
                      <tr key={row.user} data-student={row.user}>
                        <th scope="row">{row.user}</th>
                        <td>
                          <AttendanceChoice
                            trans={trans}
                            user={row.user}
                            name={`cv-att-${row.user}`}
                            value={sheet[row.user]}
                            onChange={status => setSheet({ ...sheet, [row.user]: status })}
                          />
                        </td>
                        <td className={row.delta ? 'nbc-impact' : 'nbc-muted'}>
                          {creditText(row, trans)}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
                <div className="nbc-row">
                  <button type="submit" className="jp-mod-styled jp-mod-accept nbc-cv-save">
                    {taken ? trans.__('Save changes') : trans.__('Save attendance')}
                  </button>
                  <button type="button" className="jp-mod-styled" onClick={() => setEditing(null)}>
                    {trans.__('Cancel')}
                  </button>
                </div>
              </form>
            )}
          </section>

          <div className="nbc-cv-columns">
            <section className="nbc-cv-section" aria-labelledby="nbc-cv-unlocks">
              <h2 id="nbc-cv-unlocks">{trans.__('Unlocks')}</h2>
              <p>
                {trans.__('Lessons unlocked: %1 · meetings held: %2', unlocked, held)}
              </p>
              {unlocked >= held && !unlockState.noneLeft && (
                <p className="nbc-muted">
                  {trans.__('Unlocked lessons never exceed meetings held: take attendance for meeting %1 first.', held + 1)}
                </p>
              )}
              <button className="jp-mod-styled jp-mod-accept" disabled={unlockState.disabled} onClick={() => void unlock()}>
                {unlockState.label}
              </button>
            </section>

            <section className="nbc-cv-section" aria-labelledby="nbc-cv-ann">
              <h2 id="nbc-cv-ann">{trans.__('Announcements')}</h2>
              <label className="nbc-field nbc-wide">
                {trans.__('Title')}
                <input value={title} onChange={e => setTitle(e.target.value)} />
              </label>
              <label className="nbc-field nbc-wide">
                {trans.__('Message (Markdown)')}
                <textarea rows={3} value={body} onChange={e => setBody(e.target.value)} />
              </label>
              <label className="nbc-field">
                {trans.__('Send at (optional)')}
                <input type="datetime-local" value={when} onChange={e => setWhen(e.target.value)} />
              </label>
              <button className="jp-mod-styled jp-mod-accept" disabled={!title.trim()} onClick={() => void announce()}>
                {when ? trans.__('Schedule') : trans.__('Send')}
              </button>
              {!!notices.length && (
                <ul className="nbc-cv-notices">
                  {notices.map(a => (
                    <li key={a.id}>
                      <strong>{a.title}</strong>{' '}
                      <span className="nbc-muted">
                        {a.sent
                          ? trans.__('sent %1 · read by %2 of %3', new Date(a.publish_at).toLocaleString(), a.read_count ?? 0, a.recipient_count ?? 0)
                          : trans.__('scheduled for %1', new Date(a.publish_at).toLocaleString())}
                      </span>
                    </li>
                  ))}
                </ul>
              )}
            </section>
          </div>
        </>
      )}
    </div>
  );
}

/** The Class view as a main-area widget's content. */
export class ClassViewWidget extends ReactWidget {
  constructor(
    private readonly store: CampusStore,
    private readonly actions: IPanelActions,
    private readonly classId?: number
  ) {
    super();
    this.addClass('nbc-ClassView');
  }

  render(): JSX.Element {
    return <ClassView store={this.store} actions={this.actions} classId={this.classId} />;
  }
}
