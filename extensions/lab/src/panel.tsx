/**
 * The Campus side panel: header with XP, level, streak and badges; tabs for lessons,
 * messages, credits and (for instructors and staff) the teaching tools.
 */
import { ReactWidget } from '@jupyterlab/ui-components';
import React, { useEffect, useState } from 'react';

import { authoringEnabled } from './authoring';
import { graderPages } from './endpoints';
import { LessonExercises } from './exercises';
import { renderMarkdown } from './markdown';
import {
  courseProgress,
  formatScore,
  ICourse,
  ILesson,
  isOpenable,
  levelPercent,
  lockReason
} from './model';
import { CampusStore, IResult, Section } from './store';
import { TeachTab } from './teach';
import { CourseScore } from './scores';
import { WrittenLessonActions } from './writtenlesson';

export interface IPanelActions {
  openLesson(course: string, lesson: string): Promise<void>;
  submitLesson(course: string, lesson: string): Promise<void>;
  openLeaderboard(): void;
  /** A service API URL through the server part (for downloads such as CSV reports). */
  serviceUrl(service: 'campus' | 'grader', path: string): string;
  /** A grader page at the Hub for a new browser tab (manual grading, feedback); null when
   * the Lab runs without a Hub. */
  graderPageUrl(path: string): string | null;
  /** A class's dashboard (the dashboards service at the Hub); null without a Hub. */
  dashboardUrl(classId: number): string | null;
  /** One of the Hub's own account pages (profile, password change) for a new browser tab;
   * null without a Hub. */
  hubPageUrl(page: 'profile' | 'password'): string | null;
  /** The Class view of a class (or of the first one taught) in the main area. */
  openClassView(classId?: number): void;
  /** The Course view (courseview.tsx), for course authors. */
  openCourseView?(): void;
}

type Tab = 'lessons' | 'messages' | 'credits' | 'teach';

function useStore(store: CampusStore): number {
  const [version, setVersion] = useState(0);
  useEffect(() => store.subscribe(() => setVersion(v => v + 1)), [store]);
  return version;
}

export function SectionStatus(props: {
  store: CampusStore;
  section: Section;
  what: string;
}): JSX.Element | null {
  const { store, section, what } = props;
  const trans = store.trans;
  const error = store.errors[section];
  if (error) {
    return (
      <div className="nbc-error" role="alert">
        <strong>{trans.__('Could not load %1.', what)}</strong> {error}
      </div>
    );
  }
  if (store.unavailable[section]) {
    return (
      <div className="nbc-muted" role="status">
        {trans.__('%1: not available on this campus yet.', what)}
      </div>
    );
  }
  return null;
}

/** The person's own account pages at the Hub: they live outside the Lab, so a new tab. */
function AccountLinks(props: { store: CampusStore; actions: IPanelActions }): JSX.Element | null {
  const { store, actions } = props;
  const trans = store.trans;
  const links: [string, string | null, string][] = [
    [
      trans.__('Profile'),
      actions.hubPageUrl('profile'),
      trans.__('Your profile (opens in a new tab)')
    ],
    [
      trans.__('Change password'),
      actions.hubPageUrl('password'),
      trans.__('Change your password (opens in a new tab)')
    ]
  ];
  if (links.every(([, href]) => !href)) {
    return null;
  }
  return (
    <nav className="nbc-account" aria-label={trans.__('Your account')}>
      {links.map(([label, href, aria]) =>
        href ? (
          <a
            key={label}
            className="nbc-link"
            href={href}
            target="_blank"
            rel="noopener noreferrer"
            aria-label={aria}
          >
            {label}
          </a>
        ) : null
      )}
    </nav>
  );
}

