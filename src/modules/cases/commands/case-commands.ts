/** The case commands on the @nestjs/cqrs command bus; each handler hands its command to CaseCommandService. */
import { Inject } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { Principal } from '../../identity/domain/principal';
import type { CancelApplication, TakeStep } from '../domain/decide';
import { CaseCommandService, type CommandMeta, type CommandOutcome, type SubmitInput } from './case-command-service';

export const CASE_COMMANDS = Symbol('CASE_COMMANDS');

export class SubmitApplicationCommand extends Command<CommandOutcome> {
  constructor(
    readonly principal: Principal,
    readonly input: SubmitInput,
    readonly meta: CommandMeta,
  ) {
    super();
  }
}

export class TakeStepCommand extends Command<CommandOutcome> {
  constructor(
    readonly principal: Principal,
    readonly caseId: string,
    readonly step: Omit<TakeStep, 'kind'>,
    readonly expectedRevision: number | undefined,
    readonly meta: CommandMeta,
  ) {
    super();
  }
}

export class CancelApplicationCommand extends Command<CommandOutcome> {
  constructor(
    readonly principal: Principal,
    readonly caseId: string,
    readonly cancel: Omit<CancelApplication, 'kind'>,
    readonly expectedRevision: number | undefined,
    readonly meta: CommandMeta,
  ) {
    super();
  }
}

@CommandHandler(SubmitApplicationCommand)
export class SubmitApplicationHandler implements ICommandHandler<SubmitApplicationCommand> {
  constructor(@Inject(CASE_COMMANDS) private readonly cases: CaseCommandService) {}
  execute(command: SubmitApplicationCommand): Promise<CommandOutcome> {
    return this.cases.submit(command.principal, command.input, command.meta);
  }
}

@CommandHandler(TakeStepCommand)
export class TakeStepHandler implements ICommandHandler<TakeStepCommand> {
  constructor(@Inject(CASE_COMMANDS) private readonly cases: CaseCommandService) {}
  execute(command: TakeStepCommand): Promise<CommandOutcome> {
    return this.cases.takeStep(command.principal, command.caseId, command.step, command.expectedRevision, command.meta);
  }
}

@CommandHandler(CancelApplicationCommand)
export class CancelApplicationHandler implements ICommandHandler<CancelApplicationCommand> {
  constructor(@Inject(CASE_COMMANDS) private readonly cases: CaseCommandService) {}
  execute(command: CancelApplicationCommand): Promise<CommandOutcome> {
    return this.cases.cancel(command.principal, command.caseId, command.cancel, command.expectedRevision, command.meta);
  }
}

export const CASE_COMMAND_HANDLERS = [SubmitApplicationHandler, TakeStepHandler, CancelApplicationHandler];
