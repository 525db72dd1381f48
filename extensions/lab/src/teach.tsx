/**
 * The instructor's and staff's tools in the panel: unlock the next lesson, take attendance
 * with the credit impact shown before saving, write (scheduled) announcements, the roster,
 * and the way to the grading view. Shown only to teachers; the campus refuses the calls of
 * anybody else anyway.
 */
import React, { useEffect, useState } from 'react';

import * as ep from './endpoints';
import { renderMarkdown } from './markdown';
import { AttendanceStatus, creditImpact } from './model';
import type { IPanelActions } from './panel';
import { CampusStore } from './store';

export interface ITeachClass {
  id: number;
  name: string;
  course: string;
  status?: string;
  meetings_total?: number;
  meetings_completed?: number;
  unlocked_lessons?: number;
  next_lesson?: { slug: string; title: string } | null;
}

export interface IRosterRow {
  user: string;
  display_name?: string;
  credits_remaining?: number;
  attendance_rate?: number | null;
  xp?: number;
  last_activity?: string | null;
}

interface IMeeting {
  meeting: number;
  records: { user: string; status: AttendanceStatus }[];
}

const STATUSES: AttendanceStatus[] = ['present', 'late', 'absent'];

function Message(props: { kind: 'error' | 'ok'; text: string }): JSX.Element {
  return (
    <div className={props.kind === 'error' ? 'nbc-error' : 'nbc-ok'} role={props.kind === 'error' ? 'alert' : 'status'}>
      {props.text}
    </div>
  );
}

