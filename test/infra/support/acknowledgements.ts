/**
 * Reading cdk-nag acknowledgements (Validations.of(x).acknowledge) back from the construct tree, and rendering
 * CloudFormation values the way cdk-nag names its findings (`<Logical.Arn>/uploads/*`, `<AWS::Partition>`).
 */
import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { constructPathOf, type TemplateJson } from './synth.js';

export interface Acknowledgement {
  readonly path: string;
  /** e.g. "AwsSolutions-IAM5[Resource::*]" */
  readonly id: string;
  readonly reason: string;
  readonly construct: IConstruct;
}

/** Every AwsSolutions acknowledgement in the tree under `root`. */
export function nagAcknowledgements(root: IConstruct): Acknowledgement[] {
  const found: Acknowledgement[] = [];
  for (const construct of root.node.findAll()) {
    for (const entry of construct.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY || !entry.data) continue;
      for (const [qualifiedId, reason] of Object.entries(entry.data as Record<string, string>)) {
        const id = qualifiedId.replace(/^annotation::/i, '');
        if (id.startsWith('AwsSolutions-')) found.push({ path: construct.node.path, id, reason, construct });
      }
    }
  }
  return found;
}

/** Acknowledged ids that apply to the construct at `path` (on it or an ancestor, as cdk-nag checks them). */
export function acknowledgedAt(root: IConstruct, path: string): Map<string, string> {
  const result = new Map<string, string>();
  for (const ack of nagAcknowledgements(root)) {
    if (path === ack.path || path.startsWith(`${ack.path}/`)) result.set(ack.id, ack.reason);
  }
  return result;
}

/** Renders an intrinsic the way cdk-nag prints it in finding ids. */
export function renderForNag(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(renderForNag).join(',');
  if (value && typeof value === 'object') {
    const [key, argument] = Object.entries(value as Record<string, unknown>)[0] ?? [];
    if (key === 'Ref') return `<${String(argument)}>`;
    if (key === 'Fn::GetAtt' && Array.isArray(argument)) return `<${argument.join('.')}>`;
    if (key === 'Fn::Join' && Array.isArray(argument)) {
      const [separator, parts] = argument as [string, unknown[]];
      return parts.map(renderForNag).join(separator);
    }
    if (key === 'Fn::Sub' && typeof argument === 'string') return argument.replace(/\$\{([^}]+)\}/g, '<$1>');
  }
  return JSON.stringify(value);
}

export interface IamFinding {
  readonly logicalId: string;
  readonly path: string;
  /** The cdk-nag id an acknowledgement must carry: AwsSolutions-IAM5[Action::…], [Resource::…] or IAM4[Policy::…]. */
  readonly id: string;
}

interface Statement {
  readonly Effect?: string;
  readonly Action?: unknown;
  readonly Resource?: unknown;
}

function statementsOf(document: unknown): Statement[] {
  const statements = (document as { Statement?: Statement | Statement[] } | undefined)?.Statement;
  if (!statements) return [];
  return Array.isArray(statements) ? statements : [statements];
}

function asList(value: unknown): unknown[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/**
 * Every wildcard (`*` in an allowed action or resource) and every AWS-managed policy attached in the template:
 * the things a least-privilege review must see justified.
 */
export function iamFindings(json: TemplateJson): IamFinding[] {
  const findings: IamFinding[] = [];
  for (const [logicalId, resource] of Object.entries(json.Resources)) {
    const properties = resource.Properties ?? {};
    const documents: unknown[] = [];
    const managed: unknown[] = [];
    if (resource.Type === 'AWS::IAM::Policy' || resource.Type === 'AWS::IAM::ManagedPolicy') documents.push(properties.PolicyDocument);
    if (resource.Type === 'AWS::IAM::Role' || resource.Type === 'AWS::IAM::User' || resource.Type === 'AWS::IAM::Group') {
      for (const policy of asList(properties.Policies)) documents.push((policy as { PolicyDocument?: unknown }).PolicyDocument);
      managed.push(...asList(properties.ManagedPolicyArns));
    }
    if (documents.length === 0 && managed.length === 0) continue;
    const path = constructPathOf(resource);
    for (const arn of managed) findings.push({ logicalId, path, id: `AwsSolutions-IAM4[Policy::${renderForNag(arn)}]` });
    for (const statement of documents.flatMap(statementsOf)) {
      if (statement.Effect !== 'Allow') continue;
      for (const action of asList(statement.Action).map(renderForNag)) {
        if (action.includes('*')) findings.push({ logicalId, path, id: `AwsSolutions-IAM5[Action::${action}]` });
      }
      for (const target of asList(statement.Resource).map(renderForNag)) {
        if (target.includes('*')) findings.push({ logicalId, path, id: `AwsSolutions-IAM5[Resource::${target}]` });
      }
    }
  }
  return findings;
}
