/**
 * Whether this server is a course author's: the server part says so in the page config
 * (extensions/lab/nbcampus_lab/authoring_tools.py, from the campus's records). A module of its
 * own so that the Teach tab can ask without loading the Course view's widgets.
 */
import { PageConfig } from '@jupyterlab/coreutils';

export function authoringEnabled(): boolean {
  return PageConfig.getOption('nbcampusAuthoring') === 'true';
}