export function TeachTab(props: { store: CampusStore; actions: IPanelActions }): JSX.Element {
  const { store, actions } = props;
  const trans = store.trans;
  const client = store.client;
  const [classes, setClasses] = useState<ITeachClass[] | null>(null);
  const [classId, setClassId] = useState<number | null>(null);
  const [roster, setRoster] = useState<IRosterRow[] | null>(null);
  const [meetings, setMeetings] = useState<IMeeting[]>([]);
  const [error, setError] = useState('');
  const [notice, setNotice] = useState('');
  const [meeting, setMeeting] = useState(1);
  const [sheet, setSheet] = useState<Record<string, AttendanceStatus>>({});
  const [title, setTitle] = useState('');
  const [body, setBody] = useState('');
  const [when, setWhen] = useState('');
  const [preview, setPreview] = useState(false);

  const fail = (err: unknown) => {
    setNotice('');
    setError((err as Error).message || String(err));
  };

  const loadClasses = async () => {
    try {
      const res = await client.get<{ classes: ITeachClass[] }>('campus', ep.campus.classes);
      setClasses(res.classes ?? []);
      if (res.classes?.length && classId === null) {
        setClassId(res.classes[0].id);
      }
    } catch (err) {
      fail(err);
    }
  };

  const loadClass = async (id: number) => {
    try {
      const [r, a] = await Promise.all([
        client.get<{ students: IRosterRow[] }>('campus', ep.campus.roster(id)),
        client.get<{ meetings: IMeeting[] }>('campus', ep.campus.attendance(id))
      ]);
      setRoster(r.students ?? []);
      const taken = a.meetings ?? [];
      setMeetings(taken);
      const next = taken.length ? Math.max(...taken.map(m => m.meeting)) + 1 : 1;
      setMeeting(next);
      setSheet(Object.fromEntries((r.students ?? []).map(s => [s.user, 'present' as AttendanceStatus])));
    } catch (err) {
      fail(err);
    }
  };

  useEffect(() => {
    void loadClasses();
  }, []);
  useEffect(() => {
    if (classId !== null) {
      void loadClass(classId);
    }
  }, [classId]);

  const current = classes?.find(c => c.id === classId);
  const previous = meetings.find(m => m.meeting === meeting);
  const previousMap = Object.fromEntries((previous?.records ?? []).map(r => [r.user, r.status]));

  // Switching to an already taken meeting loads its sheet for editing.
  useEffect(() => {
    if (previous) {
      setSheet(Object.fromEntries(previous.records.map(r => [r.user, r.status])));
    }
  }, [meeting, meetings.length]);

  const credits = Object.fromEntries((roster ?? []).map(s => [s.user, s.credits_remaining ?? 0]));
  const impact = creditImpact(credits, sheet, previousMap);

  const unlock = async () => {
    if (!current) {
      return;
    }
    try {
      const res = await client.post<any>('campus', ep.campus.unlockLesson(current.id), {});
      setError('');
      setNotice(trans.__('Unlocked: %1', res?.lesson?.title ?? res?.title ?? trans.__('the next lesson')));
      await loadClasses();
    } catch (err) {
      fail(err);
    }
  };

  const saveAttendance = async () => {
    if (!current) {
      return;
    }
    const records = Object.entries(sheet).map(([user, status]) => ({ user, status }));
    try {
      if (previous) {
        await client.put('campus', ep.campus.attendanceMeeting(current.id, meeting), { records });
      } else {
        await client.post('campus', ep.campus.attendance(current.id), { meeting, records });
      }
      setError('');
      setNotice(trans.__('Attendance for meeting %1 saved.', meeting));
      await Promise.all([loadClass(current.id), loadClasses()]);
    } catch (err) {
      fail(err);
    }
  };

  const announce = async () => {
    if (!current) {
      return;
    }
    try {
      await client.post('campus', ep.campus.announcements, {
        class_id: current.id,
        title,
        body,
        publish_at: when ? new Date(when).toISOString() : null
      });
      setError('');
      setNotice(when ? trans.__('Announcement scheduled.') : trans.__('Announcement sent.'));
      setTitle('');
      setBody('');
      setWhen('');
    } catch (err) {
      fail(err);
    }
  };

  if (classes === null && !error) {
    return <div className="nbc-tabpanel nbc-muted">{trans.__('Loading your classes…')}</div>;
  }
  return (
    <div className="nbc-tabpanel nbc-teach">
      {error && <Message kind="error" text={error} />}
      {notice && <Message kind="ok" text={notice} />}
      {classes?.length === 0 && <div className="nbc-muted">{trans.__('You teach no class yet.')}</div>}
      {!!classes?.length && (
        <label className="nbc-field">
          {trans.__('Class')}
          <select
            value={classId ?? ''}
            onChange={e => setClassId(Number(e.target.value))}
            aria-label={trans.__('Class')}
          >
            {classes.map(c => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </label>
      )}
      {current && (
        <>
          <section className="nbc-card" aria-label={trans.__('Unlock lessons')}>
            <h3>{trans.__('Lessons')}</h3>
            <p>
              {trans.__(
                '%1 lessons unlocked; %2 of %3 meetings completed (unlocked lessons never exceed meetings completed).',
                current.unlocked_lessons ?? 0,
                current.meetings_completed ?? 0,
                current.meetings_total ?? '?'
              )}
            </p>
            <button
              className="jp-mod-styled jp-mod-accept nbc-unlock"
              onClick={() => void unlock()}
              disabled={(current.unlocked_lessons ?? 0) >= (current.meetings_completed ?? 0)}
            >
              {current.next_lesson
                ? trans.__('Unlock “%1”', current.next_lesson.title)
                : trans.__('Unlock the next lesson')}
            </button>
            <button className="nbc-link" onClick={() => actions.openGrading(current.course)}>
              {trans.__('Open the grading view')}
            </button>
          </section>

          <section className="nbc-card" aria-label={trans.__('Attendance')}>
            <h3>{trans.__('Attendance')}</h3>
            <label className="nbc-field">
              {trans.__('Meeting')}
              <input
                type="number"
                min={1}
                max={current.meetings_total ?? undefined}
                value={meeting}
                onChange={e => setMeeting(Math.max(1, Number(e.target.value) || 1))}
              />
              {previous && <span className="nbc-chip">{trans.__('taken; editing')}</span>}
            </label>
            <table className="nbc-table">
              <thead>
                <tr>
                  <th>{trans.__('Student')}</th>
                  <th>{trans.__('Status')}</th>
                  <th>{trans.__('Credits')}</th>
                </tr>
              </thead>
              <tbody>
                {impact.map(row => (
                  <tr key={row.user}>
                    <td>{row.user}</td>
                    <td>
                      <div role="radiogroup" aria-label={trans.__('Attendance of %1', row.user)} className="nbc-radios">
                        {STATUSES.map(s => (
                          <label key={s}>
                            <input
                              type="radio"
                              name={`att-${row.user}`}
                              value={s}
                              checked={sheet[row.user] === s}
                              onChange={() => setSheet({ ...sheet, [row.user]: s })}
                            />
                            {trans.__(s)}
                          </label>
                        ))}
                      </div>
                    </td>
                    <td className={row.delta ? 'nbc-impact' : ''}>
                      {row.delta ? `${row.before} → ${row.after}` : row.before}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            <button className="jp-mod-styled jp-mod-accept nbc-save-attendance" onClick={() => void saveAttendance()}>
              {previous ? trans.__('Save changes') : trans.__('Save attendance')}
            </button>
          </section>

          <section className="nbc-card" aria-label={trans.__('Announcement')}>
            <h3>{trans.__('Announcement')}</h3>
            <label className="nbc-field nbc-wide">
              {trans.__('Title')}
              <input value={title} onChange={e => setTitle(e.target.value)} />
            </label>
            <label className="nbc-field nbc-wide">
              {trans.__('Message (Markdown)')}
              <textarea rows={4} value={body} onChange={e => setBody(e.target.value)} />
            </label>
            {preview && (
              <div className="nbc-markdown nbc-preview" dangerouslySetInnerHTML={{ __html: renderMarkdown(body) }} />
            )}
            <label className="nbc-field">
              {trans.__('Send at (optional)')}
              <input type="datetime-local" value={when} onChange={e => setWhen(e.target.value)} />
            </label>
            <div className="nbc-row">
              <button className="jp-mod-styled" onClick={() => setPreview(!preview)}>
                {preview ? trans.__('Hide preview') : trans.__('Preview')}
              </button>
              <button
                className="jp-mod-styled jp-mod-accept nbc-announce"
                disabled={!title.trim()}
                onClick={() => void announce()}
              >
                {when ? trans.__('Schedule') : trans.__('Send')}
              </button>
            </div>
          </section>

          <section className="nbc-card" aria-label={trans.__('Roster')}>
            <h3>{trans.__('Roster')}</h3>
            <table className="nbc-table nbc-roster">
              <thead>
                <tr>
                  <th>{trans.__('Student')}</th>
                  <th>{trans.__('Credits')}</th>
                  <th>{trans.__('Attendance')}</th>
                  <th>{trans.__('XP')}</th>
                  <th>{trans.__('Last active')}</th>
                </tr>
              </thead>
              <tbody>
                {(roster ?? []).map(s => (
                  <tr key={s.user}>
                    <td>{s.display_name || s.user}</td>
                    <td>{s.credits_remaining ?? '–'}</td>
                    <td>{s.attendance_rate === null || s.attendance_rate === undefined ? '–' : `${Math.round(s.attendance_rate * 100)}%`}</td>
                    <td>{s.xp ?? '–'}</td>
                    <td>{s.last_activity ? new Date(s.last_activity).toLocaleDateString() : '–'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        </>
      )}
    </div>
  );
}
