/**
 * The name and summary of every operation of the API document, by the handler that serves it. Names are what a
 * generated client calls its methods (`fileCase`, `getCase`), so they are chosen here, once, not derived from
 * controller method names; an operation missing here fails the contract test (test/app/openapi-contract.e2e.spec.ts).
 */
export interface OperationName {
  operationId: string;
  /** Used when the handler's own @ApiOperation gives none. */
  summary: string;
  /** What a success answers when not JSON. */
  media?: 'text/event-stream' | 'text/plain';
  /** Problems this operation answers beyond those every operation of its kind does, with what they mean here. */
  errors?: Readonly<Record<number, string>>;
}

export const OPERATIONS: Readonly<Record<string, OperationName>> = {
  HealthController_health: {
    operationId: 'getHealth',
    summary: 'Health of the event log, the read store and each projection',
  },
  HealthController_live: { operationId: 'getLiveness', summary: 'Liveness: the process answers' },
  HealthController_ready: {
    operationId: 'getReadiness',
    summary: 'Readiness: stores open, writes accepted, read models within their lag bound',
  },
  HealthController_metricsText: { operationId: 'getMetrics', summary: 'Prometheus metrics', media: 'text/plain' },
  CalendarController_workingDays: { operationId: 'countWorkingDays', summary: 'Working days between two dates' },
  CalendarController_deadline: {
    operationId: 'computeDeadline',
    summary: 'The deadline N working days after an instant',
  },
  RegulationsController_list: { operationId: 'listRegulations', summary: 'Regulation versions' },
  RegulationsController_lint: { operationId: 'lintRegulations', summary: 'Contradictions inside each regulation text' },
  RegulationsController_resolve: {
    operationId: 'resolveRegulation',
    summary: 'The version of a service in force at an instant',
  },
  RegulationsController_get: { operationId: 'getRegulation', summary: 'One regulation version, whole' },
  CaseCommandsController_submit: {
    operationId: 'fileCase',
    summary: 'File an application: opens a case under the version in force',
  },
  CaseCommandsController_takeStep: {
    operationId: 'takeStep',
    summary: "Take a step of the case's regulation (record its act)",
  },
  CaseCommandsController_cancel: {
    operationId: 'cancelCase',
    summary: 'Cancel an application where the regulation provides for it',
  },
  CaseQueriesController_list: { operationId: 'listCases', summary: 'Cases, newest submission first' },
  CaseQueriesController_get: { operationId: 'getCase', summary: 'One case' },
  CaseQueriesController_sla: { operationId: 'getCaseSla', summary: 'The SLA of a case at an instant' },
  AuditController_history: {
    operationId: 'getCaseHistory',
    summary: "The case's events as recorded, with their hash chain",
  },
  AuditController_state: {
    operationId: 'getCaseState',
    summary: "The case's state replayed from its events, as of a revision or instant",
  },
  AuditController_explain: { operationId: 'explainCaseSla', summary: "How each of the case's deadlines was computed" },
  AuditController_verify: {
    operationId: 'verifyCase',
    summary: "Verify the case's hash chain and its inclusion in the log",
  },
  AuditController_evidence: {
    operationId: 'getEvidencePack',
    errors: {
      502: "The worker that keeps the log's tree (EventStoreDB) refused the caller's token, failed, or answered other proofs (`transparency-refused`, `transparency-failed`, `transparency-mismatch`)",
      503: "The log's tree does not hold the case's newest events yet (`tree-behind`), or its worker does not answer (`transparency-unavailable`); Retry-After",
    },
    summary: 'The signed evidence pack of a case',
  },
  AuditController_evidenceKey: {
    operationId: 'getEvidencePublicKey',
    summary: 'The public key evidence packs are signed with',
  },
  ComplianceController_summary: {
    operationId: 'getComplianceSummary',
    summary: 'SLA compliance rolled up by month and a grouping',
  },
  ComplianceController_atRisk: { operationId: 'listAtRiskSteps', summary: 'Open steps whose deadline is near' },
  ComplianceController_overdue: { operationId: 'listOverdueSteps', summary: 'Open steps past their deadline' },
  ComplianceController_stepCases: { operationId: 'listStepCases', summary: 'The cases behind one cell of the summary' },
  ComplianceController_worklist: { operationId: 'getWorklist', summary: 'The steps the caller may take now' },
  ComplianceController_stream: {
    operationId: 'streamComplianceChanges',
    summary: 'Server-sent events when the compliance figures change',
    media: 'text/event-stream',
  },
  TransparencyController_checkpoint: { operationId: 'getCheckpoint', summary: "The log's latest signed checkpoint" },
  TransparencyController_issue: { operationId: 'issueCheckpoint', summary: 'Sign and publish a checkpoint now' },
  TransparencyController_cosign: { operationId: 'addCosignature', summary: "A witness's cosignature of a checkpoint" },
  TransparencyController_history: { operationId: 'listCheckpoints', summary: 'Checkpoints issued, newest first' },
  TransparencyController_inclusion: {
    operationId: 'getInclusionProof',
    errors: { 409: 'No signed checkpoint covers the event yet (`not-yet-checkpointed`); ask again after the next one' },
    summary: "Proof that an event is in the log's tree",
  },
  TransparencyController_evidenceProofs: {
    operationId: 'getEvidenceProofs',
    errors: {
      503: "The tree does not hold the newest of these events yet (`tree-behind`, Retry-After); a moment's wait",
    },
    summary:
      "Inclusion proofs of a case's events, and of the erasure records that name it, to one checkpoint, as an evidence pack carries them",
  },
  TransparencyController_consistency: {
    operationId: 'getConsistencyProof',
    summary: 'Proof that one tree size extends another',
  },
  TransparencyController_keys: { operationId: 'listTransparencyKeys', summary: 'The keys checkpoints are signed with' },
  FeedController_page: { operationId: 'getFeed', summary: 'Deadline and case events after a position' },
  FeedController_stream: {
    operationId: 'streamFeed',
    summary: 'The feed as server-sent events',
    media: 'text/event-stream',
  },
  WebhooksController_create: { operationId: 'createWebhookSubscription', summary: 'Subscribe a URL to feed events' },
  WebhooksController_list: { operationId: 'listWebhookSubscriptions', summary: 'Webhook subscriptions' },
  WebhooksController_remove: { operationId: 'deleteWebhookSubscription', summary: 'Remove a webhook subscription' },
  WebhooksController_replay: {
    operationId: 'replayWebhookSubscription',
    summary: "Deliver a subscription's events again from a position",
  },
  WebhooksController_status: { operationId: 'getWebhookStatus', summary: "The webhook dispatcher's state" },
  WebhooksController_deliveries: {
    operationId: 'listWebhookDeliveries',
    summary: 'Webhook deliveries and their attempts',
  },
  WebhooksController_redeliver: { operationId: 'redeliverWebhook', summary: 'Deliver one delivery again' },
  PersonalDataController_erase: {
    operationId: 'eraseSubject',
    summary: "Erase a data subject's personal data (crypto-shredding)",
  },
  PersonalDataController_due: {
    operationId: 'listRetentionDue',
    summary: 'Data subjects whose retention period has ended',
  },
};
