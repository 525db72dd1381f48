/**
 * What the Campus panel offers on an open lesson without notebooks, in place of Open and
 * Submit (which fetch and hand in nbgrader notebooks): for each written assignment, where it
 * stands (not handed in, handed in and waiting for a grade, graded with its points) and a
 * button that opens its tab (written.tsx). Other exercises of such a lesson (pages, videos,
 * quizzes) are listed under it by exercises.tsx as for any lesson.
 */
import React from 'react';

import { ILessonExercise, lessonExercises, openExercise } from './exercises';
import { useLessonLoad } from './lessonload';
import { ICourse, ILesson, ITrans } from './model';
import { CampusStore } from './store';
import { IWrittenAssignment, writtenPath } from './written';

interface IWrittenState {
  exercise: ILessonExercise;
  info: IWrittenAssignment | null;
  error: string;
}

/** Where a written assignment stands, in a student's words. */
export function writtenStatus(info: IWrittenAssignment, trans: ITrans, now: number = Date.now()): string {
  const newest = info.submissions[info.submissions.length - 1];
  if (!newest) {
    if (info.due_at && now > Date.parse(info.due_at)) {
      return trans.__('Not handed in; closed since %1', new Date(info.due_at).toLocaleString());
    }
    return info.due_at
      ? trans.__('Not handed in yet; due %1', new Date(info.due_at).toLocaleString())
      : trans.__('Not handed in yet');
  }
  if (!newest.graded) {
    return trans.__('Handed in %1; waiting for a grade', new Date(newest.submitted_at).toLocaleString());
  }
  if (newest.score === null || newest.score === undefined) {
    return trans.__('Graded; the points are not released yet');
  }
  return trans.__('Graded: %1 of %2 points', newest.score, newest.max_score);
}

function actionLabel(info: IWrittenAssignment | null, trans: ITrans): string {
  const newest = info?.submissions[info.submissions.length - 1];
  if (!info || !newest) {
    return trans.__('Open the assignment');
  }
  const open = !info.due_at || Date.now() <= Date.parse(info.due_at);
  return open && !newest.graded ? trans.__('View or hand in again') : trans.__('View the assignment');
}

export function WrittenLessonActions(props: { store: CampusStore; course: ICourse; lesson: ILesson }): JSX.Element | null {
  const { store, course, lesson } = props;
  const trans = store.trans;
  const lessonId = Number((lesson as any).id);
  const { items, error, changed } = useLessonLoad(store, lessonId, lesson.state, async () => {
    const all = await lessonExercises(store.client, lessonId);
    const written = all.filter(e => e.type === 'assignment');
    return Promise.all(
      written.map(async (exercise): Promise<IWrittenState> => {
        try {
          const info = await store.client.get<IWrittenAssignment>(
            'grader',
            writtenPath(course.slug, lesson.slug, exercise.slug)
          );
          return { exercise, info, error: '' };
        } catch (err) {
          return { exercise, info: null, error: (err as Error).message };
        }
      })
    );
  });

  if (error) {
    return <div className="nbc-error nbc-written-lesson-error">{error}</div>;
  }
  if (!items || !items.length) {
    return null;
  }
  return (
    <div className="nbc-written-lesson" aria-label={trans.__('Written work of %1', lesson.title)}>
      {items.map(({ exercise, info, error: itemError }) => (
        <div key={exercise.id} className="nbc-written-lesson-item" data-exercise={exercise.slug}>
          <div className="nbc-lesson-actions">
            <button
              className="jp-mod-styled jp-mod-accept nbc-written-open"
              aria-label={trans.__('Open the written assignment %1', exercise.title)}
              onClick={() => openExercise({ course, lesson, exercise, changed })}
            >
              {actionLabel(info, trans)}
            </button>
          </div>
          <div className="nbc-written-lesson-status" role="status">
            {itemError || (info ? writtenStatus(info, trans) : trans.__('Loading…'))}
          </div>
        </div>
      ))}
    </div>
  );
}
