/**
 * The Teach tab's link to the school office (the Hub's Office pages) for a class: staff and
 * admins run it there, instructors see the classes they teach read-only. The Hub decides
 * again when the page opens (hub/office/access.py); the link only saves the way there.
 */
import React from 'react';

import { PageConfig } from '@jupyterlab/coreutils';

import * as ep from './endpoints';
import { CampusStore } from './store';

/** School-wide roles the office opens for (the same list as the Hub's office_role). */
export const OFFICE_PAGE_ROLES = ['staff', 'admin', 'instructor'];

/** `<hubHost><hubPrefix>office/classes/<id>`, or null without a Hub. */
export function officeClassUrl(classId: number): string | null {
  return ep.hubPageUrl(
    PageConfig.getOption('hubPrefix'),
    PageConfig.getOption('hubHost'),
    `office/classes/${encodeURIComponent(String(classId))}`
  );
}

export function OfficeLink(props: { store: CampusStore; classId: number }): JSX.Element | null {
  const { store, classId } = props;
  const role = store.me?.role ?? '';
  const url = OFFICE_PAGE_ROLES.includes(role) ? officeClassUrl(classId) : null;
  if (!url) {
    return null;
  }
  const trans = store.trans;
  const readOnly = role === 'instructor';
  return (
    <a
      className="nbc-office-link"
      href={url}
      target="_blank"
      rel="noopener noreferrer"
      aria-label={
        readOnly
          ? trans.__('Open this class in the Office, read-only (opens in a new tab)')
          : trans.__('Open this class in the Office (opens in a new tab)')
      }
    >
      {readOnly ? trans.__('Office (read-only)') : trans.__('Office')}
    </a>
  );
}