function Header(props: { store: CampusStore; actions: IPanelActions }): JSX.Element {
  const { store, actions } = props;
  const trans = store.trans;
  const me = store.me;
  const level = store.level;
  const pct = level ? levelPercent(level) : 0;
  const badges = level?.badges ?? [];
  return (
    <header className="nbc-header">
      <div className="nbc-who">
        <span className="nbc-avatar" aria-hidden="true">
          {(me?.display_name || me?.name || '?').slice(0, 1).toUpperCase()}
        </span>
        <div>
          <div className="nbc-name">{me ? me.display_name || me.name : trans.__('Loading…')}</div>
          {me && <div className="nbc-role">{trans.__(me.role)}</div>}
        </div>
        <button
          className="nbc-refresh"
          title={trans.__('Refresh')}
          aria-label={trans.__('Refresh the campus')}
          onClick={() => void store.refresh()}
        >
          ↻
        </button>
      </div>
      <AccountLinks store={store} actions={actions} />
      {store.isTeacher ? null : level ? (
        <div className="nbc-level" aria-label={trans.__('Level %1, %2 XP', level.level, level.xp)}>
          <div className="nbc-level-line">
            <span className="nbc-level-number">{trans.__('Level %1', level.level)}</span>
            <span className="nbc-xp">{trans.__('%1 XP', level.xp)}</span>
            {!!level.streak && (
              <span className="nbc-streak" title={trans.__('Daily streak')}>
                {trans.__('%1-day streak', level.streak)}
              </span>
            )}
          </div>
          <div
            className="nbc-bar nbc-bar-xp"
            role="progressbar"
            aria-label={trans.__('Progress to the next level')}
            aria-valuemin={0}
            aria-valuemax={100}
            aria-valuenow={pct}
          >
            <div style={{ width: `${pct}%` }} />
          </div>
          <div className="nbc-badges">
            {badges.slice(0, 6).map(b => (
              <span
                key={b.slug}
                className={`nbc-badge nbc-rarity-${b.rarity ?? 'common'}`}
                title={`${b.name}${b.description ? ': ' + b.description : ''}`}
                aria-label={trans.__('Badge: %1', b.name)}
              >
                ★ {b.name}
              </span>
            ))}
            <button className="nbc-link" onClick={() => actions.openLeaderboard()}>
              {trans.__('Leaderboard')}
            </button>
          </div>
        </div>
      ) : store.errors.level ? (
        <SectionStatus store={store} section="level" what={trans.__('your XP')} />
      ) : (
        <div className="nbc-level nbc-level-soon">
          {store.unavailable.level
            ? trans.__('XP, levels and badges will show here.')
            : trans.__('Loading your XP…')}
        </div>
      )}
    </header>
  );
}

// Drawn, not emoji: headless and minimal systems often have no emoji font.
const LOCK = (
  <svg viewBox="0 0 16 16" width="12" height="12" aria-hidden="true">
    <path
      fill="currentColor"
      d="M4 7V5a4 4 0 1 1 8 0v2h1v8H3V7h1zm2 0h4V5a2 2 0 1 0-4 0v2z"
    />
  </svg>
);

const STATE_ICONS: Record<string, React.ReactNode> = {
  locked: LOCK,
  unlocked: '○',
  in_progress: '◐',
  completed: '●',
  graded: '✔'
};

function ResultView(props: {
  store: CampusStore;
  actions: IPanelActions;
  result: IResult;
}): JSX.Element {
  const { store, actions, result } = props;
  const trans = store.trans;
  if (result.status === 'failed') {
    return (
      <div className="nbc-result nbc-error" role="alert">
        {result.error || trans.__('The submission failed.')}
      </div>
    );
  }
  if (result.status !== 'graded') {
    return (
      <div className="nbc-result" role="status">
        <span className="nbc-spinner" aria-hidden="true" />
        {trans.__('Submitted, grading…')}
      </div>
    );
  }
  const feedbackUrl =
    result.submission_id && !result.score_hidden
      ? actions.graderPageUrl(graderPages.feedback(result.submission_id))
      : null;
  return (
    <div className="nbc-result" role="status" aria-label={trans.__('Result of %1', result.lesson)}>
      <div className="nbc-result-score">
        <span>{trans.__('Score')}</span>{' '}
        <strong>{result.score_hidden ? trans.__('hidden') : formatScore(result.score, result.max_score)}</strong>
        {!!result.xp_earned && <span className="nbc-xp-earned">{trans.__('+%1 XP', result.xp_earned)}</span>}
      </div>
      {result.score_hidden && (
        <p className="nbc-muted nbc-score-hidden">
          {trans.__('Graded. Your score and feedback show once your instructor releases them.')}
        </p>
      )}
      {!!result.tests?.length && (
        <ul className="nbc-tests">
          {result.tests.map(t => (
            <li key={t.name} className={t.passed ? 'nbc-pass' : 'nbc-fail'}>
              <span aria-hidden="true">{t.passed ? '✔' : '✘'}</span>{' '}
              <span className="nbc-sr">{t.passed ? trans.__('passed') : trans.__('failed')}</span>
              {t.name}
              {t.max_score !== undefined && ` (${formatScore(t.score ?? 0, t.max_score)})`}
              {t.message && <div className="nbc-test-message">{t.message}</div>}
            </li>
          ))}
        </ul>
      )}
      {result.feedback && (
        <div
          className="nbc-markdown nbc-feedback"
          dangerouslySetInnerHTML={{ __html: renderMarkdown(result.feedback) }}
        />
      )}
      {feedbackUrl && (
        <a
          className="nbc-feedback-link"
          href={feedbackUrl}
          target="_blank"
          rel="noopener noreferrer"
          aria-label={trans.__('Feedback on %1 (opens in a new tab)', result.lesson)}
        >
          {trans.__('Feedback')}
        </a>
      )}
    </div>
  );
}

