/**
 * A student's course total out of 100 under the course's progress bar in the Campus panel
 * (the campus computes it from the manifest's weights; scores not released yet are left
 * out and said so).
 */
import React, { useEffect, useState } from 'react';

import { ICourse } from './model';
import { CampusStore } from './store';

interface ISectionScore {
  section: string;
  title: string;
  weight: number;
  score: number;
}

export interface ICourseTotal {
  user: string;
  total: number | null;
  out_of: number;
  sections: ISectionScore[];
  graded: number;
  counted: number;
  hidden: number;
  /** The exercises whose scores are not released yet (they count as not graded). */
  hidden_exercises?: { lesson: string; exercise: string; title: string }[];
}

export const scoresPath = (course: string) => `courses/${encodeURIComponent(course)}/scores`;

/** "Score 72.5 / 100", with each section's share and score in its tooltip. */
export function CourseScore(props: {
  store: CampusStore;
  course: ICourse;
  /** Changes when the total may have: lessons done, a grade or a release fetched. */
  version: number | string;
}): JSX.Element | null {
  const { store, course, version } = props;
  const trans = store.trans;
  const me = store.me?.name;
  const [total, setTotal] = useState<ICourseTotal | null>(null);
  useEffect(() => {
    let live = true;
    store.client
      .get<{ students: ICourseTotal[] }>('campus', `${scoresPath(course.slug)}${me ? `?user=${encodeURIComponent(me)}` : ''}`)
      .then(data => live && setTotal(data.students.find(s => s.user === me) ?? data.students[0] ?? null))
      .catch(() => live && setTotal(null)); // the total is extra; the panel works without it
    return () => {
      live = false;
    };
  }, [course.slug, me, version]);
  if (!total || total.total === null) {
    return null;
  }
  const detail = total.sections
    .map(s => trans.__('%1: %2 / 100 (weight %3 %)', s.title || s.section, s.score, s.weight))
    .join('\n');
  return (
    <div className="nbc-course-score" title={detail}>
      <span className="nbc-course-score-label">{trans.__('Course score')}</span>{' '}
      <strong className="nbc-course-score-total">{trans.__('%1 / %2', total.total, total.out_of)}</strong>{' '}
      <span className="nbc-muted">{trans.__('(%1 of %2 graded)', total.graded, total.counted)}</span>
      {total.hidden > 0 && (
        <span
          className="nbc-muted nbc-course-score-hidden"
          title={(total.hidden_exercises ?? []).map(e => trans.__('%1: hidden', e.title || e.exercise)).join('\n')}
        >
          {' '}
          {trans.__('%1 hidden until released', total.hidden)}
        </span>
      )}
    </div>
  );
}
