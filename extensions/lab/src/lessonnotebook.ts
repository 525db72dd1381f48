/**
 * Where an exercise's notebook is in a course folder, so the Course view can open it in the
 * Lab: a lesson's folder is `lessons/<slug>/` (course.yaml) or nbgrader's `source/<slug>/`
 * (a bare nbgrader folder), and an exercise's notebook is its `notebook:` or `<slug>.ipynb`
 * (hub/campus/manifest.py). Only a notebook the folder really holds gets an Open action.
 */

export interface ILessonPlace {
  path: string; // the course folder, relative to the home ('' or '.' for the home itself)
  generated?: boolean; // nbgrader's layout, no course.yaml
  lessons: Record<string, string[]>; // each lesson folder's files
}

/** The notebook's path from the home, or null when the lesson folder has no such notebook. */
export function exerciseNotebookPath(
  course: ILessonPlace,
  lesson: string,
  exercise: { slug?: string; notebook?: string }
): string | null {
  const name = exercise.notebook || (exercise.slug ? `${exercise.slug}.ipynb` : '');
  if (!name.endsWith('.ipynb') || !(course.lessons[lesson] ?? []).includes(name)) {
    return null;
  }
  const parts = [course.path, course.generated ? 'source' : 'lessons', lesson, name];
  return parts.filter(p => p !== '' && p !== '.').join('/');
}
