/**
 * One student's row of an attendance sheet, as the Teach tab and the Class view show it:
 * the present / late / absent choice and what saving does to the student's credits.
 */
import React from 'react';

import { AttendanceStatus, ICreditImpact, ITrans } from './model';

export const STATUSES: AttendanceStatus[] = ['present', 'late', 'absent'];

/** "credits 3 → 2", "credits 3" when unchanged, "no credits left" when it cannot be paid. */
export function creditText(row: ICreditImpact, trans: ITrans): string {
  if (row.after < 0) {
    return trans.__('no credits left');
  }
  return row.delta
    ? trans.__('credits %1 → %2', row.before, row.after)
    : trans.__('credits %1', row.before);
}

/** The radio group of one student; `name` keeps each sheet's inputs apart. */
export function AttendanceChoice(props: {
  trans: ITrans;
  user: string;
  name: string;
  value: AttendanceStatus | undefined;
  onChange: (status: AttendanceStatus) => void;
}): JSX.Element {
  const { trans, user, name, value, onChange } = props;
  return (
    <div role="radiogroup" aria-label={trans.__('Attendance of %1', user)} className="nbc-radios">
      {STATUSES.map(s => (
        <label key={s} className={value === s ? `nbc-radio nbc-radio-${s} nbc-radio-on` : 'nbc-radio'}>
          <input type="radio" name={name} value={s} checked={value === s} onChange={() => onChange(s)} />
          {trans.__(s)}
        </label>
      ))}
    </div>
  );
}