function LessonRow(props: {
  store: CampusStore;
  actions: IPanelActions;
  course: ICourse;
  lesson: ILesson;
}): JSX.Element {
  const { store, actions, course, lesson } = props;
  const trans = store.trans;
  const key = store.resultKey(course.slug, lesson.slug);
  const result = store.results[key];
  const busy = !!store.busy[key];
  const stateLabel: Record<string, string> = {
    locked: trans.__('locked'),
    unlocked: trans.__('unlocked'),
    in_progress: trans.__('in progress'),
    completed: trans.__('completed'),
    graded: trans.__('graded')
  };
  return (
    <li className={`nbc-lesson nbc-state-${lesson.state}`} data-lesson={lesson.slug}>
      <div className="nbc-lesson-line">
        <span className="nbc-state-icon" aria-hidden="true">
          {STATE_ICONS[lesson.state]}
        </span>
        <span className="nbc-lesson-title">{lesson.title}</span>
        <span className="nbc-chip">{stateLabel[lesson.state]}</span>
        {lesson.score !== undefined && lesson.score !== null && (
          <span className="nbc-lesson-score">{formatScore(lesson.score, lesson.max_score)}</span>
        )}
      </div>
      {isOpenable(lesson) && lesson.notebooks === 0 ? (
        <WrittenLessonActions store={store} course={course} lesson={lesson} />
      ) : isOpenable(lesson) ? (
        <div className="nbc-lesson-actions">
          <button
            className="jp-mod-styled jp-mod-accept nbc-open"
            aria-label={trans.__('Open lesson %1', lesson.title)}
            onClick={() => void actions.openLesson(course.slug, lesson.slug)}
          >
            {trans.__('Open')}
          </button>
          <button
            className="jp-mod-styled nbc-submit"
            aria-label={trans.__('Submit lesson %1', lesson.title)}
            disabled={busy}
            onClick={() => void actions.submitLesson(course.slug, lesson.slug)}
          >
            {busy ? trans.__('Submitting…') : trans.__('Submit')}
          </button>
        </div>
      ) : (
        <div className="nbc-lock-reason">{lockReason(lesson, trans)}</div>
      )}
      {isOpenable(lesson) && <LessonExercises store={store} course={course} lesson={lesson} />}
      {result && <ResultView store={store} actions={actions} result={result} />}
    </li>
  );
}

