/**
 * The instructor's and staff's tools in the panel: unlock the next lesson, take attendance
 * with the credit impact shown before saving, write (scheduled) announcements, the roster,
 * and the way to the grading view. Shown only to teachers; the campus refuses the calls of
 * anybody else anyway.
 */
import React, { useEffect, useState } from 'react';

import { CampusClient } from './api';
import { AttendanceChoice, creditText } from './attendancesheet';
import { authoringEnabled } from './authoring';
import * as ep from './endpoints';
import { renderMarkdown } from './markdown';
import { meetingOpen, nextMeeting, shortOfCredits } from './meetingoffer';
import { AttendanceStatus, creditImpact } from './model';
import { OfficeLink } from './officelink';
import type { IPanelActions } from './panel';
import { CampusStore } from './store';
import { unlockButton } from './unlockbutton';

/**
 * The Teach tab and the Class view show the same classes side by side: a change made in one
 * (attendance, an unlock) is announced so that the other reloads instead of going stale.
 */
const CLASSES_CHANGED = 'nbcampus:classes-changed';

export function announceClassesChanged(): void {
  window.dispatchEvent(new Event(CLASSES_CHANGED));
}

/** Call `reload` (the component's latest) whenever some teaching tool changed a class. */
export function useClassesChanged(reload: () => void): void {
  useEffect(() => {
    const listener = () => reload();
    window.addEventListener(CLASSES_CHANGED, listener);
    return () => window.removeEventListener(CLASSES_CHANGED, listener);
  }, [reload]);
}

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

export interface IMeeting {
  meeting: number;
  records: { user: string; status: AttendanceStatus }[];
}


/** The campus's class record as the tools use it. */
export function classFromService(raw: any): ITeachClass {
  return {
    id: Number(raw.id),
    name: String(raw.name),
    course: String(raw.course ?? ''),
    status: raw.status,
    meetings_total: raw.meetings_total ?? raw.total_meetings,
    meetings_completed: raw.meetings_completed ?? 0,
    unlocked_lessons: raw.unlocked_lessons ?? raw.lessons_unlocked ?? 0,
    next_lesson: raw.next_lesson ?? null
  };
}

/** An enrollment as a roster row (attendance_rate in percent, as the campus keeps it). */
export function rosterFromService(raw: any): IRosterRow {
  return {
    user: String(raw.user ?? raw.student),
    display_name: raw.display_name,
    credits_remaining: raw.credits_remaining,
    attendance_rate: raw.attendance_rate,
    xp: raw.xp,
    last_activity: raw.last_activity
  };
}

/** Attendance rows (one per student and meeting) grouped into meetings. */
export function meetingsFromService(rows: any[]): IMeeting[] {
  const byMeeting = new Map<number, IMeeting>();
  for (const row of rows) {
    const n = Number(row.meeting_number ?? row.meeting);
    if (!byMeeting.has(n)) {
      byMeeting.set(n, { meeting: n, records: [] });
    }
    byMeeting.get(n)!.records.push({ user: String(row.student ?? row.user), status: row.status });
  }
  return [...byMeeting.values()].sort((a, b) => a.meeting - b.meeting);
}

function Message(props: { kind: 'error' | 'ok'; text: string }): JSX.Element {
  return (
    <div className={props.kind === 'error' ? 'nbc-error' : 'nbc-ok'} role={props.kind === 'error' ? 'alert' : 'status'}>
      {props.text}
    </div>
  );
}

/** The campus calls the Teach tab and the Class view both make. */
export async function fetchTaughtClasses(client: CampusClient): Promise<ITeachClass[]> {
  const res = await client.get<{ classes: any[] }>('campus', ep.campus.taughtClasses);
  return (res.classes ?? []).map(classFromService);
}

/** The class's students, withdrawn ones left out. */
export async function fetchRoster(client: CampusClient, classId: number): Promise<IRosterRow[]> {
  const res = await client.get<{ enrollments: any[] }>('campus', ep.campus.enrollments(classId));
  return (res.enrollments ?? []).filter(e => e.status !== 'withdrawn').map(rosterFromService);
}

