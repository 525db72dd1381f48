import { exerciseNotebookPath } from '../lessonnotebook';

describe("an exercise's notebook in its course folder", () => {
  const yamlCourse = { path: 'my-course', lessons: { '01-values': ['values.ipynb', 'data.csv', 'extra.ipynb'] } };

  it('is lessons/<lesson>/<slug>.ipynb in a course.yaml folder', () => {
    expect(exerciseNotebookPath(yamlCourse, '01-values', { slug: 'values' })).toBe('my-course/lessons/01-values/values.ipynb');
  });

  it("follows the exercise's own notebook name", () => {
    expect(exerciseNotebookPath(yamlCourse, '01-values', { slug: 'x', notebook: 'extra.ipynb' })).toBe(
      'my-course/lessons/01-values/extra.ipynb'
    );
  });

  it("is under source/ in nbgrader's layout, and from the home's root without a prefix", () => {
    const ps1 = { path: '', generated: true, lessons: { ps1: ['problem1.ipynb', 'jupyter.png'] } };
    expect(exerciseNotebookPath(ps1, 'ps1', { slug: 'problem1' })).toBe('source/ps1/problem1.ipynb');
  });

  it('is none for an exercise without a notebook in the folder (a quiz, a written task, a typo)', () => {
    expect(exerciseNotebookPath(yamlCourse, '01-values', { slug: 'reflection' })).toBeNull();
    expect(exerciseNotebookPath(yamlCourse, '01-values', { slug: 'x', notebook: 'data.csv' })).toBeNull();
    expect(exerciseNotebookPath(yamlCourse, 'no-such-lesson', { slug: 'values' })).toBeNull();
  });
});
