import { ArnFormat, Aws, Fn, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { LOG_GROUP_KMS_SKIP, skipCheckov } from './compliance';

export interface ApiFirewallProps {
  /** The REST API stage the web ACL protects. */
  readonly stage: apigw.Stage;
  /**
   * Requests one Authorization header value (one token) may make per 5 minutes before WAF
   * blocks it: a coarse first line. A new token starts a new count; the limit per user (per
   * `sub`) is the functions' (config/stages.json `userLimit`).
   */
  readonly perTokenLimitPer5Min: number;
  /**
   * Requests one source IP may make per 5 minutes (catches floods without a token).
   * @default 5 × perTokenLimitPer5Min
   */
  readonly perIpLimitPer5Min?: number;
  /**
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

function visibility(metricName: string): wafv2.CfnWebACL.VisibilityConfigProperty {
  return { cloudWatchMetricsEnabled: true, metricName, sampledRequestsEnabled: true };
}

/**
 * The managed rules that only count. Each inspects the request body as text, and a valid item is
 * text that the API stores and returns as JSON and never renders, runs, fetches or opens: a name
 * such as `<b>note</b>` or a description quoting `../../etc/passwd` or `http://169.254.169.254/`
 * is data. Blocking them would refuse valid items in the deployed stage that local mode stores.
 * Counting keeps each match visible (metrics, sampled requests, logs, labels). The reasons rule by
 * rule are in docs/STACK.md ("WAF: the managed rules, rule by rule").
 */
export const COUNTED_MANAGED_RULES: Readonly<Record<string, readonly string[]>> = {
  AWSManagedRulesCommonRuleSet: ['SizeRestrictions_BODY', 'CrossSiteScripting_BODY', 'GenericLFI_BODY', 'GenericRFI_BODY', 'EC2MetaDataSSRF_BODY'],
  AWSManagedRulesKnownBadInputsRuleSet: [],
  AWSManagedRulesAmazonIpReputationList: [],
};

/**
 * An AWS managed rule group; `countOnly` rules of it only count instead of blocking.
 */
function managed(name: string, priority: number, countOnly: readonly string[] = []): wafv2.CfnWebACL.RuleProperty {
  return {
    name,
    priority,
    overrideAction: { none: {} },
    statement: {
      managedRuleGroupStatement: {
        vendorName: 'AWS',
        name,
        ruleActionOverrides: countOnly.length === 0 ? undefined : countOnly.map((rule) => ({ name: rule, actionToUse: { count: {} } })),
      },
    },
    visibilityConfig: visibility(name),
  };
}

/**
 * A regional WAF web ACL on the API stage: AWS managed rule groups, a per-token rate limit keyed
 * on the Authorization header (a coarse first line: the limit per user is the functions'), a
 * per-IP backstop, and logs with the credentials redacted.
 */
export class ApiFirewall extends Construct {
  public readonly webAcl: wafv2.CfnWebACL;
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ApiFirewallProps) {
    super(scope, id);
    const perIp = props.perIpLimitPer5Min ?? props.perTokenLimitPer5Min * 5;
    for (const [name, limit] of [['perTokenLimitPer5Min', props.perTokenLimitPer5Min], ['perIpLimitPer5Min', perIp]] as const) {
      if (!Number.isInteger(limit) || limit < 10 || limit > 2_000_000_000) throw new Error(`ApiFirewall: ${name} must be an integer from 10 to 2e9, got ${limit}`);
    }
    const stack = Stack.of(this);

    this.webAcl = new wafv2.CfnWebACL(this, 'WebAcl', {
      scope: 'REGIONAL',
      description: 'Protects the items REST API',
      defaultAction: { allow: {} },
      visibilityConfig: visibility('ItemsApiWebAcl'),
      rules: [
        managed('AWSManagedRulesAmazonIpReputationList', 0, COUNTED_MANAGED_RULES.AWSManagedRulesAmazonIpReputationList),
        // SizeRestrictions_BODY blocks bodies over 8 KB, but the largest valid item is larger
        // (2,000 multi-byte description characters); the function caps bodies at 64 KiB (413).
        managed('AWSManagedRulesCommonRuleSet', 1, COUNTED_MANAGED_RULES.AWSManagedRulesCommonRuleSet),
        managed('AWSManagedRulesKnownBadInputsRuleSet', 2, COUNTED_MANAGED_RULES.AWSManagedRulesKnownBadInputsRuleSet),
        {
          name: 'PerTokenRateLimit',
          priority: 3,
          action: { block: {} },
          statement: {
            rateBasedStatement: {
              limit: props.perTokenLimitPer5Min,
              evaluationWindowSec: 300,
              aggregateKeyType: 'CUSTOM_KEYS',
              customKeys: [{ header: { name: 'authorization', textTransformations: [{ priority: 0, type: 'NONE' }] } }],
            },
          },
          visibilityConfig: visibility('PerTokenRateLimit'),
        },
        {
          name: 'PerIpRateLimit',
          priority: 4,
          action: { block: {} },
          statement: { rateBasedStatement: { limit: perIp, evaluationWindowSec: 300, aggregateKeyType: 'IP' } },
          visibilityConfig: visibility('PerIpRateLimit'),
        },
      ],
    });

    new wafv2.CfnWebACLAssociation(this, 'Association', {
      resourceArn: props.stage.stageArn,
      webAclArn: this.webAcl.attrArn,
    });

    // WAF requires the log group name to start with aws-waf-logs- and its ARN without the ":*" suffix.
    // The group may be retained when the stack is deleted, so its name carries the stack id's
    // UUID: a later stack of the same name creates a new group instead of colliding with it.
    const logGroupName = `aws-waf-logs-${stack.stackName}-${Fn.select(2, Fn.split('/', Aws.STACK_ID))}`;
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName,
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    skipCheckov(this.logGroup, 'CKV_AWS_158', LOG_GROUP_KMS_SKIP);
    const logging = new wafv2.CfnLoggingConfiguration(this, 'Logging', {
      resourceArn: this.webAcl.attrArn,
      logDestinationConfigs: [
        stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: logGroupName, arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
      ],
      redactedFields: [{ singleHeader: { Name: 'authorization' } }, { singleHeader: { Name: 'x-api-key' } }],
    });
    logging.node.addDependency(this.logGroup);
  }
}
