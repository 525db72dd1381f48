/**
 * What the Lab says when an LMS launch lands on `lab?nbcampus-lesson=<course>/<lesson>`: a
 * linked lesson with no notebook to open yet. The toast names the lesson by its title and
 * says why it is not open, from the student's own courses (the Campus panel's data).
 */
import type { ICourse } from './model';

/** The part of a translation bundle the message needs (JupyterLab's TranslationBundle). */
export interface ITrans {
  __(msgid: string, ...args: any[]): string;
}

/** The message for `linked` ("<course>/<lesson>") given the student's courses. */
export function linkedLessonMessage(
  courses: ICourse[] | null,
  linked: string,
  trans: ITrans
): string {
  if (courses === null) {
    // The courses could not be read (the panel shows why): name the link as it came.
    return trans.__('Lesson %1: see it in the Campus panel.', linked);
  }
  const [courseSlug, lessonSlug] = linked.split('/', 2);
  const course = courses.find(c => c.slug === courseSlug);
  const lesson = course?.sections.flatMap(s => s.lessons).find(l => l.slug === lessonSlug);
  if (!course || !lesson) {
    // The LMS links a lesson of a course the campus has no class of hers for (yet).
    return trans.__(
      'The lesson your LMS links to is not in a class of yours yet: ask your instructor.'
    );
  }
  if (lesson.state === 'locked') {
    return lesson.unlock_meeting
      ? trans.__(
          '“%1” (%2) is not open yet: it unlocks after meeting %3.',
          lesson.title,
          course.title,
          lesson.unlock_meeting
        )
      : trans.__('“%1” (%2) is not open yet.', lesson.title, course.title);
  }
  return trans.__('“%1” (%2): open it in the Campus panel.', lesson.title, course.title);
}

/** Call `then` once the store's courses are loaded, or failed to (null); at once if so. */
export function whenCoursesLoaded(
  store: { courses: ICourse[] | null; loaded: boolean; subscribe(l: () => void): () => void },
  then: (courses: ICourse[] | null) => void
): void {
  const ready = () => store.courses !== null || store.loaded;
  if (ready()) {
    then(store.courses);
    return;
  }
  const stop = store.subscribe(() => {
    if (ready()) {
      stop();
      then(store.courses);
    }
  });
}
