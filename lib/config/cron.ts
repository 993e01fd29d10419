/**
 * Cron schedules as the Kubernetes API server accepts them for a CronJob (`cron.ParseStandard` of
 * github.com/robfig/cron/v3, which its validation calls): five fields — minute, hour, day of month, month, day of week —
 * each `*`, `?` (day fields), a value, a range `a-b`, any of those with a step `/n`, or a comma-separated list of them;
 * months and weekdays also by their three-letter English names; or one of the descriptors `@yearly`, `@annually`,
 * `@monthly`, `@weekly`, `@daily`, `@midnight`, `@hourly` and `@every <duration>`. A `TZ=` or `CRON_TZ=` prefix is
 * refused, as the API server refuses it (CronJobs take `spec.timeZone`).
 */

interface Field {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
}

const FIELDS: readonly Field[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'] },
  { name: 'day of week', min: 0, max: 6, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] },
];

const DESCRIPTORS = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);
/** A Go duration (`time.ParseDuration`), e.g. `1h30m`. */
const GO_DURATION = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;

function value(text: string, f: Field): number | string {
  const byName = f.names?.indexOf(text.toLowerCase()) ?? -1;
  if (byName >= 0) return byName + f.min;
  if (!/^\d+$/.test(text)) return `"${text}" is not a number${f.names ? ` or a ${f.name} name (${f.names.join(', ')})` : ''}`;
  const n = Number(text);
  return n < f.min || n > f.max ? `${n} is outside ${f.min}-${f.max}` : n;
}

function fieldProblem(text: string, f: Field, dayField: boolean): string | undefined {
  for (const part of text.split(',')) {
    const slashes = part.split('/');
    const range = slashes[0];
    const step = slashes.at(1);
    if (slashes.length > 2) return `"${part}" has more than one step`;
    if (step !== undefined && !/^[1-9]\d*$/.test(step)) return `the step in "${part}" must be a whole number above 0`;
    if (range === '*' || (range === '?' && dayField)) continue;
    const bounds = range.split('-');
    const low = bounds[0];
    const high = bounds.at(1);
    if (bounds.length > 2 || low === '') return `"${part}" is not a value, a range a-b or *`;
    const a = value(low, f);
    if (typeof a === 'string') return a;
    if (high === undefined) continue;
    const b = value(high, f);
    if (typeof b === 'string') return b;
    if (b < a) return `the range "${range}" ends before it starts`;
  }
  return undefined;
}

/** Why `schedule` is not a schedule the API server accepts for a CronJob, or `undefined` when it is. */
export function cronProblem(schedule: string): string | undefined {
  const s = schedule.trim();
  if (/^(CRON_)?TZ=/.test(s)) return 'must not set a time zone (TZ=): Kubernetes refuses it in the schedule';
  if (s.startsWith('@')) {
    if (DESCRIPTORS.has(s)) return undefined;
    const every = /^@every\s+(\S+)$/.exec(s);
    if (every && GO_DURATION.test(every[1])) return undefined;
    return `"${s}" is not a descriptor (${[...DESCRIPTORS].join(', ')}, @every <duration>)`;
  }
  const fields = s.split(/\s+/);
  if (fields.length !== 5) return `must have five fields (minute hour day-of-month month day-of-week), e.g. "0 3 * * *"; it has ${fields.length}`;
  for (const [i, f] of FIELDS.entries()) {
    const problem = fieldProblem(fields[i], f, i === 2 || i === 4);
    if (problem !== undefined) return `${f.name} (field ${i + 1}): ${problem}`;
  }
  return undefined;
}