function LessonsTab(props: { store: CampusStore; actions: IPanelActions }): JSX.Element {
  const { store, actions } = props;
  const trans = store.trans;
  const courses = store.courses;
  return (
    <div className="nbc-tabpanel">
      <SectionStatus store={store} section="courses" what={trans.__('your courses')} />
      {courses === null && !store.errors.courses && !store.unavailable.courses && (
        <div className="nbc-muted">{trans.__('Loading your courses…')}</div>
      )}
      {courses?.length === 0 && !store.isTeacher && !(authoringEnabled() && actions.openCourseView) && (
        <div className="nbc-muted">{trans.__('You are not enrolled in any course yet.')}</div>
      )}
      {courses?.length === 0 && !store.isTeacher && authoringEnabled() && actions.openCourseView && (
        // A course author with no class yet (a new instructor) starts with a course.
        <div className="nbc-teacher-landing">
          <p>
            {trans.__(
              'You teach no class yet. Start a course in the Course view and publish it; staff then open a class for it.'
            )}
          </p>
          <button className="jp-mod-styled jp-mod-accept nbc-open-courseview" onClick={() => actions.openCourseView?.()}>
            {trans.__('Open the Course view')}
          </button>
        </div>
      )}
      {courses?.length === 0 && store.isTeacher && (
        // Instructors land on their classes, not on a student's empty list.
        <div className="nbc-teacher-landing">
          <p>{trans.__('You teach here: your classes are in the Class view and the Teach tab.')}</p>
          <button className="jp-mod-styled jp-mod-accept nbc-open-classview" onClick={() => actions.openClassView()}>
            {trans.__('Open the Class view')}
          </button>
        </div>
      )}
      {courses?.map(course => {
        const progress = courseProgress(course);
        return (
          <section className="nbc-course" key={course.slug} aria-label={course.title}>
            <h3>{course.title}</h3>
            {!!course.classes?.length && (
              <div className="nbc-classes">{course.classes.map(c => c.name).join(' · ')}</div>
            )}
            <div className="nbc-progress-line">
              <div
                className="nbc-bar"
                role="progressbar"
                aria-label={trans.__('Progress in %1', course.title)}
                aria-valuemin={0}
                aria-valuemax={100}
                aria-valuenow={progress.percent}
              >
                <div style={{ width: `${progress.percent}%` }} />
              </div>
              <span className="nbc-progress-text">
                {trans.__('%1 of %2 lessons', progress.done, progress.total)}
              </span>
            </div>
            <CourseScore store={store} course={course} version={`${progress.done}:${store.gradesVersion}`} />
            {course.sections.map(section => (
              <div className="nbc-section" key={section.slug}>
                {section.title && <h4>{section.title}</h4>}
                <ul className="nbc-lessons">
                  {section.lessons.map(lesson => (
                    <LessonRow
                      key={lesson.slug}
                      store={store}
                      actions={actions}
                      course={course}
                      lesson={lesson}
                    />
                  ))}
                </ul>
              </div>
            ))}
          </section>
        );
      })}
    </div>
  );
}

function MessagesTab(props: { store: CampusStore }): JSX.Element {
  const { store } = props;
  const trans = store.trans;
  const list = store.notifications;
  return (
    <div className="nbc-tabpanel">
      <SectionStatus store={store} section="notifications" what={trans.__('your messages')} />
      {!!store.unread && (
        <button className="nbc-link" onClick={() => void store.markAllRead()}>
          {trans.__('Mark all as read')}
        </button>
      )}
      {list?.length === 0 && <div className="nbc-muted">{trans.__('No messages yet.')}</div>}
      <ul className="nbc-messages">
        {list?.map(n => (
          <li key={String(n.id)} className={n.read ? 'nbc-read' : 'nbc-unread'}>
            <div className="nbc-message-head">
              <strong>{n.title}</strong>
              {n.created_at && (
                <time dateTime={n.created_at}>{new Date(n.created_at).toLocaleString()}</time>
              )}
            </div>
            {n.body && (
              <div
                className="nbc-markdown"
                dangerouslySetInnerHTML={{ __html: renderMarkdown(n.body) }}
              />
            )}
            {!n.read && (
              <button
                className="nbc-link"
                aria-label={trans.__('Mark "%1" as read', n.title)}
                onClick={() => void store.markRead(n.id)}
              >
                {trans.__('Mark as read')}
              </button>
            )}
          </li>
        ))}
      </ul>
    </div>
  );
}

