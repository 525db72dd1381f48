/**
 * The lesson-bound loading both the exercise list and the written-work actions do: load when
 * the lesson (or its lock state) changes, drop a result that arrives after the lesson changed
 * again, and reload after an exercise reports a change, refreshing the panel's courses and
 * level with it.
 */
import { useEffect, useState } from 'react';

import { CampusStore } from './store';

export interface ILessonLoad<T> {
  items: T | null;
  error: string;
  /** An exercise of the lesson changed state: reload it, and the panel's courses and level. */
  changed: () => void;
}

export function useLessonLoad<T>(
  store: CampusStore,
  lessonId: number,
  lessonState: unknown,
  load: () => Promise<T>
): ILessonLoad<T> {
  const [items, setItems] = useState<T | null>(null);
  const [error, setError] = useState('');
  const [version, setVersion] = useState(0);
  useEffect(() => {
    if (!lessonId) {
      return;
    }
    let live = true;
    load()
      .then(result => {
        if (live) {
          setItems(result);
          setError('');
        }
      })
      .catch(err => live && setError((err as Error).message));
    return () => {
      live = false;
    };
  }, [lessonId, lessonState, version]);
  const changed = () => {
    setVersion(v => v + 1);
    void store.loadCourses();
    void store.loadLevel();
  };
  return { items, error, changed };
}