/** Unlock the class's next lesson; the lesson's title when the campus names it. */
export async function unlockNextLesson(client: CampusClient, classId: number): Promise<string | null> {
  const res = await client.post<any>('campus', ep.campus.unlockLesson(classId), {});
  return res?.lesson?.title ?? res?.title ?? null;
}

/** An announcement to the class, now or at `when` (a local date-time, '' for now). */
export async function sendAnnouncement(
  client: CampusClient,
  classId: number,
  title: string,
  body: string,
  when: string
): Promise<void> {
  await client.post('campus', ep.campus.announcements, {
    class_id: classId,
    title,
    body,
    publish_at: when ? new Date(when).toISOString() : null
  });
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
      const list = await fetchTaughtClasses(client);
      setClasses(list);
      if (list.length && classId === null) {
        setClassId(list[0].id);
      }
    } catch (err) {
      fail(err);
    }
  };

  const loadClass = async (id: number) => {
    try {
      const [students, a] = await Promise.all([
        fetchRoster(client, id),
        client.get<{ attendance: any[] }>('campus', ep.campus.attendance(id))
      ]);
      setRoster(students);
      const taken = meetingsFromService(a.attendance ?? []);
      setMeetings(taken);
      // the next meeting, or the last one (to edit) once every meeting is held
      const total = classes?.find(c => c.id === id)?.meetings_total;
      const numbers = taken.map(m => m.meeting);
      setMeeting(nextMeeting(numbers, total) ?? Math.max(...numbers));
      setSheet(Object.fromEntries(students.map(s => [s.user, 'present' as AttendanceStatus])));
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
  useClassesChanged(() => {
    void loadClasses();
    if (classId !== null) {
      void loadClass(classId);
    }
  });

  const current = classes?.find(c => c.id === classId);
  const unlockState = current
    ? unlockButton(current, trans)
    : { label: '', disabled: true, noneLeft: false };
  const gradingUrl = current?.course
    ? actions.graderPageUrl(ep.graderPages.grading(current.course))
    : null;
  const dashboardUrl = current ? actions.dashboardUrl(current.id) : null;
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
  // Once every meeting is held there is no new one to take, only a held one to edit.
  const takenNumbers = meetings.map(m => m.meeting);
  const allHeld = !!current && nextMeeting(takenNumbers, current.meetings_total) === null;
  const open = !!current && meetingOpen(meeting, takenNumbers, current.meetings_total);
  const short = shortOfCredits(impact);

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

  const saveAttendance = async () => {
    if (!current) {
      return;
    }
    const records = Object.entries(sheet).map(([student, status]) => ({ student, status }));
    try {
      if (previous) {
        await client.put('campus', ep.campus.attendanceMeeting(current.id, meeting), { records });
      } else {
        await client.post('campus', ep.campus.attendance(current.id), {
          meeting_number: meeting,
          meeting_date: new Date().toISOString().slice(0, 10),
          records
        });
      }
      setError('');
      setNotice(trans.__('Attendance for meeting %1 saved.', meeting));
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
      {actions.openCourseView && authoringEnabled() && (
        <button className="jp-mod-styled nbc-open-courseview" onClick={() => actions.openCourseView?.()}>
          {trans.__('Open the Course view')}
        </button>
      )}
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
                'Lessons unlocked: %1 · meetings held: %2 of %3',
                current.unlocked_lessons ?? 0,
                current.meetings_completed ?? 0,
                current.meetings_total ?? '?'
              )}
            </p>
            {(current.unlocked_lessons ?? 0) >= (current.meetings_completed ?? 0) && !unlockState.noneLeft && (
              <p className="nbc-muted">
                {trans.__(
                  'Unlocked lessons never exceed meetings held: take attendance for meeting %1 first.',
                  (current.meetings_completed ?? 0) + 1
                )}
              </p>
            )}
            <button
              className="jp-mod-styled jp-mod-accept nbc-unlock"
              onClick={() => void unlock()}
              disabled={unlockState.disabled}
            >
              {unlockState.label}
            </button>
            <div className="nbc-links">
              <button className="jp-mod-styled nbc-open-classview" onClick={() => actions.openClassView(current.id)}>
                {trans.__('Open the Class view')}
              </button>
              <OfficeLink store={store} classId={current.id} />
              {gradingUrl && (
                <a
                  className="nbc-grading-link"
                  href={gradingUrl}
                  target="_blank"
                  rel="noopener noreferrer"
                  aria-label={trans.__('Open manual grading of %1 (opens in a new tab)', current.course)}
                >
                  {trans.__('Open manual grading')}
                </a>
              )}
              {dashboardUrl && (
                <a
                  className="nbc-dashboard-link"
                  href={dashboardUrl}
                  target="_blank"
                  rel="noopener noreferrer"
                  aria-label={trans.__('Open the class dashboard (opens in a new tab)')}
                >
                  {trans.__('Class dashboard')}
                </a>
              )}
              <a href={actions.serviceUrl('grader', `courses/${encodeURIComponent(current.course)}/gradebook.csv`)} target="_blank" rel="noopener noreferrer">
                {trans.__('Gradebook (CSV)')}
              </a>
              <a href={actions.serviceUrl('campus', `classes/${current.id}/attendance/report?format=csv`)} target="_blank" rel="noopener noreferrer">
                {trans.__('Attendance report (CSV)')}
              </a>
            </div>
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
            {allHeld && (
              <p className="nbc-muted nbc-all-held" role="status">
                {trans.__(
                  'All %1 meetings of this class are held: pick one (1 to %1) to change its marks.',
                  current.meetings_total
                )}
              </p>
            )}
            {!open && !allHeld && (
              <p className="nbc-muted" role="status">
                {trans.__('Meeting %1 comes next; pick it or a held meeting.', nextMeeting(takenNumbers, current.meetings_total) ?? '')}
              </p>
            )}
            {open && (
              <>
                <ul className="nbc-sheet" aria-label={trans.__('Attendance sheet')}>
                  {impact.map(row => (
                    <li key={row.user} data-student={row.user}>
                      <div className="nbc-sheet-line">
                        <span className="nbc-sheet-name">{row.user}</span>
                        <span
                          className={row.delta ? 'nbc-impact' : 'nbc-muted'}
                          aria-label={
                            row.after < 0
                              ? trans.__('Credits of %1: none left', row.user)
                              : trans.__('Credits of %1: %2 before, %3 after', row.user, row.before, row.after)
                          }
                        >
                          {creditText(row, trans)}
                        </span>
                      </div>
                      <AttendanceChoice
                        trans={trans}
                        user={row.user}
                        name={`att-${row.user}`}
                        value={sheet[row.user]}
                        onChange={status => setSheet({ ...sheet, [row.user]: status })}
                      />
                    </li>
                  ))}
                </ul>
                <div className="nbc-muted">
                  {trans.__(
                    'Saving uses %1 credits (present and late use one, absent none).',
                    -impact.reduce((sum, r) => sum + r.delta, 0)
                  )}
                </div>
                {short.length > 0 && (
                  <div className="nbc-error" role="alert">
                    {trans.__(
                      'No meeting credits left for %1: mark them absent, or have staff adjust their credits first.',
                      short.join(', ')
                    )}
                  </div>
                )}
                <button
                  className="jp-mod-styled jp-mod-accept nbc-save-attendance"
                  disabled={short.length > 0}
                  onClick={() => void saveAttendance()}
                >
                  {previous ? trans.__('Save changes') : trans.__('Save attendance')}
                </button>
              </>
            )}
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
            <ul className="nbc-roster">
              {(roster ?? []).map(s => (
                <li key={s.user}>
                  <div className="nbc-sheet-name">{s.display_name || s.user}</div>
                  <div className="nbc-roster-facts">
                    <span title={trans.__('Meeting credits left')}>
                      {trans.__('%1 credits', s.credits_remaining ?? '–')}
                    </span>
                    <span title={trans.__('Attendance rate')}>
                      {s.attendance_rate === null || s.attendance_rate === undefined
                        ? trans.__('no attendance yet')
                        : trans.__('%1% attendance', Math.round(s.attendance_rate))}
                    </span>
                    {s.xp !== undefined && <span>{trans.__('%1 XP', s.xp)}</span>}
                    {s.last_activity && (
                      <span title={trans.__('Last active')}>
                        {new Date(s.last_activity).toLocaleDateString()}
                      </span>
                    )}
                  </div>
                </li>
              ))}
            </ul>
          </section>
        </>
      )}
    </div>
  );
}
