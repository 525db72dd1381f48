import { exerciseLine, folderLabel, manifestSource, publishHint, writeAction } from '../nbgraderfolder';

describe("the Course view on nbgrader's layout", () => {
  it('names an nbgrader folder as one, a course.yaml folder by its title', () => {
    expect(folderLabel({ path: 'ps1-course', slug: '', title: '', nbgrader: true })).toBe(
      'ps1-course/ — nbgrader course (no course.yaml)'
    );
    expect(folderLabel({ path: 'py', slug: 'py', title: 'Python' })).toBe('py/ — Python');
    expect(folderLabel({ path: 'py', slug: 'py', title: '' })).toBe('py/');
  });

  it('lets a generated manifest be written as it is, a course.yaml only once changed', () => {
    const taken = writeAction(true, false, false);
    expect(taken).toEqual({
      label: 'Write course.yaml into the folder',
      disabled: false,
      hint: 'Optional: publishing works from the folder as it is.'
    });
    expect(writeAction(true, true, false).hint).toMatch(/changes apply once course.yaml is written/);
    expect(writeAction(true, false, true).disabled).toBe(true);
    expect(writeAction(false, false, false)).toEqual({ label: 'Save course.yaml', disabled: true, hint: '' });
    expect(writeAction(false, true, false).disabled).toBe(false);
  });

  it('says where the manifest comes from', () => {
    expect(manifestSource(false, 'py')).toBe('py/course.yaml');
    expect(manifestSource(true, 'ps1-course')).toMatch(/^ps1-course\/ is nbgrader's layout without a course.yaml/);
  });

  it('holds the dry run and publish back for unwritten edits, errors, and no plan', () => {
    expect(publishHint(true, true, 0, false)).toMatch(/^Write course.yaml first/);
    expect(publishHint(false, true, 0, false)).toBe('Save course.yaml first.');
    expect(publishHint(true, false, 2, false)).toMatch(/Fix the errors first/);
    expect(publishHint(true, false, 0, false)).toMatch(/Run the dry run first/);
    expect(publishHint(true, false, 0, true)).toBe('');
  });
});

describe('exercises the importer read', () => {
  it('reads as one line each, points rounded only when fractional', () => {
    const e = { slug: 'problem1', title: 'Problem1', type: 'coding', points: 6, xp: 20 };
    expect(exerciseLine(e)).toBe('problem1 — coding, 6 points, 20 XP');
    expect(exerciseLine({ ...e, points: 2.5 })).toBe('problem1 — coding, 2.50 points, 20 XP');
  });
});
