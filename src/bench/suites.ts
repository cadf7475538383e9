import type { BenchSuite } from './bench-kit';
import { eventLogBench } from './event-log.bench';
import { projectionBench } from './projection.bench';
import { caseCommandsBench } from './case-commands.bench';
import { auditComplianceBench } from './audit-compliance.bench';
import { deadlineBench } from '../modules/deadlines/deadline.bench';
import { personalDataBench } from '../modules/personal-data/personal-data.bench';
import { deadlineAlertsBench } from '../modules/deadline-alerts/deadline-alerts.bench';
import { transparencyBench } from './transparency.bench';

/** Every benchmark suite, in the order `npm run bench` runs them. */
export const suites: BenchSuite[] = [
  deadlineBench,
  eventLogBench,
  projectionBench,
  caseCommandsBench,
  auditComplianceBench,
  transparencyBench,
  deadlineAlertsBench,
  personalDataBench,
];
