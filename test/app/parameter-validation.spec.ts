import { plainToInstance } from 'class-transformer';
import { IsOptional, IsString, MaxLength, validateSync } from 'class-validator';
import {
  CaseListQueryDto,
  CasePathDto,
  CaseReadQueryDto,
  CaseSlaQueryDto,
  StepPathDto,
} from '../../src/modules/cases/http/case-query.dtos';
import { SubmitApplicationDto } from '../../src/modules/cases/http/case-command.dtos';
import { ParameterDto, validateInput } from '../../src/shared/problem/validation';

/** class-validator's own verdict, as validateInput asked it before it kept each class's rules. */
function classValidatorPasses(metatype: new () => object, value: object): boolean {
  const instance = plainToInstance(metatype, value);
  return (
    validateSync(instance, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true }).length === 0
  );
}

const CASE_ID = '0b6f4a52-3c1e-4c8e-9a0f-2f4d7c9e1a01';
const ODD_VALUES: unknown[] = [
  undefined,
  null,
  '',
  ' ',
  CASE_ID,
  CASE_ID.toUpperCase(),
  `${CASE_ID}x`,
  '42',
  '-1',
  '1.5',
  '9007199254740993',
  '2015-09-20',
  '2015-02-30',
  '2015-09-20T10:00:00+06:00',
  '2015-09-20T10:00:00',
  'open',
  'documents-registered',
  '900502400172',
  '900502400173',
  'x'.repeat(101),
  42,
  [CASE_ID],
  { $gt: '' },
];

/** Every input of one or two members from the odd values, under each parameter name and one the class does not have. */
function inputsFor(names: readonly string[]): object[] {
  const inputs: object[] = [{}];
  for (const name of [...names, 'unknown']) {
    for (const value of ODD_VALUES) {
      inputs.push({ [name]: value });
      for (const other of names.filter((n) => n !== name)) inputs.push({ [name]: value, [other]: ODD_VALUES[4] });
    }
  }
  return inputs;
}

@ParameterDto('query')
class NoteQueryDto {
  @IsOptional()
  @IsString()
  @MaxLength(5)
  note?: string;
}

describe('validateInput', () => {
  const classes: [new () => object, string[]][] = [
    [CasePathDto, ['caseId']],
    [StepPathDto, ['caseId', 'stepId']],
    [CaseReadQueryDto, ['after']],
    [CaseSlaQueryDto, ['after', 'asOf']],
    [
      CaseListQueryDto,
      ['after', 'serviceId', 'status', 'unit', 'assignee', 'applicantIin', 'submittedFrom', 'limit', 'cursor'],
    ],
    [NoteQueryDto, ['note']],
  ];

  it.each(classes.map(([metatype, names]) => [metatype.name, metatype, names] as const))(
    'accepts exactly what class-validator accepts, with the same instance, and refuses the rest with field errors (%s)',
    (_name, metatype, names) => {
      let accepted = 0;
      let refused = 0;
      // Twice: the first call reads the class's rules, the second uses them as kept.
      for (const round of [1, 2]) {
        for (const input of inputsFor(names)) {
          const { instance, errors } = validateInput(metatype, input);
          const expected = classValidatorPasses(metatype, input);
          expect({ round, input, accepted: errors.length === 0 }).toEqual({ round, input, accepted: expected });
          if (expected) {
            expect(instance).toBeInstanceOf(metatype);
            expect(instance).toEqual(plainToInstance(metatype, input));
            accepted++;
          } else {
            expect(errors.every((e) => e.field.length > 0 && e.problem.length > 0)).toBe(true);
            refused++;
          }
        }
      }
      expect(accepted).toBeGreaterThan(0);
      expect(refused).toBeGreaterThan(0);
    },
  );

  it('names the same problems for a refused value as class-validator, whether or not the class was validated before', () => {
    const first = validateInput(CasePathDto, { caseId: 'nope' });
    validateInput(CasePathDto, { caseId: CASE_ID });
    const again = validateInput(CasePathDto, { caseId: 'nope' });
    expect(first.errors).toEqual([
      {
        field: 'path.caseId',
        problem: '"nope" is not a case id',
        allowed: 'a case id as returned by POST /api/cases (lower-case UUID)',
      },
    ]);
    expect(again.errors).toEqual(first.errors);
    expect(validateInput(CaseReadQueryDto, { after: '7', extra: '1' }).errors).toEqual([
      { field: 'query.extra', problem: 'is not a parameter of this endpoint', allowed: 'after' },
    ]);
  });

  it('still refuses a nested body member (a rule the kept checks do not run) after a valid body of the class', () => {
    const body = {
      serviceId: 'civil-service-testing',
      channel: 'portal',
      unit: 'astana',
      applicant: { iin: '900502400172', fullName: 'Серикова Айгерим Болатовна' },
    };
    expect(validateInput(SubmitApplicationDto, body).errors).toEqual([]);
    const nested = validateInput(SubmitApplicationDto, { ...body, applicant: { iin: '12', fullName: '' } });
    expect(nested.errors.map((e) => e.field).sort()).toEqual(['applicant.fullName', 'applicant.iin']);
  });
});