function CreditsTab(props: { store: CampusStore }): JSX.Element {
  const { store } = props;
  const trans = store.trans;
  return (
    <div className="nbc-tabpanel">
      <SectionStatus store={store} section="credits" what={trans.__('your credits')} />
      {store.credits?.length === 0 && (
        <div className="nbc-muted">{trans.__('You are not in any class yet.')}</div>
      )}
      {store.credits?.map(c => (
        <section key={c.class_id} className="nbc-credit" aria-label={c.class_name}>
          <h3>{c.class_name}</h3>
          <div className="nbc-credit-numbers">
            <div>
              <span className="nbc-big">{c.credits_remaining}</span>
              {c.credits_total !== undefined && <span className="nbc-muted"> / {c.credits_total}</span>}
              <div className="nbc-muted">{trans.__('meeting credits left')}</div>
            </div>
            {c.attendance_rate !== undefined && c.attendance_rate !== null && (
              <div>
                <span className="nbc-big">{Math.round(c.attendance_rate)}%</span>
                <div className="nbc-muted">{trans.__('attendance')}</div>
              </div>
            )}
          </div>
          {!!c.attendance?.length && (
            <ol className="nbc-attendance-list" aria-label={trans.__('Attendance per meeting')}>
              {c.attendance.map(a => (
                <li key={a.meeting} className={`nbc-att-${a.status}`} title={trans.__('Meeting %1: %2', a.meeting, a.status)}>
                  <span>{a.meeting}</span>
                  <span className="nbc-sr">{a.status}</span>
                </li>
              ))}
            </ol>
          )}
        </section>
      ))}
    </div>
  );
}

export function CampusView(props: { store: CampusStore; actions: IPanelActions }): JSX.Element {
  const { store, actions } = props;
  useStore(store);
  const trans = store.trans;
  const [tab, setTab] = useState<Tab>('lessons');
  const tabs: [Tab, string][] = [
    ['lessons', trans.__('Lessons')],
    ['messages', trans.__('Messages')],
    ['credits', trans.__('Credits')]
  ];
  if (store.isTeacher) {
    tabs.push(['teach', trans.__('Teach')]);
  }
  const onKey = (event: React.KeyboardEvent, index: number) => {
    // Arrow keys move between tabs, as the WAI-ARIA tabs pattern asks.
    const delta = event.key === 'ArrowRight' ? 1 : event.key === 'ArrowLeft' ? -1 : 0;
    if (delta) {
      const next = tabs[(index + delta + tabs.length) % tabs.length][0];
      setTab(next);
      const el = document.getElementById(`nbc-tab-${next}`);
      el?.focus();
    }
  };
  return (
    <div className="nbc-panel" data-loaded={store.loaded ? 'true' : 'false'}>
      <Header store={store} actions={actions} />
      <SectionStatus store={store} section="me" what={trans.__('the campus')} />
      <div className="nbc-tabs" role="tablist" aria-label={trans.__('Campus sections')}>
        {tabs.map(([id, label], i) => (
          <button
            key={id}
            id={`nbc-tab-${id}`}
            role="tab"
            aria-selected={tab === id}
            aria-controls={`nbc-tabpanel-${id}`}
            tabIndex={tab === id ? 0 : -1}
            className={tab === id ? 'nbc-tab nbc-tab-active' : 'nbc-tab'}
            onClick={() => setTab(id)}
            onKeyDown={e => onKey(e, i)}
            aria-label={
              id === 'messages' && store.unread
                ? trans.__('Messages, %1 unread', store.unread)
                : undefined
            }
          >
            {label}
            {id === 'messages' && !!store.unread && (
              <span className="nbc-count" aria-hidden="true">
                {store.unread}
              </span>
            )}
          </button>
        ))}
      </div>
      <div id={`nbc-tabpanel-${tab}`} role="tabpanel" aria-labelledby={`nbc-tab-${tab}`}>
        {tab === 'lessons' && <LessonsTab store={store} actions={actions} />}
        {tab === 'messages' && <MessagesTab store={store} />}
        {tab === 'credits' && <CreditsTab store={store} />}
        {tab === 'teach' && store.isTeacher && <TeachTab store={store} actions={actions} />}
      </div>
    </div>
  );
}

export class CampusPanel extends ReactWidget {
  constructor(
    readonly store: CampusStore,
    private readonly actions: IPanelActions
  ) {
    super();
    this.addClass('nbc-CampusPanel');
  }

  render(): JSX.Element {
    return <CampusView store={this.store} actions={this.actions} />;
  }
}
