import { exerciseNotebookPath } from '../lessonnotebook';
import { folderLabel, manifestSource } from '../nbgraderfolder';

describe('the home as a course folder (~/source, nbgrader\'s standard place)', () => {
  it('is labelled as the home, not "./"', () => {
    expect(folderLabel({ path: '.', slug: '', title: '', nbgrader: true })).toBe(
      '~/ (your home) — nbgrader course (no course.yaml)'
    );
    expect(folderLabel({ path: '.', slug: 'ps1', title: 'Problem set 1' })).toBe('~/ (your home) — Problem set 1');
    expect(folderLabel({ path: 'ps1', slug: '', title: '', nbgrader: true })).toBe('ps1/ — nbgrader course (no course.yaml)');
  });

  it('is named "~/" where the manifest comes from', () => {
    expect(manifestSource(true, '.')).toMatch(/^~\/ is nbgrader's layout without a course.yaml/);
    expect(manifestSource(false, '.')).toBe('~/course.yaml');
  });

  it('opens its notebooks from the home', () => {
    const place = { path: '.', generated: true, lessons: { ps1: ['problem1.ipynb'] } };
    expect(exerciseNotebookPath(place, 'ps1', { slug: 'problem1' })).toBe('source/ps1/problem1.ipynb');
  });
});
