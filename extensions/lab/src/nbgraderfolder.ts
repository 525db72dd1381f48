/**
 * What the Course view says and allows for a course folder, course.yaml or nbgrader's own
 * layout (source/<assignment>/ without a course.yaml, whose manifest the campus's importer
 * makes: `generated`). Plain rules, no JupyterLab imports, so that jest tests them directly.
 */
import { ITrans, identityTrans } from './model';

export interface ICourseFolder {
  path: string;
  slug: string;
  title: string;
  nbgrader?: boolean;
}

/** The folder as the folder list shows it. */
export function folderLabel(folder: ICourseFolder, trans: ITrans = identityTrans): string {
  // "." is the home itself (~/source: nbgrader's standard place)
  const where = folder.path === '.' ? trans.__('~/ (your home)') : `${folder.path}/`;
  if (folder.nbgrader) {
    return trans.__('%1 — nbgrader course (no course.yaml)', where);
  }
  return folder.title ? `${where} — ${folder.title}` : where;
}

export interface IWriteAction {
  label: string;
  disabled: boolean;
  hint: string;
}

/**
 * The button that writes course.yaml. A generated manifest may be written as it is (the
 * author takes it over); a course.yaml folder's only once the form changed it.
 */
export function writeAction(
  generated: boolean,
  dirty: boolean,
  busy: boolean,
  trans: ITrans = identityTrans
): IWriteAction {
  if (generated) {
    return {
      label: trans.__('Write course.yaml into the folder'),
      disabled: busy,
      hint: dirty
        ? trans.__('Your changes apply once course.yaml is written into the folder.')
        : trans.__('Optional: publishing works from the folder as it is.')
    };
  }
  return { label: trans.__('Save course.yaml'), disabled: busy || !dirty, hint: '' };
}

/** A course folder's path as a person reads it: "~" for the home itself ("."). */
export function folderShown(path: string): string {
  return path === '.' || path === '' ? '~' : path;
}

/** The manifest panel's note on where the manifest comes from. */
export function manifestSource(generated: boolean, path: string, trans: ITrans = identityTrans): string {
  return generated
    ? trans.__(
        "%1/ is nbgrader's layout without a course.yaml: this is the manifest the importer makes for it.",
        folderShown(path)
      )
    : `${folderShown(path)}/course.yaml`;
}

/** Why dry run and publish wait, or '' when they may go. */
export function publishHint(
  generated: boolean,
  dirty: boolean,
  problems: number,
  planned: boolean,
  trans: ITrans = identityTrans
): string {
  if (dirty) {
    return generated
      ? trans.__('Write course.yaml first (or reload to publish the folder as it is).')
      : trans.__('Save course.yaml first.');
  }
  if (problems) {
    return trans.__('Fix the errors first (see Validation).');
  }
  if (!planned) {
    return trans.__('Run the dry run first: publishing applies exactly what it lists.');
  }
  return '';
}

/** An exercise as the campus's importer reads it (authoring/check's `exercises`). */
export interface IReadExercise {
  slug: string;
  title: string;
  type: string;
  points: number;
  xp: number;
}

/** One line for an exercise the importer found: `problem1 — coding, 6 points, 20 XP`. */
export function exerciseLine(e: IReadExercise, trans: ITrans = identityTrans): string {
  const points = Number.isInteger(e.points) ? String(e.points) : e.points.toFixed(2);
  return trans.__('%1 — %2, %3 points, %4 XP', e.slug, e.type, points, e.xp);
}
